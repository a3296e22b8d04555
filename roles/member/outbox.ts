/**
 * `Outbox`: a member's multicasts on their way to the bus, in batches of
 * what it made in one turn of its event loop. The first multicast of a turn
 * goes out at once (nothing waits for a batch to fill); those made after it
 * in the same turn go together, one bus message, once the turn is over.
 *
 * @module
 */

import type { Socket } from "../../ffi/mod.ts";
import { multicastFrames } from "../protocol/bus.ts";
import { multicastBatchedSize, multicastBatchFrames } from "../protocol/multicast_batch.ts";

/** The largest batch of multicasts, bytes. */
const MAX_BATCH_BYTES = 16 * 1024;
/**
 * The first multicasts of a turn that go out at once, each alone: a turn
 * that makes more is busy, and the rest wait for its end (which the binding
 * may spend up to a millisecond parked in poll) to go as one message.
 */
const AT_ONCE = 8;

/** One member's batches of multicasts, in the order made. */
export class Outbox {
  #pub: Socket;
  #key: string;
  #limit: number;
  #queued: { index: number; payload: Uint8Array }[] = [];
  /** A flush is due at the end of this turn (or running). */
  #pending = false;
  /** Multicasts made in this turn. */
  #madeThisTurn = 0;

  /**
   * @param pub The member's bus socket.
   * @param key Its origin key, `<id>@<run>`.
   * @param maxPayload The largest payload the broker takes: no batch is larger.
   */
  constructor(pub: Socket, key: string, maxPayload: number) {
    this.#pub = pub;
    this.#key = key;
    this.#limit = Math.min(MAX_BATCH_BYTES, maxPayload);
  }

  /**
   * Sends multicast `index` now if it is one of the first few of this turn
   * (a member that multicasts now and then never waits), else with the
   * others at the turn's end.
   */
  add(index: number, payload: Uint8Array): void {
    if (!this.#pending) {
      this.#pending = true;
      this.#madeThisTurn = 0;
      setImmediate(() => void this.#flush());
    }
    if (++this.#madeThisTurn <= AT_ONCE && this.#queued.length === 0) {
      if (this.#trySend(multicastFrames({ key: this.#key, index }, payload))) return;
    }
    this.#queued.push({ index, payload });
  }

  #trySend(frames: Uint8Array[]): boolean {
    try {
      return this.#pub.trySend(frames);
    } catch {
      // Closed: the member is gone, and its resend state with it.
      return true;
    }
  }

  /** Sends what was queued, in batches of at most the limit, in order. */
  async #flush(): Promise<void> {
    try {
      while (this.#queued.length > 0) {
        const batch = this.#take();
        const frames = batch.length === 1
          ? multicastFrames({ key: this.#key, index: batch[0]!.index }, batch[0]!.payload)
          : multicastBatchFrames(this.#key, batch);
        // XPUB_NODROP: at the high-water mark the send waits, and so does the rest.
        if (!this.#trySend(frames)) await this.#pub.send(frames);
      }
    } catch {
      // Closed while waiting: as above.
    } finally {
      this.#pending = false;
    }
  }

  /** The next batch: as many queued multicasts as fit, at least one. */
  #take(): { index: number; payload: Uint8Array }[] {
    let size = multicastBatchedSize(this.#queued[0]!.payload);
    let count = 1;
    while (count < this.#queued.length) {
      size += multicastBatchedSize(this.#queued[count]!.payload);
      if (size > this.#limit) break;
      count++;
    }
    return this.#queued.splice(0, count);
  }
}
