/**
 * `Membership`: the sequencer's record of who is in the group. A member is
 * one whose requests it hears (every member greets it every second); one
 * silent for `evictAfterMs` is suspected and evicted, one that says `LEAVE`
 * leaves. Each change makes a new view. No I/O and no timers: the sequencer
 * feeds it what it hears and a clock, and sends the views it returns.
 *
 * @module
 */

import type { Departure, LeaveReason, View } from "../protocol/view.ts";

/** What became of an id the sequencer heard from. */
export type Heard = "member" | "joining" | "evicted";

/** How many past views are kept for members that ask for them again. */
const KEPT_VIEWS = 1000;
/** At least this long a silence of everyone is taken for an outage, not deaths, ms (members greet every second). */
const OUTAGE_MS = 1500;
/** How many evicted ids are remembered (to tell them so when they come back). */
const KEPT_EVICTIONS = 10_000;

/** The group's members as the sequencer sees them, and the views it made. */
export class Membership {
  #evictAfterMs: number;
  /** The members of the current view, with when each was last heard (ms). */
  #lastHeard = new Map<string, number>();
  #joining = new Set<string>();
  #leaving = new Map<string, LeaveReason>();
  /** Ids evicted for silence, with the view that evicted them: told so when heard again. */
  #evicted = new Map<string, number>();
  #views: View[] = [];
  #number = 0;
  /** When anyone was last heard (ms). */
  #lastAny = -Infinity;

  /**
   * @param evictAfterMs How long a member may be silent before it is
   * evicted (0: never).
   * @param epoch The sequencer's epoch, named in every view.
   */
  constructor(evictAfterMs: number, epoch?: string) {
    this.#evictAfterMs = evictAfterMs;
    this.#epoch = epoch;
  }

  #epoch: string | undefined;

  /** The current view's number (0 before the first). */
  get current(): number {
    return this.#number;
  }

  /** The members of the current view. */
  get members(): string[] {
    return [...this.#lastHeard.keys()].filter((id) => !this.#joining.has(id)).sort();
  }

  /**
   * Notes that `id` was heard at `now`: a member of the view, one that
   * joins now, or one that was evicted (it is told so, and joins again).
   */
  heard(id: string, now: number): Heard {
    // After a silence of everyone (the sequencer's link, or the broker, was
    // cut), every member gets a whole evictAfterMs from now to be heard again:
    // their connections come back one by one.
    if (now - this.#lastAny >= this.#outageMs) {
      for (const member of this.#lastHeard.keys()) this.#lastHeard.set(member, now);
    }
    this.#lastAny = now;
    const known = this.#lastHeard.has(id);
    this.#lastHeard.set(id, now);
    if (known) return this.#joining.has(id) ? "joining" : "member";
    // Suspected (or said goodbye) and back before the next view: it stays.
    if (this.#leaving.delete(id)) return "member";
    this.#joining.add(id);
    return this.#evicted.has(id) ? "evicted" : "joining";
  }

  /** A silence of everyone this long is an outage of the sequencer's own link, ms. */
  get #outageMs(): number {
    return Math.max(this.#evictAfterMs / 2, OUTAGE_MS);
  }

  /** The view that evicted `id`, if it was evicted and has not joined again. */
  evictedIn(id: string): number | undefined {
    return this.#evicted.get(id);
  }

  /** `id` says it leaves. */
  leave(id: string): void {
    if (!this.#lastHeard.delete(id)) return;
    if (this.#joining.delete(id)) return;
    this.#leaving.set(id, "leave");
  }

  /**
   * Suspects the members silent for `evictAfterMs` by `now`, while another
   * member was heard in the last half of that (at least 1.5 s): a member
   * alone in the group, or a group whose every member is cut off from the
   * sequencer at once, is not evicted, and after such an outage every member
   * has a whole `evictAfterMs` to be heard again. A suspect heard before the
   * next view stays in.
   *
   * @returns Their ids.
   */
  suspect(now: number): string[] {
    if (this.#evictAfterMs <= 0) return [];
    // Everyone silent at once is the sequencer's own link (or the broker)
    // cut, not every member dead: only members silent while another one is
    // heard are evicted.
    if (now - this.#lastAny >= this.#outageMs) return [];
    const silent: string[] = [];
    for (const [id, heardAt] of this.#lastHeard) {
      if (now - heardAt < this.#evictAfterMs) continue;
      silent.push(id);
      this.#lastHeard.delete(id);
      if (!this.#joining.delete(id)) this.#leaving.set(id, "timeout");
    }
    return silent;
  }

  /** True if joins or departures wait for a new view. */
  get changed(): boolean {
    return this.#joining.size > 0 || this.#leaving.size > 0;
  }

  /**
   * Makes the next view from the changes so far, taking effect after order
   * `after`; null if nothing changed.
   */
  next(after: number): View | null {
    if (!this.changed) return null;
    const left: Departure[] = [...this.#leaving].map(([id, why]) => ({ id, why }));
    const view: View = {
      view: ++this.#number,
      after,
      members: [...this.#lastHeard.keys()].sort(),
      joined: [...this.#joining].sort(),
      left: left.sort((a, b) => a.id < b.id ? -1 : 1),
      ...(this.#epoch === undefined ? {} : { epoch: this.#epoch }),
    };
    for (const id of this.#joining) this.#evicted.delete(id);
    for (const { id, why } of left) if (why === "timeout") this.#evicted.set(id, view.view);
    while (this.#evicted.size > KEPT_EVICTIONS) {
      this.#evicted.delete(this.#evicted.keys().next().value!);
    }
    this.#joining.clear();
    this.#leaving.clear();
    this.#views.push(view);
    if (this.#views.length > KEPT_VIEWS) this.#views.shift();
    return view;
  }

  /** The views kept, from number `from` on. */
  since(from: number): View[] {
    return this.#views.filter((view) => view.view >= from);
  }
}
