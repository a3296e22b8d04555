/**
 * The sequence chart's SVG (`chart.ts`): the layout worked out once, then the head and style,
 * the title and legend, the lanes and their headers, one row per order G (the multicast arrow,
 * the fan-out, each client's mark, the label) and the direct messages below. No I/O; the same
 * input gives the same text.
 *
 * @module
 */

import {
  type Analysis,
  type ChartInput,
  type ClientSummary,
  type Mark,
  markOf,
} from "./_chart_analysis.ts";
import { clip, plural, textWithTitle, xml } from "./_chart_text.ts";

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

const STYLE = [
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
] as const;

/** One entry of the legend: its glyph drawn at (x, y), and its text. */
interface LegendItem {
  glyph: (x: number, y: number) => string;
  text: string;
}

const LEGEND: readonly LegendItem[] = [
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

/** A legend line: its items, each with its x. */
type LegendLine = { x: number; item: LegendItem }[];

/** The lanes across: the sequencer's x, the distance between lanes, the labels' column. */
interface Lanes {
  clients: string[];
  laneIndex: Map<string, number>;
  spacing: number;
  seqX: number;
  lastX: number;
  labelX: number;
  /** The labels' width in characters. */
  labelChars: number;
}

/** Where everything goes. */
interface Layout extends Lanes {
  width: number;
  legendLines: LegendLine[];
  summaryY: number;
  legendTop: number;
  headerTop: number;
  /** The top of the first row. */
  top: number;
  lanesBottom: number;
  /** True when the lane headers are repeated below the lanes. */
  footer: boolean;
  /** The y of the direct messages' heading. */
  directsTop: number;
}

/** The x of client lane `i`. */
function laneX(lanes: Pick<Lanes, "seqX" | "spacing">, i: number): number {
  return lanes.seqX + lanes.spacing * (i + 1);
}

/** The colour of a sender's lane, grey for an unknown sender. */
function colourOf(lanes: Lanes, id: string | undefined): string {
  return id === undefined
    ? UNKNOWN_COLOUR
    : SENDER_COLOURS[lanes.laneIndex.get(id)! % SENDER_COLOURS.length]!;
}

/** The sender a payload names (`<sender>###...`), if it has a lane. */
function senderOf(payload: string, lanes: Map<string, number>): string | undefined {
  const at = payload.indexOf("###");
  if (at < 0) return undefined;
  const sender = payload.slice(0, at);
  return lanes.has(sender) ? sender : undefined;
}

/** Every order G drawn, ascending. */
function shownOrders(analysis: Analysis): number[] {
  const orders: number[] = [];
  for (const [from, to] of analysis.shown) for (let g = from; g <= to; g++) orders.push(g);
  return orders;
}

/** The labels' width in characters: the longest label drawn, within bounds. */
function labelCharsOf(analysis: Analysis): number {
  return Math.min(
    LABEL_CHARS,
    Math.max(
      analysis.shown.length > 1 ? 44 : 24, // room for "⋮ G=201..9900 not drawn (9700 orders)"
      ...shownOrders(analysis).map((g) =>
        `${g}: `.length + Array.from(analysis.agreed[g - 1]!).length
      ),
    ),
  );
}

/** The lanes across, spaced for the longest id (up to 20 characters). */
function lanesOf(input: ChartInput, analysis: Analysis): Lanes {
  const { clients } = input;
  const headerIds = clients.map((id) => clip(id, 20));
  const longestId = Math.max(9, ...headerIds.map((id) => Array.from(id).length));
  const spacing = Math.min(200, Math.max(112, Math.ceil(longestId * MONO) + 36));
  const seqX = GUTTER + 56;
  const lastX = clients.length > 0 ? laneX({ seqX, spacing }, clients.length - 1) : seqX;
  return {
    clients,
    laneIndex: new Map(clients.map((id, i) => [id, i])),
    spacing,
    seqX,
    lastX,
    labelX: lastX + 36,
    labelChars: labelCharsOf(analysis),
  };
}

/** The chart's width: the lanes and labels, or the title lines if wider (up to 1400), at least 640. */
function widthOf(lanes: Lanes, analysis: Analysis): number {
  const chartWidth = Math.ceil(lanes.labelX + lanes.labelChars * MONO + 24);
  const titleWidth = Math.max(
    Math.ceil(Array.from(analysis.title).length * 11) + 40,
    Math.ceil(Array.from(analysis.detail).length * 8) + 40,
    Math.ceil(Array.from(analysis.summary).length * SANS) + 160,
  );
  return Math.max(chartWidth, Math.min(titleWidth, 1400), 640);
}

/** The legend, wrapped to the chart's width. */
function legendLinesOf(width: number): LegendLine[] {
  const lines: LegendLine[] = [[]];
  let cursor = 16;
  for (const item of LEGEND) {
    const itemWidth = 36 + Math.ceil(item.text.length * SANS) + 20;
    if (cursor + itemWidth > width - 8 && lines[lines.length - 1]!.length > 0) {
      lines.push([]);
      cursor = 16;
    }
    lines[lines.length - 1]!.push({ x: cursor, item });
    cursor += itemWidth;
  }
  return lines;
}

/** Where everything goes, from the top down. */
function layoutOf(input: ChartInput, analysis: Analysis): Layout {
  const lanes = lanesOf(input, analysis);
  const width = widthOf(lanes, analysis);
  const legendLines = legendLinesOf(width);
  const summaryY = analysis.detail === "" ? 50 : 72;
  const legendTop = summaryY + 20;
  const headerTop = legendTop + legendLines.length * 20 + 6;
  const top = headerTop + 40;
  const rowsCount = shownOrders(analysis).length + Math.max(0, analysis.shown.length - 1);
  const lanesBottom = top + rowsCount * ROW + 8;
  const footer = rowsCount > 20;
  const directsTop = lanesBottom + (footer ? 30 : 0) + 28;
  return {
    ...lanes,
    width,
    legendLines,
    summaryY,
    legendTop,
    headerTop,
    top,
    lanesBottom,
    footer,
    directsTop,
  };
}

/** The `<svg>` element's start, its title and style, the background and the title line. */
function headOf(analysis: Analysis, width: number, height: number): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="msc-title">`,
    `<title id="msc-title">${xml(analysis.title)}</title>`,
    ...STYLE,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="16" y="28" class="msc-title ${
      analysis.firstBad === 0 ? "msc-agree" : "msc-disagree"
    }">${xml(analysis.title)}</text>`,
  ];
}

