/**
 * What a run of the group benchmark found: the clients' JSON lines, any
 * implementation's (ours, the seed's, JetStream's), summed up into a
 * {@link RunResult}; and picking runs out of a bench's results. No I/O.
 *
 * @module
 */

import { lastJsonLine } from "../../tasks/_capture.ts";
import type { ClientResult, LatencySummary } from "../group_client.ts";
import { lastLines } from "../command.ts";
import type { ProcSample } from "../proc.ts";
import { median } from "../stats.ts";
import { type StreamState, streamStateOf } from "./jetstream.ts";
import type { Implementation, RunSpec } from "./plan.ts";

/** Latency percentiles, ms. */
export type Latency = LatencySummary;

/** One client's report, either implementation: our client's JSON line (the seed's has no latencies) and its exit code. */
export type ClientLine =
  & Pick<
    ClientResult,
    | "id"
    | "sent"
    | "delivered"
    | "expected"
    | "complete"
    | "seconds"
    | "perSec"
    | "peakRssKiB"
    | "cpuSeconds"
  >
  & Partial<Pick<ClientResult, "latency" | "latencyAll" | "ownLatency">>
  & { exitCode: number };

/**
 * How a member frozen with SIGSTOP (after its first delivery, until the
 * others were done) caught up after SIGCONT.
 */
export interface CatchUp {
  /** The member's id. */
  id: string;
  /** Multicasts it had delivered when it was frozen (and still at SIGCONT). */
  deliveredBefore: number;
  /** Orders it was behind at SIGCONT: the run's total minus `deliveredBefore`. */
  behind: number;
  /** Multicasts it delivered in all. */
  delivered: number;
  /** It delivered every multicast. */
  complete: boolean;
  /** Seconds from SIGSTOP to SIGCONT. */
  frozenSeconds: number;
  /** Seconds from SIGCONT to its last delivery (the last of all when complete). */
  seconds: number;
  /** `behind / seconds`. */
  perSec: number;
  /** Orders received by retransmission that filled a gap (the member's `gapsFilled`). */
  gapsFilled: number;
  /** Deliveries made from an order's payload after waiting for its lost multicast (the member's `recovered`). */
  recovered: number;
  /** Retransmission requests it sent. */
  requests: number;
  /** Peak resident memory, KiB. */
  peakRssKiB: number;
  /** CPU seconds. */
  cpuSeconds: number;
  /** Its exit code. */
  exitCode: number;
}

/** A role's counters as it logged them last (JSON logs), by name. */
export type RoleCounters = Record<string, number>;

/** What a run found. */
export interface RunResult extends RunSpec {
  /** Every client reported and delivered everything (ours), or reported (the seed). */
  ok: boolean;
  /** Why the run failed. */
  error?: string;
  /** Notes: a dirty shutdown, recoveries... */
  notes: string[];
  /** Per client (not the frozen ones: see `catchUp`). */
  clientLines: ClientLine[];
  /** Per frozen client, how it caught up (runs with `frozen` only). */
  catchUp?: CatchUp[];
  /** The broker's and the sequencer's counters at their end (runs with `counters` only). */
  roleCounters?: { broker?: RoleCounters; sequencer?: RoleCounters };
  /** JetStream's runs: what the stream held at the end. */
  stream?: StreamState;
  /** Deliveries per second per client: min, median, max. */
  perClient?: { min: number; median: number; max: number };
  /** Sum of the clients' deliveries per second. */
  aggregate?: number;
  /** Deliveries: the least and most at one client, of `total`. */
  delivered?: { min: number; max: number };
  /** Latency over the clients (after the warm-up): median of the p50s, worst p99 and max. */
  latency?: Latency;
  /** The same, warm-up included. */
  latencyAll?: Latency;
  /** The same for each client's own multicasts only (one clock: checks the shared clock). */
  ownLatency?: Latency;
  /** Peak resident memory, KiB (clientMax: of every client, the frozen ones too). */
  memoryKiB: { broker: number; sequencer: number; clientMax: number };
  /** CPU seconds used: broker, sequencer, all clients together (the frozen ones too). */
  cpuSeconds: { broker: number; sequencer: number; clients: number };
  /** Exit codes of the broker and the sequencer after SIGTERM. */
  exit: { broker: number | null; sequencer: number | null };
  /** Seconds the run took, startup and shutdown included. */
  wallSeconds: number;
  /** The 1-minute load average when the run started (it counts this bench's processes too). */
  loadAtStart: number;
  /**
   * CPU seconds the machine spent during the run on anything but this run's
   * roles (the orchestrator included): other work that shared the cores.
   */
  otherCpuSeconds: number;
}

