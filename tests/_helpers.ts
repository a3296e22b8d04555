/**
 * Small helpers shared by the tests: endpoints per transport, text
 * decoding, and a timeout that names what was awaited.
 *
 * @module
 */

import type { Socket } from "../ffi/mod.ts";
import { withDeadline } from "../roles/deadline.ts";

/** The transports a pattern is tested over. */
export const TRANSPORTS = ["tcp", "ipc", "inproc"] as const;

/** One of {@link TRANSPORTS}. */
export type Transport = typeof TRANSPORTS[number];

let counter = 0;

/**
 * Binds `socket` to a fresh endpoint of the transport.
 *
 * @returns The endpoint to connect to.
 */
export function bindAny(socket: Socket, transport: Transport): string {
  const unique = `${Deno.pid}-${++counter}-${crypto.randomUUID().slice(0, 8)}`;
  const endpoint = transport === "tcp"
    ? "tcp://127.0.0.1:0"
    : transport === "ipc"
    ? `ipc:///tmp/zmq-test-${unique}`
    : `inproc://test-${unique}`;
  socket.bind(endpoint);
  return socket.getOption("LAST_ENDPOINT");
}

const decoder = new TextDecoder();

/** Decodes every frame as UTF-8. */
export function texts(frames: Uint8Array[]): string[] {
  return frames.map((frame) => decoder.decode(frame));
}

/**
 * Resolves as `promise` does, or rejects after `ms` with a message naming
 * `what`, so that no test can hang (the roles' own `withDeadline`).
 */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  return withDeadline(performance.now() + ms, what, promise);
}

/** The path of the Deno executable running the tests. */
export const DENO = Deno.execPath();

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same run, so a
 * failing permutation or fuzz run can be replayed.
 */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Makes a temporary folder for `fn`, and removes it afterwards. */
export async function inTempDir<R>(prefix: string, fn: (dir: string) => Promise<R>): Promise<R> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Listens on a group's four ports from `basePort` (with nothing behind
 * them), to tell whether a process connects at all. `close()` stops
 * listening and resolves with how many connections came.
 */
export function watchGroupPorts(basePort: number): { close(): Promise<number> } {
  const listeners = [0, 1, 2, 3].map((i) =>
    Deno.listen({ hostname: "127.0.0.1", port: basePort + i })
  );
  const accepted = listeners.map((listener) =>
    listener.accept().then((conn) => {
      conn.close();
      return 1;
    }, () => 0)
  );
  return {
    async close() {
      for (const listener of listeners) listener.close();
      return (await Promise.all(accepted)).reduce((a, b) => a + b, 0);
    },
  };
}
