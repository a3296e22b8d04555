/**
 * Batches of multicasts on the bus: the multicasts a member made in one
 * turn of its event loop, as one bus message, so that the broker forwards,
 * and the sequencer receives, one message for many. A member sends them only
 * once it has seen the sequencer's batches of orders: then no seed peer is
 * in the group (see `order_batch.ts`). See PROTOCOL.md, "Batches".
 *
 * Frames: `["<id>@<run>+", "", body]`; the body is one record per
 * multicast: its index n (the origin is `<id>@<run>.<n>`) as an 8-byte
 * little-endian float, a 4-byte little-endian length and the payload.
 *
 * @module
 */

import { allocBytes } from "../../ffi/bytes.ts";
import { type Origin, originOf, ProtocolError } from "./bus.ts";
import { bytes, MAX_SEQ } from "./text.ts";

/** A multicast as a batch carries it. */
export interface BatchedMulticast {
  /** Its origin. */
  origin: Origin;
  /** Its payload. */
  payload: Uint8Array;
}

const PLUS = 0x2b;
const RECORD_OVERHEAD = 12;
const EMPTY = new Uint8Array(0);

/** True if `frames` is a batch of multicasts: three frames, the sender ending in `+`, an empty seq. */
export function isMulticastBatch(frames: readonly Uint8Array[]): boolean {
  const sender = frames[0];
  return frames.length === 3 && sender !== undefined && sender.byteLength > 1 &&
    sender[sender.byteLength - 1] === PLUS && frames[1]!.byteLength === 0;
}

/** The bytes a multicast takes in a batch's body. */
export function multicastBatchedSize(payload: Uint8Array): number {
  return RECORD_OVERHEAD + payload.byteLength;
}

/**
 * The frames of a batch of one member's multicasts (at least one).
 *
 * @param key The member's origin key, `<id>@<run>`.
 * @param multicasts Their indexes and payloads, in the order sent.
 */
export function multicastBatchFrames(
  key: string,
  multicasts: readonly { index: number; payload: Uint8Array }[],
): Uint8Array[] {
  let size = 0;
  for (const { payload } of multicasts) size += RECORD_OVERHEAD + payload.byteLength;
  const body = allocBytes(size);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  for (const { index, payload } of multicasts) {
    view.setFloat64(at, index, true);
    view.setUint32(at + 8, payload.byteLength, true);
    body.set(payload, at + 12);
    at += RECORD_OVERHEAD + payload.byteLength;
  }
  return [bytes(`${key}+`), EMPTY, body];
}

/**
 * Reads a batch of multicasts (see {@link isMulticastBatch}).
 *
 * @returns The member id that sent it and its multicasts.
 * @throws {ProtocolError} naming what was wrong: a bad key, an index that
 * is not a whole number from 1, a record cut short, an empty batch.
 */
export function decodeMulticastBatch(
  frames: readonly Uint8Array[],
): { sender: string; multicasts: BatchedMulticast[] } {
  const sender = frames[0]!;
  const probe = originOf(concat(sender.subarray(0, sender.byteLength - 1), ONE));
  if (probe === null) {
    throw new ProtocolError(`a batch of multicasts from a sender that is not "<id>@<run>+"`);
  }
  const key = probe.key;
  const body = frames[2]!;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const multicasts: BatchedMulticast[] = [];
  let at = 0;
  while (at < body.byteLength) {
    if (at + RECORD_OVERHEAD > body.byteLength) throw cutShort(multicasts.length);
    const index = view.getFloat64(at, true);
    const end = at + RECORD_OVERHEAD + view.getUint32(at + 8, true);
    if (!Number.isSafeInteger(index) || index < 1 || index > MAX_SEQ) {
      throw new ProtocolError(`multicast ${multicasts.length + 1} of a batch has a bad index`);
    }
    if (end > body.byteLength) throw cutShort(multicasts.length);
    multicasts.push({ origin: { key, index }, payload: body.subarray(at + RECORD_OVERHEAD, end) });
    at = end;
  }
  if (multicasts.length === 0) throw new ProtocolError("an empty batch of multicasts");
  return { sender: key.slice(0, key.indexOf("@")), multicasts };
}

function cutShort(count: number): ProtocolError {
  return new ProtocolError(`multicast ${count + 1} of a batch is cut short`);
}

/** `.1`, to check a key with the origin grammar. */
const ONE = bytes(".1");

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
