/**
 * `deno task bench:group`: the group's throughput, latency, scaling and
 * memory, as separate processes on one machine (broker, sequencer and
 * `bench/group_client.ts` clients), against a pyzmq build of the seed's
 * design (`tests/peers/seed/`: broker.py, main.py as the sequencer and
 * burst.py clients) in the same run.
 *
 * Runs, each with a fresh broker and sequencer on fresh ports:
 * - throughput: 4 clients, 100,000 multicasts of 32 B in all, as fast as
 *   backpressure allows: deliveries per second at every client; three runs
 *   of each implementation, the targets taken from the median run;
 * - latency: 4 clients offering 1,000 and 10,000 multicasts/s in all for
 *   5 s: p50, p99 and max from a multicast to its delivery at every client;
 * - scaling: 2, 4, 8 and 16 clients (40,000 × 32 B, and 1,000/s for the
 *   latency), and 32 B, 1 KiB and 64 KiB payloads at 4 clients;
 * - the seed's design for the throughput and the scaling runs. It loses
 *   messages and stalls; its rate is what it delivered until then.
 *
 * Writes `bench/out/group.json`, `bench/out/group.md` (printed too) and
 * `bench/out/group.svg`. A run that fails is reported as failed; every
 * process has a timeout.
 *
 * ```sh
 * deno task bench:group [--scale 1] [--only throughput,latency,clients,sizes] [--no-seed]
 * BENCH_GROUP_CPU_PROF=broker deno task bench:group --only throughput   # profile a role
 * ```
 *
 * `BENCH_GROUP_CPU_PROF` (`broker`, `sequencer` or a client id such as `c1`)
 * runs that role of the Deno throughput run under `--cpu-prof` (into
 * `BENCH_GROUP_PROF_DIR`, default `/tmp/bench_group_prof`) and prints the
 * functions that took the most time. Runs with `--only` or a profile print
 * their report without overwriting `bench/out/`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Context, ZmqError, zmqVersion } from "../ffi/mod.ts";
import { ROLE_ENTRY, type RoleProcess, spawn, spawnRole, stop } from "./_processes.ts";
import { lastJsonLine } from "./_capture.ts";
import type { ClientResult, LatencySummary } from "../bench/group_client.ts";
import { peakMemory } from "./scenario.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out/`;
const PYTHON = "/usr/bin/python3";
const SEED = "tests/peers/seed/";
const CLIENT = "bench/group_client.ts";
/** Permissions of the Deno roles and clients. */
const PERMISSIONS = ["--allow-ffi", "--allow-env", "--allow-read", "--allow-write", "--allow-sys"];
const FIRST_PORT = 21_000;
/**
 * The throughput case runs this many times per implementation (runs on a
 * shared 2-core VM vary by 15%); the targets use the median run.
 */
const THROUGHPUT_RUNS = 3;
/** At offered loads, multicasts sent in the first second are left out of the latency (JIT warm-up). */
const WARMUP_SECONDS = 1;

/** The issue's targets on a 2-core machine. */
const TARGETS = {
  perClientPerSec: 100_000,
  p99AtThousandMs: 1,
  seedRatio: 50,
};

/** What a run measures, for the tables. */
export type RunGroup =
  | "warmup"
  | "throughput"
  | "latency"
  | "clients"
  | "latency-clients"
  | "sizes";

/** Which implementation a run uses. */
export type Implementation = "deno" | "seed";

/** One run: a broker, a sequencer and `clients` clients. */
export interface RunSpec {
  /** A unique name, e.g. "clients-8-deno". */
  key: string;
  /** The tables this run feeds. */
  groups: RunGroup[];
  /** Ours, or the seed's design in pyzmq. */
  impl: Implementation;
  /** Number of clients. */
  clients: number;
  /** Payload bytes. */
  size: number;
  /** Multicasts in all, split across the clients. */
  total: number;
  /** Offered multicasts per second in all; 0 = as fast as backpressure allows. */
  rate: number;
}

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

/** The 1-minute load average, rounded; -1 where the OS does not tell. */
function loadAverage(): number {
  try {
    return Math.round(Deno.loadavg()[0]! * 10) / 10;
  } catch {
    return -1;
  }
}

