/**
 * The one readiness loop behind every socket's async `receive()` and
 * `send()`.
 *
 * Design: a socket first tries its operation on the main thread with
 * `ZMQ_DONTWAIT`; only when libzmq says EAGAIN does it register here. The
 * loop then makes ONE `nonblocking` FFI call to the OS `poll()` on a pool
 * thread, over the `ZMQ_FD` of every socket that has a waiter plus the read
 * end of a wake-up pipe. `poll()` only watches file descriptors; it never
 * touches a ZeroMQ socket, so no socket is used by two threads at once and
 * the main thread never blocks inside libzmq. When `poll()` returns, the main
 * thread asks each socket to service itself: it reads `ZMQ_EVENTS` (which
 * also re-arms the edge-triggered `ZMQ_FD`) and drains with `ZMQ_DONTWAIT`
 * until EAGAIN. A burst of messages thus costs one thread hop, not one per
 * message. The loop stops when no socket waits, so an idle process exits and
 * `deno test`'s op sanitizer sees no pending call.
 *
 * Two shortcuts come before that wait. Right after a socket that is answered
 * on the same socket has sent, the loop checks for the reply for a moment
 * ({@link SPIN_MS}). And while messages keep coming ({@link HOT_MS}), it
 * waits in `poll()` on the main thread itself, 1 ms at a time
 * ({@link PARK_MS}) with an event-loop turn in between: a message then wakes
 * the main thread directly instead of through a pool thread.
 *
 * @module
 */

import { allocNative, type LibcLib, libcLib, type NativeMemory } from "./lib.ts";

/** A socket as the poller sees it. */
export interface Waitable {
  /** The socket's `ZMQ_FD`. */
  readonly fd: number;
  /** True while a receive or send waits on this socket. */
  waiting(): boolean;
  /** Reads `ZMQ_EVENTS` and serves what can be served; true if a waiter was served. */
  service(): boolean;
  /** Reads `ZMQ_EVENTS`: true if a waiter of this socket can be served now. */
  ready(): boolean;
  /** True if the socket has just sent and not received since: a reply may be on its way. */
  awaitsReply(): boolean;
}

/**
 * How long (ms) the loop checks the watched sockets on the main thread,
 * right after one of them sent a request (see `Waitable.awaitsReply`),
 * before it waits. A reply that comes within this window costs no wake-up at
 * all; this is what brings round trips below C's. The spin adapts: each spin
 * that finds nothing halves the next one (down to none), and a wait that
 * ended within this window restores it. It never spins for a stream (SUB,
 * PULL, XPUB...): several processes spinning on 2 cores delay each other.
 */
export const SPIN_MS = 0.1;

/**
 * While messages keep coming, the loop waits in `poll()` on the main thread
 * itself, at most this long (ms) at a time, with a turn of the event loop
 * (timers, I/O) between two such waits. A message that comes meanwhile wakes
 * the main thread directly: two thread switches fewer than a wait on a pool
 * thread, which on a 2-core VM is most of a hop's cost, and no CPU burnt.
 */
export const PARK_MS = 1;

/**
 * How long (ms) after the last message the loop keeps parking on the main
 * thread; after that it waits on a pool thread, and an idle process sleeps
 * without waking up.
 */
export const HOT_MS = 50;

const POLLIN = 0x1;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = Deno.build.os === "darwin" ? 0x4 : 0x800;

class Poller {
  #libc: LibcLib;
  #wakeRead: number;
  #wakeWrite: number;
  #members = new Set<Waitable>();
  #running = false;
  /** The sockets in the poll() that is in flight, or null when none is. */
  #inFlight: Set<Waitable> | null = null;
  #woken = false;
  #spinMs = SPIN_MS;
  /** When a waiter was last served (performance.now()). */
  #lastServed = -Infinity;
  /**
   * The `struct pollfd` array, in C memory ({@link allocNative}), not in an
   * `ArrayBuffer` of V8's: the `poll()` on a pool thread keeps writing to it
   * (its `revents`) until it returns, which can be after this runtime ended
   * (an uncaught error, a terminated `Worker`) and V8 freed its buffers.
   * Replaced (and the old one freed) only by `#fill`, never while that
   * `poll()` is in flight; the one in flight when the runtime ends is never
   * freed.
   */
  #pollMemory: NativeMemory;
  #pollfds: Int32Array;
  #byte = new Uint8Array(64);

