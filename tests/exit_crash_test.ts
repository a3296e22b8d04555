/**
 * A program that uses the binding ends with its own exit status, however it
 * ends, even while libzmq's background threads are busy.
 *
 * The bug: when a Deno runtime ends by an uncaught exception or an
 * unhandled rejection (or a `Worker` ends), Deno unloads (`dlclose`) every
 * library it opened, libzmq too, while each context's I/O thread still runs:
 * the process died of SIGSEGV, before Deno printed the error. `ffi/lib.ts`
 * now pins libzmq in memory (`RTLD_NODELETE`).
 *
 * Each case runs a child `deno run` that keeps libzmq's I/O thread awake
 * (heartbeats every millisecond between two connected sockets, and a burst
 * of queued messages), with a receive waiting, and then ends in its way.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DENO } from "./_helpers.ts";

const MOD = new URL("../ffi/mod.ts", import.meta.url).href;

/** What every child runs first: libzmq busy, and a receive waiting. */
const BUSY = `
import { Context } from ${JSON.stringify(MOD)};

export async function busy() {
  const ctx = new Context();
  const pull = ctx.socket("PULL");
  const push = ctx.socket("PUSH");
  for (const socket of [pull, push]) {
    // The I/O thread wakes up every millisecond, whatever JavaScript does.
    socket.setOption("HEARTBEAT_IVL", 1);
  }
  pull.setOption("RCVHWM", 1_000_000);
  push.setOption("SNDHWM", 1_000_000);
  pull.bind("tcp://127.0.0.1:0");
  push.connect(pull.getOption("LAST_ENDPOINT"));
  await push.send("first");
  await pull.receive();
  // A receive that waits for ever, on a socket that gets nothing: after
  // HOT_MS its poll() goes to a pool thread.
  const idle = ctx.socket("SUB");
  idle.bind("tcp://127.0.0.1:0");
  idle.receive().catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 100));
  // A burst for the I/O thread to move from PUSH to PULL meanwhile.
  const frame = new Uint8Array(100);
  for (let i = 0; i < 100_000 && push.trySend(frame); i++);
  return ctx;
}
`;

/** The ways a child ends, with the status it must exit with. */
const ENDINGS: Record<string, { code: string; status: number; stderr?: RegExp }> = {
  "an uncaught exception": {
    code: `await busy(); throw new Error("boom: uncaught");`,
    status: 1,
    stderr: /boom: uncaught/,
  },
  "an uncaught exception in a timer callback": {
    code: `await busy(); setTimeout(() => { throw new Error("boom: timer"); }, 10);`,
    status: 1,
    stderr: /boom: timer/,
  },
  "an unhandled rejection": {
    code: `await busy(); Promise.reject(new Error("boom: rejected"));`,
    status: 1,
    stderr: /boom: rejected/,
  },
  "Deno.exit(3)": {
    code: `await busy(); Deno.exit(3);`,
    status: 3,
  },
  "the end of a Worker that used the binding": {
    // The main thread never loads libzmq: the worker's runtime holds the
    // only reference, and terminating it unloaded the library.
    code: `
      const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
      await new Promise((resolve) => worker.onmessage = resolve);
      worker.terminate();
      await new Promise((resolve) => setTimeout(resolve, 300));
      console.error("main: survived the worker");
      Deno.exit(0);
    `,
    status: 0,
    stderr: /main: survived the worker/,
  },
};

const WORKER = `await busy(); self.postMessage("busy");`;

/** How many times each case runs: the crash depended on timing. */
const RUNS = 3;

for (const [ending, { code, status, stderr }] of Object.entries(ENDINGS)) {
  Deno.test(`a program that ends by ${ending} while libzmq is busy exits ${status}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "zmq-exit-crash-" });
    try {
      await Deno.writeTextFile(`${dir}/busy.ts`, BUSY);
      await Deno.writeTextFile(`${dir}/worker.ts`, `import { busy } from "./busy.ts";\n${WORKER}`);
      await Deno.writeTextFile(`${dir}/main.ts`, `import { busy } from "./busy.ts";\n${code}`);
      for (let run = 1; run <= RUNS; run++) {
        const output = await new Deno.Command(DENO, {
          args: [
            "run",
            "-q",
            "--no-lock",
            "--allow-ffi",
            "--allow-env",
            "--allow-read",
            `${dir}/main.ts`,
          ],
          stdin: "null",
          stdout: "null",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).output();
        const text = new TextDecoder().decode(output.stderr);
        const what =
          `run ${run}: exit code ${output.code}, signal ${output.signal}, stderr:\n${text}`;
        assert.equal(output.signal, null, what);
        assert.equal(output.code, status, what);
        if (stderr) assert.match(text, stderr, what);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
