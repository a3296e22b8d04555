/**
 * `HaBroker`: a broker in HA mode. It campaigns in etcd with its address as
 * its key's value; only once elected does it bind its ports and run, as the
 * group's first broker (with the start barrier) or, if a broker led before,
 * as after `--resume`. A broker that loses its lease closes its sockets
 * (the participants move to the next one) and campaigns again. See
 * PROTOCOL.md, "High availability".
 *
 * @module
 */

import { Broker, type BrokerOptions } from "../broker/broker.ts";
import { EtcdClient } from "./etcd.ts";
import { campaignUntilElected, Candidate, DEFAULT_LEASE_TTL_S } from "./election.ts";
import { defaultName, type EtcdGroup, GroupKeys } from "./group_keys.ts";
import { connectHost } from "../role_options.ts";
import { formatBrokerAddress } from "./broker_locator.ts";
import { DEFAULT_BASE_PORT, DEFAULT_HOST } from "../protocol/ids.ts";

/** Options of {@link HaBroker.start}: a broker's, and the group in etcd. */
export interface HaBrokerOptions extends Omit<BrokerOptions, "resume" | "endpoints"> {
  /** Where etcd is, the group's name and the lease TTL. */
  ha: EtcdGroup & {
    /** This broker's name in the group (default: the host's name and the base port). */
    name?: string;
    /** The host participants connect to (default: `host`, or 127.0.0.1 for a wildcard). */
    advertise?: string;
  };
}

/** A broker that runs while etcd elects it. */
export class HaBroker {
  #options: HaBrokerOptions;
  #etcd: EtcdClient;
  #keys: GroupKeys;
  #name: string;
  #ttlS: number;
  #stop = new AbortController();
  #broker: Broker | undefined;
  #candidate: Candidate | undefined;
  #failed = Promise.withResolvers<Error>();
  #loop: Promise<void>;
  #leading = Promise.withResolvers<Broker>();

  private constructor(options: HaBrokerOptions) {
    this.#options = options;
    this.#ttlS = options.ha.leaseTtlS ?? DEFAULT_LEASE_TTL_S;
    this.#etcd = new EtcdClient(options.ha.etcd, { timeoutMs: (this.#ttlS * 1000) / 4 });
    this.#keys = new GroupKeys(options.ha.group);
    const port = options.basePort ?? DEFAULT_BASE_PORT;
    this.#name = options.ha.name ?? defaultName(String(port));
    this.#loop = this.#run().catch((error) => {
      this.#failed.resolve(error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** Campaigns; binds once elected. */
  static start(options: HaBrokerOptions): HaBroker {
    return new HaBroker(options);
  }

  /** Its name in the group. */
  get name(): string {
    return this.#name;
  }

  /** The broker while it is the active one. */
  get broker(): Broker | undefined {
    return this.#broker;
  }

  /** Resolves with the broker the first time it is the active one. */
  get leading(): Promise<Broker> {
    return this.#leading.promise;
  }

  /** Resolves with an error if it stopped for good (its ports cannot be bound). */
  get failed(): Promise<Error> {
    return this.#failed.promise;
  }

  #log(line: string): void {
    (this.#options.warn ?? this.#options.log)?.(line);
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const host = this.#options.host ?? DEFAULT_HOST;
    const advertise = this.#options.ha.advertise ?? connectHost(host);
    const value = formatBrokerAddress({
      host: advertise,
      basePort: this.#options.basePort ?? DEFAULT_BASE_PORT,
    });
    while (!signal.aborted) {
      const elected = await campaignUntilElected(
        () =>
          this.#candidate = new Candidate(this.#etcd, this.#keys.brokers, this.#name, {
            leaseTtlS: this.#ttlS,
            value,
          }),
        signal,
        (line) => this.#log(line),
      );
      if (elected === undefined) return;
      await this.#serve(elected.candidate, elected.epoch);
    }
  }

  /** Runs the broker while it holds the lease. */
  async #serve(candidate: Candidate, epoch: number): Promise<void> {
    const led = await this.#etcd.txn(
      [{ key: candidate.key, target: "CREATE", revision: epoch }],
      [{ range: { key: this.#keys.brokerLed } }, {
        put: { key: this.#keys.brokerLed, value: String(epoch) },
      }],
    ).catch((error) => error as Error);
    if (led instanceof Error || !led.succeeded) {
      this.#log(`Elected (epoch ${epoch}) but could not say so in etcd: campaigning again`);
      await candidate.close();
      return;
    }
    const first = led.responses[0];
    const resume = first !== undefined && "range" in first && first.range.kvs.length > 0;
    // A frozen participant (a deposed sequencer) gives its id up within a TTL.
    let broker: Broker;
    try {
      broker = new Broker({ ...this.#options, resume, peerTimeoutMs: this.#ttlS * 1000 });
    } catch (error) {
      // Its ports cannot be bound: it gives the lead up at once.
      await candidate.close();
      throw error;
    }
    this.#broker = broker;
    this.#leading.resolve(broker);
    this.#log(
      `Active broker of group ${this.#keys.group} (epoch ${epoch})${
        resume ? ", after another: every participant that syncs gets start at once" : ""
      }`,
    );
    const stopped = new Promise<void>((resolve) =>
      this.#stop.signal.addEventListener("abort", () => resolve(), { once: true })
    );
    const loss = await Promise.race([candidate.lost, stopped]);
    this.#broker = undefined;
    await broker.close();
    await candidate.close();
    if (loss !== undefined) this.#log(`No longer the active broker: ${loss.message}; standing by`);
  }

  /** Stops: resigns (a standby takes over at once) and closes the broker. Idempotent. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    await this.#candidate?.close();
  }
}
