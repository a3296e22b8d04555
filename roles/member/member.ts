/**
 * `Member`: a client of the group, as a library. It multicasts through the
 * broker, holds multicasts back until the sequencer orders them, and sends
 * and receives direct messages.
 *
 * @module
 */

import { type GroupAddress, groupEndpoints, type RoleLogging } from "../role_options.ts";
import { isClosed, type Socket, ZmqError } from "../../ffi/mod.ts";
import { AsyncQueue } from "./delivery_queue.ts";
import { joinGroup, moveSockets, participantSockets } from "../participant/join.ts";
import type { SocketSet } from "../socket_set.ts";
import type { CurveClientOptions } from "../curve/options.ts";
import { DEFAULT_REACH, type Delivery, Holdback } from "./holdback.ts";
import { type RecoveryAction, RecoveryClient } from "./recovery_client.ts";
import { SendWindow } from "./send_window.ts";
import { ViewBook } from "./view_book.ts";
import { formatView, type View } from "../protocol/view.ts";
import { OriginTracker } from "../protocol/origin_tracker.ts";
import {
  BROKER_ID,
  checkClientId,
  DEFAULT_MAX_PAYLOAD,
  type Endpoints,
  SEQUENCER_ID,
  START,
} from "../protocol/ids.ts";
import { bytes, text } from "../protocol/text.ts";
import { decodeBus, multicastFrames, type Origin, ProtocolError } from "../protocol/bus.ts";
import { batchEpoch, decodeOrderBatch, isOrderBatch } from "../protocol/order_batch.ts";
import { Outbox } from "./outbox.ts";
import { EpochFence } from "../protocol/epoch_fence.ts";
import { BrokerLocator } from "../ha/broker_locator.ts";
import type { EtcdGroup } from "../ha/group_keys.ts";
import { decodeMulticastBatch, isMulticastBatch } from "../protocol/multicast_batch.ts";
import { decodeRecovery, encodeRecovery } from "../protocol/recovery.ts";
import { joiningSnapshot, type RoleSnapshot, roleSnapshot } from "../metrics/families.ts";
import { type MetricsServer, serveMetrics } from "../metrics/server.ts";

/** How often a member greets the sequencer by default, ms. */
export const DEFAULT_HEARTBEAT_MS = 1000;

/** Bus messages handled in one go before the event loop gets a turn. */
const BUS_BATCH = 256;

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
  /** Orders received from the sequencer (on the bus or retransmitted). */
  ordered: number;
  /** Multicasts delivered in total order. */
  delivered: number;
  /** Multicasts held back now, waiting for their order. */
  heldBack: number;
  /** Deliveries made from the order's payload because the multicast was lost. */
  recovered: number;
  /** Retransmission requests sent to the sequencer. */
  retransmitRequests: number;
  /** Orders received by retransmission that filled a gap. */
  gapsFilled: number;
  /** Own multicasts sent again after a broker reconnect. */
  resent: number;
  /** Orders skipped because the sequencer no longer held them (a late catch-up). */
  skipped: number;
  /** Direct messages sent. */
  directSent: number;
  /** Direct messages received. */
  directReceived: number;
  /** Malformed messages dropped. */
  badInput: number;
  /**
   * Orders refused: numbered `orderReach` or more past the next one to
   * deliver, or (HA mode) of an epoch older than one already seen.
   */
  refused: number;
  /** Membership views delivered. */
  views: number;
  /** Times the sequencer said it had evicted this member (it was silent too long). */
  evictions: number;
}

/**
 * What a member takes from the bus: "orders", the sequencer's orders only
 * (each carries its multicast's payload, so it is delivered from the order,
 * and the broker sends the multicasts to the sequencer alone); or "all",
 * every multicast too, each held back until its order comes (the seed's way,
 * twice the messages).
 */
export type BusReception = "orders" | "all";

/** Where a member that joins a running group starts delivering. */
export type LateJoin = "catch-up" | "now";

