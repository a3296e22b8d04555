/**
 * `Member`: a client of the group, as a library. It multicasts through the
 * broker, holds multicasts back until the sequencer orders them, and sends
 * and receives direct messages.
 *
 * @module
 */

import { type Context, type Socket, ZmqError } from "../mod.ts";
import { AsyncQueue } from "./_queue.ts";
import { withDeadline } from "./_deadline.ts";
import { SocketSet } from "./_sockets.ts";
import { type Delivery, Holdback } from "./holdback.ts";
import {
  BROKER_ID,
  bytes,
  checkClientId,
  decodeBus,
  DEFAULT_BASE_PORT,
  DEFAULT_HOST,
  type Endpoints,
  endpoints,
  multicastFrames,
  ProtocolError,
  START,
  text,
} from "./protocol.ts";

/** A direct message received. */
export interface DirectMessage {
  /** The sender's id. */
  from: string;
  /** The payload. */
  payload: Uint8Array;
}

/** What a member counts. */
export interface MemberCounters {
  /** Multicasts this member sent. */
  sent: number;
  /** Orders received from the sequencer. */
  ordered: number;
  /** Multicasts delivered in total order. */
  delivered: number;
  /** Deliveries made from the order's payload because the multicast was lost. */
  recovered: number;
  /** Direct messages sent. */
  directSent: number;
  /** Direct messages received. */
  directReceived: number;
  /** Bus messages refused as malformed. */
  badInput: number;
}

/** Options of {@link Member}. */
export interface MemberOptions {
  /**
   * The four endpoints, overriding host and base port (e.g. inproc ones
   * for a group inside one process, with a shared `context`).
   */
  endpoints?: Endpoints;
  /** A context to use (and not close) instead of a new one. */
  context?: Context;
  /** This member's id (also its DEALER routing id). */
  id: string;
  /** The broker's host. Default 127.0.0.1. */
  host?: string;
  /** The broker's base port. Default 5559. */
  basePort?: number;
  /** How long to wait for the broker and the start, in ms. Default 30,000. */
  joinTimeoutMs?: number;
  /** At most this many own multicasts are in flight (sent, not delivered). Default 1,000. */
  window?: number;
  /** After this many ms waiting for a lost multicast, deliver from its order. Default 2,000. */
  holdbackTimeoutMs?: number;
  /** Called with a line for the log. */
  log?: (line: string) => void;
}

/**
 * A member of a totally ordered multicast group.
 *
 * @example
 * ```ts ignore
 * await using member = await Member.join({ id: "c1" });
 * await member.multicast("c1###hello");
 * for await (const m of member.delivered()) console.log(m.seq, m.sender);
 * await member.send("c2", "c1###psst");
 * for await (const d of member.direct()) console.log(d.from);
 * ```
 */
export class Member {
  /** This member's id. */
  readonly id: string;
  /** What this member has counted. */
  readonly counters: MemberCounters = {
    sent: 0,
    ordered: 0,
    delivered: 0,
    recovered: 0,
    directSent: 0,
    directReceived: 0,
    badInput: 0,
  };
  #ctx: SocketSet;
  #pub: Socket;
  #sub: Socket;
  #dealer: Socket;
  #holdback = new Holdback();
  #deliveries = new AsyncQueue<Delivery>();
  #directs = new AsyncQueue<DirectMessage>();
  #window: number;
  #inFlight = 0;
  #windowWaiters: (() => void)[] = [];
  #ownPending = new Map<string, number>();
  #holdbackTimeoutMs: number;
  #log: (line: string) => void;
  #loops: Promise<void>[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastActivity = performance.now();
  #closed = false;

