/**
 * A message-sequence chart of a scenario run, as SVG and as a small offline
 * HTML page: one lane per client and one for the sequencer, time flowing
 * downward by the order number G that the sequencer gave; for each G the
 * multicast from its sender to the sequencer, the fan-out to every client,
 * and on every client's lane a mark for what that client delivered at G:
 * green when it is the agreed payload, red (with the text) when it is not,
 * hollow when the client delivered nothing there. The title says whether
 * all clients agree.
 *
 * The output depends on the input alone (no time stamps), so it can be
 * compared in tests.
 *
 * @example
 * ```ts ignore
 * import { readChartInput, writeCharts } from "./chart.ts";
 * import { loadScenario } from "./scenario.ts";
 *
 * const input = await readChartInput("out/demo", await loadScenario("scenarios/seed"));
 * const { html } = await writeCharts("out/demo", input);
 * console.log(`Chart: ${html}`);
 * ```
 *
 * @module
 */

import { join } from "node:path";
import type { ScriptCommand } from "../roles/harness/script.ts";
import { analyse, type ChartInput } from "./_chart_analysis.ts";
import { svgOf } from "./_chart_svg.ts";
import { xml } from "./_chart_text.ts";

export type { ChartInput, ScriptCommand };

/**
 * Draws the message-sequence chart of a run as a standalone SVG document.
 *
 * Every lane id and every delivered payload appears as text (shortened ones in full in a
 * `<title>`); each order's group carries `data-g="<G>"`, and the groups of orders where some
 * client differs or lacks a delivery also carry `class="msc-bad-order"`. Runs of more than 500
 * orders show the first 200, the last 100 and the first disagreement, and say so in the title.
 *
 * @param input The clients, their scripts, deliveries and direct messages.
 * @returns The SVG text, the same for the same input.
 *
 * @example
 * ```ts
 * import { sequenceChartSvg } from "./chart.ts";
 * import assert from "node:assert/strict";
 *
 * const svg = sequenceChartSvg({
 *   clients: ["c1", "c2"],
 *   scripts: new Map([["c1", [{ kind: "multicast", text: "hi", line: 1 }]], ["c2", []]]),
 *   deliveries: new Map([["c1", ["c1###hi"]], ["c2", ["c1###hi"]]]),
 * });
 * assert.match(svg, /2 clients agree on 1 multicast/);
 * ```
 */
export function sequenceChartSvg(input: ChartInput): string {
  return svgOf(input, analyse(input));
}

/**
 * Renders the chart as a small HTML page that needs nothing from the network: a heading, a
 * table (client, delivered count, whether it agrees, direct messages) and the SVG inline.
 *
 * @param input The clients, their scripts, deliveries and direct messages.
 * @returns The HTML text, the same for the same input.
 *
 * @example
 * ```ts
 * import { sequenceChartHtml } from "./chart.ts";
 * import assert from "node:assert/strict";
 *
 * const html = sequenceChartHtml({
 *   clients: ["c1"],
 *   scripts: new Map([["c1", [{ kind: "multicast", text: "hi", line: 1 }]]]),
 *   deliveries: new Map([["c1", ["c1###hi"]]]),
 * });
 * assert.match(html, /<svg /);
 * ```
 */
