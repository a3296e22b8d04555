/**
 * What the sequence chart (`chart.ts`) draws, worked out once from its input: the agreed
 * order, where the clients first differ, the scripts' integrity, each client's summary, the
 * orders drawn of a large run, and the title lines. No I/O.
 *
 * @module
 */

import type { ScriptCommand } from "../roles/harness/script.ts";
import { scenarioPayload } from "../roles/harness/script.ts";
import { clip, plural } from "./_chart_text.ts";

/** What a chart is drawn from. */
export interface ChartInput {
  /** The client ids, in lane order (left to right); the first one's deliveries are the reference. */
  clients: string[];
  /** Each client's script: who multicast what and sent which direct message, in script order. */
  scripts: Map<string, ScriptCommand[]>;
  /** Each client's delivered multicast payloads in order (its `_tom` lines). */
  deliveries: Map<string, string[]>;
  /** Each client's received direct messages (its `_uno` lines), listed beside the chart. */
  directs?: Map<string, string[]>;
}

/** Runs longer than this are drawn in part: {@link HEAD} first orders and {@link TAIL} last ones. */
const LARGE = 500;
const HEAD = 200;
const TAIL = 100;

/** What a client delivered at an order G, against the agreed payload. */
export type Mark = "ok" | "bad" | "missing";

/** Everything the drawings need, worked out once. */
export interface Analysis {
  /** The number of orders: the longest delivery list. */
  n: number;
  /** The agreed payload of each order (index G - 1): the first client's, or the first that has one. */
  agreed: string[];
  /** The first G at which some client differs or lacks a delivery; 0 when all agree. */
  firstBad: number;
  /** The multicasts of the scripts. */
  scripted: number;
  /** Scripted multicasts missing from the agreed order, and agreed payloads no script sent. */
  integrity: { missing: number; unsent: number };
  /** Per client, in lane order. */
  clients: ClientSummary[];
  /** The segments of orders drawn, `[from, to]` inclusive, ascending. */
  shown: [number, number][];
  /** The title line. */
  title: string;
  /** Under the title when the clients disagree: who delivered what at the first bad G. */
  detail: string;
  /** A line of counts, with any integrity problem. */
  summary: string;
}

/** One client's line of the chart's table. */
export interface ClientSummary {
  id: string;
  delivered: number;
  /** The first G whose mark is not "ok"; 0 when none. */
  firstDiff: number;
  firstDiffMark: Mark;
  directsReceived: number;
  directsExpected: number;
}

/** What client `id` delivered at order `g`, against the agreed payload. */
export function markOf(
  input: ChartInput,
  analysis: { agreed: string[] },
  id: string,
  g: number,
): Mark {
  const got = input.deliveries.get(id)?.[g - 1];
  if (got === undefined) return "missing";
  return got === analysis.agreed[g - 1] ? "ok" : "bad";
}

/** The agreed payload of each order: the first client's that has one. */
function agreedOrder(input: ChartInput): string[] {
  const lists = input.clients.map((id) => input.deliveries.get(id) ?? []);
  const n = Math.max(0, ...lists.map((list) => list.length));
  const agreed: string[] = [];
  for (let i = 0; i < n; i++) {
    agreed.push(lists.find((list) => i < list.length)![i]!);
  }
  return agreed;
}

/** The first G at which some client's mark is not "ok"; 0 when none. */
function firstBadOf(input: ChartInput, agreed: string[]): number {
  for (let g = 1; g <= agreed.length; g++) {
    if (input.clients.some((id) => markOf(input, { agreed }, id, g) !== "ok")) return g;
  }
  return 0;
}

/** The scripts against the agreed order: multicasts scripted, missing and never sent. */
function integrityOf(input: ChartInput, agreed: string[]): {
  scripted: number;
  missing: number;
  unsent: number;
  directsExpected: Map<string, number>;
} {
  const sent = new Map<string, number>();
  const directsExpected = new Map<string, number>();
  let scripted = 0;
  for (const [id, commands] of input.scripts) {
    for (const command of commands) {
      if (command.kind === "multicast") {
        const payload = scenarioPayload(id, command.text);
        sent.set(payload, (sent.get(payload) ?? 0) + 1);
        scripted++;
      } else if (command.kind === "direct") {
        directsExpected.set(command.to, (directsExpected.get(command.to) ?? 0) + 1);
      }
    }
  }
  const left = new Map(sent);
  let unsent = 0;
  for (const payload of agreed) {
    const count = left.get(payload) ?? 0;
    if (count > 0) left.set(payload, count - 1);
    else unsent++;
  }
  const missing = [...left.values()].reduce((a, b) => a + b, 0);
  return { scripted, missing, unsent, directsExpected };
}

