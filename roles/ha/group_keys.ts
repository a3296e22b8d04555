/**
 * Where a group keeps its HA state in etcd, under `zmq-group/<group>/`:
 *
 * | key                          | what                                                      |
 * | ---------------------------- | --------------------------------------------------------- |
 * | `broker/<name>`              | the brokers' election; the value is the broker's address  |
 * | `sequencer/<name>`           | the sequencers' election                                  |
 * | `in-sync/<name>`             | a sequencer that holds every published order: it may lead |
 * | `broker-led`                 | the epoch of the latest broker that was active            |
 * | `sequencer-led`              | the epoch of the latest sequencer that led                |
 *
 * @module
 */

import { isClientId } from "../protocol/ids.ts";

/** The HA options every role takes: where etcd is, and the group's name. */
export interface EtcdGroup {
  /** etcd's client URLs (`--etcd`), e.g. `http://127.0.0.1:2379`. */
  etcd: string | readonly string[];
  /** The group's name (`--group`): 1 to 64 of `A-Z a-z 0-9 _ . -`. */
  group: string;
  /** The leases' TTL, whole seconds (`--lease-ttl`, default 2). */
  leaseTtlS?: number;
}

/**
 * A broker's or sequencer's name when it is given none: the host's name
 * (as id characters, at most 40 of them) and `suffix` (its port, its log's hash).
 */
export function defaultName(suffix: string): string {
  return `${Deno.hostname().replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 40)}-${suffix}`;
}

/** The keys of one group. */
export class GroupKeys {
  /** `zmq-group/<group>`. */
  readonly root: string;

  /**
   * @param group The group's name.
   * @throws {TypeError} naming the group when it is no valid name.
   */
  constructor(readonly group: string) {
    if (!isClientId(group)) {
      throw new TypeError(
        `Invalid group name ${JSON.stringify(group)}: expected 1 to 64 of A-Z a-z 0-9 _ . -`,
      );
    }
    this.root = `zmq-group/${group}`;
  }

  /** The brokers' election prefix. */
  get brokers(): string {
    return `${this.root}/broker`;
  }

  /** The sequencers' election prefix. */
  get sequencers(): string {
    return `${this.root}/sequencer`;
  }

  /** The prefix of the in-sync set (with the trailing "/"). */
  get inSyncPrefix(): string {
    return `${this.root}/in-sync/`;
  }

  /** The in-sync key of sequencer `name`. */
  inSync(name: string): string {
    return `${this.inSyncPrefix}${name}`;
  }

  /** The key that says a broker has led: the next one runs as after `--resume`. */
  get brokerLed(): string {
    return `${this.root}/broker-led`;
  }

  /** The key that says a sequencer has led. */
  get led(): string {
    return `${this.root}/sequencer-led`;
  }
}
