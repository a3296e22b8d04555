/**
 * The multicast bus's frames: the seed's `[sender, seq, payload]`, with
 * origins in the sender frame. See PROTOCOL.md, "Bus messages".
 *
 * @module
 */

import { allocBytes, encodeText } from "../../ffi/bytes.ts";
import { SEQUENCER_ID } from "./ids.ts";
import { bytes, decimalAt, MAX_SEQ, startsWith, text } from "./text.ts";

/**
 * Where a multicast comes from, when its sender says: `<id>@<incarnation>.<n>`
 * in the bus's sender frame, n counting the member's multicasts from 1 and
 * the incarnation telling apart two runs of one id. With it the sequencer
 * orders a resent multicast at most once. Seed peers send a bare id (no
 * origin); they only print the frame, so the suffix costs them nothing.
 */
export interface Origin {
  /** `<id>@<incarnation>`: one run of one member. */
  key: string;
  /** The member's count of its multicasts, from 1. */
  index: number;
}

/** A message on the multicast bus: a client's multicast or the sequencer's order. */
export type BusMessage =
  | { kind: "multicast"; sender: string; payload: Uint8Array; origin: Origin | null }
  | { kind: "order"; seq: number; payload: Uint8Array; origin: Origin | null; epoch: number };

/** Formats an origin as it travels: `c1@3fa9.17`. */
export function formatOrigin(origin: Origin): string {
  return `${origin.key}.${origin.index}`;
}

/** The member id of an origin (`c1` of `c1@3fa9.17`). */
export function originSender(origin: Origin): string {
  if (origin.key !== lastSenderKey) {
    lastSenderKey = origin.key;
    lastSender = origin.key.slice(0, origin.key.indexOf("@"));
  }
  return lastSender;
}

/** The last origin key a sender was taken from, and that sender: runs of one member are common. */
let lastSenderKey = "";
let lastSender = "";

/** Parses `c1@3fa9.17`; null if it is not an origin. */
export function parseOrigin(value: string): Origin | null {
  return originAt(bytes(value), 0);
}

/** Reads an origin that is the whole of `frame` (bytes); null if it is not one. */
export function originOf(frame: Uint8Array): Origin | null {
  return originAt(frame, 0);
}

/** Why a bus message was refused. */
export class ProtocolError extends Error {
  /** Always `"ProtocolError"`. */
  override name = "ProtocolError";
}

/**
 * Decodes a bus message: three frames `[sender, seq, payload]`, `seq` empty
 * for a client's multicast and a decimal G >= 1 from the sequencer. One
 * grammar, read from the bytes (no text decoding or regular expressions on
 * the common path); see PROTOCOL.md, "Validation".
 *
 * @param frames The received frames.
 * @returns The message.
 * @throws {ProtocolError} naming what was wrong.
 */
export function decodeBus(frames: Uint8Array[]): BusMessage {
  if (frames.length !== 3) {
    throw new ProtocolError(`expected 3 frames [sender, seq, payload], got ${frames.length}`);
  }
  const [sender, seq, payload] = frames as [Uint8Array, Uint8Array, Uint8Array];
  return seq.byteLength === 0
    ? decodeMulticast(sender, payload)
    : decodeOrder(sender, seq, payload);
}

/** A client's multicast: a bare id (a seed peer's) or an origin, never the sequencer's. */
function decodeMulticast(sender: Uint8Array, payload: Uint8Array): BusMessage {
  if (sender.byteLength === 0) throw new ProtocolError("expected a sender id, got an empty frame");
  if (isSequencerSender(sender)) {
    throw new ProtocolError("a multicast from the sequencer has no sequence number");
  }
  const at = sender.indexOf(AT);
  if (at < 0) return { kind: "multicast", sender: text(sender), payload, origin: null };
  const origin = originAt(sender, 0);
  if (origin === null) {
    throw new ProtocolError(
      `expected a sender "<id>" or "<id>@<incarnation>.<n>", got ${quoted(sender, 80)}`,
    );
  }
  return { kind: "multicast", sender: origin.key.slice(0, at), payload, origin };
}

/**
 * The sequencer's order: `sequencer`, `sequencer:<origin>`, either with
 * `~<epoch>` after `sequencer` (HA mode), and G from 1 to 2^53 − 1.
 */
function decodeOrder(sender: Uint8Array, seqFrame: Uint8Array, payload: Uint8Array): BusMessage {
  const seq = decimalAt(seqFrame, 0);
  if (seq === 0) {
    throw new ProtocolError(
      `expected a sequence number from 1 to ${MAX_SEQ}, got ${quoted(seqFrame, 40)}`,
    );
  }
  if (startsWith(sender, SEQUENCER_BYTES)) {
    const { epoch, end } = epochAt(sender, SEQUENCER_BYTES.byteLength);
    if (epoch >= 0 && end === sender.byteLength) {
      return { kind: "order", seq, payload, origin: null, epoch };
    }
    const origin = epoch >= 0 && sender[end] === COLON ? originAt(sender, end + 1) : null;
    if (origin !== null) return { kind: "order", seq, payload, origin, epoch };
  }
  throw new ProtocolError(
    `a sequence number may come only from "${SEQUENCER_ID}", not from ${quoted(sender, 80)}`,
  );
}

