/**
 * The holdback queue: multicasts wait here until the sequencer's order says
 * when to deliver them.
 *
 * @module
 */

import { type Origin, originSender } from "../protocol/bus.ts";

/**
 * How far past the next order to deliver an order may be numbered and
 * still be held, by default: a million orders.
 */
export const DEFAULT_REACH = 1_000_000;

/** Options of {@link Holdback}. */
export interface HoldbackOptions {
  /** The first sequence number to deliver. Default 1 (a new group). */
  startAt?: number;
  /**
   * Deliver orders from the payload they carry, without waiting for (or
   * taking) multicasts. Default false.
   */
  ordersOnly?: boolean;
  /**
   * Orders numbered this far past the next one, or further, are not held
   * (see {@link Holdback.beyondReach}): memory and work stay bounded
   * whatever number an order carries. Default {@link DEFAULT_REACH}.
   */
  reach?: number;
}

/** A delivered multicast. */
export interface Delivery {
  /** Its place in the total order, G = 1, 2, 3, ... */
  seq: number;
  /** The client that multicast it ("" if only the order carried it). */
  sender: string;
  /** The payload. */
  payload: Uint8Array;
  /** The multicast's origin as the order names it (null from a seed sequencer or sender). */
  origin: Origin | null;
}

/** A delivery made from an order alone: the sender is the one its origin names ("" if none). */
function fromOrder(seq: number, payload: Uint8Array, origin: Origin | null): Delivery {
  return { seq, sender: origin === null ? "" : originSender(origin), payload, origin };
}

// A byte-exact string key for a payload: windows-1252 decoding maps every
// byte to one distinct code unit.
const keyDecoder = new TextDecoder("latin1");

/** A byte-exact string key for a payload, for maps. */
export function payloadKey(payload: Uint8Array): string {
  return keyDecoder.decode(payload);
}

/**
 * Matches orders to multicasts in O(1) per message and releases them in
 * sequence order. Equal payloads are interchangeable (as in the seed, the
 * order names its message by payload), so they are counted, not listed.
 * With `ordersOnly`, an order is its own message (it carries the payload):
 * orders are released in sequence as they come, and only gaps hold back.
 *
 * @example
 * ```ts
 * import { Holdback } from "./holdback.ts";
 * const q = new Holdback();
 * const p = new TextEncoder().encode("c1###hi");
 * q.addOrder(1, p);                   // the order came first: nothing yet
 * const [d] = q.addMulticast("c1", p); // now seq 1 is delivered
 * console.log(d?.seq); // 1
 * ```
 */
export class Holdback {
  #next = 1;
  #ordersOnly: boolean;
  /** Multicasts received and not yet delivered: payload key -> senders in arrival order. */
  #messages = new Map<string, string[]>();
  /** Orders received and not yet delivered: seq -> payload. */
  #orders = new Map<number, { payload: Uint8Array; origin: Origin | null; key: string }>();
  #waitingSince = 0;
  /** Multicasts delivered from their order, whose late copy is still to be dropped. */
  #forced = new Map<string, number>();

  /**
   * Creates an empty holdback queue.
   *
   * @param options Where to start, what to take, how far ahead to hold.
   */
  constructor(options: HoldbackOptions = {}) {
    this.#next = options.startAt ?? 1;
    this.#ordersOnly = options.ordersOnly ?? false;
    this.#reach = options.reach ?? DEFAULT_REACH;
  }

  #reach: number;

  /**
   * True if order `seq` lies at or beyond `reach` orders past the next one
   * to deliver: too far ahead to hold (a forged or corrupt number, or a
   * member so far behind that it must catch up first). `addOrder` ignores
   * such orders; the caller counts and reports them.
   */
  beyondReach(seq: number): boolean {
    return seq - this.#next >= this.#reach;
  }

  /** The next sequence number to deliver (L + 1). */
  get next(): number {
    return this.#next;
  }

