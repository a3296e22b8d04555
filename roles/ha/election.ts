/**
 * Leader election over etcd, the standard way (etcd's own `concurrency`
 * package, Kubernetes' and Patroni's leases): each candidate holds a lease
 * with a TTL, renewed every sixth of it, and creates the key
 * `<prefix>/<candidate>` with that lease if absent; the leader is the key
 * under the prefix with the lowest creation revision, and the others wait
 * for the key created just before theirs to go. The leader's **epoch** (its
 * fencing token) is its key's creation revision: etcd's revisions only grow,
 * so every later leader has a higher one.
 *
 * A leader that cannot renew its lease deposes itself **before** etcd can
 * expire it: once TTL − one keepalive interval has passed since the last
 * successful renewal was sent (on the local monotonic clock, and a renewal
 * counts from when it was sent, which is before etcd extended the lease),
 * {@linkcode Candidate.lost} settles and {@linkcode Candidate.leading} turns
 * false. Another candidate can only win after the lease expired on etcd, so
 * two leaders never act at once, provided the local clock does not run more
 * than a third slower than etcd's and the process checks `leading` before
 * each act (a timer can fire late on a busy event loop; the getter cannot).
 *
 * @example
 * ```ts ignore
 * import { EtcdClient } from "./etcd.ts";
 * import { Candidate } from "./election.ts";
 *
 * const etcd = new EtcdClient("http://127.0.0.1:2379", { timeoutMs: 300 });
 * await using me = new Candidate(etcd, "zmq-group/g1/sequencer", "seq-a");
 * const { epoch } = await me.campaign();
 * me.lost.then((loss) => console.error(`deposed: ${loss.message}`));
 * // ... number orders with `epoch`, while `me.leading` ...
 * ```
 *
 * @module
 */

import { withDeadline } from "../deadline.ts";
import { type EtcdClient, EtcdError, GrpcCode, type KeyValue } from "./etcd.ts";

/** The lease TTL by default, s. */
export const DEFAULT_LEASE_TTL_S = 2;

/** Why a {@linkcode Candidate} no longer holds its lease. */
export const LossReason = {
  /** No renewal reached etcd in time: deposed before the lease could expire there. */
  UNRENEWED: "unrenewed",
  /** etcd said the lease is gone (expired, or revoked by someone else). */
  EXPIRED: "expired",
  /** {@linkcode Candidate.resign} was called. */
  RESIGNED: "resigned",
  /** {@linkcode Candidate.close} was called. */
  CLOSED: "closed",
} as const;

/** One of {@linkcode LossReason}. */
export type LossReason = typeof LossReason[keyof typeof LossReason];

/** How and when a {@linkcode Candidate} lost its lease. */
export interface LeaseLoss {
  /** Why. */
  reason: LossReason;
  /** A sentence saying why, with the last error, if any. */
  message: string;
  /** When, as a `performance.now()` time. */
  at: number;
  /** How long after the last successful renewal was sent, ms. */
  sinceRenewalMs: number;
  /** The last error of a renewal, if any. */
  cause?: unknown;
}

/** How a {@linkcode Candidate} campaigns. */
export interface CandidateOptions {
  /** The lease TTL, whole seconds (default {@linkcode DEFAULT_LEASE_TTL_S}). */
  leaseTtlS?: number;
  /** The value of its key, e.g. the endpoints it serves on (default ""). */
  value?: string;
}

/** What {@linkcode Candidate.campaign} resolves with: this candidate leads. */
export interface Leadership {
  /** The fencing token: the creation revision of this candidate's key. */
  epoch: number;
  /** Its key, `<prefix>/<candidate>`. */
  key: string;
  /** Its lease id. */
  lease: string;
}

