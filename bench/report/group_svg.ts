/**
 * The group benchmark's chart (`bench/out/group.svg`): deliveries/s per
 * client and p99 latency against the number of clients, on log scales.
 *
 * @module
 */

import { CLIENT_COUNTS, type Implementation, type RunGroup } from "../group/plan.ts";
import { findRun, type RunResult } from "../group/result.ts";
import { count } from "./format.ts";

/** One line of a panel. */
interface Series {
  name: string;
  color: string;
  dash?: string;
  /** By number of clients; undefined for a missing run, 0 for nothing delivered. */
  points: [number, number | undefined][];
}

const WIDTH = 400;
const HEIGHT = 330;
const PAD = { l: 70, r: 20, t: 70, b: 50 };
const PLOT_W = WIDTH - PAD.l - PAD.r;
const PLOT_H = HEIGHT - PAD.t - PAD.b;

/** Where a panel puts a number of clients and a value: x evenly spaced, y on a log scale. */
interface Scale {
  x(clients: number): number;
  y(value: number): number;
  /** Decades: 10^lo to 10^hi. */
  lo: number;
  hi: number;
}

function scaleOf(values: number[]): Scale {
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
  const xs: readonly number[] = CLIENT_COUNTS;
  return {
    x: (n) => PAD.l + (xs.indexOf(n) / (xs.length - 1)) * PLOT_W,
    y: (v) => PAD.t + PLOT_H - ((Math.log10(v) - lo) / (hi - lo)) * PLOT_H,
    lo,
    hi,
  };
}

/** The frame, the grid of decades, the ticks and the axis titles. */
function axes(scale: Scale, unit: string): string[] {
  const { x, y } = scale;
  const out = [
    `<rect x="${PAD.l}" y="${PAD.t}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#999"/>`,
  ];
  for (let e = scale.lo; e <= scale.hi; e++) {
    const v = 10 ** e;
    const label = v >= 1 ? v.toLocaleString("en-US") : String(v);
    out.push(
      `<line x1="${PAD.l}" x2="${PAD.l + PLOT_W}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${PAD.l - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${label}</text>`,
    );
  }
  for (const n of CLIENT_COUNTS) {
    out.push(
      `<text x="${x(n)}" y="${
        PAD.t + PLOT_H + 18
      }" text-anchor="middle" font-size="11">${n}</text>`,
    );
  }
  out.push(
    `<text x="${PAD.l + PLOT_W / 2}" y="${
      HEIGHT - 12
    }" text-anchor="middle" font-size="12">clients</text>`,
    `<text transform="translate(16,${
      PAD.t + PLOT_H / 2
    }) rotate(-90)" text-anchor="middle" font-size="12">${unit} (log)</text>`,
  );
  return out;
}

function dashOf(s: Series): string {
  return s.dash ? ` stroke-dasharray="${s.dash}"` : "";
}

/**
 * A series' markers and lines: lines join neighbouring measured points; a 0
 * (nothing delivered) sits on the bottom edge as a hollow marker; a missing
 * run leaves a gap.
 */
function seriesMarks(s: Series, scale: Scale): string[] {
  const { x, y } = scale;
  const out: string[] = [];
  let segment: string[] = [];
  const flush = () => {
    if (segment.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dashOf(s)} points="${
          segment.join(" ")
        }"/>`,
      );
    }
    segment = [];
  };
  for (const [n, v] of s.points) {
    const cx = x(n).toFixed(1);
    if (v === undefined || v <= 0) {
      flush();
      if (v === 0) {
        const bottom = PAD.t + PLOT_H;
        out.push(
          `<circle cx="${cx}" cy="${bottom}" r="4" fill="white" stroke="${s.color}"/>`,
          `<text x="${cx}" y="${
            bottom - 8
          }" text-anchor="middle" font-size="9" fill="${s.color}">0</text>`,
        );
      }
      continue;
    }
    segment.push(`${cx},${y(v).toFixed(1)}`);
    out.push(
      `<circle cx="${cx}" cy="${y(v).toFixed(1)}" r="3" fill="${s.color}"/>`,
      `<text x="${cx}" y="${
        (y(v) - 7).toFixed(1)
      }" text-anchor="middle" font-size="9" fill="${s.color}">${
        v >= 100 ? count(v) : v.toPrecision(2)
      }</text>`,
    );
  }
  flush();
  return out;
}

/** The legend entry of the `i`th series. */
function legend(s: Series, i: number): string[] {
  const ly = 40 + i * 14;
  return [
    `<line x1="${PAD.l}" x2="${PAD.l + 20}" y1="${ly - 4}" y2="${
      ly - 4
    }" stroke="${s.color}" stroke-width="2"${dashOf(s)}/>`,
    `<text x="${PAD.l + 24}" y="${ly}" font-size="11">${s.name}</text>`,
  ];
}

/** One panel, `left` pixels from the left: x = clients 2, 4, 8, 16 evenly spaced; y on a log scale. */
function panel(left: number, title: string, unit: string, series: Series[]): string {
  const values = series.flatMap((s) => s.points.map((p) => p[1])).filter((v): v is number =>
    v !== undefined && v > 0
  );
  const out: string[] = [
    `<g transform="translate(${left},0)">`,
    `<text x="${
      WIDTH / 2
    }" y="22" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>`,
  ];
  if (values.length === 0) {
    out.push(`<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no data</text></g>`);
    return out.join("\n");
  }
  const scale = scaleOf(values);
  out.push(...axes(scale, unit));
  series.forEach((s, i) => out.push(...seriesMarks(s, scale), ...legend(s, i)));
  out.push("</g>");
  return out.join("\n");
}

/**
 * Renders the SVG chart: deliveries/s per client and p99 latency against
 * the number of clients.
 *
 * @param results Every run.
 * @returns The SVG document.
 */
export function renderSvg(results: RunResult[]): string {
  const pick = (impl: Implementation, group: RunGroup, n: number) =>
    findRun(
      results,
      impl,
      (r) => r.groups.includes(group) && r.clients === n && r.clientLines.length > 0,
    );
  const rate = (impl: Implementation): [number, number | undefined][] =>
    CLIENT_COUNTS.map((n) => {
      const r = pick(impl, "clients", n);
      return [n, r && (r.ok || impl === "seed") ? r.perClient?.median : undefined];
    });
  const p99 = (group: RunGroup): [number, number | undefined][] =>
    CLIENT_COUNTS.map((n) => {
      const r = pick("deno", group, n);
      return [n, r?.ok ? r.latency?.p99 : undefined];
    });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="820" height="330" viewBox="0 0 820 330" font-family="sans-serif">`,
    `<rect width="820" height="330" fill="white"/>`,
    panel(0, "Deliveries/s per client (32 B, max rate)", "deliveries/s", [
      { name: "ours (median client)", color: "#1f77b4", points: rate("deno") },
      {
        name: "seed design (pyzmq), until it stalled",
        color: "#ff7f0e",
        dash: "6 4",
        points: rate("seed"),
      },
    ]),
    panel(410, "p99 latency, worst client", "ms", [
      {
        name: "ours at 1,000 multicasts/s (after 1 s warm-up)",
        color: "#2ca02c",
        points: p99("latency-clients"),
      },
      {
        name: "ours at max rate (queueing)",
        color: "#d62728",
        dash: "6 4",
        points: p99("clients"),
      },
    ]),
    "</svg>",
    "",
  ].join("\n");
}
