/**
 * `serveMetrics()`: a role's HTTP endpoint, on Deno's own server:
 * `GET /metrics` (Prometheus text), `GET /status` (JSON) and `GET /` (a
 * live page that polls `/status`). Off the hot path: each request reads
 * the counters the roles keep anyway.
 *
 * @module
 */

import { EXPOSITION_CONTENT_TYPE, renderExposition } from "./exposition.ts";
import { groupFamilies, type RoleSnapshot } from "./families.ts";
import { LIVE_PAGE } from "./page.ts";

/** Where to serve: `metrics` of the roles' options, `--metrics HOST:PORT` on their command lines. */
export interface MetricsOptions {
  /** The interface to listen on. Default 127.0.0.1. */
  hostname?: string;
  /** The port; 0 picks a free one (see {@link MetricsServer.url}). */
  port: number;
}

/** A running endpoint. */
export interface MetricsServer {
  /** Where it listens, e.g. `http://127.0.0.1:9100/`. */
  readonly url: string;
  /** Stops listening; resolves when the open requests are answered. */
  close(): Promise<void>;
}

const METHODS = "GET, HEAD";

/**
 * Serves the snapshots of the roles of this process.
 *
 * @param snapshots Reads each role's counters, gauges and status now.
 * @param options Host and port.
 * @returns The running endpoint.
 * @throws {Error} naming the address if it cannot listen (e.g. the port is taken).
 */
export function serveMetrics(
  snapshots: () => readonly RoleSnapshot[],
  options: MetricsOptions,
): MetricsServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const address = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${options.port}`;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname, port: options.port, onListen: () => {} },
      (request) => answer(request, snapshots, hostname),
    );
  } catch (error) {
    throw new Error(
      `Cannot serve metrics on ${address}: ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${server.addr.port}/`,
    close: () => closing ??= shutdown(server),
  };
}

/** How long a close waits for open requests (a client that stalls must not hold the role), ms. */
const SHUTDOWN_MS = 2000;

/** Stops the server: its requests get SHUTDOWN_MS to finish. */
async function shutdown(server: Deno.HttpServer<Deno.NetAddr>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    server.shutdown(),
    new Promise<void>((resolve) => timer = setTimeout(resolve, SHUTDOWN_MS)),
  ]);
  clearTimeout(timer);
}

/** Host headers always taken: the loopback names. */
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * True if the request names this server: a loopback name or the address it
 * listens on (any, when it listens on every interface). A page elsewhere
 * that rebinds its own name to 127.0.0.1 is refused (DNS rebinding).
 */
function forUs(url: URL, hostname: string): boolean {
  if (hostname === "0.0.0.0" || hostname === "::") return true;
  const host = url.hostname.toLowerCase();
  return LOOPBACK.has(host) || host === hostname.toLowerCase() ||
    host === `[${hostname.toLowerCase()}]`;
}

/** One request: the three pages, 405 for other methods, 404 for other paths. */
function answer(
  request: Request,
  snapshots: () => readonly RoleSnapshot[],
  hostname: string,
): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return plain(405, `${request.method} is not allowed: use GET\n`, { allow: METHODS });
  }
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return plain(400, "Bad request: the URL or Host does not parse\n");
  }
  if (!forUs(url, hostname)) {
    return plain(421, `Not for ${url.host}: ask for ${hostname} or localhost\n`);
  }
  const path = url.pathname;
  try {
    switch (path) {
      case "/metrics":
        return plain(
          200,
          renderExposition(groupFamilies(snapshots().map((s) => s.reading))),
          { "content-type": EXPOSITION_CONTENT_TYPE },
        );
      case "/status":
        return Response.json({
          pid: Deno.pid,
          // The process's (performance.now() counts from its start), as process_start_time_seconds.
          // To the millisecond: the live page takes rates between two polls of it.
          uptimeSeconds: Math.round(performance.now()) / 1000,
          roles: snapshots().map((s) => s.status),
        }, { headers: { "cache-control": "no-store" } });
      case "/":
        return plain(200, LIVE_PAGE, {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy":
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        });
      default:
        return plain(404, `Nothing at ${path}: try /, /metrics or /status\n`);
    }
  } catch (error) {
    return plain(
      500,
      `Cannot read the role's state: ${error instanceof Error ? error.message : error}\n`,
    );
  }
}

function plain(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...headers,
    },
  });
}
