/**
 * libzmq 4.3's socket types and socket options, as `const` objects with
 * the types derived from them.
 *
 * @module
 */

/** Every socket type of libzmq 4.3, by name. */
export const SocketTypes = {
  PAIR: 0,
  PUB: 1,
  SUB: 2,
  REQ: 3,
  REP: 4,
  DEALER: 5,
  ROUTER: 6,
  PULL: 7,
  PUSH: 8,
  XPUB: 9,
  XSUB: 10,
  STREAM: 11,
} as const;

/** The name of a socket type: `"PUB"`, `"ROUTER"`, ... */
export type SocketType = keyof typeof SocketTypes;

/**
 * How an option's value is passed: `int` (number), `int64` (number,
 * e.g. MAXMSGSIZE), `bool` (boolean), `bytes` (Uint8Array or string),
 * `string` (text, NUL-terminated).
 */
export type OptionKind = "int" | "int64" | "bool" | "bytes" | "string";

/** The description of one socket option. */
export interface OptionSpec {
  /** libzmq's option number. */
  readonly id: number;
  /** How the value is passed. */
  readonly kind: OptionKind;
  /** Read-write, read-only or write-only. */
  readonly access: "rw" | "r" | "w";
}

/**
 * Every socket option of libzmq 4.3.4 that a stable (non-draft) build
 * accepts: its libzmq id, value kind and access. Left out: the deprecated
 * IDENTITY (use ROUTING_ID), IPV4ONLY (use IPV6), TCP_ACCEPT_FILTER and
 * IPC_FILTER_* (use ZAP), and the DRAFT options a stable build refuses.
 */
