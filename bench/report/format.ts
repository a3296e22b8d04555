/**
 * How the benchmark reports write numbers and Markdown table rows.
 *
 * @module
 */

import type { CatchUp, RunResult } from "../group/result.ts";

/** A whole number with thousands separators ("–" for none). */
export function count(n: number | undefined): string {
  return n === undefined ? "–" : Math.round(n).toLocaleString("en-US");
}

/** Milliseconds, to 3, 1 or 0 decimals as they grow ("–" for none). */
export function millis(n: number | undefined): string {
  return n === undefined ? "–" : n < 10 ? n.toFixed(3) : n < 100 ? n.toFixed(1) : n.toFixed(0);
}

/** KiB as whole MiB ("–" for 0, unknown). */
export function mib(kib: number): string {
  return kib > 0 ? (kib / 1024).toFixed(0) : "–";
}

/** a ÷ b as "2.5x", to `digits` decimals ("–" if either is missing or b is 0). */
export function ratio(a: number | undefined, b: number | undefined, digits = 1): string {
  return a === undefined || b === undefined || b === 0 ? "–" : `${(a / b).toFixed(digits)}x`;
}

/** CPU µs of every role of a run per delivery at any client (undefined if none delivered). */
export function cpuMicrosPerDelivery(r: RunResult): number | undefined {
  const cpu = r.cpuSeconds.broker + r.cpuSeconds.sequencer + r.cpuSeconds.clients;
  const deliveries = [...r.clientLines, ...(r.catchUp ?? [])].reduce((a, l) => a + l.delivered, 0);
  return deliveries > 0 ? (cpu * 1e6) / deliveries : undefined;
}

/** Messages per second: "2.33 M", "658 k". */
export function formatRate(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M` : `${(value / 1e3).toFixed(0)} k`;
}

/** A payload size: "32 B", "64 KiB". */
export function sizeName(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/** An offered load: "max" for as fast as backpressure allows, else "1,000/s". */
export function rateName(rate: number): string {
  return rate === 0 ? "max" : `${count(rate)}/s`;
}

/** A group run's outcome: ok, FAILED, or stalled (how many clients incomplete). */
export function runStatus(r: RunResult): string {
  return !r.ok
    ? "FAILED"
    : r.clientLines.every((l) => l.complete)
    ? "ok"
    : `stalled (${r.clientLines.filter((l) => !l.complete).length} of ${r.clients} incomplete)`;
}

/**
 * How a frozen member caught up, in words: "c4 caught up 299,000 orders in
 * 4.00 s (74,750 orders/s) after SIGCONT".
 *
 * @param c The catch-up.
 * @returns The line.
 */
export function catchUpLine(c: CatchUp): string {
  const what = c.complete
    ? `caught up ${count(c.behind)} orders in ${c.seconds.toFixed(2)} s (${
      c.seconds > 0 ? count(c.perSec) : "–"
    } orders/s) after SIGCONT`
    : `did not catch up: ${count(c.delivered - c.deliveredBefore)} of ${
      count(c.behind)
    } orders in ${c.seconds.toFixed(2)} s after SIGCONT`;
  return `${c.id} ${what}; ${count(c.gapsFilled)} of them came by retransmission`;
}

/**
 * One row of a Markdown table: `| a | b |` (an empty cell as `| |`).
 *
 * @param cells The cells.
 * @returns The row.
 */
export function row(cells: readonly string[]): string {
  return `|${cells.map((cell) => cell === "" ? " " : ` ${cell} `).join("|")}|`;
}

/**
 * The head of a Markdown table: the titles, then the alignment row.
 *
 * @param titles The column titles.
 * @param align One letter a column, "l" (left) or "r" (right); by default
 *   the first column left and the others right.
 * @returns The two lines.
 */
export function head(titles: readonly string[], align?: string): string[] {
  const letters = align ?? `l${"r".repeat(titles.length - 1)}`;
  if (letters.length !== titles.length) {
    throw new RangeError(`Expected ${titles.length} alignments, got "${letters}"`);
  }
  return [row(titles), `|${[...letters].map((a) => a === "r" ? "---:" : "---").join("|")}|`];
}
