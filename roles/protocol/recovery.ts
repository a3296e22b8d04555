/**
 * Recovery over the direct channel: requests to the sequencer and its
 * answers. See PROTOCOL.md, "Recovery".
 *
 * @module
 */

import { formatOrigin, type Origin, parseOrigin, ProtocolError } from "./bus.ts";
import { bytes, seqOf, text } from "./text.ts";
import { decodeView, encodeView, type View } from "./view.ts";

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
  | {
    kind: "highest";
    seq: number;
    epoch: string;
    lowest: number;
    delivered?: number;
    /** The sequencer's current view number (sent after `delivered`). */
    view?: number;
  }
  /** Member to sequencer: send me the views from number `from` on. */
  | { kind: "views"; from: number }
  /** Member to sequencer: I am leaving the group (a clean close). */
  | { kind: "leave" }
  /** Sequencer to member: a new view. */
  | { kind: "view"; view: View }
  /** Sequencer to member: you were evicted (silent too long) in view `view`. */
  | { kind: "evicted"; view: number };

/**
 * At most this many orders answer one `RETRANSMIT`, and a member asks for
 * at most this many in one round: one far behind catches up in rounds, at
 * its own pace, without flooding the broker's queue for it.
 */
export const CATCH_UP_CHUNK = 2048;

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
          deliveredSuffix(message.delivered ?? (message.view === undefined ? undefined : 0))
        }${message.view === undefined ? "" : ` ${message.view}`}`,
      );
    case "views":
      return bytes(`VIEWS ${message.from}`);
    case "leave":
      return bytes("LEAVE");
    case "view":
      return bytes(encodeView(message.view));
    case "evicted":
      return bytes(`EVICTED ${message.view}`);
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
    if (originEnd < 0 || seqOf(seqText) === null || (originText !== "-" && origin === null)) {
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
    words.length === at + 1 ? seqOf(words[at]!, true) ?? undefined : undefined;
  const plain = (length: number) => words.length === length || delivered(length) !== undefined;
  if (words[0] === "HELLO" && plain(1)) return { kind: "hello", delivered: delivered(1) };
  if (
    words[0] === "HIGHEST" &&
    (plain(4) || (words.length === 6 && seqOf(words[5]!, true) !== null)) &&
    seqOf(words[1]!, true) !== null && /^[0-9a-f]{1,32}$/.test(words[2]!) &&
    seqOf(words[3]!) !== null && (words.length < 6 || seqOf(words[4]!, true) !== null)
  ) {
    return {
      kind: "highest",
      seq: Number(words[1]),
      epoch: words[2]!,
      lowest: Number(words[3]),
      delivered: words.length === 6 ? Number(words[4]) : delivered(4),
      ...(words.length === 6 ? { view: Number(words[5]) } : {}),
    };
  }
  if (words[0] === "VIEW") return { kind: "view", view: decodeView(words) };
  if (words[0] === "VIEWS" && words.length === 2 && seqOf(words[1]!) !== null) {
    return { kind: "views", from: Number(words[1]) };
  }
  if (words[0] === "LEAVE" && words.length === 1) return { kind: "leave" };
  if (words[0] === "EVICTED" && words.length === 2 && seqOf(words[1]!) !== null) {
    return { kind: "evicted", view: Number(words[1]) };
  }
  if (
    words[0] === "RETRANSMIT" && plain(3) &&
    seqOf(words[1]!) !== null &&
    (words[2] === "*" || seqOf(words[2]!) !== null)
  ) {
    return {
      kind: "retransmit",
      first: Number(words[1]),
      last: words[2] === "*" ? null : Number(words[2]),
      delivered: delivered(3),
    };
  }
  throw new ProtocolError(
    `expected HELLO, RETRANSMIT, VIEWS, LEAVE, ORDER, HIGHEST, VIEW or EVICTED, got ${
      JSON.stringify(text(payload).slice(0, 40))
    }`,
  );
}
