/**
 * One measurement of the binding benchmark: two processes of one
 * implementation over tcp loopback, the binding side first, and the
 * measuring side's JSON line. And which measurements a bench makes.
 *
 * @module
 */

import { freeBasePort, kill, type RoleProcess, spawn } from "../../tasks/_processes.ts";
import { lastLines } from "../command.ts";
import type { Implementation } from "./peers.ts";

/** The high-water mark every peer sets on every socket (libzmq's default). */
export const HWM = 1000;

/** One kind of measurement. */
export interface Measurement {
  /** Key in the JSON output. */
  id: "thr_32" | "thr_1k" | "rtt_32";
  /** Column title. */
  title: string;
  /** The binding side's mode and the connecting side's mode. */
  modes: ["pull", "push"] | ["rep", "req"];
  /** Messages (or timed round trips). */
  count: number;
  /** Message size in bytes. */
  size: number;
}

/** The outcome of one run: the measuring peer's JSON, or why it failed. */
export type RunResult =
  | { ok: true; value: Record<string, number | string> }
  | { ok: false; error: string };

/**
 * The measurements: throughput of 32 B and 1 KiB messages, and the round
 * trip of 32 B.
 *
 * @param scale Multiplies every message count.
 * @returns The three measurements.
 */
export function measurements(scale: number): [Measurement, Measurement, Measurement] {
  const count = (n: number) => Math.max(2, Math.round(n * scale));
  return [
    {
      id: "thr_32",
      title: "throughput 32 B",
      modes: ["pull", "push"],
      count: count(2_000_000),
      size: 32,
    },
    {
      id: "thr_1k",
      title: "throughput 1 KiB",
      modes: ["pull", "push"],
      count: count(500_000),
      size: 1024,
    },
    {
      id: "rtt_32",
      title: "round trip 32 B",
      modes: ["rep", "req"],
      count: count(20_000),
      size: 32,
    },
  ];
}

/** The peers running now, killed on Ctrl-C. */
const live = new Set<RoleProcess>();

/** Kills every peer still running (for Ctrl-C). */
export function killPeers(): void {
  for (const peer of live) kill(peer);
}

/** Starts a peer in `args[0]`'s mode, with its stdout kept. */
function startPeer(impl: Implementation, args: string[]): RoleProcess {
  const [program, argv] = impl.command(args);
  const peer = spawn(args[0]!, program, argv, false, true);
  live.add(peer);
  const forget = () => live.delete(peer);
  peer.status.then(forget, forget);
  return peer;
}

function describeExit(peer: RoleProcess, status: Deno.CommandStatus): string {
  const how = status.signal ? `was killed by ${status.signal}` : `exited with ${status.code}`;
  const detail = lastLines(peer.stderr() + peer.stdout(), 3);
  return `${peer.name} ${how}${detail ? `: ${detail}` : ""}`;
}

/**
 * Runs one measurement with two processes of one implementation: the
 * binding side first, then the connecting side; kills both after
 * `timeoutMs`, or the survivor soon after the other failed.
 *
 * @param impl The implementation.
 * @param m The measurement.
 * @param timeoutMs How long the pair may take.
 * @returns The measuring side's JSON line, or why there is none.
 */
export async function measure(
  impl: Implementation,
  m: Measurement,
  timeoutMs: number,
): Promise<RunResult> {
  const endpoint = `tcp://127.0.0.1:${freeBasePort(1)}`;
  const args = (mode: string) => [mode, endpoint, String(m.count), String(m.size)];
  let server: RoleProcess;
  try {
    server = startPeer(impl, args(m.modes[0]));
  } catch (error) {
    return { ok: false, error: `cannot start ${m.modes[0]}: ${error}` };
  }
  let client: RoleProcess;
  try {
    client = startPeer(impl, args(m.modes[1]));
  } catch (error) {
    kill(server);
    await server.status;
    return { ok: false, error: `cannot start ${m.modes[1]}: ${error}` };
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill(server);
    kill(client);
  }, timeoutMs);
  try {
    return await outcome(server, client, timeoutMs, () => timedOut);
  } finally {
    clearTimeout(timer);
    kill(server);
    kill(client);
    await Promise.allSettled([server.status, client.status]);
  }
}

/**
 * Waits for both peers (killing the survivor once one failed) and reads
 * the measuring side's JSON line.
 */
async function outcome(
  server: RoleProcess,
  client: RoleProcess,
  timeoutMs: number,
  timedOut: () => boolean,
): Promise<RunResult> {
  const first = await Promise.race([server, client].map((p) => p.status.then(() => p)));
  const other = first === server ? client : server;
  if (!(await first.status).success) kill(other);
  await other.status;
  const ended = await Promise.all([first, other].map(async (p) => ({ p, status: await p.status })));
  if (timedOut()) {
    const killed = ended.filter((e) => !e.status.success).map((e) => e.p.name).join(" and ");
    return { ok: false, error: `timed out after ${timeoutMs / 1000} s (killed ${killed})` };
  }
  for (const { p, status } of ended) {
    if (!status.success) return { ok: false, error: describeExit(p, status) };
  }
  const measuring = [first, other].find((p) => p.name === "pull" || p.name === "req")!;
  const line = measuring.stdout().trim().split("\n").at(-1) ?? "";
  try {
    return { ok: true, value: JSON.parse(line) };
  } catch {
    return {
      ok: false,
      error: `${measuring.name} printed no JSON result: ${
        lastLines(measuring.stdout() + measuring.stderr(), 3)
      }`,
    };
  }
}
