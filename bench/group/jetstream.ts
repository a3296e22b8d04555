/**
 * NATS JetStream doing the group's job, for bench:group: one stream as the
 * total order, each client a publisher and an ordered consumer of the whole
 * stream (`bench/peers/jetstream_peer.mjs`, run by node with the NATS
 * JavaScript client). Finding nats-server (Debian) and the client (npm
 * package nats 2.x in `bench/out/node/`), installing them with
 * `tasks/setup.sh bench` if missing, and the command lines of the server,
 * the stream's creator and the clients. A missing piece makes the runs
 * unavailable, with the reason, instead of failing the bench.
 *
 * @module
 */

import { lastJsonLine } from "../../tasks/_capture.ts";
import { commandOutput, lastLines, OUT } from "../command.ts";
import { JETSTREAM_PULL_BATCH, JETSTREAM_WINDOW, type RunSpec } from "./plan.ts";

/** The peer program, relative to the project's root. */
export const JETSTREAM_PEER = "bench/peers/jetstream_peer.mjs";
/** The line the peer's "stream" role prints once the stream exists and the start barrier listens. */
export const STREAM_READY = "stream ready";
/** The line nats-server logs (stderr) once it accepts clients. */
export const SERVER_READY = "Server is ready";
/** The stream's name (its subjects are `group.>`). */
export const STREAM_NAME = "GROUP";
/** Where the NATS JavaScript client is installed (beside zeromq.js, by `tasks/setup.sh bench`). */
export const NATS_CLIENT = `${OUT}node/node_modules/nats`;

/** What is there to run JetStream, or why it cannot run. */
export type JetStreamProbe =
  | { ok: true; server: string; serverVersion: string; clientVersion: string; runtime: string }
  | { ok: false; why: string };

/** nats-server on the PATH, or where Debian puts it (/usr/sbin may not be on a user's PATH). */
async function findServer(): Promise<{ path: string; version: string } | { why: string }> {
  let why = "";
  for (const path of ["nats-server", "/usr/sbin/nats-server"]) {
    const out = await commandOutput(path, ["--version"]);
    if (out.ok) return { path, version: serverVersionOf(out.stdout + out.stderr) };
    why = lastLines(out.stderr, 1);
  }
  return { why: `nats-server is missing (apt-get install nats-server): ${why}` };
}

/**
 * The version in `nats-server --version`'s answer.
 *
 * @param text E.g. "nats-server: v2.9.10".
 * @returns E.g. "2.9.10", or the trimmed text if it has no version.
 */
export function serverVersionOf(text: string): string {
  return /v?(\d+\.\d+\.\d+\S*)/.exec(text)?.[1] ?? text.trim();
}

