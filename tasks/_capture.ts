/**
 * Starting a child process with both stdout and stderr collected, for
 * benchmark peers that report on stdout (one JSON line). The result is a
 * {@link RoleProcess}, so `stop()` from `_processes.ts` works on it.
 *
 * @module
 */

import type { RoleProcess } from "./_processes.ts";

export type { RoleProcess };

const ROOT = new URL("../", import.meta.url);

/** A child process whose stdout is kept too. */
export interface CapturedProcess extends RoleProcess {
  /** What the child wrote to stdout so far. */
  stdout(): string;
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  chunks: string[],
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) chunks.push(decoder.decode(chunk, { stream: true }));
  chunks.push(decoder.decode());
}

/**
 * Starts a command in the project's root with stdout and stderr collected.
 *
 * @param name A name for messages, e.g. "client c1".
 * @param command The executable.
 * @param args Its arguments.
 * @returns The running process; `status` settles once both streams are read.
 */
export function spawnCaptured(
  name: string,
  command: string,
  args: string[],
): CapturedProcess {
  const child = new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const reading = Promise.all([collect(child.stdout, out), collect(child.stderr, err)]);
  const status = child.status.then(async (status) => {
    await reading;
    return status;
  });
  return {
    name,
    child,
    status,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
  };
}

/**
 * The last line of `text` that parses as a JSON object, or undefined.
 *
 * @param text A child's stdout.
 * @returns The parsed object.
 */
export function lastJsonLine(text: string): Record<string, unknown> | undefined {
  const lines = text.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith("{")) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === "object" && value !== null) return value as Record<string, unknown>;
    } catch {
      // Not JSON: keep looking.
    }
  }
  return undefined;
}
