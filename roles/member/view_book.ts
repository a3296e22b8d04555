/**
 * `ViewBook`: a member's side of membership views. It holds the views the
 * sequencer sent until the member has delivered the order each takes effect
 * after, releases them in number order, from the first that has the member
 * in it, and says which it lacks. No I/O: the member feeds it views and
 * its delivered position.
 *
 * @module
 */

import type { View } from "../protocol/view.ts";

/** One member's views. */
export class ViewBook {
  #id: string;
  /** Views known and not yet released, by number. */
  #pending = new Map<number, View>();
  /** The last view released (or passed over, before the member's first). */
  #last = 0;
  /** True once a view with this member in it was released (and until it was evicted). */
  #inGroup = false;
  #highestKnown = 0;

  /** @param id The member's id. */
  constructor(id: string) {
    this.#id = id;
  }

  /** The number of the last view released. */
  get last(): number {
    return this.#last;
  }

  /** The sequencer's epoch whose views these are ("" until one named it). */
  #epoch = "";

  /**
   * Goes on with the views of the sequencer of `epoch`: a sequencer started
   * again numbers its views from 1, so the book starts again (once).
   */
  useEpoch(epoch: string): void {
    if (epoch === this.#epoch) return;
    if (this.#epoch !== "") this.reset();
    this.#epoch = epoch;
  }

  /** Adds a view the sequencer sent (one already released or known is ignored). */
  add(view: View): void {
    if (view.epoch !== undefined) this.useEpoch(view.epoch);
    if (view.view <= this.#last || this.#pending.has(view.view)) return;
    this.#pending.set(view.view, view);
    this.#highestKnown = Math.max(this.#highestKnown, view.view);
  }

  /**
   * The views to release now that the member has delivered every order up
   * to `delivered`: in number order, without gaps, each once its `after` is
   * reached. Only views with this member in them are released: the others
   * (from before it joined, or the one that evicted it) are passed over.
   */
  release(delivered: number): View[] {
    if (this.#pending.size === 0) return [];
    if (!this.#inGroup) this.#passOverViewsWithoutMe();
    const out: View[] = [];
    while (true) {
      const view = this.#pending.get(this.#last + 1);
      if (view === undefined || view.after > delivered) break;
      this.#pending.delete(view.view);
      this.#last = view.view;
      // A view without this member (one that evicted it, or from before it
      // joined) is passed over: its next view is the one that takes it in.
      this.#inGroup = view.members.includes(this.#id);
      if (this.#inGroup) out.push(view);
    }
    return out;
  }

  /** Before the member's first view: goes on at the first known view that has it. */
  #passOverViewsWithoutMe(): void {
    let first = Infinity;
    for (const view of this.#pending.values()) {
      if (view.view < first && view.members.includes(this.#id)) first = view.view;
    }
    if (first === Infinity) return;
    for (const number of this.#pending.keys()) if (number < first) this.#pending.delete(number);
    this.#last = Math.max(this.#last, first - 1);
  }

  /**
   * The first view to ask the sequencer for, or null: its current view is
   * `current` and a view the member needs has not come (lost on the way).
   * Before its first view the member asks only for the current one.
   */
  missing(current: number): number | null {
    if (current <= this.#last) return null;
    if (!this.#inGroup) return current > this.#highestKnown ? current : null;
    if (this.#pending.has(this.#last + 1)) return null;
    return current > this.#last ? this.#last + 1 : null;
  }

  /** The sequencer evicted this member: its next view is the one that takes it back. */
  evicted(): void {
    this.#inGroup = false;
  }

  /** The sequencer restarted: its views are numbered from 1 again. */
  reset(): void {
    this.#pending.clear();
    this.#last = 0;
    this.#highestKnown = 0;
    this.#inGroup = false;
  }
}
