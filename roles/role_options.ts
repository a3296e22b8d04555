/**
 * The options every role takes: where the group is, and where its lines go.
 *
 * @module
 */

import type { Context } from "../ffi/mod.ts";
import type { MetricsOptions } from "./metrics/server.ts";
import { DEFAULT_BASE_PORT, DEFAULT_HOST, type Endpoints, endpoints } from "./protocol/ids.ts";

/** Where a role finds (or, for the broker, binds) the group's four ports. */
export interface GroupAddress {
  /**
   * The four endpoints, overriding host and base port (e.g. inproc ones
   * for a group inside one process, with a shared `context`).
   */
  endpoints?: Endpoints;
  /** A context to use (and not close) instead of a new one. */
  context?: Context;
  /** The broker's host (for the broker: the interface to bind). Default 127.0.0.1. */
  host?: string;
  /** The first of the four ports. Default 5559. */
  basePort?: number;
}

/** Where a role's lines go, and where its metrics are served. */
export interface RoleLogging {
  /**
   * Serve `/metrics` (Prometheus), `/status` (JSON) and a live page at `/`
   * on this host and port while the role runs (off when absent).
   */
  metrics?: MetricsOptions;
  /** Called with a line per message (the seed's log), only when set: e.g. under --verbose. */
  trace?: (line: string) => void;
  /** Called with a line for the log. */
  log?: (line: string) => void;
  /**
   * Called with a line for each thing worth an operator's attention: a
   * refusal, an eviction, a new view, a silent sequencer. Default: `log`.
   */
  warn?: (line: string) => void;
}

/**
 * The host to connect to for the interface a broker binds: the loopback
 * address for a wildcard (`0.0.0.0`, `*`, `::`), else the host itself.
 */
export function connectHost(host: string): string {
  return host === "0.0.0.0" || host === "*" ? "127.0.0.1" : host === "::" ? "::1" : host;
}

/** The endpoints an address names: its own, or those of its host and base port. */
export function groupEndpoints(address: GroupAddress): Endpoints {
  return address.endpoints ??
    endpoints(address.host ?? DEFAULT_HOST, address.basePort ?? DEFAULT_BASE_PORT);
}
