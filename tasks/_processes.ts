/**
 * Starting and stopping the roles as child processes, for the demo, the
 * benchmarks and the tests.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);

/** Permissions each role's entry point needs. */
const ROLE_PERMISSIONS = [
  "--allow-ffi",
  "--allow-env",
  "--allow-read",
  "--allow-write",
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
  return spawn(name, Deno.execPath(), [
    "run",
    ...ROLE_PERMISSIONS,
    ROLE_ENTRY[role],
    ...args,
  ], echo);
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
  try {
    process.child.kill("SIGTERM");
  } catch {
    // Already gone.
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      try {
        process.child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      resolve();
    }, graceMs);
  });
  await Promise.race([process.status, killed]);
  clearTimeout(timer);
  return await process.status;
}

/** A free TCP base port with the three after it free too (checked by binding). */
export function freeBasePort(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const listeners: Deno.Listener[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        listeners.push(Deno.listen({ hostname: "127.0.0.1", port: base + i }));
      }
      return base;
    } catch {
      // Taken: try another.
    } finally {
      for (const listener of listeners) listener.close();
    }
  }
  throw new Error("Cannot find four free consecutive ports");
}
