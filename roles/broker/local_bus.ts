/**
 * `LocalBus`: the broker's bus for a sequencer in the broker's own
 * process. The forwarder offers it every multicast it admits, and the
 * sequencer's orders go straight to the broker's XPUB: a multicast takes
 * two hops (client to broker, broker to members) instead of four.
 *
 * @module
 */

import { ZmqError } from "../../ffi/mod.ts";
import type { BusPort } from "../bus_port.ts";

/** Compact the queue once this many taken entries lead it. */
const COMPACT_AT = 4096;

/** A bus port inside the broker: a bounded queue in, a publish function out. */
export class LocalBus implements BusPort {
  #queue: Uint8Array[][] = [];
  #head = 0;
  #waiting: PromiseWithResolvers<Uint8Array[]> | undefined;
  #closed = false;
  #publish: (frames: Uint8Array[]) => void;
  #capacity: number;
  #dropped = 0;

  /**
   * @param publish Sends an order on the broker's bus (never waits: a full
   * subscriber loses it alone, as any bus message).
   * @param capacity Multicasts held for the sequencer at most; beyond,
   * they are dropped (as at a full subscriber) and their senders resend.
   */
  constructor(publish: (frames: Uint8Array[]) => void, capacity: number) {
    this.#publish = publish;
    this.#capacity = capacity;
  }

  /** True once closed (by the sequencer, or the broker). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Multicasts dropped because the sequencer had `capacity` waiting. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * The broker's side: a multicast it admitted, for the sequencer.
   *
   * @returns False if it was dropped because `capacity` multicasts are
   * waiting; true if it was queued (or discarded: the port is closed).
   */
  offer(frames: Uint8Array[]): boolean {
    if (this.#closed) return true;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting.resolve(frames);
      return true;
    }
    if (this.#queue.length - this.#head >= this.#capacity) {
      this.#dropped++;
      return false;
    }
    this.#queue.push(frames);
    return true;
  }

  /** The next multicast, waiting for one. */
  receive(): Promise<Uint8Array[]> {
    const frames = this.tryReceive();
    if (frames !== null) return Promise.resolve(frames);
    if (this.#closed) return Promise.reject(closed());
    if (this.#waiting !== undefined) {
      return Promise.reject(new Error("the broker's bus has one reader: a receive is pending"));
    }
    this.#waiting = Promise.withResolvers();
    return this.#waiting.promise;
  }

  /** The next multicast if one is waiting, else null. */
  tryReceive(): Uint8Array[] | null {
    if (this.#head === this.#queue.length) return null;
    const frames = this.#queue[this.#head]!;
    this.#queue[this.#head++] = EMPTY;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    return frames;
  }

  /** Publishes an order on the broker's bus; never waits. */
  trySend(frames: Uint8Array[]): boolean {
    if (this.#closed) throw closed();
    this.#publish(frames);
    return true;
  }

  /** As {@link trySend}. */
  send(frames: Uint8Array[]): Promise<void> {
    try {
      this.trySend(frames);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Ends the port: a pending receive rejects with a closed error, and offers are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#head = 0;
    this.#waiting?.reject(closed());
    this.#waiting = undefined;
  }
}

const EMPTY: Uint8Array[] = [];

/** The error of a closed socket, which the sequencer's loops take as the end. */
function closed(): ZmqError {
  return new ZmqError("the broker's bus: the port is closed", 0, "ECLOSED");
}