/** What a run saw of one client process. */
export interface ClientReport {
  /** The process's name, e.g. "client c1". */
  name: string;
  /** Its exit code. */
  exitCode: number;
  /** Its stdout: the JSON line. */
  stdout: string;
  /** Its stderr. */
  stderr: string;
  /** What /proc said of it. */
  sampled?: ProcSample;
  /**
   * A frozen client: when it got SIGSTOP and SIGCONT (the clients' shared
   * clock, ms since the epoch; 0 if it did not).
   */
  freeze?: { stoppedAt: number; continuedAt: number };
}

/** What a run saw, before it is summed up. */
export interface Observed {
  /** Why the run failed, as the run saw it (a role exited early, a timeout). */
  error?: string;
  /** Every client started, in order. */
  clients: ClientReport[];
  /** What /proc said of the broker and the sequencer. */
  sampled: { broker?: ProcSample; sequencer?: ProcSample };
  /** Exit codes of the broker and the sequencer after SIGTERM. */
  exit: { broker: number | null; sequencer: number | null };
  /** Seconds the run took. */
  wallSeconds: number;
  /** The 1-minute load average at the start. */
  loadAtStart: number;
  /** CPU seconds the whole machine was busy during the run (NaN if unknown). */
  busySeconds: number;
  /** What the broker and the sequencer wrote on stderr (runs with `counters` only). */
  roleStderr?: { broker: string; sequencer: string };
  /** JetStream's runs: what the stream's creator printed (the stream's state at the end). */
  streamStdout?: string;
}

/**
 * Sums up a run.
 *
 * @param spec The run.
 * @param observed What it saw.
 * @returns The result.
 */
export function resultOf(spec: RunSpec, observed: Observed): RunResult {
  const { sampled } = observed;
  const result: RunResult = {
    ...spec,
    ok: false,
    notes: [],
    clientLines: [],
    memoryKiB: {
      broker: sampled.broker?.peakKiB ?? 0,
      sequencer: sampled.sequencer?.peakKiB ?? 0,
      clientMax: 0,
    },
    cpuSeconds: {
      broker: sampled.broker?.cpuSeconds ?? 0,
      sequencer: sampled.sequencer?.cpuSeconds ?? 0,
      clients: 0,
    },
    exit: observed.exit,
    wallSeconds: observed.wallSeconds,
    loadAtStart: observed.loadAtStart,
    otherCpuSeconds: 0,
  };
  if (observed.error !== undefined) result.error = observed.error;
  for (const [role, status] of Object.entries(observed.exit)) {
    const name = spec.impl === "jetstream" && role === "broker" ? "nats-server" : role;
    if (status !== null && status !== 0) {
      result.notes.push(`the ${name} exited with ${status} after SIGTERM`);
    }
  }
  if (observed.streamStdout !== undefined) {
    const stream = streamStateOf(observed.streamStdout);
    if (stream === undefined) result.notes.push("the stream's state at the end is unknown");
    else {
      result.stream = stream;
      if (stream.messages !== spec.total) {
        result.notes.push(`the stream held ${stream.messages} messages of ${spec.total}`);
      }
    }
  }
  const senders = observed.clients.filter((c) => c.freeze === undefined);
  const frozen = observed.clients.filter((c) => c.freeze !== undefined);
  const failures = readClients(spec, senders, result);
  if (spec.frozen !== undefined) failures.push(...readFrozen(spec, frozen, result));
  if (observed.roleStderr !== undefined) {
    const broker = lastCounters(observed.roleStderr.broker);
    const sequencer = lastCounters(observed.roleStderr.sequencer);
    result.roleCounters = {
      ...(broker === undefined ? {} : { broker }),
      ...(sequencer === undefined ? {} : { sequencer }),
    };
  }
  if (result.clientLines.length > 0) sumClients(result);
  if (result.error === undefined && failures.length > 0 && spec.impl !== "seed") {
    result.error = failures.join("; ");
  } else if (failures.length > 0) {
    result.notes.push(...failures);
  }
  if (spec.impl === "seed" && result.clientLines.some((l) => !l.complete)) {
    result.notes.push(
      `the seed's design delivered ${result.delivered?.min ?? 0} to ${
        result.delivered?.max ?? 0
      } of ${spec.total} per client, then stalled`,
    );
  }
  result.ok = result.error === undefined && result.clientLines.length === spec.clients &&
    (result.catchUp?.length ?? 0) === (spec.frozen ?? 0);
  if (!result.ok && result.error === undefined) result.error = "not every client reported";
  const ours = result.cpuSeconds.broker + result.cpuSeconds.sequencer + result.cpuSeconds.clients;
  if (Number.isFinite(observed.busySeconds)) {
    result.otherCpuSeconds = Math.max(0, Math.round((observed.busySeconds - ours) * 10) / 10);
  }
  return result;
}