/** Under the title: the detail of a disagreement, the summary and the legend. */
function headingOf(analysis: Analysis, layout: Layout): string[] {
  const out: string[] = [];
  const { missing, unsent } = analysis.integrity;
  if (analysis.detail !== "") {
    out.push(`<text x="16" y="50" class="msc-detail">${xml(analysis.detail)}</text>`);
  }
  out.push(
    `<text x="16" y="${layout.summaryY}"${missing + unsent > 0 ? ' class="msc-bad-text"' : ""}>${
      xml(`Sequence chart: ${analysis.summary}`)
    }</text>`,
  );
  for (const [line, items] of layout.legendLines.entries()) {
    const ly = layout.legendTop + line * 20;
    for (const { x, item } of items) {
      out.push(item.glyph(x, ly - 4), `<text x="${x + 36}" y="${ly}">${xml(item.text)}</text>`);
    }
  }
  return out;
}

/** The sequencer's lane and every client's, from below the headers to the bottom. */
function laneLines(layout: Layout): string[] {
  const laneTop = layout.headerTop + 24;
  const out = [
    `<line x1="${layout.seqX}" y1="${laneTop}" x2="${layout.seqX}" y2="${layout.lanesBottom}" class="msc-seq-lane"/>`,
  ];
  for (let i = 0; i < layout.clients.length; i++) {
    const x = laneX(layout, i);
    out.push(
      `<line x1="${x}" y1="${laneTop}" x2="${x}" y2="${layout.lanesBottom}" class="msc-lane"/>`,
    );
  }
  return out;
}

