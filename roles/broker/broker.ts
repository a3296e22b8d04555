/**
 * `Broker`: the multicast forwarder (XSUB -> XPUB), the start barrier (REP)
 * and the ROUTER for direct messages, in one process.
 *
 * @module
 */

import { type GroupAddress, groupEndpoints, type RoleLogging } from "../role_options.ts";
import {
  isClosed,
  messageProperties,
  Monitor,
  type Proxy,
  proxy,
  type Socket,
  ZmqError,
} from "../../ffi/mod.ts";
import { BusGate, isOrder } from "./bus_gate.ts";
import { LocalBus } from "./local_bus.ts";
import type { BusPort } from "../bus_port.ts";
import { type RoleSnapshot, roleSnapshot } from "../metrics/families.ts";
import { type MetricsServer, serveMetrics } from "../metrics/server.ts";
import { VerifiedIds } from "./verified_ids.ts";
import {
  BROKER_ID,
  DEFAULT_MAX_PAYLOAD,
  FRAME_SLACK,
  ID_TOPIC_PREFIX,
  SEQUENCER_ID,
  START,
} from "../protocol/ids.ts";
import { bytes, seqOf, startsWith, text } from "../protocol/text.ts";
import { SocketSet } from "../socket_set.ts";
import { curveServer, type CurveServerOptions } from "../curve/options.ts";
import { ZapHandler } from "../curve/zap.ts";

/** Options of {@link Broker}. */
export interface BrokerOptions extends GroupAddress, RoleLogging {
  /** The largest payload accepted, bytes; a peer sending more is disconnected. Default 1 MiB. */
  maxPayload?: number;
  /** CURVE mode: encrypt, and let in only the allowed public keys. */
  curve?: CurveServerOptions;
  /** How many participants (clients plus the sequencer) the barrier waits for. */
  expect: number;
  /** How long a direct message waits for an unknown recipient to connect, ms. Default 1,000. */
  unknownRecipientGraceMs?: number;
  /**
   * Skip the barrier: every participant that syncs gets "start" at once.
   * For a broker started again while the group runs.
   */
  resume?: boolean;
  /**
   * Drop a direct-channel peer that has not answered ZeroMQ's heartbeats
   * (PING) for this long, ms: a frozen process (SIGSTOP) or one behind a
   * dead link then no longer holds its id. HA mode sets it (to the lease
   * TTL), so that a frozen sequencer's id goes to the one that took over.
   * Default 0: never.
   */
  peerTimeoutMs?: number;
}

/** A direct message the broker holds until its recipient can take it. */
interface WaitingDirect {
  from: Uint8Array;
  to: Uint8Array;
  payload: Uint8Array;
  since: number;
}

/** The bus's high-water mark at the broker's XPUB, per subscriber: past it, that one loses. */
const BUS_HWM = 100_000;
/** How long after an id was let in a second participant with it is checked for the first, ms. */
const ADMISSION_GRACE_MS = 1000;
/** How often waiting direct messages are retried, ms. */
const RETRY_MS = 20;
/** How long a direct message waits for a recipient that does not read, ms. */
const STUCK_MS = 10_000;
/** Direct messages held per recipient at most; beyond, the oldest is dropped (sender told). */
const MAX_QUEUED_PER_RECIPIENT = 10_000;

/** What the broker counts. */
export interface BrokerCounters {
  /** Participants that passed the barrier. */
  synced: number;
  /** Subscriptions seen on the bus. */
  subscriptions: number;
  /** Bus messages forwarded. */
  forwarded: number;
  /** Direct messages forwarded. */
  directForwarded: number;
  /** Direct messages dropped: unknown recipient, or one that does not read (sender told). */
  unknownRecipients: number;
  /** CURVE handshakes refused (keys not on the allow-list). */
  refusedHandshakes: number;
  /** Malformed direct messages dropped. */
  badInput: number;
  /**
   * Messages refused: bus messages the gate refused (orders whose numbering
   * went back or jumped too far; in CURVE mode, messages that do not match
   * their key's id), direct messages whose sender is not its key's id, and
   * joins refused at the barrier (an id already in the group).
   */
  refused: number;
  /** The highest order forwarded. */
  highestOrder: number;
  /**
   * Times a subscriber of the bus was at its high-water mark: from then
   * until it has read its queue down, bus messages are dropped for it
   * alone (it catches up from the sequencer) and the others go on.
   */
  busOverflows: number;
  /**
   * Multicasts dropped for the sequencer in this process (see
   * `busPort()`) because it had 100,000 waiting: their members resend them.
   */
  sequencerOverflows: number;
}