/** The leader under a prefix, as {@linkcode leader} reads it. */
export interface LeaderInfo {
  /** The leader's candidate id (its key after `<prefix>/`). */
  id: string;
  /** The value of its key. */
  value: string;
  /** Its epoch (its key's creation revision). */
  epoch: number;
  /** The store's revision when read. */
  revision: number;
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function checkPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, "");
  if (trimmed === "") throw new TypeError(`An election prefix must not be empty: "${prefix}"`);
  return trimmed;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One candidate of one election: {@linkcode Candidate.campaign} once, then
 * lead until {@linkcode Candidate.lost} settles. A candidate that lost is
 * spent: campaign again with a new one.
 *
 * @example
 * ```ts ignore
 * import { EtcdClient } from "./etcd.ts";
 * import { Candidate } from "./election.ts";
 *
 * const etcd = new EtcdClient("http://127.0.0.1:2379", { timeoutMs: 300 });
 * const standby = new Candidate(etcd, "zmq-group/g1/broker", "broker-b", { leaseTtlS: 2 });
 * const { epoch } = await standby.campaign({ signal: AbortSignal.timeout(60_000) });
 * ```
 */
export class Candidate {
  readonly #etcd: EtcdClient;
  readonly #prefix: string;
  readonly #id: string;
  readonly #key: string;
  readonly #ttlS: number;
  readonly #value: string;
  /** Aborted when the lease is lost: ends the keepalives and every wait. */
  readonly #stop = new AbortController();
  readonly #lost: Promise<LeaseLoss>;
  #resolveLost!: (loss: LeaseLoss) => void;
  #loss: LeaseLoss | undefined;
  #campaigned = false;
  #lease: string | undefined;
  #ttlMs = 0;
  #intervalMs = 0;
  #renewedAt = 0;
  #lastError: unknown;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #keepAlive: Promise<void> = Promise.resolve();
  #epoch: number | undefined;

  /**
   * Makes a candidate; it does nothing until {@linkcode Candidate.campaign}.
   *
   * @param etcd The client (give it a `timeoutMs` below a third of the TTL).
   * @param prefix The election's prefix, e.g. `"zmq-group/g1/sequencer"`.
   * @param id This candidate's id, unique in the election, without "/".
   * @param options The lease TTL and the key's value.
   */
  constructor(etcd: EtcdClient, prefix: string, id: string, options: CandidateOptions = {}) {
    if (id === "" || id.includes("/")) {
      throw new TypeError(`A candidate id must be non-empty, without "/": "${id}"`);
    }
    const ttlS = options.leaseTtlS ?? DEFAULT_LEASE_TTL_S;
    if (!Number.isInteger(ttlS) || ttlS < 1) {
      throw new RangeError(`A lease TTL must be a whole number of seconds >= 1: ${ttlS}`);
    }
    this.#etcd = etcd;
    this.#prefix = checkPrefix(prefix);
    this.#id = id;
    this.#key = `${this.#prefix}/${id}`;
    this.#ttlS = ttlS;
    this.#value = options.value ?? "";
    this.#lost = new Promise((resolve) => this.#resolveLost = resolve);
  }

  /** This candidate's id. */
  get id(): string {
    return this.#id;
  }

  /** Its key, `<prefix>/<id>`. */
  get key(): string {
    return this.#key;
  }

  /** Its epoch once it leads, else `undefined`. */
  get epoch(): number | undefined {
    return this.#epoch;
  }

  /**
   * When the last successful renewal (or the grant) was sent, as a
   * `performance.now()` time (0 before the lease is granted).
   */
  get renewedAt(): number {
    return this.#renewedAt;
  }

  /**
   * When it deposes itself without a renewal, as a `performance.now()` time:
   * {@linkcode Candidate.renewedAt} + TTL − one keepalive interval.
   */
  get deadline(): number {
    return this.#renewedAt + this.#ttlMs - this.#intervalMs;
  }

  /**
   * Whether it leads now: it won, has not lost, and its deadline has not
   * passed (read on the monotonic clock, so true only while etcd cannot yet
   * have expired the lease). Check it before each act that needs leadership.
   */
  get leading(): boolean {
    return this.#epoch !== undefined && this.#loss === undefined &&
      performance.now() < this.deadline;
  }

