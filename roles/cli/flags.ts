/**
 * What the command-line roles share: flag parsing with clear errors,
 * logging, and running until SIGINT/SIGTERM.
 *
 * @module
 */

import type { MetricsOptions } from "../metrics/server.ts";
import { parseArgs } from "node:util";
import { DEFAULT_BASE_PORT, DEFAULT_HOST, DEFAULT_MAX_PAYLOAD } from "../protocol/ids.ts";

/** A flag of a role's command line. */
export interface FlagSpec {
  /** "string" flags take a value; "boolean" flags do not. */
  type: "string" | "boolean";
  /** What the flag does, for `--help`. */
  help: string;
  /** The value's placeholder in `--help`, e.g. "N". */
  value?: string;
  /** The default, shown in `--help`. */
  default?: string;
}

/** A command-line usage error: printed with a hint to `--help`, exit code 2. */
export class UsageError extends Error {
  /** Always `"UsageError"`. */
  override name = "UsageError";
}

/** The flags every role has. */
export const COMMON_FLAGS: Record<string, FlagSpec> = {
  host: {
    type: "string",
    value: "HOST",
    default: DEFAULT_HOST,
    help: "the broker's host (the interface to bind, for the broker)",
  },
  "base-port": {
    type: "string",
    value: "PORT",
    default: String(DEFAULT_BASE_PORT),
    help:
      "the first of the four ports: base (multicast in), +1 (multicast out), +2 (start barrier), +3 (direct)",
  },
  metrics: {
    type: "string",
    value: "HOST:PORT",
    help:
      "serve /metrics (Prometheus), /status (JSON) and a live page at / on HOST:PORT (PORT alone: 127.0.0.1; port 0 picks one, logged); off by default",
  },
  verbose: { type: "boolean", help: "log every message, as the seed does" },
  quiet: { type: "boolean", help: "log errors only" },
  "log-format": {
    type: "string",
    value: "text|json",
    default: "text",
    help: "json: one JSON object a line, for machines",
  },
  help: { type: "boolean", help: "show this help" },
};

/** Parsed flags, as `parseFlags` returns them. */
export type FlagValues = Record<string, string | boolean | undefined>;

/** The `--host` flag's value (the default host if not given). */
export function hostFlag(values: FlagValues): string {
  return String(values.host ?? DEFAULT_HOST);
}

/** The `--base-port` flag's value, checked (the default base port if not given). */
export function basePortFlag(values: FlagValues): number {
  return numberFlag(values, "base-port", DEFAULT_BASE_PORT, { min: 1, max: 65532, integer: true });
}

/**
 * The `--metrics HOST:PORT` flag's value: `127.0.0.1:9100`, `[::1]:9100`,
 * `0.0.0.0:9100`, or `9100` (127.0.0.1); undefined when not given.
 *
 * @throws {UsageError} naming the flag and the form it takes.
 */
export function metricsFlag(values: FlagValues): MetricsOptions | undefined {
  const value = values.metrics;
  if (value === undefined) return undefined;
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\s]+):)?(\d{1,5})$/.exec(String(value));
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65535) {
    throw new UsageError(
      `Invalid --metrics ${
        JSON.stringify(value)
      }: expected HOST:PORT (e.g. 127.0.0.1:9100) or a port`,
    );
  }
  const host = match[1] ?? "127.0.0.1";
  return { hostname: host.startsWith("[") ? host.slice(1, -1) : host, port };
}

/** The `--max-payload` flag's value, checked (1 MiB if not given). */
export function maxPayloadFlag(values: FlagValues): number {
  return numberFlag(values, "max-payload", DEFAULT_MAX_PAYLOAD, { min: 1, integer: true });
}

/** Renders `--help` for a role. */
export function usage(
  command: string,
  summary: string,
  flags: Record<string, FlagSpec>,
): string {
  const lines = [`Usage: ${command} [flags]`, "", summary, "", "Flags:"];
  for (const [name, spec] of Object.entries(flags)) {
    const left = `  --${name}${spec.value ? ` ${spec.value}` : ""}`;
    lines.push(
      `${left.padEnd(28)} ${spec.help}${
        spec.default !== undefined ? ` (default ${spec.default})` : ""
      }`,
    );
  }
  return lines.join("\n");
}

/**
 * Parses `args` against `flags`; unknown flags and stray arguments are a
 * `UsageError` naming them.
 */
