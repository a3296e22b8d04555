/**
 * The messages between the active sequencer and its standbys in HA mode,
 * carried as direct messages through the broker (a standby's routing id is
 * `standby:<name>`, which no client id can be). See PROTOCOL.md, "High
 * availability".
 *
 * ```
 * standby -> leader:  "FOLLOW " next " " epoch   ; send me the orders from next on
 *                     "ACK " last                ; every order up to last is in my log
 * leader -> standby:  "COPY " epoch " " first "\n" records
 *                     ; records as in a batch of orders (order_batch.ts), first, first + 1 ...
 * ```
 *
 * A standby's epoch is the one of the leader it copies from, or `-`.
 *
 * @module
 */

import { allocBytes } from "../../ffi/bytes.ts";
import { type BatchedOrder, decodeOrderBatch, orderBatchFrames } from "./order_batch.ts";
import { ProtocolError } from "./bus.ts";
import { bytes, seqOf, text } from "./text.ts";

/** The routing id prefix of a standby sequencer. */
export const STANDBY_PREFIX = "standby:";

/** A message of the replication between sequencers. */
export type ReplicaMessage =
  | { kind: "follow"; next: number; epoch: string }
  | { kind: "ack"; last: number }
  | { kind: "copy"; epoch: string; orders: BatchedOrder[] };

const NEWLINE = 0x0a;
const EPOCH = /^(?:-|[0-9a-f]{1,32})$/;

/** The routing id of the standby called `name`. */
export function standbyId(name: string): string {
  return `${STANDBY_PREFIX}${name}`;
}

/** The text of a `FOLLOW` or an `ACK`. */
export function encodeReplicaRequest(
  message: Extract<ReplicaMessage, { kind: "follow" | "ack" }>,
): Uint8Array {
  return bytes(
    message.kind === "follow" ? `FOLLOW ${message.next} ${message.epoch}` : `ACK ${message.last}`,
  );
}

/**
 * The payload of a `COPY` of consecutive orders (at least one).
 *
 * @param epoch The leader's epoch.
 * @param orders Orders numbered one after the other.
 */
export function encodeCopy(epoch: string, orders: readonly BatchedOrder[]): Uint8Array {
  const [, , body] = orderBatchFrames(orders);
  const head = bytes(`COPY ${epoch} ${orders[0]!.seq}\n`);
  const payload = allocBytes(head.byteLength + body!.byteLength);
  payload.set(head);
  payload.set(body!, head.byteLength);
  return payload;
}

/**
 * Reads a replication message.
 *
 * @throws {ProtocolError} naming what was wrong.
 */
export function decodeReplica(payload: Uint8Array): ReplicaMessage {
  if (text(payload.subarray(0, 5)) === "COPY ") {
    const end = payload.indexOf(NEWLINE);
    const [epoch, first] = text(payload.subarray(5, end < 0 ? 0 : end)).split(" ");
    if (end < 0 || end > 64 || epoch === undefined || !EPOCH.test(epoch) || first === undefined) {
      throw new ProtocolError('a COPY without "COPY <epoch> <first>" and a newline');
    }
    const frames = [new Uint8Array(0), bytes(first), payload.subarray(end + 1)];
    return { kind: "copy", epoch, orders: decodeOrderBatch(frames) };
  }
  const line = text(payload);
  const [word, number, epoch, ...rest] = line.split(" ");
  const seq = seqOf(number ?? "", true);
  if (word === "FOLLOW" && seq !== null && seq > 0 && epoch !== undefined && EPOCH.test(epoch)) {
    if (rest.length === 0) return { kind: "follow", next: seq, epoch };
  }
  if (word === "ACK" && seq !== null && epoch === undefined) return { kind: "ack", last: seq };
  throw new ProtocolError(
    `expected "FOLLOW <next> <epoch>", "ACK <last>" or "COPY ...", got ${
      JSON.stringify(line.slice(0, 60))
    }`,
  );
}