/** True for `sequencer`, `sequencer:...` and `sequencer~...`. */
function isSequencerSender(sender: Uint8Array): boolean {
  const length = SEQUENCER_BYTES.byteLength;
  return startsWith(sender, SEQUENCER_BYTES) &&
    (sender.byteLength === length || sender[length] === COLON || sender[length] === TILDE);
}

/**
 * The epoch of an order's sender frame (HA mode) at `start`: `~` and 1 to
 * 16 lowercase hex digits, at most 2^53 − 1; `epoch` 0 and `end` = start when there is none,
 * `epoch` -1 when it is malformed. `end` is where the rest begins.
 */
export function epochAt(sender: Uint8Array, start: number): { epoch: number; end: number } {
  if (sender[start] !== TILDE) return { epoch: 0, end: start };
  let epoch = 0;
  let at = start + 1;
  for (; at < sender.byteLength && sender[at] !== COLON; at++) {
    const byte = sender[at]!;
    const digit = byte >= 0x30 && byte <= 0x39
      ? byte - 0x30
      : byte >= 0x61 && byte <= 0x66
      ? byte - 0x57
      : -1;
    if (digit < 0 || at - start > 16) return { epoch: -1, end: at };
    epoch = epoch * 16 + digit;
  }
  return at === start + 1 || epoch > MAX_SEQ ? { epoch: -1, end: at } : { epoch, end: at };
}

/** The start of a frame as JSON text, for an error message. */
function quoted(frame: Uint8Array, limit: number): string {
  return JSON.stringify(text(frame).slice(0, limit));
}

const SEQUENCER_BYTES = bytes(SEQUENCER_ID);
const COLON = 0x3a;
const TILDE = 0x7e;
const AT = 0x40;
const DOT = 0x2e;

/** True for `A-Z a-z 0-9 _ . -`. */
function isIdByte(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x30 && byte <= 0x39) || byte === 0x5f || byte === DOT || byte === 0x2d;
}

/**
 * An origin `<id>@<hex>.<n>` from `start` to the end of the frame: an id of
 * 1 to 64 of `A-Z a-z 0-9 _ . -`, 1 to 16 lowercase hex digits, and n from 1
 * to 2^53 − 1 without leading zeros; else null. The one grammar of origins.
 */
function originAt(frame: Uint8Array, start: number): Origin | null {
  const end = frame.byteLength;
  let at = start;
  while (at < end && at - start <= 64 && frame[at] !== AT) {
    if (!isIdByte(frame[at]!)) return null;
    at++;
  }
  if (at === start || at - start > 64 || at === end) return null;
  let dot = at + 1;
  while (dot < end && frame[dot] !== DOT) {
    const byte = frame[dot]!;
    if (!((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66))) return null;
    dot++;
  }
  if (dot === at + 1 || dot - at - 1 > 16 || dot === end) return null;
  const index = decimalAt(frame, dot + 1);
  if (index === 0) return null;
  return {
    key: String.fromCharCode.apply(null, frame.subarray(start, dot) as unknown as number[]),
    index,
  };
}

const EMPTY = new Uint8Array(0);

/** The frames of a client's multicast: `[<id>@<incarnation>.<n>, "", payload]`. */
export function multicastFrames(origin: Origin, payload: Uint8Array): Uint8Array[] {
  if (origin.key !== lastKey) {
    lastKey = origin.key;
    lastKeyPrefix = encodeText(`${origin.key}.`);
  }
  return [decimalBytes(origin.index, lastKeyPrefix), EMPTY, payload];
}

/** `<key>.` as bytes for the last origin key a multicast was framed for. */
let lastKey = "";
let lastKeyPrefix: Uint8Array = EMPTY;

/**
 * The frames of the sequencer's order number `seq`:
 * `["sequencer[~<epoch>][:<origin>]", "<seq>", payload]`.
 *
 * @param epoch HA mode: the leader's epoch in lowercase hex ("" for none).
 */
export function orderFrames(
  seq: number,
  payload: Uint8Array,
  origin: Origin | null,
  epoch = "",
): Uint8Array[] {
  const tag = epoch === "" ? "" : `~${epoch}`;
  if (origin === null) {
    const sender = tag === "" ? SEQUENCER_BYTES : encodeText(`${SEQUENCER_ID}${tag}`);
    return [sender, decimalBytes(seq, EMPTY), payload];
  }
  const key = tag === "" ? origin.key : `${tag}|${origin.key}`;
  let prefix = orderPrefixes.get(key);
  if (prefix === undefined) {
    // One entry per member run; a long-lived sequencer forgets them now and then.
    if (orderPrefixes.size >= 4096) orderPrefixes.clear();
    prefix = encodeText(`${SEQUENCER_ID}${tag}:${origin.key}.`);
    orderPrefixes.set(key, prefix);
  }
  return [decimalBytes(origin.index, prefix), decimalBytes(seq, EMPTY), payload];
}

/** `sequencer:<key>.` as bytes, by origin key. */
const orderPrefixes = new Map<string, Uint8Array>();

/** `prefix` followed by the decimal digits of `value` (a positive integer), as new bytes. */
function decimalBytes(value: number, prefix: Uint8Array): Uint8Array {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  const out = allocBytes(prefix.byteLength + digits);
  out.set(prefix);
  for (let i = out.byteLength - 1, rest = value; i >= prefix.byteLength; i--) {
    out[i] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return out;
}
