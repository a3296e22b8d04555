/**
 * Starting and stopping the roles as child processes, for the demo, the
 * benchmarks and the tests, and finding free ports for them.
 *
 * @module
 */

import { Context, ZmqError } from "../ffi/mod.ts";

const ROOT = new URL("../", import.meta.url);

/** Permissions each role's entry point needs. */
const ROLE_PERMISSIONS = [
  "--allow-ffi",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  // Only for --metrics (Deno's HTTP server) and --etcd (etcd's JSON gateway);
  // the group's sockets are libzmq's.
  "--allow-net",
  // --etcd: a broker's or sequencer's default name has the host's name.
  "--allow-sys=hostname",
];

/** A role's entry point, by name. */
export const ROLE_ENTRY = {
  broker: "roles/cli/broker_main.ts",
  sequencer: "roles/cli/sequencer_main.ts",
  client: "roles/cli/client_main.ts",
} as const;

/** A child process whose stderr is kept for the report. */
export interface RoleProcess {
  /** A name for messages, e.g. "client c1". */
  readonly name: string;
  /** The child. */
  readonly child: Deno.ChildProcess;
  /** Settles with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** What the child wrote to stderr so far. */
  stderr(): string;
  /** What the child wrote to stdout so far ("" unless it was captured). */
  stdout(): string;
}

/** Reads a stream to its end as text, into `chunks`; `echo` copies each chunk to our stderr. */
async function collect(
  stream: ReadableStream<Uint8Array>,
  chunks: string[],
  echo: boolean,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    chunks.push(decoder.decode(chunk, { stream: true }));
    if (echo) Deno.stderr.writeSync(chunk);
  }
  chunks.push(decoder.decode());
}

/**
 * Starts a command with its stderr collected (and stdout discarded, unless
 * `captureStdout`: benchmark peers report one JSON line there).
 *
 * @param name A name for messages.
 * @param command The executable.
 * @param args Its arguments.
 * @param echo Also copy its stderr to ours.
 * @param captureStdout Keep its stdout too (see `stdout()`).
 */
export function spawn(
  name: string,
  command: string,
  args: string[],
  echo = false,
  captureStdout = false,
): RoleProcess {
  const child = new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: captureStdout ? "piped" : "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const reading = Promise.all([
    collect(child.stderr, err, echo),
    captureStdout ? collect(child.stdout, out, false) : undefined,
  ]);
  const status = child.status.then(async (status) => {
    await reading;
    return status;
  });
  return { name, child, status, stderr: () => err.join(""), stdout: () => out.join("") };
}

/** How {@link spawnDeno} starts a program. */
export interface DenoSpawnOptions {
  /** Its permission flags; by default those of the roles (ffi, env, read, write). */
  permissions?: readonly string[];
  /** More `deno run` flags, before the entry point (e.g. `--cpu-prof`). */
  flags?: readonly string[];
  /** Copy its stderr to ours. */
  echo?: boolean;
  /** Keep its stdout too (see `stdout()`). */
  captureStdout?: boolean;
}

/**
 * Starts one of this project's programs with the running Deno:
 * `deno run <permissions> <flags> <entry> <args>`.
 *
 * @param name A name for messages.
 * @param entry The entry point, relative to the project's root.
 * @param args The program's flags.
 * @param options Permissions, Deno flags, what to keep.
 */
export function spawnDeno(
  name: string,
  entry: string,
  args: string[],
  options: DenoSpawnOptions = {},
): RoleProcess {
  const { permissions = ROLE_PERMISSIONS, flags = [], echo = false, captureStdout = false } =
    options;
  return spawn(
    name,
    Deno.execPath(),
    ["run", ...permissions, ...flags, entry, ...args],
    echo,
    captureStdout,
  );
}

/**
 * Starts one of the group's roles with Deno.
 *
 * @param name A name for messages.
 * @param role Which role.
 * @param args The role's flags.
 * @param echo Copy its stderr to ours.
 */
export function spawnRole(
  name: string,
  role: keyof typeof ROLE_ENTRY,
  args: string[],
  echo = false,
): RoleProcess {
  return spawnDeno(name, ROLE_ENTRY[role], args, { echo });
}

/**
 * Sends a signal to a process that may have exited already.
 *
 * @param process The process.
 * @param signal The signal; SIGKILL by default.
 */
export function kill(process: RoleProcess, signal: Deno.Signal = "SIGKILL"): void {
  try {
    process.child.kill(signal);
  } catch {
    // Already gone.
  }
}

/**
 * Sends SIGTERM, and SIGKILL if the process has not exited after `graceMs`.
 *
 * @returns The exit status.
 */
export async function stop(
  process: RoleProcess,
  graceMs = 5000,
): Promise<Deno.CommandStatus> {
  kill(process, "SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      kill(process);
      resolve();
    }, graceMs);
  });
  await Promise.race([process.status, killed]);
  clearTimeout(timer);
  return await process.status;
}

/** Whether this process may listen on 127.0.0.1 (the tests may; the benchmarks have no --allow-net). */
function mayListen(): boolean {
  return Deno.permissions.querySync({ name: "net", host: "127.0.0.1" }).state === "granted";
}

/**
 * Binds `count` consecutive tcp ports from `base` on 127.0.0.1 at once, then
 * releases them: with `Deno.listen` where the net permission allows it, else
 * with libzmq (which binds the way the roles will).
 *
 * @returns False if one of them is taken.
 */
function canBind(base: number, count: number): boolean {
  if (mayListen()) {
    const listeners: Deno.Listener[] = [];
    try {
      for (let i = 0; i < count; i++) {
        listeners.push(Deno.listen({ hostname: "127.0.0.1", port: base + i }));
      }
      return true;
    } catch {
      return false;
    } finally {
      for (const listener of listeners) listener.close();
    }
  }
  using ctx = new Context();
  const probes = [];
  try {
    for (let i = 0; i < count; i++) {
      const probe = ctx.socket("PULL");
      probes.push(probe);
      probe.setOption("LINGER", 0);
      probe.bind(`tcp://127.0.0.1:${base + i}`);
    }
    return true;
  } catch (error) {
    if (error instanceof ZmqError && error.code === "EADDRINUSE") return false;
    throw error;
  } finally {
    for (const probe of probes) probe.close();
  }
}

/**
 * A free TCP base port with the ports after it free too (checked by binding
 * them on 127.0.0.1), from 20000 to 50000. Works without --allow-net (it
 * probes with libzmq then).
 *
 * @param count How many consecutive ports: 4 (a broker's) by default.
 * @returns The first of them.
 */
export function freeBasePort(count = 4): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    if (canBind(base, count)) return base;
  }
  throw new Error(`Cannot find ${count} free consecutive ports`);
}
