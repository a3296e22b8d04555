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
  /** Whether it is (or is being put) in the in-sync set. */
  keyed: boolean;
  heardAt: number;
  /** Its in-sync changes, one after the other. */
  chain: Promise<void>;
}

/** The leader's replication to its standbys. */
export class Replication {
  #host: ReplicationHost;
  #registry: InSyncRegistry;
  #ackTimeoutMs: number;
  #standbys = new Map<string, Standby>();
  /** The batch being confirmed: numbered, not yet published. */
  #pending: readonly LoggedOrder[] = [];
  #waiter: { last: number; live: Standby[]; resolve: () => void } | undefined;
  #removals = new Set<Promise<void>>();

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
      inSync: s.keyed && s.state === "live",
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
    this.#forgetSilent();
    this.#pending = orders;
    const last = orders.at(-1)!.seq;
    const targets = [...this.#standbys.values()].filter((s) => s.state !== "copying");
    for (const standby of targets) this.#sendOrders(standby, orders);
    const live = targets.filter((s) => s.state === "live");
    if (live.length > 0) await this.#confirmed(last, live);
    while (this.#removals.size > 0) await Promise.all(this.#removals);
    this.#pending = [];
  }

  /** Waits until every one of `live` confirmed `last` or is no longer live; demotes the late. */
  async #confirmed(last: number, live: Standby[]): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#waiter = { last, live, resolve: done.resolve };
    this.#checkWaiter();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = () => {
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
    if (waiter.live.every((s) => s.state !== "live" || s.acked >= waiter.last)) waiter.resolve();
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

  /** The broker says that `id` is not connected: it is left behind. */
  gone(id: string): void {
    const standby = this.#standbys.get(id);
    if (standby === undefined) return;
    this.#demote(standby, "is no longer connected");
    this.#standbys.delete(id);
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
        keyed: false,
        heardAt: performance.now(),
        chain: Promise.resolve(),
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
    const again = next <= this.#host.published()
      ? this.#host.held(next, this.#host.published())
      : [];
    for (const order of this.#pending) if (order.seq >= next) again.push(order);
    if (again.length > 0) this.#sendOrders(standby, again);
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
    if (standby.state === "live" && !standby.keyed && standby.acked >= standby.liveMark) {
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
    const published = this.#host.published();
    const orders = from <= published
      ? this.#host.held(from, Math.min(published, from + CHUNK - 1))
      : [];
    const end = orders.at(-1)?.seq ?? from - 1;
    if (end >= published) {
      for (const order of this.#pending) if (order.seq > end) orders.push(order);
      standby.state = "tailing";
    }
    standby.sent = orders.at(-1)?.seq ?? from - 1;
    if (orders.length > 0) this.#sendOrders(standby, orders);
    else if (standby.state === "tailing") this.#onAck(standby, standby.sent);
  }

  /** Sends orders as COPY messages that the broker takes. */
  #sendOrders(standby: Standby, orders: readonly LoggedOrder[]): void {
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
   * counts as in the set from the first try on, whatever etcd answers: a
   * put that timed out may still have been made, so a standby left behind
   * later is always taken out first.
   */
  #addKey(standby: Standby): void {
    standby.keyed = true;
    standby.chain = standby.chain.then(() => this.#registry.add(standby.name)).then(
      () => this.#host.log(`Standby ${standby.name} is in sync: it may lead next`),
      (error) =>
        this.#host.log(
          `Could not say in etcd that standby ${standby.name} is in sync (it is waited for all the same): ${error}`,
        ),
    );
  }

  /**
   * Leaves a standby behind: it copies again, and if it was in the in-sync
   * set, it is taken out before anything more is published.
   *
   * @returns Resolves once it is out of the in-sync set.
   */
  #demote(standby: Standby, why: string): Promise<void> {
    const wasLive = standby.state === "live";
    standby.state = "copying";
    standby.acked = 0;
    if (wasLive) this.#host.log(`Standby ${standby.name} ${why}`);
    if (!standby.keyed) return Promise.resolve();
    standby.keyed = false;
    const removal = standby.chain.then(() => this.#registry.remove(standby.name));
    standby.chain = removal.catch(() => {});
    const tracked: Promise<void> = removal.then(
      () => {
        this.#removals.delete(tracked);
        this.#host.log(`Standby ${standby.name} is out of the in-sync set`);
      },
      (error) => {
        throw new Error(
          `Cannot take standby ${standby.name} out of the in-sync set, so nothing more may be published: ${
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

  /** Forgets standbys that are not live and have been silent for a while. */
  #forgetSilent(): void {
    const now = performance.now();
    for (const [id, standby] of this.#standbys) {
      if (standby.state !== "live" && !standby.keyed && now - standby.heardAt > FORGET_MS) {
        this.#standbys.delete(id);
      }
    }
  }
}