export function parseFlags(
  args: string[],
  flags: Record<string, FlagSpec>,
): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(flags).map((
          [name, spec],
        ) => [name, { type: spec.type }]),
      ),
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, string | boolean | undefined>;
  } catch (error) {
    throw new UsageError(
      error instanceof Error ? error.message.replace(/\. To specify.*$/s, "") : String(error),
    );
  }
}

/**
 * Reads a numeric flag: a finite number within [min, max], integer if asked.
 *
 * @throws {UsageError} naming the flag, the value and what was expected.
 */
export function numberFlag(
  values: Record<string, string | boolean | undefined>,
  name: string,
  fallback: number,
  { min = -Infinity, max = Infinity, integer = false } = {},
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  if (
    !Number.isFinite(value) || value < min || value > max ||
    (integer && !Number.isInteger(value))
  ) {
    const range = `${integer ? "a whole number" : "a number"}${
      min > -Infinity ? ` >= ${min}` : ""
    }${max < Infinity ? ` and <= ${max}` : ""}`;
    throw new UsageError(
      `Invalid --${name} ${JSON.stringify(raw)}: expected ${range}`,
    );
  }
  return value;
}

/** A role's logger: text or JSON lines on stderr; `--quiet` keeps errors only. */
export interface Logger {
  /** Logs a message shown by default. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Logs a per-message line, shown only under `--verbose`. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Logs an error, always shown. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Makes the logger that the flags ask for. */
export function makeLogger(
  role: string,
  values: Record<string, string | boolean | undefined>,
): Logger {
  const format = values["log-format"] ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(
      `Invalid --log-format ${JSON.stringify(format)}: expected "text" or "json"`,
    );
  }
  const verbose = values.verbose === true;
  const quiet = values.quiet === true;
  const encoder = new TextEncoder();
  const write = (
    level: string,
    message: string,
    fields?: Record<string, unknown>,
  ) => {
    const line = format === "json"
      ? JSON.stringify({
        time: new Date().toISOString(),
        role,
        level,
        message,
        ...fields,
      })
      : `[${role}] ${message}${fields === undefined ? "" : ` ${JSON.stringify(fields)}`}`;
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  };
  return {
    info: (message, fields) => {
      if (!quiet) write("info", message, fields);
    },
    debug: (message, fields) => {
      if (verbose) write("debug", message, fields);
    },
    error: (message, fields) => write("error", message, fields),
  };
}

/** Resolves on the first SIGINT or SIGTERM (or SIGBREAK on Windows). */
export function untilSignal(): { promise: Promise<string>; dispose(): void } {
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  let done!: (signal: string) => void;
  const promise = new Promise<string>((resolve) => done = resolve);
  const handlers = signals.map((signal) => {
    const handler = () => done(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return {
    promise,
    dispose() {
      for (const [signal, handler] of handlers) {
        Deno.removeSignalListener(signal, handler);
      }
    },
  };
}

/**
 * Calls `report` on every SIGUSR2 (where the OS has it); returns a disposer.
 * Not SIGUSR1: Deno answers that one by opening its inspector on port 9229.
 */
export function onCountersSignal(report: () => void): () => void {
  if (Deno.build.os === "windows") return () => {};
  Deno.addSignalListener("SIGUSR2", report);
  return () => Deno.removeSignalListener("SIGUSR2", report);
}

/**
 * Runs a role's main: prints usage errors with exit 2, other failures with
 * exit 1, and exits 0 on success.
 */
export async function runMain(
  role: string,
  help: string,
  main: () => Promise<void>,
): Promise<never> {
  try {
    await main();
    Deno.exit(0);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      console.error(`${role}: ${message}\n\n${help}`);
      Deno.exit(2);
    }
    console.error(`${role}: ${message}`);
    Deno.exit(1);
  }
}

/**
 * Runs a command line: parses `Deno.args` against `flags` (a `UsageError`
 * names what is wrong), prints the help for `--help`, and otherwise runs
 * `main` with the values, as {@link runMain} does.
 *
 * @param role The name errors are prefixed with, e.g. "broker".
 * @param command How the command is run, for the help, e.g. "deno task run:broker".
 * @param summary What it does, for the help.
 * @param flags Its flags.
 * @param main The rest of the command.
 */
export function runCommand(
  role: string,
  command: string,
  summary: string,
  flags: Record<string, FlagSpec>,
  main: (values: FlagValues) => Promise<void>,
): Promise<never> {
  const help = usage(command, summary, flags);
  return runMain(role, help, async () => {
    const values = parseFlags(Deno.args, flags);
    if (values.help) {
      console.log(help);
      return;
    }
    await main(values);
  });
}