/**
 * The group's broker.
 *
 * @example
 * ```ts ignore
 * const broker = new Broker({ expect: 5 });
 * await broker.started;   // every participant is in and subscribed
 * // ... on shutdown:
 * await broker.close();
 * ```
 */
export class Broker {
  #counters: BrokerCounters = {
    synced: 0,
    subscriptions: 0,
    forwarded: 0,
    directForwarded: 0,
    unknownRecipients: 0,
    refusedHandshakes: 0,
    badInput: 0,
    refused: 0,
    highestOrder: 0,
    busOverflows: 0,
    sequencerOverflows: 0,
  };
  /** Resolves once `start` was published. */
  readonly started: Promise<void>;
  #ctx: SocketSet;
  #xsub: Socket;
  #xpub: Socket;
  #rep: Socket;
  #router: Socket;
  #expect: number;
  #grace: number;
  #log: (line: string) => void;
  #warn: (line: string) => void;
  #tasks: Promise<void>[] = [];
  #proxy: Proxy | undefined;
  #markStarted!: () => void;
  #resume: boolean;
  /** Direct messages waiting for their recipient, by recipient id, in order. */
  #waiting = new Map<string, WaitingDirect[]>();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #trace: ((line: string) => void) | undefined;
  #zap: ZapHandler | undefined;
  #closed = false;
  #wake: () => void = () => {};
  #gate: BusGate;
  /** CURVE mode: each connection's messages carry the id its key is bound to. */
  #authenticated: boolean;
  /** Ids that passed the barrier (before start), and seed peers' anonymous syncs. */
  #synced = new Set<string>();
  #anonymousSyncs = 0;
  /** When each id was last let in (performance.now()). */
  #admittedAt = new Map<string, number>();
  /** The ids whose `start:<id>` subscription has come (in CURVE mode, from their own key). */
  #subscribedIds = new Set<string>();
  /** Subscriptions that "start" matches, from anyone. */
  #startSubscriptions = 0;
  /** CURVE mode: the routing ids shown to be held by their own key. */
  #verified: VerifiedIds | undefined;
  #monitor: Monitor | undefined;
  /** Members the sequencer evicted and has not taken back. */
  #evicted = new Set<string>();
  /** Told the sequencer that no seed peer is in the group: it may batch orders. */
  #saidNoSeed = false;
  #maxPayload: number;
  /** The bus of a sequencer in this process, once one took it. */
  #localBus: LocalBus | undefined;
  /** Orders the sequencer in this process published. */
  #localOrders = 0;
  #metrics: MetricsServer | undefined;
  #options: BrokerOptions;

  /**
   * Binds the four ports and starts serving.
   *
   * @param options Expected participants, host and base port.
   * @throws {ZmqError} naming the endpoint, e.g. when a port is in use.
   */
  constructor(options: BrokerOptions) {
    if (!Number.isInteger(options.expect) || options.expect < 1) {
      throw new RangeError(
        `Invalid expect ${options.expect}: expected a whole number of participants >= 1`,
      );
    }
    this.#expect = options.expect;
    this.#options = options;
    this.#resume = options.resume ?? false;
    this.#grace = options.unknownRecipientGraceMs ?? 1000;
    this.#log = options.log ?? (() => {});
    this.#warn = options.warn ?? this.#log;
    this.#trace = options.trace;
    this.#authenticated = options.curve !== undefined;
    this.#gate = new BusGate(this.#authenticated);
    this.started = new Promise((resolve) => this.#markStarted = resolve);
    const at = groupEndpoints(options);
    this.#maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    const maxFrame = this.#maxPayload + FRAME_SLACK;
    // First: if its port is taken, nothing else was opened.
    if (options.metrics !== undefined) {
      this.#metrics = serveMetrics(() => [this.snapshot()], options.metrics);
    }
    this.#ctx = new SocketSet(
      options.context,
      options.curve ? curveServer(options.curve) : undefined,
    );
    try {
      if (options.curve !== undefined) {
        // The ZAP handler must be in place before the first handshake.
        this.#zap = new ZapHandler(this.#ctx, options.curve.allowed, this.#warn);
        this.#tasks.push(this.#zap.done);
      }
      this.#xsub = this.#ctx.socket("XSUB");
      this.#xsub.setOption("RCVHWM", 100_000);
      this.#xsub.setOption("MAXMSGSIZE", maxFrame);
      this.#xsub.bind(at.multicastIn);
      this.#xpub = this.#ctx.socket("XPUB");
      this.#xpub.setOption("XPUB_VERBOSE", true);
      this.#xpub.setOption("XPUB_NODROP", true);
      // Subscriptions are one byte here (CURVE handshakes a few hundred); a huge
      // topic would cost memory in libzmq's trie.
      this.#xpub.setOption("MAXMSGSIZE", 4096);
      this.#xpub.setOption("SNDHWM", BUS_HWM);
      this.#xpub.bind(at.multicastOut);
      this.#rep = this.#ctx.socket("REP");
      this.#rep.setOption("MAXMSGSIZE", 4096);
      this.#rep.bind(at.barrier);
      this.#router = this.#ctx.socket("ROUTER");
      this.#router.setOption("ROUTER_MANDATORY", true);
      // A second peer claiming a connected member's id is refused, not let in.
      this.#router.setOption("ROUTER_HANDOVER", false);
      this.#router.setOption("MAXMSGSIZE", maxFrame);
      const peerTimeoutMs = options.peerTimeoutMs ?? 0;
      if (peerTimeoutMs > 0) {
        this.#router.setOption("HEARTBEAT_IVL", Math.max(100, Math.round(peerTimeoutMs / 4)));
        this.#router.setOption("HEARTBEAT_TIMEOUT", peerTimeoutMs);
      }
      this.#router.bind(at.direct);
      if (this.#authenticated) {
        for (const socket of [this.#xsub, this.#xpub, this.#rep, this.#router]) {
          socket.readProperties(["User-Id"]);
        }
        this.#verified = new VerifiedIds();
        this.#monitor = new Monitor(this.#router);
        this.#tasks.push(this.#forgetOnDisconnect(this.#monitor, this.#verified));
      }
    } catch (error) {
      this.#ctx.close();
      void this.#metrics?.close();
      throw error;
    }
    this.#tasks.push(this.#barrier(), this.#directs());
  }

  /** Where its metrics are served (the `metrics` option), or undefined. */
  get metricsUrl(): string | undefined {
    return this.#metrics?.url;
  }

  /** Its counters, gauges and view of the group now (for `/metrics` and `/status`). */
  snapshot(): RoleSnapshot {
    let waiting = 0;
    for (const queue of this.#waiting.values()) waiting += queue.length;
    const gauges = [
      { name: "highest_order", value: this.#gate.highestOrder },
      { name: "waiting_directs", value: waiting },
    ];
    return roleSnapshot({ role: "broker", id: BROKER_ID, counters: this.counters, gauges }, {
      config: {
        endpoints: groupEndpoints(this.#options),
        expect: this.#expect,
        resume: this.#resume,
        maxPayload: this.#maxPayload,
        curve: this.#authenticated,
        sequencerInside: this.#localBus !== undefined,
      },
      group: {
        // Let in before and after the start, by id (at most 1,000 named).
        participants: [...this.#admittedAt.keys()].sort().slice(0, 1000),
        participantCount: this.#admittedAt.size,
        anonymous: this.#anonymousSyncs,
        evicted: [...this.#evicted].sort().slice(0, 1000),
      },
    });
  }

  /**
   * The barrier: replies to each sync at once (as the seed does), and
   * publishes `start` only once `expect` participants synced AND as many
   * subscriptions reached the XPUB, so that everyone really receives it.
   * The forwarder runs from the first moment: it is what attaches new
   * connections to the XSUB and passes its subscription upstream.
   */
  async #barrier(): Promise<void> {
    this.#proxy = proxy(this.#xsub, this.#xpub, {
      forward: (message) => this.#admitBus(message),
      // The XSUB subscribes to everything itself: subscriptions are counted,
      // not passed upstream, so that a publisher sees one per connection.
      backward: (message) => {
        if (message[0]?.[0] === 1) this.#countSubscription(message);
        return false;
      },
      onFull: (message, to) => to === this.#xpub && this.#dropForTheFull(message),
    });
    this.#tasks.push(this.#proxy.done);
    // Subscribe upstream to everything.
    await this.#xsub.send(new Uint8Array([1]));
    try {
      if (!this.#resume) {
        while (this.#participants() < this.#expect) await this.#answerSync(false);
        while (!this.#everyoneSubscribed() && !this.#closed) {
          await new Promise<void>((resolve) => this.#wake = resolve);
        }
        if (this.#closed) return;
        await this.#xpub.send(START);
        this.#log(`all ${this.#expect} participants are in: start`);
      }
      this.#markStarted();
      // Late joiners (a restarted sequencer or client) get "start" as the reply.
      while (true) await this.#answerSync(true);
    } catch (error) {
      if (isClosed(error)) return;
      throw error;
    }
  }

  /**
   * Distinct participants that passed the barrier, seed peers' anonymous
   * syncs included; in CURVE mode, where ids are known, the last place is
   * the sequencer's.
   */
  #participants(): number {
    const count = this.#synced.size + this.#anonymousSyncs;
    if (!this.#authenticated || this.#synced.has(SEQUENCER_ID)) return count;
    return Math.min(count, this.#expect - 1);
  }

  /**
   * True once `expect` participants let in have subscribed, so that `start`
   * reaches each: an id that synced counts once its `start:<id>`
   * subscription came (in CURVE mode, from its own key, and the
   * sequencer's must be among them); a seed peer that synced counts for
   * each other subscription that "start" matches (a seed peer subscribes
   * to "" alone; each of ours to "" or "start" as well).
   */
  #everyoneSubscribed(): boolean {
    if (this.#authenticated && !this.#subscribedIds.has(SEQUENCER_ID)) return false;
    let known = 0;
    for (const id of this.#synced) if (this.#subscribedIds.has(id)) known++;
    const others = Math.max(0, this.#startSubscriptions - this.#subscribedIds.size);
    return known + Math.min(this.#anonymousSyncs, others) >= this.#expect;
  }

  /** Counts a subscription: `start:<id>` for that id, and each that "start" matches. */
  #countSubscription(message: Uint8Array[]): void {
    const topic = message[0]!.subarray(1);
    if (startsWith(topic, ID_TOPIC_BYTES)) {
      const id = text(topic.subarray(ID_TOPIC_BYTES.byteLength));
      const userId = messageProperties(message)?.["User-Id"];
      if (userId === undefined || userId === id) this.#subscribedIds.add(id);
    } else if (startsWith(START_BYTES, topic)) {
      this.#counters.subscriptions++;
      this.#startSubscriptions++;
    } else return;
    this.#wake();
  }

  /**
   * Answers one sync request: `""` (or `start`, once started) to let the
   * participant in, `refused: <why>` to keep it out. Our participants send
   * their id (a seed peer sends an empty frame, counted without one); in
   * CURVE mode the id is the one its key is bound to.
   */
  async #answerSync(started: boolean): Promise<void> {
    const request = await this.#rep.receive();
    const claimed = request.length === 1 ? text(request[0]!) : "";
    const userId = messageProperties(request)?.["User-Id"];
    const refusal = userId !== undefined && claimed !== "" && claimed !== userId
      ? `this key is bound to the id "${userId}", not "${claimed.slice(0, 80)}"`
      : (userId ?? claimed) === "" && (this.#saidNoSeed || this.#gate.sawBatch)
      ? "this group's sequencer sends orders in batches, which a seed peer cannot read: start the seed peer with the group, before the start, or the sequencer with --no-batch"
      : await this.#duplicateOf(userId ?? claimed);
    if (refusal !== null) {
      this.#counters.refused++;
      this.#wake();
      this.#warn(`Refused a participant at the barrier: ${refusal}`);
      await this.#rep.send(`refused: ${refusal}`);
      return;
    }
    const id = userId ?? claimed;
    if (id !== "") this.#admittedAt.set(id, performance.now());
    this.#counters.synced++;
    if (started) {
      await this.#rep.send(START);
      this.#log(`a late participant joined${id ? ` as ${id}` : ""} (${this.#counters.synced})`);
      return;
    }
    await this.#rep.send("");
    if (id === "") this.#anonymousSyncs++;
    else this.#synced.add(id);
    this.#wake();
    const count = this.#synced.size + this.#anonymousSyncs;
    const waiting = this.#participants() < count ? ", waiting for the sequencer" : "";
    this.#log(`+1 subscriber (${count}/${this.#expect}${waiting})`);
  }

  /**
   * Why `id` may not join now, or null: a live participant holds it (its
   * DEALER is connected). Our participants connect their DEALER only after
   * the barrier let them in, so a joiner's own connection never counts. One
   * let in less than ADMISSION_GRACE_MS ago, before or after the start, may
   * still be connecting: the check waits for it that long.
   */
  async #duplicateOf(id: string): Promise<string | null> {
    if (id === "") return null;
    // One let in a moment ago may still be connecting its DEALER: wait for it.
    const admittedAt = this.#admittedAt.get(id) ?? -Infinity;
    const deadline = Math.max(performance.now(), admittedAt + ADMISSION_GRACE_MS);
    while (true) {
      if (this.#holdsRoutingId(id)) {
        return `the id "${id}" is already in the group (a live participant has it); ` +
          "stop that one first, or choose another id";
      }
      if (performance.now() >= deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  /**
   * True if a peer with routing id `id` is connected to the ROUTER: it is
   * sent an empty notice from the broker, which members ignore.
   */
  #holdsRoutingId(id: string): boolean {
    return this.#notify(bytes(id), EMPTY);
  }

  /**
   * Sends the broker's notice `["", "broker", notice]` to routing id `to`.
   *
   * @returns False if no peer has that routing id; true if one has (at its
   * high-water mark the peer is there, only busy: the notice is then lost).
   */
  #notify(to: Uint8Array, notice: Uint8Array): boolean {
    try {
      this.#router.trySend([to, EMPTY, BROKER_BYTES, notice]);
      return true;
    } catch (error) {
      if (error instanceof ZmqError && error.code === "EHOSTUNREACH") return false;
      throw error;
    }
  }

  /**
   * The bus for a sequencer in this process (`Sequencer.join({ bus })`):
   * it gets every multicast the broker forwards, and its orders go
   * straight to the broker's XPUB, so a multicast takes two hops to the
   * members instead of four. From then on an order from any connection is
   * refused, for good. The sequencer still joins through the barrier and
   * uses the direct channel as any other. One at a time: a new port once
   * the last one closed (its sequencer closed or failed to join); while
   * none is open, the multicasts are not numbered.
   *
   * @returns The port to give the sequencer as its `bus` option.
   * @throws {Error} if the port of a sequencer is open.
   */
  busPort(): BusPort {
    if (this.#localBus !== undefined && !this.#localBus.closed) {
      throw new Error("The broker's bus port is taken: one sequencer per broker at a time");
    }
    this.#gate.takeOrdersFromInside();
    this.#localBus = new LocalBus((frames) => this.#publishOrders(frames), BUS_HWM);
    return this.#localBus;
  }

  /** Publishes orders of the sequencer in this process (checked like any: numbers go up). */
  #publishOrders(frames: Uint8Array[]): void {
    const refusal = this.#gate.check(frames, SEQUENCER_ID, true);
    if (refusal !== null) {
      this.#refuse(`Refused orders of the sequencer in this process: ${refusal}`);
      return;
    }
    this.#localOrders++;
    if (!this.#xpub.trySend(frames)) this.#dropForTheFull(frames);
  }

  /** The forwarder's hook: true to forward a bus message, false (logged, counted) to refuse it. */
  #admitBus(message: Uint8Array[]): boolean {
    const refusal = this.#gate.check(message, messageProperties(message)?.["User-Id"]);
    if (refusal !== null) {
      this.#refuse(`Refused a bus message: ${refusal}`);
      return false;
    }
    const local = this.#localBus;
    if (local !== undefined && !isOrder(message) && !local.offer(message)) {
      this.#sequencerFull();
    }
    return true;
  }

  /** The sequencer in this process has BUS_HWM multicasts waiting: this one is dropped for it. */
  #sequencerFull(): void {
    const count = ++this.#counters.sequencerOverflows;
    if (count <= 10 || count % 100 === 0) {
      this.#warn(
        `The sequencer in this process has ${BUS_HWM} multicasts waiting: more are dropped for it until it has taken some; our members resend theirs, a seed peer's are lost (${count} dropped so far)`,
      );
    }
  }

  /**
   * A subscriber's queue is full (XPUB_NODROP said so): the message goes to
   * everyone with room and is dropped for the full ones, which libzmq then
   * leaves out until they have read their queue down. The fast never wait
   * for the slow; the slow catch up from the sequencer.
   */
  #dropForTheFull(message: Uint8Array[]): boolean {
    this.#xpub.setOption("XPUB_NODROP", false);
    try {
      this.#xpub.trySend(message);
    } finally {
      this.#xpub.setOption("XPUB_NODROP", true);
    }
    const count = ++this.#counters.busOverflows;
    if (count <= 10 || count % 100 === 0) {
      this.#warn(
        `A subscriber of the bus is at its high-water mark (${BUS_HWM}): bus messages are dropped for it alone until it reads its queue down, and it catches up from the sequencer (${count} times so far)`,
      );
    }
    return true;
  }

  /** Counts a refusal and logs it (the first 100, then every 1,000th). */
  #refuse(line: string): void {
    const count = ++this.#counters.refused;
    if (count <= 100 || count % 1000 === 0) this.#warn(`${line} (${count} refused so far)`);
  }

  async #directs(): Promise<void> {
    try {
      for await (const frames of this.#router) {
        if (frames.length !== 4 || frames[1]!.byteLength !== 0) {
          this.#counters.badInput++;
          this.#log(
            `Dropped a direct message of ${frames.length} frames: expected [sender, "", receiver, payload]`,
          );
          continue;
        }
        const [from, , to, payload] = frames as [
          Uint8Array,
          Uint8Array,
          Uint8Array,
          Uint8Array,
        ];
        const userId = messageProperties(frames)?.["User-Id"];
        if (userId !== undefined) this.#verified?.saw(text(from), userId);
        if (userId !== undefined && text(from) !== userId) {
          this.#refuse(
            `Refused a direct message from "${userId}" sent with the routing id ${
              JSON.stringify(text(from).slice(0, 80))
            }: an id is its key's`,
          );
          continue;
        }
        this.#trace?.(`Received ${text(payload)} from ${text(from)} ! Forwarding to ${text(to)}`);
        if (startsWith(to, BROKER_BYTES) && to.byteLength === BROKER_BYTES.byteLength) {
          this.#answerRequest(from, payload);
        } else this.#forwardDirect(from, to, payload);
      }
    } catch (error) {
      if (isClosed(error)) return;
      throw error;
    }
  }

  /**
   * A request to the broker itself, from the sequencer: `HIGHEST <mine>`
   * says where its numbering stands (the gate then expects orders above it)
   * and asks for the highest order the broker has forwarded, answered with
   * `HIGHEST <G>` (a sequencer that starts checks its log against it). From
   * anyone, `HERE` answers `VERIFY` (CURVE mode). Anything else is bad input.
   */
  #answerRequest(from: Uint8Array, payload: Uint8Array): void {
    // The answer to VERIFY: the check above has verified the sender; what
    // waits for it goes out now.
    if (text(payload) === "HERE") return this.#retryNow();
    const [word, number, ...rest] = text(payload).split(" ");
    if ((word === "EVICT" || word === "ADMIT") && rest.length === 0 && number !== undefined) {
      if (text(from) === SEQUENCER_ID) return this.#markEvicted(number, word === "EVICT");
    }
    const announced = word === "HIGHEST" && rest.length === 0 ? seqOf(number ?? "", true) : null;
    if (announced === null || text(from) !== SEQUENCER_ID) {
      this.#counters.badInput++;
      this.#log(`Dropped a request to the broker: expected "HIGHEST <G>" from the sequencer`);
      return;
    }
    const highest = this.#gate.highestOrder;
    this.#gate.announce(announced);
    // A broker started with --resume cannot vouch for what was numbered before
    // it, nor say who is in the group; "seed": a seed peer synced, so orders
    // must stay the seed's frames; max=: the largest payload it takes.
    const seed = this.#anonymousSyncs > 0;
    if (!seed && !this.#resume) this.#saidNoSeed = true;
    const answer = `HIGHEST ${highest}${this.#resume ? " resumed" : ""}${
      seed ? " seed" : ""
    } max=${this.#maxPayload}`;
    this.#forwardDirect(BROKER_BYTES, from, bytes(answer));
  }

  /**
   * The sequencer evicted member `id` (silent too long) or took it back:
   * direct messages to an evicted member are dropped at once, their
   * senders told, until it is back.
   */
  #markEvicted(id: string, evicted: boolean): void {
    if (!evicted) {
      this.#evicted.delete(id);
      return;
    }
    this.#evicted.add(id);
    if (this.#evicted.size > 10_000) this.#evicted.delete(this.#evicted.values().next().value!);
    const queued = this.#waiting.get(id) ?? [];
    this.#waiting.delete(id);
    for (const item of queued) this.#drop(item, evictedNotice(id));
  }

  /**
   * Forwards a direct message without waiting: a recipient that is not
   * connected yet (EHOSTUNREACH) or has no room (its high-water mark) gets
   * it queued, in order, and retried on a timer, so that no recipient holds
   * up the others. After the grace (unknown) or STUCK_MS (not reading) the
   * message is dropped and its sender told.
   */
  #forwardDirect(from: Uint8Array, to: Uint8Array, payload: Uint8Array): void {
    const key = text(to);
    // The sequencer tells an evicted member so, and the broker answers it.
    if (this.#evicted.has(key) && !isOurs(from)) {
      return this.#drop({ from, to, payload, since: 0 }, evictedNotice(key));
    }
    const queued = this.#waiting.get(key);
    const item = { from, to, payload, since: performance.now() };
    if (queued !== undefined) {
      if (queued.length >= MAX_QUEUED_PER_RECIPIENT) {
        this.#drop(
          queued.shift()!,
          `recipient "${key}" is not reading (${MAX_QUEUED_PER_RECIPIENT} waiting)`,
        );
      }
      queued.push(item);
      return;
    }
    if (this.#trySendDirect(item) === "sent") return;
    this.#waiting.set(key, [item]);
    this.#retryTimer ??= setTimeout(() => this.#retryWaiting(), RETRY_MS);
  }

  /** Sends one direct message now: "sent", "full" (no room) or "unknown" (no such peer). */
  #trySendDirect(item: WaitingDirect): "sent" | "full" | "unknown" {
    const to = this.#verified === undefined ? "" : text(item.to);
    if (this.#verified !== undefined && !this.#verified.has(to)) {
      if (this.#verified.shouldAsk(to, performance.now())) this.#askToVerify(item.to);
      return "unknown";
    }
    try {
      if (!this.#router.trySend([item.to, new Uint8Array(0), item.from, item.payload])) {
        return "full";
      }
    } catch (error) {
      if (error instanceof ZmqError && error.code === "EHOSTUNREACH") return "unknown";
      throw error;
    }
    this.#counters.directForwarded++;
    return "sent";
  }

  /** Asks the holder of routing id `to` to show its key's id (CURVE mode). */
  #askToVerify(to: Uint8Array): void {
    this.#notify(to, VERIFY);
  }

  /**
   * Forgets every verified id whenever a peer of the ROUTER that had
   * completed its handshake disconnects (one that never did held no id).
   */
  async #forgetOnDisconnect(monitor: Monitor, verified: VerifiedIds): Promise<void> {
    for await (const event of monitor) {
      if (event.type === "handshake_succeeded") verified.connected(event.value);
      else if (event.type === "disconnected") verified.disconnected(event.value);
    }
  }

  /** Retries the waiting direct messages now rather than at the next tick. */
  #retryNow(): void {
    clearTimeout(this.#retryTimer);
    this.#retryWaiting();
  }

  #retryWaiting(): void {
    this.#retryTimer = undefined;
    if (this.#closed) return;
    const now = performance.now();
    for (const [key, queued] of this.#waiting) {
      while (queued.length > 0) {
        const item = queued[0]!;
        const outcome = this.#trySendDirect(item);
        if (outcome === "sent") {
          queued.shift();
          continue;
        }
        const limit = outcome === "unknown" ? this.#grace : STUCK_MS;
        if (now - item.since < limit) break;
        queued.shift();
        this.#drop(
          item,
          outcome === "unknown"
            ? `unknown recipient "${key}"`
            : `recipient "${key}" is not reading`,
        );
      }
      if (queued.length === 0) this.#waiting.delete(key);
    }
    if (this.#waiting.size > 0) this.#retryTimer = setTimeout(() => this.#retryWaiting(), RETRY_MS);
  }

  /** Drops a direct message, logs it and tells its sender. */
  #drop(item: WaitingDirect, why: string): void {
    this.#counters.unknownRecipients++;
    const notice = `${why}: direct message ${
      JSON.stringify(text(item.payload).slice(0, 200))
    } dropped`;
    this.#log(`Direct message from ${text(item.from)}: ${notice}`);
    try {
      this.#notify(item.from, bytes(notice));
    } catch {
      // The sender is gone too.
    }
  }

  /** Closes the broker (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Closes every socket; resolves when the tasks have ended. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#wake();
    this.#monitor?.close();
    this.#localBus?.close();
    this.#ctx.close();
    await Promise.allSettled(this.#tasks);
    await this.#metrics?.close();
  }

  /** What the broker counted so far: a snapshot. */
  get counters(): Readonly<BrokerCounters> {
    return Object.freeze({
      ...this.#counters,
      forwarded: this.forwarded,
      refusedHandshakes: this.#zap?.refused ?? 0,
      highestOrder: this.#gate.highestOrder,
    });
  }

  /** Refused CURVE handshakes so far (also in `counters`). */
  get refusedHandshakes(): number {
    return this.#zap?.refused ?? 0;
  }

  /** Bus messages the forwarder has passed on, with the in-process sequencer's (also in `counters`). */
  get forwarded(): number {
    return (this.#proxy?.stats.forward ?? 0) + this.#localOrders;
  }
}

const START_BYTES = bytes(START);
const ID_TOPIC_BYTES = bytes(ID_TOPIC_PREFIX);
const BROKER_BYTES = bytes(BROKER_ID);
const VERIFY = bytes("VERIFY");
const EMPTY = new Uint8Array(0);

/** True for the routing ids of the group's own roles: the sequencer and the broker. */
function isOurs(from: Uint8Array): boolean {
  const id = text(from);
  return id === SEQUENCER_ID || id === BROKER_ID;
}

/** The unknown-recipient notice for a direct message to an evicted member. */
function evictedNotice(id: string): string {
  return `unknown recipient "${id}" (the sequencer evicted it from the group: it was silent too long)`;
}
