/**
 * `Sequencer`: numbers every client multicast exactly once, G = 1, 2, 3 ...,
 * publishes the order on the bus, keeps the last orders for retransmission
 * and, with a log file, survives being killed and started again.
 *
 * @module
 */

import { type Context, type Socket, ZmqError } from "../mod.ts";
import { joinGroup } from "./_join.ts";
import { SocketSet } from "./_sockets.ts";
import { curveClient, type CurveClientOptions } from "./curve.ts";
import { OrderHistory } from "./order_history.ts";
import { OriginTracker } from "./origin_tracker.ts";
import { type FsyncPolicy, OrderLog } from "./order_log.ts";
import {
  decodeBus,
  decodeRecovery,
  DEFAULT_BASE_PORT,
  DEFAULT_HOST,
  encodeRecovery,
  type Endpoints,
  endpoints,
  formatOrigin,
  orderFrames,
  type Origin,
  ProtocolError,
  SEQUENCER_ID,
  START,
  text,
} from "./protocol.ts";

/** Options of {@link Sequencer}. */
export interface SequencerOptions {
  /**
   * The four endpoints, overriding host and base port (e.g. inproc ones
   * for a group inside one process, with a shared `context`).
   */
  endpoints?: Endpoints;
  /** A context to use (and not close) instead of a new one. */
  context?: Context;
  /** CURVE mode: the participant's keys and the broker's public key. */
  curve?: CurveClientOptions;
  /** The broker's host. Default 127.0.0.1. */
  host?: string;
  /** The broker's base port. Default 5559. */
  basePort?: number;
  /** How long to wait for the broker and the start, in ms. Default 30,000. */
  joinTimeoutMs?: number;
  /** How many of the last orders to keep for retransmission. Default 100,000. */
  history?: number;
  /** A durable log of the orders: continue from it after a restart. */
  logPath?: string;
  /** When the log is fsynced. Default "batch". */
  fsync?: FsyncPolicy;
  /** Called with a line per message (the seed's log), only when set: e.g. under --verbose. */
  trace?: (line: string) => void;
  /** Called with a line for the log. */
  log?: (line: string) => void;
}

/** What the sequencer counts. */
export interface SequencerCounters {
  /** Orders published. */
  ordered: number;
  /** Orders sent again on request. */
  retransmitted: number;
  /** Retransmission requests answered. */
  requests: number;
  /** Copies of multicasts ordered before (resent by their member), dropped. */
  duplicates: number;
  /** Malformed bus messages or requests dropped. */
  badInput: number;
  /** fsync calls on the log. */
  fsyncs: number;
}

/** At most this many messages are numbered per batch (one fsync each). */
const BATCH = 1024;

/**
 * The group's fixed sequencer.
 *
 * @example
 * ```ts ignore
 * const sequencer = await Sequencer.join({ logPath: "sequencer.log" });
 * // ... on shutdown:
 * await sequencer.close();
 * ```
 */
export class Sequencer {
  /** What the sequencer counted. */
  readonly counters: SequencerCounters = {
    ordered: 0,
    retransmitted: 0,
    requests: 0,
    duplicates: 0,
    badInput: 0,
    fsyncs: 0,
  };
  #ctx: SocketSet;
  #sub!: Socket;
  #pub!: Socket;
  #dealer!: Socket;
  #history: OrderHistory;
  #orderLog: OrderLog | undefined;
  #log: (line: string) => void;
  #loops: Promise<void>[] = [];
  #trace: ((line: string) => void) | undefined;
  /** Every origin ordered (from the log too): a resent copy is ordered at most once. */
  #ordered = new OriginTracker();
  /** Changes at every start: tells members that the sequencer restarted. */
  #epoch = crypto.randomUUID().replaceAll("-", "").slice(0, 16);

  private constructor(ctx: SocketSet, options: SequencerOptions) {
    this.#ctx = ctx;
    this.#log = options.log ?? (() => {});
    this.#trace = options.trace;
    this.#history = new OrderHistory(options.history ?? 100_000);
    if (options.logPath !== undefined) {
      const { log, recent } = OrderLog.open(
        options.logPath,
        options.fsync ?? "batch",
        this.#history.capacity,
        (origin) => this.#ordered.record(origin),
      );
      this.#orderLog = log;
      for (const order of recent) this.#history.add(order.seq, order.payload, order.origin);
    }
  }

