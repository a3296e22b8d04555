/**
 * `Context`: a libzmq context, the factory and owner of sockets.
 *
 * @module
 */

import type { SocketType } from "./constants.ts";
import { lastError } from "./error.ts";
import { zmqLib } from "./lib.ts";
import { Socket, type SocketOwner } from "./socket.ts";

/**
 * A ZeroMQ context. Closing it closes its sockets first (each lingers for at
 * most its LINGER), so closing never hangs.
 *
 * @example
 * ```ts ignore
 * using ctx = new Context();
 * using push = ctx.socket("PUSH");
 * push.connect("tcp://127.0.0.1:5555");
 * await push.send(["topic", "payload"]);
 * ```
 */
export class Context {
  #pointer: Deno.PointerObject | null;
  #sockets = new Set<Socket>();
  #owner: SocketOwner;

  /** Creates a context; loads libzmq on first use. */
  constructor() {
    const pointer = zmqLib().zmq_ctx_new();
    if (pointer === null) throw lastError("Cannot create a ZeroMQ context");
    this.#pointer = pointer;
    const sockets = this.#sockets;
    this.#owner = {
      pointer,
      release(socket: Socket) {
        sockets.delete(socket);
      },
      socket: (type: SocketType) => this.socket(type),
    };
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#pointer === null;
  }

  /**
   * Creates a socket of the given type.
   *
   * @param type Any libzmq socket type: `"PUB"`, `"SUB"`, `"ROUTER"`, ...
   * @returns The new socket, owned by this context.
   */
  socket(type: SocketType): Socket {
    if (this.#pointer === null) {
      throw new TypeError("Cannot create a socket: the context is closed");
    }
    const socket = new Socket(this.#owner, type);
    this.#sockets.add(socket);
    return socket;
  }

  /** The sockets of this context that are still open. */
  get sockets(): readonly Socket[] {
    return [...this.#sockets];
  }

  /**
   * Closes every socket of the context, then terminates it. Idempotent.
   * Blocks at most as long as the longest LINGER of a socket with unsent
   * messages.
   */
  close(): void {
    const pointer = this.#pointer;
    if (pointer === null) return;
    for (const socket of [...this.#sockets]) socket.close();
    this.#pointer = null;
    const lib = zmqLib();
    // zmq_ctx_term can be interrupted (EINTR); retry until it is done.
    for (
      let i = 0;
      i < 100 && lib.zmq_ctx_term(pointer) !== 0;
      i++
    ) { /* retry */ }
  }

  /** Closes the context (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The version of the loaded libzmq.
 *
 * @returns `[major, minor, patch]`, e.g. `[4, 3, 4]`.
 */
export function zmqVersion(): [number, number, number] {
  const major = new Int32Array(1),
    minor = new Int32Array(1),
    patch = new Int32Array(1);
  zmqLib().zmq_version(major, minor, patch);
  return [major[0]!, minor[0]!, patch[0]!];
}
