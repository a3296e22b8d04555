/**
 * One run of the group benchmark: a fresh broker, sequencer and clients on
 * fresh ports, any implementation (ours, the seed's design in pyzmq from
 * `tests/peers/seed/`, or NATS JetStream: a fresh `nats-server -js` with its
 * own store, the stream's creator and node clients, see `jetstream.ts`),
 * sampled from `/proc` while it runs; and a bench's runs one after the
 * other. A run with frozen clients freezes each with SIGSTOP right after
 * its first delivery and lets them all go on with SIGCONT once the other
 * clients are done.
 *
 * @module
 */

import { join } from "node:path";
import {
  freeBasePort,
  kill,
  ROLE_ENTRY,
  type RoleProcess,
  spawn,
  spawnDeno,
  stop,
} from "../../tasks/_processes.ts";
import { lastLines, PYTHON } from "../command.ts";
import { catchUpLine, count, millis, rateName, runStatus, sizeName } from "../report/format.ts";
import { loadAverage, machineBusySeconds, ProcessSampler } from "../sampling.ts";
import { type RunSpec, WARMUP_SECONDS } from "./plan.ts";
import { profileFlags } from "./profile.ts";
import { type ClientReport, resultOf, type RunResult } from "./result.ts";
import { FIRST_DELIVERY_MARK } from "../group_client.ts";
import {
  clientArgs as jetstreamClientArgs,
  type JetStreamProbe,
  SERVER_READY,
  serverArgs,
  STREAM_READY,
  streamArgs,
} from "./jetstream.ts";

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

/** How often a run looks for a frozen client's first delivery, ms. */
const FIRST_DELIVERY_POLL_MS = 2;

/** How long nats-server and the stream's creator may take to be ready, ms. */
const JETSTREAM_READY_MS = 15_000;

/** A client to freeze: its process, and when it got SIGSTOP and SIGCONT (0 = not yet). */
interface Freeze {
  process: RoleProcess;
  stoppedAt: number;
  continuedAt: number;
}

/** The processes of one run, as they start. */
interface Roles {
  /** Ours or the seed's broker; JetStream's nats-server. */
  broker?: RoleProcess;
  /** Ours or the seed's sequencer (JetStream has none: the server orders). */
  sequencer?: RoleProcess;
  /** JetStream's stream creator and start barrier (bench/peers/jetstream_peer.mjs). */
  helper?: RoleProcess;
  /** Every client: those that multicast, then the frozen ones. */
  clients: RoleProcess[];
  /** The frozen clients. */
  freezes: Freeze[];
  /** A temporary directory for the sequencer's --log, or JetStream's store. */
  logDir?: string;
}

/** Where JetStream's programs are (set by {@link runAll} from the probe). */
let natsServer = "nats-server";

/** The clock the clients share (bench/group_client.ts): ms since the epoch. */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** The broker; with `inBroker`, the sequencer inside it too (its flags given to the broker). */
function startBroker(spec: RunSpec, port: number, logDir?: string): RoleProcess {
  const participants = spec.clients + (spec.frozen ?? 0) + 1;
  const args = ["--expect", String(participants), "--base-port", String(port)];
  if (spec.impl === "seed") {
    return spawn("seed broker", PYTHON, [`${SEED}broker.py`, "-nc", args[1]!, ...args.slice(2)]);
  }
  if (spec.inBroker) args.push("--sequencer", ...sequencerFlags(spec, logDir));
  return startDenoRole(spec, "broker", args);
}

function startSequencer(spec: RunSpec, port: number, logDir?: string): RoleProcess {
  const args = ["--base-port", String(port)];
  if (spec.impl === "seed") {
    return spawn("seed sequencer", PYTHON, [`${SEED}main.py`, "-id", "sequencer", ...args]);
  }
  return startDenoRole(spec, "sequencer", [...args, ...sequencerFlags(spec, logDir)]);
}

/** Our sequencer's flags for a run: its --log in `logDir`, its --evict-after. */
function sequencerFlags(spec: RunSpec, logDir?: string): string[] {
  const args: string[] = [];
  if (logDir !== undefined) args.push("--log", join(logDir, "order.log"));
  if (spec.sequencer?.evictAfterSeconds !== undefined) {
    args.push("--evict-after", String(spec.sequencer.evictAfterSeconds));
  }
  return args;
}

