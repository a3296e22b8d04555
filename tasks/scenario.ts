/**
 * Runs a scenario (a folder of client scripts) as separate processes:
 * broker, sequencer and one client per script; waits until every client has
 * delivered what the scripts say it must; stops the roles; reads the result
 * files and checks agreement, integrity and the direct messages with
 * `checkScenario()` (`scenario_check.ts`, no I/O).
 *
 * @module
 */

import { basename, join } from "node:path";
import { loadScript, type ScriptCommand } from "../roles/harness/script.ts";
import { freeBasePort, type RoleProcess, spawn, spawnRole, stop } from "./_processes.ts";
import { EtcdClient } from "../roles/ha/etcd.ts";
import { leader } from "../roles/ha/election.ts";
import { GroupKeys } from "../roles/ha/group_keys.ts";
import {
  checkScenario,
  type ClientResults,
  liveMulticasts,
  type ScenarioExpectations,
  scenarioExpectations,
} from "./scenario_check.ts";

/** Options of {@link runScenario}. */
export interface ScenarioOptions {
  /** The folder with one `<id>.txt` script per client. */
  scenario: string;
  /** Where the result files go (emptied first). */
  out: string;
  /** Multiplies every sleep. Default 1. */
  timeScale?: number;
  /** The base port; a free one when omitted. */
  basePort?: number;
  /** Seconds to wait for all deliveries before giving up. Default: the scripts' sleeps plus 60. */
  timeoutSeconds?: number;
  /** Copy the roles' logs to stderr. */
  echo?: boolean;
  /** Extra flags for every client; `{id}` in a flag stands for the client's id. */
  clientFlags?: string[];
  /**
   * More flags for one client, by its id, after `clientFlags`: for what `{id}` cannot give,
   * e.g. a `--metrics` port of its own. Our clients only (not `seedPeers`).
   */
  clientFlagsFor?: (id: string) => string[];
  /** Extra flags for the broker. */
  brokerFlags?: string[];
  /** Extra flags for the sequencer. */
  sequencerFlags?: string[];
  /**
   * Run the sequencer inside the broker's process (`run:broker --sequencer`,
   * given `sequencerFlags` too) instead of as its own.
   */
  sequencerInBroker?: boolean;
  /**
   * Start these clients (by id) with the seed's pyzmq client instead of ours,
   * and the broker and/or sequencer too ("broker", "sequencer").
   */
  seedPeers?: string[];
  /**
   * HA mode: every role finds the others through this etcd as `group`;
   * `brokers` brokers named b1, b2 ... (each on ports of its own, with
   * `brokerFlags`) and `sequencers` sequencers named s1, s2 ... (each with
   * its own `--log` in `out`, and `sequencerFlags`) run instead of one of
   * each, and one of each is active.
   */
  ha?: {
    etcd: string;
    group: string;
    sequencers: number;
    brokers: number;
    /** etcd's URL for one broker or sequencer (by name), if not `etcd`: e.g. through a proxy. */
    etcdFor?: (name: string) => string | undefined;
  };
  /** Runs beside the scenario, e.g. to kill and restart roles. */
  faults?: (control: ScenarioControl) => Promise<void>;
  /** Called with progress: deliveries so far per client. */
  onProgress?: (delivered: Map<string, number>, expected: number) => void;
  /** Awaited once the deliveries are in (or the run failed), before the roles are stopped. */
  beforeStop?: () => Promise<void>;
}

/** One client's line of the report. */
export interface ClientReport {
  /** The client's id. */
  id: string;
  /** Multicasts its script sends. */
  multicasts: number;
  /** Multicasts it delivered. */
  delivered: number;
  /** Direct messages it should receive. */
  directExpected: number;
  /** Direct messages it received. */
  directReceived: number;
  /** Its exit code. */
  exitCode: number;
  /** True if the scenario killed it on purpose. */
  killed: boolean;
}