/** CPU seconds the whole machine has been busy (all CPUs, from /proc/stat), or NaN. */
async function machineBusySeconds(): Promise<number> {
  const line = await commandText("grep", ["-m1", "^cpu ", "/proc/stat"]);
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return busy / 100;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return 0;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Four consecutive free tcp ports on 127.0.0.1, probed with a libzmq bind (no --allow-net here). */
let nextPort = FIRST_PORT;
function freeBasePort(): number {
  using ctx = new Context();
  for (; nextPort < FIRST_PORT + 8000; nextPort += 4) {
    const probes = [];
    try {
      for (let i = 0; i < 4; i++) {
        const probe = ctx.socket("PULL");
        probes.push(probe);
        probe.setOption("LINGER", 0);
        probe.bind(`tcp://127.0.0.1:${nextPort + i}`);
      }
      const base = nextPort;
      nextPort += 4;
      return base;
    } catch (error) {
      if (!(error instanceof ZmqError && error.code === "EADDRINUSE")) throw error;
    } finally {
      for (const probe of probes) probe.close();
    }
  }
  throw new Error(`No four free ports in ${FIRST_PORT}..${FIRST_PORT + 7999}`);
}

/** What `/proc` says of a process. */
interface ProcSample {
  /** Peak resident memory (VmHWM), KiB. */
  peakKiB: number;
  /** CPU time used so far, user plus system, seconds. */
  cpuSeconds: number;
}

/**
 * Peak memory and CPU time of some processes. `peakMemory()` reads
 * `/proc/<pid>/status`, which Deno 2 allows only under `--allow-all`; this
 * task has `--allow-run`, so `grep` reads what it cannot.
 */
async function procSamples(pids: number[]): Promise<Map<number, ProcSample>> {
  const samples = new Map<number, ProcSample>();
  for (const pid of pids) samples.set(pid, { peakKiB: peakMemory(pid), cpuSeconds: 0 });
  if (pids.length === 0) return samples;
  try {
    const out = await new Deno.Command("grep", {
      args: [
        "-H",
        "-E",
        "^(VmHWM|[0-9])",
        ...pids.flatMap((pid) => [`/proc/${pid}/status`, `/proc/${pid}/stat`]),
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      const match = /^\/proc\/(\d+)\/(status|stat):(.*)$/.exec(line);
      const sample = match && samples.get(Number(match[1]));
      if (!match || !sample) continue;
      if (match[2] === "status") {
        const kib = Number(/VmHWM:\s+(\d+) kB/.exec(match[3]!)?.[1] ?? 0);
        sample.peakKiB = Math.max(sample.peakKiB, kib);
      } else {
        // pid (comm) state ... field 14 utime, 15 stime, in clock ticks (100 Hz).
        const fields = match[3]!.slice(match[3]!.lastIndexOf(")") + 2).split(" ");
        sample.cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
      }
    }
  } catch {
    // No grep: memory and CPU are reported as unknown.
  }
  return samples;
}

/** Deno flags that put `role` under the CPU profiler, when asked. */
function profileFlags(spec: RunSpec, role: string): string[] {
  const wanted = Deno.env.get("BENCH_GROUP_CPU_PROF");
  if (wanted === undefined || wanted !== role || spec.impl !== "deno") return [];
  if (!spec.groups.includes("throughput")) return [];
  const dir = `${profileDir()}/${role}`;
  return ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

function profileDir(): string {
  return Deno.env.get("BENCH_GROUP_PROF_DIR") ?? "/tmp/bench_group_prof";
}

function startBroker(spec: RunSpec, port: number): RoleProcess {
  const args = ["--expect", String(spec.clients + 1), "--base-port", String(port)];
  if (spec.impl === "seed") {
    return spawn("seed broker", PYTHON, [`${SEED}broker.py`, "-nc", args[1]!, ...args.slice(2)]);
  }
  return startDenoRole(spec, "broker", args);
}

function startSequencer(spec: RunSpec, port: number): RoleProcess {
  const args = ["--base-port", String(port)];
  if (spec.impl === "seed") {
    return spawn("seed sequencer", PYTHON, [`${SEED}main.py`, "-id", "sequencer", ...args]);
  }
  return startDenoRole(spec, "sequencer", args);
}

/** Our broker or sequencer, quiet, under `--cpu-prof` when this run profiles it. */
function startDenoRole(
  spec: RunSpec,
  role: "broker" | "sequencer",
  args: string[],
): RoleProcess {
  const prof = profileFlags(spec, role);
  if (prof.length === 0) return spawnRole(role, role, [...args, "--quiet"]);
  return spawn(role, Deno.execPath(), [
    "run",
    ...PERMISSIONS,
    ...prof,
    ROLE_ENTRY[role],
    ...args,
    "--quiet",
  ]);
}

/** Seconds a client may take, from its start. */
function clientTimeout(spec: RunSpec): number {
  const work = spec.rate > 0 ? spec.total / spec.rate : (spec.total * spec.clients) / 25_000;
  return Math.ceil(30 + work);
}

function startClient(spec: RunSpec, port: number, id: string, count: number): RoleProcess {
  if (spec.impl === "seed") {
    const width = Math.max(0, spec.size - `${id}###`.length);
    return spawn(
      `seed client ${id}`,
      PYTHON,
      [
        `${SEED}burst.py`,
        "-id",
        id,
        "--base-port",
        String(port),
        "--count",
        String(count),
        "--size",
        String(width),
        "--expect-deliveries",
        String(spec.total),
        "--idle-exit",
        "3",
      ],
      false,
      true,
    );
  }
  return spawn(
    `client ${id}`,
    Deno.execPath(),
    [
      "run",
      ...PERMISSIONS,
      ...profileFlags(spec, id),
      CLIENT,
      "--id",
      id,
      "--base-port",
      String(port),
      "--count",
      String(count),
      "--size",
      String(spec.size),
      "--rate",
      String(spec.rate / spec.clients),
      "--expect",
      String(spec.total),
      "--timeout",
      String(clientTimeout(spec)),
      "--warmup",
      String(spec.rate > 0 ? WARMUP_SECONDS : 0),
    ],
    false,
    true,
  );
}

function tail(text: string, lines = 3): string {
  return text.trim().split("\n").filter((line) => line.trim() !== "").slice(-lines).join(" | ");
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function latencyOf(value: unknown): Latency | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  return { p50: num(v.p50), p99: num(v.p99), max: num(v.max) };
}

/** A client's JSON line, either implementation's, as a {@link ClientLine}. */
function clientLine(
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

async function runOne(spec: RunSpec): Promise<RunResult> {
  const began = performance.now();
  const result: RunResult = {
    ...spec,
    ok: false,
    notes: [],
    clientLines: [],
    memoryKiB: { broker: 0, sequencer: 0, clientMax: 0 },
    cpuSeconds: { broker: 0, sequencer: 0, clients: 0 },
    exit: { broker: null, sequencer: null },
    wallSeconds: 0,
    loadAtStart: loadAverage(),
    otherCpuSeconds: 0,
  };
  const busyAtStart = await machineBusySeconds();
  const clients: RoleProcess[] = [];
  const sampled = new Map<string, ProcSample>();
  let broker: RoleProcess | undefined;
  let sequencer: RoleProcess | undefined;
  let sampling: Promise<void> | undefined;
  const sample = (): Promise<void> => {
    sampling ??= (async () => {
      const roles = [broker, sequencer, ...clients].filter((r): r is RoleProcess =>
        r !== undefined
      );
      const now = await procSamples(roles.map((r) => r.child.pid));
      for (const role of roles) {
        const got = now.get(role.child.pid);
        const before = sampled.get(role.name) ?? { peakKiB: 0, cpuSeconds: 0 };
        sampled.set(role.name, {
          peakKiB: Math.max(before.peakKiB, got?.peakKiB ?? 0),
          cpuSeconds: Math.max(before.cpuSeconds, got?.cpuSeconds ?? 0),
        });
      }
      for (const [role, key] of [[broker, "broker"], [sequencer, "sequencer"]] as const) {
        const got = role && sampled.get(role.name);
        if (got) {
          result.memoryKiB[key] = got.peakKiB;
          result.cpuSeconds[key] = got.cpuSeconds;
        }
      }
    })().finally(() => sampling = undefined);
    return sampling;
  };
  const sampler = setInterval(sample, 250);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const port = freeBasePort();
    broker = startBroker(spec, port);
    sequencer = startSequencer(spec, port);
    const base = Math.floor(spec.total / spec.clients);
    for (let i = 1; i <= spec.clients; i++) {
      const count = base + (i <= spec.total % spec.clients ? 1 : 0);
      clients.push(startClient(spec, port, `c${i}`, count));
    }
    // The clients end by themselves; the broker or sequencer must not.
    const limitMs = (clientTimeout(spec) + 30) * 1000;
    const outcome = await Promise.race([
      Promise.all(clients.map((c) => c.status)).then(() => "done"),
      broker.status.then(() => "broker"),
      sequencer.status.then(() => "sequencer"),
      new Promise<string>((resolve) => timer = setTimeout(() => resolve("timeout"), limitMs)),
    ]);
    await sample();
    if (outcome === "broker" || outcome === "sequencer") {
      const role = outcome === "broker" ? broker : sequencer;
      const status = await role.status;
      result.error = `the ${role.name} exited early with ${status.code}: ${tail(role.stderr())}`;
    } else if (outcome === "timeout") {
      result.error = `timed out after ${limitMs / 1000} s`;
    }
  } catch (error) {
    result.error = `could not run: ${error instanceof Error ? error.message : error}`;
  } finally {
    clearTimeout(timer);
    clearInterval(sampler);
    await sampling;
    for (const client of clients) await stop(client, 2000);
    await sample();
    if (sequencer) {
      const status = await stop(sequencer);
      result.exit.sequencer = status.code;
    }
    if (broker) {
      const status = await stop(broker);
      result.exit.broker = status.code;
    }
  }
  for (
    const [name, status] of [["broker", result.exit.broker], ["sequencer", result.exit.sequencer]]
  ) {
    if (status !== null && status !== 0) {
      result.notes.push(`the ${name} exited with ${status} after SIGTERM`);
    }
  }
  const failures: string[] = [];
  for (const client of clients) {
    const status = await client.status;
    const json = lastJsonLine(client.stdout());
    if (json === undefined) {
      failures.push(
        `${client.name} printed no result (exit ${status.code}): ${tail(client.stderr())}`,
      );
      continue;
    }
    const line = clientLine(spec, json, status.code, sampled.get(client.name));
    result.clientLines.push(line);
    if (typeof json.error === "string") failures.push(`${line.id}: ${json.error}`);
    const recovery = json.recovery as Record<string, number> | undefined;
    if (recovery !== undefined && (recovery.recovered || recovery.retransmitRequests)) {
      result.notes.push(
        `${line.id}: ${recovery.retransmitRequests} retransmission requests, ${recovery.recovered} delivered from orders`,
      );
    }
  }
  const lines = result.clientLines;
  if (lines.length > 0) {
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
    const over = (pick: (l: ClientLine) => Latency | undefined): Latency | undefined => {
      const latencies = lines.map(pick).filter((l): l is Latency => l !== undefined);
      if (latencies.length === 0) return undefined;
      return {
        p50: median(latencies.map((l) => l.p50)),
        p99: Math.max(...latencies.map((l) => l.p99)),
        max: Math.max(...latencies.map((l) => l.max)),
      };
    };
    const latency = over((l) => l.latency);
    const all = over((l) => l.latencyAll);
    const own = over((l) => l.ownLatency);
    if (latency) result.latency = latency;
    if (all) result.latencyAll = all;
    if (own) result.ownLatency = own;
  }
  if (result.error === undefined && failures.length > 0 && spec.impl === "deno") {
    result.error = failures.join("; ");
  } else if (failures.length > 0) {
    result.notes.push(...failures);
  }
  if (spec.impl === "seed" && lines.some((l) => !l.complete)) {
    result.notes.push(
      `the seed's design delivered ${result.delivered?.min ?? 0} to ${
        result.delivered?.max ?? 0
      } of ${spec.total} per client, then stalled`,
    );
  }
  result.ok = result.error === undefined && lines.length === spec.clients;
  if (!result.ok && result.error === undefined) result.error = "not every client reported";
  result.wallSeconds = Math.round((performance.now() - began) / 100) / 10;
  const busy = (await machineBusySeconds()) - busyAtStart;
  const ours = result.cpuSeconds.broker + result.cpuSeconds.sequencer + result.cpuSeconds.clients;
  if (Number.isFinite(busy)) {
    result.otherCpuSeconds = Math.max(0, Math.round((busy - ours) * 10) / 10);
  }
  return result;
}

// ---------------------------------------------------------------- profiles

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One row of a profile summary. */
export interface ProfileRow {
  /** Function name and where it is. */
  name: string;
  /** Milliseconds. */
  ms: number;
  /** Share of all sampled time, %. */
  percent: number;
}

/** Self and inclusive time of the top functions of a V8 `.cpuprofile`. */
export interface ProfileSummary {
  /** The profile file. */
  file: string;
  /** Sampled milliseconds in all. */
  totalMs: number;
  /** Time in the function itself (FFI calls count in their JS caller). */
  self: ProfileRow[];
  /** Time in the function and what it called. */
  inclusive: ProfileRow[];
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === ""
    ? ""
    : ` ${url.replace(/^.*\/(main|ext|deno)\//, "$1/")}:${lineNumber + 1}`;
  return `${functionName || "(anonymous)"}${where}`;
}

/**
 * Sums a V8 CPU profile by function: self time and inclusive time.
 *
 * @param file A `.cpuprofile` written by `deno run --cpu-prof`.
 * @param top How many rows of each.
 * @returns The summary.
 */
export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(Deno.readTextFileSync(file)) as CpuProfile;
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    total += us;
    let id: number | undefined = profile.samples[i]!;
    const leaf = byId.get(id)!;
    self.set(frameName(leaf), (self.get(frameName(leaf)) ?? 0) + us);
    const seen = new Set<string>();
    while (id !== undefined) {
      const node = byId.get(id)!;
      const name = frameName(node);
      if (!seen.has(name) && !name.startsWith("(root)")) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      }
      id = parent.get(id);
    }
  }
  const rows = (map: Map<string, number>) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({
      name,
      ms: Math.round(us / 100) / 10,
      percent: Math.round((1000 * us) / total) / 10,
    }));
  return { file, totalMs: Math.round(total / 1000), self: rows(self), inclusive: rows(inclusive) };
}

