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
import { scenarioPayload } from "../roles/harness/script.ts";

export type { ScriptCommand };

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

// Geometry, in pixels.
const ROW = 32;
const GUTTER = 56;
const MONO = 7.3; // width of a character of 12 px monospace
const MONO_SMALL = 6.1; // width of a character of 10 px monospace
const SANS = 6.9; // average width of a character of 12 px sans-serif
const LABEL_CHARS = 64;
const DIRECTS_SHOWN = 40;

const SENDER_COLOURS = [
  "#1f6fd1",
  "#e08a00",
  "#8a4fc7",
  "#00a3b8",
  "#b5651d",
  "#d14fa0",
  "#4a5dbf",
  "#6b7d00",
] as const;
const UNKNOWN_COLOUR = "#777777";

type Mark = "ok" | "bad" | "missing";

/** Everything the drawings need, worked out once. */
interface Analysis {
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

interface ClientSummary {
  id: string;
  delivered: number;
  /** The first G whose mark is not "ok"; 0 when none. */
  firstDiff: number;
  firstDiffMark: Mark;
  directsReceived: number;
  directsExpected: number;
}

function markOf(input: ChartInput, analysis: { agreed: string[] }, id: string, g: number): Mark {
  const got = input.deliveries.get(id)?.[g - 1];
  if (got === undefined) return "missing";
  return got === analysis.agreed[g - 1] ? "ok" : "bad";
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function analyse(input: ChartInput): Analysis {
  const lists = input.clients.map((id) => input.deliveries.get(id) ?? []);
  const n = Math.max(0, ...lists.map((list) => list.length));
  const agreed: string[] = [];
  for (let i = 0; i < n; i++) {
    agreed.push(lists.find((list) => i < list.length)![i]!);
  }
  let firstBad = 0;
  for (let g = 1; g <= n && firstBad === 0; g++) {
    if (input.clients.some((id) => markOf(input, { agreed }, id, g) !== "ok")) firstBad = g;
  }

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

  const clients = input.clients.map((id): ClientSummary => {
    let firstDiff = 0;
    let firstDiffMark: Mark = "ok";
    for (let g = 1; g <= n; g++) {
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
  });

  const shown: [number, number][] = [];
  if (n <= LARGE) {
    if (n > 0) shown.push([1, n]);
  } else {
    const wanted: [number, number][] = [[1, HEAD], [n - TAIL + 1, n]];
    if (firstBad > 0) wanted.push([Math.max(1, firstBad - 2), Math.min(n, firstBad + 2)]);
    wanted.sort((a, b) => a[0] - b[0]);
    for (const [from, to] of wanted) {
      const last = shown[shown.length - 1];
      if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
      else shown.push([from, to]);
    }
  }

  let title: string;
  let detail = "";
  if (firstBad === 0) {
    title = input.clients.length === 1
      ? `1 client delivered ${plural(n, "multicast")}`
      : `${input.clients.length} clients agree on ${plural(n, "multicast")}`;
  } else {
    const differing = clients
      .filter((c) => markOf(input, { agreed }, c.id, firstBad) !== "ok")
      .map((c) =>
        markOf(input, { agreed }, c.id, firstBad) === "missing"
          ? `${c.id} delivered nothing`
          : `${c.id} delivered ${
            JSON.stringify(clip(input.deliveries.get(c.id)![firstBad - 1]!, 40))
          }`
      );
    title = `DISAGREEMENT at G=${firstBad}`;
    detail = `At G=${firstBad}: ${differing.join(", ")} instead of ${
      JSON.stringify(clip(agreed[firstBad - 1]!, 40))
    }`;
  }
  if (n > LARGE) {
    title += ` (showing G=${shown.map(([a, b]) => `${a}..${b}`).join(", ")} of ${n})`;
  }
  const problems = [
    ...(missing > 0 ? [`${missing} scripted not in the order`] : []),
    ...(unsent > 0 ? [`${unsent} in the order that no script sent`] : []),
  ];
  const summary = `${plural(input.clients.length, "client")} and the sequencer; ${
    plural(n, "order")
  } (G); ${plural(scripted, "multicast")} in the scripts${
    problems.length > 0 ? `; ${problems.join(", ")}` : ""
  }`;
  return {
    n,
    agreed,
    firstBad,
    scripted,
    integrity: { missing, unsent },
    clients,
    shown,
    title,
    detail,
    summary,
  };
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for XML and HTML, replacing characters XML cannot hold. */
function xml(text: string): string {
  return text
    .toWellFormed()
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "\uFFFD")
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Shortens text to `max` characters, ending with an ellipsis when cut. */
function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}\u2026`;
}

/** Text, with a tooltip holding the whole when it had to be shortened. */
function textWithTitle(text: string, max: number): string {
  const shown = clip(text, max);
  return shown === text ? xml(text) : `<title>${xml(text)}</title>${xml(shown)}`;
}

function senderOf(payload: string, lanes: Map<string, number>): string | undefined {
  const at = payload.indexOf("###");
  if (at < 0) return undefined;
  const sender = payload.slice(0, at);
  return lanes.has(sender) ? sender : undefined;
}

function svgOf(input: ChartInput, analysis: Analysis): string {
  const { clients } = input;
  const laneIndex = new Map(clients.map((id, i) => [id, i]));
  const headerIds = clients.map((id) => clip(id, 20));
  const longestId = Math.max(9, ...headerIds.map((id) => Array.from(id).length));
  const spacing = Math.min(200, Math.max(112, Math.ceil(longestId * MONO) + 36));
  const seqX = GUTTER + 56;
  const laneX = (i: number) => seqX + spacing * (i + 1);
  const lastX = clients.length > 0 ? laneX(clients.length - 1) : seqX;
  const labelX = lastX + 36;
  const colourOf = (id: string | undefined) =>
    id === undefined ? UNKNOWN_COLOUR : SENDER_COLOURS[laneIndex.get(id)! % SENDER_COLOURS.length]!;

  const shownOrders: number[] = [];
  for (const [from, to] of analysis.shown) for (let g = from; g <= to; g++) shownOrders.push(g);
  const labelChars = Math.min(
    LABEL_CHARS,
    Math.max(
      analysis.shown.length > 1 ? 44 : 24, // room for "⋮ G=201..9900 not drawn (9700 orders)"
      ...shownOrders.map((g) => `${g}: `.length + Array.from(analysis.agreed[g - 1]!).length),
    ),
  );
  const chartWidth = Math.ceil(labelX + labelChars * MONO + 24);

  // The legend, wrapped to the chart's width.
  const legendItems: { glyph: (x: number, y: number) => string; text: string }[] = [
    {
      glyph: (x, y) =>
        `<line x1="${x + 28}" y1="${y}" x2="${x + 6}" y2="${y}" stroke="${
          SENDER_COLOURS[0]
        }" stroke-width="1.8"/><path d="M${x + 2} ${y}l9-4v8z" fill="${SENDER_COLOURS[0]}"/>`,
      text: "multicast, sender to sequencer (sender's colour)",
    },
    {
      glyph: (x, y) =>
        `<line x1="${x + 2}" y1="${y}" x2="${x + 22}" y2="${y}" class="msc-fan"/><path d="M${
          x + 30
        } ${y}l-9-4v8z" fill="#555"/>`,
      text: "order G, sequencer to every client",
    },
    {
      glyph: (x, y) => `<circle cx="${x + 14}" cy="${y}" r="5" class="msc-ok"/>`,
      text: "delivered the agreed payload at G",
    },
    {
      glyph: (x, y) => `<circle cx="${x + 14}" cy="${y}" r="5" class="msc-bad"/>`,
      text: "delivered something else (shown)",
    },
    {
      glyph: (x, y) => `<circle cx="${x + 14}" cy="${y}" r="5" class="msc-missing"/>`,
      text: "delivered nothing at G",
    },
  ];
  const titleWidth = Math.max(
    Math.ceil(Array.from(analysis.title).length * 11) + 40,
    Math.ceil(Array.from(analysis.detail).length * 8) + 40,
    Math.ceil(Array.from(analysis.summary).length * SANS) + 160,
  );
  const width = Math.max(chartWidth, Math.min(titleWidth, 1400), 640);
  const legendLines: { x: number; item: typeof legendItems[number] }[][] = [[]];
  let cursor = 16;
  for (const item of legendItems) {
    const itemWidth = 36 + Math.ceil(item.text.length * SANS) + 20;
    if (cursor + itemWidth > width - 8 && legendLines[legendLines.length - 1]!.length > 0) {
      legendLines.push([]);
      cursor = 16;
    }
    legendLines[legendLines.length - 1]!.push({ x: cursor, item });
    cursor += itemWidth;
  }

  const out: string[] = [];
  const summaryY = analysis.detail === "" ? 50 : 72;
  const legendTop = summaryY + 20;
  const headerTop = legendTop + legendLines.length * 20 + 6;
  const top = headerTop + 40;
  const rowsCount = shownOrders.length + Math.max(0, analysis.shown.length - 1);
  const lanesBottom = top + rowsCount * ROW + 8;
  const footer = rowsCount > 20;
  let y = lanesBottom + (footer ? 30 : 0) + 28;

  // Direct messages, one block per client.
  const directLines: string[] = [];
  if (input.directs !== undefined) {
    const wrapChars = Math.max(40, Math.floor((width - 48) / MONO));
    directLines.push(
      `<text x="16" y="${y}" class="msc-heading">Direct messages received (each client's _uno lines)</text>`,
    );
    y += 20;
    for (const summary of analysis.clients) {
      const received = input.directs.get(summary.id) ?? [];
      const listed = received.slice(0, DIRECTS_SHOWN).map((m) => clip(m, 60));
      if (received.length > DIRECTS_SHOWN) {
        listed.push(`(${received.length - DIRECTS_SHOWN} more)`);
      }
      const head =
        `${clip(summary.id, 20)} \u2190 ${summary.directsReceived}/${summary.directsExpected}` +
        (listed.length > 0 ? ": " : "");
      let line = head;
      const lines: string[] = [];
      for (const [i, item] of listed.entries()) {
        const piece = item + (i < listed.length - 1 ? ", " : "");
        if (line.length + piece.length > wrapChars && line.trim() !== "" && line !== head) {
          lines.push(line);
          line = "    ";
        }
        line += piece;
      }
      lines.push(line);
      const ok = summary.directsReceived === summary.directsExpected;
      for (const text of lines) {
        directLines.push(
          `<text x="16" y="${y}" class="msc-mono${ok ? "" : " msc-bad-text"}">${xml(text)}</text>`,
        );
        y += 16;
      }
    }
  }
  const height = y + 8;

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="msc-title">`,
    `<title id="msc-title">${xml(analysis.title)}</title>`,
    "<style>",
    "svg text{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;font-size:12px;fill:#222}",
    ".msc-mono,.msc-label,.msc-g,.msc-lane-id{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace}",
    ".msc-title{font-size:17px;font-weight:bold}",
    ".msc-title.msc-agree{fill:#1a7f37}.msc-title.msc-disagree{fill:#c62828}",
    ".msc-detail{font-size:13px;font-weight:bold;fill:#c62828}",
    ".msc-heading{font-weight:bold;font-size:13px}",
    ".msc-lane{stroke:#b0b0b0;stroke-width:1.2}",
    ".msc-seq-lane{stroke:#333;stroke-width:2.5}",
    ".msc-fan{stroke:#555;stroke-width:1.2}",
    ".msc-ok{fill:#1a9e3a;stroke:#fff;stroke-width:1}",
    ".msc-bad{fill:#d11f1f;stroke:#fff;stroke-width:1}",
    ".msc-missing{fill:#fff;stroke:#888;stroke-width:1.5;stroke-dasharray:2 2}",
    ".msc-diff{font-size:10px;fill:#c62828;stroke:#fff;stroke-width:3px;paint-order:stroke;font-family:'DejaVu Sans Mono',monospace}",
    ".msc-bad-row{fill:#fde8e8}",
    ".msc-bad-text{fill:#c62828}",
    ".msc-g{fill:#555;text-anchor:end}",
    ".msc-gap{fill:#777;font-style:italic}",
    ".msc-lane-id{text-anchor:middle;font-weight:bold}",
    "</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="16" y="28" class="msc-title ${
      analysis.firstBad === 0 ? "msc-agree" : "msc-disagree"
    }">${xml(analysis.title)}</text>`,
  );
  const { missing, unsent } = analysis.integrity;
  if (analysis.detail !== "") {
    out.push(`<text x="16" y="50" class="msc-detail">${xml(analysis.detail)}</text>`);
  }
  out.push(
    `<text x="16" y="${summaryY}"${missing + unsent > 0 ? ' class="msc-bad-text"' : ""}>${
      xml(`Sequence chart: ${analysis.summary}`)
    }</text>`,
  );
  for (const [line, items] of legendLines.entries()) {
    const ly = legendTop + line * 20;
    for (const { x, item } of items) {
      out.push(item.glyph(x, ly - 4), `<text x="${x + 36}" y="${ly}">${xml(item.text)}</text>`);
    }
  }

  // Lanes with their headers (repeated below a long chart).
  const laneHeader = (x: number, yTop: number, id: string, sequencer: boolean, colour: string) => {
    const boxWidth = Math.ceil(Array.from(clip(id, 20)).length * MONO) + 20;
    return `<rect x="${
      x - boxWidth / 2
    }" y="${yTop}" width="${boxWidth}" height="24" rx="4" fill="${
      sequencer ? "#333" : "#fff"
    }" stroke="${colour}" stroke-width="2"/><text x="${x}" y="${yTop + 17}" class="msc-lane-id"${
      sequencer ? ' style="fill:#fff"' : ""
    }>${textWithTitle(id, 20)}</text>`;
  };
  out.push(`<text x="${GUTTER - 12}" y="${headerTop + 17}" class="msc-g">G</text>`);
  // Lanes go over the backgrounds of bad rows, drawn with the rows below.
  const lanesAt = out.length;
  const backgrounds: string[] = [];
  const laneTop = headerTop + 24;
  out.push(
    `<line x1="${seqX}" y1="${laneTop}" x2="${seqX}" y2="${lanesBottom}" class="msc-seq-lane"/>`,
  );
  for (let i = 0; i < clients.length; i++) {
    const x = laneX(i);
    out.push(`<line x1="${x}" y1="${laneTop}" x2="${x}" y2="${lanesBottom}" class="msc-lane"/>`);
  }
  const headers = (yTop: number) => {
    out.push(laneHeader(seqX, yTop, "sequencer", true, "#333"));
    for (const [i, id] of clients.entries()) {
      out.push(laneHeader(laneX(i), yTop, id, false, colourOf(id)));
    }
  };
  headers(headerTop);
  if (footer) headers(lanesBottom);

  // One row per order G, with a gap row between drawn segments.
  let row = 0;
  for (const [s, [from, to]] of analysis.shown.entries()) {
    if (s > 0) {
      const previous = analysis.shown[s - 1]![1];
      const rowTop = top + row * ROW;
      out.push(
        `<text x="${labelX}" y="${rowTop + 21}" class="msc-gap">${
          xml(
            `\u22EE G=${previous + 1}..${from - 1} not drawn (${
              plural(from - previous - 1, "order")
            })`,
          )
        }</text>`,
      );
      row++;
    }
    for (let g = from; g <= to; g++) {
      const rowTop = top + row * ROW;
      row++;
      const payload = analysis.agreed[g - 1]!;
      const sender = senderOf(payload, laneIndex);
      const colour = colourOf(sender);
      const marks = clients.map((id) => markOf(input, analysis, id, g));
      const bad = marks.some((m) => m !== "ok");
      const mcY = rowTop + 8;
      const fanY = rowTop + 19;
      out.push(`<g data-g="${g}"${bad ? ' class="msc-bad-order"' : ""}>`);
      if (bad) {
        const height = ROW - 2;
        backgrounds.push(
          `<rect x="4" y="${rowTop + 1}" width="${
            width - 8
          }" height="${height}" class="msc-bad-row"/>`,
        );
      }
      out.push(`<text x="${GUTTER - 12}" y="${fanY + 4}" class="msc-g">${g}</text>`);
      if (sender !== undefined) {
        const sx = laneX(laneIndex.get(sender)!);
        out.push(
          `<line x1="${sx}" y1="${mcY}" x2="${
            seqX + 8
          }" y2="${mcY}" stroke="${colour}" stroke-width="1.8"/>`,
          `<path d="M${seqX + 2} ${mcY}l9-4v8zM${sx} ${
            mcY - 3
          }v6" stroke="${colour}" fill="${colour}"/>`,
        );
      }
      if (clients.length > 0) {
        const heads = clients.map((_, i) => `M${laneX(i) - 6} ${fanY}l-9-4v8z`).join("");
        out.push(
          `<line x1="${seqX}" y1="${fanY}" x2="${lastX - 10}" y2="${fanY}" class="msc-fan"/>`,
          `<path d="${heads}" fill="#555"/>`,
        );
      }
      for (const [i, id] of clients.entries()) {
        const x = laneX(i);
        const mark = marks[i]!;
        if (mark === "ok") {
          out.push(`<circle cx="${x}" cy="${fanY}" r="5" class="msc-ok"/>`);
        } else if (mark === "missing") {
          out.push(
            `<circle cx="${x}" cy="${fanY}" r="5" class="msc-missing"><title>${
              xml(`${id} delivered nothing at G=${g}`)
            }</title></circle>`,
          );
        } else {
          const got = input.deliveries.get(id)![g - 1]!;
          const fits = Math.max(6, Math.floor((spacing - 14) / MONO_SMALL));
          out.push(
            `<circle cx="${x}" cy="${fanY}" r="6" class="msc-bad"><title>${
              xml(
                `${id} delivered ${JSON.stringify(got)} at G=${g}, not ${JSON.stringify(payload)}`,
              )
            }</title></circle>`,
            `<text x="${x + 8}" y="${rowTop + 30}" class="msc-diff">${
              textWithTitle(got, fits)
            }</text>`,
          );
        }
      }
      out.push(
        `<text x="${labelX}" y="${fanY + 4}" class="msc-label" style="fill:${colour}">${
          textWithTitle(`${g}: ${payload}`, labelChars)
        }</text>`,
        "</g>",
      );
    }
  }
  out.splice(lanesAt, 0, ...backgrounds);
  out.push(...directLines, "</svg>");
  return out.join("\n") + "\n";
}

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