/** Reads every client's JSON line into `result` (lines and recovery notes); returns the failures. */
function readClients(spec: RunSpec, clients: ClientReport[], result: RunResult): string[] {
  const failures: string[] = [];
  for (const client of clients) {
    const json = lastJsonLine(client.stdout);
    if (json === undefined) {
      failures.push(
        `${client.name} printed no result (exit ${client.exitCode}): ${
          lastLines(client.stderr, 3)
        }`,
      );
      continue;
    }
    const line = clientLine(spec, json, client.exitCode, client.sampled);
    result.clientLines.push(line);
    if (typeof json.error === "string") failures.push(`${line.id}: ${json.error}`);
    const recovery = json.recovery as Record<string, number> | undefined;
    if (recovery !== undefined && (recovery.recovered || recovery.retransmitRequests)) {
      result.notes.push(
        `${line.id}: ${recovery.retransmitRequests} retransmission requests, ${recovery.recovered} delivered from orders`,
      );
    }
  }
  return failures;
}

/**
 * Reads the frozen clients' JSON lines into `result.catchUp` (their memory
 * and CPU into the run's); returns the failures.
 */
function readFrozen(spec: RunSpec, clients: ClientReport[], result: RunResult): string[] {
  const failures: string[] = [];
  result.catchUp = [];
  for (const client of clients) {
    const json = lastJsonLine(client.stdout);
    if (json === undefined) {
      failures.push(
        `${client.name} (frozen) printed no result (exit ${client.exitCode}): ${
          lastLines(client.stderr, 3)
        }`,
      );
      continue;
    }
    const found = catchUpOf(spec, json, client);
    result.catchUp.push(found.catchUp);
    if (typeof json.error === "string") failures.push(`${found.catchUp.id}: ${json.error}`);
    if (found.note !== undefined) result.notes.push(found.note);
  }
  return failures;
}

/**
 * How a frozen client caught up, from its JSON line and when it was frozen
 * and let go on. What it had delivered at SIGCONT is what came before its
 * longest pause between two deliveries, when that pause spans the SIGCONT
 * (it delivers nothing while frozen); else, if it delivered nothing after
 * the SIGCONT, everything; else the pause's count, with a note.
 *
 * @param spec The run.
 * @param json The client's {@link ClientResult}.
 * @param client The client's process as the run saw it (`freeze` set).
 * @returns The catch-up, and a note when the pause did not span the SIGCONT.
 */
export function catchUpOf(
  spec: RunSpec,
  json: Record<string, unknown>,
  client: ClientReport,
): { catchUp: CatchUp; note?: string } {
  const { stoppedAt, continuedAt } = client.freeze ?? { stoppedAt: 0, continuedAt: 0 };
  const id = String(json.id);
  const delivered = num(json.delivered);
  const lastAt = num(json.lastDeliveryAt);
  const pause = (json.longestPause ?? {}) as Record<string, unknown>;
  const pauseFrom = num(pause.from);
  const pauseTo = num(pause.to);
  // The clients' clock and ours agree to well under a millisecond.
  const spans = continuedAt > 0 && pauseFrom <= continuedAt + 1 && pauseTo >= continuedAt - 1;
  let note: string | undefined;
  let before: number;
  if (spans) before = num(pause.delivered);
  else if (continuedAt === 0 || lastAt <= continuedAt) {
    before = delivered;
    if (stoppedAt === 0) note = `${id}: was not frozen (the run ended before its first delivery)`;
  } else {
    before = num(pause.delivered);
    note = `${id}: its longest pause between deliveries (${
      ((pauseTo - pauseFrom) / 1000).toFixed(3)
    } s) does not span the SIGCONT: what it had delivered then is a guess`;
  }
  const behind = Math.max(0, spec.total - before);
  const seconds = continuedAt > 0 && lastAt > continuedAt ? (lastAt - continuedAt) / 1000 : 0;
  const recovery = (json.recovery ?? {}) as Record<string, unknown>;
  const sampled = client.sampled;
  const catchUp: CatchUp = {
    id,
    deliveredBefore: before,
    behind,
    delivered,
    complete: json.complete === true,
    frozenSeconds: stoppedAt > 0 && continuedAt > stoppedAt
      ? Math.round(continuedAt - stoppedAt) / 1000
      : 0,
    seconds: Math.round(seconds * 1000) / 1000,
    perSec: seconds > 0 ? Math.round(behind / seconds) : 0,
    gapsFilled: num(recovery.gapsFilled),
    recovered: num(recovery.recovered),
    requests: num(recovery.retransmitRequests),
    peakRssKiB: Math.max(num(json.peakRssKiB), sampled?.peakKiB ?? 0),
    cpuSeconds: Math.max(num(json.cpuSeconds), sampled?.cpuSeconds ?? 0),
    exitCode: client.exitCode,
  };
  return note === undefined ? { catchUp } : { catchUp, note };
}

