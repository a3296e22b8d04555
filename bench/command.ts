/**
 * Running the benchmarks' helper commands (installers, probes, `grep`, `git`)
 * from the project's root, and the paths they share.
 *
 * @module
 */

/** The project's root directory, ending in "/". */
export const ROOT: string = new URL("../", import.meta.url).pathname;
/** Where the benchmarks write their reports (and build or install their peers). */
export const OUT: string = `${ROOT}bench/out/`;
/** The system Python, which has python3-zmq. */
export const PYTHON = "/usr/bin/python3";

/** What a finished command printed. */
export interface CommandOutput {
  /** It ran and exited with 0. */
  ok: boolean;
  /** It could be started at all. */
  started: boolean;
  /** Its stdout, or "" if it could not start. */
  stdout: string;
  /** Its stderr, or why it could not start. */
  stderr: string;
}

/**
 * Runs a command to its end with no stdin, from the project's root.
 *
 * @param program The executable.
 * @param args Its arguments.
 * @returns What it printed; never throws (a missing program is `ok: false`).
 */
export async function commandOutput(
  program: string,
  args: string[],
): Promise<CommandOutput> {
  try {
    const result = await new Deno.Command(program, {
      args,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      ok: result.success,
      started: true,
      stdout: decoder.decode(result.stdout),
      stderr: decoder.decode(result.stderr),
    };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, started: false, stdout: "", stderr: why };
  }
}

/**
 * A command's answer as one trimmed text: its stdout if it succeeded, else
 * its stderr, or "unavailable (why)" if it could not start.
 *
 * @param program The executable.
 * @param args Its arguments.
 * @returns The text.
 */
export async function commandText(program: string, args: string[]): Promise<string> {
  const out = await commandOutput(program, args);
  if (!out.started) return `unavailable (${out.stderr})`;
  return (out.ok ? out.stdout : out.stderr).trim();
}

/**
 * The last non-blank lines of some output, joined with " | ", for one-line
 * error messages.
 *
 * @param text A child's output.
 * @param count How many lines.
 * @returns The lines.
 */
export function lastLines(text: string, count: number): string {
  return text.split("\n").filter((line) => line.trim() !== "").slice(-count).join(" | ");
}

/** pyzmq's version, or why the system Python cannot import it. */
export type PyzmqVersion = { ok: true; version: string } | { ok: false; why: string };

/** Asks the system Python for pyzmq's version. */
export async function pyzmqVersion(): Promise<PyzmqVersion> {
  const probe = await commandOutput(PYTHON, ["-c", "import zmq; print(zmq.__version__)"]);
  return probe.ok
    ? { ok: true, version: probe.stdout.trim() }
    : { ok: false, why: (probe.stdout + probe.stderr).trim() };
}