/** What a scenario run found. */
export interface ScenarioReport {
  /** Per client. */
  clients: ClientReport[];
  /** Multicasts every client must deliver. */
  expected: number;
  /** Every violation found, in words; empty when the run is correct. */
  violations: string[];
  /** The agreed order (client c's `_tom` lines), when all agree. */
  order: string[];
  /** Seconds from the start of the clients to the last delivery. */
  seconds: number;
  /** Exit codes of the broker and the sequencer. */
  infrastructure: { broker: number; sequencer: number };
  /** The base port used. */
  basePort: number;
  /** Peak resident memory (VmHWM) of each role seen during the run, KiB. */
  peakMemoryKiB: Record<string, number>;
  /** HA mode: the last lines of each broker's and sequencer's log (for a failure's report). */
  haLogs: Record<string, string>;
}

/** What a fault script can do to a running scenario. */
export interface ScenarioControl {
  /** Deliveries a client has written so far. */
  delivered(id: string): number;
  /** Kills a role ("broker", "sequencer" or a client id) with SIGKILL and waits for it to die. */
  kill(role: string): Promise<void>;
  /**
   * Starts the broker (with --resume) or the sequencer (same flags, e.g. the
   * same --log) again; in HA mode, an HA sequencer by its name (s1, s2 ...).
   */
  restart(role: string): void;
  /** HA mode: the name of the active broker or sequencer now, as etcd says (b1, s2 ...). */
  active(role: "broker" | "sequencer"): Promise<string>;
  /** Freezes a role with SIGSTOP (as Ctrl-Z does), or lets it go on with SIGCONT. */
  signal(role: string, signal: "SIGSTOP" | "SIGCONT"): void;
}

const SEED_DIR = "tests/peers/seed";
const PYTHON = "/usr/bin/python3";

/**
 * The lines of a result file ([] if it does not exist yet), as the client wrote them: one
 * delivery a line, escaped (see `formatResultLine` in roles/harness/result_line.ts).
 */
export function readLines(path: string): string[] {
  try {
    const text = Deno.readTextFileSync(path);
    return text.length === 0 ? [] : text.replace(/\n$/, "").split("\n");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** How many lines a result file has (0 if it does not exist yet). */
export function countLines(path: string): number {
  try {
    const bytes = Deno.readFileSync(path);
    let count = 0;
    for (const byte of bytes) if (byte === 10) count++;
    return count;
  } catch {
    return 0;
  }
}

/**
 * Loads a scenario folder: one `<id>.txt` per client, each checked.
 *
 * @returns The scripts by client id, in id order.
 */
export async function loadScenario(
  dir: string,
): Promise<Map<string, ScriptCommand[]>> {
  const scripts = new Map<string, ScriptCommand[]>();
  const names: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isFile && entry.name.endsWith(".txt")) names.push(entry.name);
  }
  if (names.length === 0) {
    throw new Error(`Scenario ${dir} has no <id>.txt scripts`);
  }
  names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  for (const name of names) {
    const id = basename(name, ".txt");
    scripts.set(id, await loadScript(join(dir, name), id));
  }
  return scripts;
}

/** What starting a role needs: the options, the client ids and the base port. */
interface Launch {
  options: ScenarioOptions;
  ids: string[];
  basePort: number;
}

/** A scenario while it runs: its roles, and what happened to them so far. */
interface Run extends Launch {
  scripts: Map<string, ScriptCommand[]>;
  expectations: ScenarioExpectations;
  /** None in HA mode. */
  broker?: RoleProcess;
  /** Its own process; none when it runs inside the broker or in HA mode. */
  sequencer?: RoleProcess;
  /** HA mode: the brokers and the sequencers by name (b1, b2 ..., s1, s2 ...). */
  haRoles: Map<string, RoleProcess>;
  /** HA mode: each broker's base port, by name. */
  haPorts: Map<string, number>;
  /** HA mode: the processes killed on purpose, by name, for their logs. */
  haLogs: Map<string, RoleProcess>;
  clients: Map<string, RoleProcess>;
  /** When the clients were started, in `performance.now()` time. */
  started: number;
  /** The clients killed on purpose. */
  killed: Set<string>;
  /** Exit codes of the clients that have exited. */
  exited: Map<string, number>;
  /** Violations seen while running: failed fault script, failed client, timeout, exit codes. */
  violations: string[];
  peakMemoryKiB: Record<string, number>;
}

/** The result files of client `id` in `out`. */
export function resultPaths(out: string, id: string): { tom: string; uno: string; views: string } {
  return {
    tom: join(out, `test_result_${id}_tom.txt`),
    uno: join(out, `test_result_${id}_uno.txt`),
    views: join(out, `test_result_${id}_views.txt`),
  };
}