/** One client's summary: its count and its first order that is not "ok". */
function clientSummary(
  input: ChartInput,
  agreed: string[],
  directsExpected: Map<string, number>,
  id: string,
): ClientSummary {
  let firstDiff = 0;
  let firstDiffMark: Mark = "ok";
  for (let g = 1; g <= agreed.length; g++) {
    const mark = markOf(input, { agreed }, id, g);
    if (mark !== "ok") {
      firstDiff = g;
      firstDiffMark = mark;
      break;
    }
  }
  return {
    id,
    delivered: input.deliveries.get(id)?.length ?? 0,
    firstDiff,
    firstDiffMark,
    directsReceived: input.directs?.get(id)?.length ?? 0,
    directsExpected: directsExpected.get(id) ?? 0,
  };
}

/** The orders drawn: all of a small run; of a large one its head, its tail and the first bad G. */
function shownSegments(n: number, firstBad: number): [number, number][] {
  const shown: [number, number][] = [];
  if (n <= LARGE) {
    if (n > 0) shown.push([1, n]);
    return shown;
  }
  const wanted: [number, number][] = [[1, HEAD], [n - TAIL + 1, n]];
  if (firstBad > 0) wanted.push([Math.max(1, firstBad - 2), Math.min(n, firstBad + 2)]);
  wanted.sort((a, b) => a[0] - b[0]);
  for (const [from, to] of wanted) {
    const last = shown[shown.length - 1];
    if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else shown.push([from, to]);
  }
  return shown;
}

/** The title, and under it (when the clients disagree) who delivered what at the first bad G. */
function titleOf(
  input: ChartInput,
  agreed: string[],
  firstBad: number,
  shown: [number, number][],
): { title: string; detail: string } {
  const n = agreed.length;
  let title: string;
  let detail = "";
  if (firstBad === 0) {
    title = input.clients.length === 1
      ? `1 client delivered ${plural(n, "multicast")}`
      : `${input.clients.length} clients agree on ${plural(n, "multicast")}`;
  } else {
    const differing = input.clients
      .filter((id) => markOf(input, { agreed }, id, firstBad) !== "ok")
      .map((id) =>
        markOf(input, { agreed }, id, firstBad) === "missing"
          ? `${id} delivered nothing`
          : `${id} delivered ${JSON.stringify(clip(input.deliveries.get(id)![firstBad - 1]!, 40))}`
      );
    title = `DISAGREEMENT at G=${firstBad}`;
    detail = `At G=${firstBad}: ${differing.join(", ")} instead of ${
      JSON.stringify(clip(agreed[firstBad - 1]!, 40))
    }`;
  }
  if (n > LARGE) {
    title += ` (showing G=${shown.map(([a, b]) => `${a}..${b}`).join(", ")} of ${n})`;
  }
  return { title, detail };
}

/** The line of counts, with any integrity problem. */
function summaryOf(
  clients: number,
  n: number,
  { scripted, missing, unsent }: { scripted: number; missing: number; unsent: number },
): string {
  const problems = [
    ...(missing > 0 ? [`${missing} scripted not in the order`] : []),
    ...(unsent > 0 ? [`${unsent} in the order that no script sent`] : []),
  ];
  return `${plural(clients, "client")} and the sequencer; ${plural(n, "order")} (G); ${
    plural(scripted, "multicast")
  } in the scripts${problems.length > 0 ? `; ${problems.join(", ")}` : ""}`;
}

/**
 * Works out what the chart and its page show.
 *
 * @param input The clients, their scripts, deliveries and direct messages.
 * @returns The analysis, the same for the same input.
 */
export function analyse(input: ChartInput): Analysis {
  const agreed = agreedOrder(input);
  const n = agreed.length;
  const firstBad = firstBadOf(input, agreed);
  const integrity = integrityOf(input, agreed);
  const shown = shownSegments(n, firstBad);
  return {
    n,
    agreed,
    firstBad,
    scripted: integrity.scripted,
    integrity: { missing: integrity.missing, unsent: integrity.unsent },
    clients: input.clients.map((id) => clientSummary(input, agreed, integrity.directsExpected, id)),
    shown,
    ...titleOf(input, agreed, firstBad, shown),
    summary: summaryOf(input.clients.length, n, integrity),
  };
}
