/**
 * `Replication`: the active sequencer's side of HA mode. Before a batch of
 * orders is published, every standby that may lead next (one "in sync",
 * with a key in etcd) holds it in its log; a standby that does not confirm
 * in time is first taken out of the in-sync set (in etcd), then left behind.
 * So no order anyone saw is unknown to the next leader. See PROTOCOL.md,
 * "High availability".
 *
 * A standby goes through three states: `copying` (it reads the leader's log
 * in chunks, each asked for by its `FOLLOW` or `ACK`), `tailing` (it has had
 * everything and gets each new batch, but nothing waits for it) and `live`
 * (it confirmed everything published: every batch now waits for it, and
 * once it confirmed the batch that was underway it is put in the in-sync set).
 *
 * @module
 */

import type { LoggedOrder } from "./order_log.ts";
import { batchedSize } from "../protocol/order_batch.ts";
import { decodeReplica, encodeCopy, STANDBY_PREFIX } from "../protocol/replica.ts";
import { ProtocolError } from "../protocol/bus.ts";
import { LeadershipEnded } from "./leadership_ended.ts";

/** Where the leader records which standbys may lead next (etcd in HA mode). */
export interface InSyncRegistry {
  /** Records that standby `name` holds every published order. */
  add(name: string): Promise<void>;
  /** Records that it may no longer; resolves once the record is gone. */
  remove(name: string): Promise<void>;
}

/** What replication needs of the sequencer. */
export interface ReplicationHost {
  /** The leader's epoch. */
  readonly epoch: string;
  /** Sends a direct message to routing id `to`, without waiting. */
  send(to: string, payload: Uint8Array): void;
  /** Orders `first` to `last` from the history and the log (possibly fewer, from `first`). */
  held(first: number, last: number): LoggedOrder[];
  /** The highest order published (or about to be, its batch confirmed). */
  published(): number;
  /** The largest direct message the broker takes, bytes. */
  maxBytes(): number;
  /** Whether a direct message can go out now (a broker is connected). */
  connected(): boolean;
  /** Whether this sequencer still leads: nothing is changed or copied once it does not. */
  leading(): boolean;
  /** Logs a line. */
  log(line: string): void;
}

/** How long the leader waits for a live standby's confirmation by default, ms. */
export const DEFAULT_ACK_TIMEOUT_MS = 500;

/** Orders in one chunk of a standby's copy. */
const CHUNK = 2048;

/** A standby not heard for this long, and not live, is forgotten, ms. */
const FORGET_MS = 10_000;

type StandbyState = "copying" | "tailing" | "live";

interface Standby {
  name: string;
  id: string;
  state: StandbyState;
  /** The highest order it confirmed. */
  acked: number;
  /** The highest order numbered when it went live: in sync once it confirmed that. */
  liveMark: number;
  /** The highest order sent to it. */
  sent: number;
  heardAt: number;
}

/** The leader's replication to its standbys. */
export class Replication {
  #host: ReplicationHost;
  #registry: InSyncRegistry;
  #ackTimeoutMs: number;
  #standbys = new Map<string, Standby>();
  /** The batch being confirmed: numbered, not yet published. */
  #pending: readonly LoggedOrder[] = [];
  #waiter:
    | { last: number; live: Standby[]; joining: Standby[]; resolve: () => void }
    | undefined;
  #removals = new Set<Promise<void>>();
  /**
   * The standbys (by name) that may be in the in-sync set, with the count of
   * the last try to put each in: from the first try until it was taken out
   * after the last, whatever etcd answered (a put that timed out may have
   * been made). Kept when a standby is forgotten.
   */
  #maybeInSet = new Map<string, number>();
  #tries = 0;
  /** Each standby's changes of the set, one after the other, by name. */
  #chains = new Map<string, Promise<void>>();
  /** Set by close(): nothing more is copied, changed or waited for. */
  #closed = false;

  /**
   * @param host The sequencer's sends and reads.
   * @param registry The in-sync set.
   * @param ackTimeoutMs How long a batch waits for a live standby.
   */
  constructor(host: ReplicationHost, registry: InSyncRegistry, ackTimeoutMs: number) {
    this.#host = host;
    this.#registry = registry;
    this.#ackTimeoutMs = ackTimeoutMs;
  }