/** Removes a folder if it is there and makes it again, empty. */
function emptyFolder(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch {
    // Nothing to remove.
  }
  Deno.mkdirSync(path, { recursive: true });
}

/** Starts the broker (ours, or the seed's with `seedPeers`), expecting every client and the sequencer. */
function startBroker(launch: Launch, resume: boolean): RoleProcess {
  const { options } = launch;
  const echo = options.echo ?? false;
  const port = ["--base-port", String(launch.basePort)];
  const expect = String(launch.ids.length + 1);
  return options.seedPeers?.includes("broker")
    ? spawn("broker", PYTHON, [`${SEED_DIR}/broker.py`, "-nc", expect, ...port], echo)
    : spawnRole("broker", "broker", [
      ...["--expect", expect, ...port],
      ...(resume ? ["--resume"] : []),
      ...(options.brokerFlags ?? []),
      ...(options.sequencerInBroker ? ["--sequencer", ...options.sequencerFlags ?? []] : []),
    ], echo);
}

/** Starts the sequencer (ours, or the seed's with `seedPeers`). */
function startSequencer(launch: Launch): RoleProcess {
  const { options } = launch;
  const echo = options.echo ?? false;
  const port = ["--base-port", String(launch.basePort)];
  return options.seedPeers?.includes("sequencer")
    ? spawn("sequencer", PYTHON, [`${SEED_DIR}/main.py`, "-id", "sequencer", ...port], echo)
    : spawnRole("sequencer", "sequencer", [...port, ...(options.sequencerFlags ?? [])], echo);
}

/** HA mode: the flags that put a role (`name`: a broker's or sequencer's) in the group in etcd. */
function haFlags(launch: Launch, name?: string): string[] {
  const ha = launch.options.ha;
  if (ha === undefined) return [];
  const etcd = (name === undefined ? undefined : ha.etcdFor?.(name)) ?? ha.etcd;
  return ["--etcd", etcd, "--group", ha.group];
}

/**
 * HA mode: starts broker `b<i>` on its own ports (from `ports`, the same
 * when started again), or sequencer `s<i>` with its own log in `out`.
 */
function startHaRole(
  launch: Launch,
  name: string,
  ports: Map<string, number>,
): RoleProcess {
  const { options } = launch;
  if (name.startsWith("b")) {
    if (!ports.has(name)) ports.set(name, freeBasePort());
    return spawnRole(name, "broker", [
      ...["--base-port", String(ports.get(name)), ...haFlags(launch, name), "--name", name],
      ...["--expect", String(launch.ids.length + 1), ...(options.brokerFlags ?? [])],
    ], options.echo ?? false);
  }
  return spawnRole(name, "sequencer", [
    ...[...haFlags(launch, name), "--name", name],
    ...["--log", join(options.out, `${name}.log`), ...(options.sequencerFlags ?? [])],
  ], options.echo ?? false);
}

/** Starts client `id` on its script (ours, or the seed's with `seedPeers`). */
function startClient(launch: Launch, id: string): RoleProcess {
  const { options } = launch;
  const echo = options.echo ?? false;
  const script = join(options.scenario, `${id}.txt`);
  const common = [
    "--base-port",
    String(launch.basePort),
    "--time-scale",
    String(options.timeScale ?? 1),
  ];
  return options.seedPeers?.includes(id)
    ? spawn(`client ${id}`, PYTHON, [
      `${SEED_DIR}/main.py`,
      ...["-id", id, "-com", script, "-o", options.out],
      ...common,
    ], echo)
    : spawnRole(`client ${id}`, "client", [
      ...["--id", id, "--script", script, "--out", options.out],
      ...common,
      ...haFlags(launch),
      ...(options.clientFlags ?? []).map((flag) => flag.replaceAll("{id}", id)),
      ...(options.clientFlagsFor?.(id) ?? []),
    ], echo);
}

