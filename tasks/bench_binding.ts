/**
 * `deno task bench:binding`: this project's Deno binding against libzmq from
 * C, pyzmq and zeromq.js, each as two separate processes over tcp loopback.
 *
 * Measures one-way throughput (PUSH/PULL, 32 B and 1 KiB messages, msg/s at
 * the receiver from its first to its last message) and round-trip latency
 * (REQ/REP, 32 B, p50 and p99 after a warm-up). Each measurement runs
 * `--runs` times (3 by default), never two at once, and the median is
 * reported. Prints one Markdown table with ratios and writes it to
 * `bench/out/binding.md` and `bench/out/binding.json`.
 *
 * Peers are installed and built here: `tasks/setup.sh bench` (libzmq3-dev,
 * gcc, python3-zmq), `gcc` for `bench/peers/zmq_peer.c`, and `zeromq@6` from
 * npm into `bench/out/node/`. A peer that cannot be had is reported as
 * unavailable, with the reason, instead of failing the run.
 *
 * ```sh
 * deno task bench:binding [--runs 3] [--scale 1] [--timeout 60]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Context, ZmqError, zmqVersion } from "../ffi/mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out/`;
const PEERS = `${ROOT}bench/peers/`;
const PYTHON = "/usr/bin/python3";
const FIRST_PORT = 5700;
/** The high-water mark every peer sets on every socket (libzmq's default). */
const HWM = 1000;

/** One implementation under test: how to start its peer for a mode. */
export interface Implementation {
  /** Short key used in the JSON output. */
  id: string;
  /** The row label in the table. */
  label: string;
  /** False when the peer could not be installed or built. */
  available: boolean;
  /** Why the peer is unavailable. */
  reason?: string;
  /** The version of the ZeroMQ library or binding, when known. */
  version?: string;
  /** The command line of the peer: program and arguments. */
  command(args: string[]): [string, string[]];
}

/** One kind of measurement. */
export interface Measurement {
  /** Key in the JSON output. */
  id: "thr_32" | "thr_1k" | "rtt_32";
  /** Column title. */
  title: string;
  /** The binding side's mode and the connecting side's mode. */
  modes: ["pull", "push"] | ["rep", "req"];
  /** Messages (or timed round trips). */
  count: number;
  /** Message size in bytes. */
  size: number;
}

/** The outcome of one run: the measuring peer's JSON, or why it failed. */
export type RunResult =
  | { ok: true; value: Record<string, number | string> }
  | { ok: false; error: string };

/** A live child process, killed on Ctrl-C. */
const live = new Set<Deno.ChildProcess>();