/**
 * A role's counters as it logged them last with `--log-format json` (the
 * line whose message is "counters"), without the line's time, role, level
 * and message.
 *
 * @param stderr What the role wrote on stderr.
 * @returns The numeric counters, or undefined if there is no such line.
 */
export function lastCounters(stderr: string): RoleCounters | undefined {
  const lines = stderr.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith("{") || !line.includes('"counters"')) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    const fields = value as Record<string, unknown>;
    if (fields.message !== "counters") continue;
    const counters: RoleCounters = {};
    for (const [name, v] of Object.entries(fields)) {
      if (typeof v === "number" && Number.isFinite(v)) counters[name] = v;
    }
    return counters;
  }
  return undefined;
}

/**
 * A client's JSON line, any implementation's, as a {@link ClientLine}.
 *
 * @param spec The run.
 * @param json The line: our client's {@link ClientResult}, the seed's burst.py
 *   report, or JetStream's client's (bench/peers/jetstream_peer.mjs: the same
 *   fields as ours).
 * @param exitCode The client's exit code.
 * @param sampled What /proc said of it (the larger memory and CPU time win).
 * @returns The line.
 */
export function clientLine(
  spec: RunSpec,
  json: Record<string, unknown>,
  exitCode: number,
  sampled: ProcSample | undefined,
): ClientLine {
  const line: ClientLine = {
    id: String(json.id),
    sent: num(json.sent),
    delivered: num(json.delivered),
    expected: spec.total,
    complete: json.complete === true,
    seconds: num(json.seconds),
    perSec: num(spec.impl === "seed" ? json.per_sec : json.perSec),
    peakRssKiB: Math.max(num(json.peakRssKiB), sampled?.peakKiB ?? 0),
    cpuSeconds: Math.max(num(json.cpuSeconds), sampled?.cpuSeconds ?? 0),
    exitCode,
  };
  const latency = latencyOf(json.latency);
  const all = latencyOf(json.latencyAll);
  const own = latencyOf(json.ownLatency);
  if (latency !== undefined) line.latency = latency;
  if (all !== undefined) line.latencyAll = all;
  if (own !== undefined) line.ownLatency = own;
  return line;
}

/** Rates, deliveries, memory, CPU and latencies over the clients that reported. */
function sumClients(result: RunResult): void {
  const lines = result.clientLines;
  const rates = lines.map((l) => l.perSec);
  result.perClient = {
    min: Math.min(...rates),
    median: Math.round(median(rates)),
    max: Math.max(...rates),
  };
  result.aggregate = rates.reduce((a, b) => a + b, 0);
  const delivered = lines.map((l) => l.delivered);
  result.delivered = { min: Math.min(...delivered), max: Math.max(...delivered) };
  const all = [...lines, ...(result.catchUp ?? [])];
  result.memoryKiB.clientMax = Math.max(...all.map((l) => l.peakRssKiB));
  result.cpuSeconds.clients = Math.round(all.reduce((a, l) => a + l.cpuSeconds, 0) * 100) / 100;
  const latency = overClients(lines, (l) => l.latency);
  const latencyAll = overClients(lines, (l) => l.latencyAll);
  const own = overClients(lines, (l) => l.ownLatency);
  if (latency) result.latency = latency;
  if (latencyAll) result.latencyAll = latencyAll;
  if (own) result.ownLatency = own;
}

