/**
 * The binding benchmark's report: one Markdown table of every
 * implementation with ratios (ours ÷ theirs) against the targets, notes on
 * how it was measured (`bench/out/binding.md`), and the JSON document
 * (`bench/out/binding.json`).
 *
 * @module
 */

import { HWM, type Measurement } from "../binding/measure.ts";
import type { Implementation } from "../binding/peers.ts";
import type { BindingRuns, Cell } from "../binding/run.ts";
import { formatRate, head, row } from "./format.ts";

/** What a whole binding bench did and found. */
export interface BindingBench {
  /** Every implementation, available or not. */
  impls: Implementation[];
  /** The measurements, in order: 32 B and 1 KiB throughput, round trip. */
  measurements: [Measurement, Measurement, Measurement];
  /** Runs per cell. */
  runs: number;
  /** The cells and every run's result. */
  found: BindingRuns;
  /** Seconds the runs took. */
  seconds: number;
  /** The 1-minute load average before and after the runs. */
  load: { before: number; after: number };
}

/** A ratio's target: ours ÷ theirs at least, below, or at most some value. */
type Target = { atLeast?: number; below?: number; atMost?: number };

/** Targets for ours ÷ theirs, by measurement column and peer id. */
const TARGETS: Record<string, Record<string, Target>> = {
  thr_32: { c: { atLeast: 0.6 }, pyzmq: { atLeast: 2 }, zeromqjs: { atLeast: 5 } },
  thr_1k: { c: { atLeast: 0.6 }, pyzmq: { atLeast: 2 }, zeromqjs: { atLeast: 5 } },
  rtt_p50: { c: { atMost: 1.3 }, pyzmq: { below: 1 }, zeromqjs: { below: 1 } },
};

/** A ratio with a check mark against a target, if there is one. */
function formatRatio(ratio: number, target?: Target): string {
  const text = `${ratio.toFixed(2)}×`;
  if (target === undefined) return text;
  const met = (target.atLeast === undefined || ratio >= target.atLeast) &&
    (target.atMost === undefined || ratio <= target.atMost) &&
    (target.below === undefined || ratio < target.below);
  return `${text} ${met ? "✓" : "✗"}`;
}

const micros = (v: number) => v.toFixed(1);
const COLUMNS = [
  { id: "thr_32", title: "32 B msg/s", format: formatRate },
  { id: "thr_1k", title: "1 KiB msg/s", format: formatRate },
  { id: "rtt_p50", title: "RTT p50 (µs)", format: micros },
  { id: "rtt_p99", title: "RTT p99 (µs)", format: micros },
];

/**
 * The table: a row per implementation (the median, and how many runs
 * succeeded if some failed), then a row per ratio of ours to theirs.
 *
 * @param impls Every implementation.
 * @param cells By implementation id, then column.
 * @returns The Markdown table.
 */
export function bindingTable(impls: Implementation[], cells: BindingRuns["cells"]): string {
  const cell = (impl: string, column: string): Cell => cells.get(impl)?.get(column) ?? null;
  const rows: string[][] = impls.map((impl) => [
    impl.available ? impl.label : `${impl.label} (unavailable)`,
    ...COLUMNS.map(({ id, format }) => {
      const value = cell(impl.id, id);
      if (!impl.available) return "—";
      if (value === null) return "failed";
      const total = value.runs.length + value.errors.length;
      return value.errors.length === 0
        ? format(value.median)
        : `${format(value.median)} (${value.runs.length}/${total} runs)`;
    }),
  ]);
  const ours = impls.filter((impl) => impl.id.startsWith("deno-"));
  const theirs = impls.filter((impl) => !impl.id.startsWith("deno-"));
  for (const mine of ours) {
    for (const other of theirs) {
      rows.push([
        `${mine.label} ÷ ${other.label}`,
        ...COLUMNS.map(({ id }) => {
          const a = cell(mine.id, id);
          const b = cell(other.id, id);
          if (a === null || b === null || b.median === 0) return "—";
          return formatRatio(a.median / b.median, TARGETS[id]?.[other.id]);
        }),
      ]);
    }
  }
  return [...head(["implementation", ...COLUMNS.map((c) => c.title)]), ...rows.map(row)]
    .join("\n");
}