  constructor() {
    this.#libc = libcLib();
    this.#pollMemory = allocNative(16 * 8);
    this.#pollfds = new Int32Array(this.#pollMemory.buffer);
    const fds = new Int32Array(2);
    if (this.#libc.pipe(fds) !== 0) {
      throw new Error("Cannot create the poller's wake-up pipe");
    }
    this.#wakeRead = fds[0]!;
    this.#wakeWrite = fds[1]!;
    for (const fd of [this.#wakeRead, this.#wakeWrite]) {
      const flags = this.#libc.fcntl(fd, F_GETFL, 0);
      this.#libc.fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
  }

  /** Makes sure `socket` is watched; call after it got a waiter. */
  watch(socket: Waitable): void {
    this.#members.add(socket);
    if (!this.#running) {
      this.#running = true;
      void this.#run();
    } else if (this.#inFlight !== null && !this.#inFlight.has(socket)) {
      this.#wake();
    }
  }

  /** Stops watching `socket` (it closed); ends the loop if nothing waits. */
  forget(socket: Waitable): void {
    this.#members.delete(socket);
    if (this.#inFlight?.has(socket)) this.#wake();
  }

  #wake(): void {
    if (this.#woken) return;
    this.#woken = true;
    this.#libc.write(this.#wakeWrite, this.#byte, 1n);
  }

  /** Spins for up to the current budget; true if a socket became ready (and was served). */
  #spin(watched: Waitable[]): boolean {
    // Only a socket that has just sent can expect an answer that soon (a
    // round trip); spinning for a stream would take the CPU from whoever
    // produces it.
    if (this.#spinMs === 0 || !watched.some((socket) => socket.awaitsReply())) return false;
    const deadline = performance.now() + this.#spinMs;
    do {
      for (const socket of watched) {
        if (socket.ready()) {
          // Ready is a hint (a ROUTER's POLLOUT is for any peer): only a
          // served waiter ends the spin, else the loop would never park.
          let served = false;
          for (const each of watched) served = each.service() || served;
          if (served) return true;
        }
      }
      // Give the CPU to libzmq's I/O threads: on 2 cores they are who we wait for.
      this.#libc.sched_yield();
    } while (performance.now() < deadline);
    this.#spinMs = this.#spinMs < SPIN_MS / 8 ? 0 : this.#spinMs / 2;
    return false;
  }

  /** Fills the pollfd array with the watched sockets' fds, after `first` (the wake pipe) if given. */
  #fill(watched: Waitable[], first: number | null): number {
    const count = watched.length + (first === null ? 0 : 1);
    if (this.#pollfds.length < count * 2) {
      // No poll() is in flight here (only #run calls this, between two).
      const bigger = allocNative(count * 2 * 8);
      this.#pollMemory.free();
      this.#pollMemory = bigger;
      this.#pollfds = new Int32Array(bigger.buffer);
    }
    const pollfds = this.#pollfds;
    // struct pollfd { int fd; short events; short revents; }
    let at = 0;
    if (first !== null) {
      pollfds[0] = first;
      pollfds[1] = POLLIN;
      at = 2;
    }
    for (const socket of watched) {
      pollfds[at++] = socket.fd;
      pollfds[at++] = POLLIN;
    }
    return count;
  }

  /**
   * Waits up to the park budget in `poll()` on the main thread; true if a
   * waiter was served. Nothing else can register meanwhile (the main thread
   * is here), so the wake pipe is not needed.
   */
  #parkHere(watched: Waitable[]): boolean {
    const start = performance.now();
    const deadline = start + PARK_MS;
    const count = this.#fill(watched, null);
    while (true) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      if (this.#libc.poll_here(this.#pollfds, BigInt(count), Math.ceil(left)) > 0) {
        let served = false;
        for (const socket of watched) served = socket.service() || served;
        if (served) {
          // A wait a spin would have covered: spin again next time.
          if (performance.now() - start < SPIN_MS) this.#spinMs = SPIN_MS;
          return true;
        }
      }
    }
  }

