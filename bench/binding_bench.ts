/**
 * In-process cost of the binding per 32-byte message over an inproc PAIR:
 * raw FFI (a direct `Deno.dlopen` of libzmq calling `zmq_send`/`zmq_recv`
 * with `ZMQ_DONTWAIT` into a reused buffer) as the baseline, against our
 * `Socket.trySend()`/`tryReceive()` and `await send()`/`receive()`.
 *
 * The high-water marks are 0 (no limit): a sender over inproc learns of
 * freed room only when libzmq gets round to its command queue (at most once
 * a millisecond in a tight loop), so with a limit a burst of `DONTWAIT` sends
 * meets EAGAIN although the receiver keeps up. One message is in flight at a
 * time here, so nothing queues up.
 *
 * ```sh
 * deno bench --allow-ffi --allow-env --allow-read bench/binding_bench.ts
 * ```
 *
 * @module
 */

import { Context } from "../ffi/mod.ts";
import { zmqCandidates } from "../ffi/lib.ts";

const DONTWAIT = 1;
const PAIR = 0;
const SNDHWM = 23;
const RCVHWM = 24;
const SIZE = 32;

const raw = openRaw();
const payload = new Uint8Array(SIZE).fill(0x78);

/** Opens libzmq with the few symbols the baseline calls. */
function openRaw() {
  const symbols = {
    zmq_ctx_new: { parameters: [], result: "pointer" },
    zmq_ctx_term: { parameters: ["pointer"], result: "i32" },
    zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
    zmq_close: { parameters: ["pointer"], result: "i32" },
    zmq_setsockopt: {
      parameters: ["pointer", "i32", "buffer", "usize"],
      result: "i32",
    },
    zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
    zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
    zmq_send: {
      parameters: ["pointer", "buffer", "usize", "i32"],
      result: "i32",
    },
    zmq_recv: {
      parameters: ["pointer", "buffer", "usize", "i32"],
      result: "i32",
    },
    zmq_errno: { parameters: [], result: "i32" },
  } as const satisfies Deno.ForeignLibraryInterface;
  const failures: string[] = [];
  for (const path of zmqCandidates()) {
    try {
      return Deno.dlopen(path, symbols);
    } catch (error) {
      failures.push(`${path}: ${error}`);
    }
  }
  throw new Error(`Cannot load libzmq: ${failures.join("; ")}`);
}

const rawCtx = raw.symbols.zmq_ctx_new();
const rawA = raw.symbols.zmq_socket(rawCtx, PAIR);
const rawB = raw.symbols.zmq_socket(rawCtx, PAIR);
const rawEndpoint = new TextEncoder().encode("inproc://bench-raw\0");
const zero = new Uint8Array(4);
for (const socket of [rawA, rawB]) {
  for (const option of [SNDHWM, RCVHWM]) {
    raw.symbols.zmq_setsockopt(socket, option, zero, 4n);
  }
}
if (
  raw.symbols.zmq_bind(rawB, rawEndpoint) !== 0 ||
  raw.symbols.zmq_connect(rawA, rawEndpoint) !== 0
) {
  throw new Error(
    `Cannot set up the raw PAIR: errno ${raw.symbols.zmq_errno()}`,
  );
}
const rawBuffer = new Uint8Array(SIZE);

const ctx = new Context();
const a = ctx.socket("PAIR");
const b = ctx.socket("PAIR");
for (const socket of [a, b]) {
  socket.setOption("SNDHWM", 0);
  socket.setOption("RCVHWM", 0);
}
b.bind("inproc://bench-wrapper");
a.connect("inproc://bench-wrapper");

globalThis.addEventListener("unload", () => {
  ctx.close();
  raw.symbols.zmq_close(rawA);
  raw.symbols.zmq_close(rawB);
  raw.symbols.zmq_ctx_term(rawCtx);
  raw.close();
});

Deno.bench({
  group: "inproc 32 B",
  name: "raw FFI zmq_send/zmq_recv (DONTWAIT)",
  baseline: true,
  fn() {
    const { zmq_send, zmq_recv } = raw.symbols;
    if (
      zmq_send(rawA, payload, BigInt(SIZE), DONTWAIT) !== SIZE ||
      zmq_recv(rawB, rawBuffer, BigInt(SIZE), DONTWAIT) !== SIZE
    ) {
      throw new Error(`Raw round failed: errno ${raw.symbols.zmq_errno()}`);
    }
  },
});

Deno.bench({
  group: "inproc 32 B",
  name: "Socket.trySend/tryReceive",
  fn() {
    if (!a.trySend(payload) || b.tryReceive() === null) {
      throw new Error("trySend/tryReceive did not complete at once");
    }
  },
});

Deno.bench({
  group: "inproc 32 B",
  name: "await Socket.send/receive",
  async fn() {
    await a.send(payload);
    await b.receive();
  },
});
