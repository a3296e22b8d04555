/**
 * `BrokerLocator`: how a participant finds the active broker in HA mode.
 * The active broker's election key holds its address; a participant reads
 * it to join, then follows the election and moves its sockets to every new
 * broker. See PROTOCOL.md, "High availability".
 *
 * @module
 */

import { type Endpoints, endpoints } from "../protocol/ids.ts";
import { EtcdClient } from "./etcd.ts";
import { DEFAULT_LEASE_TTL_S, leader, type LeaderInfo, nextLeader, sleep } from "./election.ts";
import { type EtcdGroup, GroupKeys } from "./group_keys.ts";

/** Where a broker can be reached: the value of its election key. */
export interface BrokerAddress {
  /** The host participants connect to. */
  host: string;
  /** Its first port. */
  basePort: number;
}

/** The value of a broker's election key. */
export function formatBrokerAddress(address: BrokerAddress): string {
  return JSON.stringify({ host: address.host, basePort: address.basePort });
}

/** The endpoints of a broker's election value, or null if it is not one. */
export function parseBrokerAddress(value: string): Endpoints | null {
  try {
    const { host, basePort } = JSON.parse(value);
    if (typeof host !== "string" || host === "" || !Number.isInteger(basePort)) return null;
    if (basePort < 1 || basePort > 65532) return null;
    return endpoints(host, basePort);
  } catch {
    return null;
  }
}

/** The active broker: its endpoints and its election's epoch. */
export interface ActiveBroker {
  /** Its four endpoints. */
  endpoints: Endpoints;
  /** Its epoch (its election key's creation revision). */
  epoch: number;
  /** Its name in the group. */
  name: string;
}

/** Finds the active broker of a group, and follows it. */
export class BrokerLocator {
  #etcd: EtcdClient;
  #prefix: string;
  #stop = new AbortController();
  #following: Promise<void> | undefined;

  /**
   * Makes a locator; it reads etcd only when asked.
   *
   * @param ha Where etcd is and the group's name.
   */
  constructor(ha: EtcdGroup) {
    const ttlS = ha.leaseTtlS ?? DEFAULT_LEASE_TTL_S;
    this.#etcd = new EtcdClient(ha.etcd, { timeoutMs: (ttlS * 1000) / 2 });
    this.#prefix = new GroupKeys(ha.group).brokers;
  }

  /**
   * The active broker, waiting for one to be elected.
   *
   * @throws {Error} after `timeoutMs`, naming the group's key and etcd's last error.
   */
  async find(timeoutMs: number, signal?: AbortSignal): Promise<ActiveBroker> {
    const deadline = performance.now() + timeoutMs;
    let why = "no broker is elected";
    while (performance.now() < deadline) {
      signal?.throwIfAborted();
      try {
        const found = active(await leader(this.#etcd, this.#prefix, { signal }));
        if (found !== null) return found;
      } catch (error) {
        why = (error as Error).message;
      }
      await sleep(100, signal ?? this.#stop.signal);
    }
    throw new Error(
      `Timed out after ${timeoutMs} ms looking for the active broker under ${this.#prefix} in etcd: ${why}`,
    );
  }

  /**
   * From `known` on, calls `onMove` with every new active broker, until closed.
   *
   * @param known The broker the participant is connected to.
   * @param onMove Moves the participant's sockets.
   * @param onError Told when etcd cannot be read (it is tried again).
   */
  follow(
    known: ActiveBroker,
    onMove: (broker: ActiveBroker) => void,
    onError: (error: Error) => void = () => {},
  ): void {
    const signal = this.#stop.signal;
    this.#following = (async () => {
      let epoch: number | undefined = known.epoch;
      while (!signal.aborted) {
        try {
          // undefined while no broker leads: then the next to be elected.
          const info = await nextLeader(this.#etcd, this.#prefix, epoch, { signal });
          epoch = info?.epoch;
          const next = active(info);
          if (next !== null) onMove(next);
        } catch (error) {
          if (signal.aborted) return;
          if (!/Timed out/.test((error as Error).message)) onError(error as Error);
          await sleep(200, signal);
        }
      }
    })();
  }

  /** Stops following. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#following;
  }
}

function active(info: LeaderInfo | undefined): ActiveBroker | null {
  if (info === undefined) return null;
  const at = parseBrokerAddress(info.value);
  return at === null ? null : { endpoints: at, epoch: info.epoch, name: info.id };
}
