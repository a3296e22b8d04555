/**
 * `Sequencer`: numbers every client multicast exactly once, G = 1, 2, 3 ...,
 * publishes the order on the bus, keeps the last orders for retransmission
 * and, with a log file, survives being killed and started again.
 *
 * @module
 */

import { type GroupAddress, groupEndpoints, type RoleLogging } from "../role_options.ts";
import { isClosed, type Socket } from "../../ffi/mod.ts";
import { joinGroup, moveSockets, participantSockets } from "../participant/join.ts";
import type { SocketSet } from "../socket_set.ts";
import type { BusPort } from "../bus_port.ts";
import { joiningSnapshot, type RoleSnapshot, roleSnapshot } from "../metrics/families.ts";
import { type MetricsServer, serveMetrics } from "../metrics/server.ts";
import type { CurveClientOptions } from "../curve/options.ts";
import { OrderHistory } from "./order_history.ts";
import { Membership } from "./membership.ts";
import { formatView, type View } from "../protocol/view.ts";
import { OriginTracker } from "../protocol/origin_tracker.ts";
import { type FsyncPolicy, type LoggedOrder, OrderLog } from "./order_log.ts";
import { BROKER_ID, type Endpoints, isClientId, SEQUENCER_ID, START } from "../protocol/ids.ts";
import {
  decodeBus,
  formatOrigin,
  orderFrames,
  type Origin,
  originSender,
  ProtocolError,
} from "../protocol/bus.ts";
import {
  CATCH_UP_CHUNK,
  decodeRecovery,
  encodeRecovery,
  type RecoveryMessage,
} from "../protocol/recovery.ts";
import { seqOf, text } from "../protocol/text.ts";
import { batchedSize, isOrderBatch, orderBatchFrames } from "../protocol/order_batch.ts";
import { decodeMulticastBatch, isMulticastBatch } from "../protocol/multicast_batch.ts";
import { DEFAULT_ACK_TIMEOUT_MS, type InSyncRegistry, Replication } from "./replication.ts";
import { standbyId } from "../protocol/replica.ts";
import { LeadershipEnded } from "./leadership_ended.ts";

export { LeadershipEnded };
import { DEFAULT_SENDER_ORDER_WAIT_MS, SenderOrder } from "./sender_order.ts";

/** The broker's answer to `HIGHEST`: what it forwarded, and what it can say of the group. */
interface BrokerAnswer {
  /** The highest order it has forwarded. */
  seen: number;
  /** It was started with --resume: it cannot vouch for what came before it. */
  resumed: boolean;
  /** A seed peer synced: orders must stay the seed's three frames. */
  seed: boolean;
  /** The largest payload it takes (0: it did not say). */
  maxPayload: number;
}

/** The largest batch of orders on the bus, bytes. */
const MAX_BATCH_BYTES = 16 * 1024;

/** A multicast to number. */
interface Multicast {
  sender: string;
  payload: Uint8Array;
  origin: Origin | null;
}

/** A member's request that the sequencer answers. */
type Request = Extract<RecoveryMessage, { kind: "retransmit" | "hello" | "views" }>;

/** Options of {@link Sequencer}. */
export interface SequencerOptions extends GroupAddress, RoleLogging {
  /** CURVE mode: the participant's keys and the broker's public key. */
  curve?: CurveClientOptions;
  /** How long to wait for the broker and the start, in ms. Default 30,000. */
  joinTimeoutMs?: number;
  /** Ends a join that is still waiting (for the broker, the barrier or the start), with its reason. */
  signal?: AbortSignal;
  /** How many of the last orders to keep for retransmission. Default 100,000. */
  history?: number;
  /** A durable log of the orders: continue from it after a restart. */
  logPath?: string;
  /** When the log is fsynced. Default "batch". */
  fsync?: FsyncPolicy;
  /**
   * Publish orders in batches (one bus message for the orders numbered
   * together) when the broker says every reader can read them: no seed peer
   * synced. Default true; false keeps the seed's frames, one order a message.
   */
  batch?: boolean;
  /**
   * A member silent this long (ms) is suspected and evicted: a new view
   * without it. Members greet the sequencer every second. Default 5,000; 0
   * never evicts.
   */
  evictAfterMs?: number;
  /**
   * The bus of a broker in this process (`broker.busPort()`): multicasts
   * come from it and orders go straight to the broker's XPUB, two hops
   * fewer than through the sequencer's own SUB and XPUB. It still joins
   * at the broker's endpoints (barrier, start, direct channel). Closing
   * the sequencer, or a join that fails, closes the port. Its log's writes
   * and fsyncs then hold up the broker's forwarding while they last.
   */
  bus?: BusPort;
  /**
   * HA mode: this sequencer leads by an etcd lease (see `roles/ha/`). Its
   * epoch is the lease's fencing token; it copies every batch to the
   * standbys in sync before publishing it, and stops once it no longer leads.
   */
  ha?: SequencerLeadership;
}

