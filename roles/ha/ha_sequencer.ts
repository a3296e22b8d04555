/**
 * `HaSequencer`: a sequencer in HA mode. It stands by, copying the leader's
 * log ({@linkcode SequencerStandby}), and campaigns in etcd; once elected,
 * and only if it is in the in-sync set, it leads: a {@linkcode Sequencer}
 * on the same log whose epoch is its election's. A leader that loses its
 * lease stops publishing and stands by again. See PROTOCOL.md, "High
 * availability".
 *
 * @module
 */

import {
  LeadershipEnded,
  Sequencer,
  type SequencerLeadership,
  type SequencerOptions,
} from "../sequencer/sequencer.ts";
import { SequencerStandby } from "../sequencer/standby.ts";
import { EtcdClient } from "./etcd.ts";
import { campaignUntilElected, Candidate, DEFAULT_LEASE_TTL_S, sleep } from "./election.ts";
import { defaultName, type EtcdGroup, GroupKeys } from "./group_keys.ts";
import { EtcdInSync, takeOver } from "./in_sync.ts";
import { type ActiveBroker, BrokerLocator } from "./broker_locator.ts";

/** Options of {@link HaSequencer.start}: a sequencer's, with its log, and the group in etcd. */
export interface HaSequencerOptions extends Omit<SequencerOptions, "ha" | "bus"> {
  /** Where etcd is, the group's name and the lease TTL. */
  ha: EtcdGroup & {
    /** This sequencer's name in the group (default: the host's name and the log's). */
    name?: string;
  };
  /** Its log (required in HA mode: a standby's copy lives there). */
  logPath: string;
}

/** What an {@link HaSequencer} is doing. */
export type HaRole = "standby" | "leader";

/** A sequencer that leads when etcd elects it, and stands by otherwise. */
export class HaSequencer {
  #options: HaSequencerOptions;
  #etcd: EtcdClient;
  #keys: GroupKeys;
  #name: string;
  #ttlS: number;
  #stop = new AbortController();
  #standby: SequencerStandby | undefined;
  #sequencer: Sequencer | undefined;
  #candidate: Candidate | undefined;
  #failed = Promise.withResolvers<Error>();
  #loop: Promise<void>;
  #led = Promise.withResolvers<void>();
  #locator: BrokerLocator;
  /** Ends a join as the leader that is underway (the broker changed). */
  #joining: AbortController | undefined;
  /** The active broker, as etcd last said. */
  #broker: ActiveBroker | undefined;

