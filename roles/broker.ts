/**
 * `Broker`: the multicast forwarder (XSUB -> XPUB), the start barrier (REP)
 * and the ROUTER for direct messages, in one process.
 *
 * @module
 */

import { type Context, type Proxy, proxy, type Socket, ZmqError } from "../mod.ts";
import {
  BROKER_ID,
  bytes,
  DEFAULT_BASE_PORT,
  DEFAULT_MAX_PAYLOAD,
  type Endpoints,
  endpoints,
  FRAME_SLACK,
  START,
  startsWith,
  text,
} from "./protocol.ts";
import { SocketSet } from "./_sockets.ts";
import { curveServer, type CurveServerOptions, ZapHandler } from "./curve.ts";

/** Options of {@link Broker}. */
export interface BrokerOptions {
  /**
   * The four endpoints, overriding host and base port (e.g. inproc ones
   * for a group inside one process, with a shared `context`).
   */
  endpoints?: Endpoints;
  /** A context to use (and not close) instead of a new one. */
  context?: Context;
  /** The largest payload accepted, bytes; a peer sending more is disconnected. Default 1 MiB. */
  maxPayload?: number;
  /** CURVE mode: encrypt, and let in only the allowed public keys. */
  curve?: CurveServerOptions;
  /** How many participants (clients plus the sequencer) the barrier waits for. */
  expect: number;
  /** The interface to bind. Default 127.0.0.1. */
  host?: string;
  /** The first of the four ports. Default 5559. */
  basePort?: number;
  /** How long a direct message waits for an unknown recipient to connect, ms. Default 1,000. */
  unknownRecipientGraceMs?: number;
  /**
   * Skip the barrier: every participant that syncs gets "start" at once.
   * For a broker started again while the group runs.
   */
  resume?: boolean;
  /** Called with a line per message (the seed's log), only when set: e.g. under --verbose. */
  trace?: (line: string) => void;
  /** Called with a line for the log. */
  log?: (line: string) => void;
}

/** A direct message the broker holds until its recipient can take it. */
interface WaitingDirect {
  from: Uint8Array;
  to: Uint8Array;
  payload: Uint8Array;
  since: number;
}

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
    this.#resume = options.resume ?? false;
    this.#grace = options.unknownRecipientGraceMs ?? 1000;
    this.#log = options.log ?? (() => {});
    this.#trace = options.trace;
    this.started = new Promise((resolve) => this.#markStarted = resolve);
    const at = options.endpoints ??
      endpoints(
        options.host ?? "127.0.0.1",
        options.basePort ?? DEFAULT_BASE_PORT,
      );
    const maxFrame = (options.maxPayload ?? DEFAULT_MAX_PAYLOAD) + FRAME_SLACK;
    this.#ctx = new SocketSet(
      options.context,
      options.curve ? curveServer(options.curve) : undefined,
    );
    try {
      if (options.curve !== undefined) {
        // The ZAP handler must be in place before the first handshake.
        this.#zap = new ZapHandler(this.#ctx, options.curve.allowed, this.#log);
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
      this.#xpub.setOption("SNDHWM", 100_000);
      this.#xpub.bind(at.multicastOut);
      this.#rep = this.#ctx.socket("REP");
      this.#rep.setOption("MAXMSGSIZE", 4096);
      this.#rep.bind(at.barrier);
      this.#router = this.#ctx.socket("ROUTER");
      this.#router.setOption("ROUTER_MANDATORY", true);
      // A second peer claiming a connected member's id is refused, not let in.
      this.#router.setOption("ROUTER_HANDOVER", false);
      this.#router.setOption("MAXMSGSIZE", maxFrame);
      this.#router.bind(at.direct);
    } catch (error) {
      this.#ctx.close();
      throw error;
    }
    this.#tasks.push(this.#barrier(), this.#directs());
  }

  /**
   * The barrier: replies to each sync at once (as the seed does), and
   * publishes `start` only once `expect` participants synced AND as many
   * subscriptions reached the XPUB, so that everyone really receives it.
   * The forwarder runs from the first moment: it is what attaches new
   * connections to the XSUB and passes its subscription upstream.
   */
  async #barrier(): Promise<void> {
    this.#proxy = proxy(this.#xsub, this.#xpub, undefined, {
      // The XSUB subscribes to everything itself: subscriptions are counted,
      // not passed upstream, so that a publisher sees one per connection.
      // Only subscriptions that "start" matches count: a member that takes
      // only orders subscribes to "start" and "sequencer".
      backward: (message) => {
        if (message[0]?.[0] === 1 && receivesStart(message[0])) {
          this.#counters.subscriptions++;
          this.#wake();
        }
        return false;
      },
    });
    this.#tasks.push(this.#proxy.done);
    // Subscribe upstream to everything.
    await this.#xsub.send(new Uint8Array([1]));
    try {
      if (!this.#resume) {
        while (this.#counters.synced < this.#expect) {
          await this.#rep.receive();
          await this.#rep.send("");
          this.#counters.synced++;
          this.#log(`+1 subscriber (${this.#counters.synced}/${this.#expect})`);
        }
        while (this.#counters.subscriptions < this.#expect && !this.#closed) {
          await new Promise<void>((resolve) => this.#wake = resolve);
        }
        if (this.#closed) return;
        await this.#xpub.send(START);
        this.#log(`all ${this.#expect} participants are in: start`);
      }
      this.#markStarted();
      // Late joiners (a restarted sequencer or client) get "start" as the reply.
      while (true) {
        await this.#rep.receive();
        await this.#rep.send(START);
        this.#counters.synced++;
        this.#log(`a late participant joined (${this.#counters.synced})`);
      }
    } catch (error) {
      if (error instanceof ZmqError && error.code === "ECLOSED") return;
      throw error;
    }
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
        this.#trace?.(`Received ${text(payload)} from ${text(from)} ! Forwarding to ${text(to)}`);
        this.#forwardDirect(from, to, payload);
      }
    } catch (error) {
      if (error instanceof ZmqError && error.code === "ECLOSED") return;
      throw error;
    }
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
      this.#router.trySend([item.from, new Uint8Array(0), bytes(BROKER_ID), bytes(notice)]);
    } catch {
      // The sender is gone too.
    }
  }

  /** Closes every socket; resolves when the tasks have ended. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#wake();
    this.#ctx.close();
    await Promise.allSettled(this.#tasks);
  }

  /** What the broker counted so far: a snapshot. */
  get counters(): BrokerCounters {
    return {
      ...this.#counters,
      forwarded: this.#proxy?.stats.forward ?? 0,
      refusedHandshakes: this.#zap?.refused ?? 0,
    };
  }

  /** Refused CURVE handshakes so far (also in `counters`). */
  get refusedHandshakes(): number {
    return this.#zap?.refused ?? 0;
  }

  /** Bus messages the forwarder has passed on (also in `counters`). */
  get forwarded(): number {
    return this.#proxy?.stats.forward ?? 0;
  }
}

const START_BYTES = bytes(START);

/** True if a subscription message (`\x01<topic>`) is for a prefix of "start". */
function receivesStart(subscription: Uint8Array): boolean {
  return startsWith(START_BYTES, subscription.subarray(1));
}
