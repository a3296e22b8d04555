/**
 * Runs a scenario (a folder of client scripts) as separate processes:
 * broker, sequencer and one client per script; waits until every client has
 * delivered what the scripts say it must; stops the roles; and checks
 * agreement, integrity and the direct messages.
 *
 * @module
 */

import { basename, join } from "node:path";
import { formatResultLine, parseResultLine } from "../roles/harness/result_line.ts";
import { countMulticasts, loadScript, type ScriptCommand } from "../roles/harness/script.ts";
import { scenarioPayload } from "../roles/harness/script.ts";
import { freeBasePort, type RoleProcess, spawn, spawnRole, stop } from "./_processes.ts";

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
  /** Extra flags for the broker. */
  brokerFlags?: string[];
  /** Extra flags for the sequencer. */
  sequencerFlags?: string[];
  /**
   * Start these clients (by id) with the seed's pyzmq client instead of ours,
   * and the broker and/or sequencer too ("broker", "sequencer").
   */
  seedPeers?: string[];
  /** Runs beside the scenario, e.g. to kill and restart roles. */
  faults?: (control: ScenarioControl) => Promise<void>;
  /** Called with progress: deliveries so far per client. */
  onProgress?: (delivered: Map<string, number>, expected: number) => void;
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
}

/** What a fault script can do to a running scenario. */
export interface ScenarioControl {
  /** Deliveries a client has written so far. */
  delivered(id: string): number;
  /** Kills a role ("broker", "sequencer" or a client id) with SIGKILL and waits for it to die. */
  kill(role: string): Promise<void>;
  /** Starts the broker (with --resume) or the sequencer (same flags, e.g. the same --log) again. */
  restart(role: "broker" | "sequencer"): void;
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

/** The result-file line a client writes for a scenario payload that `sender` sent. */
function expectedLine(sender: string, text: string): string {
  return new TextDecoder().decode(
    formatResultLine(new TextEncoder().encode(scenarioPayload(sender, text)), sender),
  );
}

/** Who sent the delivery a result-file line records. */
function lineSender(line: string): string {
  return parseResultLine(line).sender;
}

function multiset(items: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/**
 * Compares what was sent (`a`) with what arrived (`b`); items for which
 * `optional` holds may arrive fewer times (a killed sender), never more.
 */
function sameMultiset(
  a: Map<string, number>,
  b: Map<string, number>,
  optional: (item: string) => boolean = () => false,
): string | null {
  for (const [item, count] of a) {
    const other = b.get(item) ?? 0;
    if (other > count || (other < count && !optional(item))) {
      return `${JSON.stringify(item)} ${other} times instead of ${count}`;
    }
  }
  for (const [item, count] of b) {
    if (!a.has(item)) return `${JSON.stringify(item)} ${count} times, never sent`;
  }
  return null;
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

/**
 * Runs a scenario end to end and checks it.
 *
 * @param options The scenario, output folder and time scale.
 * @returns The report; `violations` is empty when everything held.
 */
export async function runScenario(
  options: ScenarioOptions,
): Promise<ScenarioReport> {
  const scripts = await loadScenario(options.scenario);
  const ids = [...scripts.keys()];
  const timeScale = options.timeScale ?? 1;
  const basePort = options.basePort ?? freeBasePort();
  const seed = new Set(options.seedPeers ?? []);
  const echo = options.echo ?? false;
  try {
    Deno.removeSync(options.out, { recursive: true });
  } catch {
    // Nothing to remove.
  }
  Deno.mkdirSync(options.out, { recursive: true });

  const allMulticasts: string[] = [];
  const directsTo = new Map<string, string[]>(ids.map((id) => [id, []]));
  let sleepSeconds = 0;
  for (const [id, commands] of scripts) {
    let total = 0;
    for (const command of commands) {
      if (command.kind === "multicast") {
        allMulticasts.push(expectedLine(id, command.text));
      } else if (command.kind === "direct") {
        const list = directsTo.get(command.to);
        if (list === undefined) {
          throw new Error(
            `Scenario ${options.scenario}: ${id}.txt:${command.line} sends to "${command.to}", which has no script`,
          );
        }
        list.push(expectedLine(id, command.text));
      } else total += command.seconds;
    }
    sleepSeconds = Math.max(sleepSeconds, total);
  }
  const expected = allMulticasts.length;
  const timeoutSeconds = options.timeoutSeconds ??
    sleepSeconds * timeScale + 60;

  const port = ["--base-port", String(basePort)];
  const startBroker = (resume: boolean) =>
    seed.has("broker")
      ? spawn(
        "broker",
        PYTHON,
        [`${SEED_DIR}/broker.py`, "-nc", String(ids.length + 1), ...port],
        echo,
      )
      : spawnRole("broker", "broker", [
        "--expect",
        String(ids.length + 1),
        ...port,
        ...(resume ? ["--resume"] : []),
        ...(options.brokerFlags ?? []),
      ], echo);
  const startSequencer = () =>
    seed.has("sequencer")
      ? spawn("sequencer", PYTHON, [`${SEED_DIR}/main.py`, "-id", "sequencer", ...port], echo)
      : spawnRole("sequencer", "sequencer", [...port, ...(options.sequencerFlags ?? [])], echo);
  let broker = startBroker(false);
  let sequencer = startSequencer();
  const clients = new Map<string, RoleProcess>();
  const started = performance.now();
  for (const id of ids) {
    const script = join(options.scenario, `${id}.txt`);
    const common = [...port, "--time-scale", String(timeScale)];
    clients.set(
      id,
      seed.has(id)
        ? spawn(`client ${id}`, PYTHON, [
          `${SEED_DIR}/main.py`,
          ...["-id", id, "-com", script, "-o", options.out],
          ...common,
        ], echo)
        : spawnRole(`client ${id}`, "client", [
          ...["--id", id, "--script", script, "--out", options.out],
          ...common,
          ...(options.clientFlags ?? []).map((flag) => flag.replaceAll("{id}", id)),
        ], echo),
    );
  }

  const violations: string[] = [];
  const tomPath = (id: string) => join(options.out, `test_result_${id}_tom.txt`);
  const unoPath = (id: string) => join(options.out, `test_result_${id}_uno.txt`);
  const deadline = performance.now() + timeoutSeconds * 1000;
  const killed = new Set<string>();
  const peakMemoryKiB: Record<string, number> = {};
  const notePeak = (name: string, process: RoleProcess) => {
    peakMemoryKiB[name] = Math.max(peakMemoryKiB[name] ?? 0, peakMemory(process.child.pid));
  };
  const control: ScenarioControl = {
    delivered: (id) => countLines(tomPath(id)),
    async kill(role) {
      const process = role === "broker"
        ? broker
        : role === "sequencer"
        ? sequencer
        : clients.get(role);
      if (process === undefined) throw new Error(`No role ${role} to kill`);
      notePeak(role === "broker" || role === "sequencer" ? role : `client ${role}`, process);
      if (role !== "broker" && role !== "sequencer") killed.add(role);
      process.child.kill("SIGKILL");
      await process.status;
    },
    restart(role) {
      if (role === "broker") broker = startBroker(true);
      else sequencer = startSequencer();
    },
  };
  const faults = options.faults?.(control).catch((error) => {
    violations.push(`the fault script failed: ${error instanceof Error ? error.message : error}`);
  });
  let lastDelivery = started;
  let deliveredSoFar = 0;
  const exited = new Map<string, number>();
  for (const [id, process] of clients) {
    void process.status.then((status) => exited.set(id, status.code));
  }
  // Wait until every live client delivered everything (or failed, or time ran out).
  const live = () => ids.filter((id) => !killed.has(id));
  const expectedOf = () =>
    ids.reduce((sum, id) => killed.has(id) ? sum : sum + countMulticasts(scripts.get(id)!), 0);
  while (true) {
    const delivered = new Map(ids.map((id) => [id, countLines(tomPath(id))]));
    options.onProgress?.(delivered, expected);
    const total = [...delivered.values()].reduce((a, b) => a + b, 0);
    if (total !== deliveredSoFar) {
      deliveredSoFar = total;
      lastDelivery = performance.now();
    }
    const counts = live().map((id) => delivered.get(id)!);
    const directs = live().every((id) => countLines(unoPath(id)) >= directsTo.get(id)!.length);
    // With a killed client, some of its multicasts may be delivered too: all live ones agree on how many.
    if (counts.every((n) => n >= expectedOf() && n === counts[0]) && directs) break;
    const failed = [...exited].filter(([id, code]) => code !== 0 && !killed.has(id));
    if (failed.length > 0) {
      violations.push(
        ...failed.map(([id, code]) =>
          `client ${id} exited with code ${code}: ${lastLine(clients.get(id)!.stderr())}`
        ),
      );
      break;
    }
    if (performance.now() > deadline) {
      violations.push(
        `timed out after ${timeoutSeconds} s: delivered ${
          live().map((id) => `${id} ${delivered.get(id)}/${expectedOf()}`).join(", ")
        }`,
      );
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await faults;
  const seconds = (lastDelivery - started) / 1000;

  // VmHWM is the peak: read once, just before each role stops.
  for (const id of live()) notePeak(`client ${id}`, clients.get(id)!);
  notePeak("broker", broker);
  notePeak("sequencer", sequencer);
  // Stop the clients, then the sequencer and the broker; each must exit 0.
  const codes = new Map<string, number>();
  await Promise.all(
    [...clients].map(async ([id, process]) => codes.set(id, (await stop(process)).code)),
  );
  const sequencerCode = (await stop(sequencer)).code;
  const brokerCode = (await stop(broker)).code;
  for (const [id, code] of codes) {
    if (killed.has(id)) continue;
    if (code !== 0 && !violations.some((v) => v.startsWith(`client ${id} exited`))) {
      violations.push(
        `client ${id} exited with code ${code}: ${lastLine(clients.get(id)!.stderr())}`,
      );
    }
  }
  if (sequencerCode !== 0) {
    violations.push(
      `the sequencer exited with code ${sequencerCode}: ${lastLine(sequencer.stderr())}`,
    );
  }
  if (brokerCode !== 0) {
    violations.push(`the broker exited with code ${brokerCode}: ${lastLine(broker.stderr())}`);
  }

  // Agreement, integrity, direct messages. A killed client's file must be
  // a prefix of the agreed order; its multicasts may be missing, never doubled.
  const orders = new Map(ids.map((id) => [id, readLines(tomPath(id))]));
  const referenceId = live()[0] ?? ids[0]!;
  const reference = orders.get(referenceId)!;
  for (const id of ids) {
    if (id === referenceId) continue;
    const order = orders.get(id)!;
    const at = order.findIndex((line, i) => line !== reference[i]);
    const lengthDiffers = killed.has(id)
      ? order.length > reference.length
      : order.length !== reference.length;
    if (at >= 0 || lengthDiffers) {
      const i = at >= 0 ? at : Math.min(order.length, reference.length);
      violations.push(
        `agreement: ${id} differs from ${referenceId} at delivery ${i + 1}: ${
          JSON.stringify(order[i])
        } vs ${JSON.stringify(reference[i])}`,
      );
    }
  }
  const fromKilled = (line: string) => killed.has(lineSender(line));
  for (const id of live()) {
    const wrong = sameMultiset(multiset(allMulticasts), multiset(orders.get(id)!), fromKilled);
    if (wrong !== null) violations.push(`integrity: ${id} delivered ${wrong}`);
    const directWrong = sameMultiset(
      multiset(directsTo.get(id)!),
      multiset(readLines(unoPath(id))),
      fromKilled,
    );
    if (directWrong !== null) violations.push(`direct messages: ${id} received ${directWrong}`);
  }
  return {
    clients: ids.map((id) => ({
      id,
      multicasts: scripts.get(id)!.filter((c) => c.kind === "multicast").length,
      delivered: orders.get(id)!.length,
      directExpected: directsTo.get(id)!.length,
      directReceived: readLines(unoPath(id)).length,
      exitCode: codes.get(id) ?? -1,
      killed: killed.has(id),
    })),
    expected: expectedOf(),
    violations,
    order: reference,
    seconds,
    infrastructure: { broker: brokerCode, sequencer: sequencerCode },
    basePort,
    peakMemoryKiB,
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
