/**
 * A benchmark client of the group, one process: joins with `Member.join`,
 * multicasts `--count` timestamped payloads (as fast as backpressure allows,
 * or paced at `--rate` per second by a timer-driven schedule), consumes every
 * delivery, and prints one JSON line (see {@link ClientResult}).
 *
 * Payload: `<id>###`, the send time as a little-endian float64 of
 * `performance.timeOrigin + performance.now()` (ms; a clock that agrees
 * across processes on one machine to a few microseconds), a 32-bit counter,
 * zeros up to `--size`. The latency of a delivery is its arrival time minus
 * that send time, for every client's multicast; `--warmup S` leaves out of
 * `latency` (not of `latencyAll`) what was sent in the first S seconds after
 * this client's first send, while the JIT warms up.
 *
 * ```sh
 * deno run --allow-ffi --allow-env --allow-read --allow-write --allow-sys \
 *   bench/group_client.ts --id c1 --base-port 5559 --count 25000 --size 32 \
 *   --rate 0 --expect 100000 --timeout 60
 * ```
 *
 * Exit 0 once `--expect` deliveries arrived; 1 (still printing the JSON
 * line, with `complete: false`) on a timeout or a failed join; 2 for bad
 * flags.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { allocBytes } from "../ffi/mod.ts";
import { Member } from "../roles/mod.ts";

/** Latency percentiles, in ms. */
export interface LatencySummary {
  /** Median. */
  p50: number;
  /** 99th percentile. */
  p99: number;
  /** Maximum. */
  max: number;
}

/** The JSON line a client prints. */
export interface ClientResult {
  /** The client's id. */
  id: string;
  /** Multicasts this client sent. */
  sent: number;
  /** Multicasts delivered here (every client's). */
  delivered: number;
  /** Deliveries that were expected. */
  expected: number;
  /** True if every expected delivery arrived. */
  complete: boolean;
  /** Seconds from the first send to the last delivery. */
  seconds: number;
  /** `delivered / seconds`. */
  perSec: number;
  /** Send-to-delivery latency of the deliveries here sent after the warm-up, ms. */
  latency: LatencySummary;
  /** The same over every delivery, warm-up included. */
  latencyAll: LatencySummary;
  /** The same for this client's own multicasts only (one clock: a check of the cross-process clock). */
  ownLatency: LatencySummary;
  /** The payload size actually sent, bytes. */
  size: number;
  /** Peak resident memory (VmHWM), KiB. */
  peakRssKiB: number;
  /** CPU time this process used, user plus system, seconds. */
  cpuSeconds: number;
  /** Seconds from the process start to "start" from the broker. */
  joinSeconds: number;
  /** The member's recovery counters (non-zero means messages were lost and repaired). */
  recovery: { recovered: number; retransmitRequests: number; gapsFilled: number };
  /** Why the run did not complete, if it did not. */
  error?: string;
}

const HELP =
  `Usage: deno run --allow-ffi --allow-env --allow-read --allow-write --allow-sys bench/group_client.ts [flags]

A benchmark client of the group: multicasts timestamped payloads, counts the
deliveries and prints one JSON line.

Flags:
  --id ID            this client's id (required)
  --host HOST        the broker's host (default 127.0.0.1)
  --base-port PORT   the broker's base port (default 5559)
  --count N          multicasts to send (default 1000)
  --size B           payload bytes (default 32; at least <id>### + 12)
  --rate R           multicasts per second to offer; 0 = as fast as backpressure allows (default 0)
  --expect M         deliveries to wait for (default --count)
  --timeout S        give up after S seconds from the start (default 60)
  --warmup S         leave multicasts sent in the first S seconds out of the latency (default 0)
  --recovery-after MS  the member's recoveryAfterMs (default: the member's)
  --window W         the member's window of own multicasts in flight (default: the member's)
  --help             show this help`;

/** The clock every process shares: ms since the epoch, sub-microsecond resolution. */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** Percentiles of the first `count` values of `values` (sorted in place). */
function summarize(values: Float64Array, count: number): LatencySummary {
  if (count === 0) return { p50: 0, p99: 0, max: 0 };
  const sorted = values.subarray(0, count).sort();
  const at = (q: number) => sorted[Math.min(count - 1, Math.floor(q * count))]!;
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[count - 1]!) };
}

/** Peak resident memory of this process, KiB. */
function peakRssKiB(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    if (hwm !== undefined) return Number(hwm);
  } catch {
    // Not Linux, or no --allow-read: fall back to the current RSS.
  }
  return Math.round(Deno.memoryUsage().rss / 1024);
}

