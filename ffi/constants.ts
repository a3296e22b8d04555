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

/** Every supported socket option: its libzmq id, value kind and access. */
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
  CONFLATE: { id: 54, kind: "bool", access: "w" },
  ZAP_DOMAIN: { id: 55, kind: "string", access: "rw" },
  ROUTER_HANDOVER: { id: 56, kind: "bool", access: "w" },
  TOS: { id: 57, kind: "int", access: "rw" },
  CONNECT_ROUTING_ID: { id: 61, kind: "bytes", access: "w" },
  HANDSHAKE_IVL: { id: 66, kind: "int", access: "rw" },
  XPUB_NODROP: { id: 69, kind: "bool", access: "w" },
  XPUB_MANUAL: { id: 71, kind: "bool", access: "w" },
  XPUB_WELCOME_MSG: { id: 72, kind: "bytes", access: "w" },
  INVERT_MATCHING: { id: 74, kind: "bool", access: "rw" },
  HEARTBEAT_IVL: { id: 75, kind: "int", access: "w" },
  HEARTBEAT_TTL: { id: 76, kind: "int", access: "w" },
  HEARTBEAT_TIMEOUT: { id: 77, kind: "int", access: "w" },
  XPUB_VERBOSER: { id: 78, kind: "bool", access: "w" },
  CONNECT_TIMEOUT: { id: 79, kind: "int", access: "rw" },
  TCP_MAXRT: { id: 80, kind: "int", access: "rw" },
  MULTICAST_MAXTPDU: { id: 84, kind: "int", access: "rw" },
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
 * LINGER that every socket gets unless set: pending outgoing messages are
 * kept for at most this many milliseconds after close, so that a process
 * that sends and exits still delivers, yet closing never hangs.
 */
export const DEFAULT_LINGER_MS = 2000;