/**
 * How the bench measured, the versions and the machine, and the failed runs.
 *
 * @param bench The bench.
 * @returns One note a line.
 */
export function bindingNotes(bench: BindingBench): string[] {
  const { impls, runs, seconds, load } = bench;
  const [m32, m1k, rtt] = bench.measurements;
  const versions = new Set(
    impls.map((impl) =>
      impl.available ? impl.version : `${impl.label} unavailable (${impl.reason})`
    ),
  );
  const notes = [
    `Median of ${runs} run${runs === 1 ? "" : "s"} per cell; ` +
    `each run is two fresh processes of one implementation over tcp://127.0.0.1.`,
    `Throughput: PUSH → PULL, ${m32.count.toLocaleString("en")} × 32 B and ` +
    `${m1k.count.toLocaleString("en")} × 1 KiB, msg/s at the receiver from ` +
    `its first to its last message.`,
    `Round trip: REQ → REP echo, ${rtt.count.toLocaleString("en")} timed ` +
    `32 B round trips after 1,000 warm-up ones.`,
    `Every socket has SNDHWM = RCVHWM = ${HWM} (libzmq's default).`,
    `Ratios are ours ÷ theirs: higher is better for msg/s, lower for µs. ` +
    `✓/✗: target met or not (msg/s ≥ 0.6× C, ≥ 2× pyzmq, ≥ 5× zeromq.js; ` +
    `p50 ≤ 1.3× C and below pyzmq and zeromq.js).`,
    `"deno (await)": \`for await\` on PULL, \`await send()\` on PUSH and REQ; ` +
    `"deno (try*)": \`tryReceive()\` / \`trySend()\`, awaiting only when ` +
    `they come back empty-handed.`,
    `Versions: ${[...versions].join("; ")}. ` +
    `Machine: ${navigator.hardwareConcurrency} CPUs, ${Deno.build.target}. ` +
    `Whole run: ${seconds.toFixed(0)} s; load average before ${load.before.toFixed(2)}, after ${
      load.after.toFixed(2)
    } (1 min).`,
  ];
  const failures = Object.entries(bench.found.raw).flatMap(([measurement, byImpl]) =>
    Object.entries(byImpl).flatMap(([impl, list]) =>
      list.flatMap((result, i) =>
        result.ok ? [] : [`${measurement} ${impl} run ${i + 1}: ${result.error}`]
      )
    )
  );
  if (failures.length > 0) {
    notes.push(`Failed runs (left out of the medians): ${failures.join("; ")}.`);
  }
  return notes;
}

/**
 * The Markdown report: a title, the table, the notes.
 *
 * @param table The table ({@link bindingTable}).
 * @param notes The notes ({@link bindingNotes}).
 * @returns The Markdown document.
 */
export function bindingMarkdown(table: string, notes: string[]): string {
  return `# Binding benchmark\n\n${table}\n\n${notes.map((note) => `- ${note}`).join("\n")}\n`;
}

/**
 * The JSON document: the bench's settings, the machine, every run's result,
 * the medians and the Markdown.
 *
 * @param bench The bench.
 * @param markdown The Markdown report.
 * @returns The document, for `JSON.stringify`.
 */
export function bindingJson(bench: BindingBench, markdown: string): Record<string, unknown> {
  const { runs, impls, found } = bench;
  return {
    date: new Date().toISOString(),
    runs,
    statistic: `median of ${runs} runs`,
    hwm: HWM,
    seconds: bench.seconds,
    loadAverage: bench.load,
    machine: { cpus: navigator.hardwareConcurrency, target: Deno.build.target },
    measurements: bench.measurements,
    implementations: impls.map(({ id, label, available, reason, version }) => ({
      id,
      label,
      available,
      reason,
      version,
    })),
    medians: Object.fromEntries(
      [...found.cells].map(([impl, byColumn]) => [
        impl,
        Object.fromEntries([...byColumn].map(([column, cell]) => [column, cell?.median ?? null])),
      ]),
    ),
    runResults: found.raw,
    markdown,
  };
}
