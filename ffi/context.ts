/**
 * `Context`: a libzmq context, the factory and owner of sockets.
 *
 * @module
 */

import { cstr } from "./_util.ts";
import {
  type ContextOption,
  ContextOptions,
  type ContextOptionSpec,
  type ContextOptionValue,
  type ReadableContextOption,
  type SocketType,
  SocketTypes,
  type WritableContextOption,
} from "./constants.ts";
import { check, ERRNO, lastError, ZmqError } from "./error.ts";
import { zmqLib } from "./lib.ts";
import { Socket, type SocketOwner } from "./socket.ts";

/**
 * Options for `new Context()`, each a libzmq context option, applied with
 * `zmq_ctx_set` before the context's first socket (which starts its
 * threads). All are optional; libzmq's defaults apply to the rest.
 */
export interface ContextInit {
  /** IO_THREADS: threads for network I/O (default 1; 0 suits inproc alone). */
  ioThreads?: number;
  /**
   * MAX_SOCKETS: the most sockets open at once (default 1023); beyond it
   * `socket()` throws a `ZmqError` of code `"EMFILE"`.
   */
  maxSockets?: number;
  /**
   * MAX_MSGSZ: the largest message, in bytes. libzmq 4.3.4 stores it but
   * enforces nothing; the socket option MAXMSGSIZE does.
   */
  maxMsgsz?: number;
  /** IPV6: sockets created afterwards have IPV6 on (IPv4 and IPv6). */
  ipv6?: boolean;
  /**
   * BLOCKY: with `false`, sockets created afterwards start with LINGER 0
   * instead of `DEFAULT_LINGER_MS`, so closing never waits to send
   * (default `true`).
   */
  blocky?: boolean;
  /**
   * THREAD_SCHED_POLICY of libzmq's threads (`SCHED_OTHER` 0, `SCHED_FIFO`
   * 1, `SCHED_RR` 2 on Linux). Caution: where the OS refuses it (FIFO and RR
   * need CAP_SYS_NICE), libzmq aborts the process as the threads start.
   */
  threadSchedPolicy?: number;
  /**
   * THREAD_PRIORITY of libzmq's threads (1-99 under FIFO or RR). Caution:
   * under any other policy libzmq calls `nice(-20)`, and aborts the process
   * where that fails (without CAP_SYS_NICE).
   */
  threadPriority?: number;
  /**
   * THREAD_AFFINITY_CPU_ADD for each: the CPUs libzmq's threads may run
   * on. Caution: libzmq aborts the process if the set is refused (a CPU
   * outside the process's own affinity).
   */
  threadAffinityCpus?: readonly number[];
  /** THREAD_NAME_PREFIX: libzmq's threads are named `<prefix>/ZMQbg/...`. */
  threadNamePrefix?: number;
}

/** The context option behind each field of {@link ContextInit}. */
const INIT_OPTIONS: { readonly [K in keyof ContextInit]-?: WritableContextOption } = {
  ioThreads: "IO_THREADS",
  maxSockets: "MAX_SOCKETS",
  maxMsgsz: "MAX_MSGSZ",
  ipv6: "IPV6",
  blocky: "BLOCKY",
  threadSchedPolicy: "THREAD_SCHED_POLICY",
  threadPriority: "THREAD_PRIORITY",
  threadAffinityCpus: "THREAD_AFFINITY_CPU_ADD",
  threadNamePrefix: "THREAD_NAME_PREFIX",
};

/** Options libzmq reads only as the context starts (silently ignored after). */
const STARTUP_OPTIONS: ReadonlySet<ContextOption> = new Set<ContextOption>([
  "IO_THREADS",
  "MAX_SOCKETS",
  "THREAD_PRIORITY",
  "THREAD_SCHED_POLICY",
  "THREAD_AFFINITY_CPU_ADD",
  "THREAD_AFFINITY_CPU_REMOVE",
  "THREAD_NAME_PREFIX",
]);

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/**
 * Values of context options that libzmq takes and then aborts the process
 * on when its threads start (an assertion, not an error): refused here.
 */