/** CPU time of this process so far, seconds. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return Math.round((user + system) / 1000) / 1000;
}

function flagNumber(
  values: Record<string, string | boolean | undefined>,
  name: string,
  fallback: number,
  min: number,
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(value) || value < min) {
    console.error(
      `group_client: invalid --${name} ${JSON.stringify(raw)}: expected a number >= ${min}`,
    );
    Deno.exit(2);
  }
  return value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      id: { type: "string" },
      host: { type: "string" },
      "base-port": { type: "string" },
      count: { type: "string" },
      size: { type: "string" },
      rate: { type: "string" },
      expect: { type: "string" },
      timeout: { type: "string" },
      window: { type: "string" },
      warmup: { type: "string" },
      "recovery-after": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.id === undefined) {
    console.error(`group_client: missing --id\n\n${HELP}`);
    return 2;
  }
  const id = values.id;
  const basePort = flagNumber(values, "base-port", 5559, 1);
  const count = Math.floor(flagNumber(values, "count", 1000, 0));
  const rate = flagNumber(values, "rate", 0, 0);
  const expect = Math.floor(flagNumber(values, "expect", count, 0));
  const timeoutMs = flagNumber(values, "timeout", 60, 0) * 1000;
  const recoveryAfterMs = values["recovery-after"] === undefined
    ? undefined
    : flagNumber(values, "recovery-after", 300, 1);
  const warmupMs = flagNumber(values, "warmup", 0, 0) * 1000;
  const window = values.window === undefined ? undefined : flagNumber(values, "window", 1000, 1);

  const prefix = new TextEncoder().encode(`${id}###`);
  const stampAt = prefix.byteLength;
  const size = Math.max(flagNumber(values, "size", 32, 0), stampAt + 12);

  const latencies = new Float64Array(Math.max(expect, 1));
  const allLatencies = new Float64Array(Math.max(expect, 1));
  let measured = 0;
  const ownLatencies = new Float64Array(Math.max(count, 1));
  let delivered = 0;
  let ownDelivered = 0;
  let sent = 0;
  let firstSend = 0;
  let lastDelivery = 0;
  const result = (error?: string): ClientResult => {
    const seconds = firstSend > 0 && lastDelivery > firstSend
      ? (lastDelivery - firstSend) / 1000
      : 0;
    return {
      id,
      sent,
      delivered,
      expected: expect,
      complete: delivered >= expect,
      seconds: Math.round(seconds * 1e6) / 1e6,
      perSec: seconds > 0 ? Math.round(delivered / seconds) : 0,
      latency: summarize(latencies, measured),
      latencyAll: summarize(allLatencies, Math.min(delivered, allLatencies.length)),
      ownLatency: summarize(ownLatencies, Math.min(ownDelivered, ownLatencies.length)),
      size,
      peakRssKiB: peakRssKiB(),
      cpuSeconds: cpuSeconds(),
      joinSeconds: Math.round(joinSeconds * 1000) / 1000,
      recovery: member === undefined ? { recovered: 0, retransmitRequests: 0, gapsFilled: 0 } : {
        recovered: member.counters.recovered,
        retransmitRequests: member.counters.retransmitRequests,
        gapsFilled: member.counters.gapsFilled,
      },
      ...(error === undefined ? {} : { error }),
    };
  };

  const started = performance.now();
  let joinSeconds = 0;
  let member: Member | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void member?.close();
  }, timeoutMs);
  try {
    member = await Member.join({
      id,
      host: values.host ?? "127.0.0.1",
      basePort,
      joinTimeoutMs: timeoutMs,
      ...(window === undefined ? {} : { window }),
      ...(recoveryAfterMs === undefined ? {} : { recoveryAfterMs }),
    });
  } catch (error) {
    clearTimeout(timer);
    console.log(JSON.stringify(result(`join failed: ${(error as Error).message}`)));
    return 1;
  }
  joinSeconds = (performance.now() - started) / 1000;
  const joined = member;

  // Every payload is built once, into its own buffer: the member keeps a
  // reference to own multicasts in flight.
  const counter = new DataView(new ArrayBuffer(4));
  const payload = (i: number): Uint8Array => {
    const bytes = allocBytes(size);
    bytes.set(prefix);
    counter.setUint32(0, i, true);
    bytes.set(new Uint8Array(counter.buffer), stampAt + 8);
    const now = clock();
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setFloat64(stampAt, now, true);
    if (firstSend === 0) firstSend = now;
    return bytes;
  };

  const sending = (async () => {
    if (rate <= 0) {
      while (sent < count) {
        await joined.multicast(payload(sent));
        sent++;
      }
      return;
    }
    // Timer-driven: at each wake-up send what is due by now, then sleep
    // until the next one is due.
    const interval = 1000 / rate;
    const begin = performance.now();
    while (sent < count) {
      const due = Math.min(count, Math.floor((performance.now() - begin) / interval) + 1);
      while (sent < due) {
        await joined.multicast(payload(sent));
        sent++;
      }
      if (sent >= count) break;
      const wait = begin + sent * interval - performance.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    }
  })().catch((error) => {
    if (!timedOut) throw error;
  });

  // The timestamp sits after "###", which follows the sender's id.
  const stamp = new Uint8Array(8);
  const stampView = new DataView(stamp.buffer);
  if (expect > 0) {
    for await (const delivery of joined.delivered()) {
      const now = clock();
      const data = delivery.payload;
      let at = -1;
      for (let i = 0; i + 2 < data.byteLength && i < 80; i++) {
        if (data[i] === 35 && data[i + 1] === 35 && data[i + 2] === 35) {
          at = i + 3;
          break;
        }
      }
      if (at >= 0 && at + 8 <= data.byteLength) {
        stamp.set(data.subarray(at, at + 8));
        const sentAt = stampView.getFloat64(0, true);
        const latency = now - sentAt;
        if (delivered < allLatencies.length) allLatencies[delivered] = latency;
        if (sentAt >= firstSend + warmupMs && measured < latencies.length) {
          latencies[measured++] = latency;
        }
        if (
          at === stampAt && delivery.sender === id && sentAt >= firstSend + warmupMs &&
          ownDelivered < ownLatencies.length
        ) {
          ownLatencies[ownDelivered++] = latency;
        }
      }
      delivered++;
      lastDelivery = now;
      if (delivered >= expect) break;
    }
  }
  clearTimeout(timer);
  await sending;
  const error = timedOut
    ? `timed out after ${timeoutMs / 1000} s with ${delivered} of ${expect} deliveries`
    : delivered < expect
    ? `the member closed after ${delivered} of ${expect} deliveries`
    : undefined;
  const line = result(error);
  await joined.close();
  console.log(JSON.stringify(line));
  return line.complete ? 0 : 1;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main();
  } catch (error) {
    console.error(`group_client: ${error instanceof Error ? error.message : error}`);
    code = 1;
  }
  Deno.exit(code);
}
