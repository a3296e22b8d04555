/**
 * `EpochFence`: HA mode's fence on orders, kept by the broker's gate and by
 * every member: an order of an epoch older than the newest one seen is a
 * deposed sequencer's (or has none, after one with an epoch), and is refused.
 * See PROTOCOL.md, "Fencing".
 *
 * @module
 */

/** The newest epoch seen on an order; older ones are refused. */
export class EpochFence {
  #newest = 0;

  /** The newest epoch seen (0 before any). */
  get newest(): number {
    return this.#newest;
  }

  /**
   * Whether an order of `epoch` may be taken; a newer epoch fences the older ones from now on.
   *
   * @param epoch The order's epoch (0 for none).
   */
  admit(epoch: number): boolean {
    if (epoch < this.#newest) return false;
    this.#newest = epoch;
    return true;
  }
}
