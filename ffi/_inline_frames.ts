/**
 * Where libzmq keeps a small frame's bytes inside `zmq_msg_t`, found at load
 * time, so that a received small frame is copied out of the message struct
 * itself: one FFI call per frame (`zmq_msg_recv`) instead of three more
 * (`zmq_msg_data`, `memcpy`, plus a pointer object and a BigInt each).
 *
 * libzmq stores a frame of up to about 30 bytes ("very small message") inside
 * the 64-byte `zmq_msg_t`, followed by its size and type bytes. That layout
 * is libzmq's own, not its API, so nothing is assumed: {@link probeInlineFrames}
 * builds messages of every small size with `zmq_msg_init_size`, checks with
 * `zmq_msg_data` that the bytes sit inside the struct at one offset, and
 * finds the size and type bytes that tell an inline frame apart. If any check
 * fails (another libzmq build or version), it returns null and every frame
 * takes the general path.
 *
 * @module
 */

import { MSG_T_SIZE } from "./constants.ts";
import type { ZmqLib } from "./lib.ts";

/** The inline-frame layout of this libzmq's `zmq_msg_t`. */
export interface InlineFrames {
  /** Offset of the first data byte. */
  readonly dataOffset: number;
  /** Frames of at most this many bytes are inline. */
  readonly maxSize: number;
  /** Offset of the byte that holds the size of an inline frame. */
  readonly sizeOffset: number;
  /** Offset of the message type byte. */
  readonly typeOffset: number;
  /** The type byte's value for an inline frame. */
  readonly inlineType: number;
}

/** Reads one message's struct after `zmq_msg_init_size(size)`, or null if that failed. */
function build(
  lib: ZmqLib,
  size: number,
): { bytes: Uint8Array; dataOffset: number } | null {
  const msg = new Uint8Array(new ArrayBuffer(MSG_T_SIZE));
  if (lib.zmq_msg_init_size(msg, BigInt(size)) !== 0) return null;
  try {
    const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(msg));
    const data = Deno.UnsafePointer.value(lib.zmq_msg_data(msg));
    return { bytes: msg.slice(), dataOffset: Number(BigInt(data) - BigInt(base)) };
  } finally {
    lib.zmq_msg_close(msg);
  }
}

/**
 * Finds the inline-frame layout, or null if this libzmq does not match the
 * expected shape.
 */
export function probeInlineFrames(lib: ZmqLib): InlineFrames | null {
  try {
    // The largest size kept inside the struct, at one data offset.
    let maxSize = 0;
    let dataOffset = -1;
    for (let size = 1; size <= MSG_T_SIZE; size++) {
      const built = build(lib, size);
      if (built === null) return null;
      const inside = built.dataOffset >= 0 && built.dataOffset + size <= MSG_T_SIZE;
      if (!inside) break;
      if (dataOffset !== -1 && built.dataOffset !== dataOffset) return null;
      dataOffset = built.dataOffset;
      maxSize = size;
    }
    if (maxSize < 8) return null;
    // Size and type bytes: after the data; the size byte follows the size,
    // the type byte is the same for every inline size and differs for a
    // frame that is not inline.
    const small = [1, 5, maxSize].map((size) => build(lib, size)!.bytes);
    const large = build(lib, maxSize + 1)?.bytes;
    if (large === undefined) return null;
    const after = dataOffset + maxSize;
    let sizeOffset = -1;
    for (let at = after; at < MSG_T_SIZE && sizeOffset === -1; at++) {
      if (small[0]![at] === 1 && small[1]![at] === 5 && small[2]![at] === maxSize) sizeOffset = at;
    }
    let typeOffset = -1;
    for (let at = after; at < MSG_T_SIZE && typeOffset === -1; at++) {
      const value = small[0]![at]!;
      if (
        at !== sizeOffset && value !== 0 && small[1]![at] === value &&
        small[2]![at] === value && large[at] !== value
      ) {
        typeOffset = at;
      }
    }
    if (sizeOffset === -1 || typeOffset === -1) return null;
    return { dataOffset, maxSize, sizeOffset, typeOffset, inlineType: small[0]![typeOffset]! };
  } catch {
    return null;
  }
}
