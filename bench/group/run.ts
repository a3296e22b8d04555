/**
 * One run of the group benchmark: a fresh broker, sequencer and clients on
 * fresh ports, either implementation (ours, or the seed's design in pyzmq
 * from `tests/peers/seed/`), sampled from `/proc` while it runs; and a
 * bench's runs one after the other.
 *
 * @module
 */

import {
  freeBasePort,
  ROLE_ENTRY,
  type RoleProcess,
  spawn,
  spawnDeno,
  stop,
} from "../../tasks/_processes.ts";
import { lastLines, PYTHON } from "../command.ts";
import { count, millis, rateName, runStatus, sizeName } from "../report/format.ts";
import { loadAverage, machineBusySeconds, ProcessSampler } from "../sampling.ts";
import { type RunSpec, WARMUP_SECONDS } from "./plan.ts";
import { profileFlags } from "./profile.ts";
import { resultOf, type RunResult } from "./result.ts";

const SEED = "tests/peers/seed/";
const CLIENT = "bench/group_client.ts";
/** Permissions of our clients. */
const CLIENT_PERMISSIONS = [
  "--allow-ffi",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
];
/** How often a run samples its processes' memory and CPU time. */
const SAMPLE_MS = 250;

/** The processes of one run, as they start. */
interface Roles {
  broker?: RoleProcess;
  sequencer?: RoleProcess;
  clients: RoleProcess[];
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
  return spawnDeno(role, ROLE_ENTRY[role], [...args, "--quiet"], {
    flags: profileFlags(spec, role),
  });
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
        ...["-id", id, "--base-port", String(port), "--count", String(count)],
        ...["--size", String(width), "--expect-deliveries", String(spec.total), "--idle-exit", "3"],
      ],
      false,
      true,
    );
  }
  return spawnDeno(`client ${id}`, CLIENT, [
    ...["--id", id, "--base-port", String(port), "--count", String(count)],
    ...["--size", String(spec.size), "--rate", String(spec.rate / spec.clients)],
    ...["--expect", String(spec.total), "--timeout", String(clientTimeout(spec))],
    ...["--warmup", String(spec.rate > 0 ? WARMUP_SECONDS : 0)],
  ], { permissions: CLIENT_PERMISSIONS, flags: profileFlags(spec, id), captureStdout: true });
}

/** Starts the broker, the sequencer and the clients (each its share of the multicasts). */
function startRoles(spec: RunSpec, roles: Roles): void {
  const port = freeBasePort();
  roles.broker = startBroker(spec, port);
  roles.sequencer = startSequencer(spec, port);
  const base = Math.floor(spec.total / spec.clients);
  for (let i = 1; i <= spec.clients; i++) {
    const count = base + (i <= spec.total % spec.clients ? 1 : 0);
    roles.clients.push(startClient(spec, port, `c${i}`, count));
  }
}

/**
 * Starts the run's processes and waits for the clients to end by
 * themselves; the broker or the sequencer must not end first.
 *
 * @returns Why the run failed, if it did.
 */
async function startAndWait(
  spec: RunSpec,
  roles: Roles,
  sampler: ProcessSampler,
): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    startRoles(spec, roles);
    const { broker, sequencer, clients } = roles as Required<Roles>;
    const limitMs = (clientTimeout(spec) + 30) * 1000;
    const outcome = await Promise.race([
      Promise.all(clients.map((c) => c.status)).then(() => "done"),
      broker.status.then(() => "broker"),
      sequencer.status.then(() => "sequencer"),
      new Promise<string>((resolve) => timer = setTimeout(() => resolve("timeout"), limitMs)),
    ]);
    await sampler.sample();
    if (outcome === "broker" || outcome === "sequencer") {
      const role = outcome === "broker" ? broker : sequencer;
      const status = await role.status;
      return `the ${role.name} exited early with ${status.code}: ${lastLines(role.stderr(), 3)}`;
    }
    if (outcome === "timeout") return `timed out after ${limitMs / 1000} s`;
    return undefined;
  } catch (error) {
    return `could not run: ${error instanceof Error ? error.message : error}`;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Stops the clients (if still running), takes a last sample, then stops
 * the sequencer and the broker.
 *
 * @returns The exit codes of the broker and the sequencer.
 */
async function stopRoles(
  roles: Roles,
  sampler: ProcessSampler,
): Promise<{ broker: number | null; sequencer: number | null }> {
  await sampler.stop();
  for (const client of roles.clients) await stop(client, 2000);
  await sampler.sample();
  const exit = { broker: null as number | null, sequencer: null as number | null };
  if (roles.sequencer) exit.sequencer = (await stop(roles.sequencer)).code;
  if (roles.broker) exit.broker = (await stop(roles.broker)).code;
  return exit;
}

/**
 * Runs one run to its end: every process stopped, every client's report read.
 *
 * @param spec The run.
 * @returns What it found.
 */
export async function runOne(spec: RunSpec): Promise<RunResult> {
  const began = performance.now();
  const loadAtStart = loadAverage(1);
  const busyAtStart = await machineBusySeconds();
  const roles: Roles = { clients: [] };
  const sampler = new ProcessSampler(() =>
    [roles.broker, roles.sequencer, ...roles.clients].filter((r): r is RoleProcess =>
      r !== undefined
    )
  );
  sampler.start(SAMPLE_MS);
  let error: string | undefined;
  let exit;
  try {
    error = await startAndWait(spec, roles, sampler);
  } finally {
    exit = await stopRoles(roles, sampler);
  }
  const clients = [];
  for (const client of roles.clients) {
    const status = await client.status;
    clients.push({
      name: client.name,
      exitCode: status.code,
      stdout: client.stdout(),
      stderr: client.stderr(),
      sampled: sampler.get(client.name),
    });
  }
  const wallSeconds = Math.round((performance.now() - began) / 100) / 10;
  const busySeconds = (await machineBusySeconds()) - busyAtStart;
  const sampled = {
    broker: roles.broker && sampler.get(roles.broker.name),
    sequencer: roles.sequencer && sampler.get(roles.sequencer.name),
  };
  return resultOf(spec, { error, clients, sampled, exit, wallSeconds, loadAtStart, busySeconds });
}

/**
 * Runs a bench's runs one after the other, printing each one's start and
 * outcome on stderr.
 *
 * @param specs The runs.
 * @returns What each found.
 */
export async function runAll(specs: RunSpec[]): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const [i, spec] of specs.entries()) {
    console.error(
      `bench:group: [${i + 1}/${specs.length}] ${spec.key}: ${spec.clients} clients, ${
        count(spec.total)
      } × ${sizeName(spec.size)}, offered ${rateName(spec.rate)}`,
    );
    const result = await runOne(spec);
    results.push(result);
    console.error(
      `bench:group:   ${runStatus(result)} in ${result.wallSeconds} s: ${
        count(result.perClient?.median)
      } deliveries/s per client (median), p99 ${millis(result.latency?.p99)} ms${
        result.error ? `; ${result.error}` : ""
      }`,
    );
  }
  return results;
}
