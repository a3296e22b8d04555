/**
 * `SocketSet`: the sockets of one role, in its own context or in a shared
 * one (an in-process group over inproc); closing it closes exactly those.
 *
 * @module
 */

import { Context, type Socket, type SocketType } from "../ffi/mod.ts";

/** The sockets a role opened, and the context if the role owns it. */
export class SocketSet {
  #context: Context;
  #owned: boolean;
  #sockets: Socket[] = [];
  #configure: (socket: Socket) => void;

  /**
   * Uses a shared context, or makes one.
   *
   * @param shared A context to use (and not close); a new one otherwise.
   * @param configure Applied to every socket before it binds or connects (e.g. CURVE keys).
   */
  constructor(shared?: Context, configure: (socket: Socket) => void = () => {}) {
    this.#owned = shared === undefined;
    this.#context = shared ?? new Context();
    this.#configure = configure;
  }

  /**
   * Opens a socket of `type`.
   *
   * @param type The socket type.
   * @param configured Apply the role's configuration (false for an inproc helper).
   */
  socket(type: SocketType, configured = true): Socket {
    const socket = this.#context.socket(type);
    if (configured) this.#configure(socket);
    this.#sockets.push(socket);
    return socket;
  }

  /** Closes the role's sockets, and its context if it owns it. Idempotent. */
  close(): void {
    for (const socket of this.#sockets) socket.close();
    if (this.#owned) this.#context.close();
  }
}