  async #run(): Promise<void> {
    try {
      while (true) {
        // Let continuations of just-served waiters register first, so that
        // a busy socket stays in one poll() instead of waking it.
        for (let i = 0; i < 4; i++) await undefined;
        const watched: Waitable[] = [];
        for (const socket of this.#members) {
          if (socket.waiting()) watched.push(socket);
          else this.#members.delete(socket);
        }
        if (watched.length === 0) return;
        cycle++;
        if (this.#spin(watched)) {
          this.#lastServed = performance.now();
          continue;
        }
        if (performance.now() - this.#lastServed < HOT_MS) {
          if (this.#parkHere(watched)) this.#lastServed = performance.now();
          else await new Promise<void>((resolve) => nextTurn(resolve));
          continue;
        }
        const count = this.#fill(watched, this.#wakeRead);
        this.#inFlight = new Set(watched);
        const parked = performance.now();
        await this.#libc.poll(this.#pollfds, BigInt(count), -1);
        this.#inFlight = null;
        // A wait a spin would have covered: spin again next time.
        if (performance.now() - parked < SPIN_MS) this.#spinMs = SPIN_MS;
        if (this.#woken) {
          while (
            this.#libc.read(this.#wakeRead, this.#byte, 64n) > 0
          ) { /* drain */ }
          this.#woken = false;
        }
        for (const socket of watched) {
          if (this.#members.has(socket) && socket.service()) this.#lastServed = performance.now();
        }
      }
    } finally {
      this.#running = false;
      this.#inFlight = null;
    }
  }
}

/**
 * How often operations served at once look at the clock. A loop that
 * always finds a message ready would otherwise never let timers, signals or
 * other sockets' waits run: every this many operations, if {@link TURN_MS}
 * passed since the last forced turn, one operation waits for a macrotask
 * first.
 */
export const OPERATIONS_PER_TURN = 512;

/**
 * The longest (ms) a streak of operations served at once holds the event
 * loop, plus up to {@link OPERATIONS_PER_TURN} operations (for 32 B
 * messages about 0.1 ms; for frames of 1 MiB, up to a few hundred ms): as
 * long as the poller's park ({@link PARK_MS}). A forced turn every 512
 * operations instead took a third of the throughput of a `for await` loop,
 * and reading the clock every 64 a third too.
 */
export const TURN_MS = 1;

let streak = 0;
let turnAt = 0;

/** Counts an operation served at once (`tryReceive()` and `trySend()` too). */
export function countOperation(): void {
  streak++;
}

/**
 * Runs `callback` after the event loop had a turn (timers, signals, I/O).
 * `setImmediate` takes microseconds where `setTimeout(0)` takes about 2 ms.
 */
export function nextTurn(callback: () => void): void {
  setImmediate(callback);
}

/** Counts an operation; true when it should give the event loop a turn first. */
export function owesTurn(): boolean {
  if (++streak < OPERATIONS_PER_TURN) return false;
  streak = 0;
  const now = performance.now();
  if (now - turnAt < TURN_MS) return false;
  turnAt = now;
  return true;
}

let cycle = 0;

/**
 * The poller's wait cycle, counting up: a socket notes it when it sends, and
 * a send made this cycle or the one before is "just sent" for the spin.
 */
export function pollCycle(): number {
  return cycle;
}

let poller: Poller | undefined;

/** The process-wide poller, created on first use. */
export function thePoller(): Poller {
  poller ??= new Poller();
  return poller;
}
