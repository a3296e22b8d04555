/**
 * `monitor()`: a socket's connection events as an async iterator, through
 * `zmq_socket_monitor` and an inproc PAIR socket.
 *
 * @module
 */

import { cstr } from "./_util.ts";
import { check, errnoCode, isClosed } from "./error.ts";
import { zmqLib } from "./lib.ts";
import { type Socket, socketOwner, socketPointer } from "./socket.ts";

/** libzmq's monitor event numbers, by the names this binding reports. */
export const MonitorEvents = {
  connected: 0x0001,
  connect_delayed: 0x0002,
  connect_retried: 0x0004,
  listening: 0x0008,
  bind_failed: 0x0010,
  accepted: 0x0020,
  accept_failed: 0x0040,
  closed: 0x0080,
  close_failed: 0x0100,
  disconnected: 0x0200,
  monitor_stopped: 0x0400,
  handshake_failed_no_detail: 0x0800,
  handshake_succeeded: 0x1000,
  handshake_failed_protocol: 0x2000,
  handshake_failed_auth: 0x4000,
} as const;

/** The name of a monitor event, e.g. `"accepted"` or `"disconnected"`. */
export type MonitorEventType = keyof typeof MonitorEvents;

/** One event of a monitored socket. */
export interface MonitorEvent {
  /** What happened. */
  type: MonitorEventType;
  /** The event's value: a file descriptor, an errno or an interval, by type. */
  value: number;
  /** The endpoint it concerns. */
  endpoint: string;
  /**
   * For a failure, its cause by name, decoded from `value`: for
   * `handshake_failed_protocol` the `ZMQ_PROTOCOL_ERROR_*` name (e.g.
   * `"ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH"`), for
   * `handshake_failed_auth` the ZAP status (`"temporary_error"` for 300,
   * `"denied"` for 400, `"internal_error"` for 500), and for
   * `handshake_failed_no_detail`, `bind_failed`, `accept_failed` and
   * `close_failed` the errno's name (e.g. `"EPIPE"`). Absent for other events.
   */
  error?: string;
}

/** What to monitor. */
export interface MonitorOptions {
  /**
   * The events to report, by name in either case (`"connected"` or
   * `"CONNECTED"`), passed to libzmq as the event bitmask; all by default.
   */
  events?: readonly (MonitorEventType | Uppercase<MonitorEventType>)[];
}

/** libzmq's ZMQ_PROTOCOL_ERROR_* codes (zmq.h, 4.3), the value of a handshake_failed_protocol event. */
const PROTOCOL_ERRORS: Readonly<Record<string, number>> = {
  ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED: 0x10000000,
  ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND: 0x10000001,
  ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE: 0x10000002,
  ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE: 0x10000003,
  ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED: 0x10000011,
  ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE: 0x10000012,
  ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO: 0x10000013,
  ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE: 0x10000014,
  ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR: 0x10000015,
  ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY: 0x10000016,
  ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME: 0x10000017,
  ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA: 0x10000018,
  ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: 0x11000001,
  ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: 0x11000002,
  ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED: 0x20000000,
  ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY: 0x20000001,
  ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID: 0x20000002,
  ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION: 0x20000003,
  ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE: 0x20000004,
  ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA: 0x20000005,
  ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED: 0x30000000,
};

const protocolErrorNames = new Map<number, string>(
  Object.entries(PROTOCOL_ERRORS).map(([name, code]) => [code, name]),
);

const ZAP_STATUS: Readonly<Record<number, string>> = {
  300: "temporary_error",
  400: "denied",
  500: "internal_error",
};

/**
 * Network errnos a monitor reports that `errnoCode` does not name, by OS
 * numbering (libzmq reports a peer closing mid-handshake as EPIPE).
 */
const NETWORK_ERRNO: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  linux: { 13: "EACCES", 32: "EPIPE", 103: "ECONNABORTED", 104: "ECONNRESET", 110: "ETIMEDOUT" },
  darwin: { 13: "EACCES", 32: "EPIPE", 53: "ECONNABORTED", 54: "ECONNRESET", 60: "ETIMEDOUT" },
};

