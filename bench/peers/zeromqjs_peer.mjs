/**
 * zeromq.js 6 peer of `deno task bench:binding`, run with Node.js. The task
 * installs `zeromq@6` into bench/out/node/, where this peer loads it from.
 *
 *   node zeromqjs_peer.mjs push|pull|req|rep <endpoint> <count> <size> [warmup]
 *
 * Same modes, socket options (SNDHWM = RCVHWM = 1000, LINGER 10 s) and JSON
 * output as bench/peers/zmq_peer.c; uses zeromq.js's natural API
 * (`await send()`, `for await` / `await receive()`).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import process from "node:process";

const require = createRequire(
  new URL("../out/node/package.json", import.meta.url),
);
const zmq = require("zeromq");

const HWM = 1000;

/** The sample of rank round(p * n), as every peer computes it. */
function percentile(sorted, p) {
  const n = sorted.length;
  const rank = Math.min(Math.max(Math.floor(p * n + 0.5), 1), n);
  return sorted[rank - 1];
}

/** Microseconds from a monotonic clock. */
function nowUs() {
  return Number(process.hrtime.bigint()) / 1e3;
}

async function main(argv) {
  if (argv.length < 4) {
    console.error(
      "usage: zeromqjs_peer.mjs push|pull|req|rep <endpoint> <count> <size> [warmup]",
    );
    return 2;
  }
  const [mode, endpoint] = argv;
  const count = Number(argv[2]);
  const size = Number(argv[3]);
  const warmup = argv.length > 4 ? Number(argv[4]) : 1000;
  // zeromq.js accepts only the options that the socket type has.
  const options = mode === "push"
    ? { sendHighWaterMark: HWM, linger: 10000 }
    : mode === "pull"
    ? { receiveHighWaterMark: HWM }
    : { sendHighWaterMark: HWM, receiveHighWaterMark: HWM, linger: 10000 };
  const classes = {
    push: zmq.Push,
    pull: zmq.Pull,
    req: zmq.Request,
    rep: zmq.Reply,
  };
  const Class = classes[mode];
  if (Class === undefined) {
    console.error(`zeromqjs_peer: unknown mode "${mode}"`);
    return 2;
  }
  const sock = new Class(options);
  if (mode === "pull" || mode === "rep") await sock.bind(endpoint);
  else sock.connect(endpoint);
  const payload = Buffer.alloc(size, "x");

  if (mode === "push") {
    for (let i = 0; i < count; i++) await sock.send(payload);
  } else if (mode === "pull") {
    let received = 0;
    let first = 0;
    for await (const [_msg] of sock) {
      if (received === 0) first = nowUs();
      if (++received === count) break;
    }
    const seconds = (nowUs() - first) / 1e6;
    console.log(JSON.stringify({
      mode: "pull",
      count,
      size,
      seconds,
      msgs_per_s: seconds > 0 ? (count - 1) / seconds : 0,
    }));
  } else if (mode === "rep") {
    for (let i = 0; i < warmup + count; i++) {
      const [msg] = await sock.receive();
      await sock.send(msg);
    }
  } else {
    const samples = new Float64Array(count);
    for (let i = 0; i < warmup + count; i++) {
      const start = nowUs();
      await sock.send(payload);
      await sock.receive();
      if (i >= warmup) samples[i - warmup] = nowUs() - start;
    }
    samples.sort();
    let sum = 0;
    for (const sample of samples) sum += sample;
    console.log(JSON.stringify({
      mode: "req",
      count,
      size,
      p50_us: percentile(samples, 0.5),
      p99_us: percentile(samples, 0.99),
      mean_us: sum / count,
    }));
  }
  sock.close();
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