/** The NATS JavaScript client's version if 2.x is installed in bench/out/node/. */
async function clientVersion(): Promise<string | undefined> {
  try {
    const version = JSON.parse(await Deno.readTextFile(`${NATS_CLIENT}/package.json`)).version;
    return typeof version === "string" && version.startsWith("2.") ? version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What `node --version` said, for the report: "Node v20.20.2"; or Deno's
 * first line when Deno stands in for a missing node (Deno 2 puts a `node`
 * of its own on its children's PATH then).
 *
 * @param version The answer.
 * @returns The runtime.
 */
export function runtimeOf(version: string): string {
  const first = version.trim().split("\n")[0] ?? "";
  return /^v\d/.test(first) ? `Node ${first}` : first;
}

/** Looks for node, nats-server and the client, once. */
async function probe(): Promise<JetStreamProbe> {
  const node = await commandOutput("node", ["--version"]);
  if (!node.ok) return { ok: false, why: `node is missing: ${lastLines(node.stderr, 1)}` };
  const server = await findServer();
  if ("why" in server) return { ok: false, why: server.why };
  const client = await clientVersion();
  if (client === undefined) {
    return {
      ok: false,
      why: "the NATS JavaScript client (npm package nats 2.x) is not in bench/out/node/",
    };
  }
  const load = await commandOutput("node", [
    "--input-type=module",
    "-e",
    `await import(${JSON.stringify(new URL(`file://${NATS_CLIENT}/index.js`).href)})`,
  ]);
  if (!load.ok) {
    return { ok: false, why: `nats@${client} does not load: ${lastLines(load.stderr, 3)}` };
  }
  return {
    ok: true,
    server: server.path,
    serverVersion: server.version,
    clientVersion: client,
    runtime: runtimeOf(node.stdout),
  };
}

/**
 * Checks that JetStream can run here, installing nats-server and the NATS
 * JavaScript client with `tasks/setup.sh bench` when one is missing.
 *
 * @returns What there is, or why JetStream's runs are skipped.
 */
export async function jetstreamProbe(): Promise<JetStreamProbe> {
  const first = await probe();
  if (first.ok) return first;
  console.error(`bench:group: ${first.why}: sh tasks/setup.sh bench`);
  const setup = await commandOutput("sh", ["tasks/setup.sh", "bench"]);
  if (!setup.ok) {
    return {
      ok: false,
      why: `${first.why}, and tasks/setup.sh bench failed: ${
        lastLines(setup.stdout + setup.stderr, 3)
      }`,
    };
  }
  return await probe();
}

/**
 * What the report says of JetStream's versions, or why it did not run.
 *
 * @param probe What {@link jetstreamProbe} found.
 * @returns E.g. "nats-server 2.9.10, nats.js 2.29.3 on Node v20.20.2".
 */
export function jetstreamText(probe: JetStreamProbe): string {
  return probe.ok
    ? `nats-server ${probe.serverVersion}, nats.js ${probe.clientVersion} on ${probe.runtime}`
    : `not run: ${probe.why}`;
}

/**
 * nats-server's flags: JetStream on, only on 127.0.0.1, its own port and store.
 *
 * @param port The client port.
 * @param storeDir A fresh directory for JetStream's store (file storage writes there).
 * @returns The flags.
 */
export function serverArgs(port: number, storeDir: string): string[] {
  return ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir];
}

/**
 * The command line of the peer that creates the stream and holds the
 * clients at the start barrier until all of them are there.
 *
 * @param spec The run (its storage and clients).
 * @param url The server's URL.
 * @returns node's arguments.
 */
export function streamArgs(spec: RunSpec, url: string): string[] {
  return [
    JETSTREAM_PEER,
    ...["--role", "stream", "--server", url, "--stream", STREAM_NAME],
    ...["--storage", spec.storage ?? "memory", "--clients", String(spec.clients)],
  ];
}

/**
 * The command line of one client: publishes `count` of the run's messages
 * (at most {@link JETSTREAM_WINDOW} unacknowledged) and reads the whole
 * stream with an ordered consumer.
 *
 * @param spec The run.
 * @param url The server's URL.
 * @param id The client's id.
 * @param count Its share of the messages.
 * @param timeoutSeconds When it gives up.
 * @returns node's arguments.
 */
export function clientArgs(
  spec: RunSpec,
  url: string,
  id: string,
  count: number,
  timeoutSeconds: number,
): string[] {
  return [
    JETSTREAM_PEER,
    ...["--role", "client", "--server", url, "--stream", STREAM_NAME, "--id", id],
    ...["--count", String(count), "--expect", String(spec.total), "--size", String(spec.size)],
    ...["--window", String(JETSTREAM_WINDOW), "--max-messages", String(JETSTREAM_PULL_BATCH)],
    ...["--timeout", String(timeoutSeconds)],
  ];
}

/** What the stream held at the end of a run, as the peer's "stream" role said on SIGTERM. */
export interface StreamState {
  /** Messages in the stream. */
  messages: number;
  /** Their bytes, as the server counts them (headers and subjects included). */
  bytes: number;
}

/**
 * The stream's state in what the "stream" role printed.
 *
 * @param stdout Its stdout: {@link STREAM_READY}, then one JSON line at SIGTERM.
 * @returns The state, or undefined if it printed none (or an error).
 */
export function streamStateOf(stdout: string): StreamState | undefined {
  const json = lastJsonLine(stdout);
  if (json === undefined || typeof json.messages !== "number") return undefined;
  return { messages: json.messages, bytes: typeof json.bytes === "number" ? json.bytes : 0 };
}