/** The named cause of a failure event, or undefined for other events. */
function decodeError(type: MonitorEventType, value: number): string | undefined {
  switch (type) {
    case "handshake_failed_protocol":
      return protocolErrorNames.get(value) ?? `0x${value.toString(16)}`;
    case "handshake_failed_auth":
      return ZAP_STATUS[value] ?? String(value);
    case "handshake_failed_no_detail":
    case "bind_failed":
    case "accept_failed":
    case "close_failed":
      return NETWORK_ERRNO[Deno.build.os]?.[value] ?? errnoCode(value);
    default:
      return undefined;
  }
}

/** The bitmask of `events` for zmq_socket_monitor. */
function eventMask(events: readonly string[] | undefined): number {
  if (events === undefined) return 0xffff;
  if (events.length === 0) {
    throw new RangeError("Cannot monitor no events: expected at least one event name");
  }
  let mask = 0;
  for (const name of events) {
    const key = name.toLowerCase();
    const bit = Object.hasOwn(MonitorEvents, key)
      ? MonitorEvents[key as MonitorEventType]
      : undefined;
    if (bit === undefined) {
      throw new TypeError(
        `Unknown monitor event "${name}": expected one of ${
          Object.keys(MonitorEvents).map((n) => n.toUpperCase()).join(", ")
        }`,
      );
    }
    mask |= bit;
  }
  // libzmq ends the monitor with MONITOR_STOPPED only if it is in the mask:
  // without it, a masked monitor would never end.
  return mask | MonitorEvents.monitor_stopped;
}

const names = new Map<number, MonitorEventType>(
  Object.entries(MonitorEvents).map((
    [name, id],
  ) => [id, name as MonitorEventType]),
);

let monitors = 0;

/** The events of one socket; close it (or leave its loop) to stop. */
export class Monitor implements AsyncIterable<MonitorEvent> {
  #target: Socket;
  #pair: Socket;
  #decoder = new TextDecoder();

  /**
   * Starts monitoring `socket`.
   *
   * @param socket The socket to watch.
   * @param options The events to report (all by default).
   * @throws {TypeError} for an unknown event name.
   * @throws {RangeError} for an empty list of events.
   *
   * @example
   * ```ts ignore
   * using monitor = new Monitor(server, { events: ["HANDSHAKE_FAILED_AUTH"] });
   * const event = await monitor.next(); // { type: "handshake_failed_auth", value: 400, error: "denied", ... }
   * ```
   */
  constructor(socket: Socket, options: MonitorOptions = {}) {
    const mask = eventMask(options.events);
    const endpoint = `inproc://zmq-monitor-${Deno.pid}-${++monitors}`;
    check(
      zmqLib().zmq_socket_monitor(socketPointer(socket), cstr(endpoint), mask),
      `Cannot monitor the ${socket.type} socket`,
    );
    this.#target = socket;
    this.#pair = socketOwner(socket).socket("PAIR");
    this.#pair.connect(endpoint);
  }

  /**
   * Waits for the next event.
   *
   * @returns The event, or null once the monitor or its socket is closed.
   */
  async next(): Promise<MonitorEvent | null> {
    while (true) {
      let frames: Uint8Array[];
      try {
        frames = await this.#pair.receive();
      } catch (error) {
        if (isClosed(error)) return null;
        throw error;
      }
      const [head, address] = frames;
      if (head === undefined || head.byteLength < 6) continue;
      const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
      const type = names.get(view.getUint16(0, true));
      if (type === undefined) continue;
      if (type === "monitor_stopped") {
        this.close();
        return null;
      }
      const value = view.getUint32(2, true);
      const event: MonitorEvent = {
        type,
        value,
        endpoint: address === undefined ? "" : this.#decoder.decode(address),
      };
      const error = decodeError(type, value);
      if (error !== undefined) event.error = error;
      return event;
    }
  }

  /** Yields events until the monitor closes; leaving the loop closes it. */
  async *[Symbol.asyncIterator](): AsyncIterator<MonitorEvent> {
    try {
      while (true) {
        const event = await this.next();
        if (event === null) return;
        yield event;
      }
    } finally {
      this.close();
    }
  }

  /** Stops monitoring. Idempotent. */
  close(): void {
    if (this.#pair.closed) return;
    if (!this.#target.closed) {
      zmqLib().zmq_socket_monitor(socketPointer(this.#target), null, 0);
    }
    this.#pair.close();
  }

  /** Stops monitoring (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}