function profileMarkdown(summary: ProfileSummary): string {
  const table = (rows: ProfileRow[]) =>
    [
      "| function | ms | % |",
      "|---|---:|---:|",
      ...rows.map((r) => `| \`${r.name.replaceAll("|", "\\|")}\` | ${r.ms} | ${r.percent} |`),
    ].join("\n");
  return [
    `Profile \`${summary.file}\`: ${summary.totalMs} ms sampled.`,
    "",
    "Self time:",
    "",
    table(summary.self),
    "",
    "Inclusive time:",
    "",
    table(summary.inclusive),
  ].join("\n");
}

// ---------------------------------------------------------------- report

const fmt = (n: number | undefined): string =>
  n === undefined ? "–" : Math.round(n).toLocaleString("en-US");
const ms = (n: number | undefined): string =>
  n === undefined ? "–" : n < 10 ? n.toFixed(3) : n < 100 ? n.toFixed(1) : n.toFixed(0);
const mib = (kib: number): string => kib > 0 ? (kib / 1024).toFixed(0) : "–";
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? "–" : `${(a / b).toFixed(1)}x`;
const sizeName = (bytes: number): string => bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
const rateName = (rate: number): string => rate === 0 ? "max" : `${fmt(rate)}/s`;
const status = (r: RunResult): string =>
  !r.ok
    ? "FAILED"
    : r.clientLines.every((l) => l.complete)
    ? "ok"
    : `stalled (${r.clientLines.filter((l) => !l.complete).length} of ${r.clients} incomplete)`;