/** A lane's header: a box with the id (the sequencer's dark). */
function laneHeader(
  x: number,
  yTop: number,
  id: string,
  sequencer: boolean,
  colour: string,
): string {
  const boxWidth = Math.ceil(Array.from(clip(id, 20)).length * MONO) + 20;
  return `<rect x="${x - boxWidth / 2}" y="${yTop}" width="${boxWidth}" height="24" rx="4" fill="${
    sequencer ? "#333" : "#fff"
  }" stroke="${colour}" stroke-width="2"/><text x="${x}" y="${yTop + 17}" class="msc-lane-id"${
    sequencer ? ' style="fill:#fff"' : ""
  }>${textWithTitle(id, 20)}</text>`;
}

/** Every lane's header at `yTop`. */
function laneHeaders(layout: Layout, yTop: number): string[] {
  return [
    laneHeader(layout.seqX, yTop, "sequencer", true, "#333"),
    ...layout.clients.map((id, i) =>
      laneHeader(laneX(layout, i), yTop, id, false, colourOf(layout, id))
    ),
  ];
}

/** The row between two drawn segments: which orders are left out. */
function gapRow(layout: Layout, rowTop: number, previous: number, from: number): string {
  return `<text x="${layout.labelX}" y="${rowTop + 21}" class="msc-gap">${
    xml(
      `\u22EE G=${previous + 1}..${from - 1} not drawn (${plural(from - previous - 1, "order")})`,
    )
  }</text>`;
}

/** The multicast from its sender's lane to the sequencer, at `y`. */
function multicastArrow(layout: Layout, sender: string, colour: string, y: number): string[] {
  const sx = laneX(layout, layout.laneIndex.get(sender)!);
  return [
    `<line x1="${sx}" y1="${y}" x2="${
      layout.seqX + 8
    }" y2="${y}" stroke="${colour}" stroke-width="1.8"/>`,
    `<path d="M${layout.seqX + 2} ${y}l9-4v8zM${sx} ${
      y - 3
    }v6" stroke="${colour}" fill="${colour}"/>`,
  ];
}

/** The order from the sequencer to every client, at `y`. */
function fanOut(layout: Layout, y: number): string[] {
  if (layout.clients.length === 0) return [];
  const heads = layout.clients.map((_, i) => `M${laneX(layout, i) - 6} ${y}l-9-4v8z`).join("");
  return [
    `<line x1="${layout.seqX}" y1="${y}" x2="${layout.lastX - 10}" y2="${y}" class="msc-fan"/>`,
    `<path d="${heads}" fill="#555"/>`,
  ];
}

/** What client lane `i` delivered at `g`: green, hollow, or red with the text it got. */
function deliveryMark(
  input: ChartInput,
  layout: Layout,
  at: { i: number; g: number; rowTop: number; payload: string },
  mark: Mark,
): string[] {
  const { i, g, rowTop, payload } = at;
  const id = layout.clients[i]!;
  const x = laneX(layout, i);
  const fanY = rowTop + 19;
  if (mark === "ok") return [`<circle cx="${x}" cy="${fanY}" r="5" class="msc-ok"/>`];
  if (mark === "missing") {
    return [
      `<circle cx="${x}" cy="${fanY}" r="5" class="msc-missing"><title>${
        xml(`${id} delivered nothing at G=${g}`)
      }</title></circle>`,
    ];
  }
  const got = input.deliveries.get(id)![g - 1]!;
  const fits = Math.max(6, Math.floor((layout.spacing - 14) / MONO_SMALL));
  return [
    `<circle cx="${x}" cy="${fanY}" r="6" class="msc-bad"><title>${
      xml(`${id} delivered ${JSON.stringify(got)} at G=${g}, not ${JSON.stringify(payload)}`)
    }</title></circle>`,
    `<text x="${x + 8}" y="${rowTop + 30}" class="msc-diff">${textWithTitle(got, fits)}</text>`,
  ];
}

