/**
 * `Socket`: one ZeroMQ socket, with synchronous setup calls (bind, connect,
 * options) and asynchronous `receive()` and `send()`.
 *
 * `receive()` and `send()` first try libzmq with `ZMQ_DONTWAIT` on the main
 * thread; only on EAGAIN do they queue and wait for readiness through the
 * shared poller (see `_poller.ts`). Waiters of one socket are served in call
 * order, so several pending receives or sends never fail with EBUSY, and a
 * send resolves only once libzmq took the message: nothing is queued past the
 * high-water mark behind the caller's back.
 *
 * @module
 */

import { cstr, decodeUntilNul, readCString, toBytes } from "./_util.ts";
import {
  DEFAULT_LINGER_MS,
  DONTWAIT,
  MSG_T_SIZE,
  type OptionReadValue,
  type OptionValue,
  POLLIN,
  POLLOUT,
  type ReadableOption,
  SNDMORE,
  type SocketOption,
  SocketOptions,
  type SocketType,
  SocketTypes,
  type WritableOption,
} from "./constants.ts";
import { check, closedError, ERRNO, isClosed, lastError, ZmqError } from "./error.ts";
import { type LibcLib, libcLib, type ZmqLib, zmqLib } from "./lib.ts";
import {
  countOperation,
  nextTurn,
  owesTurn,
  pollCycle,
  thePoller,
  type Waitable,
} from "./_poller.ts";
import { type InlineFrames, probeInlineFrames } from "./_inline_frames.ts";
import { allocBytes } from "./bytes.ts";

/** A message frame as given to `send()`. */
export type Frame = string | Uint8Array;

/** What `send()` takes: one frame, or the frames of a multipart message. */
export type Message = Frame | readonly Frame[];

interface ReceiveWaiter {
  resolve(frames: Uint8Array[]): void;
  reject(error: Error): void;
}

interface SendWaiter {
  frames: Uint8Array[];
  resolve(): void;
  reject(error: Error): void;
}

/** A `poll()` that waits for the socket to become readable or writable. */
interface PollWaiter {
  /** POLLIN, POLLOUT or both. */
  mask: number;
  resolve(ready: PollResult): void;
  reject(error: Error): void;
}

/** Options of a `receive()` or `send()`. */
export interface OperationOptions {
  /**
   * Ends the wait: the call rejects with the signal's reason, and nothing
   * is taken (a message that comes later stays for the next `receive()`;
   * a message not yet sent is not sent).
   */
  signal?: AbortSignal;
}

/** Which readiness `poll()` waits for. */
export type PollEvents = "readable" | "writable" | "both";

/** Options of `poll()`. */
export interface PollOptions extends OperationOptions {
  /** How long to wait, ms; -1 (the default) waits until ready. */
  timeoutMs?: number;
}

/** What `poll()` found: whether a message can be received, and sent, now. */
export interface PollResult {
  /** A `tryReceive()` would return a message now. */
  readable: boolean;
  /** A `trySend()` would take a message now (for a ROUTER: for some peer). */
  writable: boolean;
}

/** Hooks the owning context gives a socket. */
export interface SocketOwner {
  /** The native context pointer. */
  readonly pointer: Deno.PointerObject;
  /** Called once when the socket closes. */
  release(socket: Socket): void;
  /** Creates another socket in the same context. */
  socket(type: SocketType): Socket;
}

/** Socket types whose sends are not answered on the same socket. */
const ONE_WAY: ReadonlySet<SocketType> = new Set(["PUB", "XPUB", "SUB", "XSUB", "PUSH", "PULL"]);

const typeNames = Object.fromEntries(
  Object.entries(SocketTypes).map(([name, id]) => [id, name]),
) as Record<number, SocketType>;

/** The native pointer of a socket; for `ffi/` modules only (not exported from `mod.ts`). */
export let socketPointer: (socket: Socket) => Deno.PointerObject;
/** The context a socket belongs to; for `ffi/` modules only (not exported from `mod.ts`). */
export let socketOwner: (socket: Socket) => SocketOwner;

/**
 * A ZeroMQ socket. Create one with `Context.socket(type)`.
 *
 * @example
 * ```ts ignore
 * using ctx = new Context();
 * using pull = ctx.socket("PULL");
 * pull.bind("tcp://127.0.0.1:5555");
 * const [frame] = await pull.receive();
 * ```
 */