function find(results: RunResult[], impl: Implementation, test: (r: RunResult) => boolean) {
  return results.find((r) => r.impl === impl && test(r));
}

/**
 * Of the throughput runs of `impl`, the one with the median median-client
 * rate (a failed run counts as the slowest); undefined if there was none.
 */
function medianThroughputRun(results: RunResult[], impl: Implementation): RunResult | undefined {
  const runs = results
    .filter((r) => r.impl === impl && r.groups.includes("throughput"))
    .sort((a, b) => (a.perClient?.median ?? -1) - (b.perClient?.median ?? -1));
  return runs[Math.floor((runs.length - 1) / 2)];
}

/** What a report needs to know besides the runs. */
export interface BenchMeta {
  /** When the bench ran (ISO). */
  date: string;
  /** CPU model and count. */
  cpu: string;
  /** Deno's version. */
  deno: string;
  /** libzmq's version. */
  libzmq: string;
  /** pyzmq's version, or why it is unavailable. */
  pyzmq: string;
  /** The commit, and whether ffi/ or roles/ had uncommitted changes. */
  git: string;
  /** The factor applied to every message count. */
  scale: number;
  /** Seconds the whole bench took. */
  seconds: number;
  /** The 1-minute load average before the first run and after the last. */
  load: { before: number; after: number };
}

function targetRows(results: RunResult[]): string[] {
  const ours = medianThroughputRun(results, "deno");
  const seed = medianThroughputRun(results, "seed");
  const slow = find(results, "deno", (r) => r.groups.includes("latency") && r.rate === 1000);
  const mark = (met: boolean | undefined) =>
    met === undefined ? "not measured" : met ? "met" : "NOT met";
  const perClientMin = ours?.ok ? ours.perClient?.min : undefined;
  const p99 = slow?.ok ? slow.latency?.p99 : undefined;
  const times = ours?.ok && seed?.perClient?.median
    ? (ours.perClient?.median ?? 0) / seed.perClient.median
    : undefined;
  return [
    "| target | measured | |",
    "|---|---:|---|",
    `| ≥ ${fmt(TARGETS.perClientPerSec)} ordered deliveries/s at each of 4 clients | ${
      fmt(perClientMin)
    }/s (slowest client of the median of ${THROUGHPUT_RUNS} runs) | ${
      mark(perClientMin === undefined ? undefined : perClientMin >= TARGETS.perClientPerSec)
    } |`,
    `| p99 ≤ ${TARGETS.p99AtThousandMs} ms at 1,000 multicasts/s | ${
      ms(p99)
    } ms (worst client, after ${WARMUP_SECONDS} s warm-up; ${
      ms(slow?.ok ? slow.latencyAll?.p99 : undefined)
    } ms with it) | ${mark(p99 === undefined ? undefined : p99 <= TARGETS.p99AtThousandMs)} |`,
    `| ≥ ${TARGETS.seedRatio}x the seed design's throughput | ${
      times === undefined ? "–" : `${times.toFixed(1)}x`
    } (median client, median runs) | ${
      mark(times === undefined ? undefined : times >= TARGETS.seedRatio)
    } |`,
  ];
}

