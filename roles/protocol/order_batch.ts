/**
 * Batches of orders on the bus: one bus message that carries consecutive
 * orders, so that the broker forwards, and each member receives and
 * decodes, one message for many deliveries. Only between our roles: a seed
 * peer reads exactly three frames as one order, so the sequencer batches
 * only when the broker says no seed peer is in the group. See PROTOCOL.md,
 * "Batches".
 *
 * Frames: `["sequencer+", "<G>", body]`, G the first order's number; the
 * body is one record per order, G, G + 1, ...: a 4-byte little-endian
 * length and the origin (empty: none), a 4-byte length and the payload.
 *
 * @module
 */

import { allocBytes } from "../../ffi/bytes.ts";
import { epochAt, formatOrigin, type Origin, originOf, ProtocolError } from "./bus.ts";
import { SEQUENCER_ID } from "./ids.ts";
import { bytes, decimalAt, MAX_SEQ, startsWith } from "./text.ts";

/** The sender frame of a batch: `sequencer+`, which no id can be. */
export const BATCH_SENDER = `${SEQUENCER_ID}+`;
const BATCH_SENDER_BYTES = bytes(BATCH_SENDER);

/** An order as a batch carries it. */
export interface BatchedOrder {
  /** Its number. */
  seq: number;
  /** Its payload. */
  payload: Uint8Array;
  /** Its multicast's origin, if any. */
  origin: Origin | null;
}

/** The bytes a record takes besides its origin and payload. */
const RECORD_OVERHEAD = 8;

/**
 * True if `frames` is a batch of orders, `sequencer+` or (HA mode)
 * `sequencer+~<epoch>` (by its sender frame; the rest is checked on decoding).
 */
export function isOrderBatch(frames: readonly Uint8Array[]): boolean {
  const sender = frames[0];
  const length = BATCH_SENDER_BYTES.byteLength;
  return frames.length === 3 && sender !== undefined && startsWith(sender, BATCH_SENDER_BYTES) &&
    (sender.byteLength === length || sender[length] === TILDE);
}

const TILDE = 0x7e;

/**
 * The epoch of a batch's sender frame (HA mode; 0 if none).
 *
 * @throws {ProtocolError} when it is malformed.
 */
export function batchEpoch(frames: readonly Uint8Array[]): number {
  const sender = frames[0]!;
  const { epoch, end } = epochAt(sender, BATCH_SENDER_BYTES.byteLength);
  if (epoch < 0 || end !== sender.byteLength) {
    throw new ProtocolError("a batch of orders with a malformed epoch in its sender frame");
  }
  return epoch;
}

/**
 * About the bytes an order takes in a batch's body (origins are at most
 * 64 + 1 + 16 + 1 + 16 characters): for keeping batches under a size.
 */
export function batchedSize(payload: Uint8Array): number {
  return RECORD_OVERHEAD + 100 + payload.byteLength;
}

/**
 * The frames of a batch of consecutive orders (at least one).
 *
 * @param orders Orders numbered one after the other, the first first.
 * @param epoch HA mode: the leader's epoch in lowercase hex ("" for none).
 */
export function orderBatchFrames(orders: readonly BatchedOrder[], epoch = ""): Uint8Array[] {
  const origins = orders.map((order) =>
    order.origin === null ? null : bytes(formatOrigin(order.origin))
  );
  let size = 0;
  orders.forEach((order, i) =>
    size += RECORD_OVERHEAD + (origins[i]?.byteLength ?? 0) + order.payload.byteLength
  );
  const body = allocBytes(size);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  orders.forEach((order, i) => {
    const origin = origins[i] ?? EMPTY;
    view.setUint32(at, origin.byteLength, true);
    body.set(origin, at + 4);
    at += 4 + origin.byteLength;
    view.setUint32(at, order.payload.byteLength, true);
    body.set(order.payload, at + 4);
    at += 4 + order.payload.byteLength;
  });
  const sender = epoch === "" ? BATCH_SENDER_BYTES : bytes(`${BATCH_SENDER}~${epoch}`);
  return [sender, bytes(String(orders[0]!.seq)), body];
}

/**
 * Reads a batch (see {@link isOrderBatch}): its orders, numbered from the
 * seq frame on.
 *
 * @throws {ProtocolError} naming what was wrong: a bad number, a record cut
 * short, a bad origin, an empty batch.
 */
export function decodeOrderBatch(frames: readonly Uint8Array[]): BatchedOrder[] {
  const first = decimalAt(frames[1]!, 0);
  if (first === 0) throw new ProtocolError("a batch of orders without a first number from 1");
  const body = frames[2]!;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const orders: BatchedOrder[] = [];
  const keys = new KeyCache();
  let at = 0;
  while (at < body.byteLength) {
    const seq = first + orders.length;
    const originEnd = field(view, at, seq);
    const payloadEnd = field(view, originEnd, seq);
    const origin = originEnd === at + 4 ? null : keys.origin(body.subarray(at + 4, originEnd));
    if (origin === null && originEnd !== at + 4) {
      throw new ProtocolError(`order ${seq} of a batch has a bad origin`);
    }
    orders.push({ seq, payload: body.subarray(originEnd + 4, payloadEnd), origin });
    at = payloadEnd;
  }
  if (orders.length === 0) throw new ProtocolError("an empty batch of orders");
  if (first + orders.length - 1 > MAX_SEQ) {
    throw new ProtocolError(`a batch of orders past ${MAX_SEQ}`);
  }
  return orders;
}

/**
 * Reads origins, reusing the key of the one before when its bytes are the
 * same (a batch holds runs of one member's multicasts): no new key string
 * per order.
 */
class KeyCache {
  #bytes: Uint8Array | undefined;
  #key = "";

  /** The origin that is the whole of `frame`, or null. */
  origin(frame: Uint8Array): Origin | null {
    const dot = frame.lastIndexOf(DOT);
    const previous = this.#bytes;
    if (previous !== undefined && dot === previous.byteLength && startsWith(frame, previous)) {
      const index = decimalAt(frame, dot + 1);
      return index === 0 ? null : { key: this.#key, index };
    }
    const origin = originOf(frame);
    if (origin !== null) {
      this.#bytes = frame.subarray(0, dot);
      this.#key = origin.key;
    }
    return origin;
  }
}

const DOT = 0x2e;

/** The end of the length-prefixed field at `at`; throws if the body is cut short. */
function field(view: DataView, at: number, seq: number): number {
  if (at + 4 > view.byteLength) throw new ProtocolError(`order ${seq} of a batch is cut short`);
  const end = at + 4 + view.getUint32(at, true);
  if (end > view.byteLength) throw new ProtocolError(`order ${seq} of a batch is cut short`);
  return end;
}

/**
 * The first and last numbers of a batch, from its frames, without decoding
 * payloads or origins (for the broker's gate); null if it is malformed.
 */
export function batchSpan(frames: readonly Uint8Array[]): { first: number; last: number } | null {
  const first = decimalAt(frames[1]!, 0);
  const body = frames[2]!;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let count = 0;
  let at = 0;
  while (at + 4 <= body.byteLength) {
    at += 4 + view.getUint32(at, true);
    if (at + 4 > body.byteLength) return null;
    at += 4 + view.getUint32(at, true);
    count++;
  }
  if (first === 0 || count === 0 || at !== body.byteLength) return null;
  return { first, last: first + count - 1 };
}

const EMPTY = new Uint8Array(0);