export class Socket implements AsyncIterable<Uint8Array[]> {
  #lib: ZmqLib;
  #libc: LibcLib = libcLib();
  #handle: Deno.PointerObject | null;
  #owner: SocketOwner;
  #type: SocketType;
  #fd: number;
  #msg = new Uint8Array(new ArrayBuffer(MSG_T_SIZE));
  #inline: InlineFrames | null;
  #intValue = new Int32Array(new ArrayBuffer(8));
  #intLength = new BigUint64Array(1);
  #receivers: ReceiveWaiter[] = [];
  #receiverHead = 0;
  #senders: SendWaiter[] = [];
  #senderHead = 0;
  #pollers: PollWaiter[] = [];
  /** RCVTIMEO and SNDTIMEO as last set (ms; -1: wait for ever), which `receive()` and `send()` honour. */
  #receiveTimeout = -1;
  #sendTimeout = -1;
  #servicing = false;
  #recheckQueued = false;
  #sentSinceReceive = false;
  #sentCycle = 0;
  /** What the poller sees of this socket: its internals stay off the public type. */
  #waitable: Waitable;
  /** Message properties read with each message received (names as C strings). */
  #properties: { name: string; cname: Uint8Array; alias?: Uint8Array }[] = [];

  /**
   * Use `Context.socket(type)` instead.
   *
   * @param owner The context that owns the socket.
   * @param type The socket type.
   */
  constructor(owner: SocketOwner, type: SocketType) {
    const id = SocketTypes[type];
    if (id === undefined) {
      throw new TypeError(
        `Unknown socket type "${type}": expected one of ${Object.keys(SocketTypes).join(", ")}`,
      );
    }
    this.#lib = zmqLib();
    this.#inline = inlineFrames(this.#lib);
    this.#owner = owner;
    this.#type = type;
    const handle = this.#lib.zmq_socket(owner.pointer, id);
    if (handle === null) throw lastError(`Cannot create a ${type} socket`);
    this.#handle = handle;
    check(this.#lib.zmq_msg_init(this.#msg), "zmq_msg_init");
    this.setOption("LINGER", DEFAULT_LINGER_MS);
    this.#fd = this.#getInt(SocketOptions.FD.id, "FD");
    this.#waitable = {
      fd: this.#fd,
      waiting: () => this.#waiting(),
      service: () => this.#service(),
      ready: () => this.#ready(),
      awaitsReply: () => this.#awaitsReply(),
    };
  }

  /** The socket type, e.g. `"PUB"`. */
  get type(): SocketType {
    return this.#type;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#handle === null;
  }

  #live(what: string): Deno.PointerObject {
    if (this.#handle === null) throw closedError(what);
    return this.#handle;
  }

