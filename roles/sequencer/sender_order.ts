/**
 * `SenderOrder`: the sequencer numbers each member's multicasts in the
 * order the member sent them (by their origins' indexes), even when a
 * failure lost some and the member resent them after newer ones went
 * through: a multicast that comes before the one it follows is held back
 * until that one comes. A gap that is not filled within `waitMs` (the
 * member died before it could resend) is passed over, so that nothing
 * waits for ever; memory stays bounded.
 *
 * @module
 */

import type { Origin } from "../protocol/bus.ts";

/** A multicast held back, with when it came. */
interface Held<T> {
  item: T;
  index: number;
  since: number;
}

/** How long a gap in a member's multicasts may hold the later ones back by default, ms. */
export const DEFAULT_SENDER_ORDER_WAIT_MS = 3000;

/** At most this many multicasts are held back in all; beyond, the oldest go on. */
const MAX_HELD = 100_000;

/** Multicasts held back until the ones their members sent before them are numbered. */
export class SenderOrder<T> {
  #held = new Map<string, Map<number, Held<T>>>();
  #count = 0;
  #waitMs: number;
  #oldest = Infinity;

  /** @param waitMs How long a gap may hold later multicasts back, ms. */
  constructor(waitMs = DEFAULT_SENDER_ORDER_WAIT_MS) {
    this.#waitMs = waitMs;
  }

  /** How many are held back now. */
  get size(): number {
    return this.#count;
  }

  /** Holds a multicast back until the one before it (of the same member run) is numbered. */
  hold(origin: Origin, item: T, now: number): void {
    let byIndex = this.#held.get(origin.key);
    if (byIndex === undefined) {
      byIndex = new Map();
      this.#held.set(origin.key, byIndex);
    }
    if (!byIndex.has(origin.index)) this.#count++;
    byIndex.set(origin.index, { item, index: origin.index, since: now });
    this.#oldest = Math.min(this.#oldest, now);
  }

  /** The multicast of `key` with `index`, if held; it is no longer held. */
  take(key: string, index: number): T | undefined {
    const byIndex = this.#held.get(key);
    const held = byIndex?.get(index);
    if (held === undefined) return undefined;
    byIndex!.delete(index);
    if (byIndex!.size === 0) this.#held.delete(key);
    this.#count--;
    return held.item;
  }

  /**
   * The member runs whose gap has held a multicast back for longer than
   * `waitMs` (or all, oldest first, beyond the bound): their held
   * multicasts go on, in index order.
   *
   * @returns Each such run's held multicasts, in index order; no longer held.
   */
  overdue(now: number): T[][] {
    if (this.#count === 0 || (now - this.#oldest < this.#waitMs && this.#count <= MAX_HELD)) {
      return [];
    }
    const released: T[][] = [];
    let oldest = Infinity;
    for (const [key, byIndex] of this.#held) {
      const first = Math.min(...[...byIndex.values()].map((held) => held.since));
      if (now - first >= this.#waitMs || this.#count > MAX_HELD) {
        const items = [...byIndex.values()].sort((a, b) => a.index - b.index);
        released.push(items.map((held) => held.item));
        this.#count -= items.length;
        this.#held.delete(key);
      } else oldest = Math.min(oldest, first);
    }
    this.#oldest = oldest;
    return released;
  }
}
