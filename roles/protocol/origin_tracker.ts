/**
 * `OriginTracker`: which multicasts (by origin: member run and index) have
 * been seen, so that a copy sent again is recognised. Memory stays small:
 * per member run, a watermark below which everything was seen, and the few
 * indexes seen above it.
 *
 * @module
 */

import type { Origin } from "./bus.ts";

/** The set of origins seen so far. */
export class OriginTracker {
  #byKey = new Map<string, { watermark: number; above: Set<number> }>();

  /**
   * Records an origin.
   *
   * @returns False if it was recorded before (a copy).
   */
  record(origin: Origin): boolean {
    let entry = this.#byKey.get(origin.key);
    if (entry === undefined) {
      entry = { watermark: 0, above: new Set() };
      this.#byKey.set(origin.key, entry);
    }
    if (origin.index <= entry.watermark || entry.above.has(origin.index)) return false;
    entry.above.add(origin.index);
    while (entry.above.delete(entry.watermark + 1)) entry.watermark++;
    return true;
  }

  /**
   * Records an origin only if it is the next of its run (one lookup, for
   * the sequencer's hot path).
   *
   * @returns "copy" if it was recorded before, "early" if an index before
   *   it was not seen yet (it is not recorded), else "recorded".
   */
  recordNext(origin: Origin): "copy" | "early" | "recorded" {
    let entry = this.#byKey.get(origin.key);
    if (entry === undefined) {
      entry = { watermark: 0, above: new Set() };
      this.#byKey.set(origin.key, entry);
    }
    if (origin.index <= entry.watermark || entry.above.has(origin.index)) return "copy";
    if (origin.index > entry.watermark + 1) return "early";
    entry.watermark++;
    while (entry.above.delete(entry.watermark + 1)) entry.watermark++;
    return "recorded";
  }

  /** The next index of member run `key` that was not seen (1 for a run never seen). */
  next(key: string): number {
    return (this.#byKey.get(key)?.watermark ?? 0) + 1;
  }

  /** True if the origin was recorded. */
  has(origin: Origin): boolean {
    const entry = this.#byKey.get(origin.key);
    return entry !== undefined &&
      (origin.index <= entry.watermark || entry.above.has(origin.index));
  }
}
