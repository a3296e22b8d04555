/**
 * `BusPort`: where the sequencer takes multicasts from and publishes its
 * orders to. Its own SUB and XPUB sockets are one; the broker's bus inside
 * the same process (`Broker.busPort()`) is the other, two hops shorter.
 *
 * @module
 */

/** The calls the sequencer makes on the bus (a `Socket` has them too). */
export interface BusPort {
  /** The next bus message; rejects with a closed error once the port is closed. */
  receive(): Promise<Uint8Array[]>;
  /** The next bus message if one is there now, else null. */
  tryReceive(): Uint8Array[] | null;
  /** Publishes a message now if it can: false if it must wait (then use `send`). */
  trySend(frames: Uint8Array[]): boolean;
  /** Publishes a message, waiting for room. */
  send(frames: Uint8Array[]): Promise<void>;
  /** Ends the port: a pending receive rejects with a closed error. Idempotent. */
  close(): void;
  /** True once closed. */
  readonly closed: boolean;
}