/** Starts the broker and the sequencer, then every client, and notes each client's exit. */
function startRun(
  options: ScenarioOptions,
  scripts: Map<string, ScriptCommand[]>,
  expectations: ScenarioExpectations,
): Run {
  const launch = {
    options,
    ids: [...scripts.keys()],
    basePort: options.basePort ?? freeBasePort(),
  };
  const broker = options.ha ? undefined : startBroker(launch, false);
  const sequencer = options.sequencerInBroker || options.ha ? undefined : startSequencer(launch);
  const haRoles = new Map<string, RoleProcess>();
  const haPorts = new Map<string, number>();
  const names = [
    ...Array.from({ length: options.ha?.brokers ?? 0 }, (_, i) => `b${i + 1}`),
    ...Array.from({ length: options.ha?.sequencers ?? 0 }, (_, i) => `s${i + 1}`),
  ];
  for (const name of names) haRoles.set(name, startHaRole(launch, name, haPorts));
  const started = performance.now();
  const clients = new Map(launch.ids.map((id) => [id, startClient(launch, id)]));
  const exited = new Map<string, number>();
  for (const [id, process] of clients) {
    void process.status.then((status) => exited.set(id, status.code));
  }
  return {
    ...launch,
    scripts,
    expectations,
    broker,
    sequencer,
    haRoles,
    haPorts,
    haLogs: new Map(),
    clients,
    started,
    killed: new Set(),
    exited,
    violations: [],
    peakMemoryKiB: {},
  };
}

/** Notes a role's peak memory (VmHWM) so far. */
function notePeak(run: Run, name: string, process: RoleProcess): void {
  run.peakMemoryKiB[name] = Math.max(run.peakMemoryKiB[name] ?? 0, peakMemory(process.child.pid));
}

/** What the fault script gets: deliveries so far, kills and restarts. */
function controlOf(run: Run): ScenarioControl {
  return {
    delivered: (id) => countLines(resultPaths(run.options.out, id).tom),
    async kill(role) {
      const process = roleProcess(run, role);
      notePeak(run, roleName(run, role), process);
      if (run.clients.has(role)) run.killed.add(role);
      if (run.haRoles.has(role)) {
        run.haLogs.set(`${role} (killed)`, process);
        run.haRoles.delete(role);
      }
      process.child.kill("SIGKILL");
      await process.status;
    },
    restart(role) {
      if (/^[bs][0-9]+$/.test(role) && run.options.ha) {
        run.haRoles.set(role, startHaRole(run, role, run.haPorts));
      } else if (role === "broker") run.broker = startBroker(run, true);
      else if (run.options.sequencerInBroker) {
        throw new Error("The sequencer runs inside the broker: restart the broker instead");
      } else run.sequencer = startSequencer(run);
    },
    signal(role, signal) {
      roleProcess(run, role).child.kill(signal);
    },
    async active(role) {
      const ha = run.options.ha;
      if (ha === undefined) throw new Error("active() is for HA mode");
      const keys = new GroupKeys(ha.group);
      const now = await leader(
        new EtcdClient(ha.etcd),
        role === "broker" ? keys.brokers : keys.sequencers,
      );
      if (now === undefined) throw new Error(`No ${role} of group ${ha.group} is active now`);
      return now.id;
    },
  };
}

/** How the report names a role's peak memory. */
function roleName(run: Run, role: string): string {
  return run.clients.has(role) ? `client ${role}` : role;
}

/** The process of a role ("broker", "sequencer" or a client id). */
function roleProcess(run: Run, role: string): RoleProcess {
  const process = role === "broker"
    ? run.broker
    : role === "sequencer"
    ? run.sequencer ?? run.broker
    : run.clients.get(role) ?? run.haRoles.get(role);
  if (process === undefined) throw new Error(`No role ${role} in this scenario`);
  return process;
}

/** How long the counts must stand still when a client was killed: a heartbeat and a recovery round, ms. */
const SETTLE_MS = 1500;

/** The clients not killed on purpose. */
function liveClients(run: Run): string[] {
  return run.ids.filter((id) => !run.killed.has(id));
}

/**
 * True when every live client has delivered every live multicast (all the same number: with a
 * killed client, some of its multicasts may be delivered too) and received its direct messages.
 */
function allDelivered(run: Run, delivered: Map<string, number>): boolean {
  const expected = liveMulticasts(run.scripts, run.killed);
  const counts = liveClients(run).map((id) => delivered.get(id)!);
  const directs = liveClients(run).every((id) =>
    countLines(resultPaths(run.options.out, id).uno) >=
      run.expectations.directsTo.get(id)!.length
  );
  return counts.every((n) => n >= expected && n === counts[0]) && directs;
}