  private constructor(
    options: MemberOptions,
    ctx: SocketSet,
    sockets: [Socket, Socket, Socket],
  ) {
    this.id = options.id;
    this.#ctx = ctx;
    [this.#pub, this.#sub, this.#dealer] = sockets;
    this.#window = options.window ?? 1000;
    this.#holdbackTimeoutMs = options.holdbackTimeoutMs ?? 2000;
    this.#log = options.log ?? (() => {});
  }

  /**
   * Connects to the broker, passes the start barrier and waits for `start`.
   *
   * @param options Id, broker address and limits.
   * @returns The member, ready to multicast.
   * @throws {Error} naming the endpoint when the broker cannot be reached in time.
   */
  static async join(options: MemberOptions): Promise<Member> {
    const id = checkClientId(options.id);
    const at = options.endpoints ??
      endpoints(
        options.host ?? DEFAULT_HOST,
        options.basePort ?? DEFAULT_BASE_PORT,
      );
    const timeoutMs = options.joinTimeoutMs ?? 30_000;
    const ctx = new SocketSet(options.context);
    try {
      // An XPUB, not a PUB: it shows when the broker's subscription is in
      // place, so no multicast is sent into the void (the slow joiner).
      const pub = ctx.socket("XPUB");
      pub.setOption("XPUB_NODROP", true);
      pub.setOption("SNDHWM", 100_000);
      pub.connect(at.multicastIn);
      const sub = ctx.socket("SUB");
      sub.setOption("RCVHWM", 100_000);
      sub.setOption("SUBSCRIBE", "");
      sub.connect(at.multicastOut);
      const dealer = ctx.socket("DEALER");
      dealer.setOption("ROUTING_ID", id);
      dealer.connect(at.direct);
      const req = ctx.socket("REQ");
      req.connect(at.barrier);
      const member = new Member({ ...options, id }, ctx, [pub, sub, dealer]);
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
      member.#log(`${id} started`);
      member.#start();
      return member;
    } catch (error) {
      ctx.close();
      throw error;
    }
  }

  #start(): void {
    this.#loops.push(
      this.#busLoop(),
      this.#directLoop(),
      this.#subscriptionLoop(),
    );
    this.#timer = setInterval(
      () => this.#checkStall(),
      Math.max(10, this.#holdbackTimeoutMs / 4),
    );
  }

  /** Milliseconds since anything arrived. */
  get idleMs(): number {
    return performance.now() - this.#lastActivity;
  }

  /** Own multicasts sent and not yet delivered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Multicasts and orders held back now. */
  get heldBack(): { messages: number; orders: number } {
    return {
      messages: this.#holdback.heldMessages,
      orders: this.#holdback.heldOrders,
    };
  }

  async #busLoop(): Promise<void> {
    for await (const frames of this.#sub) {
      this.#lastActivity = performance.now();
      if (frames.length === 1 && text(frames[0]!) === START) continue;
      let deliveries: Delivery[];
      try {
        const message = decodeBus(frames);
        if (message.kind === "multicast") {
          deliveries = this.#holdback.addMulticast(
            message.sender,
            message.payload,
          );
        } else {
          this.counters.ordered++;
          deliveries = this.#holdback.addOrder(message.seq, message.payload);
        }
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        this.counters.badInput++;
        this.#log(`${this.id}: dropped a bad bus message: ${error.message}`);
        continue;
      }
      this.#deliver(deliveries);
    }
  }

  #deliver(deliveries: Delivery[]): void {
    for (const delivery of deliveries) {
      this.counters.delivered++;
      if (delivery.sender === "") this.counters.recovered++;
      const key = text(delivery.payload);
      const own = this.#ownPending.get(key);
      if (own !== undefined) {
        if (own <= 1) this.#ownPending.delete(key);
        else this.#ownPending.set(key, own - 1);
        this.#inFlight--;
        this.#windowWaiters.shift()?.();
      }
      this.#deliveries.push(delivery);
    }
  }

  #checkStall(): void {
    if (
      this.#holdback.stalledFor(performance.now()) >= this.#holdbackTimeoutMs
    ) {
      this.#log(
        `${this.id}: order ${this.#holdback.next} waited for its multicast; delivering from the order`,
      );
      this.#deliver(this.#holdback.forceNext());
    }
  }

  async #directLoop(): Promise<void> {
    for await (const frames of this.#dealer) {
      this.#lastActivity = performance.now();
      if (frames.length !== 3 || frames[0]!.byteLength !== 0) {
        this.counters.badInput++;
        this.#log(
          `${this.id}: dropped a direct message of ${frames.length} frames`,
        );
        continue;
      }
      const from = text(frames[1]!);
      if (from === BROKER_ID) {
        this.#log(`${this.id}: the broker says: ${text(frames[2]!)}`);
        continue;
      }
      this.counters.directReceived++;
      this.#directs.push({ from, payload: frames[2]! });
    }
  }

  /** Keeps reading the XPUB so that re-subscriptions after a reconnect are seen. */
  async #subscriptionLoop(): Promise<void> {
    for await (const _ of this.#pub) { /* subscriptions need no answer */ }
  }

  /**
   * Multicasts a payload to the group (this member included). Waits while
   * `window` own multicasts are in flight.
   *
   * @param payload The payload; the seed's scenarios use `"<id>###<text>"`.
   */
  async multicast(payload: string | Uint8Array): Promise<void> {
    if (this.#closed) {
      throw new ZmqError(
        `${this.id}: cannot multicast: the member is closed`,
        0,
        "ECLOSED",
      );
    }
    while (this.#inFlight >= this.#window) {
      await new Promise<void>((resolve) => this.#windowWaiters.push(resolve));
      if (this.#closed) {
        throw new ZmqError(
          `${this.id}: cannot multicast: the member is closed`,
          0,
          "ECLOSED",
        );
      }
    }
    const data = typeof payload === "string" ? bytes(payload) : payload;
    const key = text(data);
    this.#ownPending.set(key, (this.#ownPending.get(key) ?? 0) + 1);
    this.#inFlight++;
    await this.#pub.send(multicastFrames(this.id, data));
    this.counters.sent++;
  }

  /**
   * Sends a payload directly to one member, through the broker.
   *
   * @param to The recipient's id.
   * @param payload The payload.
   */
  async send(to: string, payload: string | Uint8Array): Promise<void> {
    await this.#dealer.send(["", to, payload]);
    this.counters.directSent++;
  }

  /** The multicasts delivered in total order, until the member closes. */
  delivered(): AsyncIterable<Delivery> {
    return this.#deliveries;
  }

  /** The direct messages received, until the member closes. */
  direct(): AsyncIterable<DirectMessage> {
    return this.#directs;
  }

  /** Closes the sockets; the iterators end after what they hold. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const resolve of this.#windowWaiters.splice(0)) resolve();
    this.#ctx.close();
    await Promise.allSettled(this.#loops);
    this.#deliveries.close();
    this.#directs.close();
  }

  /** Closes the member (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
