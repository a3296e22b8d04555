/**
 * Bursts of multicasts run as separate processes through `runScenario`
 * (scripts without sleeps written into a temporary folder), and the checks
 * of their results: shared by the fault tests and the HA tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeBase64 } from "../roles/sequencer/base64.ts";
import {
  formatReport,
  readLines,
  resultPaths,
  runScenario,
  type ScenarioControl,
  type ScenarioReport,
} from "../tasks/scenario.ts";
import { inTempDir, within } from "./_helpers.ts";

/** How long one scenario may take, all in, before the test fails. */
export const T = 90_000;
/** No role's peak resident memory (VmHWM) may exceed this, in KiB. */
const MEMORY_BOUND_KIB = 400 * 1024;
const decoder = new TextDecoder();

/** Client id -> how many multicasts its script sends, with no sleeps. */
export type Counts = Record<string, number>;

/** The payload of multicast `i` of `id`, as the client writes it to its `_tom` file. */
export function payloadOf(id: string, i: number): string {
  return `${id}###m${i}`;
}

/** Writes one burst script per client (`Multicast,<id>,m<i>`, no sleeps) into `dir`. */
export async function writeBurst(dir: string, counts: Counts): Promise<string[]> {
  const all: string[] = [];
  for (const [id, count] of Object.entries(counts)) {
    const lines = Array.from({ length: count }, (_, i) => `Multicast,${id},m${i}`);
    await Deno.writeTextFile(
      join(dir, `${id}.txt`),
      `# ${count} multicasts\n${lines.join("\n")}\n`,
    );
    for (let i = 0; i < count; i++) all.push(payloadOf(id, i));
  }
  return all;
}

/** Runs a burst scenario (scripts written into a temporary folder) through `runScenario`. */
export function burstScenario(
  counts: Counts,
  options: Omit<Parameters<typeof runScenario>[0], "scenario" | "out"> = {},
  afterRun?: (out: string, report: ScenarioReport, sent: string[]) => Promise<void>,
): Promise<{ report: ScenarioReport; sent: string[]; views: Map<string, string[]> }> {
  return inTempDir("faults-test-", async (dir) => {
    const scenario = join(dir, "scenario");
    await Deno.mkdir(scenario);
    const sent = await writeBurst(scenario, counts);
    const out = join(dir, "out");
    const report = await within(
      T,
      `the scenario ${JSON.stringify(counts)}`,
      runScenario({ timeoutSeconds: 60, ...options, scenario, out }),
    );
    await afterRun?.(out, report, sent);
    const views = new Map(
      Object.keys(counts).map((id) => [id, readLines(resultPaths(out, id).views)]),
    );
    return { report, sent, views };
  });
}

/** Asserts that every role stayed under the memory bound; returns the numbers in MiB for printing. */
export function assertMemory(peakKiB: Record<string, number>): string {
  const roles = Object.keys(peakKiB);
  assert.ok(roles.includes("broker") && roles.includes("sequencer"), `no peaks for ${roles}`);
  for (const [role, kib] of Object.entries(peakKiB)) {
    assert.ok(kib > 0, `no peak memory was read for ${role}`);
    assert.ok(
      kib < MEMORY_BOUND_KIB,
      `${role} peaked at ${(kib / 1024).toFixed(0)} MiB, over ${MEMORY_BOUND_KIB / 1024} MiB`,
    );
  }
  return roles.map((role) => `${role} ${(peakKiB[role]! / 1024).toFixed(0)}`).join(", ") +
    ` MiB (bound ${MEMORY_BOUND_KIB / 1024} MiB)`;
}

/** Asserts a clean report in which every client delivered all of `sent`. */
export function assertComplete(report: ScenarioReport, sent: string[]): void {
  assert.deepEqual(report.violations, [], formatReport(report));
  assert.equal(report.expected, sent.length, formatReport(report));
  for (const client of report.clients) {
    assert.equal(client.delivered, sent.length, `${client.id}: ${formatReport(report)}`);
  }
  assert.deepEqual([...report.order].sort(), [...sent].sort(), "the agreed order's messages");
  assert.deepEqual(report.infrastructure, { broker: 0, sequencer: 0 });
}

/**
 * Waits until `condition()` holds, checking every 20 ms; fails after `ms`
 * naming `what`. (Progress of other processes is only seen in their files.)
 */
export async function waitUntil(
  condition: () => boolean,
  ms: number,
  what: () => string,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${ms} ms waiting for ${what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until client `id` delivered at least `count` multicasts (a fault script's trigger). */
export function untilDelivered(control: ScenarioControl, id: string, count: number): Promise<void> {
  return waitUntil(
    () => control.delivered(id) >= count,
    30_000,
    () => `${id} to deliver ${count} (it has ${control.delivered(id)})`,
  );
}

/**
 * Checks an order log ("<G> <base64 payload> <origin|->" a line): G = 1..N
 * with N the number of multicasts sent, each payload in the order delivered.
 *
 * @returns How many orders it holds.
 */
export async function assertLogAsDelivered(
  log: string,
  sent: string[],
  order: string[],
): Promise<number> {
  const records = (await Deno.readTextFile(log)).replace(/\n$/, "").split("\n");
  assert.equal(records.length, sent.length, `the log has ${records.length} orders`);
  const payloads = records.map((record, i) => {
    const [seq, payload] = record.split(" ");
    assert.equal(seq, String(i + 1), `log line ${i + 1}: ${record.slice(0, 80)}`);
    return decoder.decode(decodeBase64(payload!));
  });
  assert.deepEqual(payloads, order, "the log's order is not the delivered order");
  return records.length;
}

/**
 * Asserts sender order: in the agreed order, each client's burst payloads
 * (`<id>###m<i>`) come with i rising, as it sent them.
 */
export function assertSenderOrder(order: readonly string[]): void {
  const last = new Map<string, number>();
  order.forEach((payload, at) => {
    const [id, text] = payload.split("###");
    const i = Number(text!.slice(1));
    const before = last.get(id!) ?? -1;
    assert.ok(
      i > before,
      `sender order: ${payload} at delivery ${at + 1} comes after ${id}###m${before}`,
    );
    last.set(id!, i);
  });
}