function runRow(r: RunResult): string {
  const delivered = r.delivered === undefined
    ? "–"
    : r.delivered.min === r.delivered.max
    ? fmt(r.delivered.min)
    : `${fmt(r.delivered.min)}–${fmt(r.delivered.max)}`;
  return `| ${r.impl === "deno" ? "ours" : "seed (pyzmq)"} | ${r.clients} | ${sizeName(r.size)} | ${
    fmt(r.total)
  } | ${rateName(r.rate)} | ${delivered} | ${fmt(r.perClient?.min)} | ${
    fmt(r.perClient?.median)
  } | ${fmt(r.perClient?.max)} | ${fmt(r.aggregate)} | ${ms(r.latency?.p50)} | ${
    ms(r.latency?.p99)
  } | ${ms(r.latency?.max)} | ${r.wallSeconds} | ${r.otherCpuSeconds} | ${status(r)} |`;
}

const RUN_HEADER = [
  "| impl | clients | size | multicasts | offered | delivered per client | deliveries/s min | median | max | sum | p50 ms | p99 ms | max ms | wall s | other CPU s | status |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
];

/**
 * Renders the Markdown report.
 *
 * @param results Every run.
 * @param meta The machine and versions.
 * @param profiles Profile summaries, if a role was profiled.
 * @returns The Markdown.
 */
export function renderMarkdown(
  results: RunResult[],
  meta: BenchMeta,
  profiles: ProfileSummary[] = [],
): string {
  const reported = results.filter((r) => !r.groups.includes("warmup"));
  const md: string[] = [
    "# Group benchmark",
    "",
    `${meta.date}; ${meta.cpu}; Deno ${meta.deno}; libzmq ${meta.libzmq}; pyzmq ${meta.pyzmq}; ${meta.git}.`,
    `Broker, sequencer and clients as separate processes on this machine, tcp loopback. ` +
    `Deliveries/s is per client, from its first send to its last delivery; latency is from a ` +
    `multicast to its delivery, at every client (each client's p50, p99 and max over every delivery, ` +
    `at offered loads leaving out what was sent in the first ${WARMUP_SECONDS} s while the JIT warms up; ` +
    `the table shows the median p50 and the worst p99 and max over the clients). ` +
    `The seed's design (tests/peers/seed, pyzmq) loses messages at the high-water mark and ` +
    `stalls: its rate is what it delivered until it stalled. Whole bench: ${meta.seconds} s; ` +
    `1-minute load average ${meta.load.before} before and ${meta.load.after} after. ` +
    `"other CPU s" is what the machine spent during a run on anything but that run's roles ` +
    `(this orchestrator's sampling included, about 0.1 s a second): more means other work shared the 2 cores.`,
  ];
  if (meta.scale !== 1) md.push("", `Message counts scaled by ${meta.scale}.`);
  md.push("", "## Targets", "", ...targetRows(reported));

  const section = (title: string, runs: RunResult[], extra: string[] = []) => {
    if (runs.length === 0) return;
    md.push("", `## ${title}`, "", ...RUN_HEADER, ...runs.map(runRow), ...extra);
  };
  const tp = reported.filter((r) => r.groups.includes("throughput"));
  const oursTp = medianThroughputRun(tp, "deno");
  const seedTp = medianThroughputRun(tp, "seed");
  section("Ordered throughput", tp, [
    "",
    `${THROUGHPUT_RUNS} runs of each. Ours/seed (median client deliveries/s, the median run of each): ${
      ratio(oursTp?.perClient?.median, seedTp?.perClient?.median)
    }.`,
  ]);
  const lat = reported.filter((r) => r.groups.includes("latency"));
  if (lat.length > 0) {
    md.push(
      "",
      "## Latency at offered loads",
      "",
      `4 clients, 32 B, paced by a timer at the offered load in all. Latency from the multicast to its ` +
        `delivery at every client, over what was sent after the first ${WARMUP_SECONDS} s (JIT warm-up); ` +
        `"incl. warm-up" counts everything. "own" is each client's own multicasts only (one clock: ` +
        `a check that the clock shared by the processes is not what is measured).`,
      "",
      "| offered | multicasts | delivered per client | p50 ms | p99 ms (worst client) | max ms | p99 incl. warm-up | max incl. warm-up | own p50 | own p99 | status |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
      ...lat.map((r) =>
        `| ${rateName(r.rate)} | ${fmt(r.total)} | ${fmt(r.delivered?.min)} | ${
          ms(r.latency?.p50)
        } | ${ms(r.latency?.p99)} | ${ms(r.latency?.max)} | ${ms(r.latencyAll?.p99)} | ${
          ms(r.latencyAll?.max)
        } | ${ms(r.ownLatency?.p50)} | ${ms(r.ownLatency?.p99)} | ${status(r)} |`
      ),
    );
  }

  const byClients = [2, 4, 8, 16];
  const cl = reported.filter((r) => r.groups.includes("clients"));
  if (cl.length > 0) {
    md.push(
      "",
      "## Scaling with the number of clients",
      "",
      "32 B payloads, as fast as backpressure allows; p99 at 1,000 multicasts/s offered in all.",
      "",
      "| clients | ours deliveries/s (median client) | seed deliveries/s | ours/seed | ours sum | ours p99 ms at max rate | ours p99 ms at 1,000/s | seed delivered per client | ours broker MiB | ours sequencer MiB | ours client MiB |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const n of byClients) {
      const ours = find(cl, "deno", (r) => r.clients === n);
      const seed = find(cl, "seed", (r) => r.clients === n);
      const slow = find(
        reported,
        "deno",
        (r) => r.groups.includes("latency-clients") && r.clients === n,
      );
      if (!ours && !seed) continue;
      const oursRate = ours?.ok ? ours.perClient?.median : undefined;
      md.push(
        `| ${n} | ${ours?.ok ? fmt(oursRate) : ours ? "FAILED" : "–"} | ${
          fmt(seed?.perClient?.median)
        } | ${ratio(oursRate, seed?.perClient?.median)} | ${
          ours?.ok ? fmt(ours.aggregate) : "–"
        } | ${ms(ours?.latency?.p99)} | ${
          slow?.ok ? ms(slow.latency?.p99) : slow ? "FAILED" : "–"
        } | ${
          seed?.delivered
            ? `${fmt(seed.delivered.min)}–${fmt(seed.delivered.max)} of ${fmt(seed.total)}`
            : "–"
        } | ${mib(ours?.memoryKiB.broker ?? 0)} | ${mib(ours?.memoryKiB.sequencer ?? 0)} | ${
          mib(ours?.memoryKiB.clientMax ?? 0)
        } |`,
      );
    }
    md.push("", "![throughput and latency against the number of clients](group.svg)");
  }
  const sz = reported.filter((r) => r.groups.includes("sizes"));
  if (sz.length > 0) {
    md.push(
      "",
      "## Scaling with the payload size",
      "",
      "4 clients, as fast as backpressure allows.",
      "",
      "| size | multicasts | ours deliveries/s (median client) | ours MB/s per client | seed deliveries/s | ours/seed | ours p99 ms | seed delivered per client |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const size of [32, 1024, 65536]) {
      const ours = find(sz, "deno", (r) => r.size === size);
      const seed = find(sz, "seed", (r) => r.size === size);
      if (!ours && !seed) continue;
      const oursRate = ours?.ok ? ours.perClient?.median : undefined;
      md.push(
        `| ${sizeName(size)} | ${fmt(ours?.total ?? seed?.total)} | ${
          ours?.ok ? fmt(oursRate) : ours ? "FAILED" : "–"
        } | ${oursRate === undefined ? "–" : ((oursRate * size) / 1e6).toFixed(1)} | ${
          fmt(seed?.perClient?.median)
        } | ${ratio(oursRate, seed?.perClient?.median)} | ${ms(ours?.latency?.p99)} | ${
          seed?.delivered ? `${fmt(seed.delivered.min)}–${fmt(seed.delivered.max)}` : "–"
        } |`,
      );
    }
  }
  md.push(
    "",
    "## Peak memory (VmHWM) and CPU time",
    "",
    "CPU seconds over the whole run (startup included); clients: all together. On 2 cores the " +
      "wall time of a saturated run is at least the CPU seconds of all roles over 2.",
    "",
    "| run | impl | broker MiB | sequencer MiB | largest client MiB | broker CPU s | sequencer CPU s | clients CPU s | CPU µs per delivery |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ...reported.map((r) => {
      const cpu = r.cpuSeconds.broker + r.cpuSeconds.sequencer + r.cpuSeconds.clients;
      const deliveries = r.clientLines.reduce((a, l) => a + l.delivered, 0);
      return `| ${r.key} | ${r.impl === "deno" ? "ours" : "seed"} | ${mib(r.memoryKiB.broker)} | ${
        mib(r.memoryKiB.sequencer)
      } | ${mib(r.memoryKiB.clientMax)} | ${r.cpuSeconds.broker.toFixed(2)} | ${
        r.cpuSeconds.sequencer.toFixed(2)
      } | ${r.cpuSeconds.clients.toFixed(2)} | ${
        deliveries > 0 ? ((cpu * 1e6) / deliveries).toFixed(1) : "–"
      } |`;
    }),
  );
  md.push("", "## All runs", "", ...RUN_HEADER, ...reported.map(runRow));
  const notes = reported.filter((r) => r.error !== undefined || r.notes.length > 0);
  if (notes.length > 0) {
    md.push("", "## Failures and notes", "");
    for (const r of notes) {
      if (r.error !== undefined) md.push(`- **${r.key}** failed: ${r.error}`);
      for (const note of r.notes) md.push(`- ${r.key}: ${note}`);
    }
  }
  for (const profile of profiles) md.push("", "## CPU profile", "", profileMarkdown(profile));
  return md.join("\n") + "\n";
}