/**
 * Our broker or sequencer, quiet (or logging JSON, for its counters at the
 * end, when the run reads them), under `--cpu-prof` when this run profiles it.
 */
function startDenoRole(
  spec: RunSpec,
  role: "broker" | "sequencer",
  args: string[],
): RoleProcess {
  const logging = readsCounters(spec) ? ["--log-format", "json"] : ["--quiet"];
  return spawnDeno(role, ROLE_ENTRY[role], [...args, ...logging], {
    flags: profileFlags(spec, role),
  });
}

/** Whether a run reads the broker's and the sequencer's counters (the frozen runs do). */
function readsCounters(spec: RunSpec): boolean {
  return spec.impl === "deno" && spec.groups.includes("frozen");
}

/** Seconds a client may take, from its start (a frozen one's catch-up counts twice). */
function clientTimeout(spec: RunSpec): number {
  const clients = spec.clients + 2 * (spec.frozen ?? 0);
  const work = spec.rate > 0 ? spec.total / spec.rate : (spec.total * clients) / 25_000;
  return Math.ceil(30 + work);
}

function startClient(
  spec: RunSpec,
  port: number,
  id: string,
  count: number,
  frozen = false,
): RoleProcess {
  if (spec.impl === "jetstream") {
    const args = jetstreamClientArgs(spec, natsUrl(port), id, count, clientTimeout(spec));
    return spawn(`client ${id}`, "node", args, false, true);
  }
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
    ...(frozen ? ["--mark-first-delivery"] : []),
    ...(spec.oneByOne ? ["--one-by-one"] : []),
  ], { permissions: CLIENT_PERMISSIONS, flags: profileFlags(spec, id), captureStdout: true });
}

function natsUrl(port: number): string {
  return `nats://127.0.0.1:${port}`;
}

/**
 * Waits until a process has printed `text` (on stdout, or stderr), polling.
 *
 * @throws If it exits first, or after `ms`.
 */