/** Order `g`'s row, and its red background when some client differs or lacks it. */
function orderRow(
  input: ChartInput,
  analysis: Analysis,
  layout: Layout,
  at: { g: number; rowTop: number },
): { lines: string[]; background?: string } {
  const { g, rowTop } = at;
  const payload = analysis.agreed[g - 1]!;
  const sender = senderOf(payload, layout.laneIndex);
  const colour = colourOf(layout, sender);
  const marks = layout.clients.map((id) => markOf(input, analysis, id, g));
  const bad = marks.some((m) => m !== "ok");
  const fanY = rowTop + 19;
  const lines = [
    `<g data-g="${g}"${bad ? ' class="msc-bad-order"' : ""}>`,
    `<text x="${GUTTER - 12}" y="${fanY + 4}" class="msc-g">${g}</text>`,
    ...(sender === undefined ? [] : multicastArrow(layout, sender, colour, rowTop + 8)),
    ...fanOut(layout, fanY),
    ...marks.flatMap((mark, i) => deliveryMark(input, layout, { i, g, rowTop, payload }, mark)),
    `<text x="${layout.labelX}" y="${fanY + 4}" class="msc-label" style="fill:${colour}">${
      textWithTitle(`${g}: ${payload}`, layout.labelChars)
    }</text>`,
    "</g>",
  ];
  const background = bad
    ? `<rect x="4" y="${rowTop + 1}" width="${layout.width - 8}" height="${
      ROW - 2
    }" class="msc-bad-row"/>`
    : undefined;
  return { lines, background };
}

/** One row per order G drawn, with a gap row between segments; the bad rows' backgrounds apart. */
function rowsOf(
  input: ChartInput,
  analysis: Analysis,
  layout: Layout,
): { lines: string[]; backgrounds: string[] } {
  const lines: string[] = [];
  const backgrounds: string[] = [];
  let row = 0;
  for (const [s, [from, to]] of analysis.shown.entries()) {
    if (s > 0) {
      lines.push(gapRow(layout, layout.top + row * ROW, analysis.shown[s - 1]![1], from));
      row++;
    }
    for (let g = from; g <= to; g++) {
      const drawn = orderRow(input, analysis, layout, { g, rowTop: layout.top + row * ROW });
      row++;
      lines.push(...drawn.lines);
      if (drawn.background !== undefined) backgrounds.push(drawn.background);
    }
  }
  return { lines, backgrounds };
}

/** A client's direct messages as text lines, wrapped at `wrapChars`. */
function directTextLines(summary: ClientSummary, received: string[], wrapChars: number): string[] {
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
  return lines;
}

/** The direct messages below the chart, one block per client, and the y under them. */
function directsOf(
  input: ChartInput,
  analysis: Analysis,
  layout: Layout,
): { lines: string[]; bottom: number } {
  let y = layout.directsTop;
  const lines: string[] = [];
  if (input.directs === undefined) return { lines, bottom: y };
  const wrapChars = Math.max(40, Math.floor((layout.width - 48) / MONO));
  lines.push(
    `<text x="16" y="${y}" class="msc-heading">Direct messages received (each client's _uno lines)</text>`,
  );
  y += 20;
  for (const summary of analysis.clients) {
    const received = input.directs.get(summary.id) ?? [];
    const ok = summary.directsReceived === summary.directsExpected;
    for (const text of directTextLines(summary, received, wrapChars)) {
      lines.push(
        `<text x="16" y="${y}" class="msc-mono${ok ? "" : " msc-bad-text"}">${xml(text)}</text>`,
      );
      y += 16;
    }
  }
  return { lines, bottom: y };
}

/**
 * The chart as an SVG document (without the XML declaration), ending in a newline.
 *
 * @param input The clients, their scripts, deliveries and direct messages.
 * @param analysis `analyse(input)`.
 * @returns The SVG text, the same for the same input.
 */
export function svgOf(input: ChartInput, analysis: Analysis): string {
  const layout = layoutOf(input, analysis);
  const directs = directsOf(input, analysis, layout);
  const rows = rowsOf(input, analysis, layout);
  // The bad rows' backgrounds go under the lanes, which are drawn before the rows.
  return [
    ...headOf(analysis, layout.width, directs.bottom + 8),
    ...headingOf(analysis, layout),
    `<text x="${GUTTER - 12}" y="${layout.headerTop + 17}" class="msc-g">G</text>`,
    ...rows.backgrounds,
    ...laneLines(layout),
    ...laneHeaders(layout, layout.headerTop),
    ...(layout.footer ? laneHeaders(layout, layout.lanesBottom) : []),
    ...rows.lines,
    ...directs.lines,
    "</svg>",
  ].join("\n") + "\n";
}
