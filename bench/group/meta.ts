/**
 * What the group benchmark's report says besides the runs: the machine, the
 * versions, the commit; and whether the seed's design (pyzmq) can run.
 *
 * @module
 */

import { zmqVersion } from "../../ffi/mod.ts";
import { commandOutput, commandText, type PyzmqVersion, pyzmqVersion } from "../command.ts";
import { loadAverage } from "../sampling.ts";

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
  /** NATS JetStream's versions (server, client, Node), or why it did not run; undefined if not planned. */
  jetstream?: string;
  /** The commit, and whether ffi/ or roles/ had uncommitted changes. */
  git: string;
  /** The factor applied to every message count. */
  scale: number;
  /** Seconds the whole bench took. */
  seconds: number;
  /** The 1-minute load average before the first run and after the last. */
  load: { before: number; after: number };
}

/**
 * Checks that python3-zmq is there for the seed's design, installing it
 * with `tasks/setup.sh test` if not.
 *
 * @returns Why the seed cannot run, or undefined if it can.
 */
export async function seedProblem(): Promise<string | undefined> {
  if ((await pyzmqVersion()).ok) return undefined;
  console.error("bench:group: python3-zmq is missing: sh tasks/setup.sh test");
  if ((await commandOutput("sh", ["tasks/setup.sh", "test"])).ok) return undefined;
  return "python3-zmq is not installed and tasks/setup.sh test could not install it";
}

/** The CPU model and count, from /proc/cpuinfo (read by grep: Deno 2 reads it only under --allow-all). */
async function cpuName(): Promise<string> {
  const model = (await commandText("grep", ["-m1", "model name", "/proc/cpuinfo"]))
    .replace(/^model name\s*:\s*/, "");
  const cpus = `${navigator.hardwareConcurrency} CPUs`;
  return model === "" || model.startsWith("unavailable") ? cpus : `${model}, ${cpus}`;
}

/** The commit, and whether the code measured had uncommitted changes. */
async function gitState(): Promise<string> {
  const head = await commandText("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = await commandText("git", [
    "status",
    "--porcelain",
    "ffi",
    "roles",
    "bench",
    "tasks",
  ]);
  return `commit ${head}${
    dirty === "" ? "" : " with uncommitted changes in ffi/, roles/, bench/ or tasks/"
  }`;
}

function pyzmqText(version: PyzmqVersion): string {
  return version.ok ? version.version : version.why;
}

/**
 * Everything the report says of the machine and the bench.
 *
 * @param bench When it started, its scale, how long it took, the load average before it.
 * @param pyzmqProblem Why pyzmq was not used, if it was not.
 * @param jetstream JetStream's versions or why it did not run, if its runs were planned.
 * @returns The metadata.
 */
export async function benchMeta(
  bench: { started: Date; scale: number; seconds: number; loadBefore: number },
  pyzmqProblem?: string,
  jetstream?: string,
): Promise<BenchMeta> {
  const cpu = await cpuName();
  const git = await gitState();
  const pyzmq = pyzmqProblem ?? pyzmqText(await pyzmqVersion());
  return {
    date: bench.started.toISOString(),
    cpu,
    deno: Deno.version.deno,
    libzmq: zmqVersion().join("."),
    pyzmq,
    ...(jetstream === undefined ? {} : { jetstream }),
    git,
    scale: bench.scale,
    seconds: bench.seconds,
    load: { before: bench.loadBefore, after: loadAverage(1) },
  };
}
