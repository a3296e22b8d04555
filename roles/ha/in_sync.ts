/**
 * The in-sync set of sequencers in etcd: who may lead next. Only the leader
 * changes it, each change in a transaction that holds only while its
 * election key is still the one of its epoch, so a deposed leader changes
 * nothing. A new leader takes over only if it is in the set (or no
 * sequencer ever led), and then makes the set itself alone. See
 * PROTOCOL.md, "High availability".
 *
 * @module
 */

import type { Compare, EtcdClient } from "./etcd.ts";
import type { GroupKeys } from "./group_keys.ts";
import type { InSyncRegistry } from "../sequencer/replication.ts";

/** The leader's hold on the set: its election key and epoch. */
interface Holder {
  etcd: EtcdClient;
  keys: GroupKeys;
  /** Its election key, `.../sequencer/<name>`. */
  key: string;
  /** The key's creation revision: the leader's epoch. */
  epoch: number;
}

function stillLeads(holder: Holder): Compare {
  return { key: holder.key, target: "CREATE", revision: holder.epoch };
}

/** The in-sync set as the leader of `epoch` changes it. */
export class EtcdInSync implements InSyncRegistry {
  #holder: Holder;

  /**
   * Changes the set as the leader of `holder.epoch`.
   *
   * @param holder The leader's client, keys, election key and epoch.
   */
  constructor(holder: Holder) {
    this.#holder = holder;
  }

  /** Puts standby `name` in the set. */
  async add(name: string): Promise<void> {
    const { keys, epoch } = this.#holder;
    await this.#change([{ put: { key: keys.inSync(name), value: String(epoch) } }]);
  }

  /** Takes standby `name` out of the set. */
  async remove(name: string): Promise<void> {
    await this.#change([{ deleteRange: { key: this.#holder.keys.inSync(name) } }]);
  }

  async #change(ops: Parameters<EtcdClient["txn"]>[1]): Promise<void> {
    const result = await this.#holder.etcd.txn([stillLeads(this.#holder)], ops);
    if (!result.succeeded) {
      throw new Error(`epoch ${this.#holder.epoch} no longer leads: ${this.#holder.key} is gone`);
    }
  }
}

/**
 * Takes over as the leader of `epoch`: only if `name` is in the in-sync set,
 * or no sequencer has led yet; the set is then `name` alone.
 *
 * @returns Whether it took over; false if it may not lead (not in sync).
 */
export async function takeOver(
  holder: Holder & { name: string },
): Promise<boolean> {
  const { etcd, keys, name, epoch } = holder;
  // One by one: etcd refuses a transaction that deletes a prefix and puts a key in it.
  const others = (await etcd.range(keys.inSyncPrefix, { prefix: true })).kvs
    .map((kv) => kv.key).filter((key) => key !== keys.inSync(name));
  const ops = [
    ...others.map((key) => ({ deleteRange: { key } })),
    { put: { key: keys.inSync(name), value: String(epoch) } },
    { put: { key: keys.led, value: String(epoch) } },
  ];
  const inSync: Compare = {
    key: keys.inSync(name),
    target: "CREATE",
    result: "GREATER",
    revision: 0,
  };
  if ((await etcd.txn([stillLeads(holder), inSync], ops)).succeeded) return true;
  const first: Compare = { key: keys.led, target: "CREATE", revision: 0 };
  return (await etcd.txn([stillLeads(holder), first], ops)).succeeded;
}