/** Options of {@link Member}. */
export interface MemberOptions extends GroupAddress, RoleLogging {
  /** CURVE mode: the participant's keys and the broker's public key. */
  curve?: CurveClientOptions;
  /**
   * HA mode: find the active broker in this etcd (instead of `host` and
   * `basePort`), and move to every broker elected after it.
   */
  ha?: EtcdGroup;
  /** This member's id (also its DEALER routing id). */
  id: string;
  /** How long to wait for the broker and the start, in ms. Default 30,000. */
  joinTimeoutMs?: number;
  /** Ends a join that is still waiting (for the broker, the barrier or the start), with its reason. */
  signal?: AbortSignal;
  /** At most this many own multicasts are in flight (sent, not delivered). Default 1,000. */
  window?: number;
  /** After this many ms without progress while something is pending, ask the sequencer. Default 300. */
  recoveryAfterMs?: number;
  /**
   * How long the next order waits for its multicast before it is delivered
   * from the payload the order carries, in ms. Default 0: through one broker
   * a multicast always arrives before its order (the order is made from it
   * and follows it down the same FIFO pipe), so a missing one was lost.
   */
  holdbackTimeoutMs?: number;
  /**
   * How often the member greets the sequencer whatever happens, in ms (0:
   * never): it learns of a lost last order within that long even on an idle
   * bus, and the sequencer, which evicts a member silent for its
   * `evictAfterMs`, knows it is alive. Default 1,000.
   */
  heartbeatMs?: number;
  /** The largest payload sent, bytes (the broker's limit must be as large). Default 1 MiB. */
  maxPayload?: number;
  /**
   * Orders numbered this many past the next one to deliver, or more, are
   * refused and counted (`refused`), so that no number, however large,
   * costs unbounded memory or work; a refused order that is real comes
   * again by retransmission once the gap before it is filled. Default
   * 1,000,000.
   */
  orderReach?: number;
  /** What to take from the bus. Default "orders". */
  receive?: BusReception;
  /** Fault injection, for tests only: drop every Nth bus message received (0: none). */
  dropEvery?: number;
  /** Deliveries not yet consumed at which the member stops reading the bus. Default 10,000. */
  deliveryBacklog?: number;
  /**
   * Joining a group that already started: "catch-up" delivers everything
   * from order 1 that the sequencer still holds; "now" from the first order
   * seen. Default "catch-up".
   */
  lateJoin?: LateJoin;
}

