/**
 * The group's wire protocol: the seed's frames, so that a pyzmq build of the
 * seed's design can take part. See PROTOCOL.md.
 *
 * @module
 */

// Directly, not through mod.ts: mod.ts re-exports this module (no import cycle).
import { allocBytes, encodeText } from "../ffi/bytes.ts";

/** The sender id the sequencer uses on the bus. */
export const SEQUENCER_ID = "sequencer";
/** The sender id the broker uses for its notices on the direct channel. */
export const BROKER_ID = "broker";
/** The single frame the broker publishes once every participant is in. */
export const START = "start";
/**
 * What a participant's bus socket also subscribes to, followed by its id:
 * `start:c1`. No bus message begins so; the broker counts these to know
 * that each participant it let in has subscribed.
 */
export const ID_TOPIC_PREFIX = "start:";
/**
 * The largest payload a member sends, by default (1 MiB). The broker drops
 * the connection of a peer that sends a frame over this plus
 * {@link FRAME_SLACK} (libzmq's MAXMSGSIZE), so a rogue peer cannot make it
 * buffer without bound; members refuse larger payloads before sending.
 */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room for the protocol's own bytes (e.g. `ORDER <seq> <origin> `) around a payload. */
export const FRAME_SLACK = 256;

/** The default host and first port (the seed's 5559 to 5562). */
export const DEFAULT_HOST = "127.0.0.1";
/** The default base port. */
export const DEFAULT_BASE_PORT = 5559;

/** The four endpoints of a group, derived from host and base port. */
export interface Endpoints {
  /** Multicast in: clients and the sequencer publish here (broker's XSUB). */
  multicastIn: string;
  /** Multicast out: everyone subscribes here (broker's XPUB). */
  multicastOut: string;
  /** The start barrier (broker's REP). */
  barrier: string;
  /** Direct messages (broker's ROUTER). */
  direct: string;
}

/**
 * The endpoints of a group at `host` from `basePort` on.
 *
 * @param host The broker's host (connect) or interface (bind), e.g. "127.0.0.1" or "*".
 * @param basePort The first of the four ports.
 * @returns The tcp endpoints for base, base+1, base+2 and base+3.
 */
export function endpoints(host: string, basePort: number): Endpoints {
  const at = (offset: number) => `tcp://${host}:${basePort + offset}`;
  return {
    multicastIn: at(0),
    multicastOut: at(1),
    barrier: at(2),
    direct: at(3),
  };
}

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
  | { kind: "order"; seq: number; payload: Uint8Array; origin: Origin | null };

const ORIGIN = /^([A-Za-z0-9_.-]{1,64}@[0-9a-f]{1,16})\.([1-9][0-9]{0,15})$/;

/** Formats an origin as it travels: `c1@3fa9.17`. */
export function formatOrigin(origin: Origin): string {
  return `${origin.key}.${origin.index}`;
}

/** Parses `c1@3fa9.17`; null if it is not an origin. */
export function parseOrigin(value: string): Origin | null {
  const match = ORIGIN.exec(value);
  return match === null ? null : { key: match[1]!, index: Number(match[2]) };
}

const decoder = new TextDecoder();
/** Decodes a frame as text (invalid UTF-8 becomes U+FFFD). */
export function text(frame: Uint8Array): string {
  return decoder.decode(frame);
}
/** Encodes text as a frame. */
export function bytes(value: string): Uint8Array {
  return encodeText(value);
}