// ---------------------------------------------------------------- chart

interface Series {
  name: string;
  color: string;
  dash?: string;
  points: [number, number | undefined][];
}

/** One panel: x = clients 2, 4, 8, 16 evenly spaced; y on a log scale. */
function panel(
  left: number,
  title: string,
  unit: string,
  series: Series[],
): string {
  const width = 400, height = 330, pad = { l: 70, r: 20, t: 70, b: 50 };
  const xs = [2, 4, 8, 16];
  const values = series.flatMap((s) => s.points.map((p) => p[1])).filter((v): v is number =>
    v !== undefined && v > 0
  );
  const out: string[] = [`<g transform="translate(${left},0)">`];
  out.push(
    `<text x="${
      width / 2
    }" y="22" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>`,
  );
  if (values.length === 0) {
    out.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text></g>`);
    return out.join("\n");
  }
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
  const plotW = width - pad.l - pad.r, plotH = height - pad.t - pad.b;
  const x = (n: number) => pad.l + (xs.indexOf(n) / (xs.length - 1)) * plotW;
  const y = (v: number) => pad.t + plotH - ((Math.log10(v) - lo) / (hi - lo)) * plotH;
  out.push(
    `<rect x="${pad.l}" y="${pad.t}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  for (let e = lo; e <= hi; e++) {
    const v = 10 ** e;
    const label = v >= 1 ? v.toLocaleString("en-US") : String(v);
    out.push(
      `<line x1="${pad.l}" x2="${pad.l + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${label}</text>`,
    );
  }
  for (const n of xs) {
    out.push(
      `<text x="${x(n)}" y="${pad.t + plotH + 18}" text-anchor="middle" font-size="11">${n}</text>`,
    );
  }
  out.push(
    `<text x="${pad.l + plotW / 2}" y="${
      height - 12
    }" text-anchor="middle" font-size="12">clients</text>`,
    `<text transform="translate(16,${
      pad.t + plotH / 2
    }) rotate(-90)" text-anchor="middle" font-size="12">${unit} (log)</text>`,
  );
  const dash = (s: Series) => s.dash ? ` stroke-dasharray="${s.dash}"` : "";
  series.forEach((s, i) => {
    // Lines join neighbouring measured points; a 0 (nothing delivered) sits
    // on the bottom edge as a hollow marker; a missing run leaves a gap.
    let segment: string[] = [];
    const flush = () => {
      if (segment.length > 1) {
        out.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash(s)} points="${
            segment.join(" ")
          }"/>`,
        );
      }
      segment = [];
    };
    for (const [n, v] of s.points) {
      if (v === undefined || v <= 0) {
        flush();
        if (v === 0) {
          const bottom = pad.t + plotH;
          out.push(
            `<circle cx="${
              x(n).toFixed(1)
            }" cy="${bottom}" r="4" fill="white" stroke="${s.color}"/>`,
            `<text x="${x(n).toFixed(1)}" y="${
              bottom - 8
            }" text-anchor="middle" font-size="9" fill="${s.color}">0</text>`,
          );
        }
        continue;
      }
      segment.push(`${x(n).toFixed(1)},${y(v).toFixed(1)}`);
      out.push(
        `<circle cx="${x(n).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.color}"/>`,
        `<text x="${x(n).toFixed(1)}" y="${
          (y(v) - 7).toFixed(1)
        }" text-anchor="middle" font-size="9" fill="${s.color}">${
          v >= 100 ? fmt(v) : v.toPrecision(2)
        }</text>`,
      );
    }
    flush();
    const ly = 40 + i * 14;
    out.push(
      `<line x1="${pad.l}" x2="${pad.l + 20}" y1="${ly - 4}" y2="${
        ly - 4
      }" stroke="${s.color}" stroke-width="2"${dash(s)}/>`,
      `<text x="${pad.l + 24}" y="${ly}" font-size="11">${s.name}</text>`,
    );
  });
  out.push("</g>");
  return out.join("\n");
}

