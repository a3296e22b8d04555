/**
 * What a run of the group benchmark found: the clients' JSON lines, either
 * implementation's, summed up into a {@link RunResult}; and picking runs out
 * of a bench's results. No I/O.
 *
 * @module
 */

import { lastJsonLine } from "../../tasks/_capture.ts";
import type { ClientResult, LatencySummary } from "../group_client.ts";
import { lastLines } from "../command.ts";
import type { ProcSample } from "../proc.ts";
import { median } from "../stats.ts";
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

/** What a run found. */
export interface RunResult extends RunSpec {
  /** Every client reported and delivered everything (ours), or reported (the seed). */
  ok: boolean;
  /** Why the run failed. */
  error?: string;
  /** Notes: a dirty shutdown, recoveries... */
  notes: string[];
  /** Per client. */
  clientLines: ClientLine[];
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
  /** Peak resident memory, KiB. */
  memoryKiB: { broker: number; sequencer: number; clientMax: number };
  /** CPU seconds used: broker, sequencer, all clients together. */
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
  for (const [name, status] of Object.entries(observed.exit)) {
    if (status !== null && status !== 0) {
      result.notes.push(`the ${name} exited with ${status} after SIGTERM`);
    }
  }
  const failures = readClients(spec, observed.clients, result);
  if (result.clientLines.length > 0) sumClients(result);
  if (result.error === undefined && failures.length > 0 && spec.impl === "deno") {
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
  result.ok = result.error === undefined && result.clientLines.length === spec.clients;
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
 * A client's JSON line, either implementation's, as a {@link ClientLine}.
 *
 * @param spec The run.
 * @param json The line: our client's {@link ClientResult}, or the seed's burst.py report.
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
  result.memoryKiB.clientMax = Math.max(...lines.map((l) => l.peakRssKiB));
  result.cpuSeconds.clients = Math.round(lines.reduce((a, l) => a + l.cpuSeconds, 0) * 100) / 100;
  const latency = overClients(lines, (l) => l.latency);
  const all = overClients(lines, (l) => l.latencyAll);
  const own = overClients(lines, (l) => l.ownLatency);
  if (latency) result.latency = latency;
  if (all) result.latencyAll = all;
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
 * @returns The run, or undefined if there was none.
 */
export function medianThroughputRun(
  results: RunResult[],
  impl: Implementation,
): RunResult | undefined {
  const runs = results
    .filter((r) => r.impl === impl && r.groups.includes("throughput"))
    .sort((a, b) => (a.perClient?.median ?? -1) - (b.perClient?.median ?? -1));
  return runs[Math.floor((runs.length - 1) / 2)];
}