/** What a sequencer that leads in HA mode is given by its election. */
export interface SequencerLeadership {
  /** The fencing token of this leadership (grows with every leader). */
  epoch: number;
  /** True while it may still publish (its lease cannot have expired). */
  leading(): boolean;
  /** The in-sync set of standbys, in etcd. */
  registry: InSyncRegistry;
  /** How long a batch waits for a standby in sync, ms (default 500). */
  ackTimeoutMs?: number;
  /** Its own name: a message of its own standby, queued in the broker, is no standby's. */
  name: string;
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
  /** Views made (joins, leaves, evictions). */
  views: number;
  /** Members evicted for silence. */
  evicted: number;
  /** Bus messages that carried a batch of orders (more than one). */
  batches: number;
}

/** How long a member may be silent before it is evicted, by default, ms. */
export const DEFAULT_EVICT_AFTER_MS = 5000;

/** At most this many messages are numbered per batch (one fsync each). */
const BATCH = 1024;

/** Changes gathered into one view: joins at the barrier come within this, ms. */
const VIEW_DELAY_MS = 50;

/** How long a starting sequencer waits for the broker's highest forwarded order, ms. */
const BROKER_CHECK_MS = 2000;

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
  #counters: SequencerCounters = {
    ordered: 0,
    retransmitted: 0,
    requests: 0,
    duplicates: 0,
    badInput: 0,
    fsyncs: 0,
    views: 0,
    evicted: 0,
    batches: 0,
  };
  #ctx: SocketSet;
  #pub!: Socket;
  #dealer!: Socket;
  /** Its own SUB, while it reads the bus through it. */
  #sub: Socket | undefined;
  /** The broker's endpoints it is connected to. */
  #at!: Endpoints;
  /** Where multicasts come from and orders go: its own SUB and XPUB, or the broker's bus. */
  #busIn!: BusPort;
  #busOut!: BusPort;
  #localBus: BusPort | undefined;
  #metrics: MetricsServer | undefined;
  /** What each member last said it delivered (its HELLO), for `/status`. */
  #reported = new Map<string, { delivered: number; at: number }>();
  #options: SequencerOptions;
  #history: OrderHistory;
  #orderLog: OrderLog | undefined;
  #log: (line: string) => void;
  #warn: (line: string) => void;
  #loops: Promise<void>[] = [];
  #trace: ((line: string) => void) | undefined;
  /** Every origin ordered (from the log too): a resent copy is ordered at most once. */
  #ordered = new OriginTracker();
  /** Changes at every start: tells members that the sequencer restarted. */
  #epoch = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  #logPath: string | undefined;
  #failed = Promise.withResolvers<Error>();
  #failure: Error | undefined;
  /** The broker's answer to HIGHEST: the highest order it forwarded. */
  #brokerHighest = Promise.withResolvers<BrokerAnswer>();
  /** Bytes a batch of orders may take, or 0: orders go out one a bus message (the seed's frames). */
  #batchBytes = 0;
  #batch: boolean;
  #checked: Promise<string | null> = Promise.resolve(null);
  #checkTimer: ReturnType<typeof setTimeout> | undefined;
  /** Members' requests that came before the log was checked; null once it was. */
  #heldRequests: [Uint8Array, Request][] | null = [];
  #aheadWarnings = 0;
  #members: Membership;
  /** False once the log could not be read back (orders older than the history are gone then). */
  #logReadable = true;
  #evictAfterMs: number;
  #viewTimer: ReturnType<typeof setTimeout> | undefined;
  #suspectTimer: ReturnType<typeof setInterval> | undefined;
  /** Multicasts that came before the ones their members sent before them. */
  #senderOrder = new SenderOrder<Multicast>();
  /** HA mode: the copies to the standbys. */
  #replication: Replication | undefined;
  /** HA mode: the epoch its orders carry on the bus (hex), so that older ones are refused. */
  #busEpoch = "";
  /** The largest direct message the broker takes (its answer's `max=`). */
  #maxDirect = 1024 * 1024;

  private constructor(ctx: SocketSet, options: SequencerOptions) {
    this.#ctx = ctx;
    this.#log = options.log ?? (() => {});
    this.#warn = options.warn ?? this.#log;
    this.#trace = options.trace;
    this.#history = new OrderHistory(options.history ?? 100_000);
    this.#evictAfterMs = options.evictAfterMs ?? DEFAULT_EVICT_AFTER_MS;
    this.#batch = options.batch ?? true;
    if (options.ha !== undefined) this.#lead(options.ha);
    this.#members = new Membership(this.#evictAfterMs, this.#epoch);
    this.#logPath = options.logPath;
    this.#localBus = options.bus;
    this.#options = options;
    if (options.logPath !== undefined) {
      const { log, recent } = OrderLog.open(options.logPath, {
        fsync: options.fsync ?? "batch",
        keep: this.#history.capacity,
        onOrigin: (origin) => this.#ordered.record(origin),
      });
      this.#orderLog = log;
      for (const order of recent) this.#history.add(order.seq, order.payload, order.origin);
    }
  }

  /** HA mode: the epoch is the leadership's, and standbys are copied to. */
  #lead(ha: SequencerLeadership): void {
    this.#epoch = ha.epoch.toString(16).padStart(16, "0");
    this.#busEpoch = ha.epoch.toString(16);
    this.#replication = new Replication(
      {
        epoch: this.#epoch,
        send: (to, payload) => void this.#dealer.send(["", to, payload]).catch(() => {}),
        held: (first, last) => this.#held(first, last),
        published: () => this.#history.highest,
        maxBytes: () => this.#maxDirect,
        connected: () => {
          try {
            return this.#dealer.readiness().writable;
          } catch {
            return false; // Closed.
          }
        },
        log: (line) => this.#warn(line),
        leading: () => ha.leading(),
      },
      ha.registry,
      ha.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
    );
  }

  /**
   * Connects to the broker, passes the start barrier and starts numbering
   * (from the log's last number + 1 when the log has orders).
   *
   * @param options Broker address, history size and log.
   * @returns The running sequencer.
   */
  static async join(options: SequencerOptions): Promise<Sequencer> {
    const at = groupEndpoints(options);
    const timeoutMs = options.joinTimeoutMs ?? 30_000;
    if (options.bus?.closed) {
      throw new Error(
        "The bus port given to Sequencer.join is closed: take a new broker.busPort()",
      );
    }
    // Served from the start of the join: a sequencer waiting for the start shows it.
    let running: Sequencer | undefined;
    const metrics = options.metrics === undefined ? undefined : serveMetrics(
      () => [running?.snapshot() ?? joiningSnapshot("sequencer", SEQUENCER_ID)],
      options.metrics,
    );
    const ctx = participantSockets(options);
    try {
      const sequencer = new Sequencer(ctx, options);
      sequencer.#metrics = metrics;
      if (sequencer.#history.highest > 0) {
        sequencer.#log(`continuing from the log after order ${sequencer.#history.highest}`);
      }
      // With the broker's bus in this process, its own SUB takes only "start".
      const topics = options.bus === undefined ? [""] : [START];
      const joined = await joinGroup(ctx, at, SEQUENCER_ID, timeoutMs, topics, options.signal);
      [sequencer.#pub, sequencer.#dealer, sequencer.#at] = [joined.pub, joined.dealer, at];
      if (options.bus === undefined) sequencer.#sub = joined.sub;
      sequencer.#busIn = options.bus ?? joined.sub;
      sequencer.#busOut = options.bus ?? joined.pub;
      // Unread from now on: closed, so that nothing piles up in it (a member
      // whose id begins with "start" would match its subscription).
      if (options.bus !== undefined) joined.sub.close();
      sequencer.#checked = sequencer.#checkAgainstBroker(joined.late, at.barrier);
      sequencer.#loops.push(
        sequencer.#run(),
        sequencer.#serveRecovery(),
        sequencer.#watchBroker(),
      );
      const refusal = await sequencer.#checked;
      if (refusal !== null) {
        await sequencer.close();
        throw new Error(refusal);
      }
      try {
        await sequencer.#answerHeld();
      } catch (error) {
        if (!isClosed(error)) throw error;
      }
      // It may have stopped already (its log could not take the first batch).
      if (sequencer.#failure !== undefined) throw sequencer.#failure;
      sequencer.#watchMembers();
      running = sequencer;
      return sequencer;
    } catch (error) {
      options.bus?.close();
      ctx.close();
      await metrics?.close();
      throw error;
    }
  }

  /**
   * Moves to another broker's endpoints (HA mode: a new broker took over);
   * the new broker's subscription makes it tell where its numbering stands.
   */
  moveTo(to: Endpoints): void {
    moveSockets({ pub: this.#pub, sub: this.#sub, dealer: this.#dealer }, this.#at, to);
    this.#at = to;
  }

  /** What the sequencer counted so far: a snapshot. */
  get counters(): Readonly<SequencerCounters> {
    return Object.freeze({
      ...this.#counters,
      fsyncs: this.#orderLog?.syncs ?? this.#counters.fsyncs,
    });
  }

  /** The next number to give. */
  get next(): number {
    return this.#history.highest + 1;
  }

  async #run(): Promise<void> {
    const batch: LoggedOrder[] = [];
    try {
      // Nothing is numbered before the log was checked against the group.
      if ((await this.#checked) !== null) return;
      while (true) {
        let frames: Uint8Array[] | null = await this.#busIn.receive();
        // Number a batch, make it durable, then keep and publish it.
        const base = this.#history.highest;
        do {
          this.#accept(frames, batch, base);
          frames = batch.length < BATCH ? this.#busIn.tryReceive() : null;
        } while (frames !== null);
        if (this.#senderOrder.size > 0) this.#passOverGaps(batch, base);
        if (!this.#logBatch(batch)) return;
        if (!(await this.#copied(batch))) return;
        for (const { seq, payload, origin } of batch) this.#history.add(seq, payload, origin);
        this.#replication?.inHistory();
        await this.#publish(batch);
        batch.length = 0;
      }
    } catch (error) {
      if (isClosed(error)) return;
      throw error;
    }
  }

  /**
   * HA mode: the batch is in the log of every standby in sync, and this
   * sequencer still leads; false (and stopped, saying why) if not.
   */
  async #copied(batch: readonly LoggedOrder[]): Promise<boolean> {
    const ha = this.#options.ha;
    if (ha === undefined) return true;
    try {
      await this.#replication!.copy(batch);
    } catch (error) {
      this.#stop(`${error instanceof Error ? error.message : error}`, LeadershipEnded);
      return false;
    }
    if (ha.leading()) return true;
    this.#stop(
      `No longer the leader (epoch ${ha.epoch}): its etcd lease could not be renewed in time, so orders ${
        batch[0]!.seq
      }..${batch.at(-1)!.seq} were not published; a standby takes over`,
      LeadershipEnded,
    );
    return false;
  }

  /**
   * Publishes numbered orders: in batches of at most `#batchBytes` when the
   * group can read them (a lone order still goes as the seed's frames),
   * otherwise one bus message each. At its XPUB's high-water mark the sends
   * wait, in order (XPUB_NODROP); the broker's bus in this process never
   * waits (a full subscriber loses the message alone, as any bus message).
   */
  async #publish(orders: readonly LoggedOrder[]): Promise<void> {
    let start = 0;
    while (start < orders.length) {
      let end = start + 1;
      if (this.#batchBytes > 0) {
        let size = batchedSize(orders[start]!.payload);
        while (
          end < orders.length && (size += batchedSize(orders[end]!.payload)) <= this.#batchBytes
        ) {
          end++;
        }
      }
      const order = orders[start]!;
      const batched = end - start > 1;
      if (batched) this.#counters.batches++;
      const frames = batched
        ? orderBatchFrames(orders.slice(start, end), this.#busEpoch)
        : orderFrames(order.seq, order.payload, order.origin, this.#busEpoch);
      if (!this.#busOut.trySend(frames)) await this.#busOut.send(frames);
      this.#counters.ordered += end - start;
      start = end;
    }
  }

  /**
   * Writes a batch to the log, durably as `--fsync` says; false (and the
   * sequencer stopped, saying why) if the log cannot take it: nothing of
   * the batch is then kept, published or retransmitted.
   */
  #logBatch(batch: readonly LoggedOrder[]): boolean {
    const orderLog = this.#orderLog;
    if (orderLog === undefined || batch.length === 0) return true;
    try {
      for (const { seq, payload, origin } of batch) orderLog.add(seq, payload, origin);
      orderLog.commit();
      return true;
    } catch (error) {
      this.#stop(
        `${error instanceof Error ? error.message : error}: orders ${batch[0]!.seq}..${
          batch.at(-1)!.seq
        } were not published. Stopping without numbering anything more (free the disk, then start the sequencer again with the same --log)`,
      );
      return false;
    }
  }

  /** Stops for good: logs why, closes, and settles `failed` with the error. */
  #stop(why: string, kind: new (why: string) => Error = Error): void {
    const error = new kind(why);
    this.#failure = error;
    this.#log(why);
    this.#failed.resolve(error);
    void this.close();
  }

  /**
   * Resolves with an error if the sequencer stopped by itself (its log
   * cannot be written); never settles otherwise. A command line exits non-zero on it.
   */
  get failed(): Promise<Error> {
    return this.#failed.promise;
  }

  /**
   * Tells the broker where the numbering stands (its gate expects orders
   * above it) and asks for the highest order it has forwarded.
   */
  async #announce(): Promise<void> {
    await this.#dealer.send(["", BROKER_ID, `HIGHEST ${this.#history.highest}`]);
  }

  /**
   * Reads the XPUB: a subscription after the first means that the broker
   * came back (restarted, or reconnected); it is told again where the
   * numbering stands.
   */
  async #watchBroker(): Promise<void> {
    try {
      for await (const _ of this.#pub) {
        this.#replication?.brokerBack();
        await this.#announce();
      }
    } catch (error) {
      if (!isClosed(error)) throw error;
    }
  }

  /**
   * Asks the broker for the highest order it has forwarded before numbering
   * anything: a log that ends before it (truncated, lost, another group's)
   * would give numbers that members already delivered to other messages.
   * A broker that does not answer within `BROKER_CHECK_MS` (a seed broker)
   * is not asked again; then a sequencer without orders refuses to join a
   * running group, since it cannot know what was numbered before it.
   *
   * @returns Why this sequencer must not number, or null.
   */
  async #checkAgainstBroker(late: boolean, barrier: string): Promise<string | null> {
    await this.#announce();
    const answer = await Promise.race([
      this.#brokerHighest.promise,
      new Promise<null>((resolve) => this.#checkTimer = setTimeout(resolve, BROKER_CHECK_MS, null)),
    ]);
    clearTimeout(this.#checkTimer);
    const highest = this.#history.highest;
    // Batches only where every reader can read them: a broker that says no
    // seed peer is in (and ran from the start, so it knows) and how much it takes.
    if (
      this.#batch && answer !== null && !answer.seed && !answer.resumed && answer.maxPayload > 0
    ) {
      this.#batchBytes = Math.min(MAX_BATCH_BYTES, answer.maxPayload);
    }
    if (answer === null) {
      this.#log(
        `The broker did not say within ${BROKER_CHECK_MS} ms which orders it forwarded (a seed broker?): the log is not checked against the group`,
      );
    }
    if (answer !== null && answer.seen > highest) {
      const source = this.#logPath === undefined
        ? "this sequencer has no --log"
        : `its log ${this.#logPath} ends at order ${highest}`;
      return `The broker has already forwarded order ${answer.seen}, but ${source}: numbering from ${
        highest + 1
      } would give numbers that members already delivered to other messages. Start the sequencer with the complete log of the one before it`;
    }
    // Only a broker that ran from the start can say that nothing was numbered.
    if (!late || highest > 0 || (answer !== null && !answer.resumed)) return null;
    const why = answer === null
      ? ""
      : " (the broker was started again with --resume: it cannot say)";
    return `The group at ${barrier} is already running and this sequencer has no orders to continue from${why}: ` +
      `start it with the --log of the sequencer before it${
        this.#logPath ? ` (${this.#logPath} is empty)` : ""
      }`;
  }

  /**
   * Numbers the multicasts of a bus message (one, or a member's batch),
   * after `base` and what `batch` already holds, into `batch`; anything
   * else (orders coming back, a copy ordered before, bad input) is dropped.
   */
  #accept(frames: Uint8Array[], batch: LoggedOrder[], base: number): void {
    if (frames.length === 1 && text(frames[0]!) === START) return;
    // Its own orders come back: they are not multicasts.
    if (isOrderBatch(frames)) return;
    try {
      if (isMulticastBatch(frames)) {
        const { sender, multicasts } = decodeMulticastBatch(frames);
        for (const { origin, payload } of multicasts) {
          this.#number(batch, base, { sender, payload, origin });
        }
        return;
      }
      const message = decodeBus(frames);
      if (message.kind === "multicast") this.#number(batch, base, message);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#counters.badInput++;
      this.#log(`Dropped a bad bus message: ${error.message}`);
    }
  }

  /**
   * Gives a multicast the next number, unless its origin was ordered
   * before; in its member's order: one that comes before the multicast it
   * follows (that one was lost, and is being resent) waits for it, and then
   * they are numbered one after the other.
   */
  #number(batch: LoggedOrder[], base: number, multicast: Multicast): void {
    const { origin } = multicast;
    if (origin === null) return this.#give(batch, base, multicast);
    const seen = this.#ordered.recordNext(origin);
    if (seen === "copy") {
      this.#counters.duplicates++;
      this.#log(`Dropped a copy of ${formatOrigin(origin)}, ordered before`);
      return;
    }
    if (seen === "early") {
      this.#senderOrder.hold(origin, multicast, performance.now());
      return;
    }
    this.#give(batch, base, multicast);
    while (this.#senderOrder.size > 0) {
      const held = this.#senderOrder.take(origin.key, this.#ordered.next(origin.key));
      if (held === undefined) return;
      this.#ordered.record(held.origin!);
      this.#give(batch, base, held);
    }
  }

  /** The multicast's number: the next after `base` and the batch. */
  #give(batch: LoggedOrder[], base: number, multicast: Multicast): void {
    this.#trace?.(`Received ${text(multicast.payload)} from ${multicast.sender} !`);
    batch.push({
      seq: base + batch.length + 1,
      payload: multicast.payload,
      origin: multicast.origin,
    });
  }

  /**
   * Numbers what a gap has held back for too long (its member died before
   * it could resend what is missing): nothing waits for ever.
   */
  #passOverGaps(batch: LoggedOrder[], base: number): void {
    for (const run of this.#senderOrder.overdue(performance.now())) {
      const first = run[0]!.origin!;
      this.#warn(
        `${first.key}: its multicasts from ${
          this.#ordered.next(first.key)
        } on did not come within ${DEFAULT_SENDER_ORDER_WAIT_MS} ms; numbering the ${run.length} after them that came (from ${first.index} on)`,
      );
      for (const multicast of run) {
        if (this.#ordered.record(multicast.origin!)) this.#give(batch, base, multicast);
      }
    }
  }

  /** Answers RETRANSMIT requests that come as direct messages. */
  async #serveRecovery(): Promise<void> {
    try {
      for await (const frames of this.#dealer) {
        if (frames.length !== 3 || frames[0]!.byteLength !== 0) {
          this.#counters.badInput++;
          continue;
        }
        const from = frames[1]!;
        if (text(from) === BROKER_ID) {
          this.#onBrokerNotice(text(frames[2]!));
          continue;
        }
        if (this.#replication !== undefined && Replication.isStandby(text(from))) {
          if (text(from) !== standbyId(this.#options.ha!.name)) {
            this.#replication.onMessage(text(from), frames[2]!);
          }
          continue;
        }
        let request;
        try {
          request = decodeRecovery(frames[2]!);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          this.#counters.badInput++;
          this.#log(
            `Dropped a bad request from ${text(from)}: ${error.message}`,
          );
          continue;
        }
        if (request.kind === "leave") {
          this.#members.leave(text(from));
          this.#warn(`${text(from)} leaves the group`);
          this.#scheduleView();
          continue;
        }
        if (request.kind !== "retransmit" && request.kind !== "hello" && request.kind !== "views") {
          continue;
        }
        this.#heard(from);
        if (request.kind !== "views" && request.delivered !== undefined) {
          this.#noteDelivered(text(from), request.delivered);
        }
        // None is answered before the log was checked against the broker.
        if (this.#heldRequests !== null) this.#heldRequests.push([from, request]);
        else await this.#answer(from, request);
      }
    } catch (error) {
      if (isClosed(error)) return;
      throw error;
    }
  }

  /** Answers the requests that came while the log was being checked, in order. */
  async #answerHeld(): Promise<void> {
    const held = this.#heldRequests ?? [];
    while (held.length > 0) {
      const [from, request] = held.shift()!;
      await this.#answer(from, request);
    }
    this.#heldRequests = null;
  }

  /**
   * Answers `RETRANSMIT f l` with every order it still holds from f to l,
   * and `HELLO` with nothing; then `HIGHEST`, echoing the member's position.
   */
  async #answer(
    from: Uint8Array,
    request: Request,
  ): Promise<void> {
    this.#counters.requests++;
    if (request.kind === "views") {
      for (const view of this.#members.since(request.from)) this.#sendView(text(from), view);
      return;
    }
    const highest = this.#history.highest;
    // HELLO asks for no orders, only the last line.
    const first = request.kind === "hello"
      ? highest + 1
      : Math.max(request.first, this.#lowestHeld());
    const last = request.kind === "hello"
      ? highest
      : Math.min(request.last ?? highest, highest, first + CATCH_UP_CHUNK - 1);
    if (first <= last) this.#log(`Retransmitting ${first}..${last} to ${text(from)}`);
    const empty = new Uint8Array(0);
    // Taken before any send waits: meanwhile new orders push old ones out of the history.
    for (const order of this.#held(first, last)) {
      const reply = [empty, from, encodeRecovery({ kind: "order", ...order })];
      if (!this.#dealer.trySend(reply)) await this.#dealer.send(reply);
      this.#counters.retransmitted++;
    }
    if ((request.delivered ?? 0) > highest) this.#warnAhead(text(from), request.delivered!);
    await this.#dealer.send([
      empty,
      from,
      encodeRecovery({
        kind: "highest",
        seq: highest,
        epoch: this.#epoch,
        lowest: this.#lowestHeld(),
        delivered: request.delivered,
        view: this.#members.current,
      }),
    ]);
  }

  /**
   * A member was heard from: one that is new makes a view; one that was
   * evicted is told so first (it joins again, in the next view).
   */
  #heard(from: Uint8Array): void {
    const id = text(from);
    // A routing id that is no client id (libzmq's own, a forged one) is in no view.
    if (!isClientId(id)) return;
    const heard = this.#members.heard(id, performance.now());
    if (heard === "member") return;
    if (heard === "evicted") {
      const view = this.#members.evictedIn(id)!;
      this.#warn(`${id}, evicted in view ${view}, is back: it joins again`);
      this.#toMember(id, encodeRecovery({ kind: "evicted", view }));
    }
    this.#scheduleView();
  }

  /** Notes what a member of the group said it delivered (others, unknown ids, are not kept). */
  #noteDelivered(id: string, delivered: number): void {
    if (!isClientId(id)) return;
    this.#reported.set(id, { delivered, at: performance.now() });
    // Bounded by the members: ids no longer in the view are forgotten.
    if (this.#reported.size > 2 * this.#members.members.length + 16) {
      const members = new Set(this.#members.members);
      for (const known of this.#reported.keys()) {
        if (!members.has(known)) this.#reported.delete(known);
      }
    }
  }

  /** The latest orders (at most `count`): number and sender, for the live page. */
  #recent(count: number): { seq: number; sender: string }[] {
    const recent: { seq: number; sender: string }[] = [];
    const highest = this.#history.highest;
    for (let seq = Math.max(this.#history.lowest, highest - count + 1); seq <= highest; seq++) {
      const origin = this.#history.get(seq)?.origin;
      recent.push({
        seq,
        sender: origin === null || origin === undefined ? "" : originSender(origin),
      });
    }
    return recent;
  }

  /** Where its metrics are served (the `metrics` option), or undefined. */
  get metricsUrl(): string | undefined {
    return this.#metrics?.url;
  }

  /** Its counters, gauges and view of the group now (for `/metrics` and `/status`). */
  snapshot(): RoleSnapshot {
    const members = this.#members.members;
    const gauges = [
      { name: "highest_order", value: this.#history.highest },
      { name: "view", value: this.#members.current },
      { name: "members_in_view", value: members.length },
    ];
    const highest = this.#history.highest;
    return roleSnapshot({ role: "sequencer", id: SEQUENCER_ID, counters: this.counters, gauges }, {
      config: {
        endpoints: this.#at ?? groupEndpoints(this.#options),
        history: this.#history.capacity,
        log: this.#logPath ?? null,
        fsync: this.#options.fsync ?? "batch",
        batch: this.#batch,
        evictAfterMs: this.#evictAfterMs,
        insideBroker: this.#localBus !== undefined,
        epoch: this.#epoch,
      },
      group: {
        standbys: this.#replication?.standbys ?? null,
        view: this.#members.current,
        // What each member said it delivered in its last greeting or request
        // (every second at least), and how long ago: the lag is as of then.
        members: members.map((id) => {
          const reported = this.#reported.get(id);
          return {
            id,
            delivered: reported?.delivered ?? null,
            lag: reported === undefined ? null : Math.max(0, highest - reported.delivered),
            reportedMsAgo: reported === undefined
              ? null
              : Math.round(performance.now() - reported.at),
          };
        }),
      },
      recent: this.#recent(32),
    });
  }

  /** Checks the members' silence from now on, a tenth of `evictAfterMs` apart (at most 500 ms). */
  #watchMembers(): void {
    if (this.#evictAfterMs <= 0) return;
    const every = Math.min(500, Math.max(10, this.#evictAfterMs / 10));
    this.#suspectTimer = setInterval(() => this.#suspect(), every);
  }

  /** Evicts the members that have been silent too long. */
  #suspect(): void {
    for (const id of this.#members.suspect(performance.now())) {
      this.#warn(`${id} has been silent for more than ${this.#evictAfterMs / 1000} s: evicting it`);
      this.#scheduleView();
    }
  }

  /** Makes a view of the changes gathered over the next VIEW_DELAY_MS. */
  #scheduleView(): void {
    this.#viewTimer ??= setTimeout(() => {
      this.#viewTimer = undefined;
      this.#makeView();
    }, VIEW_DELAY_MS);
  }

  /**
   * The next view, after the highest order given: sent to each of its
   * members; the broker is told who was evicted and who is back.
   */
  #makeView(): void {
    // Not before the log was checked: the position must be this sequencer's.
    if (this.#heldRequests !== null) return this.#scheduleView();
    const view = this.#members.next(this.#history.highest);
    if (view === null) return;
    this.#counters.views++;
    this.#warn(formatView(view));
    for (const { id, why } of view.left) {
      if (why !== "timeout") continue;
      this.#counters.evicted++;
      void this.#dealer.send(["", BROKER_ID, `EVICT ${id}`]).catch(() => {});
    }
    for (const id of view.joined) {
      void this.#dealer.send(["", BROKER_ID, `ADMIT ${id}`]).catch(() => {});
    }
    for (const id of view.members) this.#sendView(id, view);
  }

  #sendView(id: string, view: View): void {
    this.#toMember(id, encodeRecovery({ kind: "view", view }));
  }

  /** A direct message to member `id`, without waiting. */
  #toMember(id: string, payload: Uint8Array): void {
    void this.#dealer.send(["", id, payload]).catch(() => {});
  }

  /** The oldest order that can be retransmitted: 1 with a log, else the history's oldest. */
  #lowestHeld(): number {
    return this.#orderLog !== undefined && this.#logReadable ? 1 : this.#history.lowest;
  }

  /**
   * Orders `first` to `last`, taken now (the history moves on while the
   * sends wait): from the log for those older than the history (a member far
   * behind), at most LOG_READ_BYTES of it, then from memory. A log that
   * cannot be read is not read again: the oldest held is then the history's.
   */
  #held(first: number, last: number): LoggedOrder[] {
    const held: LoggedOrder[] = [];
    let seq = first;
    const lowest = this.#history.lowest;
    if (seq < lowest && this.#orderLog !== undefined && this.#logReadable) {
      try {
        held.push(...this.#orderLog.read(seq, Math.min(last, lowest - 1), CATCH_UP_CHUNK));
      } catch (error) {
        this.#logReadable = false;
        this.#warn(
          `Cannot retransmit from the log, so orders before ${lowest} can no longer be had: ${
            (error as Error).message
          }`,
        );
      }
      // A round cut short by the read's byte limit: the member asks for the rest.
      if (held.length > 0 && held.at(-1)!.seq < Math.min(last, lowest - 1)) return held;
    }
    for (seq = Math.max(seq, lowest); seq <= last; seq++) {
      const { payload, origin } = this.#history.get(seq)!;
      held.push({ seq, payload, origin });
    }
    return held;
  }

  /**
   * A member says it delivered past this sequencer's highest order: the
   * member stops on the answer (which echoes its position); the sequencer
   * only says so, since one member's word is no proof.
   */
  #warnAhead(member: string, delivered: number): void {
    if (this.#aheadWarnings++ % 100 !== 0) return;
    this.#log(
      `${member} says it delivered up to order ${delivered}, past this sequencer's highest, ${this.#history.highest}: was it started without the log of the sequencer before it, or with a log that lost its end?`,
    );
  }

  /** The broker's answer to HIGHEST, or one of its notices (logged). */
  #onBrokerNotice(notice: string): void {
    const answer = brokerAnswer(notice);
    if (answer !== null && answer.maxPayload > 0) this.#maxDirect = answer.maxPayload;
    const gone = /^unknown recipient "([^"]+)"/.exec(notice)?.[1];
    if (gone !== undefined && Replication.isStandby(gone)) this.#replication?.gone(gone);
    if (answer !== null) this.#brokerHighest.resolve(answer);
    else if (notice === "VERIFY") void this.#dealer.send(["", BROKER_ID, "HERE"]).catch(() => {});
    else if (notice !== "") this.#log(`The broker says: ${notice}`);
  }

  /** Closes the sequencer (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Stops, closes the sockets and the log. Idempotent. */
  async close(): Promise<void> {
    clearTimeout(this.#checkTimer);
    clearTimeout(this.#viewTimer);
    clearInterval(this.#suspectTimer);
    this.#replication?.close();
    this.#localBus?.close();
    this.#ctx.close();
    await Promise.allSettled(this.#loops);
    await this.#metrics?.close();
    this.#orderLog?.close();
    this.#counters.fsyncs = this.#orderLog?.syncs ?? this.#counters.fsyncs;
    this.#orderLog = undefined;
  }
}

/**
 * Reads the broker's answer to `HIGHEST`: `HIGHEST <G>` and then, in this
 * order, `resumed`, `seed` and `max=<bytes>`, each if it applies; null for
 * any other notice.
 */
function brokerAnswer(notice: string): BrokerAnswer | null {
  const [word, number, ...flags] = notice.split(" ");
  const seen = word === "HIGHEST" ? seqOf(number ?? "", true) : null;
  if (seen === null) return null;
  let maxPayload = 0;
  for (const flag of flags) {
    if (flag.startsWith("max=")) maxPayload = seqOf(flag.slice(4)) ?? -1;
    else if (flag !== "resumed" && flag !== "seed") return null;
  }
  if (maxPayload < 0) return null;
  return { seen, resumed: flags.includes("resumed"), seed: flags.includes("seed"), maxPayload };
}
