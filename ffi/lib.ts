/**
 * Loads the system libzmq (and the few libc functions the poller needs).
 *
 * `ZMQ_LIB` names the library to load; otherwise the usual names on Linux
 * and macOS are tried in turn. If none loads, one error lists every path
 * tried, names `ZMQ_LIB` and says how to install libzmq.
 *
 * @module
 */

import { libcSymbols, zmqSymbols } from "./symbols.ts";

/** The loaded libzmq symbols. */
export type ZmqLib = Deno.DynamicLibrary<typeof zmqSymbols>["symbols"];
/** The loaded libc symbols. */
export type LibcLib = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

const ZMQ_CANDIDATES: Record<string, string[]> = {
  linux: ["libzmq.so.5", "libzmq.so"],
  darwin: [
    "libzmq.5.dylib",
    "libzmq.dylib",
    "/opt/homebrew/lib/libzmq.5.dylib",
    "/usr/local/lib/libzmq.5.dylib",
  ],
  windows: ["libzmq.dll", "libzmq-v143-mt-4_3_5.dll"],
};

const LIBC_CANDIDATES: Record<string, string[]> = {
  linux: ["libc.so.6"],
  darwin: ["libSystem.B.dylib"],
};

const INSTALL_HINT =
  "install libzmq (Debian/Ubuntu: apt-get install libzmq5; Fedora: dnf install zeromq; " +
  "macOS: brew install zeromq) or set ZMQ_LIB to the library's path";

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    // Without --allow-env the override is simply not consulted.
    return undefined;
  }
}

/** The paths the loader tries, in order: `ZMQ_LIB` alone when it is set. */
export function zmqCandidates(): string[] {
  const override = readEnv("ZMQ_LIB");
  if (override) return [override];
  return ZMQ_CANDIDATES[Deno.build.os] ?? ["libzmq.so.5", "libzmq.so"];
}

function openFirst<S extends Deno.ForeignLibraryInterface>(
  candidates: string[],
  symbols: S,
  what: string,
  hint: string,
): Deno.DynamicLibrary<S> {
  const failures: string[] = [];
  let first: unknown;
  for (const path of candidates) {
    try {
      return Deno.dlopen(path, symbols);
    } catch (error) {
      first ??= error;
      failures.push(
        `${path} (${error instanceof Error ? error.message : error})`,
      );
    }
  }
  throw new Error(
    `Cannot load ${what}: tried ${failures.join(", ")}; ${hint}`,
    { cause: first },
  );
}

let zmq: Deno.DynamicLibrary<typeof zmqSymbols> | undefined;
let libc: Deno.DynamicLibrary<typeof libcSymbols> | undefined;

/** The libzmq symbols, loaded on first use. Throws with an install hint. */
export function zmqLib(): ZmqLib {
  zmq ??= openFirst(zmqCandidates(), zmqSymbols, "libzmq", INSTALL_HINT);
  return zmq.symbols;
}

/** The libc symbols the poller uses, loaded on first use. */
export function libcLib(): LibcLib {
  libc ??= openFirst(
    LIBC_CANDIDATES[Deno.build.os] ?? ["libc.so.6"],
    libcSymbols,
    "the C library",
    "this binding supports Linux and macOS",
  );
  return libc.symbols;
}
