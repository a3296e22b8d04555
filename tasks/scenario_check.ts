/**
 * The scenario checker: what a run of a scenario must have delivered, and whether it did, from
 * the scripts and the lines of the result files alone (no processes, no files).
 *
 * - **Agreement**: every client's `_tom` lines are the same as the reference's (the first live
 *   client's); a killed client's lines need only be a prefix of them.
 * - **Integrity**: every live client delivered every multicast of the scripts exactly once and
 *   nothing else; a killed client's multicasts may be missing, never doubled.
 * - **Direct messages**: every live client received the direct messages sent to it exactly once,
 *   and nothing else; those from a killed client may be missing, never doubled.
 * - **Views**: a membership view (`view N after P: ...`) is the same line at every client that has
 *   it: the same members, joins and departures at the same position.
 *
 * `runScenario()` (`scenario.ts`) starts the processes, waits, reads the files and calls
 * {@linkcode checkScenario}.
 *
 * @example
 * ```ts
 * import { checkScenario } from "./scenario_check.ts";
 * import { parseScript } from "../roles/harness/script.ts";
 * import assert from "node:assert/strict";
 *
 * const scripts = new Map([
 *   ["c1", parseScript("Multicast,c1,hi\nc1,c2,psst", "c1")],
 *   ["c2", parseScript("Multicast,c2,yo", "c2")],
 * ]);
 * const tom = ["c2###yo", "c1###hi"];
 * const check = checkScenario({
 *   scripts,
 *   results: new Map([["c1", { tom, uno: [] }], ["c2", { tom, uno: ["c1###psst"] }]]),
 * });
 * assert.deepEqual(check.violations, []);
 * assert.deepEqual(check.order, tom);
 * ```
 *
 * @module
 */

import { formatResultLine, parseResultLine } from "../roles/harness/result_line.ts";
import { countMulticasts, scenarioPayload, type ScriptCommand } from "../roles/harness/script.ts";

/** The scripts of a scenario by client id, in lane (id) order, as `loadScenario()` returns them. */
export type Scripts = ReadonlyMap<string, readonly ScriptCommand[]>;

/** What the scripts make the clients deliver and receive, as result-file lines. */
export interface ScenarioExpectations {
  /** Every multicast's line, clients in the scripts' order, each in script order. */
  multicasts: string[];
  /** Per client id, the lines of the direct messages it must receive. */
  directsTo: Map<string, string[]>;
  /** The longest script's sleeps, in seconds (before any time scale). */
  sleepSeconds: number;
}

/** One client's result files, as lines (`[]` for a file that does not exist). */
export interface ClientResults {
  /** Its `test_result_<id>_tom.txt` lines: the multicasts delivered, in order. */
  tom: readonly string[];
  /** Its `test_result_<id>_uno.txt` lines: the direct messages received. */
  uno: readonly string[];
  /** Its `test_result_<id>_views.txt` lines: the membership views, if read. */
  views?: readonly string[];
}

/** What {@linkcode checkScenario} reads. */
export interface ScenarioCheckInput {
  /** The scripts by client id; their order is the clients' order. */
  scripts: Scripts;
  /** Each client's result files; a client missing here counts as having written nothing. */
  results: ReadonlyMap<string, ClientResults>;
  /** The clients killed on purpose during the run. */
  killed?: Iterable<string>;
}

/** One client's counts, for the report. */
export interface ClientCheck {
  /** The client's id. */
  id: string;
  /** Multicasts its script sends. */
  multicasts: number;
  /** Multicasts it delivered (its `_tom` lines). */
  delivered: number;
  /** Direct messages it should receive. */
  directExpected: number;
  /** Direct messages it received (its `_uno` lines). */
  directReceived: number;
  /** True if it was killed on purpose. */
  killed: boolean;
}

/** What {@linkcode checkScenario} found. */
export interface ScenarioCheck {
  /** Every violation, in words; empty when the run is correct. */
  violations: string[];
  /** The reference order: the first live client's `_tom` lines. */
  order: string[];
  /** Multicasts every live client must deliver: those of the live clients' scripts. */
  expected: number;
  /** Per client, in the scripts' order. */
  clients: ClientCheck[];
}

/** The result-file line a client writes for a scenario payload that `sender` sent. */
export function expectedLine(sender: string, text: string): string {
  return new TextDecoder().decode(
    formatResultLine(new TextEncoder().encode(scenarioPayload(sender, text)), sender),
  );
}

/**
 * Works out what a scenario's scripts make every client deliver and receive.
 *
 * @param scripts The scripts by client id.
 * @param scenario The scenario's name for the error message, e.g. its folder.
 * @returns The multicasts' and direct messages' result-file lines, and the longest sleeps.
 * @throws {Error} A script sends a direct message to an id that has no script.
 */
export function scenarioExpectations(
  scripts: Scripts,
  scenario = "<scenario>",
): ScenarioExpectations {
  const multicasts: string[] = [];
  const directsTo = new Map<string, string[]>([...scripts.keys()].map((id) => [id, []]));
  let sleepSeconds = 0;
  for (const [id, commands] of scripts) {
    let total = 0;
    for (const command of commands) {
      if (command.kind === "multicast") {
        multicasts.push(expectedLine(id, command.text));
      } else if (command.kind === "direct") {
        const list = directsTo.get(command.to);
        if (list === undefined) {
          throw new Error(
            `Scenario ${scenario}: ${id}.txt:${command.line} sends to "${command.to}", which has no script`,
          );
        }
        list.push(expectedLine(id, command.text));
      } else total += command.seconds;
    }
    sleepSeconds = Math.max(sleepSeconds, total);
  }
  return { multicasts, directsTo, sleepSeconds };
}