  /**
   * Binds to an endpoint such as `"tcp://127.0.0.1:5555"`, `"ipc:///tmp/x"`
   * or `"inproc://name"`; port 0 or `*` picks a free port (see
   * `getOption("LAST_ENDPOINT")`).
   *
   * @param endpoint The endpoint to bind.
   * @throws {ZmqError} e.g. with code `"EADDRINUSE"`.
   */
  bind(endpoint: string): void {
    const what = `Cannot bind "${endpoint}"`;
    check(this.#lib.zmq_bind(this.#live(what), cstr(endpoint)), what);
  }

  /**
   * Connects to an endpoint; the connection is made in the background.
   *
   * @param endpoint The endpoint to connect to.
   * @throws {ZmqError} for a malformed endpoint or unknown transport.
   */
  connect(endpoint: string): void {
    const what = `Cannot connect to "${endpoint}"`;
    check(this.#lib.zmq_connect(this.#live(what), cstr(endpoint)), what);
  }

  /**
   * Stops listening on an endpoint bound earlier.
   *
   * @param endpoint The endpoint as bound, or as `LAST_ENDPOINT` reported it.
   */
  unbind(endpoint: string): void {
    const what = `Cannot unbind "${endpoint}"`;
    check(this.#lib.zmq_unbind(this.#live(what), cstr(endpoint)), what);
  }

  /**
   * Disconnects from an endpoint connected earlier.
   *
   * @param endpoint The endpoint as given to `connect()`.
   */
  disconnect(endpoint: string): void {
    const what = `Cannot disconnect from "${endpoint}"`;
    check(this.#lib.zmq_disconnect(this.#live(what), cstr(endpoint)), what);
  }

  /**
   * Sets a socket option; the value's type follows from the option.
   *
   * @param name The option, e.g. `"SNDHWM"`.
   * @param value A number, boolean, string or bytes, as the option takes.
   * @throws {ZmqError} (code `"EINVAL"`) for an unknown option, a read-only
   * option or a value of the wrong type.
   *
   * @example
   * ```ts ignore
   * sock.setOption("SNDHWM", 10_000);
   * sock.setOption("SUBSCRIBE", "");
   * ```
   */
  setOption<K extends WritableOption>(name: K, value: OptionValue<K>): void {
    const spec = SocketOptions[name as SocketOption];
    const what = `Cannot set option ${String(name)}`;
    if (spec === undefined) {
      throw new ZmqError(`${what}: unknown option`, ERRNO.EINVAL);
    }
    if (spec.access === "r") {
      throw new ZmqError(`${what}: the option is read-only`, ERRNO.EINVAL);
    }
    const handle = this.#live(what);
    let bytes: Uint8Array;
    switch (spec.kind) {
      case "int":
      case "bool": {
        const number = spec.kind === "bool"
          ? (typeof value === "boolean" ? Number(value) : NaN)
          : (typeof value === "number" && Number.isInteger(value) ? value : NaN);
        if (Number.isNaN(number)) {
          throw new ZmqError(
            `${what}: expected ${spec.kind === "bool" ? "a boolean" : "an integer"}, got ${
              describe(value)
            }`,
            ERRNO.EINVAL,
          );
        }
        bytes = new Uint8Array(new Int32Array([number]).buffer);
        break;
      }
      case "int64": {
        if (typeof value !== "number" || !Number.isInteger(value)) {
          throw new ZmqError(
            `${what}: expected an integer, got ${describe(value)}`,
            ERRNO.EINVAL,
          );
        }
        bytes = new Uint8Array(new BigInt64Array([BigInt(value)]).buffer);
        break;
      }
      case "bytes":
      case "string": {
        if (typeof value !== "string" && !(value instanceof Uint8Array)) {
          throw new ZmqError(
            `${what}: expected a string${spec.kind === "bytes" ? " or Uint8Array" : ""}, got ${
              describe(value)
            }`,
            ERRNO.EINVAL,
          );
        }
        bytes = toBytes(value);
        break;
      }
    }
    check(
      this.#lib.zmq_setsockopt(
        handle,
        spec.id,
        bytes,
        BigInt(bytes.byteLength),
      ),
      what,
    );
    if (name === "RCVTIMEO") this.#receiveTimeout = value as number;
    else if (name === "SNDTIMEO") this.#sendTimeout = value as number;
  }

  /**
   * Reads a socket option; the result's type follows from the option.
   *
   * @param name The option, e.g. `"LAST_ENDPOINT"`.
   * @returns A number, boolean, string or bytes, as the option holds.
   * @throws {ZmqError} (code `"EINVAL"`) for an unknown or write-only option.
   */
  getOption<K extends ReadableOption>(name: K): OptionReadValue<K> {
    const spec = SocketOptions[name as SocketOption];
    const what = `Cannot get option ${String(name)}`;
    if (spec === undefined) {
      throw new ZmqError(`${what}: unknown option`, ERRNO.EINVAL);
    }
    if (spec.access === "w") {
      throw new ZmqError(`${what}: the option is write-only`, ERRNO.EINVAL);
    }
    const handle = this.#live(what);
    // libzmq wants the exact size for numbers, and room for text.
    const size = spec.kind === "int" || spec.kind === "bool" ? 4 : spec.kind === "int64" ? 8 : 256;
    const buffer = new Uint8Array(size);
    const length = new BigUint64Array([BigInt(size)]);
    check(this.#lib.zmq_getsockopt(handle, spec.id, buffer, length), what);
    const view = new DataView(buffer.buffer);
    let result: number | boolean | string | Uint8Array;
    switch (spec.kind) {
      case "int":
        result = view.getInt32(0, true);
        break;
      case "bool":
        result = view.getInt32(0, true) !== 0;
        break;
      case "int64":
        result = Number(view.getBigInt64(0, true));
        break;
      case "string":
        result = decodeUntilNul(buffer.subarray(0, Number(length[0])));
        break;
      case "bytes":
        result = buffer.slice(0, Number(length[0]));
        break;
    }
    // Reading ZMQ_EVENTS re-arms ZMQ_FD: serve the waiters from it too.
    if (spec.id === SocketOptions.EVENTS.id) this.#afterOperation();
    return result as OptionReadValue<K>;
  }

  #getInt(id: number, name: string): number {
    // A signal can interrupt libzmq's command processing (EINTR): try again.
    while (true) {
      this.#intLength[0] = 4n;
      if (this.#lib.zmq_getsockopt(this.#handle, id, this.#intValue, this.#intLength) === 0) {
        return this.#intValue[0]!;
      }
      if (this.#lib.zmq_errno() !== ERRNO.EINTR) throw lastError(`Cannot get option ${name}`);
    }
  }

  /** `ZMQ_EVENTS`; 0 once closed. */
  #events(): number {
    if (this.#handle === null) return 0;
    return this.#getInt(SocketOptions.EVENTS.id, "EVENTS");
  }

  /**
   * Receives one message, waiting for it if none is ready. Calls made while
   * others wait are served in call order. With RCVTIMEO set (ms, as libzmq
   * takes it), a wait longer than that rejects with a `ZmqError` of code
   * `"EAGAIN"`, and nothing is taken.
   *
   * @param options `signal`: ends the wait, rejecting with its reason.
   * @returns The message's frames. Frames up to 4 KiB are views into a
   * shared slab (see `allocBytes`): their `buffer` is larger than they are.
   * @throws {ZmqError} with code `"ECLOSED"` if the socket closes first,
   * `"EAGAIN"` past RCVTIMEO.
   */
  receive(options?: OperationOptions): Promise<Uint8Array[]> {
    if (this.#handle === null) {
      return Promise.reject(closedError("Cannot receive"));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const turnOwed = owesTurn();
    if (this.#receiverHead === this.#receivers.length && !turnOwed) {
      const message = this.#tryReceive();
      if (message !== null) {
        this.#afterOperation();
        return Promise.resolve(message);
      }
    }
    return this.#waitReceive(signal, turnOwed);
  }

  /** Queues a receive (with RCVTIMEO and the signal) and hands the socket to the poller. */
  #waitReceive(signal?: AbortSignal, turnOwed = false): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => {
      const timeout = this.#receiveTimeout;
      // RCVTIMEO 0: libzmq's "do not wait".
      if (timeout === 0 && !turnOwed) return reject(timedOut("receive", "RCVTIMEO", 0));
      const waiter: ReceiveWaiter = guarded(
        { resolve, reject },
        () => removeWaiter(this.#receivers, this.#receiverHead, waiter),
        timeout,
        signal,
        () => timedOut("receive", "RCVTIMEO", timeout),
      );
      this.#receivers.push(waiter);
      this.#parkSoon(turnOwed);
    });
  }

  /**
   * Waits until a message can be received (`"readable"`, the default) or
   * sent (`"writable"`), without taking or sending anything: another
   * caller's `receive()` may still take the message first.
   *
   * @param events What to wait for: `"readable"`, `"writable"` or `"both"`.
   * @param options `timeoutMs` (-1, the default, waits until ready) and `signal`.
   * @returns What is ready; after `timeoutMs` with nothing ready, both false.
   * @throws {ZmqError} `"ECLOSED"` if the socket closes first; the signal's reason if it aborts.
   *
   * @example
   * ```ts ignore
   * const { readable } = await sock.poll("readable", { timeoutMs: 100 });
   * if (readable) console.log(sock.tryReceive());
   * ```
   */
  poll(events: PollEvents = "readable", options: PollOptions = {}): Promise<PollResult> {
    if (this.#handle === null) return Promise.reject(closedError("Cannot poll"));
    const { timeoutMs = -1, signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const mask = events === "readable"
      ? POLLIN
      : events === "writable"
      ? POLLOUT
      : POLLIN | POLLOUT;
    const now = this.#freeEvents();
    if ((now & mask) !== 0 || timeoutMs === 0) return Promise.resolve(readiness(now));
    return new Promise((resolve, reject) => {
      const waiter: PollWaiter = {
        mask,
        ...guarded(
          { resolve, reject },
          () => removeWaiter(this.#pollers, 0, waiter),
          timeoutMs,
          signal,
          () => undefined,
          () => readiness(this.#freeEvents()),
        ),
      };
      this.#pollers.push(waiter);
      this.#park();
    });
  }

  /**
   * Receives one message if one is ready now, without waiting.
   *
   * @returns The frames, or `null` when nothing is ready (or others wait).
   */
  tryReceive(): Uint8Array[] | null {
    if (this.#handle === null) throw closedError("Cannot receive");
    if (this.#receiverHead !== this.#receivers.length) return null;
    const message = this.#tryReceive();
    if (message !== null) {
      countOperation();
      this.#afterOperation();
    }
    return message;
  }

  /**
   * Reads these message properties (libzmq's `zmq_msg_gets`) with every
   * message received from now on; {@link messageProperties} then returns
   * them for a received message. Properties are libzmq's connection
   * metadata: `"User-Id"` (the id a ZAP handler gave the peer),
   * `"Peer-Address"`, `"Socket-Type"`, `"Routing-Id"` (the peer's ROUTING_ID,
   * which libzmq 4.3 names `"Identity"`: either name reads it), ZAP
   * metadata and any set with `ZMQ_METADATA`. A property the connection
   * lacks is left out. Messages of a socket that reads none cost nothing more.
   *
   * @param names The property names; an empty list stops reading them.
   *
   * @example
   * ```ts ignore
   * router.readProperties(["User-Id"]);
   * const message = await router.receive();
   * console.log(messageProperties(message)?.["User-Id"]);
   * ```
   */
  readProperties(names: readonly string[]): void {
    this.#properties = names.map((name) => ({
      name,
      cname: cstr(name),
      // libzmq 4.3 sends a peer's routing id under ZMTP's older name.
      ...(name === "Routing-Id" ? { alias: cstr("Identity") } : {}),
    }));
  }

  /**
   * Sends a message of one or more frames, waiting while the high-water
   * mark is reached. Resolves once libzmq has taken the whole message. With
   * SNDTIMEO set (ms), a wait longer than that rejects with a `ZmqError` of
   * code `"EAGAIN"`, and nothing of the message is sent.
   *
   * @param message A frame (string or bytes) or an array of frames.
   * @param options `signal`: ends the wait, rejecting with its reason (nothing sent).
   * @throws {ZmqError} e.g. `"EHOSTUNREACH"` from a ROUTER with
   * ROUTER_MANDATORY, `"EAGAIN"` past SNDTIMEO, or `"ECLOSED"` if the
   * socket closes first.
   */
  send(message: Message, options?: OperationOptions): Promise<void> {
    if (this.#handle === null) {
      return Promise.reject(closedError("Cannot send"));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const turnOwed = owesTurn();
    const free = this.#senderHead === this.#senders.length && !turnOwed;
    // One frame of bytes, the common case: no array, no new promise.
    if (free && message instanceof Uint8Array) {
      try {
        if (this.#trySendFrame(message)) {
          this.#afterOperation();
          return RESOLVED;
        }
      } catch (error) {
        return Promise.reject(error);
      }
    }
    let frames: Uint8Array[];
    try {
      frames = toFrames(message);
    } catch (error) {
      return Promise.reject(error);
    }
    if (free && !(message instanceof Uint8Array)) {
      try {
        if (this.#trySend(frames)) {
          this.#afterOperation();
          return RESOLVED;
        }
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise((resolve, reject) => {
      const timeout = this.#sendTimeout;
      if (timeout === 0 && !turnOwed) return reject(timedOut("send", "SNDTIMEO", 0));
      const waiter: SendWaiter = {
        frames,
        ...guarded(
          { resolve, reject },
          () => removeWaiter(this.#senders, this.#senderHead, waiter),
          timeout,
          signal,
          () => timedOut("send", "SNDTIMEO", timeout),
        ),
      };
      this.#senders.push(waiter);
      this.#parkSoon(turnOwed);
    });
  }

  /**
   * Sends a message now if libzmq can take it without waiting.
   *
   * @param message A frame or an array of frames.
   * @returns True if sent; false at the high-water mark (or while others wait).
   */
  trySend(message: Message): boolean {
    if (this.#handle === null) throw closedError("Cannot send");
    if (this.#senderHead !== this.#senders.length) return false;
    const sent = this.#trySend(toFrames(message));
    if (sent) {
      countOperation();
      this.#afterOperation();
    }
    return sent;
  }

  /** Receives a whole multipart message with DONTWAIT, or returns null on EAGAIN. */
  #tryReceive(): Uint8Array[] | null {
    const lib = this.#lib;
    const handle = this.#handle;
    const msg = this.#msg;
    let size = lib.zmq_msg_recv(msg, handle, DONTWAIT);
    if (size === -1) {
      // EINTR (a signal came) is as good as EAGAIN: nothing was taken.
      const errno = lib.zmq_errno();
      if (errno === ERRNO.EAGAIN || errno === ERRNO.EINTR) return null;
      throw lastError("Cannot receive");
    }
    this.#sentSinceReceive = false;
    const frames: Uint8Array[] = [];
    const inline = this.#inline;
    while (true) {
      const frame = allocBytes(size);
      if (
        inline !== null && size <= inline.maxSize && msg[inline.typeOffset] === inline.inlineType &&
        msg[inline.sizeOffset] === size
      ) {
        // A small frame: its bytes are in the message struct itself.
        for (let i = 0, at = inline.dataOffset; i < size; i++, at++) frame[i] = msg[at]!;
      } else if (size > 0) {
        this.#libc.memcpy(frame, lib.zmq_msg_data(msg), sizeArgument(size));
      }
      frames.push(frame);
      if (lib.zmq_msg_more(msg) === 0) {
        // From the last frame: a ROUTER's first (the routing id it adds) has none.
        if (this.#properties.length > 0) received.set(frames, this.#readProperties());
        return frames;
      }
      // The rest of a multipart message is already here (atomic delivery).
      do size = lib.zmq_msg_recv(msg, handle, DONTWAIT); while (
        size === -1 && lib.zmq_errno() === ERRNO.EINTR
      );
      if (size === -1) throw lastError("Cannot receive the next frame");
    }
  }

  /** The configured properties of the frame in `#msg` (a peer's frames all have the same). */
  #readProperties(): Readonly<Record<string, string>> {
    const values: Record<string, string> = {};
    for (const { name, cname, alias } of this.#properties) {
      const value = this.#lib.zmq_msg_gets(this.#msg, cname) ??
        (alias === undefined ? null : this.#lib.zmq_msg_gets(this.#msg, alias));
      if (value !== null) values[name] = readCString(value);
    }
    return Object.freeze(values);
  }

  /** Sends a one-frame message with DONTWAIT; false on EAGAIN. */
  #trySendFrame(frame: Uint8Array): boolean {
    const lib = this.#lib;
    const size = sizeArgument(frame.byteLength);
    while (lib.zmq_send(this.#handle, frame, size, DONTWAIT) === -1) {
      const errno = lib.zmq_errno();
      if (errno === ERRNO.EINTR) continue;
      if (errno === ERRNO.EAGAIN) return false;
      throw lastError("Cannot send");
    }
    this.#sentSinceReceive = true;
    this.#sentCycle = pollCycle();
    return true;
  }

  /** Sends all frames with DONTWAIT; false if the first frame got EAGAIN. */
  #trySend(frames: Uint8Array[]): boolean {
    const lib = this.#lib;
    const handle = this.#handle;
    const last = frames.length - 1;
    for (let i = 0; i <= last; i++) {
      const frame = frames[i]!;
      const flags = i === last ? DONTWAIT : DONTWAIT | SNDMORE;
      const size = frame.byteLength;
      while (lib.zmq_send(handle, frame, sizeArgument(size), flags) === -1) {
        const errno = lib.zmq_errno();
        if (errno === ERRNO.EINTR) continue;
        if (i === 0 && errno === ERRNO.EAGAIN) return false;
        throw lastError(
          i === 0 ? "Cannot send" : `Cannot send frame ${i + 1} of ${frames.length}`,
        );
      }
    }
    this.#sentSinceReceive = true;
    this.#sentCycle = pollCycle();
    return true;
  }

  /** True if a waiting receive or send can be served now (for the poller). */
  #ready(): boolean {
    const events = this.#events();
    return ((events & POLLIN) !== 0 &&
      this.#receiverHead < this.#receivers.length) ||
      ((events & POLLOUT) !== 0 && this.#senderHead < this.#senders.length) ||
      this.#pollers.some((waiter) => (events & waiter.mask) !== 0);
  }

  /**
   * True if this socket sent (in this wait cycle of the poller or the one
   * before) and has not received since, and is of a type whose
   * peers answer on the same socket (REQ, REP, DEALER, ROUTER, PAIR...): a
   * reply may come at once (for the poller's spin). An XPUB read for its
   * subscriptions while it publishes does not count.
   */
  #awaitsReply(): boolean {
    return this.#sentSinceReceive && pollCycle() - this.#sentCycle <= 1 &&
      !ONE_WAY.has(this.#type);
  }

  /** True while a receive or send waits (for the poller). */
  #waiting(): boolean {
    return this.#receiverHead < this.#receivers.length ||
      this.#senderHead < this.#senders.length || this.#pollers.length > 0;
  }

  /**
   * A send or receive may have consumed the edge of `ZMQ_FD` that another
   * waiter of this socket needed: serve waiters from `ZMQ_EVENTS` again,
   * once after the operations of this turn of the event loop (a socket that
   * sends while a receive waits, such as an XPUB read for subscriptions,
   * would otherwise read `ZMQ_EVENTS` after every send).
   */
  #afterOperation(): void {
    if (this.#recheckQueued || !this.#waiting()) return;
    this.#recheckQueued = true;
    nextTurn(() => {
      this.#recheckQueued = false;
      this.#service();
    });
  }

  /** {@link #park} now, or after a turn of the event loop when one is owed. */
  #parkSoon(turnOwed: boolean): void {
    if (turnOwed) nextTurn(() => this.#park());
    else this.#park();
  }

  /** Serves what is ready now, then hands the socket to the poller if it still waits. */
  #park(): void {
    this.#service();
    if (this.#waiting()) thePoller().watch(this.#waitable);
  }

  /**
   * Reads `ZMQ_EVENTS` and serves receivers and senders, in call order, until
   * neither can go on.
   *
   * @returns True if a waiter was served (POLLOUT on a ROUTER can be true
   * while the one peer a send is for has no room).
   */
  #service(): boolean {
    if (this.#servicing || this.#handle === null) return false;
    this.#servicing = true;
    let served = false;
    try {
      let progress = true;
      while (progress && this.#waiting()) {
        progress = false;
        const events = this.#events();
        // Pollers first: they see the readiness before a receive takes it.
        if (this.#pollers.length > 0 && this.#servePollers(events)) served = true;
        if (events & POLLIN) {
          while (this.#receiverHead < this.#receivers.length) {
            let message: Uint8Array[] | null;
            try {
              message = this.#tryReceive();
            } catch (error) {
              this.#takeReceiver().reject(error as Error);
              progress = served = true;
              continue;
            }
            if (message === null) break;
            this.#takeReceiver().resolve(message);
            progress = served = true;
          }
        }
        if (events & POLLOUT) {
          while (this.#senderHead < this.#senders.length) {
            const waiter = this.#senders[this.#senderHead]!;
            let sent: boolean;
            try {
              sent = this.#trySend(waiter.frames);
            } catch (error) {
              this.#takeSender().reject(error as Error);
              progress = served = true;
              continue;
            }
            if (!sent) break;
            this.#takeSender().resolve();
            progress = served = true;
          }
        }
      }
    } finally {
      this.#servicing = false;
    }
    return served;
  }

  /**
   * Resolves the pollers that `events` satisfies, leaving out a direction
   * that queued receives or sends will take; true if any.
   */
  #servePollers(events: number): boolean {
    const free = this.#unclaimed(events);
    const ready = this.#pollers.filter((waiter) => (free & waiter.mask) !== 0);
    if (ready.length === 0) return false;
    this.#pollers = this.#pollers.filter((waiter) => (free & waiter.mask) === 0);
    const result = readiness(free);
    for (const waiter of ready) waiter.resolve(result);
    return true;
  }

  /** `events` without the directions that queued receives or sends will take. */
  #unclaimed(events: number): number {
    let free = events;
    if (this.#receiverHead < this.#receivers.length) free &= ~POLLIN;
    if (this.#senderHead < this.#senders.length) free &= ~POLLOUT;
    return free;
  }

  /**
   * `ZMQ_EVENTS` read outside `#service`, for `poll()` and `readiness()`:
   * reading it re-arms `ZMQ_FD`, so waiting receives and sends are served
   * from it too (they would otherwise wait on an edge already taken).
   */
  #freeEvents(): number {
    const events = this.#events();
    this.#afterOperation();
    return this.#unclaimed(events);
  }

  /**
   * What `poll()` would say now, without waiting: whether `tryReceive()`
   * and `trySend()` would go through (a direction that queued `receive()`
   * or `send()` calls will take is not ready).
   *
   * @returns Readable and writable, now.
   */
  readiness(): PollResult {
    if (this.#handle === null) throw closedError("Cannot poll");
    return readiness(this.#freeEvents());
  }

  #takeReceiver(): ReceiveWaiter {
    const waiter = this.#receivers[this.#receiverHead]!;
    this.#receivers[this.#receiverHead++] = undefined as unknown as ReceiveWaiter;
    if (this.#receiverHead === this.#receivers.length) {
      this.#receivers.length = 0;
      this.#receiverHead = 0;
    }
    return waiter;
  }

  #takeSender(): SendWaiter {
    const waiter = this.#senders[this.#senderHead]!;
    this.#senders[this.#senderHead++] = undefined as unknown as SendWaiter;
    if (this.#senderHead === this.#senders.length) {
      this.#senders.length = 0;
      this.#senderHead = 0;
    }
    return waiter;
  }

  /**
   * Iterates over received messages. Leaving the loop keeps the socket open;
   * the loop ends without error when the socket closes. With RCVTIMEO set,
   * a wait past it ends the loop with its `"EAGAIN"` error.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array[]> {
    // Written out rather than as an async generator: one promise per
    // message instead of three.
    const done: IteratorResult<Uint8Array[]> = { done: true, value: undefined };
    const ended = (error: unknown) => {
      if (isClosed(error)) return done;
      throw error;
    };
    return {
      next: () => {
        if (this.#handle === null) return Promise.resolve(done);
        const turnOwed = owesTurn();
        // A message ready now: one promise, no continuation.
        if (this.#receiverHead === this.#receivers.length && !turnOwed) {
          let value: Uint8Array[] | null;
          try {
            value = this.#tryReceive();
          } catch (error) {
            return Promise.reject(error);
          }
          if (value !== null) {
            this.#afterOperation();
            return Promise.resolve({ done: false, value });
          }
        }
        return this.#waitReceive(undefined, turnOwed).then(
          (value) => ({ done: false, value }),
          ended,
        );
      },
      return: () => Promise.resolve(done),
    };
  }

  /**
   * Closes the socket: pending receives and sends reject with a `ZmqError`
   * of code `"ECLOSED"`; unsent messages linger for at most LINGER ms
   * (default {@link DEFAULT_LINGER_MS}). Calling it again does nothing.
   */
  close(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    const error = closedError(`The ${this.#type} socket closed`);
    while (this.#receiverHead < this.#receivers.length) {
      this.#takeReceiver().reject(error);
    }
    while (this.#senderHead < this.#senders.length) {
      this.#takeSender().reject(error);
    }
    for (const waiter of this.#pollers.splice(0)) waiter.reject(error);
    thePoller().forget(this.#waitable);
    this.#lib.zmq_msg_close(this.#msg);
    this.#lib.zmq_close(handle);
    this.#owner.release(this);
  }

  /** Closes the socket (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  static {
    socketPointer = (socket) => socket.#live("Cannot use the socket");
    socketOwner = (socket) => socket.#owner;
  }
}

/** What a `send()` that libzmq took at once returns: one promise for all of them. */
const RESOLVED: Promise<void> = Promise.resolve();

/** The properties read with each received message, for sockets that read them. */
const received = new WeakMap<Uint8Array[], Readonly<Record<string, string>>>();

/**
 * The message properties read with a received message (see
 * `Socket.readProperties`).
 *
 * @param message A message as `receive()` or `tryReceive()` returned it.
 * @returns The properties by name, or undefined if its socket read none.
 */
export function messageProperties(
  message: readonly Uint8Array[],
): Readonly<Record<string, string>> | undefined {
  return received.get(message as Uint8Array[]);
}

/** `BigInt(n)` for small n: a frame's size is passed as a BigInt, allocated once here. */
const SIZES: readonly bigint[] = Array.from({ length: 1025 }, (_, n) => BigInt(n));

/** A size as the BigInt a `size_t` parameter takes, without allocating one for small sizes. */
function sizeArgument(size: number): bigint {
  return SIZES[size] ?? BigInt(size);
}

let inlineLayout: InlineFrames | null | undefined;

/** The inline-frame layout of the loaded libzmq, probed once. */
function inlineFrames(lib: ZmqLib): InlineFrames | null {
  if (inlineLayout === undefined) inlineLayout = probeInlineFrames(lib);
  return inlineLayout;
}

function toFrames(message: Message): Uint8Array[] {
  if (typeof message === "string" || message instanceof Uint8Array) {
    return [toBytes(message)];
  }
  if (!Array.isArray(message) || message.length === 0) {
    throw new TypeError(
      "Cannot send: expected a string, a Uint8Array or a non-empty array of them",
    );
  }
  return message.map((frame, i) => {
    if (typeof frame !== "string" && !(frame instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot send: frame ${i + 1} is ${describe(frame)}, expected a string or Uint8Array`,
      );
    }
    return toBytes(frame);
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return "a Uint8Array";
  if (Array.isArray(value)) return "an array";
  return `${typeof value === "object" ? "an object" : typeof value} ${
    typeof value === "string"
      ? JSON.stringify(value)
      : typeof value === "object"
      ? ""
      : String(value)
  }`.trim();
}

/** What `ZMQ_EVENTS` says, as a {@link PollResult}. */
function readiness(events: number): PollResult {
  return { readable: (events & POLLIN) !== 0, writable: (events & POLLOUT) !== 0 };
}

/** Takes `waiter` out of `queue` (from `head` on) if it still waits there; true if it did. */
function removeWaiter<T>(queue: T[], head: number, waiter: T): boolean {
  const at = queue.indexOf(waiter, head);
  if (at < 0) return false;
  queue.splice(at, 1);
  return true;
}

/** The error of a wait past RCVTIMEO or SNDTIMEO. */
function timedOut(what: "receive" | "send", option: string, ms: number): ZmqError {
  return new ZmqError(
    `Cannot ${what}: nothing ${
      what === "receive" ? "came" : "could be sent"
    } within ${option} ${ms} ms (EAGAIN)`,
    ERRNO.EAGAIN,
    "EAGAIN",
  );
}

/**
 * Wraps a waiter's callbacks with a timeout and a signal: when either
 * comes first, the waiter is taken out of its queue (`remove`, false if it
 * is being served already) and settles with the timeout's error (or, when
 * `onTimeout` is given, resolves with its value) or the signal's reason.
 * Settling in any way clears the timer and the listener. With neither a
 * timeout (`timeoutMs` < 0) nor a signal, the callbacks as they are.
 */
function guarded<T>(
  waiter: { resolve(value: T): void; reject(error: Error): void },
  remove: () => boolean,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  timeoutError: () => Error | undefined,
  onTimeout?: () => T,
): { resolve(value: T): void; reject(error: Error): void } {
  // Neither: the waiter as it is, nothing to clean up (the common case).
  if (timeoutMs < 0 && signal === undefined) return waiter;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cleanup = () => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", abort);
  };
  const abort = () => {
    if (!remove()) return;
    cleanup();
    waiter.reject(signal!.reason);
  };
  if (timeoutMs >= 0) {
    timer = setTimeout(() => {
      if (!remove()) return;
      cleanup();
      if (onTimeout !== undefined) waiter.resolve(onTimeout());
      else waiter.reject(timeoutError()!);
    }, timeoutMs);
  }
  signal?.addEventListener("abort", abort, { once: true });
  return {
    resolve(value) {
      cleanup();
      waiter.resolve(value);
    },
    reject(error) {
      cleanup();
      waiter.reject(error);
    },
  };
}

/** The socket type name for a libzmq type number. */
export function socketTypeName(id: number): SocketType | undefined {
  return typeNames[id];
}