  /** Multicasts held back, waiting for their order. */
  get heldMessages(): number {
    let count = 0;
    for (const senders of this.#messages.values()) count += senders.length;
    return count;
  }

  /** Orders held back, waiting for their message or for earlier orders. */
  get heldOrders(): number {
    return this.#orders.size;
  }

  /** The highest sequence number seen so far in an order (0 if none). */
  highestOrder = 0;

  /**
   * Goes on at `seq`: orders before it are dropped and never delivered (a
   * member joining "from now", or orders the sequencer no longer holds).
   */
  skipTo(seq: number): void {
    if (seq <= this.#next) return;
    for (const held of this.#orders.keys()) if (held < seq) this.#orders.delete(held);
    this.#next = seq;
    this.#waitingSince = 0;
  }

  /**
   * Adds a client's multicast (ignored with `ordersOnly`).
   *
   * @returns What can be delivered now, in order.
   */
  addMulticast(sender: string, payload: Uint8Array): Delivery[] {
    if (this.#ordersOnly) return [];
    const key = keyDecoder.decode(payload);
    // A late copy of a multicast that was delivered from its order.
    const forced = this.#forced.get(key);
    if (forced !== undefined) {
      if (forced === 1) this.#forced.delete(key);
      else this.#forced.set(key, forced - 1);
      return [];
    }
    const senders = this.#messages.get(key);
    if (senders === undefined) this.#messages.set(key, [sender]);
    else senders.push(sender);
    return this.#release();
  }

  /**
   * Adds the sequencer's order `seq` for `payload`. Orders already delivered
   * or already known are ignored (retransmissions).
   *
   * @returns What can be delivered now, in order.
   */
  addOrder(seq: number, payload: Uint8Array, origin: Origin | null = null): Delivery[] {
    if (seq < this.#next || this.#orders.has(seq) || this.beyondReach(seq)) return [];
    if (seq > this.highestOrder) this.highestOrder = seq;
    if (this.#ordersOnly) {
      if (seq === this.#next && this.#orders.size === 0) {
        this.#next++;
        return [fromOrder(seq, payload, origin)];
      }
      this.#orders.set(seq, { payload, origin, key: "" });
      return this.#release();
    }
    this.#orders.set(seq, { payload, origin, key: keyDecoder.decode(payload) });
    return this.#release();
  }

  /** True if order `seq` is held (known, not yet delivered). */
  has(seq: number): boolean {
    return this.#orders.has(seq);
  }

  /**
   * The gaps: ranges of orders missing between the next one to deliver and
   * the highest seen, at most `limit` of them.
   */
  missingRanges(limit: number): [number, number][] {
    // From the held orders, not from every number up to the highest: the
    // work is bounded by what is held, however far apart the numbers are.
    const held = [...this.#orders.keys()].sort((a, b) => a - b);
    const ranges: [number, number][] = [];
    let expected = this.#next;
    for (const seq of held) {
      if (ranges.length >= limit) break;
      if (seq > expected) ranges.push([expected, seq - 1]);
      expected = seq + 1;
    }
    return ranges;
  }

  /** What can be delivered now, in order (e.g. after `skipTo`). */
  release(): Delivery[] {
    return this.#release();
  }

  /** True while the next order is here and its multicast is not. */
  waitingForMessage(): boolean {
    return this.#orders.has(this.#next) && this.#waitingSince > 0;
  }

  /**
   * How long (ms, by `now`) the next order has waited for its message, 0 if
   * it is not waiting.
   */
  stalledFor(now: number): number {
    return this.#orders.has(this.#next) && this.#waitingSince > 0 ? now - this.#waitingSince : 0;
  }

  /**
   * Delivers the next order from the payload it carries, without its
   * multicast (which was lost); then whatever follows.
   *
   * @returns The deliveries, the forced one first.
   */
  forceNext(): Delivery[] {
    const order = this.#orders.get(this.#next);
    if (order === undefined) return [];
    const { payload, origin } = order;
    this.#orders.delete(this.#next);
    const forced = fromOrder(this.#next++, payload, origin);
    this.#forced.set(order.key, (this.#forced.get(order.key) ?? 0) + 1);
    this.#waitingSince = 0;
    return [forced, ...this.#release()];
  }

  #release(): Delivery[] {
    const out: Delivery[] = [];
    while (true) {
      const order = this.#orders.get(this.#next);
      if (order === undefined) break;
      const { payload, origin, key } = order;
      if (this.#ordersOnly) {
        this.#orders.delete(this.#next);
        out.push(fromOrder(this.#next++, payload, origin));
        continue;
      }
      const senders = this.#messages.get(key);
      if (senders === undefined) {
        if (this.#waitingSince === 0) this.#waitingSince = performance.now();
        break;
      }
      const sender = senders.shift()!;
      if (senders.length === 0) this.#messages.delete(key);
      this.#orders.delete(this.#next);
      out.push({ seq: this.#next++, sender, payload, origin });
      this.#waitingSince = 0;
    }
    return out;
  }
}
