/**
 * `monitor()`: a socket's connection events as an async iterator, through
 * `zmq_socket_monitor` and an inproc PAIR socket.
 *
 * @module
 */

import { cstr } from "./_util.ts";
import { check, isClosed } from "./error.ts";
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
   * Starts monitoring `socket` for all events.
   *
   * @param socket The socket to watch.
   */
  constructor(socket: Socket) {
    const endpoint = `inproc://zmq-monitor-${Deno.pid}-${++monitors}`;
    check(
      zmqLib().zmq_socket_monitor(socketPointer(socket), cstr(endpoint), 0xffff),
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
      return {
        type,
        value: view.getUint32(2, true),
        endpoint: address === undefined ? "" : this.#decoder.decode(address),
      };
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