  /** True for the routing id of a standby. */
  static isStandby(id: string): boolean {
    return id.startsWith(STANDBY_PREFIX) && id.length > STANDBY_PREFIX.length;
  }

  /** The standbys now: name, state and what each confirmed (for `/status`). */
  get standbys(): { name: string; state: StandbyState; acked: number; inSync: boolean }[] {
    return [...this.#standbys.values()].map((s) => ({
      name: s.name,
      state: s.state,
      acked: s.acked,
      inSync: this.#maybeInSet.has(s.name) && s.state === "live",
    }));
  }

  /**
   * Sends a numbered batch to the standbys that copy live, and resolves once
   * each live one confirmed it or was taken out of the in-sync set.
   *
   * @throws When the in-sync set cannot be changed (etcd unreachable, or
   *   this sequencer no longer leads): the batch must not be published.
   */
  async copy(orders: readonly LoggedOrder[]): Promise<void> {
    if (orders.length === 0) return;
    this.#checkOpen();
    this.#forgetSilent();
    this.#pending = orders;
    const last = orders.at(-1)!.seq;
    const targets = [...this.#standbys.values()].filter((s) => s.state !== "copying");
    for (const standby of targets) this.#sendOrders(standby, orders);
    const live = targets.filter((s) => s.state === "live");
    // A tailing standby that has been sent every order up to this batch goes
    // live once it confirms it: the batch waits for it too (no longer than
    // for a live one, and it is not left behind if it is late). Without the
    // wait its confirmation would always come a batch late under load.
    const joining = targets.filter((s) => s.state === "tailing" && s.sent >= last);
    if (live.length + joining.length > 0) await this.#confirmed(last, live, joining);
    while (this.#removals.size > 0) await Promise.all(this.#removals);
    this.#checkOpen();
  }

  /**
   * The batch that `copy()` confirmed is in the history now (call at once,
   * in the same turn): from here on it is served from there.
   */
  inHistory(): void {
    this.#pending = [];
  }

  /**
   * Stops: a batch waiting for confirmations fails (it is not published),
   * and nobody is left behind any more, so the standbys in sync stay so.
   */
  close(): void {
    this.#closed = true;
    this.#waiter?.resolve();
  }

  #checkOpen(): void {
    if (this.#closed || !this.#host.leading()) {
      throw new LeadershipEnded(
        "This sequencer no longer leads (closed, or its lease may have gone): nothing more is copied or published",
      );
    }
  }

  /**
   * Waits until every one of `live` confirmed `last` or is no longer live,
   * and each of `joining` confirmed it or is late; demotes the late live ones.
   */
  async #confirmed(last: number, live: Standby[], joining: Standby[]): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#waiter = { last, live, joining, resolve: done.resolve };
    this.#checkWaiter();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = () => {
      if (this.#closed) return;
      // No broker (it died, or is being replaced): nobody can confirm, and
      // nothing can be published either; the batch goes out again to the next one.
      if (!this.#host.connected()) {
        timer = setTimeout(late, this.#ackTimeoutMs);
        return;
      }
      for (const standby of live) {
        if (standby.state === "live" && standby.acked < last) {
          this.#demote(
            standby,
            `did not confirm order ${last} within ${this.#ackTimeoutMs} ms`,
          );
        }
      }
      // The late joining ones are not waited for any more.
      if (this.#waiter !== undefined) this.#waiter.joining = [];
      this.#checkWaiter();
    };
    timer = setTimeout(late, this.#ackTimeoutMs);
    await done.promise;
    clearTimeout(timer);
    this.#waiter = undefined;
  }

  #checkWaiter(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    const confirmed = (s: Standby) => s.acked >= waiter.last;
    if (
      waiter.live.every((s) => s.state !== "live" || confirmed(s)) &&
      waiter.joining.every((s) => s.state === "copying" || confirmed(s))
    ) waiter.resolve();
  }

  /** A direct message from a standby's routing id. */
  onMessage(id: string, payload: Uint8Array): void {
    let message;
    try {
      message = decodeReplica(payload);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#host.log(`Dropped a bad message from ${id}: ${error.message}`);
      return;
    }
    const standby = this.#standby(id);
    standby.heardAt = performance.now();
    if (message.kind === "follow") this.#onFollow(standby, message.next, message.epoch);
    else if (message.kind === "ack") this.#onAck(standby, message.last);
  }

  /**
   * The broker came back, or another took over: what was on its way to the
   * standbys may be lost, so the batch being confirmed goes out again.
   */
  brokerBack(): void {
    for (const standby of this.#standbys.values()) {
      if (standby.state === "copying") continue;
      const missing = this.#pending.filter((order) => order.seq > standby.acked);
      if (missing.length > 0) this.#sendOrders(standby, missing);
    }
  }

  /**
   * The broker says that `id` is not connected. A copying one is forgotten;
   * a live one is left behind only by the wait for its confirmation (it may
   * just be moving to a new broker, later than the leader).
   */
  gone(id: string): void {
    if (this.#standbys.get(id)?.state === "copying") this.#standbys.delete(id);
  }

  #standby(id: string): Standby {
    let standby = this.#standbys.get(id);
    if (standby === undefined) {
      standby = {
        name: id.slice(STANDBY_PREFIX.length),
        id,
        state: "copying",
        acked: 0,
        liveMark: 0,
        sent: 0,
        heardAt: performance.now(),
      };
      this.#standbys.set(id, standby);
      this.#host.log(`Standby ${standby.name} follows`);
    }
    return standby;
  }

  #onFollow(standby: Standby, next: number, epoch: string): void {
    const numbered = this.#numbered();
    if (epoch !== this.#host.epoch || next > numbered + 1) {
      // It copied from another leader (or holds what was never published): it
      // empties its log for the copy, so only once it is out of the in-sync set.
      this.#demote(standby, `copies from another epoch (${epoch}): it copies again from 1`)
        .then(() => this.#serve(standby, 1), () => {});
      return;
    }
    if (standby.state === "copying") return this.#serve(standby, next);
    // Otherwise a heartbeat of one that has everything, or one that lacks
    // orders sent to it (lost on the way, with a broker): they go again,
    // and nothing waits any less for it meanwhile.
    if (next > standby.sent) return;
    if (standby.sent - next >= CHUNK) {
      this.#demote(standby, `lacks orders from ${next} on: it copies again from there`);
      return this.#serve(standby, next);
    }
    const { orders } = this.#chunkFrom(next);
    if (orders.length > 0) this.#sendOrders(standby, orders);
  }

  #onAck(standby: Standby, last: number): void {
    if (standby.state === "copying") {
      // The last message of a chunk: the next chunk.
      if (last === standby.sent) this.#serve(standby, last + 1);
      return;
    }
    standby.acked = Math.max(standby.acked, last);
    if (standby.state === "tailing" && standby.acked >= this.#host.published()) {
      standby.state = "live";
      standby.liveMark = this.#numbered();
    }
    if (
      standby.state === "live" && !this.#maybeInSet.has(standby.name) &&
      standby.acked >= standby.liveMark
    ) {
      this.#addKey(standby);
    }
    this.#checkWaiter();
  }

  /** The highest order numbered: published, or in the batch being confirmed. */
  #numbered(): number {
    return this.#pending.at(-1)?.seq ?? this.#host.published();
  }

  /** Sends the next chunk of its copy from `from`; at the end it tails. */
  #serve(standby: Standby, from: number): void {
    const { orders, toEnd } = this.#chunkFrom(from);
    if (toEnd) standby.state = "tailing";
    standby.sent = orders.at(-1)?.seq ?? from - 1;
    if (orders.length > 0) this.#sendOrders(standby, orders);
    else if (standby.state === "tailing") this.#onAck(standby, standby.sent);
  }

  /**
   * At most a chunk of orders from `from` on: from the history and the log,
   * and, when that reaches what is published, the batch being confirmed too.
   */
  #chunkFrom(from: number): { orders: LoggedOrder[]; toEnd: boolean } {
    const published = this.#host.published();
    const orders = from <= published
      ? this.#host.held(from, Math.min(published, from + CHUNK - 1))
      : [];
    const end = orders.at(-1)?.seq ?? from - 1;
    if (end < published) return { orders, toEnd: false };
    for (const order of this.#pending) if (order.seq > end) orders.push(order);
    return { orders, toEnd: true };
  }

  /** Sends orders as COPY messages that the broker takes. */
  #sendOrders(standby: Standby, orders: readonly LoggedOrder[]): void {
    if (this.#closed || !this.#host.leading()) return;
    const limit = this.#host.maxBytes();
    let start = 0;
    while (start < orders.length) {
      let end = start + 1;
      let size = batchedSize(orders[start]!.payload);
      while (end < orders.length && (size += batchedSize(orders[end]!.payload)) <= limit) end++;
      this.#host.send(standby.id, encodeCopy(this.#host.epoch, orders.slice(start, end)));
      standby.sent = Math.max(standby.sent, orders[end - 1]!.seq);
      start = end;
    }
  }

  /**
   * Puts a standby in the in-sync set (etcd), after any change before. It
   * may be in the set from the first try on, whatever etcd answers (a put
   * that timed out may still have been made): a standby left behind later
   * is always taken out first.
   */
  #addKey(standby: Standby): void {
    if (this.#closed || !this.#host.leading()) return;
    const { name } = standby;
    this.#maybeInSet.set(name, ++this.#tries);
    this.#chain(name, () => this.#registry.add(name)).then(
      () => this.#host.log(`Standby ${name} is in sync: it may lead next`),
      (error) =>
        this.#host.log(
          `Could not say in etcd that standby ${name} is in sync (it is waited for all the same): ${error}`,
        ),
    );
  }

  /**
   * Leaves a standby behind: it copies again, and if it may be in the
   * in-sync set, it is taken out before anything more is published.
   *
   * @returns Resolves once it is out of the in-sync set; rejects if it
   *   cannot be taken out (then nothing more may be published).
   */
  #demote(standby: Standby, why: string): Promise<void> {
    const wasLive = standby.state === "live";
    standby.state = "copying";
    standby.acked = 0;
    if (wasLive) this.#host.log(`Standby ${standby.name} ${why}`);
    const { name } = standby;
    const tried = this.#maybeInSet.get(name);
    if (tried === undefined) return Promise.resolve();
    const removal = this.#chain(name, () => {
      if (this.#closed || !this.#host.leading()) {
        throw new Error("this sequencer no longer leads");
      }
      return this.#registry.remove(name);
    });
    const tracked: Promise<void> = removal.then(
      () => {
        this.#removals.delete(tracked);
        // Unless it was tried again since (that put comes after this removal).
        if (this.#maybeInSet.get(name) === tried) this.#maybeInSet.delete(name);
        this.#host.log(`Standby ${name} is out of the in-sync set`);
      },
      (error) => {
        throw new LeadershipEnded(
          `Cannot take standby ${name} out of the in-sync set, so nothing more may be published: ${
            error instanceof Error ? error.message : error
          }`,
        );
      },
    );
    // Awaited by the next copy(); handled now so that an early failure is not unhandled.
    tracked.catch(() => {});
    this.#removals.add(tracked);
    this.#checkWaiter();
    return tracked;
  }

  /** Runs `change` after the changes of standby `name` before it. */
  #chain(name: string, change: () => Promise<void>): Promise<void> {
    const done = (this.#chains.get(name) ?? Promise.resolve()).then(change);
    const settled = done.catch(() => {});
    this.#chains.set(name, settled);
    void settled.then(() => {
      if (this.#chains.get(name) === settled) this.#chains.delete(name);
    });
    return done;
  }

  /** Forgets standbys that are not live and have been silent for a while. */
  #forgetSilent(): void {
    const now = performance.now();
    for (const [id, standby] of this.#standbys) {
      if (standby.state !== "live" && now - standby.heardAt > FORGET_MS) {
        this.#standbys.delete(id);
      }
    }
  }
}
