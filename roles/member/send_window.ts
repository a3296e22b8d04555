/**
 * `SendWindow`: a member's own multicasts in flight (sent, not yet
 * delivered back to it in total order), at most `size` of them. No I/O:
 * the member asks it for room, records each multicast, settles each
 * delivery, and asks which ones to send again.
 *
 * @module
 */

import type { Delivery } from "./holdback.ts";
import { startsWith } from "../protocol/text.ts";

/** How old (ms) an unordered own multicast must be before it is sent again. */
export const RESEND_AFTER_MS = 1000;

/** An own multicast in flight. */
interface InFlight {
  payload: Uint8Array;
  sentAt: number;
}

/** The own multicasts in flight, by index (in sending order). */
export class SendWindow {
  #size: number;
  #inFlight = new Map<number, InFlight>();
  #waiters: (() => void)[] = [];
  #closed = false;

  /**
   * @param size How many own multicasts may be in flight at once (at least 1).
   */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Invalid window ${size}: expected a whole number >= 1`);
    }
    this.#size = size;
  }

  /** Own multicasts in flight. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Resolves once there is room for one more (at once if there is, or once closed). */
  async room(): Promise<void> {
    while (!this.#closed && this.#inFlight.size >= this.#size) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Records own multicast `index`, sent at `now`. */
  add(index: number, payload: Uint8Array, now: number): void {
    this.#inFlight.set(index, { payload, sentAt: now });
  }

  /**
   * Settles a delivery: if it is one of ours (by origin key, or, from a
   * seed sequencer that names no origin, the oldest own multicast of equal
   * payload), it leaves the window. A full window opens again at half: the
   * senders then go in one burst, which libzmq batches.
   *
   * @returns True if the delivery was an own multicast.
   */
  settle(delivery: Delivery, originKey: string): boolean {
    const settled = this.#take(delivery, originKey);
    if (settled && this.#waiters.length > 0 && this.#inFlight.size <= this.#size / 2) {
      for (const resolve of this.#waiters.splice(0)) resolve();
    }
    return settled;
  }

  #take(delivery: Delivery, originKey: string): boolean {
    const origin = delivery.origin;
    if (origin !== null) return origin.key === originKey && this.#inFlight.delete(origin.index);
    for (const [index, own] of this.#inFlight) {
      const same = own.payload.byteLength === delivery.payload.byteLength &&
        startsWith(own.payload, delivery.payload);
      if (same) return this.#inFlight.delete(index);
    }
    return false;
  }

  /**
   * The own multicasts sent more than {@link RESEND_AFTER_MS} before `now`,
   * to send again (each is then counted as sent at `now`).
   */
  due(now: number): [index: number, payload: Uint8Array][] {
    const due: [number, Uint8Array][] = [];
    for (const [index, own] of this.#inFlight) {
      if (now - own.sentAt < RESEND_AFTER_MS) continue;
      own.sentAt = now;
      due.push([index, own.payload]);
    }
    return due;
  }

  /** Wakes every waiter for room, for good. */
  close(): void {
    this.#closed = true;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
