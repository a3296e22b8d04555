/**
 * `VerifiedIds`: which routing ids on the broker's ROUTER are known, in
 * CURVE mode, to be held by the key bound to them. A connection's routing
 * id is the peer's own choice, so the broker forwards a direct message to an
 * id only once a message from that id came with the same authenticated id
 * (its User-Id); it asks an unverified id to show itself (`VERIFY`, answered
 * `HERE`), at most once per {@link ASK_EVERY_MS}. The disconnection of a
 * peer that had completed its handshake forgets them all: another peer may
 * take a freed id (the monitor's events name connections by file
 * descriptor, not by id). A connection that never completed its handshake
 * held no id, and forgets nothing. No I/O.
 *
 * @module
 */

/** How often one unverified id is asked to show itself, at most (ms). */
export const ASK_EVERY_MS = 200;

/** The routing ids verified so far. */
export class VerifiedIds {
  #verified = new Set<string>();
  #askedAt = new Map<string, number>();
  /** File descriptors of the connections that completed their handshake. */
  #connections = new Set<number>();

  /** A message from routing id `id` came with the User-Id `userId`. */
  saw(id: string, userId: string): void {
    if (id === userId) {
      this.#verified.add(id);
      this.#askedAt.delete(id);
    } else this.#verified.delete(id);
  }

  /** True if `id` is verified. */
  has(id: string): boolean {
    return this.#verified.has(id);
  }

  /** True if `id` should be asked now (and notes that it was, at `now`). */
  shouldAsk(id: string, now: number): boolean {
    if ((this.#askedAt.get(id) ?? -Infinity) > now - ASK_EVERY_MS) return false;
    this.#askedAt.set(id, now);
    return true;
  }

  /** A connection (by file descriptor) completed its handshake. */
  connected(fd: number): void {
    this.#connections.add(fd);
  }

  /**
   * A connection (by file descriptor) closed: if it had completed its
   * handshake, nothing is verified any more.
   */
  disconnected(fd: number): void {
    if (this.#connections.delete(fd)) this.#verified.clear();
  }
}