/** Why a bus message was refused. */
export class ProtocolError extends Error {
  /** Always `"ProtocolError"`. */
  override name = "ProtocolError";
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * Decodes a bus message: three frames `[sender, seq, payload]`, `seq` empty
 * for a client's multicast and a decimal G >= 1 from the sequencer.
 *
 * @param frames The received frames.
 * @returns The message.
 * @throws {ProtocolError} naming what was wrong.
 */
export function decodeBus(frames: Uint8Array[]): BusMessage {
  return (frames.length === 3 ? decodeBusFast(frames[0]!, frames[1]!, frames[2]!) : null) ??
    decodeBusChecked(frames);
}

/**
 * The common well-formed cases, parsed from the bytes without text decoding
 * or regular expressions; null for anything else, which the checked path
 * then decodes (or refuses, saying why).
 */
function decodeBusFast(
  senderFrame: Uint8Array,
  seqFrame: Uint8Array,
  payload: Uint8Array,
): BusMessage | null {
  if (seqFrame.byteLength === 0) {
    const origin = originAt(senderFrame, 0);
    if (origin === null) return null;
    return {
      kind: "multicast",
      sender: origin.key.slice(0, origin.key.indexOf("@")),
      payload,
      origin,
    };
  }
  const seq = decimalAt(seqFrame, 0);
  if (seq === 0 || !startsWith(senderFrame, SEQUENCER_BYTES)) return null;
  const length = SEQUENCER_BYTES.byteLength;
  if (senderFrame.byteLength === length) return { kind: "order", seq, payload, origin: null };
  if (senderFrame[length] !== COLON) return null;
  const origin = originAt(senderFrame, length + 1);
  return origin === null ? null : { kind: "order", seq, payload, origin };
}

const SEQUENCER_BYTES = bytes(SEQUENCER_ID);
const COLON = 0x3a;
const AT = 0x40;
const DOT = 0x2e;

/** True if `frame` begins with the bytes of `prefix`. */
export function startsWith(frame: Uint8Array, prefix: Uint8Array): boolean {
  if (frame.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (frame[i] !== prefix[i]) return false;
  return true;
}

/** `[1-9][0-9]{0,15}` from `start` to the end, at most MAX_SEQ; 0 if not. */
export function decimalAt(frame: Uint8Array, start: number): number {
  const length = frame.byteLength - start;
  if (length < 1 || length > 16 || frame[start] === 0x30) return 0;
  let value = 0;
  for (let i = start; i < frame.byteLength; i++) {
    const digit = frame[i]! - 0x30;
    if (digit < 0 || digit > 9) return 0;
    value = value * 10 + digit;
  }
  return value <= MAX_SEQ ? value : 0;
}

/** True for `A-Z a-z 0-9 _ . -`. */
function isIdByte(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x30 && byte <= 0x39) || byte === 0x5f || byte === DOT || byte === 0x2d;
}

/** An origin `<id>@<hex>.<n>` from `start` to the end of the frame, as ORIGIN matches; else null. */
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

/** The checked path of {@link decodeBus}: every case, with an error naming what is wrong. */
function decodeBusChecked(frames: Uint8Array[]): BusMessage {
  if (frames.length !== 3) {
    throw new ProtocolError(
      `expected 3 frames [sender, seq, payload], got ${frames.length}`,
    );
  }
  const [senderFrame, seqFrame, payload] = frames as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  const sender = text(senderFrame);
  if (seqFrame.byteLength === 0) {
    if (sender.length === 0) {
      throw new ProtocolError("expected a sender id, got an empty frame");
    }
    if (sender === SEQUENCER_ID || sender.startsWith(`${SEQUENCER_ID}:`)) {
      throw new ProtocolError(
        "a multicast from the sequencer has no sequence number",
      );
    }
    const origin = sender.includes("@") ? parseOrigin(sender) : null;
    if (sender.includes("@") && origin === null) {
      throw new ProtocolError(
        `expected a sender "<id>" or "<id>@<incarnation>.<n>", got ${
          JSON.stringify(sender.slice(0, 80))
        }`,
      );
    }
    return {
      kind: "multicast",
      sender: origin === null ? sender : origin.key.slice(0, origin.key.indexOf("@")),
      payload,
      origin,
    };
  }
  const seqText = text(seqFrame);
  if (!/^[1-9][0-9]{0,15}$/.test(seqText) || Number(seqText) > MAX_SEQ) {
    throw new ProtocolError(
      `expected a sequence number from 1 to ${MAX_SEQ}, got ${
        JSON.stringify(seqText.slice(0, 40))
      }`,
    );
  }
  // The sequencer names the multicast's origin after a colon, when it had one.
  const origin = sender.startsWith(`${SEQUENCER_ID}:`)
    ? parseOrigin(sender.slice(SEQUENCER_ID.length + 1))
    : null;
  if (sender !== SEQUENCER_ID && origin === null) {
    throw new ProtocolError(
      `a sequence number may come only from "${SEQUENCER_ID}", not from ${
        JSON.stringify(sender.slice(0, 80))
      }`,
    );
  }
  return { kind: "order", seq: Number(seqText), payload, origin };
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

/** The frames of the sequencer's order number `seq`: `["sequencer[:<origin>]", "<seq>", payload]`. */
export function orderFrames(seq: number, payload: Uint8Array, origin: Origin | null): Uint8Array[] {
  if (origin === null) return [SEQUENCER_BYTES, decimalBytes(seq, EMPTY), payload];
  let prefix = orderPrefixes.get(origin.key);
  if (prefix === undefined) {
    // One entry per member run; a long-lived sequencer forgets them now and then.
    if (orderPrefixes.size >= 4096) orderPrefixes.clear();
    prefix = encodeText(`${SEQUENCER_ID}:${origin.key}.`);
    orderPrefixes.set(origin.key, prefix);
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

/**
 * Recovery over the direct channel (beyond the seed; a seed peer never sees
 * it): a client asks the sequencer, whose DEALER has the routing id
 * "sequencer", with the payload `RETRANSMIT <first> <last|*>` (or `HELLO`,
 * which asks for nothing but the last line); the sequencer
 * answers each order it still has with `ORDER <G> <origin|-> <payload>` and then
 * `HIGHEST <H> <epoch> <L>`: the last number it has given, a token that
 * changes each time the sequencer starts (so a member learns of a restart),
 * and the oldest order it still holds (older ones cannot be had any more).
 */
export type RecoveryMessage =
  | { kind: "retransmit"; first: number; last: number | null; delivered?: number }
  | { kind: "hello"; delivered?: number }
  | { kind: "order"; seq: number; payload: Uint8Array; origin: Origin | null }
  | { kind: "highest"; seq: number; epoch: string; lowest: number; delivered?: number };

/**
 * ` <delivered>` when known: a request says how far its member has
 * delivered, and the sequencer's HIGHEST echoes it, so that the member can
 * tell a sequencer whose numbering went back below it (H < delivered) from
 * a HIGHEST that merely crossed newer orders on the way.
 */
function deliveredSuffix(delivered: number | undefined): string {
  return delivered === undefined ? "" : ` ${delivered}`;
}

const ORDER_PREFIX = bytes("ORDER ");

/** Encodes a recovery message as a direct message payload. */
export function encodeRecovery(message: RecoveryMessage): Uint8Array {
  switch (message.kind) {
    case "hello":
      return bytes(`HELLO${deliveredSuffix(message.delivered)}`);
    case "retransmit":
      return bytes(
        `RETRANSMIT ${message.first} ${message.last ?? "*"}${deliveredSuffix(message.delivered)}`,
      );
    case "highest":
      return bytes(
        `HIGHEST ${message.seq} ${message.epoch} ${message.lowest}${
          deliveredSuffix(message.delivered)
        }`,
      );
    case "order": {
      const head = bytes(
        `ORDER ${message.seq} ${message.origin === null ? "-" : formatOrigin(message.origin)} `,
      );
      const out = new Uint8Array(head.byteLength + message.payload.byteLength);
      out.set(head);
      out.set(message.payload, head.byteLength);
      return out;
    }
  }
}

const SEQ_TEXT = /^[1-9][0-9]{0,15}$/;
/** 0, or a sequence number. */
const COUNT_TEXT = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Decodes a recovery message.
 *
 * @throws {ProtocolError} naming what was wrong.
 */
export function decodeRecovery(payload: Uint8Array): RecoveryMessage {
  if (ORDER_PREFIX.every((byte, i) => payload[i] === byte)) {
    const seqEnd = payload.indexOf(32, ORDER_PREFIX.byteLength);
    const originEnd = seqEnd < 0 ? -1 : payload.indexOf(32, seqEnd + 1);
    const seqText = text(
      payload.subarray(ORDER_PREFIX.byteLength, seqEnd < 0 ? payload.byteLength : seqEnd),
    );
    const originText = originEnd < 0 ? "" : text(payload.subarray(seqEnd + 1, originEnd));
    const origin = originText === "-" ? null : parseOrigin(originText);
    if (originEnd < 0 || !SEQ_TEXT.test(seqText) || (originText !== "-" && origin === null)) {
      throw new ProtocolError(
        `expected "ORDER <seq> <origin|-> <payload>", got ${
          JSON.stringify(text(payload.subarray(0, 60)))
        }`,
      );
    }
    return {
      kind: "order",
      seq: Number(seqText),
      payload: payload.subarray(originEnd + 1),
      origin,
    };
  }
  const words = text(payload).split(" ");
  // The optional last word of each: how far the member has delivered.
  const delivered = (at: number) =>
    words.length === at + 1 && COUNT_TEXT.test(words[at]!) ? Number(words[at]) : undefined;
  const plain = (length: number) => words.length === length || delivered(length) !== undefined;
  if (words[0] === "HELLO" && plain(1)) return { kind: "hello", delivered: delivered(1) };
  if (
    words[0] === "HIGHEST" && plain(4) &&
    COUNT_TEXT.test(words[1]!) && /^[0-9a-f]{1,32}$/.test(words[2]!) &&
    SEQ_TEXT.test(words[3]!)
  ) {
    return {
      kind: "highest",
      seq: Number(words[1]),
      epoch: words[2]!,
      lowest: Number(words[3]),
      delivered: delivered(4),
    };
  }
  if (
    words[0] === "RETRANSMIT" && plain(3) &&
    SEQ_TEXT.test(words[1]!) &&
    (words[2] === "*" || SEQ_TEXT.test(words[2]!))
  ) {
    return {
      kind: "retransmit",
      first: Number(words[1]),
      last: words[2] === "*" ? null : Number(words[2]),
      delivered: delivered(3),
    };
  }
  throw new ProtocolError(
    `expected HELLO, RETRANSMIT, ORDER or HIGHEST, got ${
      JSON.stringify(text(payload).slice(0, 40))
    }`,
  );
}

/** Formats a scenario payload, `"<sender>###<text>"`, as the seed does. */
export function scenarioPayload(sender: string, body: string): string {
  return `${sender}###${body}`;
}

/**
 * Checks a client id: non-empty, printable, no commas (the script language's
 * separator), and not a reserved id.
 *
 * @param id The id to check.
 * @returns The id.
 * @throws {TypeError} naming what is wrong.
 */
export function checkClientId(id: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) {
    throw new TypeError(
      `Invalid client id ${JSON.stringify(id)}: expected 1 to 64 letters, digits, "_", "." or "-"`,
    );
  }
  if (id === SEQUENCER_ID || id === BROKER_ID) {
    throw new TypeError(`Invalid client id "${id}": it is reserved`);
  }
  return id;
}
