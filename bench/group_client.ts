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
 * `--mark-first-delivery` prints the line {@link FIRST_DELIVERY_MARK} on
 * stdout at the first delivery (the benchmark freezes a receive-only client
 * with SIGSTOP then), and the JSON line says when the deliveries came: the
 * first, the last and the longest pause between two (a freeze shows there).
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
import { type Delivery, Member } from "../roles/mod.ts";
import { vmHwmKiB } from "./proc.ts";

/** The line `--mark-first-delivery` prints on stdout at the first delivery. */
export const FIRST_DELIVERY_MARK = "first delivery";

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
  /** When the first delivery came (the shared clock, ms since the epoch; 0 if none). */
  firstDeliveryAt: number;
  /** When the last delivery came (the same clock; 0 if none). */
  lastDeliveryAt: number;
  /**
   * The longest pause between two deliveries: `delivered` had come before it,
   * from `from` to `to` (the same clock; all 0 with fewer than 2 deliveries).
   */
  longestPause: { delivered: number; from: number; to: number };
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
  --mark-first-delivery  print "${FIRST_DELIVERY_MARK}" on stdout at the first delivery
  --one-by-one       read the deliveries through Member.delivered(), one promise each
                     (default: deliveredBatches(), as many at once as are ready)
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
    const hwm = vmHwmKiB(Deno.readTextFileSync("/proc/self/status"));
    if (hwm !== undefined) return hwm;
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

/** The command line. */
interface Flags {
  id: string;
  host: string;
  basePort: number;
  count: number;
  rate: number;
  expect: number;
  timeoutMs: number;
  recoveryAfterMs?: number;
  warmupMs: number;
  window?: number;
  /** Print {@link FIRST_DELIVERY_MARK} at the first delivery. */
  markFirst: boolean;
  /** Read through `delivered()` (a promise a delivery) instead of `deliveredBatches()`. */
  oneByOne: boolean;
  /** Payload bytes, at least `<id>###` and the stamp. */
  size: number;
}

/** The command line, or an exit code (help, no id; bad numbers exit with 2 at once). */
function parseFlags(): Flags | number {
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
      "mark-first-delivery": { type: "boolean" },
      "one-by-one": { type: "boolean" },
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
  return {
    id,
    host: values.host ?? "127.0.0.1",
    basePort,
    count,
    rate: flagNumber(values, "rate", 0, 0),
    expect: Math.floor(flagNumber(values, "expect", count, 0)),
    timeoutMs: flagNumber(values, "timeout", 60, 0) * 1000,
    recoveryAfterMs: values["recovery-after"] === undefined
      ? undefined
      : flagNumber(values, "recovery-after", 300, 1),
    warmupMs: flagNumber(values, "warmup", 0, 0) * 1000,
    window: values.window === undefined ? undefined : flagNumber(values, "window", 1000, 1),
    markFirst: values["mark-first-delivery"] === true,
    oneByOne: values["one-by-one"] === true,
    size: Math.max(flagNumber(values, "size", 32, 0), stampOffset(id) + 12),
  };
}

/** How this client's payloads begin: `<id>###`, then the send time. */
function payloadPrefix(id: string): Uint8Array {
  return new TextEncoder().encode(`${id}###`);
}

/** Where the send time sits in this client's payloads. */
function stampOffset(id: string): number {
  return payloadPrefix(id).byteLength;
}

/** What a client has sent and received so far, and the latencies it measured. */
class Tally {
  /** Latencies of deliveries sent after the warm-up. */
  readonly latencies: Float64Array;
  /** Latencies of every delivery. */
  readonly allLatencies: Float64Array;
  /** Latencies of this client's own multicasts after the warm-up. */
  readonly ownLatencies: Float64Array;
  measured = 0;
  delivered = 0;
  ownDelivered = 0;
  sent = 0;
  firstSend = 0;
  firstDelivery = 0;
  lastDelivery = 0;
  longestPause = { delivered: 0, from: 0, to: 0 };

  constructor(flags: Flags) {
    this.latencies = new Float64Array(Math.max(flags.expect, 1));
    this.allLatencies = new Float64Array(Math.max(flags.expect, 1));
    this.ownLatencies = new Float64Array(Math.max(flags.count, 1));
  }
}

/** What the client reports at its end. */
function resultOf(
  flags: Flags,
  tally: Tally,
  join: { seconds: number; member?: Member },
  error?: string,
): ClientResult {
  const { firstSend, lastDelivery, delivered } = tally;
  const seconds = firstSend > 0 && lastDelivery > firstSend ? (lastDelivery - firstSend) / 1000 : 0;
  const counters = join.member?.counters;
  return {
    id: flags.id,
    sent: tally.sent,
    delivered,
    expected: flags.expect,
    complete: delivered >= flags.expect,
    seconds: Math.round(seconds * 1e6) / 1e6,
    perSec: seconds > 0 ? Math.round(delivered / seconds) : 0,
    latency: summarize(tally.latencies, tally.measured),
    latencyAll: summarize(tally.allLatencies, Math.min(delivered, tally.allLatencies.length)),
    ownLatency: summarize(
      tally.ownLatencies,
      Math.min(tally.ownDelivered, tally.ownLatencies.length),
    ),
    size: flags.size,
    peakRssKiB: peakRssKiB(),
    cpuSeconds: cpuSeconds(),
    joinSeconds: Math.round(join.seconds * 1000) / 1000,
    firstDeliveryAt: tally.firstDelivery,
    lastDeliveryAt: lastDelivery,
    longestPause: tally.longestPause,
    recovery: counters === undefined ? { recovered: 0, retransmitRequests: 0, gapsFilled: 0 } : {
      recovered: counters.recovered,
      retransmitRequests: counters.retransmitRequests,
      gapsFilled: counters.gapsFilled,
    },
    ...(error === undefined ? {} : { error }),
  };
}

