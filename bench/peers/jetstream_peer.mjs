// A NATS JetStream peer of bench:group, run by node with the NATS
// JavaScript client (npm package nats 2.x, installed into bench/out/node/ by
// `sh tasks/setup.sh bench`). It starts nothing: the bench starts
// `nats-server -js` and gives this program the server's URL and a role.
//
//   node bench/peers/jetstream_peer.mjs --role stream --server nats://127.0.0.1:PORT \
//     --stream GROUP --storage memory|file --clients 4
//   node bench/peers/jetstream_peer.mjs --role client --server nats://127.0.0.1:PORT \
//     --stream GROUP --id c1 --count 25000 --expect 100000 --size 32 --window 1000 --timeout 60
//
// Role "stream": creates the stream (subjects group.>, the storage given,
// the server's defaults otherwise), prints the line "stream ready", then
// holds the clients at a start barrier (requests on bench.start) and lets
// them all go at once when --clients have asked, like our broker's
// "start". On SIGTERM it prints one JSON line with what the stream holds,
// and exits.
//
// Role "client": one of the group's members. Creates an ordered consumer
// of the whole stream (from its first message) and starts consuming, waits
// at the barrier, then publishes --count payloads to group.<id> with acks,
// pipelined: at most --window publishes unacknowledged at once. It reads
// the stream until --expect messages arrived and prints one JSON line with
// the fields of bench/group_client.ts's: deliveries/s is delivered divided
// by the seconds from its first publish to its last delivery.
//
// Payload as bench/group_client.ts's: `<id>###`, the send time as a
// little-endian float64 of performance.timeOrigin + performance.now() (ms),
// a 32-bit counter, zeros up to --size.
//
// Exit 0 once --expect messages arrived; 1 (still printing the JSON line,
// with complete: false and an error) on a timeout or a failure; 2 for bad
// flags.

import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";

/** The line role "stream" prints once the stream exists and the barrier listens. */
const STREAM_READY = "stream ready";
/** The subject of the start barrier. */
const START = "bench.start";

const NATS = new URL("../out/node/node_modules/nats/index.js", import.meta.url);

function fail(message) {
  console.error(`jetstream_peer: ${message}`);
  process.exit(2);
}

function flags() {
  const { values } = parseArgs({
    options: {
      role: { type: "string" },
      server: { type: "string" },
      stream: { type: "string", default: "GROUP" },
      storage: { type: "string", default: "memory" },
      clients: { type: "string", default: "4" },
      id: { type: "string" },
      count: { type: "string", default: "1000" },
      expect: { type: "string" },
      size: { type: "string", default: "32" },
      window: { type: "string", default: "1000" },
      "max-messages": { type: "string", default: "1000" },
      timeout: { type: "string", default: "60" },
    },
    strict: true,
    allowPositionals: false,
  });
  const number = (name, min) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < min) {
      fail(`invalid --${name} ${JSON.stringify(values[name])}: expected a number >= ${min}`);
    }
    return value;
  };
  if (values.server === undefined) fail("missing --server");
  if (values.role === "stream") {
    if (values.storage !== "memory" && values.storage !== "file") {
      fail(`invalid --storage ${JSON.stringify(values.storage)}: expected memory or file`);
    }
    return {
      role: "stream",
      server: values.server,
      stream: values.stream,
      storage: values.storage,
      clients: Math.floor(number("clients", 1)),
    };
  }
  if (values.role !== "client") fail(`invalid --role ${JSON.stringify(values.role)}`);
  if (values.id === undefined) fail("missing --id");
  const count = Math.floor(number("count", 0));
  const prefix = new TextEncoder().encode(`${values.id}###`);
  return {
    role: "client",
    server: values.server,
    stream: values.stream,
    id: values.id,
    count,
    expect: values.expect === undefined ? count : Math.floor(number("expect", 0)),
    size: Math.max(Math.floor(number("size", 0)), prefix.byteLength + 12),
    window: Math.floor(number("window", 1)),
    maxMessages: Math.floor(number("max-messages", 1)),
    timeoutMs: number("timeout", 0) * 1000,
  };
}