/**
 * How many multicasts every live client must deliver: those of the live clients' scripts.
 *
 * @param scripts The scripts by client id.
 * @param killed The clients killed on purpose.
 * @returns The count.
 */
export function liveMulticasts(scripts: Scripts, killed: ReadonlySet<string>): number {
  let count = 0;
  for (const [id, commands] of scripts) if (!killed.has(id)) count += countMulticasts(commands);
  return count;
}

function multiset(items: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/**
 * Compares what was sent (`a`) with what arrived (`b`); items for which
 * `optional` holds may arrive fewer times (a killed sender), never more.
 */
function sameMultiset(
  a: Map<string, number>,
  b: Map<string, number>,
  optional: (item: string) => boolean = () => false,
): string | null {
  for (const [item, count] of a) {
    const other = b.get(item) ?? 0;
    if (other > count || (other < count && !optional(item))) {
      return `${JSON.stringify(item)} ${other} times instead of ${count}`;
    }
  }
  for (const [item, count] of b) {
    if (!a.has(item)) return `${JSON.stringify(item)} ${count} times, never sent`;
  }
  return null;
}

/** Agreement: each client's order against the reference's; a killed one's may be a prefix. */
function agreementViolations(
  orders: ReadonlyMap<string, readonly string[]>,
  referenceId: string,
  killed: ReadonlySet<string>,
): string[] {
  const violations: string[] = [];
  const reference = orders.get(referenceId) ?? [];
  for (const [id, order] of orders) {
    if (id === referenceId) continue;
    const at = order.findIndex((line, i) => line !== reference[i]);
    const lengthDiffers = killed.has(id)
      ? order.length > reference.length
      : order.length !== reference.length;
    if (at >= 0 || lengthDiffers) {
      const i = at >= 0 ? at : Math.min(order.length, reference.length);
      violations.push(
        `agreement: ${id} differs from ${referenceId} at delivery ${i + 1}: ${
          JSON.stringify(order[i])
        } vs ${JSON.stringify(reference[i])}`,
      );
    }
  }
  return violations;
}

/** Integrity and direct messages at one live client; a killed sender's may be missing. */
function deliveryViolations(
  id: string,
  expectations: ScenarioExpectations,
  results: ClientResults,
  killed: ReadonlySet<string>,
): string[] {
  const violations: string[] = [];
  const fromKilled = (line: string) => killed.has(parseResultLine(line).sender);
  const wrong = sameMultiset(
    multiset(expectations.multicasts),
    multiset(results.tom),
    fromKilled,
  );
  if (wrong !== null) violations.push(`integrity: ${id} delivered ${wrong}`);
  const directWrong = sameMultiset(
    multiset(expectations.directsTo.get(id) ?? []),
    multiset(results.uno),
    fromKilled,
  );
  if (directWrong !== null) violations.push(`direct messages: ${id} received ${directWrong}`);
  return violations;
}

/**
 * Views that differ: each view is named by its number and position (`view N after P`, unique
 * even across a sequencer started again), and every client that has it must have the same line.
 */
function viewViolations(results: ReadonlyMap<string, ClientResults>): string[] {
  const first = new Map<string, { id: string; line: string }>();
  const violations: string[] = [];
  for (const [id, { views = [] }] of results) {
    for (const line of views) {
      const name = line.slice(0, line.indexOf(":"));
      const seen = first.get(name);
      if (seen === undefined) first.set(name, { id, line });
      else if (seen.line !== line) {
        violations.push(`views: ${id} has "${line}" where ${seen.id} has "${seen.line}"`);
      }
    }
  }
  return violations;
}

/**
 * Checks a run of a scenario: agreement, integrity and the direct messages (see the module's
 * doc), from the scripts and the result files' lines alone.
 *
 * @param input The scripts, each client's result lines and the clients killed on purpose.
 * @returns The violations (agreement first, then each live client's integrity and direct
 * messages), the reference order, the live multicasts expected and each client's counts.
 * @throws {Error} A script sends a direct message to an id that has no script.
 */
export function checkScenario(input: ScenarioCheckInput): ScenarioCheck {
  const { scripts } = input;
  const killed = new Set(input.killed ?? []);
  const ids = [...scripts.keys()];
  const expectations = scenarioExpectations(scripts);
  const results = new Map(ids.map((id) => [id, input.results.get(id) ?? { tom: [], uno: [] }]));
  const orders = new Map(ids.map((id) => [id, results.get(id)!.tom]));
  const live = ids.filter((id) => !killed.has(id));
  const referenceId = live[0] ?? ids[0];
  const violations = referenceId === undefined
    ? []
    : agreementViolations(orders, referenceId, killed);
  for (const id of live) {
    violations.push(...deliveryViolations(id, expectations, results.get(id)!, killed));
  }
  violations.push(...viewViolations(results));
  return {
    violations,
    order: referenceId === undefined ? [] : [...orders.get(referenceId)!],
    expected: liveMulticasts(scripts, killed),
    clients: ids.map((id) => ({
      id,
      multicasts: countMulticasts(scripts.get(id)!),
      delivered: results.get(id)!.tom.length,
      directExpected: expectations.directsTo.get(id)!.length,
      directReceived: results.get(id)!.uno.length,
      killed: killed.has(id),
    })),
  };
}