/**
 * Multicasts `flags.count` payloads: as fast as backpressure allows, or at
 * `flags.rate` per second from a timer (at each wake-up what is due by now,
 * then a sleep until the next one is due). Every payload is built once, into
 * its own buffer: the member keeps a reference to own multicasts in flight.
 */
async function sendAll(member: Member, flags: Flags, tally: Tally): Promise<void> {
  const { count, rate, size } = flags;
  const prefix = payloadPrefix(flags.id);
  const stampAt = prefix.byteLength;
  const counter = new DataView(new ArrayBuffer(4));
  const payload = (i: number): Uint8Array => {
    const bytes = allocBytes(size);
    bytes.set(prefix);
    counter.setUint32(0, i, true);
    bytes.set(new Uint8Array(counter.buffer), stampAt + 8);
    const now = clock();
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setFloat64(stampAt, now, true);
    if (tally.firstSend === 0) tally.firstSend = now;
    return bytes;
  };
  if (rate <= 0) {
    while (tally.sent < count) {
      await member.multicast(payload(tally.sent));
      tally.sent++;
    }
    return;
  }
  const interval = 1000 / rate;
  const begin = performance.now();
  while (tally.sent < count) {
    const due = Math.min(count, Math.floor((performance.now() - begin) / interval) + 1);
    while (tally.sent < due) {
      await member.multicast(payload(tally.sent));
      tally.sent++;
    }
    if (tally.sent >= count) break;
    const wait = begin + tally.sent * interval - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
  }
}

/**
 * Consumes deliveries until `flags.expect` arrived (or the member closed),
 * timing each from the send time in its payload, which sits after "###"
 * (after the sender's id).
 */
async function receiveAll(member: Member, flags: Flags, tally: Tally): Promise<void> {
  const { id, expect, warmupMs, markFirst } = flags;
  const stampAt = stampOffset(id);
  const { latencies, allLatencies, ownLatencies } = tally;
  const stamp = new Uint8Array(8);
  const stampView = new DataView(stamp.buffer);
  if (expect === 0) return;
  // As many at once as are ready: one promise for many deliveries.
  if (flags.oneByOne) {
    for await (const delivery of member.delivered()) if (takeOne(delivery, clock())) return;
    return;
  }
  // Every delivery of a batch is handed over at the same moment: one clock reading.
  for await (const batch of member.deliveredBatches()) {
    const now = clock();
    for (const delivery of batch) {
      if (takeOne(delivery, now)) return;
    }
  }

  /** Times one delivery, handed over at `now`; true once every expected one has come. */
  function takeOne(delivery: Delivery, now: number): boolean {
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
      const warm = sentAt >= tally.firstSend + warmupMs;
      if (tally.delivered < allLatencies.length) allLatencies[tally.delivered] = latency;
      if (warm && tally.measured < latencies.length) latencies[tally.measured++] = latency;
      if (
        warm && at === stampAt && delivery.sender === id &&
        tally.ownDelivered < ownLatencies.length
      ) {
        ownLatencies[tally.ownDelivered++] = latency;
      }
    }
    const pause = tally.longestPause;
    if (tally.delivered === 0) {
      tally.firstDelivery = now;
      if (markFirst) console.log(FIRST_DELIVERY_MARK);
    } else if (now - tally.lastDelivery > pause.to - pause.from) {
      tally.longestPause = { delivered: tally.delivered, from: tally.lastDelivery, to: now };
    }
    tally.delivered++;
    tally.lastDelivery = now;
    return tally.delivered >= expect;
  }
}

async function main(): Promise<number> {
  const flags = parseFlags();
  if (typeof flags === "number") return flags;
  const tally = new Tally(flags);
  const started = performance.now();
  const join: { seconds: number; member?: Member } = { seconds: 0 };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void join.member?.close();
  }, flags.timeoutMs);
  try {
    join.member = await Member.join({
      id: flags.id,
      host: flags.host,
      basePort: flags.basePort,
      joinTimeoutMs: flags.timeoutMs,
      ...(flags.window === undefined ? {} : { window: flags.window }),
      ...(flags.recoveryAfterMs === undefined ? {} : { recoveryAfterMs: flags.recoveryAfterMs }),
    });
  } catch (error) {
    clearTimeout(timer);
    console.log(
      JSON.stringify(resultOf(flags, tally, join, `join failed: ${(error as Error).message}`)),
    );
    return 1;
  }
  join.seconds = (performance.now() - started) / 1000;
  const member = join.member;
  const sending = sendAll(member, flags, tally).catch((error) => {
    if (!timedOut) throw error;
  });
  await receiveAll(member, flags, tally);
  clearTimeout(timer);
  await sending;
  const { delivered } = tally;
  const error = timedOut
    ? `timed out after ${flags.timeoutMs / 1000} s with ${delivered} of ${flags.expect} deliveries`
    : delivered < flags.expect
    ? `the member closed after ${delivered} of ${flags.expect} deliveries`
    : undefined;
  const line = resultOf(flags, tally, join, error);
  await member.close();
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