/** The clock every process shares: ms since the epoch, sub-microsecond resolution. */
function clock() {
  return performance.timeOrigin + performance.now();
}

function peakRssKiB() {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kib !== undefined) return Number(kib);
  } catch {
    // Not Linux: the current RSS.
  }
  return Math.round(process.memoryUsage().rss / 1024);
}

function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return Math.round((user + system) / 1000) / 1000;
}

function summarize(values, count) {
  if (count === 0) return { p50: 0, p99: 0, max: 0 };
  const sorted = values.subarray(0, count).sort();
  const at = (q) => sorted[Math.min(count - 1, Math.floor(q * count))];
  const round = (ms) => Math.round(ms * 1000) / 1000;
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[count - 1]) };
}

function message(error) {
  return error instanceof Error ? error.message : String(error);
}

async function streamRole(f, nats) {
  const nc = await nats.connect({ servers: f.server, noAsyncTraces: true });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: f.stream,
    subjects: ["group.>"],
    storage: f.storage === "file" ? nats.StorageType.File : nats.StorageType.Memory,
  });
  const waiting = [];
  const barrier = nc.subscribe(START);
  process.on("SIGTERM", async () => {
    let line;
    try {
      const info = await jsm.streams.info(f.stream);
      line = {
        stream: f.stream,
        storage: f.storage,
        messages: info.state.messages,
        bytes: info.state.bytes,
        released: waiting.length,
      };
    } catch (error) {
      line = { stream: f.stream, storage: f.storage, error: message(error) };
    }
    console.log(JSON.stringify(line));
    await nc.close();
    process.exit(0);
  });
  await nc.flush();
  console.log(STREAM_READY);
  for await (const m of barrier) {
    waiting.push(m);
    if (waiting.length === f.clients) {
      for (const w of waiting) w.respond();
      await nc.flush();
    }
  }
}

async function clientRole(f, nats) {
  const started = performance.now();
  const t = {
    sent: 0,
    acked: 0,
    delivered: 0,
    ownDelivered: 0,
    outOfOrder: 0,
    lastSeq: 0,
    firstSend: 0,
    firstDelivery: 0,
    lastDelivery: 0,
    joinSeconds: 0,
    all: new Float64Array(Math.max(f.expect, 1)),
    own: new Float64Array(Math.max(f.count, 1)),
  };
  let error;
  let timer;
  let nc;
  try {
    nc = await nats.connect({ servers: f.server, noAsyncTraces: true, name: f.id });
    const js = nc.jetstream();
    // No name: an ordered consumer, from the stream's first message.
    const consumer = await js.consumers.get(f.stream);
    const messages = await consumer.consume({ max_messages: f.maxMessages });
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => {
        resolve(
          `timed out after ${f.timeoutMs / 1000} s with ${t.delivered} of ${f.expect} deliveries`,
        );
        messages.stop();
      }, Math.max(0, f.timeoutMs - (performance.now() - started)));
    });
    const barrier = nc.request(START, new TextEncoder().encode(f.id), { timeout: f.timeoutMs });
    const late = await Promise.race([barrier.then(() => undefined), timedOut]);
    if (late !== undefined) throw new Error(`${late} (at the start barrier)`);
    t.joinSeconds = (performance.now() - started) / 1000;
    const sending = publishAll(js, f, t);
    const receiving = receiveAll(messages, f, t);
    error = await Promise.race([
      Promise.all([sending, receiving]).then(() => undefined),
      timedOut,
    ]);
    if (error === undefined && t.delivered < f.expect) {
      error = `the consumer stopped after ${t.delivered} of ${f.expect} deliveries`;
    }
    if (error === undefined && t.outOfOrder > 0) {
      error = `${t.outOfOrder} deliveries out of the stream's order`;
    }
  } catch (e) {
    error = message(e);
  } finally {
    clearTimeout(timer);
  }
  const { firstSend, lastDelivery, delivered } = t;
  const seconds = firstSend > 0 && lastDelivery > firstSend ? (lastDelivery - firstSend) / 1000 : 0;
  const all = summarize(t.all, Math.min(delivered, t.all.length));
  const line = {
    id: f.id,
    sent: t.sent,
    acked: t.acked,
    delivered,
    expected: f.expect,
    complete: delivered >= f.expect,
    seconds: Math.round(seconds * 1e6) / 1e6,
    perSec: seconds > 0 ? Math.round(delivered / seconds) : 0,
    latency: all,
    latencyAll: all,
    ownLatency: summarize(t.own, Math.min(t.ownDelivered, t.own.length)),
    size: f.size,
    peakRssKiB: peakRssKiB(),
    cpuSeconds: cpuSeconds(),
    joinSeconds: Math.round(t.joinSeconds * 1000) / 1000,
    firstDeliveryAt: t.firstDelivery,
    lastDeliveryAt: lastDelivery,
    outOfOrder: t.outOfOrder,
    window: f.window,
    maxMessages: f.maxMessages,
    ...(error === undefined ? {} : { error }),
  };
  console.log(JSON.stringify(line));
  try {
    await nc?.close();
  } catch {
    // Closing after a failure.
  }
  return line.complete && error === undefined ? 0 : 1;
}

