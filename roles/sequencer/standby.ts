/**
 * `SequencerStandby`: a sequencer that does not lead (HA mode). It keeps a
 * copy of the leader's log in its own: it asks the leader (through the
 * broker's direct channel, as routing id `standby:<name>`) for its orders
 * with `FOLLOW`, writes each `COPY` durably and confirms it with `ACK`. A
 * copy from a leader of another epoch starts from order 1 in an emptied
 * log: its log then holds exactly the leader's. See PROTOCOL.md, "High
 * availability".
 *
 * @module
 */

import { type GroupAddress, groupEndpoints, type RoleLogging } from "../role_options.ts";
import { isClosed, type Socket } from "../../ffi/mod.ts";
import { moveSockets, participantSockets } from "../participant/join.ts";
import type { SocketSet } from "../socket_set.ts";
import { type FsyncPolicy, OrderLog } from "./order_log.ts";
import { ProtocolError } from "../protocol/bus.ts";
import type { BatchedOrder } from "../protocol/order_batch.ts";
import { decodeReplica, encodeReplicaRequest, standbyId } from "../protocol/replica.ts";
import { BROKER_ID, type Endpoints, SEQUENCER_ID } from "../protocol/ids.ts";
import { text } from "../protocol/text.ts";

/** Options of {@link SequencerStandby.open}. */
export interface StandbyOptions extends GroupAddress, RoleLogging {
  /** This sequencer's name in the group (its election id). */
  name: string;
  /** Its log: kept as it is until a leader's copy replaces it. */
  logPath: string;
  /** When the log is fsynced (default "batch": once per COPY). */
  fsync?: FsyncPolicy;
}

/** How often a standby asks the leader when nothing comes, ms. */
const FOLLOW_EVERY_MS = 1000;

/** A sequencer standing by, copying the leader's log. */
export class SequencerStandby {
  #ctx: SocketSet;
  #dealer: Socket;
  #log: OrderLog;
  #options: StandbyOptions;
  /** The epoch of the leader its log is a copy of, or "-" (not known). */
  #following = "-";
  #heardAt = 0;
  #timer: ReturnType<typeof setInterval>;
  #loop: Promise<void>;
  #failure: Error | undefined;
  /** The broker's endpoints it is connected to. */
  #at: Endpoints;

  private constructor(options: StandbyOptions) {
    this.#options = options;
    this.#log = OrderLog.open(options.logPath, { fsync: options.fsync ?? "batch", keep: 0 }).log;
    this.#ctx = participantSockets(options);
    this.#dealer = this.#ctx.socket("DEALER");
    this.#dealer.setOption("ROUTING_ID", standbyId(options.name));
    // Nothing it sends is worth a wait when it closes (to lead, at once).
    this.#dealer.setOption("LINGER", 0);
    this.#at = groupEndpoints(options);
    this.#dealer.connect(this.#at.direct);
    this.#loop = this.#read();
    this.#timer = setInterval(() => this.#askIfQuiet(), FOLLOW_EVERY_MS / 4);
    this.#follow();
  }

  /**
   * Opens its log and starts copying from the leader.
   *
   * @throws {Error} naming the log when it cannot be opened or is corrupt.
   */
  static open(options: StandbyOptions): SequencerStandby {
    return new SequencerStandby(options);
  }

  /** The highest order in its log. */
  get highest(): number {
    return this.#log.highest;
  }

  /** The epoch of the leader it copies from ("-" before any copy). */
  get following(): string {
    return this.#following;
  }

  /** Moves to another broker's endpoints (HA mode: a new broker took over), and asks again. */
  moveTo(to: Endpoints): void {
    moveSockets({ dealer: this.#dealer }, this.#at, to);
    this.#at = to;
    this.#follow();
  }

  /** Why it stopped copying (its log could not be written), if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  #send(payload: Uint8Array): void {
    void this.#dealer.send(["", SEQUENCER_ID, payload]).catch(() => {});
  }

  #follow(): void {
    this.#send(encodeReplicaRequest({
      kind: "follow",
      next: this.#log.highest + 1,
      epoch: this.#following,
    }));
  }

  /** Asks again when the leader has been quiet: a new leader answers with its copy. */
  #askIfQuiet(): void {
    if (performance.now() - this.#heardAt >= FOLLOW_EVERY_MS) {
      this.#heardAt = performance.now();
      this.#follow();
    }
  }

  async #read(): Promise<void> {
    try {
      for await (const frames of this.#dealer) {
        if (frames.length !== 3 || frames[0]!.byteLength !== 0) continue;
        const from = text(frames[1]!);
        if (from === BROKER_ID) {
          this.#options.log?.(`The broker says: ${text(frames[2]!).slice(0, 200)}`);
          continue;
        }
        if (from !== SEQUENCER_ID) continue;
        this.#onMessage(frames[2]!);
      }
    } catch (error) {
      if (!isClosed(error)) throw error;
    }
  }

  #onMessage(payload: Uint8Array): void {
    let message;
    try {
      message = decodeReplica(payload);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#options.log?.(`Dropped a bad message from the sequencer: ${error.message}`);
      return;
    }
    if (message.kind !== "copy" || this.#failure !== undefined) return;
    this.#heardAt = performance.now();
    const { epoch, orders } = message;
    if (epoch !== this.#following) {
      // Only the start of a copy by a newer leader replaces the log; anything
      // else is stale (a deposed leader's, still on its way).
      if (orders[0]!.seq !== 1 || !newer(epoch, this.#following)) return;
      try {
        this.#startCopy(epoch);
      } catch (error) {
        this.#failure = error as Error;
        this.#options.warn?.(
          `Cannot empty the log for the copy: ${
            (error as Error).message
          }: this standby stops copying (it may not lead)`,
        );
        return;
      }
    }
    const next = this.#log.highest + 1;
    if (orders[0]!.seq > next) {
      this.#follow();
      return;
    }
    this.#write(orders.filter((order) => order.seq >= next));
  }

  /** Empties the log for the copy of the leader of `epoch`. */
  #startCopy(epoch: string): void {
    const { logPath, fsync = "batch" } = this.#options;
    this.#log.close();
    Deno.truncateSync(logPath, 0);
    this.#log = OrderLog.open(logPath, { fsync, keep: 0 }).log;
    this.#options.warn?.(`Copying the log of the leader of epoch ${epoch} into ${logPath}`);
    this.#following = epoch;
  }

  /** Writes orders durably, then confirms them. */
  #write(orders: readonly BatchedOrder[]): void {
    if (orders.length > 0) {
      try {
        for (const { seq, payload, origin } of orders) this.#log.add(seq, payload, origin);
        this.#log.commit();
      } catch (error) {
        this.#failure = error as Error;
        this.#options.warn?.(
          `${(error as Error).message}: this standby stops copying (it may not lead)`,
        );
        return;
      }
    }
    this.#send(encodeReplicaRequest({ kind: "ack", last: this.#log.highest }));
  }

  /** Stops copying: closes its socket and its log (which a leader then opens). Idempotent. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#ctx.close();
    await this.#loop;
    try {
      this.#log.close();
    } catch {
      // Closed before.
    }
  }
}

/** True if epoch `a` (hex) is newer than `b` (hex, or "-" for none). */
function newer(a: string, b: string): boolean {
  return b === "-" || parseInt(a, 16) > parseInt(b, 16);
}