/**
 * The median of some numbers.
 *
 * @param values At least one number.
 * @returns The middle value (mean of the two middle ones for an even count).
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function run(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ ok: boolean; out: string }> {
  try {
    const result = await new Deno.Command(program, {
      args,
      cwd: options.cwd ?? ROOT,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      ok: result.success,
      out: (decoder.decode(result.stdout) + decoder.decode(result.stderr))
        .trim(),
    };
  } catch (error) {
    return {
      ok: false,
      out: error instanceof Error ? error.message : String(error),
    };
  }
}

function lastLines(text: string, count = 5): string {
  return text.split("\n").filter((line) => line.trim() !== "").slice(-count)
    .join(" | ");
}

async function setup(): Promise<void> {
  console.error("bench: sh tasks/setup.sh bench");
  const result = await run("sh", ["tasks/setup.sh", "bench"]);
  if (!result.ok) {
    console.error(
      `bench: setup.sh failed (peers that need it will be unavailable): ${lastLines(result.out)}`,
    );
  }
}

async function cPeer(): Promise<Implementation> {
  const binary = `${OUT}zmq_peer`;
  const build = await run("gcc", [
    "-O2",
    "-o",
    binary,
    "bench/peers/zmq_peer.c",
    "-lzmq",
  ]);
  const [major, minor, patch] = zmqVersion();
  return {
    id: "c",
    label: "C (libzmq)",
    available: build.ok,
    reason: build.ok ? undefined : `gcc failed: ${lastLines(build.out)}`,
    version: `libzmq ${major}.${minor}.${patch}`,
    command: (args) => [binary, args],
  };
}

async function pyzmqPeer(): Promise<Implementation> {
  const probe = await run(PYTHON, [
    "-c",
    "import zmq; print(zmq.__version__)",
  ]);
  return {
    id: "pyzmq",
    label: "pyzmq",
    available: probe.ok,
    reason: probe.ok
      ? undefined
      : `${PYTHON} cannot import zmq (apt-get install python3-zmq): ${lastLines(probe.out, 2)}`,
    version: probe.ok ? `pyzmq ${probe.out}` : undefined,
    command: (args) => [PYTHON, [`${PEERS}pyzmq_peer.py`, ...args]],
  };
}

async function zeromqjsPeer(): Promise<Implementation> {
  const prefix = `${OUT}node`;
  const manifest = `${prefix}/node_modules/zeromq/package.json`;
  const installedVersion = async (): Promise<string | undefined> => {
    try {
      const version = JSON.parse(await Deno.readTextFile(manifest)).version;
      return typeof version === "string" && version.startsWith("6.") ? version : undefined;
    } catch {
      return undefined;
    }
  };
  const unavailable = (reason: string): Implementation => ({
    id: "zeromqjs",
    label: "zeromq.js",
    available: false,
    reason,
    command: () => ["node", []],
  });
  const node = await run("node", ["--version"]);
  if (!node.ok) return unavailable(`node is missing: ${node.out}`);
  let version = await installedVersion();
  if (version === undefined) {
    console.error(`bench: npm install --prefix bench/out/node zeromq@6`);
    await Deno.mkdir(prefix, { recursive: true });
    const install = await run("npm", [
      "install",
      "--prefix",
      prefix,
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      "zeromq@6",
    ]);
    version = await installedVersion();
    if (!install.ok || version === undefined) {
      return unavailable(
        `npm install zeromq@6 failed: ${lastLines(install.out)}`,
      );
    }
  }
  // The native addon must load on this machine (prebuilt for linux-x64).
  const load = await run("node", [
    "-e",
    `require(${JSON.stringify(`${prefix}/node_modules/zeromq`)})`,
  ]);
  if (!load.ok) {
    return unavailable(
      `zeromq@${version} does not load: ${lastLines(load.out)}`,
    );
  }
  return {
    id: "zeromqjs",
    label: "zeromq.js",
    available: true,
    version: `zeromq.js ${version}, Node ${node.out}`,
    command: (args) => ["node", [`${PEERS}zeromqjs_peer.mjs`, ...args]],
  };
}

/**
 * The running Deno, for the Deno peers. On Linux the path ends in
 * " (deleted)" when the binary was reinstalled meanwhile; the new one is
 * then at the same path.
 */
function denoExecutable(): string {
  return Deno.execPath().replace(/ \(deleted\)$/, "");
}

function denoPeer(api: "await" | "try"): Implementation {
  return {
    id: `deno-${api}`,
    label: api === "await" ? "deno (await)" : "deno (try*)",
    available: true,
    version: `Deno ${Deno.version.deno}`,
    command: (args) => [denoExecutable(), [
      "run",
      "--allow-ffi",
      "--allow-env",
      "--allow-read",
      `${PEERS}deno_peer.ts`,
      ...args,
      `--api=${api}`,
    ]],
  };
}

let nextPort = FIRST_PORT;

/**
 * A free tcp port on 127.0.0.1 from 5700 up, a new one for every run. Probed
 * with a libzmq bind (this task has no --allow-net).
 */
function freePort(): number {
  using ctx = new Context();
  for (; nextPort < FIRST_PORT + 1000; nextPort++) {
    using probe = ctx.socket("PULL");
    probe.setOption("LINGER", 0);
    try {
      probe.bind(`tcp://127.0.0.1:${nextPort}`);
      return nextPort++;
    } catch (error) {
      if (!(error instanceof ZmqError && error.code === "EADDRINUSE")) {
        throw error;
      }
    }
  }
  throw new Error(`No free port in ${FIRST_PORT}..${FIRST_PORT + 999}`);
}

interface Finished {
  name: string;
  status: Deno.CommandStatus;
  stdout: string;
  stderr: string;
}