/**
 * Renders the SVG chart: deliveries/s per client and p99 latency against
 * the number of clients.
 *
 * @param results Every run.
 * @returns The SVG document.
 */
export function renderSvg(results: RunResult[]): string {
  const xs = [2, 4, 8, 16];
  const pick = (impl: Implementation, group: RunGroup, n: number) =>
    find(
      results,
      impl,
      (r) => r.groups.includes(group) && r.clients === n && r.clientLines.length > 0,
    );
  const rate = (impl: Implementation): [number, number | undefined][] =>
    xs.map((n) => {
      const r = pick(impl, "clients", n);
      return [n, r && (r.ok || impl === "seed") ? r.perClient?.median : undefined];
    });
  const p99 = (group: RunGroup): [number, number | undefined][] =>
    xs.map((n) => {
      const r = pick("deno", group, n);
      return [n, r?.ok ? r.latency?.p99 : undefined];
    });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="820" height="330" viewBox="0 0 820 330" font-family="sans-serif">`,
    `<rect width="820" height="330" fill="white"/>`,
    panel(0, "Deliveries/s per client (32 B, max rate)", "deliveries/s", [
      { name: "ours (median client)", color: "#1f77b4", points: rate("deno") },
      {
        name: "seed design (pyzmq), until it stalled",
        color: "#ff7f0e",
        dash: "6 4",
        points: rate("seed"),
      },
    ]),
    panel(410, "p99 latency, worst client", "ms", [
      {
        name: "ours at 1,000 multicasts/s (after 1 s warm-up)",
        color: "#2ca02c",
        points: p99("latency-clients"),
      },
      {
        name: "ours at max rate (queueing)",
        color: "#d62728",
        dash: "6 4",
        points: p99("clients"),
      },
    ]),
    "</svg>",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------- main

function plan(scale: number, only: Set<string> | undefined, seed: boolean): RunSpec[] {
  const n = (count: number) => Math.max(1, Math.round(count * scale));
  const specs: RunSpec[] = [];
  const add = (spec: Omit<RunSpec, "key">, name: string) => {
    const groups = spec.groups.filter((g) => g === "warmup" || only === undefined || only.has(g));
    if (groups.length === 0) return;
    if (spec.impl === "seed" && !seed) return;
    specs.push({ ...spec, groups, key: `${name}-${spec.impl}` });
  };
  add({ groups: ["warmup"], impl: "deno", clients: 2, size: 32, total: 2000, rate: 0 }, "warmup");
  // A profile is of one run.
  const throughputRuns = Deno.env.get("BENCH_GROUP_CPU_PROF") ? 1 : THROUGHPUT_RUNS;
  for (let run = 1; run <= throughputRuns; run++) {
    for (const impl of ["deno", "seed"] as const) {
      add(
        { groups: ["throughput"], impl, clients: 4, size: 32, total: n(100_000), rate: 0 },
        run === 1 ? "throughput" : `throughput-${run}`,
      );
    }
  }
  for (const rate of [1000, 10_000]) {
    add(
      {
        groups: ["latency", ...(rate === 1000 ? ["latency-clients" as const] : [])],
        impl: "deno",
        clients: 4,
        size: 32,
        total: Math.max(2 * rate, Math.round(6 * rate * Math.min(1, scale))),
        rate,
      },
      `latency-${rate}`,
    );
  }
  for (const impl of ["deno", "seed"] as const) {
    for (const clients of [2, 4, 8, 16]) {
      add(
        {
          groups: clients === 4 ? ["clients", "sizes"] : ["clients"],
          impl,
          clients,
          size: 32,
          total: n(40_000),
          rate: 0,
        },
        `clients-${clients}`,
      );
    }
    for (const [size, total] of [[1024, 40_000], [65536, 4_000]] as const) {
      add({ groups: ["sizes"], impl, clients: 4, size, total: n(total), rate: 0 }, `size-${size}`);
    }
  }
  for (const clients of [2, 8, 16]) {
    add(
      {
        groups: ["latency-clients"],
        impl: "deno",
        clients,
        size: 32,
        total: Math.max(2000, Math.round(4000 * Math.min(1, scale))),
        rate: 1000,
      },
      `latency-1000-clients-${clients}`,
    );
  }
  return specs;
}

async function commandText(program: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(program, {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    return new TextDecoder().decode(out.success ? out.stdout : out.stderr).trim();
  } catch (error) {
    return `unavailable (${error instanceof Error ? error.message : error})`;
  }
}

async function seedAvailable(): Promise<string | undefined> {
  const check = await new Deno.Command(PYTHON, { args: ["-c", "import zmq"], stderr: "null" })
    .output().catch(() => undefined);
  if (check?.success) return undefined;
  console.error("bench:group: python3-zmq is missing: sh tasks/setup.sh test");
  const setup = await new Deno.Command("sh", { args: ["tasks/setup.sh", "test"], cwd: ROOT })
    .output().catch(() => undefined);
  if (setup?.success) return undefined;
  return "python3-zmq is not installed and tasks/setup.sh test could not install it";
}

async function meta(
  started: Date,
  scale: number,
  seconds: number,
  loadBefore: number,
  pyzmqProblem?: string,
): Promise<BenchMeta> {
  // Deno 2 reads /proc files other than /proc/self only under --allow-all: ask grep.
  const model = (await commandText("grep", ["-m1", "model name", "/proc/cpuinfo"]))
    .replace(/^model name\s*:\s*/, "");
  const cpus = `${navigator.hardwareConcurrency} CPUs`;
  const cpu = model === "" || model.startsWith("unavailable") ? cpus : `${model}, ${cpus}`;
  const head = await commandText("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = await commandText("git", [
    "status",
    "--porcelain",
    "ffi",
    "roles",
    "bench",
    "tasks",
  ]);
  return {
    date: started.toISOString(),
    cpu,
    deno: Deno.version.deno,
    libzmq: zmqVersion().join("."),
    pyzmq: pyzmqProblem ??
      await commandText(PYTHON, ["-c", "import zmq; print(zmq.__version__)"]),
    git: `commit ${head}${
      dirty === "" ? "" : " with uncommitted changes in ffi/, roles/, bench/ or tasks/"
    }`,
    scale,
    seconds,
    load: { before: loadBefore, after: loadAverage() },
  };
}

function findProfiles(): string[] {
  const role = Deno.env.get("BENCH_GROUP_CPU_PROF");
  if (role === undefined) return [];
  const dir = `${profileDir()}/${role}`;
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.name.endsWith(".cpuprofile"))
      .map((e) => `${dir}/${e.name}`)
      .sort((a, b) => Deno.statSync(b).mtime!.getTime() - Deno.statSync(a).mtime!.getTime())
      .slice(0, 1);
  } catch {
    return [];
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      scale: { type: "string", default: "1" },
      only: { type: "string" },
      "no-seed": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(
      "Usage: deno task bench:group [--scale F] [--only throughput,latency,clients,latency-clients,sizes] [--no-seed]\n" +
        "BENCH_GROUP_CPU_PROF=broker|sequencer|c1 profiles that role in the throughput run.",
    );
    Deno.exit(0);
  }
  const scale = Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0) {
    console.error(
      `bench:group: invalid --scale ${JSON.stringify(values.scale)}: expected a number > 0`,
    );
    Deno.exit(2);
  }
  const only = values.only === undefined ? undefined : new Set(values.only.split(","));
  const profiling = Deno.env.get("BENCH_GROUP_CPU_PROF") !== undefined;
  if (profiling) {
    try {
      Deno.removeSync(profileDir(), { recursive: true });
    } catch {
      // Nothing from an earlier run.
    }
  }
  const seedProblem = values["no-seed"] ? "not run (--no-seed)" : await seedAvailable();
  const began = performance.now();
  const startedAt = new Date();
  const loadBefore = loadAverage();
  const results: RunResult[] = [];
  const specs = plan(scale, only, seedProblem === undefined);
  for (const [i, spec] of specs.entries()) {
    console.error(
      `bench:group: [${i + 1}/${specs.length}] ${spec.key}: ${spec.clients} clients, ${
        fmt(spec.total)
      } × ${sizeName(spec.size)}, offered ${rateName(spec.rate)}`,
    );
    const result = await runOne(spec);
    results.push(result);
    console.error(
      `bench:group:   ${status(result)} in ${result.wallSeconds} s: ${
        fmt(result.perClient?.median)
      } deliveries/s per client (median), p99 ${ms(result.latency?.p99)} ms${
        result.error ? `; ${result.error}` : ""
      }`,
    );
  }
  const seconds = Math.round((performance.now() - began) / 1000);
  const info = await meta(startedAt, scale, seconds, loadBefore, seedProblem);
  const profiles = findProfiles().map((file) => summarizeProfile(file));
  const markdown = renderMarkdown(results, info, profiles);
  console.log(markdown);
  if (only === undefined && !profiling) {
    Deno.mkdirSync(OUT, { recursive: true });
    Deno.writeTextFileSync(
      `${OUT}group.json`,
      JSON.stringify({ meta: info, targets: TARGETS, runs: results }, null, 2) + "\n",
    );
    Deno.writeTextFileSync(`${OUT}group.md`, markdown);
    Deno.writeTextFileSync(`${OUT}group.svg`, renderSvg(results));
    console.error("bench:group: wrote bench/out/group.json, group.md and group.svg");
  } else {
    console.error("bench:group: a partial or profiled run: bench/out/ left as it was");
  }
}