async function printed(
  process: RoleProcess,
  text: string,
  where: "stdout" | "stderr",
  ms: number,
): Promise<void> {
  let exited = false;
  void process.status.then(() => exited = true);
  const deadline = performance.now() + ms;
  while (!process[where]().includes(text)) {
    if (exited) {
      const status = await process.status;
      throw new Error(
        `the ${process.name} exited with ${status.code} before "${text}": ${
          lastLines(process.stderr(), 3)
        }`,
      );
    }
    if (performance.now() > deadline) {
      throw new Error(`the ${process.name} did not say "${text}" in ${ms / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * JetStream's server (`nats-server -js`, a fresh store, its own port) and
 * the stream's creator, each waited for until ready.
 */
async function startJetStream(spec: RunSpec, roles: Roles, port: number): Promise<void> {
  roles.logDir = Deno.makeTempDirSync({ prefix: "bench_group_jetstream_" });
  roles.broker = spawn("nats-server", natsServer, serverArgs(port, roles.logDir));
  await printed(roles.broker, SERVER_READY, "stderr", JETSTREAM_READY_MS);
  roles.helper = spawn("stream", "node", streamArgs(spec, natsUrl(port)), false, true);
  await printed(roles.helper, STREAM_READY, "stdout", JETSTREAM_READY_MS);
}

/**
 * Starts the broker, the sequencer (JetStream: its server and the stream)
 * and the clients (each its share of the multicasts), then the frozen ones,
 * if any.
 */
async function startRoles(spec: RunSpec, roles: Roles): Promise<void> {
  const port = freeBasePort(spec.impl === "jetstream" ? 1 : 4);
  if (spec.sequencer?.log && spec.impl === "deno") {
    roles.logDir = Deno.makeTempDirSync({ prefix: "bench_group_log_" });
  }
  if (spec.impl === "jetstream") {
    await startJetStream(spec, roles, port);
  } else {
    roles.broker = startBroker(spec, port, roles.logDir);
    if (!spec.inBroker) roles.sequencer = startSequencer(spec, port, roles.logDir);
  }
  const base = Math.floor(spec.total / spec.clients);
  for (let i = 1; i <= spec.clients; i++) {
    const count = base + (i <= spec.total % spec.clients ? 1 : 0);
    roles.clients.push(startClient(spec, port, `c${i}`, count));
  }
  for (let i = spec.clients + 1; i <= spec.clients + (spec.frozen ?? 0); i++) {
    const process = startClient(spec, port, `c${i}`, 0, true);
    roles.clients.push(process);
    roles.freezes.push({ process, stoppedAt: 0, continuedAt: 0 });
  }
}

/**
 * Freezes each frozen client with SIGSTOP as soon as it reports its first
 * delivery, then waits for the other clients to end and lets the frozen ones
 * go on with SIGCONT ({@link thaw}).
 *
 * @param roles The run's processes, started.
 * @param ended True once the run is over (stop waiting).
 */
async function freezeThenThaw(roles: Roles, ended: () => boolean): Promise<void> {
  const frozen = new Set(roles.freezes.map((f) => f.process));
  const senders = roles.clients.filter((c) => !frozen.has(c));
  await Promise.all(roles.freezes.map((f) => freezeAfterFirstDelivery(f, ended)));
  await Promise.all(senders.map((c) => c.status));
  thaw(roles.freezes);
}

/** Sends SIGSTOP to a client once its stdout has the first-delivery mark (not if it ended first). */
async function freezeAfterFirstDelivery(freeze: Freeze, ended: () => boolean): Promise<void> {
  let exited = false;
  void freeze.process.status.then(() => exited = true);
  while (!freeze.process.stdout().includes(`${FIRST_DELIVERY_MARK}\n`)) {
    if (exited || ended()) return;
    await new Promise((resolve) => setTimeout(resolve, FIRST_DELIVERY_POLL_MS));
  }
  kill(freeze.process, "SIGSTOP");
  // After the signal, and before it for SIGCONT: on a busy machine this
  // process may lose the CPU right after a kill, and the frozen time read
  // must not be longer than the client's pause.
  freeze.stoppedAt = clock();
}

/** Sends SIGCONT to every frozen client that got SIGSTOP and not SIGCONT yet. */
function thaw(freezes: Freeze[]): void {
  for (const freeze of freezes) {
    if (freeze.stoppedAt === 0 || freeze.continuedAt !== 0) continue;
    freeze.continuedAt = clock();
    kill(freeze.process, "SIGCONT");
  }
}

/**
 * Starts the run's processes and waits for the clients to end by
 * themselves; the broker, the sequencer (or JetStream's server and stream
 * creator) must not end first.
 *
 * @returns Why the run failed, if it did.
 */
async function startAndWait(
  spec: RunSpec,
  roles: Roles,
  sampler: ProcessSampler,
): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ended = false;
  try {
    await startRoles(spec, roles);
    const { clients } = roles;
    const servers = [roles.broker, roles.sequencer, roles.helper]
      .filter((r): r is RoleProcess => r !== undefined);
    const limitMs = (clientTimeout(spec) + 30) * 1000;
    const freezing = roles.freezes.length === 0
      ? new Promise<never>(() => {})
      : freezeThenThaw(roles, () => ended).then(
        () => new Promise<never>(() => {}),
        (error) => `freezing failed: ${error instanceof Error ? error.message : error}`,
      );
    const outcome = await Promise.race<string | RoleProcess>([
      Promise.all(clients.map((c) => c.status)).then(() => "done"),
      ...servers.map((role) => role.status.then(() => role)),
      new Promise<string>((resolve) => timer = setTimeout(() => resolve("timeout"), limitMs)),
      freezing,
    ]);
    await sampler.sample();
    if (typeof outcome !== "string") {
      const status = await outcome.status;
      return `the ${outcome.name} exited early with ${status.code}: ${
        lastLines(outcome.stderr(), 3)
      }`;
    }
    if (outcome === "timeout") return `timed out after ${limitMs / 1000} s`;
    if (outcome !== "done") return outcome;
    return undefined;
  } catch (error) {
    return `could not run: ${error instanceof Error ? error.message : error}`;
  } finally {
    ended = true;
    clearTimeout(timer);
  }
}

/**
 * Lets frozen clients go on, stops the clients (if still running), takes a
 * last sample, then stops the sequencer and the broker (JetStream's stream
 * creator, which says then what the stream holds, and its server), and
 * removes the sequencer's log or JetStream's store.
 *
 * @returns The exit codes of the broker and the sequencer.
 */
async function stopRoles(
  spec: RunSpec,
  roles: Roles,
  sampler: ProcessSampler,
): Promise<{ broker: number | null; sequencer: number | null }> {
  await sampler.stop();
  thaw(roles.freezes);
  for (const client of roles.clients) await stop(client, 2000);
  await sampler.sample();
  const exit = { broker: null as number | null, sequencer: null as number | null };
  if (roles.helper) await stop(roles.helper);
  if (roles.sequencer) exit.sequencer = (await stop(roles.sequencer)).code;
  if (roles.broker && spec.impl === "jetstream") exit.broker = (await interrupt(roles.broker)).code;
  else if (roles.broker) exit.broker = (await stop(roles.broker)).code;
  if (roles.logDir !== undefined) Deno.removeSync(roles.logDir, { recursive: true });
  return exit;
}

/**
 * Stops nats-server the way it exits with 0 (SIGINT; SIGTERM makes it exit
 * with 1), then as {@link stop} does if it is still there after `graceMs`.
 */
async function interrupt(process: RoleProcess, graceMs = 5000): Promise<Deno.CommandStatus> {
  kill(process, "SIGINT");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), graceMs)
  );
  const status = await Promise.race([process.status, late]);
  clearTimeout(timer);
  return status ?? await stop(process);
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
  const roles: Roles = { clients: [], freezes: [] };
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
    exit = await stopRoles(spec, roles, sampler);
  }
  const clients: ClientReport[] = [];
  for (const client of roles.clients) {
    const status = await client.status;
    const freeze = roles.freezes.find((f) => f.process === client);
    clients.push({
      name: client.name,
      exitCode: status.code,
      stdout: client.stdout(),
      stderr: client.stderr(),
      sampled: sampler.get(client.name),
      ...(freeze
        ? { freeze: { stoppedAt: freeze.stoppedAt, continuedAt: freeze.continuedAt } }
        : {}),
    });
  }
  const wallSeconds = Math.round((performance.now() - began) / 100) / 10;
  const busySeconds = (await machineBusySeconds()) - busyAtStart;
  const sampled = {
    broker: roles.broker && sampler.get(roles.broker.name),
    sequencer: roles.sequencer && sampler.get(roles.sequencer.name),
  };
  const roleStderr = readsCounters(spec)
    ? { broker: roles.broker?.stderr() ?? "", sequencer: roles.sequencer?.stderr() ?? "" }
    : undefined;
  return resultOf(spec, {
    error,
    clients,
    sampled,
    exit,
    wallSeconds,
    loadAtStart,
    busySeconds,
    ...(roleStderr === undefined ? {} : { roleStderr }),
    ...(roles.helper === undefined ? {} : { streamStdout: roles.helper.stdout() }),
  });
}

/**
 * Runs a bench's runs one after the other, printing each one's start and
 * outcome on stderr.
 *
 * @param specs The runs.
 * @param jetstream Where JetStream's server is, when its runs are planned.
 * @returns What each found.
 */
export async function runAll(specs: RunSpec[], jetstream?: JetStreamProbe): Promise<RunResult[]> {
  if (jetstream?.ok) natsServer = jetstream.server;
  const results: RunResult[] = [];
  for (const [i, spec] of specs.entries()) {
    const what = spec.impl === "jetstream"
      ? `JetStream, ${spec.storage} storage, `
      : `${spec.inBroker ? "the sequencer inside the broker, " : ""}${
        spec.sequencer?.log && !spec.groups.includes("frozen") ? "the sequencer with --log, " : ""
      }`;
    console.error(
      `bench:group: [${i + 1}/${specs.length}] ${spec.key}: ${what}${spec.clients} clients${
        spec.frozen ? ` + ${spec.frozen} frozen` : ""
      }, ${count(spec.total)} × ${sizeName(spec.size)}, offered ${rateName(spec.rate)}`,
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
    for (const c of result.catchUp ?? []) console.error(`bench:group:   ${catchUpLine(c)}`);
  }
  return results;
}