/**
 * A member of a totally ordered multicast group.
 *
 * Nothing is lost silently: each member keeps at most `window` own
 * multicasts in flight (so PUB/SUB high-water marks are not reached), stops
 * reading the bus while its application lags (so the broker waits rather
 * than drops), and when something is pending and nothing was delivered for
 * `recoveryAfterMs` it asks the sequencer to retransmit the orders it
 * missed (gaps, and a lost last order).
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
  #counters: MemberCounters = {
    sent: 0,
    ordered: 0,
    delivered: 0,
    heldBack: 0,
    recovered: 0,
    retransmitRequests: 0,
    gapsFilled: 0,
    resent: 0,
    skipped: 0,
    directSent: 0,
    directReceived: 0,
    badInput: 0,
    refused: 0,
    views: 0,
    evictions: 0,
  };
  #ctx: SocketSet;
  #pub: Socket;
  #sub: Socket;
  #dealer: Socket;
  /** The broker's endpoints it is connected to. */
  #at: Endpoints;
  /** HA mode: orders of an epoch older than the newest seen are refused. */
  #fence = new EpochFence();
  /** HA mode: where it finds the active broker. */
  #locator: BrokerLocator | undefined;
  #holdback: Holdback;
  #ordersOnly: boolean;
  #deliveries = new AsyncQueue<Delivery>();
  #directs = new AsyncQueue<DirectMessage>();
  #views = new AsyncQueue<View>();
  /** True once the sequencer's batches came: own multicasts go in batches too. */
  #groupBatches = false;
  #outbox: Outbox;
  #viewBook: ViewBook;
  /** The last view delivered (for `/status`). */
  #lastView: View | undefined;
  #metrics: MetricsServer | undefined;
  #options: MemberOptions;
  #window: SendWindow;
  #recovery: RecoveryClient;
  /** This run's origin key, `<id>@<incarnation>`: its multicasts are `<key>.<n>`. */
  #originKey: string;
  #sentCount = 0;
  /** Multicasts seen on the bus or delivered, by origin: copies are dropped. */
  #seen = new OriginTracker();
  #log: (line: string) => void;
  #warn: (line: string) => void;
  #trace: ((line: string) => void) | undefined;
  #loops: Promise<void>[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastActivity = performance.now();
  #lastProgress = performance.now();
  /** The time of the last arrival or timer tick (ms), for what needs no precision. */
  #coarseNow = performance.now();
  #fromNow = false;
  #closed = false;
  #failure: Error | undefined;
  #failed = Promise.withResolvers<Error>();
  /** Bus messages received (for `dropEvery`). */
  #busReceived = 0;

  private constructor(
    options: MemberOptions,
    ctx: SocketSet,
    sockets: [Socket, Socket, Socket],
    late: boolean,
  ) {
    this.id = options.id;
    this.#originKey = `${options.id}@${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    this.#options = options;
    this.#ctx = ctx;
    [this.#pub, this.#sub, this.#dealer] = sockets;
    this.#at = groupEndpoints(options);
    this.#window = new SendWindow(options.window ?? 1000);
    this.#viewBook = new ViewBook(options.id);
    this.#outbox = new Outbox(
      this.#pub,
      this.#originKey,
      options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    );
    this.#recovery = new RecoveryClient(options.recoveryAfterMs ?? 300, {
      late,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    });
    this.#log = options.log ?? (() => {});
    this.#warn = options.warn ?? this.#log;
    this.#trace = options.trace;
    this.#ordersOnly = takesOnlyOrders(options);
    this.#holdback = new Holdback({
      ordersOnly: this.#ordersOnly,
      reach: options.orderReach ?? DEFAULT_REACH,
    });
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
    const timeoutMs = options.joinTimeoutMs ?? 30_000;
    if (options.ha !== undefined) return await Member.#joinHa(id, options, timeoutMs);
    const at = groupEndpoints(options);
    // Served from the start of the join: a member waiting for the start shows it.
    let joined: Member | undefined;
    const metrics = options.metrics === undefined
      ? undefined
      : serveMetrics(() => [joined?.snapshot() ?? joiningSnapshot("client", id)], options.metrics);
    const ctx = participantSockets(options);
    try {
      const topics = takesOnlyOrders(options) ? [START, SEQUENCER_ID] : [""];
      const { pub, sub, dealer, late } = await joinGroup(
        ctx,
        at,
        id,
        timeoutMs,
        topics,
        options.signal,
      );
      const member = new Member({ ...options, id }, ctx, [pub, sub, dealer], late);
      member.#log(`${id} started${late ? " (late)" : ""}`);
      member.#start(late);
      member.#metrics = metrics;
      joined = member;
      return member;
    } catch (error) {
      ctx.close();
      await metrics?.close();
      throw error;
    }
  }

  /** HA mode: joins at the active broker, then follows the brokers' election. */
  static async #joinHa(id: string, options: MemberOptions, timeoutMs: number): Promise<Member> {
    const locator = new BrokerLocator(options.ha!);
    try {
      const found = await locator.find(timeoutMs, options.signal);
      const member = await Member.join({ ...options, ha: undefined, endpoints: found.endpoints });
      member.#locator = locator;
      locator.follow(found, (next) => {
        member.#warn(
          `${id}: the active broker is now ${next.name} (epoch ${next.epoch}): moving there`,
        );
        member.moveTo(next.endpoints);
      }, (error) => member.#warn(`${id}: cannot follow the brokers' election: ${error.message}`));
      return member;
    } catch (error) {
      await locator.close();
      throw error;
    }
  }

  #start(late: boolean): void {
    this.#loops.push(this.#busLoop(), this.#directLoop(), this.#subscriptionLoop());
    const every = Math.max(10, (this.#options.recoveryAfterMs ?? 300) / 3);
    this.#timer = setInterval(() => this.#checkProgress(), every);
    // A first request learns the sequencer's epoch (and, late, catches up).
    const now = performance.now();
    if (late && this.#options.lateJoin !== "now") {
      this.#act(this.#recovery.retransmit(now, this.#holdback));
    } else {
      this.#fromNow = late;
      this.#act(this.#recovery.hello(now, this.#holdback));
    }
  }

  /**
   * Moves to another broker's endpoints (HA mode: a new broker took over):
   * the member then recovers as after a broker restart.
   */
  moveTo(to: Endpoints): void {
    if (this.#closed) return;
    moveSockets({ pub: this.#pub, sub: this.#sub, dealer: this.#dealer }, this.#at, to);
    this.#at = to;
  }

  /** What this member has counted so far: a snapshot. */
  get counters(): Readonly<MemberCounters> {
    return Object.freeze({ ...this.#counters, heldBack: this.#holdback.heldMessages });
  }

  /** Milliseconds since traffic arrived: a bus message, an order or a direct message from a member. */
  get idleMs(): number {
    return performance.now() - this.#lastActivity;
  }

  /** Own multicasts sent and not yet delivered. */
  get inFlight(): number {
    return this.#window.inFlight;
  }

  /** Multicasts and orders held back now. */
  get heldBack(): { messages: number; orders: number } {
    return { messages: this.#holdback.heldMessages, orders: this.#holdback.heldOrders };
  }

  async #busLoop(): Promise<void> {
    const backlog = this.#options.deliveryBacklog ?? 10_000;
    try {
      while (true) {
        let frames: Uint8Array[] | null = await this.#sub.receive();
        this.#lastActivity = this.#coarseNow = performance.now();
        // Take what else is ready without a promise each, up to a batch.
        let batch = 0;
        do {
          this.#onBus(frames);
          // A slow application holds the bus back instead of growing memory.
          if (this.#deliveries.size > backlog) break;
          frames = ++batch < BUS_BATCH ? this.#sub.tryReceive() : null;
        } while (frames !== null);
        if (this.#deliveries.size > backlog) await this.#deliveries.below(backlog / 2);
      }
    } catch (error) {
      if (isClosed(error)) return;
      throw error;
    }
  }

  #onBus(frames: Uint8Array[]): void {
    const dropEvery = this.#options.dropEvery ?? 0;
    if (dropEvery > 0 && ++this.#busReceived % dropEvery === 0) return;
    if (frames.length === 1 && text(frames[0]!) === START) return;
    let deliveries: Delivery[];
    try {
      if (isOrderBatch(frames)) {
        // The sequencer batches: no seed peer is in the group, so this member may too.
        this.#groupBatches = true;
        deliveries = [];
        if (!this.#fenced(batchEpoch(frames))) return;
        for (const order of decodeOrderBatch(frames)) {
          for (const delivery of this.#onOrder(order.seq, order.payload, order.origin)) {
            deliveries.push(delivery);
          }
        }
      } else if (isMulticastBatch(frames)) {
        // A member whose id starts like "sequencer" or "start".
        if (this.#ordersOnly) return;
        const { sender, multicasts } = decodeMulticastBatch(frames);
        deliveries = [];
        for (const { origin, payload } of multicasts) {
          for (const delivery of this.#onMulticast(sender, payload, origin)) {
            deliveries.push(delivery);
          }
        }
      } else {
        const message = decodeBus(frames);
        if (message.kind === "multicast") {
          // A member whose id starts like "sequencer" or "start".
          if (this.#ordersOnly) return;
          deliveries = this.#onMulticast(message.sender, message.payload, message.origin);
        } else if (!this.#fenced(message.epoch)) return;
        else deliveries = this.#onOrder(message.seq, message.payload, message.origin);
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#counters.badInput++;
      this.#log(`${this.id}: dropped a bad bus message: ${error.message}`);
      return;
    }
    if (deliveries.length > 0) this.#deliver(deliveries);
    this.#deliverLost();
  }

  /** A multicast from the bus (alone, or one of a batch), held back until its order. */
  #onMulticast(sender: string, payload: Uint8Array, origin: Origin | null): Delivery[] {
    // A copy sent again after a failure, when the first one came too.
    if (origin !== null && !this.#seen.record(origin)) return [];
    this.#trace?.(`Received ${text(payload)} from ${sender} !`);
    return this.#holdback.addMulticast(sender, payload);
  }

  /** An order from the bus (alone, or one of a batch): what it lets the member deliver. */
  #onOrder(seq: number, payload: Uint8Array, origin: Origin | null): Delivery[] {
    if (this.#refusedBeyondReach(seq)) return [];
    this.#counters.ordered++;
    this.#trace?.(`Received ${text(payload)} from sequencer ! (order ${seq})`);
    if (this.#fromNow) {
      this.#fromNow = false;
      this.#holdback.skipTo(seq);
    }
    if (seq < this.#holdback.next) {
      const ask = this.#recovery.staleOrder(this.#coarseNow, this.#holdback);
      if (ask !== null) this.#act(ask);
    }
    return this.#holdback.addOrder(seq, payload, origin);
  }

  /** Refuses (counts, and logs now and then) an order too far ahead to hold. */
  /**
   * HA mode: an order of an epoch older than the newest seen (a deposed
   * sequencer's, or none) is refused; a newer epoch fences the older ones.
   *
   * @returns True if the order may be taken.
   */
  #fenced(epoch: number): boolean {
    if (this.#fence.admit(epoch)) return true;
    if (this.#counters.refused++ % 1000 === 0) {
      this.#warn(
        `${this.id}: refused an order of epoch ${epoch}: the sequencer of epoch ${this.#fence.newest} leads now (${this.#counters.refused} refused so far)`,
      );
    }
    return false;
  }

  #refusedBeyondReach(seq: number): boolean {
    if (!this.#holdback.beyondReach(seq)) return false;
    if (this.#counters.refused++ % 1000 === 0) {
      this.#log(
        `${this.id}: refused order ${seq}: it is ${
          seq - this.#holdback.next
        } past the next one to deliver (${this.#holdback.next}), the limit is ${
          this.#options.orderReach ?? DEFAULT_REACH
        } (orderReach); ${this.#counters.refused} refused so far`,
      );
    }
    return true;
  }

  /**
   * Stops the member for good: the group's promise cannot be kept with
   * this sequencer. `delivered()` then throws `error` after what it holds.
   */
  #fail(why: string): void {
    if (this.#closed) return;
    const error = new Error(`${this.id}: ${why}`);
    this.#failure = error;
    this.#log(error.message);
    this.#deliveries.fail(error);
    this.#failed.resolve(error);
    void this.close();
  }

  /** Why the member stopped by itself, if it did (see `delivered()`). */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Resolves with the error if the member stops by itself (see
   * `failure`); never settles otherwise. A command line exits non-zero on it.
   */
  get failed(): Promise<Error> {
    return this.#failed.promise;
  }

  #deliver(deliveries: Delivery[]): void {
    // The time of the bus batch, direct message or timer tick that brought them.
    if (deliveries.length > 0) this.#lastProgress = this.#coarseNow;
    for (const delivery of deliveries) {
      this.#counters.delivered++;
      if (delivery.origin !== null && !this.#ordersOnly) this.#seen.record(delivery.origin);
      this.#window.settle(delivery, this.#originKey);
      this.#deliveries.push(delivery);
    }
    this.#releaseViews();
  }

  /** Passes on the views that take effect at or before what is delivered now. */
  #releaseViews(): void {
    for (const view of this.#viewBook.release(this.#holdback.next - 1)) {
      this.#counters.views++;
      this.#lastView = view;
      this.#warn(`${this.id}: ${formatView(view)}`);
      this.#views.push(view);
    }
  }

  /** Runs on a timer: recovery requests, delivery from orders, greetings. */
  #checkProgress(): void {
    const now = this.#coarseNow = performance.now();
    const actions = this.#recovery.tick(
      now,
      this.#holdback,
      this.#lastProgress,
      this.#window.inFlight,
    );
    // Retransmission first, then what the held orders can deliver, then a greeting.
    if (actions[0]?.kind === "retransmit") this.#act(actions.shift()!);
    this.#deliverLost();
    for (const action of actions) this.#act(action);
  }

  /** Delivers from the order's payload while the next order's multicast is lost. */
  #deliverLost(): void {
    const timeout = this.#options.holdbackTimeoutMs ?? 0;
    while (
      this.#holdback.waitingForMessage() && this.#holdback.stalledFor(performance.now()) >= timeout
    ) {
      this.#log(
        `${this.id}: the multicast of order ${this.#holdback.next} was lost; delivering from the order`,
      );
      this.#counters.recovered++;
      this.#deliver(this.#holdback.forceNext());
    }
  }

  /** Carries out what the recovery client decided. */
  #act(action: RecoveryAction): void {
    switch (action.kind) {
      case "hello":
        return this.#toSequencer(encodeRecovery({ kind: "hello", delivered: action.delivered }));
      case "retransmit":
        return this.#askForOrders(action.ranges, action.delivered);
      case "skip":
        this.#log(
          `${this.id}: orders ${action.from}..${action.to - 1} are no longer held; skipping them`,
        );
        this.#counters.skipped += action.to - action.from;
        this.#holdback.skipTo(action.to);
        this.#deliver(this.#holdback.release());
        return this.#deliverLost();
      case "resend":
        return this.#resendUnordered();
      case "restarted":
        return this.#log(`${this.id}: the sequencer restarted; recovering`);
      case "fail":
        return this.#fail(action.why);
      case "silent":
        return this.#warn(
          action.forMs === 0
            ? `${this.id}: the sequencer answers again`
            : `${this.id}: the sequencer has not answered for ${
              (action.forMs / 1000).toFixed(1)
            } s (stopped, frozen or cut off?); still asking`,
        );
      case "ignore":
        this.#counters.badInput++;
        return this.#log(`${this.id}: dropped a bad message from the sequencer: ${action.why}`);
    }
  }

  #toSequencer(request: Uint8Array): void {
    void this.#dealer.send(["", SEQUENCER_ID, request]).catch(() => {});
  }

  /** Sends one `RETRANSMIT` per range. */
  #askForOrders(ranges: [number, number | null][], delivered: number): void {
    this.#counters.retransmitRequests++;
    this.#log(
      `${this.id}: asking the sequencer for orders ${
        ranges.map(([a, b]) => `${a}..${b ?? "*"}`).join(", ")
      }`,
    );
    for (const [first, last] of ranges) {
      this.#toSequencer(encodeRecovery({ kind: "retransmit", first, last, delivered }));
    }
  }

  /**
   * Own multicasts that the sequencer has not ordered though everything it
   * ordered is delivered, and that left more than RESEND_AFTER_MS (send_window.ts) ago, were
   * lost on the way (a broker or sequencer restart, a cut link): send them
   * again, with the same origins (the sequencer orders each at most once).
   * Younger ones may simply still be on their way.
   */
  #resendUnordered(): void {
    const due = this.#window.due(performance.now());
    for (const [index, payload] of due) {
      this.#counters.resent++;
      void this.#pub.send(multicastFrames({ key: this.#originKey, index }, payload)).catch(
        () => {},
      );
    }
    if (due.length > 0) this.#log(`${this.id}: sent ${due.length} unordered multicasts again`);
  }

  async #directLoop(): Promise<void> {
    for await (const frames of this.#dealer) {
      this.#coarseNow = performance.now();
      if (frames.length !== 3 || frames[0]!.byteLength !== 0) {
        this.#counters.badInput++;
        this.#log(`${this.id}: dropped a direct message of ${frames.length} frames`);
        continue;
      }
      const from = text(frames[1]!);
      if (from === BROKER_ID) {
        // An empty notice is the broker checking that this id is connected.
        if (frames[2]!.byteLength === 0) continue;
        const notice = text(frames[2]!);
        // CURVE mode: the broker asks this id to show that its key is ours.
        if (notice === "VERIFY") {
          void this.#dealer.send(["", BROKER_ID, "HERE"]).catch(() => {});
          continue;
        }
        this.#log(`${this.id}: the broker says: ${notice}`);
        // A seed sequencer has no recovery service: stop greeting it.
        if (notice.startsWith(`unknown recipient "${SEQUENCER_ID}"`)) this.#recovery.noService();
        continue;
      }
      if (from === SEQUENCER_ID) {
        this.#fromSequencer(frames[2]!);
        continue;
      }
      this.#lastActivity = this.#coarseNow;
      this.#counters.directReceived++;
      this.#directs.push({ from, payload: frames[2]! });
    }
  }

  /** A recovery message from the sequencer: a retransmitted order or its HIGHEST. */
  #fromSequencer(payload: Uint8Array): void {
    let message;
    try {
      message = decodeRecovery(payload);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#counters.badInput++;
      this.#log(`${this.id}: dropped a bad message from the sequencer: ${error.message}`);
      return;
    }
    if (message.kind === "order") {
      // Orders are traffic; answers, views and the heartbeat's replies are not.
      this.#lastActivity = this.#coarseNow;
      if (this.#refusedBeyondReach(message.seq)) return;
      this.#counters.ordered++;
      const before = this.#holdback.next;
      const known = this.#holdback.has(message.seq);
      const deliveries = this.#holdback.addOrder(message.seq, message.payload, message.origin);
      if (message.seq >= before && !known) this.#counters.gapsFilled++;
      this.#deliver(deliveries);
      this.#deliverLost();
    } else if (message.kind === "view") {
      this.#viewBook.add(message.view);
      this.#releaseViews();
    } else if (message.kind === "evicted") {
      this.#counters.evictions++;
      this.#warn(
        `${this.id}: the sequencer evicted this member in view ${message.view} (it was silent for longer than the sequencer's --evict-after); joining again and catching up`,
      );
      this.#viewBook.evicted();
    } else if (message.kind === "highest") {
      const now = performance.now();
      this.#onViewNumber(message.epoch, message.view);
      const answered = this.#recovery.answered(now, message, this.#holdback, this.#lastProgress);
      for (const action of answered) this.#act(action);
      if (this.#closed || answered.some((action) => action.kind === "ignore")) return;
      const settled = this.#recovery.settle(now, message, this.#holdback, this.#window.inFlight);
      for (const action of settled) this.#act(action);
    }
  }

  /**
   * The sequencer's current view, from its HIGHEST: asks for views that did
   * not come. A new epoch (it restarted) numbers its views from 1 again.
   */
  #onViewNumber(epoch: string, current: number | undefined): void {
    this.#viewBook.useEpoch(epoch);
    if (current === undefined) return;
    const from = this.#viewBook.missing(current);
    if (from !== null) this.#toSequencer(encodeRecovery({ kind: "views", from }));
  }

  /** Reads the XPUB: a subscription after the first means the broker came back. */
  async #subscriptionLoop(): Promise<void> {
    for await (const frames of this.#pub) {
      if (frames[0]?.[0] !== 1) continue;
      this.#log(`${this.id}: the broker reconnected; recovering`);
      this.#act(this.#recovery.onBrokerBack(performance.now(), this.#holdback));
    }
  }

  /**
   * Multicasts a payload to the group (this member included). Waits while
   * `window` own multicasts are in flight.
   *
   * @param payload The payload; the seed's scenarios use `"<id>###<text>"`.
   */
  async multicast(payload: string | Uint8Array): Promise<void> {
    await this.#window.room();
    if (this.#closed) {
      throw this.#failure ??
        new ZmqError(`${this.id}: cannot multicast: the member is closed`, 0, "ECLOSED");
    }
    const data = typeof payload === "string" ? bytes(payload) : payload;
    this.#checkSize(data, "multicast");
    const index = ++this.#sentCount;
    // Only compared with RESEND_AFTER_MS: the last arrival or timer tick will do.
    this.#window.add(index, data, this.#coarseNow);
    this.#counters.sent++;
    if (this.#groupBatches) return this.#outbox.add(index, data);
    await this.#pub.send(multicastFrames({ key: this.#originKey, index }, data));
  }

  #checkSize(data: Uint8Array, what: string): void {
    const limit = this.#options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    if (data.byteLength > limit) {
      throw new RangeError(
        `${this.id}: cannot ${what} ${data.byteLength} bytes: the limit is ${limit} (maxPayload)`,
      );
    }
  }

  /**
   * Sends a payload directly to one member, through the broker.
   *
   * @param to The recipient's id.
   * @param payload The payload.
   */
  async send(to: string, payload: string | Uint8Array): Promise<void> {
    this.#checkSize(typeof payload === "string" ? bytes(payload) : payload, "send directly");
    await this.#dealer.send(["", to, payload]);
    this.#counters.directSent++;
  }

  /**
   * The multicasts delivered in total order, until the member closes; the
   * loop throws if the member stopped by itself (see `failure`).
   */
  delivered(): AsyncIterable<Delivery> {
    return this.#deliveries;
  }

  /**
   * The same deliveries as {@link Member.delivered}, in the same order, as
   * many at once as are ready (at least one): one promise for many
   * deliveries. Use either this or `delivered()`.
   */
  deliveredBatches(): AsyncIterable<Delivery[]> {
    return this.#deliveries.batches();
  }

  /** The direct messages received, until the member closes. */
  direct(): AsyncIterable<DirectMessage> {
    return this.#directs;
  }

  /**
   * The membership views, in order, from the first that has this member in
   * it, until the member closes. Each takes effect after order `after`: it
   * comes once this member has delivered that order, and every member gets
   * it with the same `after`.
   */
  views(): AsyncIterable<View> {
    return this.#views;
  }

  /**
   * Leaves the group (the sequencer makes a view without this member) and
   * closes the sockets; the iterators end after what they hold. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#window.close();
    try {
      // Sent as the sockets close: LINGER lets it go out.
      this.#dealer.trySend(["", SEQUENCER_ID, encodeRecovery({ kind: "leave" })]);
    } catch {
      // The broker is gone: the sequencer evicts this member instead.
    }
    this.#ctx.close();
    this.#deliveries.close();
    this.#directs.close();
    this.#views.close();
    await Promise.allSettled(this.#loops);
    await this.#metrics?.close();
    await this.#locator?.close();
  }

  /** Where its metrics are served (the `metrics` option), or undefined. */
  get metricsUrl(): string | undefined {
    return this.#metrics?.url;
  }

  /** Its counters, gauges and view of the group now (for `/metrics` and `/status`). */
  snapshot(): RoleSnapshot {
    const delivered = this.#holdback.next - 1;
    const highest = Math.max(this.#holdback.highestOrder, delivered);
    const gauges = [
      { name: "highest_order", value: highest },
      { name: "delivered_order", value: delivered },
      { name: "lag_orders", value: highest - delivered },
      { name: "held_back_messages", value: this.#holdback.heldMessages },
      { name: "held_back_orders", value: this.#holdback.heldOrders },
      { name: "in_flight", value: this.#window.inFlight },
      { name: "view", value: this.#lastView?.view ?? 0 },
      { name: "members_in_view", value: this.#lastView?.members.length ?? 0 },
    ];
    return roleSnapshot({ role: "client", id: this.id, counters: this.counters, gauges }, {
      config: {
        endpoints: this.#at,
        receive: this.#options.receive ?? "orders",
        window: this.#options.window ?? 1000,
        curve: this.#options.curve !== undefined,
      },
      group: {
        view: this.#lastView?.view ?? 0,
        members: this.#lastView?.members ?? [],
        failure: this.#failure?.message ?? null,
      },
    });
  }

  /** Closes the member (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** True if the member takes only the sequencer's orders (the default). */
function takesOnlyOrders(options: MemberOptions): boolean {
  return (options.receive ?? "orders") === "orders";
}