/** Publishes f.count payloads with acks, at most f.window unacknowledged at once. */
async function publishAll(js, f, t) {
  const subject = `group.${f.id}`;
  const prefix = new TextEncoder().encode(`${f.id}###`);
  const stampAt = prefix.byteLength;
  let inFlight = 0;
  let wake;
  let failure;
  const acked = () => {
    inFlight--;
    t.acked++;
    if (wake !== undefined) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const failed = (error) => {
    failure ??= error;
    inFlight--;
    if (wake !== undefined) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  while (t.sent < f.count) {
    if (failure !== undefined) throw failure;
    if (inFlight >= f.window) {
      await new Promise((resolve) => wake = resolve);
      continue;
    }
    const bytes = new Uint8Array(f.size);
    const view = new DataView(bytes.buffer);
    bytes.set(prefix);
    const now = clock();
    view.setFloat64(stampAt, now, true);
    view.setUint32(stampAt + 8, t.sent, true);
    if (t.firstSend === 0) t.firstSend = now;
    inFlight++;
    js.publish(subject, bytes).then(acked, failed);
    t.sent++;
  }
  while (inFlight > 0) await new Promise((resolve) => wake = resolve);
  if (failure !== undefined) throw failure;
}

/** Reads the ordered consumer until f.expect messages arrived, timing each from its payload. */
async function receiveAll(messages, f, t) {
  if (f.expect === 0) return;
  const own = new TextEncoder().encode(`${f.id}###`);
  const isOwn = (data) => {
    for (let i = 0; i < own.byteLength; i++) if (data[i] !== own[i]) return false;
    return true;
  };
  for await (const m of messages) {
    const now = clock();
    const data = m.data;
    let at = -1;
    for (let i = 0; i + 2 < data.byteLength && i < 80; i++) {
      if (data[i] === 35 && data[i + 1] === 35 && data[i + 2] === 35) {
        at = i + 3;
        break;
      }
    }
    if (at >= 0 && at + 8 <= data.byteLength) {
      const sentAt = new DataView(data.buffer, data.byteOffset + at, 8).getFloat64(0, true);
      if (t.delivered < t.all.length) t.all[t.delivered] = now - sentAt;
      if (
        t.ownDelivered < t.own.length && at === own.byteLength && isOwn(data)
      ) {
        t.own[t.ownDelivered++] = now - sentAt;
      }
    }
    if (m.seq !== t.lastSeq + 1) t.outOfOrder++;
    t.lastSeq = m.seq;
    if (t.delivered === 0) t.firstDelivery = now;
    t.delivered++;
    t.lastDelivery = now;
    if (t.delivered >= f.expect) break;
  }
  messages.stop();
}

async function main() {
  const f = flags();
  let nats;
  try {
    nats = await import(NATS.href);
  } catch (error) {
    console.error(
      `jetstream_peer: cannot load the NATS client (sh tasks/setup.sh bench): ${message(error)}`,
    );
    return 1;
  }
  if (f.role === "stream") {
    await streamRole(f, nats);
    return 0;
  }
  return await clientRole(f, nats);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`jetstream_peer: ${message(error)}`);
    process.exit(1);
  },
);
