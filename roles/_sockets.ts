/**
 * `SocketSet`: the sockets of one role, in its own context or in a shared
 * one (an in-process group over inproc); closing it closes exactly those.
 *
 * @module
 */

import { Context, type Socket, type SocketType } from "../mod.ts";

/** The sockets a role opened, and the context if the role owns it. */
export class SocketSet {
  #context: Context;
  #owned: boolean;
  #sockets: Socket[] = [];

  /**
   * Uses a shared context, or makes one.
   *
   * @param shared A context to use (and not close); a new one otherwise. */
  constructor(shared?: Context) {
    this.#owned = shared === undefined;
    this.#context = shared ?? new Context();
  }

  /** Opens a socket of `type`. */
  socket(type: SocketType): Socket {
    const socket = this.#context.socket(type);
    this.#sockets.push(socket);
    return socket;
  }

  /** Closes the role's sockets, and its context if it owns it. Idempotent. */
  close(): void {
    for (const socket of this.#sockets) socket.close();
    if (this.#owned) this.#context.close();
  }
}
