/**
 * `Poller`: waits on many sockets at once and says which are ready, in the
 * spirit of pyzmq's `Poller`. It consumes nothing: a ready socket's message
 * stays for its `tryReceive()` or `receive()`.
 *
 * @module
 */

import type { PollEvents, Socket } from "./socket.ts";

/** A socket that `Poller.wait()` found ready, and for what. */
export interface PollItem {
  /** The socket. */
  socket: Socket;
  /** A message can be received now. */
  readable: boolean;
  /** A message can be sent now. */
  writable: boolean;
}

/** Options of {@link Poller.wait}. */
export interface PollerWaitOptions {
  /** How long to wait, ms; -1 (the default) waits until a socket is ready, 0 only looks. */
  timeoutMs?: number;
  /** Ends the wait, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Sockets to wait on, each for readable, writable or both.
 *
 * @example
 * ```ts ignore
 * const poller = new Poller().add(frontend).add(backend);
 * for (const { socket } of await poller.wait({ timeoutMs: 1000 })) {
 *   const message = socket.tryReceive();
 * }
 * ```
 */
export class Poller {
  #items = new Map<Socket, PollEvents>();

  /**
   * Watches `socket` for `events` (again: replaces what it was watched for).
   *
   * @param socket The socket.
   * @param events `"readable"` (the default), `"writable"` or `"both"`.
   * @returns This poller, to chain calls.
   */
  add(socket: Socket, events: PollEvents = "readable"): this {
    this.#items.set(socket, events);
    return this;
  }

  /** Stops watching `socket`; true if it was watched. */
  remove(socket: Socket): boolean {
    return this.#items.delete(socket);
  }

  /** The sockets watched, with what each is watched for. */
  get sockets(): ReadonlyMap<Socket, PollEvents> {
    return this.#items;
  }

  /**
   * Waits until at least one socket is ready for what it is watched for, or
   * the timeout passes.
   *
   * @param options `timeoutMs` and `signal`.
   * @returns The ready sockets, in the order they were added: empty after
   * the timeout, or when another caller's `receive()` took what was ready.
   * @throws {ZmqError} `"ECLOSED"` if a watched socket is closed; the signal's reason if it aborts.
   */
  async wait(options: PollerWaitOptions = {}): Promise<PollItem[]> {
    const { timeoutMs = -1, signal } = options;
    signal?.throwIfAborted();
    const now = this.#ready();
    if (now.length > 0 || timeoutMs === 0 || this.#items.size === 0) {
      if (this.#items.size === 0 && timeoutMs < 0) {
        throw new RangeError("Poller.wait(): no socket to wait on, and no timeout");
      }
      if (this.#items.size === 0) await delay(timeoutMs, signal);
      return now;
    }
    // One stop for every poll: at the first ready socket, or the caller's signal.
    const stop = new AbortController();
    const forward = () => stop.abort(signal!.reason);
    signal?.addEventListener("abort", forward, { once: true });
    const polls = [...this.#items].map(([socket, events]) =>
      socket.poll(events, { timeoutMs, signal: stop.signal })
    );
    // The others settle (rejected by the stop) after the first: nobody awaits them.
    for (const poll of polls) poll.catch(() => {});
    try {
      await Promise.race(polls);
    } catch (error) {
      // The caller's signal; our own stop comes only after the race.
      if (signal?.aborted) throw signal.reason;
      throw error;
    } finally {
      signal?.removeEventListener("abort", forward);
      stop.abort();
    }
    return this.#ready();
  }

  /** The sockets ready now, without waiting. */
  #ready(): PollItem[] {
    const ready: PollItem[] = [];
    for (const [socket, events] of this.#items) {
      const { readable, writable } = socket.readiness();
      const wanted = events === "readable"
        ? readable
        : events === "writable"
        ? writable
        : readable || writable;
      if (wanted) ready.push({ socket, readable, writable });
    }
    return ready;
  }
}

/** Waits `ms`, or until `signal` aborts (rejecting with its reason). */
function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
    };
    const aborted = () => {
      done();
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener("abort", aborted, { once: true });
  });
}