/** The median p50, the worst p99 and max over the clients that have one. */
function overClients(
  lines: ClientLine[],
  pick: (l: ClientLine) => Latency | undefined,
): Latency | undefined {
  const latencies = lines.map(pick).filter((l): l is Latency => l !== undefined);
  if (latencies.length === 0) return undefined;
  return {
    p50: median(latencies.map((l) => l.p50)),
    p99: Math.max(...latencies.map((l) => l.p99)),
    max: Math.max(...latencies.map((l) => l.max)),
  };
}

/**
 * The frozen runs' ratio: the median client's deliveries/s of the clients
 * with a member frozen beside them over the same clients alone, when both
 * ran and succeeded.
 *
 * @param results Every run.
 * @returns The ratio and the two runs (either may be missing).
 */
export function frozenRatio(
  results: RunResult[],
): { ratio?: number; frozen?: RunResult; alone?: RunResult } {
  const frozen = results.find((r) => r.groups.includes("frozen") && (r.frozen ?? 0) > 0);
  const alone = results.find((r) => r.groups.includes("frozen") && (r.frozen ?? 0) === 0);
  const a = frozen?.ok ? frozen.perClient?.median : undefined;
  const b = alone?.ok ? alone.perClient?.median : undefined;
  return {
    ...(a !== undefined && b !== undefined && b > 0 ? { ratio: a / b } : {}),
    ...(frozen === undefined ? {} : { frozen }),
    ...(alone === undefined ? {} : { alone }),
  };
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function latencyOf(value: unknown): Latency | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  return { p50: num(v.p50), p99: num(v.p99), max: num(v.max) };
}

/**
 * The first run of `impl` that passes `test`.
 *
 * @param results Every run.
 * @param impl The implementation.
 * @param test Which run.
 * @returns The run, or undefined.
 */
export function findRun(
  results: RunResult[],
  impl: Implementation,
  test: (r: RunResult) => boolean,
): RunResult | undefined {
  return results.find((r) => r.impl === impl && test(r));
}

/**
 * Of the throughput runs of `impl`, the one with the median median-client
 * rate (a failed run counts as the slowest).
 *
 * @param results Every run.
 * @param impl The implementation.
 * @param inBroker The runs with the sequencer inside the broker instead.
 * @returns The run, or undefined if there was none.
 */
export function medianThroughputRun(
  results: RunResult[],
  impl: Implementation,
  inBroker = false,
): RunResult | undefined {
  const runs = results
    .filter((r) =>
      r.impl === impl && r.rate === 0 && !r.sequencer?.log && !r.oneByOne &&
      (inBroker
        ? r.inBroker === true && r.groups.includes("in-broker")
        : r.groups.includes("throughput"))
    )
    .sort((a, b) => (a.perClient?.median ?? -1) - (b.perClient?.median ?? -1));
  return runs[Math.floor((runs.length - 1) / 2)];
}

/** Ours against JetStream on one kind of storage, for the report. */
export interface JetStreamPair {
  /** JetStream's storage; ours in memory against "memory", with the sequencer's `--log` against "file". */
  storage: "memory" | "file";
  /** Our run: the median throughput run (or the one planned with JetStream's), or the `--log` one. */
  ours?: RunResult;
  /** JetStream's run. */
  jetstream?: RunResult;
  /** Ours over JetStream, median client deliveries/s, when both succeeded. */
  ratio?: number;
}

/**
 * The pairs of ours against JetStream: ours in memory (the median of the
 * throughput runs, else the one run planned with JetStream's) against its
 * memory storage, ours with the sequencer's `--log` against its file
 * storage.
 *
 * @param results Every run.
 * @returns Memory, then file; a side may be missing.
 */
export function jetstreamPairs(results: RunResult[]): JetStreamPair[] {
  const jetstream = (storage: "memory" | "file") =>
    results.find((r) => r.impl === "jetstream" && r.storage === storage);
  const memory = medianThroughputRun(results, "deno") ??
    findRun(results, "deno", (r) => r.groups.includes("jetstream") && !r.sequencer?.log);
  const file = findRun(
    results,
    "deno",
    (r) => r.groups.includes("jetstream") && r.sequencer?.log === true,
  );
  return ([["memory", memory], ["file", file]] as const).map(([storage, ours]) => {
    const theirs = jetstream(storage);
    const a = ours?.ok ? ours.perClient?.median : undefined;
    const b = theirs?.ok ? theirs.perClient?.median : undefined;
    return {
      storage,
      ...(ours === undefined ? {} : { ours }),
      ...(theirs === undefined ? {} : { jetstream: theirs }),
      ...(a !== undefined && b !== undefined && b > 0 ? { ratio: a / b } : {}),
    };
  });
}