/**
 * Waits until every live client delivered everything, or one failed, or time ran out (noted
 * in `run.violations`).
 *
 * @returns When the last delivery was seen, in `performance.now()` time.
 */
async function waitForDeliveries(run: Run, timeoutSeconds: number): Promise<number> {
  const { ids, options } = run;
  const deadline = performance.now() + timeoutSeconds * 1000;
  let lastDelivery = run.started;
  let deliveredSoFar = 0;
  while (true) {
    const delivered = new Map(ids.map((id) => [id, countLines(resultPaths(options.out, id).tom)]));
    options.onProgress?.(delivered, run.expectations.multicasts.length);
    const total = [...delivered.values()].reduce((a, b) => a + b, 0);
    if (total !== deliveredSoFar) {
      deliveredSoFar = total;
      lastDelivery = performance.now();
    }
    // With a client killed, how many of its multicasts were ordered is not
    // known: the counts must also have stood still for a while.
    const settled = run.killed.size === 0 || performance.now() - lastDelivery >= SETTLE_MS;
    if (allDelivered(run, delivered) && settled) break;
    const failed = [...run.exited].filter(([id, code]) => code !== 0 && !run.killed.has(id));
    if (failed.length > 0) {
      run.violations.push(
        ...failed.map(([id, code]) =>
          `client ${id} exited with code ${code}: ${lastLine(run.clients.get(id)!.stderr())}`
        ),
      );
      break;
    }
    if (performance.now() > deadline) {
      const expected = liveMulticasts(run.scripts, run.killed);
      run.violations.push(
        `timed out after ${timeoutSeconds} s: delivered ${
          liveClients(run).map((id) => `${id} ${delivered.get(id)}/${expected}`).join(", ")
        }`,
      );
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return lastDelivery;
}

/**
 * Stops the clients, then the sequencer and the broker, and notes every exit code that is not
 * 0 (but a killed client's, and a client's already noted).
 *
 * @returns The exit codes.
 */
async function stopRun(
  run: Run,
): Promise<{ clients: Map<string, number>; broker: number; sequencer: number }> {
  // VmHWM is the peak: read once, just before each role stops.
  for (const id of liveClients(run)) notePeak(run, `client ${id}`, run.clients.get(id)!);
  if (run.broker) notePeak(run, "broker", run.broker);
  if (run.sequencer) notePeak(run, "sequencer", run.sequencer);
  for (const [name, process] of run.haRoles) notePeak(run, name, process);
  const codes = new Map<string, number>();
  await Promise.all(
    [...run.clients].map(async ([id, process]) => codes.set(id, (await stop(process)).code)),
  );
  let sequencer = run.sequencer ? (await stop(run.sequencer)).code : 0;
  // HA mode: the sequencers together, then the brokers together.
  const haCodes = new Map<string, number>();
  for (const kind of ["s", "b"]) {
    const stopping = [...run.haRoles].filter(([name]) => name.startsWith(kind));
    await Promise.all(
      stopping.map(async ([name, process]) => haCodes.set(name, (await stop(process)).code)),
    );
  }
  for (const [name, code] of haCodes) {
    const process = run.haRoles.get(name)!;
    if (code !== 0) {
      run.violations.push(
        `${name} exited with code ${code}: ${lastLine(process.stderr())}`,
      );
      sequencer = code;
    }
  }
  const broker = run.broker ? (await stop(run.broker)).code : 0;
  const { violations } = run;
  for (const [id, code] of codes) {
    if (run.killed.has(id)) continue;
    if (code !== 0 && !violations.some((v) => v.startsWith(`client ${id} exited`))) {
      violations.push(
        `client ${id} exited with code ${code}: ${lastLine(run.clients.get(id)!.stderr())}`,
      );
    }
  }
  if (sequencer !== 0) {
    violations.push(
      `the sequencer exited with code ${sequencer}: ${lastLine(run.sequencer?.stderr() ?? "")}`,
    );
  }
  if (broker !== 0) {
    violations.push(`the broker exited with code ${broker}: ${lastLine(run.broker!.stderr())}`);
  }
  return { clients: codes, broker, sequencer };
}

/** Every client's result files, read as lines. */
function readResults(out: string, ids: string[]): Map<string, ClientResults> {
  return new Map(ids.map((id) => {
    const paths = resultPaths(out, id);
    return [id, {
      tom: readLines(paths.tom),
      uno: readLines(paths.uno),
      views: readLines(paths.views),
    }];
  }));
}

/**
 * Runs a scenario end to end and checks it: starts the roles, waits until every client has
 * delivered what the scripts say (or one fails, or time runs out), runs `faults` beside it,
 * stops the roles, and checks the result files with {@linkcode checkScenario}.
 *
 * @param options The scenario, output folder and time scale.
 * @returns The report; `violations` is empty when everything held.
 */
export async function runScenario(
  options: ScenarioOptions,
): Promise<ScenarioReport> {
  const scripts = await loadScenario(options.scenario);
  emptyFolder(options.out);
  const expectations = scenarioExpectations(scripts, options.scenario);
  const timeoutSeconds = options.timeoutSeconds ??
    expectations.sleepSeconds * (options.timeScale ?? 1) + 60;

  const run = startRun(options, scripts, expectations);
  const faults = options.faults?.(controlOf(run)).catch((error) => {
    run.violations.push(
      `the fault script failed: ${error instanceof Error ? error.message : error}`,
    );
  });
  const lastDelivery = await waitForDeliveries(run, timeoutSeconds);
  await faults;
  await options.beforeStop?.();
  const codes = await stopRun(run);

  const check = checkScenario({
    scripts,
    results: readResults(options.out, run.ids),
    killed: run.killed,
  });
  return {
    clients: check.clients.map((c) => ({
      id: c.id,
      multicasts: c.multicasts,
      delivered: c.delivered,
      directExpected: c.directExpected,
      directReceived: c.directReceived,
      exitCode: codes.clients.get(c.id) ?? -1,
      killed: c.killed,
    })),
    expected: check.expected,
    violations: [...run.violations, ...check.violations],
    order: check.order,
    seconds: (lastDelivery - run.started) / 1000,
    infrastructure: { broker: codes.broker, sequencer: codes.sequencer },
    basePort: run.basePort,
    peakMemoryKiB: run.peakMemoryKiB,
    haLogs: Object.fromEntries(
      [...run.haLogs, ...run.haRoles].map(([name, process]) => [name, tail(process.stderr(), 40)]),
    ),
  };
}

/**
 * The peak resident memory of a process in KiB (VmHWM), 0 where unknown.
 * Read through `cat`: Deno lets a program read /proc/<pid> only with
 * --allow-all, and the tasks run with --allow-run instead.
 */
export function peakMemory(pid: number): number {
  try {
    const { stdout } = new Deno.Command("cat", {
      args: [`/proc/${pid}/status`],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync();
    return Number(/VmHWM:\s+(\d+) kB/.exec(new TextDecoder().decode(stdout))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The last `lines` lines of a log. */
function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1] ?? "";
}

/** Renders the report as a table and a verdict. */
export function formatReport(report: ScenarioReport): string {
  const rows = [
    "| client | multicasts sent | delivered | direct received | exit |",
    "|---|---:|---:|---:|---:|",
    ...report.clients.map((c) =>
      `| ${c.id} | ${c.multicasts} | ${c.delivered}/${report.expected} | ${c.directReceived}/${c.directExpected} | ${c.exitCode} |`
    ),
  ];
  const killed = report.clients.filter((c) => c.killed).map((c) => c.id);
  const live = report.clients.filter((c) => !c.killed);
  const agreed = live[0]?.delivered ?? 0;
  const verdict = report.violations.length > 0
    ? `FAILED:\n${report.violations.map((v) => `  - ${v}`).join("\n")}`
    : killed.length === 0
    ? `OK: all ${live.length} clients delivered the same ${agreed} multicasts in the same order, each exactly once; every direct message arrived once (${
      report.seconds.toFixed(2)
    } s)`
    : `OK: the ${live.length} live clients delivered the same ${agreed} multicasts in the same order, each exactly once ` +
      `(all ${report.expected} of the live clients, and what ${
        killed.join(", ")
      } sent before it was killed); ` +
      `every direct message between live clients arrived once (${report.seconds.toFixed(2)} s)`;
  return `${rows.join("\n")}\n\n${verdict}`;
}