export function sequenceChartHtml(input: ChartInput): string {
  const analysis = analyse(input);
  const rows = analysis.clients.map((c) => {
    const agrees = c.firstDiff === 0
      ? '<td class="yes">yes</td>'
      : `<td class="no">${
        c.firstDiffMark === "missing"
          ? `no: nothing from G=${c.firstDiff}`
          : `no: differs at G=${c.firstDiff}`
      }</td>`;
    const directs = input.directs === undefined
      ? ""
      : `<td${
        c.directsReceived === c.directsExpected ? "" : ' class="no"'
      }>${c.directsReceived}/${c.directsExpected}</td>`;
    return `<tr><td>${xml(c.id)}</td><td>${c.delivered}/${analysis.n}</td>${agrees}${directs}</tr>`;
  });
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<title>${xml(analysis.title)}</title>`,
    "<style>",
    "body{font:14px 'DejaVu Sans',Verdana,Arial,sans-serif;margin:16px;color:#222;background:#fff}",
    "h1{font-size:20px;margin:0 0 12px}h1.ok{color:#1a7f37}h1.bad{color:#c62828}",
    "table{border-collapse:collapse;margin:0 0 16px}",
    "th,td{border:1px solid #ccc;padding:3px 10px;text-align:left}",
    "th{background:#f3f3f3}.yes{color:#1a7f37}.no{color:#c62828;font-weight:bold}",
    ".chart{overflow:auto}",
    "</style>",
    "</head>",
    "<body>",
    `<h1 class="${analysis.firstBad === 0 ? "ok" : "bad"}">${xml(analysis.title)}</h1>`,
    ...(analysis.detail === "" ? [] : [`<p class="no">${xml(analysis.detail)}</p>`]),
    `<p>${xml(analysis.summary)}</p>`,
    '<table id="summary">',
    `<thead><tr><th>client</th><th>delivered</th><th>agrees?</th>${
      input.directs === undefined ? "" : "<th>direct messages</th>"
    }</tr></thead>`,
    `<tbody>\n${rows.join("\n")}\n</tbody>`,
    "</table>",
    '<div class="chart">',
    svgOf(input, analysis).trimEnd(),
    "</div>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/**
 * Writes `sequence.svg` and `index.html` into a folder, creating it if needed.
 *
 * @param outDir The folder, e.g. the demo's `out/demo`.
 * @param input The clients, their scripts, deliveries and direct messages.
 * @returns The paths written.
 *
 * @example
 * ```ts ignore
 * import { writeCharts } from "./chart.ts";
 *
 * const { html } = await writeCharts("out/demo", {
 *   clients: ["c1"],
 *   scripts: new Map([["c1", []]]),
 *   deliveries: new Map([["c1", []]]),
 * });
 * ```
 */
export async function writeCharts(
  outDir: string,
  input: ChartInput,
): Promise<{ svg: string; html: string }> {
  const svg = join(outDir, "sequence.svg");
  const html = join(outDir, "index.html");
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(
    svg,
    `<?xml version="1.0" encoding="UTF-8"?>\n${sequenceChartSvg(input)}`,
  );
  await Deno.writeTextFile(html, sequenceChartHtml(input));
  return { svg, html };
}

async function readLines(path: string): Promise<string[]> {
  try {
    const text = await Deno.readTextFile(path);
    return text.length === 0 ? [] : text.replace(/\n$/, "").split("\n");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/**
 * Builds a chart's input from a scenario's scripts and the result files of a run:
 * `test_result_<id>_tom.txt` and `test_result_<id>_uno.txt` in `outDir` (a missing file
 * counts as empty).
 *
 * @param outDir The folder the clients wrote their results into.
 * @param scripts The scenario's scripts by client id, as `loadScenario` returns them.
 * @returns The chart input, clients in the scripts' order.
 *
 * @example
 * ```ts ignore
 * import { readChartInput } from "./chart.ts";
 * import { loadScenario } from "./scenario.ts";
 *
 * const input = await readChartInput("out/demo", await loadScenario("scenarios/seed"));
 * ```
 */
export async function readChartInput(
  outDir: string,
  scripts: Map<string, ScriptCommand[]>,
): Promise<ChartInput> {
  const clients = [...scripts.keys()];
  const deliveries = new Map<string, string[]>();
  const directs = new Map<string, string[]>();
  for (const id of clients) {
    deliveries.set(id, await readLines(join(outDir, `test_result_${id}_tom.txt`)));
    directs.set(id, await readLines(join(outDir, `test_result_${id}_uno.txt`)));
  }
  return { clients, scripts, deliveries, directs };
}