function spawn(
  impl: Implementation,
  args: string[],
): { child: Deno.ChildProcess; done: Promise<Finished> } {
  const [program, argv] = impl.command(args);
  const child = new Deno.Command(program, {
    args: argv,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  live.add(child);
  const decoder = new TextDecoder();
  const done = child.output().then((output) => {
    live.delete(child);
    return {
      name: args[0]!,
      status: {
        success: output.success,
        code: output.code,
        signal: output.signal,
      },
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  });
  return { child, done };
}

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // Already gone.
  }
}

function describeExit(finished: Finished): string {
  const how = finished.status.signal
    ? `was killed by ${finished.status.signal}`
    : `exited with ${finished.status.code}`;
  const detail = lastLines(finished.stderr + finished.stdout, 3);
  return `${finished.name} ${how}${detail ? `: ${detail}` : ""}`;
}

/**
 * Runs one measurement with two processes of one implementation: the
 * binding side first, then the connecting side; kills both after
 * `timeoutMs`, or the survivor soon after the other failed.
 */
async function measure(
  impl: Implementation,
  m: Measurement,
  timeoutMs: number,
): Promise<RunResult> {
  const endpoint = `tcp://127.0.0.1:${freePort()}`;
  const args = (
    mode: string,
  ) => [mode, endpoint, String(m.count), String(m.size)];
  let server: ReturnType<typeof spawn>;
  try {
    server = spawn(impl, args(m.modes[0]));
  } catch (error) {
    return { ok: false, error: `cannot start ${m.modes[0]}: ${error}` };
  }
  let client: ReturnType<typeof spawn>;
  try {
    client = spawn(impl, args(m.modes[1]));
  } catch (error) {
    kill(server.child);
    await server.done;
    return { ok: false, error: `cannot start ${m.modes[1]}: ${error}` };
  }
  const timedOut = new Set<string>();
  const timer = setTimeout(() => {
    for (const side of [server, client]) {
      timedOut.add(side === server ? m.modes[0] : m.modes[1]);
      kill(side.child);
    }
  }, timeoutMs);
  try {
    const first = await Promise.race([server.done, client.done]);
    const other = first.name === m.modes[0] ? client : server;
    if (!first.status.success) kill(other.child);
    const second = await other.done;
    if (timedOut.size > 0) {
      return {
        ok: false,
        error: `timed out after ${timeoutMs / 1000} s (killed ${
          [first, second].filter((f) => !f.status.success).map((f) => f.name)
            .join(" and ")
        })`,
      };
    }
    for (const finished of [first, second]) {
      if (!finished.status.success) {
        return { ok: false, error: describeExit(finished) };
      }
    }
    const measuring = [first, second].find((f) => f.name === "pull" || f.name === "req")!;
    const line = measuring.stdout.trim().split("\n").at(-1) ?? "";
    try {
      return { ok: true, value: JSON.parse(line) };
    } catch {
      return {
        ok: false,
        error: `${measuring.name} printed no JSON result: ${
          lastLines(measuring.stdout + measuring.stderr, 3)
        }`,
      };
    }
  } finally {
    clearTimeout(timer);
    kill(server.child);
    kill(client.child);
    await Promise.allSettled([server.done, client.done]);
  }
}

function formatRate(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M` : `${(value / 1e3).toFixed(0)} k`;
}

/** A ratio with a check mark against a target, if there is one. */
function formatRatio(
  ratio: number,
  target?: { atLeast?: number; below?: number; atMost?: number },
): string {
  const text = `${ratio.toFixed(2)}×`;
  if (target === undefined) return text;
  const met = (target.atLeast === undefined || ratio >= target.atLeast) &&
    (target.atMost === undefined || ratio <= target.atMost) &&
    (target.below === undefined || ratio < target.below);
  return `${text} ${met ? "✓" : "✗"}`;
}

type Cell = { median: number; runs: number[]; errors: string[] } | null;

/** Targets for ours ÷ theirs, by measurement column and peer id. */
const TARGETS: Record<
  string,
  Record<string, { atLeast?: number; below?: number; atMost?: number }>
> = {
  thr_32: {
    c: { atLeast: 0.6 },
    pyzmq: { atLeast: 2 },
    zeromqjs: { atLeast: 5 },
  },
  thr_1k: {
    c: { atLeast: 0.6 },
    pyzmq: { atLeast: 2 },
    zeromqjs: { atLeast: 5 },
  },
  rtt_p50: { c: { atMost: 1.3 }, pyzmq: { below: 1 }, zeromqjs: { below: 1 } },
};

function markdownTable(
  impls: Implementation[],
  cells: Map<string, Map<string, Cell>>,
): string {
  const columns = [
    { id: "thr_32", title: "32 B msg/s", format: formatRate },
    { id: "thr_1k", title: "1 KiB msg/s", format: formatRate },
    {
      id: "rtt_p50",
      title: "RTT p50 (µs)",
      format: (v: number) => v.toFixed(1),
    },
    {
      id: "rtt_p99",
      title: "RTT p99 (µs)",
      format: (v: number) => v.toFixed(1),
    },
  ];
  const cell = (impl: string, column: string): Cell => cells.get(impl)?.get(column) ?? null;
  const rows: string[][] = [];
  for (const impl of impls) {
    rows.push([
      impl.available ? impl.label : `${impl.label} (unavailable)`,
      ...columns.map(({ id, format }) => {
        const value = cell(impl.id, id);
        if (!impl.available) return "—";
        if (value === null) return "failed";
        const total = value.runs.length + value.errors.length;
        return value.errors.length === 0
          ? format(value.median)
          : `${format(value.median)} (${value.runs.length}/${total} runs)`;
      }),
    ]);
  }
  const ours = impls.filter((impl) => impl.id.startsWith("deno-"));
  const theirs = impls.filter((impl) => !impl.id.startsWith("deno-"));
  for (const mine of ours) {
    for (const other of theirs) {
      rows.push([
        `${mine.label} ÷ ${other.label}`,
        ...columns.map(({ id }) => {
          const a = cell(mine.id, id);
          const b = cell(other.id, id);
          if (a === null || b === null || b.median === 0) return "—";
          return formatRatio(a.median / b.median, TARGETS[id]?.[other.id]);
        }),
      ]);
    }
  }
  const header = ["implementation", ...columns.map((c) => c.title)];
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "3" },
      scale: { type: "string", default: "1" },
      timeout: { type: "string", default: "60" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task bench:binding [--runs 3] [--scale 1] [--timeout 60]\n" +
        "  --runs N     runs of each measurement; the median is reported\n" +
        "  --scale F    multiplies every message count (e.g. 0.1 for a quick check)\n" +
        "  --timeout S  seconds before a peer pair is killed",
    );
    return;
  }
  const runs = Math.max(1, Math.floor(Number(values.runs)));
  const scale = Number(values.scale);
  const timeoutMs = Number(values.timeout) * 1000;
  if (
    !Number.isFinite(scale) || scale <= 0 || !(timeoutMs > 0) || !(runs > 0)
  ) {
    throw new RangeError(
      "Bad arguments: --runs, --scale and --timeout take positive numbers",
    );
  }
  const sigint = () => {
    for (const child of live) kill(child);
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", sigint);

  await Deno.mkdir(OUT, { recursive: true });
  await setup();
  const impls: Implementation[] = [
    await cPeer(),
    await pyzmqPeer(),
    await zeromqjsPeer(),
    denoPeer("await"),
    denoPeer("try"),
  ];
  for (const impl of impls) {
    console.error(
      `bench: ${impl.label}: ${impl.available ? impl.version : `unavailable: ${impl.reason}`}`,
    );
  }
  const count = (n: number) => Math.max(2, Math.round(n * scale));
  const measurements: Measurement[] = [
    {
      id: "thr_32",
      title: "throughput 32 B",
      modes: ["pull", "push"],
      count: count(2_000_000),
      size: 32,
    },
    {
      id: "thr_1k",
      title: "throughput 1 KiB",
      modes: ["pull", "push"],
      count: count(500_000),
      size: 1024,
    },
    {
      id: "rtt_32",
      title: "round trip 32 B",
      modes: ["rep", "req"],
      count: count(20_000),
      size: 32,
    },
  ];

  const cells = new Map<string, Map<string, Cell>>();
  const raw: Record<string, Record<string, RunResult[]>> = {};
  const available = impls.filter((impl) => impl.available);
  const total = measurements.length * runs * available.length;
  let done = 0;
  const [loadBefore = 0] = Deno.loadavg();
  if (loadBefore > 0.5) {
    console.error(
      `bench: warning: the machine is busy (load average ${
        loadBefore.toFixed(2)
      } over 1 min); the numbers will be noisy`,
    );
  }
  const started = performance.now();
  for (const m of measurements) {
    const results = new Map<string, RunResult[]>();
    // Runs of the implementations alternate, so that a slow spell of the
    // machine does not fall on one implementation only.
    for (let r = 0; r < runs; r++) {
      for (const impl of available) {
        const result = await measure(impl, m, timeoutMs);
        results.set(impl.id, [...(results.get(impl.id) ?? []), result]);
        done++;
        const summary = !result.ok
          ? `FAILED: ${result.error}`
          : m.modes[0] === "pull"
          ? `${formatRate(Number(result.value.msgs_per_s))} msg/s`
          : `p50 ${Number(result.value.p50_us).toFixed(1)} µs, p99 ${
            Number(result.value.p99_us).toFixed(1)
          } µs`;
        console.error(
          `bench: [${done}/${total}] ${m.title}, ${impl.label}, run ${r + 1}: ${summary}`,
        );
      }
    }
    for (const impl of available) {
      const list = results.get(impl.id) ?? [];
      (raw[m.id] ??= {})[impl.id] = list;
      const values = list.filter((x) => x.ok);
      const errors = list.flatMap((x) => (x.ok ? [] : [x.error]));
      const byImpl = cells.get(impl.id) ?? new Map<string, Cell>();
      cells.set(impl.id, byImpl);
      const keys: [string, string][] = m.id === "rtt_32"
        ? [["rtt_p50", "p50_us"], ["rtt_p99", "p99_us"]]
        : [[m.id, "msgs_per_s"]];
      for (const [column, field] of keys) {
        const numbers = values.map((x) => Number(x.value[field]));
        byImpl.set(
          column,
          numbers.length === 0 ? null : { median: median(numbers), runs: numbers, errors },
        );
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const [loadAfter = 0] = Deno.loadavg();

  const table = markdownTable(impls, cells);
  const [m32, m1k, rtt] = measurements as [
    Measurement,
    Measurement,
    Measurement,
  ];
  const notes = [
    `Median of ${runs} run${runs === 1 ? "" : "s"} per cell; ` +
    `each run is two fresh processes of one implementation over tcp://127.0.0.1.`,
    `Throughput: PUSH → PULL, ${m32.count.toLocaleString("en")} × 32 B and ` +
    `${m1k.count.toLocaleString("en")} × 1 KiB, msg/s at the receiver from ` +
    `its first to its last message.`,
    `Round trip: REQ → REP echo, ${rtt.count.toLocaleString("en")} timed ` +
    `32 B round trips after 1,000 warm-up ones.`,
    `Every socket has SNDHWM = RCVHWM = ${HWM} (libzmq's default).`,
    `Ratios are ours ÷ theirs: higher is better for msg/s, lower for µs. ` +
    `✓/✗: target met or not (msg/s ≥ 0.6× C, ≥ 2× pyzmq, ≥ 5× zeromq.js; ` +
    `p50 ≤ 1.3× C and below pyzmq and zeromq.js).`,
    `"deno (await)": \`for await\` on PULL, \`await send()\` on PUSH and REQ; ` +
    `"deno (try*)": \`tryReceive()\` / \`trySend()\`, awaiting only when ` +
    `they come back empty-handed.`,
    `Versions: ${
      [
        ...new Set(impls.map((impl) =>
          impl.available ? impl.version : `${impl.label} unavailable (${impl.reason})`
        )),
      ].join("; ")
    }. Machine: ${navigator.hardwareConcurrency} CPUs, ${Deno.build.target}. ` +
    `Whole run: ${seconds.toFixed(0)} s; load average before ${loadBefore.toFixed(2)}, after ${
      loadAfter.toFixed(2)
    } (1 min).`,
  ];
  const failures = Object.entries(raw).flatMap(([measurement, byImpl]) =>
    Object.entries(byImpl).flatMap(([impl, list]) =>
      list.flatMap((result, i) =>
        result.ok ? [] : [`${measurement} ${impl} run ${i + 1}: ${result.error}`]
      )
    )
  );
  if (failures.length > 0) {
    notes.push(`Failed runs (left out of the medians): ${failures.join("; ")}.`);
  }
  const markdown = `# Binding benchmark\n\n${table}\n\n${
    notes.map((note) => `- ${note}`).join("\n")
  }\n`;
  console.log(`\n${table}\n\n${notes.map((note) => `- ${note}`).join("\n")}`);

  const json = {
    date: new Date().toISOString(),
    runs,
    statistic: `median of ${runs} runs`,
    hwm: HWM,
    seconds,
    loadAverage: { before: loadBefore, after: loadAfter },
    machine: {
      cpus: navigator.hardwareConcurrency,
      target: Deno.build.target,
    },
    measurements,
    implementations: impls.map(({ id, label, available, reason, version }) => ({
      id,
      label,
      available,
      reason,
      version,
    })),
    medians: Object.fromEntries(
      [...cells].map(([impl, byColumn]) => [
        impl,
        Object.fromEntries(
          [...byColumn].map(([column, cell]) => [column, cell?.median ?? null]),
        ),
      ]),
    ),
    runResults: raw,
    markdown,
  };
  await Deno.writeTextFile(
    `${OUT}binding.json`,
    JSON.stringify(json, null, 2) + "\n",
  );
  await Deno.writeTextFile(`${OUT}binding.md`, markdown);
  console.error(`bench: wrote bench/out/binding.md and bench/out/binding.json`);
  Deno.removeSignalListener("SIGINT", sigint);
}

if (import.meta.main) await main();