export const SocketOptions = {
  AFFINITY: { id: 4, kind: "int64", access: "rw" },
  ROUTING_ID: { id: 5, kind: "bytes", access: "rw" },
  SUBSCRIBE: { id: 6, kind: "bytes", access: "w" },
  UNSUBSCRIBE: { id: 7, kind: "bytes", access: "w" },
  RATE: { id: 8, kind: "int", access: "rw" },
  RECOVERY_IVL: { id: 9, kind: "int", access: "rw" },
  SNDBUF: { id: 11, kind: "int", access: "rw" },
  RCVBUF: { id: 12, kind: "int", access: "rw" },
  RCVMORE: { id: 13, kind: "bool", access: "r" },
  FD: { id: 14, kind: "int", access: "r" },
  EVENTS: { id: 15, kind: "int", access: "r" },
  TYPE: { id: 16, kind: "int", access: "r" },
  LINGER: { id: 17, kind: "int", access: "rw" },
  RECONNECT_IVL: { id: 18, kind: "int", access: "rw" },
  BACKLOG: { id: 19, kind: "int", access: "rw" },
  RECONNECT_IVL_MAX: { id: 21, kind: "int", access: "rw" },
  MAXMSGSIZE: { id: 22, kind: "int64", access: "rw" },
  SNDHWM: { id: 23, kind: "int", access: "rw" },
  RCVHWM: { id: 24, kind: "int", access: "rw" },
  MULTICAST_HOPS: { id: 25, kind: "int", access: "rw" },
  RCVTIMEO: { id: 27, kind: "int", access: "rw" },
  SNDTIMEO: { id: 28, kind: "int", access: "rw" },
  LAST_ENDPOINT: { id: 32, kind: "string", access: "r" },
  ROUTER_MANDATORY: { id: 33, kind: "bool", access: "w" },
  TCP_KEEPALIVE: { id: 34, kind: "int", access: "rw" },
  TCP_KEEPALIVE_CNT: { id: 35, kind: "int", access: "rw" },
  TCP_KEEPALIVE_IDLE: { id: 36, kind: "int", access: "rw" },
  TCP_KEEPALIVE_INTVL: { id: 37, kind: "int", access: "rw" },
  IMMEDIATE: { id: 39, kind: "bool", access: "rw" },
  XPUB_VERBOSE: { id: 40, kind: "bool", access: "w" },
  ROUTER_RAW: { id: 41, kind: "bool", access: "w" },
  IPV6: { id: 42, kind: "bool", access: "rw" },
  MECHANISM: { id: 43, kind: "int", access: "r" },
  PLAIN_SERVER: { id: 44, kind: "bool", access: "rw" },
  PLAIN_USERNAME: { id: 45, kind: "string", access: "rw" },
  PLAIN_PASSWORD: { id: 46, kind: "string", access: "rw" },
  CURVE_SERVER: { id: 47, kind: "bool", access: "rw" },
  CURVE_PUBLICKEY: { id: 48, kind: "string", access: "rw" },
  CURVE_SECRETKEY: { id: 49, kind: "string", access: "rw" },
  CURVE_SERVERKEY: { id: 50, kind: "string", access: "rw" },
  PROBE_ROUTER: { id: 51, kind: "bool", access: "w" },
  REQ_CORRELATE: { id: 52, kind: "bool", access: "w" },
  REQ_RELAXED: { id: 53, kind: "bool", access: "w" },
  CONFLATE: { id: 54, kind: "bool", access: "rw" },
  ZAP_DOMAIN: { id: 55, kind: "string", access: "rw" },
  ROUTER_HANDOVER: { id: 56, kind: "bool", access: "w" },
  TOS: { id: 57, kind: "int", access: "rw" },
  CONNECT_ROUTING_ID: { id: 61, kind: "bytes", access: "w" },
  // GSSAPI_*: only where libzmq was built with GSSAPI (`zmqHas("gssapi")`); EINVAL otherwise.
  GSSAPI_SERVER: { id: 62, kind: "bool", access: "rw" },
  GSSAPI_PRINCIPAL: { id: 63, kind: "string", access: "rw" },
  GSSAPI_SERVICE_PRINCIPAL: { id: 64, kind: "string", access: "rw" },
  GSSAPI_PLAINTEXT: { id: 65, kind: "bool", access: "rw" },
  HANDSHAKE_IVL: { id: 66, kind: "int", access: "rw" },
  SOCKS_PROXY: { id: 68, kind: "string", access: "rw" },
  XPUB_NODROP: { id: 69, kind: "bool", access: "w" },
  XPUB_MANUAL: { id: 71, kind: "bool", access: "w" },
  XPUB_WELCOME_MSG: { id: 72, kind: "bytes", access: "w" },
  STREAM_NOTIFY: { id: 73, kind: "bool", access: "w" },
  INVERT_MATCHING: { id: 74, kind: "bool", access: "rw" },
  HEARTBEAT_IVL: { id: 75, kind: "int", access: "rw" },
  HEARTBEAT_TTL: { id: 76, kind: "int", access: "rw" },
  HEARTBEAT_TIMEOUT: { id: 77, kind: "int", access: "rw" },
  XPUB_VERBOSER: { id: 78, kind: "bool", access: "w" },
  CONNECT_TIMEOUT: { id: 79, kind: "int", access: "rw" },
  TCP_MAXRT: { id: 80, kind: "int", access: "rw" },
  THREAD_SAFE: { id: 81, kind: "bool", access: "r" },
  MULTICAST_MAXTPDU: { id: 84, kind: "int", access: "rw" },
  // VMCI_*: only where libzmq was built with VMCI (`zmqHas("vmci")`); EINVAL otherwise.
  VMCI_BUFFER_SIZE: { id: 85, kind: "int64", access: "rw" },
  VMCI_BUFFER_MIN_SIZE: { id: 86, kind: "int64", access: "rw" },
  VMCI_BUFFER_MAX_SIZE: { id: 87, kind: "int64", access: "rw" },
  VMCI_CONNECT_TIMEOUT: { id: 88, kind: "int", access: "rw" },
  USE_FD: { id: 89, kind: "int", access: "rw" },
  GSSAPI_PRINCIPAL_NAMETYPE: { id: 90, kind: "int", access: "rw" },
  GSSAPI_SERVICE_PRINCIPAL_NAMETYPE: { id: 91, kind: "int", access: "rw" },
  BINDTODEVICE: { id: 92, kind: "string", access: "rw" },
  // From here on zmq.h 4.3.4 lists the options as DRAFT, yet a stable
  // (non-draft) libzmq 4.3.4 accepts them; it refuses the other DRAFT ones
  // (ROUTER_NOTIFY, IN_BATCH_SIZE, HELLO_MSG, ...), which are left out.
  ZAP_ENFORCE_DOMAIN: { id: 93, kind: "bool", access: "rw" },
  LOOPBACK_FASTPATH: { id: 94, kind: "bool", access: "rw" },
  /** `"X-Name:value"`: sent to peers in the handshake, read there as a message property. */
  METADATA: { id: 95, kind: "string", access: "w" },
  MULTICAST_LOOP: { id: 96, kind: "bool", access: "rw" },
  XPUB_MANUAL_LAST_VALUE: { id: 98, kind: "bool", access: "w" },
  SOCKS_USERNAME: { id: 99, kind: "string", access: "rw" },
  SOCKS_PASSWORD: { id: 100, kind: "string", access: "rw" },
  ONLY_FIRST_SUBSCRIBE: { id: 108, kind: "bool", access: "w" },
  RECONNECT_STOP: { id: 109, kind: "int", access: "rw" },
} as const satisfies Record<string, OptionSpec>;

/** The type of the option table. */
export type Options = typeof SocketOptions;

/** The name of any supported socket option. */
export type SocketOption = keyof Options;

