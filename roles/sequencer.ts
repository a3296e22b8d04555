/**
 * `Sequencer`: numbers every client multicast exactly once, G = 1, 2, 3 ...,
 * and publishes the order on the bus.
 *
 * @module
 */

import { type Context, type Socket, ZmqError } from "../mod.ts";
import { withDeadline } from "./_deadline.ts";
import { SocketSet } from "./_sockets.ts";
import {
  decodeBus,
  DEFAULT_BASE_PORT,
  DEFAULT_HOST,
  type Endpoints,
  endpoints,
  orderFrames,
  ProtocolError,
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
  /** The broker's host. Default 127.0.0.1. */
  host?: string;
  /** The broker's base port. Default 5559. */
  basePort?: number;
  /** How long to wait for the broker and the start, in ms. Default 30,000. */
  joinTimeoutMs?: number;
  /** The first number to give (1 for a new group). */
  startAt?: number;
  /** Called with each number given, after it was published (e.g. to log it durably). */
  onOrder?: (seq: number, payload: Uint8Array) => void;
  /** Called with a line for the log. */
  log?: (line: string) => void;
}

/** What the sequencer counts. */
export interface SequencerCounters {
  /** Orders published. */
  ordered: number;
  /** Malformed bus messages dropped. */
  badInput: number;
}

/**
 * The group's fixed sequencer.
 *
 * @example
 * ```ts ignore
 * const sequencer = await Sequencer.join({});
 * // ... on shutdown:
 * await sequencer.close();
 * ```
 */
export class Sequencer {
  /** What the sequencer counted. */
  readonly counters: SequencerCounters = { ordered: 0, badInput: 0 };
  #ctx: SocketSet;
  #sub: Socket;
  #pub: Socket;
  #next: number;
  #options: SequencerOptions;
  #loop: Promise<void> = Promise.resolve();

  private constructor(
    ctx: SocketSet,
    sub: Socket,
    pub: Socket,
    options: SequencerOptions,
  ) {
    this.#ctx = ctx;
    this.#sub = sub;
    this.#pub = pub;
    this.#options = options;
    this.#next = options.startAt ?? 1;
  }

  /**
   * Connects to the broker, passes the start barrier and starts numbering.
   *
   * @param options Broker address and where to start.
   * @returns The running sequencer.
   */
  static async join(options: SequencerOptions): Promise<Sequencer> {
    const at = options.endpoints ??
      endpoints(
        options.host ?? DEFAULT_HOST,
        options.basePort ?? DEFAULT_BASE_PORT,
      );
    const timeoutMs = options.joinTimeoutMs ?? 30_000;
    const ctx = new SocketSet(options.context);
    try {
      const pub = ctx.socket("XPUB");
      pub.setOption("XPUB_NODROP", true);
      pub.setOption("SNDHWM", 100_000);
      pub.connect(at.multicastIn);
      const sub = ctx.socket("SUB");
      sub.setOption("RCVHWM", 100_000);
      sub.setOption("SUBSCRIBE", "");
      sub.connect(at.multicastOut);
      const req = ctx.socket("REQ");
      req.connect(at.barrier);
      const sequencer = new Sequencer(ctx, sub, pub, options);
      const deadline = performance.now() + timeoutMs;
      await withDeadline(
        deadline,
        `the broker's subscription at ${at.multicastIn}`,
        pub.receive(),
      );
      await req.send("");
      await withDeadline(
        deadline,
        `the start barrier's reply at ${at.barrier}`,
        req.receive(),
      );
      req.close();
      while (true) {
        const frames = await withDeadline(
          deadline,
          `"start" from ${at.multicastOut}`,
          sub.receive(),
        );
        if (frames.length === 1 && text(frames[0]!) === START) break;
      }
      sequencer.#loop = sequencer.#run();
      void sequencer.#drainSubscriptions();
      return sequencer;
    } catch (error) {
      ctx.close();
      throw error;
    }
  }

  /** The next number to give. */
  get next(): number {
    return this.#next;
  }

  async #run(): Promise<void> {
    const log = this.#options.log ?? (() => {});
    try {
      while (true) {
        let frames: Uint8Array[] | null = await this.#sub.receive();
        do {
          this.#handle(frames, log);
          frames = this.#sub.tryReceive();
        } while (frames !== null);
      }
    } catch (error) {
      if (error instanceof ZmqError && error.code === "ECLOSED") return;
      throw error;
    }
  }

  #handle(frames: Uint8Array[], log: (line: string) => void): void {
    if (frames.length === 1 && text(frames[0]!) === START) return;
    let message;
    try {
      message = decodeBus(frames);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.counters.badInput++;
      log(`Dropped a bad bus message: ${error.message}`);
      return;
    }
    if (message.kind !== "multicast") return;
    const seq = this.#next++;
    const order = orderFrames(seq, message.payload);
    if (!this.#pub.trySend(order)) {
      // XPUB_NODROP at the high-water mark: keep the order, in order.
      void this.#pub.send(order).catch(() => {});
    }
    this.counters.ordered++;
    this.#options.onOrder?.(seq, message.payload);
    log(
      `Received ${
        text(message.payload)
      } from ${message.sender} ! ordered as ${seq}`,
    );
  }

  async #drainSubscriptions(): Promise<void> {
    try {
      for await (const _ of this.#pub) { /* re-subscriptions need no answer */ }
    } catch { /* closed */ }
  }

  /** Stops and closes the sockets. Idempotent. */
  async close(): Promise<void> {
    this.#ctx.close();
    await this.#loop.catch(() => {});
  }
}
