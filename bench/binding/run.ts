/**
 * A whole binding bench: every measurement, `runs` times for every
 * available implementation (the implementations alternating, so that a slow
 * spell of the machine does not fall on one only), and the medians.
 *
 * @module
 */

import { formatRate } from "../report/format.ts";
import { median } from "../stats.ts";
import { measure, type Measurement, type RunResult } from "./measure.ts";
import type { Implementation } from "./peers.ts";

/** A table cell: the median of the runs that succeeded, or null if none did. */
export type Cell = { median: number; runs: number[]; errors: string[] } | null;

/** What a bench found. */
export interface BindingRuns {
  /** By implementation id, then by column ("thr_32", "thr_1k", "rtt_p50", "rtt_p99"). */
  cells: Map<string, Map<string, Cell>>;
  /** Every run's result, by measurement id, then by implementation id. */
  raw: Record<string, Record<string, RunResult[]>>;
}

/** The table's columns a measurement fills, each from a field of the peer's JSON. */
function columnsOf(m: Measurement): [column: string, field: string][] {
  return m.id === "rtt_32"
    ? [["rtt_p50", "p50_us"], ["rtt_p99", "p99_us"]]
    : [[m.id, "msgs_per_s"]];
}

/** A progress line's summary of one run. */
function summary(m: Measurement, result: RunResult): string {
  if (!result.ok) return `FAILED: ${result.error}`;
  if (m.modes[0] === "pull") return `${formatRate(Number(result.value.msgs_per_s))} msg/s`;
  return `p50 ${Number(result.value.p50_us).toFixed(1)} µs, p99 ${
    Number(result.value.p99_us).toFixed(1)
  } µs`;
}

/**
 * Runs every measurement, printing a line per run on stderr.
 *
 * @param impls Every implementation (the unavailable ones are skipped).
 * @param all The measurements.
 * @param options Runs per cell, and how long a pair of peers may take.
 * @returns The cells and every run's result.
 */
export async function runAll(
  impls: Implementation[],
  all: Measurement[],
  options: { runs: number; timeoutMs: number },
): Promise<BindingRuns> {
  const { runs, timeoutMs } = options;
  const raw: BindingRuns["raw"] = {};
  const available = impls.filter((impl) => impl.available);
  const total = all.length * runs * available.length;
  let done = 0;
  for (const m of all) {
    const byImpl: Record<string, RunResult[]> = raw[m.id] = {};
    for (const impl of available) byImpl[impl.id] = [];
    for (let r = 0; r < runs; r++) {
      for (const impl of available) {
        const result = await measure(impl, m, timeoutMs);
        byImpl[impl.id]!.push(result);
        done++;
        console.error(
          `bench: [${done}/${total}] ${m.title}, ${impl.label}, run ${r + 1}: ${
            summary(m, result)
          }`,
        );
      }
    }
  }
  return { cells: cellsOf(all, raw), raw };
}

/**
 * The table's cells: for each implementation and column, the median of the
 * runs that succeeded.
 *
 * @param all The measurements.
 * @param raw Every run's result, by measurement id, then implementation id.
 * @returns The cells, by implementation id, then column.
 */
export function cellsOf(all: Measurement[], raw: BindingRuns["raw"]): BindingRuns["cells"] {
  const cells: BindingRuns["cells"] = new Map();
  for (const m of all) {
    for (const [impl, list] of Object.entries(raw[m.id] ?? {})) {
      const values = list.filter((x) => x.ok);
      const errors = list.flatMap((x) => (x.ok ? [] : [x.error]));
      const byImpl = cells.get(impl) ?? new Map<string, Cell>();
      cells.set(impl, byImpl);
      for (const [column, field] of columnsOf(m)) {
        const numbers = values.map((x) => Number(x.value[field]));
        byImpl.set(
          column,
          numbers.length === 0 ? null : { median: median(numbers), runs: numbers, errors },
        );
      }
    }
  }
  return cells;
}
