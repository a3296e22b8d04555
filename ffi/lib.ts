/**
 * Loads the system libzmq (and the few libc functions the poller needs).
 *
 * `ZMQ_LIB` names the library to load; otherwise the usual names on Linux
 * and macOS are tried in turn. If none loads, one error lists every path
 * tried, names `ZMQ_LIB` and says how to install libzmq.
 *
 * libzmq is pinned in memory once loaded (see {@link zmqLib}): Deno closes
 * every library it opened (`dlclose`) when a runtime ends, and libzmq's
 * background threads would go on running in its unmapped code.
 *
 * @module
 */

import { cstr } from "./_util.ts";
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
  onOpen: (path: string) => void = () => {},
): Deno.DynamicLibrary<S> {
  const failures: string[] = [];
  let first: unknown;
  for (const path of candidates) {
    let library: Deno.DynamicLibrary<S>;
    try {
      library = Deno.dlopen(path, symbols);
    } catch (error) {
      first ??= error;
      failures.push(
        `${path} (${error instanceof Error ? error.message : error})`,
      );
      continue;
    }
    onOpen(path);
    return library;
  }
  throw new Error(
    `Cannot load ${what}: tried ${failures.join(", ")}; ${hint}`,
    { cause: first },
  );
}

let zmq: Deno.DynamicLibrary<typeof zmqSymbols> | undefined;
let libc: Deno.DynamicLibrary<typeof libcSymbols> | undefined;

/**
 * The libzmq symbols, loaded on first use. Throws with an install hint.
 *
 * Once loaded, libzmq stays in memory until the process ends ({@link pin}).
 */
export function zmqLib(): ZmqLib {
  zmq ??= openFirst(zmqCandidates(), zmqSymbols, "libzmq", INSTALL_HINT, pin);
  return zmq.symbols;
}

/** A block of C memory and an `ArrayBuffer` over it (see {@link allocNative}). */
export interface NativeMemory {
  /** The block's bytes; not to be used once freed. */
  readonly buffer: ArrayBuffer;
  /** Gives the block back to `malloc`; the caller must drop `buffer`. Idempotent. */
  free(): void;
}

/**
 * Allocates `byteLength` bytes with `malloc`, outside V8's heap, for a
 * buffer that a `nonblocking` call (the poller's `poll()` on a pool thread)
 * may still write to after the runtime that passed it has ended: V8 frees
 * every `ArrayBuffer` of an isolate when the isolate goes away, but a call
 * in flight on a pool thread goes on until it returns, and its pointer
 * would then point into freed memory. C memory stays valid until freed.
 *
 * @throws {Error} when the memory cannot be allocated.
 */
export function allocNative(byteLength: number): NativeMemory {
  const symbols = libcLib();
  const pointer = symbols.malloc(BigInt(byteLength));
  if (pointer === null) throw new Error(`Cannot allocate ${byteLength} bytes of C memory`);
  let freed = false;
  return {
    buffer: Deno.UnsafePointerView.getArrayBuffer(pointer, byteLength),
    free() {
      if (freed) return;
      freed = true;
      symbols.free(pointer);
    },
  };
}

const RTLD_LAZY = 0x1;
const RTLD_NODELETE = Deno.build.os === "darwin" ? 0x80 : 0x1000;

/**
 * Keeps the library just loaded from `path` mapped until the process ends.
 *
 * Deno unloads (`dlclose`) each library a runtime opened when that runtime
 * ends: when the program ends by an uncaught exception or an unhandled
 * rejection, or when a `Worker` that loaded it ends or is terminated. But
 * every libzmq context has background threads (`ZMQbg/IO/0`,
 * `ZMQbg/Reaper`) that run until `zmq_ctx_term`, which nobody calls then:
 * the next instruction such a thread runs (it wakes for any network
 * traffic, a reconnect, a heartbeat...) is in unmapped memory, and the
 * whole process dies of SIGSEGV before Deno prints the error that ended it.
 * A second reference to the library, opened here with `RTLD_NODELETE` and
 * never closed, keeps it mapped (`Deno.exit()`, which ends the process
 * without unloading anything, never had the problem).
 *
 * Best effort: where libc has no `dlopen` (glibc before 2.34) the library
 * is left as it is.
 */
function pin(path: string): void {
  // The same name as Deno.dlopen was given finds the same, loaded object.
  libcLib().dlopen?.(cstr(path), RTLD_LAZY | RTLD_NODELETE);
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