  /**
   * Settles (never rejects) once this candidate no longer holds its lease:
   * deposed, expired, resigned or closed, with when and why.
   */
  get lost(): Promise<LeaseLoss> {
    return this.#lost;
  }

  /**
   * Takes a lease, creates this candidate's key and waits until it leads.
   *
   * @param options Ends the wait early (the lease is then given up).
   * @returns Its epoch, key and lease.
   * @throws When the lease is lost while waiting, on the signal, or when
   *   etcd cannot be reached.
   */
  async campaign(options: { signal?: AbortSignal } = {}): Promise<Leadership> {
    if (this.#campaigned) throw new Error(`Candidate "${this.#id}" has campaigned already`);
    this.#campaigned = true;
    const signal = options.signal === undefined
      ? this.#stop.signal
      : AbortSignal.any([options.signal, this.#stop.signal]);
    try {
      const sent = performance.now();
      const lease = await this.#etcd.leaseGrant(this.#ttlS, { signal });
      this.#lease = lease.id;
      this.#ttlMs = Math.min(this.#ttlS, lease.ttlS) * 1000;
      this.#intervalMs = this.#ttlMs / 3;
      this.#renewed(sent);
      this.#keepAlive = this.#renewLoop();
      const created = await this.#create(signal);
      await this.#waitForTurn(created, signal);
      this.#epoch = created;
      if (!this.leading) throw new Error("lost the lease");
      return { epoch: created, key: this.#key, lease: lease.id };
    } catch (error) {
      if (this.#loss !== undefined && this.#loss.reason !== LossReason.CLOSED) {
        throw new Error(`Campaign of "${this.#key}" failed: ${this.#loss.message}`, {
          cause: error,
        });
      }
      if (options.signal?.aborted) {
        await this.close();
        throw options.signal.reason;
      }
      if (this.#loss === undefined) await this.close();
      throw new Error(`Campaign of "${this.#key}" failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /**
   * Gives up the lease: stops renewing it and revokes it, which deletes the
   * key, so that the next candidate leads at once. {@linkcode Candidate.lost}
   * settles with `"resigned"` (unless it had settled already).
   *
   * @throws {EtcdError} When the revoke fails (the lease then expires by its TTL).
   */
  async resign(): Promise<void> {
    await this.#end(LossReason.RESIGNED, true);
  }

  /** Resigns if it still holds the lease, ignoring errors; idempotent. */
  async close(): Promise<void> {
    await this.#end(LossReason.CLOSED, false).catch(() => {});
  }

  /** Closes it, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Ends the lease locally, then revokes it if it was still held. */
  async #end(reason: LossReason, throwOnError: boolean): Promise<void> {
    const held = this.#loss === undefined && this.#lease !== undefined;
    this.#lose(reason, reason === LossReason.RESIGNED ? "resigned" : "closed");
    await this.#keepAlive;
    if (!held) return;
    try {
      await this.#etcd.leaseRevoke(this.#lease!);
    } catch (error) {
      if (error instanceof EtcdError && error.code === GrpcCode.NOT_FOUND) return;
      if (throwOnError) throw error;
    }
  }

  #renewed(sent: number): void {
    this.#renewedAt = sent;
    this.#lastError = undefined;
    clearTimeout(this.#watchdog);
    if (this.#loss !== undefined) return;
    this.#watchdog = setTimeout(() => this.#checkDeadline(), this.deadline - performance.now());
  }

  #checkDeadline(): void {
    const now = performance.now();
    if (now < this.deadline) {
      this.#watchdog = setTimeout(() => this.#checkDeadline(), this.deadline - now);
      return;
    }
    const last = this.#lastError === undefined ? "" : `; last error: ${messageOf(this.#lastError)}`;
    this.#lose(
      LossReason.UNRENEWED,
      `no renewal of lease ${this.#lease} reached etcd for ${
        Math.round(now - this.#renewedAt)
      } ms` +
        ` (TTL ${this.#ttlMs} ms): deposed before it can expire${last}`,
    );
  }

  #lose(reason: LossReason, message: string): void {
    if (this.#loss !== undefined) return;
    const at = performance.now();
    this.#loss = {
      reason,
      message,
      at,
      sinceRenewalMs: this.#renewedAt === 0 ? 0 : at - this.#renewedAt,
      ...(this.#lastError === undefined ? {} : { cause: this.#lastError }),
    };
    clearTimeout(this.#watchdog);
    this.#stop.abort(new Error(`Candidate "${this.#id}": ${message}`));
    this.#resolveLost(this.#loss);
  }

  /**
   * Renews the lease every sixth of the TTL, counted from when the last
   * renewal was sent (so a slow answer does not push the next one past the
   * deadline, a third of the TTL before expiry), sooner again after a failure.
   */
  async #renewLoop(): Promise<void> {
    const stop = this.#stop.signal;
    const every = this.#intervalMs / 2;
    let wait = every;
    while (true) {
      await sleep(wait, stop);
      if (stop.aborted) return;
      const sent = performance.now();
      const left = this.deadline - sent;
      if (left <= 0) continue; // the watchdog deposes it
      try {
        await this.#etcd.leaseKeepAlive(this.#lease!, {
          signal: AbortSignal.any([stop, AbortSignal.timeout(Math.ceil(left))]),
        });
        this.#renewed(sent);
        wait = Math.max(0, every - (performance.now() - sent));
      } catch (error) {
        if (stop.aborted) return;
        if (error instanceof EtcdError && error.code === GrpcCode.NOT_FOUND) {
          this.#lastError = error;
          this.#lose(
            LossReason.EXPIRED,
            `etcd says lease ${this.#lease} is gone: ${error.message}`,
          );
          return;
        }
        this.#lastError = error;
        wait = this.#intervalMs / 4;
      }
    }
  }

  /** Creates the key with the lease if absent: its creation revision. */
  async #create(signal: AbortSignal): Promise<number> {
    while (true) {
      const result = await this.#etcd.txn(
        [{ key: this.#key, target: "CREATE", revision: 0 }],
        [{ put: { key: this.#key, value: this.#value, lease: this.#lease! } }],
        [{ range: { key: this.#key } }],
        { signal },
      );
      if (result.succeeded) return result.revision;
      const response = result.responses[0];
      const kv = response !== undefined && "range" in response ? response.range.kvs[0] : undefined;
      // Created by an earlier try of this same call that timed out.
      if (kv !== undefined && kv.lease === this.#lease) return kv.createRevision;
      // Another process with this id (or its predecessor's lease, not expired yet).
      if (kv !== undefined) await this.#waitDeleted(kv.key, result.revision + 1, signal);
    }
  }

  /** Waits until no key created before `created` remains under the prefix. */
  async #waitForTurn(created: number, signal: AbortSignal): Promise<void> {
    while (true) {
      const first = await this.#etcd.range(`${this.#prefix}/`, {
        prefix: true,
        sortByCreate: "ASCEND",
        limit: 1,
        signal,
      });
      const head: KeyValue | undefined = first.kvs[0];
      if (head === undefined || head.createRevision > created) {
        throw new Error(`its key "${this.#key}" was deleted by someone else`);
      }
      if (head.key === this.#key) return;
      const before = await this.#etcd.range(`${this.#prefix}/`, {
        prefix: true,
        sortByCreate: "DESCEND",
        maxCreateRevision: created - 1,
        limit: 1,
        signal,
      });
      const predecessor = before.kvs[0];
      if (predecessor === undefined) continue;
      try {
        await this.#waitDeleted(predecessor.key, before.revision + 1, signal);
      } catch (error) {
        signal.throwIfAborted();
        // A broken watch: look again after a while.
        this.#lastError ??= error;
        await sleep(this.#intervalMs, signal);
      }
    }
  }

  /** Waits for a delete of `key` from `fromRevision` on. */
  async #waitDeleted(key: string, fromRevision: number, signal: AbortSignal): Promise<void> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for await (
        const events of this.#etcd.watch(key, {
          startRevision: fromRevision,
          signal: controller.signal,
        })
      ) {
        if (events.some((event) => event.type === "DELETE")) return;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      controller.abort();
    }
  }
}

/**
 * The current leader under `prefix`: the key with the lowest creation revision.
 *
 * @param etcd The client.
 * @param prefix The election's prefix.
 * @param options A signal.
 * @returns The leader, or `undefined` when no candidate holds a key.
 * @example
 * ```ts ignore
 * const now = await leader(etcd, "zmq-group/g1/sequencer");
 * if (now !== undefined) console.log(`${now.id} leads in epoch ${now.epoch}`);
 * ```
 */
export async function leader(
  etcd: EtcdClient,
  prefix: string,
  options: { signal?: AbortSignal } = {},
): Promise<LeaderInfo | undefined> {
  const trimmed = checkPrefix(prefix);
  const { kvs, revision } = await etcd.range(`${trimmed}/`, {
    prefix: true,
    sortByCreate: "ASCEND",
    limit: 1,
    ...options,
  });
  const head = kvs[0];
  if (head === undefined) return undefined;
  return {
    id: head.key.slice(trimmed.length + 1),
    value: head.value,
    epoch: head.createRevision,
    revision,
  };
}

/**
 * Campaigns with a new candidate from `make()` until one leads; an error
 * (etcd unreachable, the lease lost while waiting) is said and tried again
 * after a second.
 *
 * @param make Makes the next candidate (and may keep it, to close it).
 * @param signal Ends the campaign.
 * @param say Told each failed try.
 * @returns The candidate that leads and its epoch, or undefined once `signal` aborts.
 */
export async function campaignUntilElected(
  make: () => Candidate,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<{ candidate: Candidate; epoch: number } | undefined> {
  while (!signal.aborted) {
    const candidate = make();
    try {
      const { epoch } = await candidate.campaign({ signal });
      return { candidate, epoch };
    } catch (error) {
      if (signal.aborted) break;
      say(`Cannot campaign in etcd (trying again in 1 s): ${messageOf(error)}`);
      await sleep(1000, signal);
    }
  }
  return undefined;
}

/**
 * Waits until the leader under `prefix` is other than the one of epoch
 * `knownEpoch` (`undefined`: none), watching the prefix.
 *
 * @param etcd The client.
 * @param prefix The election's prefix.
 * @param knownEpoch The epoch of the leader known now, or `undefined` for none.
 * @param options How long to wait at most (default 10 s) and a signal.
 * @returns The new leader, or `undefined` when the known one went and no other leads yet.
 * @throws When the time runs out, naming the prefix and the epoch.
 * @example
 * ```ts ignore
 * const first = await leader(etcd, "zmq-group/g1/broker");
 * const next = await nextLeader(etcd, "zmq-group/g1/broker", first?.epoch, { timeoutMs: 5000 });
 * ```
 */
export async function nextLeader(
  etcd: EtcdClient,
  prefix: string,
  knownEpoch: number | undefined,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<LeaderInfo | undefined> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const controller = new AbortController();
  const signal = options.signal === undefined
    ? controller.signal
    : AbortSignal.any([options.signal, controller.signal]);
  const trimmed = checkPrefix(prefix);
  const look = async (): Promise<LeaderInfo | undefined> => {
    while (true) {
      const now = await leader(etcd, trimmed, { signal });
      if (now?.epoch !== knownEpoch) return now;
      try {
        for await (
          const _ of etcd.watch(`${trimmed}/`, {
            prefix: true,
            startRevision: now!.revision + 1,
            signal,
          })
        ) break;
      } catch (error) {
        signal.throwIfAborted();
        // A broken watch: look again after a while.
        void error;
        await sleep(100, signal);
      }
    }
  };
  try {
    return await withDeadline(
      performance.now() + timeoutMs,
      `a leader of "${trimmed}" other than ${
        knownEpoch === undefined ? "none" : `epoch ${knownEpoch}`
      }`,
      look(),
      options.signal,
    );
  } finally {
    controller.abort();
  }
}