  private constructor(options: HaSequencerOptions) {
    this.#options = options;
    this.#ttlS = options.ha.leaseTtlS ?? DEFAULT_LEASE_TTL_S;
    // Calls well within a third of the TTL: a renewal that hangs must not use it up.
    this.#etcd = new EtcdClient(options.ha.etcd, { timeoutMs: (this.#ttlS * 1000) / 4 });
    this.#keys = new GroupKeys(options.ha.group);
    this.#name = options.ha.name ?? defaultName(logHash(options.logPath));
    this.#locator = new BrokerLocator(options.ha);
    this.#loop = this.#run().catch((error) => {
      this.#failed.resolve(error instanceof Error ? error : new Error(String(error)));
    });
  }

  /**
   * Opens the log, stands by and campaigns.
   *
   * @throws {Error} naming the log when it cannot be opened, or a bad group name.
   */
  static start(options: HaSequencerOptions): HaSequencer {
    return new HaSequencer(options);
  }

  /** Its name in the group. */
  get name(): string {
    return this.#name;
  }

  /** Leading or standing by. */
  get role(): HaRole {
    return this.#sequencer === undefined ? "standby" : "leader";
  }

  /** The sequencer while it leads. */
  get sequencer(): Sequencer | undefined {
    return this.#sequencer;
  }

  /** Resolves the first time it leads. */
  get led(): Promise<void> {
    return this.#led.promise;
  }

  /** Resolves with an error if it stopped for good (its log cannot be written). */
  get failed(): Promise<Error> {
    return this.#failed.promise;
  }

  #log(line: string): void {
    (this.#options.warn ?? this.#options.log)?.(line);
  }

  /** Opens the standby at the active broker. */
  #standBy(): void {
    this.#standby = SequencerStandby.open({
      ...this.#options,
      endpoints: this.#broker!.endpoints,
      name: this.#name,
    });
  }

  /** Finds the active broker and follows it: every new one, the sockets move there. */
  async #findBroker(): Promise<void> {
    const broker = await this.#locator.find(
      this.#options.joinTimeoutMs ?? 30_000,
      this.#stop.signal,
    );
    this.#broker = broker;
    this.#locator.follow(broker, (next) => {
      this.#broker = next;
      this.#log(`The active broker is now ${next.name} (epoch ${next.epoch}): moving there`);
      this.#standby?.moveTo(next.endpoints);
      this.#sequencer?.moveTo(next.endpoints);
      this.#joining?.abort(new Error("the active broker changed"));
    }, (error) => this.#log(`Cannot follow the brokers' election: ${error.message}`));
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    await this.#findBroker();
    this.#standBy();
    while (!signal.aborted) {
      const elected = await campaignUntilElected(
        () =>
          this.#candidate = new Candidate(this.#etcd, this.#keys.sequencers, this.#name, {
            leaseTtlS: this.#ttlS,
          }),
        signal,
        (line) => this.#log(line),
      );
      if (elected === undefined) return;
      if (!(await this.#mayLead(elected.candidate, elected.epoch))) continue;
      await this.#lead(elected.candidate, elected.epoch);
    }
  }

  /** Elected: takes over if in sync; otherwise resigns, says why and waits a TTL. */
  async #mayLead(candidate: Candidate, epoch: number): Promise<boolean> {
    const holder = { etcd: this.#etcd, keys: this.#keys, key: candidate.key, epoch };
    let took = false;
    try {
      took = await takeOver({ ...holder, name: this.#name });
    } catch (error) {
      this.#log(`Cannot take over in etcd: ${(error as Error).message}`);
    }
    if (took) return true;
    this.#log(
      `Elected (epoch ${epoch}) but not in sync: this sequencer may lack orders the last leader published, so it does not lead. Standing by; a sequencer that was in sync (started again with its --log) can lead`,
    );
    await candidate.resign().catch(() => {});
    await sleep(this.#ttlS * 1000, this.#stop.signal);
    return false;
  }

  /** Leads until its lease is lost (then stands by again) or it is closed. */
  async #lead(candidate: Candidate, epoch: number): Promise<void> {
    await this.#standby?.close();
    this.#standby = undefined;
    const registry = new EtcdInSync({
      etcd: this.#etcd,
      keys: this.#keys,
      key: candidate.key,
      epoch,
    });
    this.#log(`Leading in epoch ${epoch}`);
    const leadership = {
      epoch,
      leading: () => candidate.leading,
      registry,
      name: this.#name,
      // Long enough for a standby on a busy machine, short against the lease.
      ackTimeoutMs: (this.#ttlS * 1000) / 4,
    };
    const sequencer = await this.#join(leadership);
    if (sequencer === undefined) {
      await candidate.resign().catch(() => {});
      if (!this.#stop.signal.aborted) this.#standBy();
      return;
    }
    this.#sequencer = sequencer;
    this.#led.resolve();
    const end = await Promise.race([
      candidate.lost.then((loss) => ({ loss })),
      sequencer.failed.then((error) => ({ error })),
    ]);
    this.#sequencer = undefined;
    await sequencer.close();
    await candidate.close();
    // A log that cannot be written stops it for good; a lost lease does not.
    if ("error" in end && !(end.error instanceof LeadershipEnded)) throw end.error;
    if (this.#stop.signal.aborted) return;
    this.#log(
      `No longer leading (epoch ${epoch}): ${
        "loss" in end ? end.loss.message : end.error.message
      }. Standing by`,
    );
    this.#standBy();
  }

  /**
   * Joins at the active broker as the leader; joins again at the next one
   * when the active broker changes meanwhile (its sockets were at the old one).
   *
   * @returns The sequencer, or undefined if it could not join (said why) or was closed.
   */
  async #join(ha: SequencerLeadership): Promise<Sequencer | undefined> {
    while (ha.leading()) {
      const attempt = new AbortController();
      this.#joining = attempt;
      try {
        return await Sequencer.join({
          ...this.#options,
          endpoints: this.#broker!.endpoints,
          signal: AbortSignal.any([this.#stop.signal, attempt.signal]),
          ha,
        });
      } catch (error) {
        if (this.#stop.signal.aborted) return undefined;
        if (attempt.signal.aborted) {
          this.#log("The active broker changed while joining: joining the new one");
          continue;
        }
        // The deposed leader is frozen and still holds the id: the broker
        // drops it once it misses its heartbeats (within a TTL).
        if (/already in the group/.test((error as Error).message)) {
          this.#log("The deposed sequencer still holds the id at the broker: trying again");
          await sleep(250, this.#stop.signal);
          continue;
        }
        this.#log(`Could not join as the leader: ${(error as Error).message}. Standing by`);
        return undefined;
      } finally {
        this.#joining = undefined;
      }
    }
    this.#log(`Lost the lease of epoch ${ha.epoch} while joining. Standing by`);
    return undefined;
  }

  /** Stops: resigns if it leads (a standby takes over at once), closes everything. Idempotent. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#sequencer?.close();
    await this.#candidate?.close();
    await this.#loop;
    await this.#locator.close();
    await this.#sequencer?.close();
    await this.#standby?.close();
    this.#standby = undefined;
  }
}

/** A hash of a sequencer's log path, for its default name: the same when it is started again. */
function logHash(logPath: string): string {
  let hash = 0;
  for (const char of logPath) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash.toString(16);
}