/** The value type `setOption` takes for each option kind. */
export type KindValue = {
  int: number;
  int64: number;
  bool: boolean;
  bytes: Uint8Array | string;
  string: string;
};

/** The value type `getOption` returns for each option kind. */
export type KindReadValue = {
  int: number;
  int64: number;
  bool: boolean;
  bytes: Uint8Array;
  string: string;
};

/** Options that can be set. */
export type WritableOption = {
  [K in SocketOption]: Options[K]["access"] extends "r" ? never : K;
}[SocketOption];

/** Options that can be read. */
export type ReadableOption = {
  [K in SocketOption]: Options[K]["access"] extends "w" ? never : K;
}[SocketOption];

/** The type of value `setOption` takes for option `K`. */
export type OptionValue<K extends SocketOption> = KindValue[Options[K]["kind"]];

/** The type of value `getOption` returns for option `K`. */
export type OptionReadValue<K extends SocketOption> = KindReadValue[Options[K]["kind"]];

/** The description of one context option (`zmq_ctx_set`/`zmq_ctx_get`: all are C ints). */
export interface ContextOptionSpec {
  /** libzmq's option number. */
  readonly id: number;
  /** `int` (number) or `bool` (boolean). */
  readonly kind: "int" | "bool";
  /** Read-write, read-only or write-only. */
  readonly access: "rw" | "r" | "w";
}

/**
 * Every context option of libzmq 4.3.4, for `Context.set()` and
 * `Context.get()`: its libzmq id, value kind and access. SOCKET_LIMIT and
 * THREAD_PRIORITY share id 3 (read and write). IO_THREADS, MAX_SOCKETS and
 * the THREAD_* options take effect when the context starts its threads, at
 * its first socket, and cannot be set after that.
 */
export const ContextOptions = {
  IO_THREADS: { id: 1, kind: "int", access: "rw" },
  MAX_SOCKETS: { id: 2, kind: "int", access: "rw" },
  SOCKET_LIMIT: { id: 3, kind: "int", access: "r" },
  THREAD_PRIORITY: { id: 3, kind: "int", access: "w" },
  THREAD_SCHED_POLICY: { id: 4, kind: "int", access: "rw" },
  MAX_MSGSZ: { id: 5, kind: "int", access: "rw" },
  MSG_T_SIZE: { id: 6, kind: "int", access: "r" },
  THREAD_AFFINITY_CPU_ADD: { id: 7, kind: "int", access: "w" },
  THREAD_AFFINITY_CPU_REMOVE: { id: 8, kind: "int", access: "w" },
  /** A number only: `zmq_ctx_set` takes an int (the text form needs the DRAFT `zmq_ctx_set_ext`). */
  THREAD_NAME_PREFIX: { id: 9, kind: "int", access: "rw" },
  /** DRAFT in zmq.h, accepted by a stable libzmq 4.3.4. */
  ZERO_COPY_RECV: { id: 10, kind: "bool", access: "rw" },
  IPV6: { id: 42, kind: "bool", access: "rw" },
  BLOCKY: { id: 70, kind: "bool", access: "rw" },
} as const satisfies Record<string, ContextOptionSpec>;

/** The name of a context option: `"IO_THREADS"`, `"BLOCKY"`, ... */
export type ContextOption = keyof typeof ContextOptions;

/** Context options that can be set. */
export type WritableContextOption = {
  [K in ContextOption]: typeof ContextOptions[K]["access"] extends "r" ? never : K;
}[ContextOption];

/** Context options that can be read. */
export type ReadableContextOption = {
  [K in ContextOption]: typeof ContextOptions[K]["access"] extends "w" ? never : K;
}[ContextOption];

/** The type of value context option `K` takes and holds: a boolean or a number. */
export type ContextOptionValue<K extends ContextOption> = typeof ContextOptions[K]["kind"] extends
  "bool" ? boolean
  : number;

/** `ZMQ_DONTWAIT`: fail with EAGAIN instead of blocking. */
export const DONTWAIT = 1;
/** `ZMQ_SNDMORE`: more frames of this message follow. */
export const SNDMORE = 2;
/** `ZMQ_POLLIN` in `ZMQ_EVENTS`: a message can be received. */
export const POLLIN = 1;
/** `ZMQ_POLLOUT` in `ZMQ_EVENTS`: a message can be sent. */
export const POLLOUT = 2;
/** The size of `zmq_msg_t` in bytes. */
export const MSG_T_SIZE = 64;

/**
 * LINGER that every socket gets unless set (or its context is not BLOCKY:
 * then 0): pending outgoing messages are kept for at most this many
 * milliseconds after close, so that a process that sends and exits still
 * delivers, yet closing never hangs.
 */
export const DEFAULT_LINGER_MS = 2000;