  /**
   * Connects to the broker, passes the start barrier and starts numbering
   * (from the log's last number + 1 when the log has orders).
   *
   * @param options Broker address, history size and log.
   * @returns The running sequencer.
   */
  static async join(options: SequencerOptions): Promise<Sequencer> {
    const at = options.endpoints ??
      endpoints(
        options.host ?? DEFAULT_HOST,
        options.basePort ?? DEFAULT_BASE_PORT,
      );
    const timeoutMs = options.joinTimeoutMs ?? 30_000;
    const ctx = new SocketSet(
      options.context,
      options.curve ? curveClient(options.curve) : undefined,
    );
    try {
      const sequencer = new Sequencer(ctx, options);
      if (sequencer.#history.highest > 0) {
        sequencer.#log(`continuing from the log after order ${sequencer.#history.highest}`);
      }
      const joined = await joinGroup(ctx, at, SEQUENCER_ID, timeoutMs);
      if (joined.late && sequencer.#history.highest === 0) {
        // Numbering from 1 again would hand out numbers members already delivered.
        throw new Error(
          `The group at ${at.barrier} is already running and this sequencer has no orders to continue from: ` +
            `start it with the --log of the sequencer before it${
              options.logPath ? ` (${options.logPath} is empty)` : ""
            }`,
        );
      }
      [sequencer.#sub, sequencer.#pub, sequencer.#dealer] = [joined.sub, joined.pub, joined.dealer];
      sequencer.#loops.push(
        sequencer.#run(),
        sequencer.#serveRecovery(),
        drain(joined.pub),
      );
      return sequencer;
    } catch (error) {
      ctx.close();
      throw error;
    }
  }

  /** The next number to give. */
  get next(): number {
    return this.#history.highest + 1;
  }

  async #run(): Promise<void> {
    const batch: Uint8Array[][] = [];
    try {
      while (true) {
        let frames: Uint8Array[] | null = await this.#sub.receive();
        // Number a batch, make it durable, then publish it.
        do {
          const accepted = this.#accept(frames);
          if (accepted !== null) {
            const { payload, origin } = accepted;
            const seq = this.#history.highest + 1;
            this.#history.add(seq, payload, origin);
            this.#orderLog?.add(seq, payload, origin);
            batch.push(orderFrames(seq, payload, origin));
          }
          frames = batch.length < BATCH ? this.#sub.tryReceive() : null;
        } while (frames !== null);
        if (this.#orderLog !== undefined) {
          this.#orderLog.commit();
          this.counters.fsyncs = this.#orderLog.syncs;
        }
        for (const order of batch) {
          // XPUB_NODROP: at the high-water mark the send waits, in order.
          if (!this.#pub.trySend(order)) await this.#pub.send(order);
          this.counters.ordered++;
        }
        batch.length = 0;
      }
    } catch (error) {
      if (error instanceof ZmqError && error.code === "ECLOSED") return;
      throw error;
    }
  }

  /** A client's multicast to order, or null for anything else (or a copy already ordered). */
  #accept(frames: Uint8Array[]): { payload: Uint8Array; origin: Origin | null } | null {
    if (frames.length === 1 && text(frames[0]!) === START) return null;
    try {
      const message = decodeBus(frames);
      if (message.kind !== "multicast") return null;
      if (message.origin !== null && !this.#ordered.record(message.origin)) {
        this.counters.duplicates++;
        this.#log(`Dropped a copy of ${formatOrigin(message.origin)}, ordered before`);
        return null;
      }
      this.#trace?.(`Received ${text(message.payload)} from ${message.sender} !`);
      return { payload: message.payload, origin: message.origin };
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.counters.badInput++;
      this.#log(`Dropped a bad bus message: ${error.message}`);
      return null;
    }
  }

  /** Answers RETRANSMIT requests that come as direct messages. */
  async #serveRecovery(): Promise<void> {
    try {
      for await (const frames of this.#dealer) {
        if (frames.length !== 3 || frames[0]!.byteLength !== 0) {
          this.counters.badInput++;
          continue;
        }
        const from = frames[1]!;
        let request;
        try {
          request = decodeRecovery(frames[2]!);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          this.counters.badInput++;
          this.#log(
            `Dropped a bad request from ${text(from)}: ${error.message}`,
          );
          continue;
        }
        if (request.kind !== "retransmit" && request.kind !== "hello") continue;
        this.counters.requests++;
        const highest = this.#history.highest;
        // HELLO asks for no orders, only the last line.
        const first = request.kind === "hello"
          ? highest + 1
          : Math.max(request.first, this.#history.lowest);
        const last = request.kind === "hello"
          ? highest
          : Math.min(request.last ?? highest, highest);
        if (first <= last) this.#log(`Retransmitting ${first}..${last} to ${text(from)}`);
        const empty = new Uint8Array(0);
        for (let seq = first; seq <= last; seq++) {
          const { payload, origin } = this.#history.get(seq)!;
          const reply = [empty, from, encodeRecovery({ kind: "order", seq, payload, origin })];
          if (!this.#dealer.trySend(reply)) await this.#dealer.send(reply);
          this.counters.retransmitted++;
        }
        await this.#dealer.send([
          empty,
          from,
          encodeRecovery({
            kind: "highest",
            seq: highest,
            epoch: this.#epoch,
            lowest: this.#history.lowest,
          }),
        ]);
      }
    } catch (error) {
      if (error instanceof ZmqError && error.code === "ECLOSED") return;
      throw error;
    }
  }

  /** Stops, closes the sockets and the log. Idempotent. */
  async close(): Promise<void> {
    this.#ctx.close();
    await Promise.allSettled(this.#loops);
    this.#orderLog?.close();
    this.#orderLog = undefined;
  }
}

/** Reads and ignores what a socket receives (an XPUB's re-subscriptions). */
async function drain(socket: Socket): Promise<void> {
  try {
    for await (const _ of socket) { /* nothing to answer */ }
  } catch { /* closed */ }
}
