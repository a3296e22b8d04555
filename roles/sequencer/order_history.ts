/**
 * `OrderHistory`: the sequencer's memory of the last orders it gave, for
 * retransmission. Bounded: the oldest are forgotten.
 *
 * @module
 */

import type { Origin } from "../protocol/bus.ts";

/** An order as the history keeps it. */
export interface HistoryEntry {
  /** The payload. */
  payload: Uint8Array;
  /** Where the multicast came from, if its sender said. */
  origin: Origin | null;
}

/** The last `capacity` orders, by sequence number. */
export class OrderHistory {
  #entries: (HistoryEntry | undefined)[];
  #highest = 0;

  /**
   * Creates an empty history.
   *
   * @param capacity How many orders to keep (at least 1).
   */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Invalid history capacity ${capacity}: expected a whole number >= 1`,
      );
    }
    this.#entries = new Array(capacity);
  }

  /** The highest sequence number recorded (0 if none). */
  get highest(): number {
    return this.#highest;
  }

  /** The lowest sequence number still held (highest + 1 when empty). */
  get lowest(): number {
    return Math.max(1, this.#highest - this.capacity + 1);
  }

  /** Records order `seq` (must be highest + 1, or any when empty). */
  add(seq: number, payload: Uint8Array, origin: Origin | null = null): void {
    this.#entries[seq % this.capacity] = { payload, origin };
    this.#highest = seq;
  }

  /** Order `seq`, if still held. */
  get(seq: number): HistoryEntry | undefined {
    if (seq > this.#highest || seq < this.lowest) return undefined;
    return this.#entries[seq % this.capacity];
  }
}