const ABORTING_BOUNDS: Readonly<Record<string, readonly [number, number]>> = {
  IO_THREADS: [0, 1024],
  THREAD_AFFINITY_CPU_ADD: [0, 1023],
  THREAD_AFFINITY_CPU_REMOVE: [0, 1023],
};

/**
 * A ZeroMQ context. Closing it closes its sockets first (each lingers for at
 * most its LINGER), so closing never hangs.
 *
 * @example
 * ```ts ignore
 * using ctx = new Context({ ioThreads: 2 });
 * using push = ctx.socket("PUSH");
 * push.connect("tcp://127.0.0.1:5555");
 * await push.send(["topic", "payload"]);
 * ```
 */
export class Context {
  #pointer: Deno.PointerObject | null;
  #sockets = new Set<Socket>();
  #owner: SocketOwner;
  /** True once a socket was asked for: libzmq has started the context's threads. */
  #started = false;
  #blocky = true;

  /**
   * Creates a context; loads libzmq on first use.
   *
   * @param init Context options, applied before any socket exists.
   * @throws {ZmqError} (code `"EINVAL"`) naming the option and the value
   * that libzmq or the binding refused; the context is then not created.
   *
   * @example
   * ```ts ignore
   * using ctx = new Context({ ioThreads: 4, maxSockets: 10_000, blocky: false });
   * ```
   */
  constructor(init: ContextInit = {}) {
    if (init === null || typeof init !== "object") {
      throw new TypeError(`Cannot create a ZeroMQ context: expected an options object`);
    }
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
    try {
      this.#configure(init);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  #configure(init: ContextInit): void {
    for (const [key, value] of Object.entries(init)) {
      if (value === undefined) continue;
      const name = Object.hasOwn(INIT_OPTIONS, key)
        ? INIT_OPTIONS[key as keyof ContextInit]
        : undefined;
      if (name === undefined) {
        throw new ZmqError(
          `Cannot create a ZeroMQ context: unknown option "${key}": expected one of ${
            Object.keys(INIT_OPTIONS).join(", ")
          }`,
          ERRNO.EINVAL,
        );
      }
      if (key === "threadAffinityCpus") {
        if (!Array.isArray(value)) {
          throw new ZmqError(
            `Cannot set context option ${name} to ${
              describe(value)
            }: expected an array of CPU numbers`,
            ERRNO.EINVAL,
          );
        }
        for (const cpu of value) this.set(name, cpu);
      } else {
        this.set(name, value as never);
      }
    }
  }

  /**
   * Sets a context option (`zmq_ctx_set`); the value's type follows from the
   * option. IO_THREADS, MAX_SOCKETS and the THREAD_* options only before the
   * first socket; IPV6 and BLOCKY apply to sockets created afterwards.
   *
   * @param name The option, e.g. `"MAX_SOCKETS"`.
   * @param value A number, or a boolean for IPV6, BLOCKY and ZERO_COPY_RECV.
   * @throws {ZmqError} (code `"EINVAL"`) naming the option and the value for
   * an unknown or read-only option, a value of the wrong type, one libzmq
   * refuses, or a startup option once the context has started.
   * @throws {TypeError} if the context is closed.
   *
   * @example
   * ```ts ignore
   * const ctx = new Context();
   * ctx.set("IO_THREADS", 2);
   * ctx.set("BLOCKY", false);
   * ```
   */
  set<K extends WritableContextOption>(name: K, value: ContextOptionValue<K>): void {
    const spec: ContextOptionSpec | undefined = ContextOptions[name as ContextOption];
    if (spec === undefined) {
      throw new ZmqError(`Cannot set context option ${String(name)}: unknown option`, ERRNO.EINVAL);
    }
    const what = `Cannot set context option ${name} to ${describe(value)}`;
    if (spec.access === "r") throw new ZmqError(`${what}: the option is read-only`, ERRNO.EINVAL);
    const pointer = this.#live(what);
    if (this.#started && STARTUP_OPTIONS.has(name)) {
      throw new ZmqError(
        `${what}: the context has started (at its first socket); pass it to new Context() instead`,
        ERRNO.EINVAL,
      );
    }
    const number = spec.kind === "bool"
      ? (typeof value === "boolean" ? Number(value) : NaN)
      : (Number.isInteger(value) && (value as number) === ((value as number) | 0)
        ? value as number
        : NaN);
    if (Number.isNaN(number)) {
      throw new ZmqError(
        `${what}: expected ${spec.kind === "bool" ? "a boolean" : "a 32-bit integer"}`,
        ERRNO.EINVAL,
      );
    }
    const bound = ABORTING_BOUNDS[name];
    if (bound !== undefined && (number < bound[0] || number > bound[1])) {
      throw new ZmqError(
        `${what}: expected ${bound[0]} to ${bound[1]} (libzmq would abort the process)`,
        ERRNO.EINVAL,
      );
    }
    check(zmqLib().zmq_ctx_set(pointer, spec.id, number), what);
    if (name === "BLOCKY") this.#blocky = value as boolean;
  }

  /**
   * Reads a context option (`zmq_ctx_get`); the result's type follows from
   * the option.
   *
   * @param name The option, e.g. `"IO_THREADS"` or `"SOCKET_LIMIT"`.
   * @returns A number, or a boolean for IPV6, BLOCKY and ZERO_COPY_RECV.
   * THREAD_SCHED_POLICY is -1 while the OS default applies.
   * @throws {ZmqError} (code `"EINVAL"`) for an unknown or write-only option.
   * @throws {TypeError} if the context is closed.
   *
   * @example
   * ```ts ignore
   * const ctx = new Context({ maxSockets: 100 });
   * console.log(ctx.get("MAX_SOCKETS")); // 100
   * ```
   */
  get<K extends ReadableContextOption>(name: K): ContextOptionValue<K> {
    const spec: ContextOptionSpec | undefined = ContextOptions[name as ContextOption];
    const what = `Cannot get context option ${String(name)}`;
    if (spec === undefined) throw new ZmqError(`${what}: unknown option`, ERRNO.EINVAL);
    if (spec.access === "w") throw new ZmqError(`${what}: the option is write-only`, ERRNO.EINVAL);
    const lib = zmqLib();
    const value = lib.zmq_ctx_get(this.#live(what), spec.id);
    // -1 is also how zmq_ctx_get fails; of the options, only
    // THREAD_SCHED_POLICY holds -1 (the OS default) for real.
    if (value === -1 && name !== "THREAD_SCHED_POLICY") throw lastError(what);
    return (spec.kind === "bool" ? value !== 0 : value) as ContextOptionValue<K>;
  }

  #live(what: string): Deno.PointerObject {
    if (this.#pointer === null) throw new TypeError(`${what}: the context is closed`);
    return this.#pointer;
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
   * @throws {ZmqError} (code `"EMFILE"`) when MAX_SOCKETS sockets are open.
   */
  socket(type: SocketType): Socket {
    if (this.#pointer === null) {
      throw new TypeError("Cannot create a socket: the context is closed");
    }
    // libzmq starts the context's threads at its first zmq_socket call.
    if (Object.hasOwn(SocketTypes, type)) this.#started = true;
    const socket = new Socket(this.#owner, type);
    this.#sockets.add(socket);
    // libzmq's own BLOCKY default (LINGER 0) is overridden by the Socket's
    // DEFAULT_LINGER_MS: restore it.
    if (!this.#blocky) socket.setOption("LINGER", 0);
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

/**
 * Whether the loaded libzmq has a capability (`zmq_has`).
 *
 * @param capability A transport or mechanism: `"ipc"`, `"pgm"`, `"tipc"`,
 * `"norm"`, `"vmci"`, `"curve"`, `"gssapi"`, or `"draft"` (the DRAFT API).
 * @returns True if it has; false for an unknown name, and for every name
 * when libzmq is older than 4.1 (no `zmq_has`).
 *
 * @example
 * ```ts ignore
 * if (!zmqHas("curve")) throw new Error("this libzmq was built without CURVE");
 * ```
 */
export function zmqHas(capability: string): boolean {
  if (typeof capability !== "string") {
    throw new TypeError(
      `Cannot check a capability: expected a string, got ${describe(capability)}`,
    );
  }
  const has = zmqLib().zmq_has;
  return has !== null && has(cstr(capability)) !== 0;
}
