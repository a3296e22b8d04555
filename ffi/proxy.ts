/**
 * `proxy()`: forwards messages between two sockets, like `zmq_proxy`, but
 * on the event loop, so that the process goes on with other work.
 *
 * @module
 */

import type { SocketType } from "./constants.ts";
import { isClosed } from "./error.ts";
import type { Socket } from "./socket.ts";

const CANNOT_RECEIVE: ReadonlySet<SocketType> = new Set(["PUB", "PUSH"]);
const CANNOT_SEND: ReadonlySet<SocketType> = new Set(["SUB", "PULL"]);

/** Counts of what a running proxy forwarded. */
export interface ProxyStats {
  /** Messages forwarded from the frontend to the backend (not counting those a hook dropped). */
  forward: number;
  /** Messages forwarded from the backend to the frontend. */
  backward: number;
}

/** Callbacks that see each message as it is forwarded. */
export interface ProxyHooks {
  /** Called with each message from the frontend; returning false drops it. */
  forward?: (message: Uint8Array[]) => boolean | void;
  /** Called with each message from the backend (e.g. an XPUB's subscriptions); false drops it. */
  backward?: (message: Uint8Array[]) => boolean | void;
}

/** Options of {@link proxy}: a capture socket, and the hooks. */
export interface ProxyOptions extends ProxyHooks {
  /** Gets a copy of every forwarded message (a PUB, PUSH, PAIR...). */
  capture?: Socket;
  /**
   * Called when `to` cannot take `message` now (its high-water mark):
   * return true once the hook has dealt with it (sent it some other way, or
   * dropped it), false to wait for room as usual.
   */
  onFull?: (message: Uint8Array[], to: Socket) => boolean;
}

/** A running proxy. */
export interface Proxy {
  /** Settles when a socket of the proxy closes (or fails, with the error). */
  readonly done: Promise<void>;
  /** What was forwarded so far. */
  readonly stats: Readonly<ProxyStats>;
}

/**
 * Forwards every message from `frontend` to `backend` and back (where the
 * socket types allow), sending a copy of each to `capture` if given. Each
 * wake-up drains every message that is ready, and a send at the high-water
 * mark waits: nothing is dropped by the proxy itself.
 *
 * @param frontend E.g. the XSUB or ROUTER that peers send to.
 * @param backend E.g. the XPUB or DEALER that peers receive from.
 * @param options `capture`: a socket (PUB, PUSH, PAIR...) that gets a copy of
 * every forwarded message; `forward` and `backward`: callbacks that see each
 * message, by direction, and may drop it.
 * @returns A handle whose `done` settles when a socket closes.
 *
 * @example
 * ```ts ignore
 * const xsub = ctx.socket("XSUB"); xsub.bind("tcp://*:5559");
 * const xpub = ctx.socket("XPUB"); xpub.bind("tcp://*:5560");
 * const running = proxy(xsub, xpub);
 * // ... later: xsub.close(); xpub.close(); await running.done;
 * ```
 */
export function proxy(
  frontend: Socket,
  backend: Socket,
  options: ProxyOptions = {},
): Proxy {
  const { capture, onFull, ...hooks } = options;
  const stats: ProxyStats = { forward: 0, backward: 0 };
  const pumps: Promise<void>[] = [];
  if (!CANNOT_RECEIVE.has(frontend.type) && !CANNOT_SEND.has(backend.type)) {
    pumps.push(pump(frontend, backend, { capture, onFull }, (message) => {
      if (hooks.forward?.(message) === false) return false;
      stats.forward++;
      return true;
    }));
  }
  if (!CANNOT_RECEIVE.has(backend.type) && !CANNOT_SEND.has(frontend.type)) {
    pumps.push(pump(backend, frontend, { capture, onFull }, (message) => {
      if (hooks.backward?.(message) === false) return false;
      stats.backward++;
      return true;
    }));
  }
  if (pumps.length === 0) {
    throw new TypeError(
      `Cannot proxy between ${frontend.type} and ${backend.type}: no direction can forward`,
    );
  }
  return { done: Promise.all(pumps).then(() => {}), stats };
}

async function pump(
  from: Socket,
  to: Socket,
  { capture, onFull }: Pick<ProxyOptions, "capture" | "onFull">,
  pass: (message: Uint8Array[]) => boolean,
): Promise<void> {
  try {
    while (true) {
      let message: Uint8Array[] | null = await from.receive();
      // Drain what is ready, but at most a batch: then give others a turn.
      let batch = 0;
      do {
        if (pass(message)) {
          if (capture !== undefined && !capture.trySend(message)) await capture.send(message);
          if (!to.trySend(message) && !(onFull?.(message, to) ?? false)) await to.send(message);
        }
        message = ++batch < 1024 ? from.tryReceive() : null;
      } while (message !== null);
    }
  } catch (error) {
    if (isClosed(error)) return;
    throw error;
  }
}
