/**
 * The group benchmark's Markdown report (`bench/out/group.md`): the
 * targets, then a section per kind of run (against NATS JetStream and a
 * member frozen under load among them), memory and CPU, every run, the
 * failures, and a CPU profile if a role was profiled.
 *
 * @module
 */

import type { BenchMeta } from "../group/meta.ts";
import {
  CLIENT_COUNTS,
  FROZEN_EVICT_AFTER_S,
  JETSTREAM_PULL_BATCH,
  JETSTREAM_WINDOW,
  PAYLOAD_SIZES,
  TARGETS,
  THROUGHPUT_RUNS,
  WARMUP_SECONDS,
} from "../group/plan.ts";
import type { ProfileRow, ProfileSummary } from "../group/profile.ts";
import { inBrokerSection, topologyRuns } from "./in_broker_markdown.ts";
import { haSection } from "./ha_markdown.ts";
import type { HaBenchResult } from "../group/ha.ts";
import {
  findRun,
  frozenRatio,
  type JetStreamPair,
  jetstreamPairs,
  medianThroughputRun,
  type RunResult,
} from "../group/result.ts";
import {
  catchUpLine,
  count,
  cpuMicrosPerDelivery,
  head,
  mib,
  millis,
  rateName,
  ratio,
  row,
  runStatus,
  sizeName,
} from "./format.ts";

/**
 * Renders the Markdown report.
 *
 * @param results Every run (the warm-up is left out).
 * @param meta The machine and versions.
 * @param profiles Profile summaries, if a role was profiled.
 * @returns The Markdown.
 */
export function renderMarkdown(
  results: RunResult[],
  meta: BenchMeta,
  profiles: ProfileSummary[] = [],
  ha?: HaBenchResult | { skipped: string },
): string {
  const reported = results.filter((r) => !r.groups.includes("warmup"));
  const md = [
    ...introduction(meta),
    "",
    "## Targets",
    "",
    ...targetRows(reported),
    ...throughputSection(reported),
    ...jetstreamSection(reported, meta),
    ...latencySection(reported),
    ...inBrokerSection(reported),
    ...clientsSection(reported),
    ...sizesSection(reported),
    ...frozenSection(reported),
    ...haSection(ha),
    ...resourcesSection(reported),
    "",
    "## All runs",
    "",
    ...RUN_HEAD,
    ...reported.map(runRow),
    ...notesSection(reported),
    ...profiles.flatMap((profile) => ["", "## CPU profile", "", profileMarkdown(profile)]),
  ];
  return md.join("\n") + "\n";
}

function introduction(meta: BenchMeta): string[] {
  const md = [
    "# Group benchmark",
    "",
    `${meta.date}; ${meta.cpu}; Deno ${meta.deno}; libzmq ${meta.libzmq}; pyzmq ${meta.pyzmq}; ${
      meta.jetstream === undefined ? "" : `JetStream: ${meta.jetstream}; `
    }${meta.git}.`,
    `Broker, sequencer and clients as separate processes on this machine (but where the sequencer is inside the broker), tcp loopback. ` +
    `Deliveries/s is per client, from its first send to its last delivery; latency is from a ` +
    `multicast to its delivery, at every client (each client's p50, p99 and max over every delivery, ` +
    `at offered loads leaving out what was sent in the first ${WARMUP_SECONDS} s while the JIT warms up; ` +
    `the table shows the median p50 and the worst p99 and max over the clients). ` +
    `The seed's design (tests/peers/seed, pyzmq) loses messages at the high-water mark and ` +
    `stalls: its rate is what it delivered until it stalled. Whole bench: ${meta.seconds} s; ` +
    `1-minute load average ${meta.load.before} before and ${meta.load.after} after. ` +
    `"other CPU s" is what the machine spent during a run on anything but that run's roles ` +
    `(this orchestrator's sampling included, about 0.1 s a second): more means other work shared the 2 cores.`,
  ];
  if (meta.scale !== 1) md.push("", `Message counts scaled by ${meta.scale}.`);
  return md;
}

/** A target's mark. */
function mark(met: boolean): string {
  return met ? "met" : "NOT met";
}

/** The measured value of a target and its mark, as one cell. */
function targetCell(text: string, value: number | undefined, met: (v: number) => boolean): string {
  return value === undefined ? "not measured" : `${text}: ${mark(met(value))}`;
}

/** The targets, measured with the separate sequencer and with the sequencer inside the broker. */
function targetRows(results: RunResult[]): string[] {
  const seed = medianThroughputRun(results, "seed");
  const cells = (inBroker: boolean) => {
    const runs = topologyRuns(results, inBroker);
    const slowest = runs.throughput?.ok ? runs.throughput.perClient?.min : undefined;
    const slow = runs.at1000?.ok ? runs.at1000 : undefined;
    const times = runs.throughput?.ok && seed?.perClient?.median
      ? (runs.throughput.perClient?.median ?? 0) / seed.perClient.median
      : undefined;
    return [
      targetCell(`${count(slowest)}/s`, slowest, (v) => v >= TARGETS.perClientPerSec),
      targetCell(
        `${millis(slow?.latency?.p99)} ms (${millis(slow?.latencyAll?.p99)} ms with the warm-up)`,
        slow?.latency?.p99,
        (v) => v <= TARGETS.p99AtThousandMs,
      ),
      targetCell(
        `${millis(slow?.latency?.p50)} ms`,
        slow?.latency?.p50,
        (v) => v <= TARGETS.p50AtThousandMs,
      ),
      targetCell(`${times?.toFixed(1)}x`, times, (v) => v >= TARGETS.seedRatio),
    ];
  };
  const separate = cells(false), inside = cells(true);
  const frozen = frozenRatio(results).ratio;
  const names = [
    `≥ ${count(TARGETS.perClientPerSec)} ordered deliveries/s at each of 4 clients ` +
    `(slowest client of the median of ${THROUGHPUT_RUNS} runs)`,
    `p99 ≤ ${TARGETS.p99AtThousandMs} ms at 1,000 multicasts/s (worst client, after ${WARMUP_SECONDS} s warm-up)`,
    `p50 ≤ ${TARGETS.p50AtThousandMs} ms at 1,000 multicasts/s (median client)`,
    `≥ ${TARGETS.seedRatio}x the seed design's throughput (median client, median runs)`,
  ];
  return [
    ...head(["target", "separate sequencer (default)", "sequencer inside the broker"], "lll"),
    ...names.map((name, i) => row([name, separate[i]!, inside[i]!])),
    row([
      `≥ ${TARGETS.frozenRatio} of 3 members' throughput alone while a 4th is frozen (goal; median client)`,
      targetCell(frozen?.toFixed(2) ?? "–", frozen, (v) => v >= TARGETS.frozenRatio),
      "–",
    ]),
  ];
}

const RUN_HEAD = head(
  [
    ...["impl", "clients", "size", "multicasts", "offered", "delivered per client"],
    ...["deliveries/s min", "median", "max", "sum", "p50 ms", "p99 ms", "max ms", "wall s"],
    ...["other CPU s", "status"],
  ],
  `l${"r".repeat(14)}l`,
);

/** "min–max" deliveries per client, or one number when they agree. */
function deliveredRange(r: RunResult): string {
  return r.delivered === undefined
    ? "–"
    : r.delivered.min === r.delivered.max
    ? count(r.delivered.min)
    : `${count(r.delivered.min)}–${count(r.delivered.max)}`;
}

/** The clients of a run: "4", or "3 + 1 frozen". */
function clientsName(r: RunResult): string {
  return r.frozen ? `${r.clients} + ${r.frozen} frozen` : String(r.clients);
}

/**
 * A run's implementation, for the tables: "ours" (with --log, with the
 * sequencer in the broker, read by `delivered()`), "seed (pyzmq)", "JetStream (file)".
 */
export function implName(r: RunResult): string {
  if (r.impl === "jetstream") return `JetStream (${r.storage ?? "memory"})`;
  if (r.impl === "seed") return "seed (pyzmq)";
  const log = r.sequencer?.log && !r.groups.includes("frozen") ? " (--log)" : "";
  return `ours${log}${r.inBroker ? ", sequencer in the broker" : ""}${
    r.oneByOne ? ", read by delivered()" : ""
  }`;
}

function runRow(r: RunResult): string {
  return row([
    implName(r),
    clientsName(r),
    sizeName(r.size),
    count(r.total),
    rateName(r.rate),
    deliveredRange(r),
    count(r.perClient?.min),
    count(r.perClient?.median),
    count(r.perClient?.max),
    count(r.aggregate),
    millis(r.latency?.p50),
    millis(r.latency?.p99),
    millis(r.latency?.max),
    String(r.wallSeconds),
    String(r.otherCpuSeconds),
    runStatus(r),
  ]);
}

function throughputSection(reported: RunResult[]): string[] {
  const tp = reported.filter((r) => r.groups.includes("throughput"));
  if (tp.length === 0) return [];
  const ours = medianThroughputRun(tp, "deno");
  const seed = medianThroughputRun(tp, "seed");
  return [
    "",
    "## Ordered throughput",
    "",
    ...RUN_HEAD,
    ...tp.map(runRow),
    "",
    `${THROUGHPUT_RUNS} runs of each. Ours/seed (median client deliveries/s, the median run of each): ${
      ratio(ours?.perClient?.median, seed?.perClient?.median)
    }.`,
  ];
}

/** "min / median / max" deliveries/s per client of a run that succeeded, else why not. */
function perClientCell(r: RunResult | undefined, missing: string): string {
  if (r === undefined) return missing;
  if (!r.ok || r.perClient === undefined) return "FAILED";
  const { min, median, max } = r.perClient;
  return `${count(median)} (${count(min)}–${count(max)})`;
}

/** CPU seconds of a run: every process of it together. */
function runCpu(r: RunResult | undefined): string {
  if (r === undefined) return "–";
  return (r.cpuSeconds.broker + r.cpuSeconds.sequencer + r.cpuSeconds.clients).toFixed(1);
}

function jetstreamRow(pair: JetStreamPair, missing: string): string {
  const { storage, ours, jetstream } = pair;
  return row([
    storage === "memory"
      ? "in memory: ours against JetStream's memory storage"
      : "durable: ours with the sequencer's --log against JetStream's file storage",
    ours?.key ?? "–",
    perClientCell(ours, "–"),
    jetstream?.key ?? "–",
    perClientCell(jetstream, missing),
    pair.ratio === undefined ? "–" : `${pair.ratio.toFixed(2)}x`,
    millis(ours?.ok ? ours.latency?.p99 : undefined),
    millis(jetstream?.ok ? jetstream.latency?.p99 : undefined),
    runCpu(ours),
    runCpu(jetstream),
    mib(jetstream?.memoryKiB.broker ?? 0),
  ]);
}

function jetstreamSection(reported: RunResult[], meta: BenchMeta): string[] {
  const runs = reported.filter((r) => r.groups.includes("jetstream"));
  if (runs.length === 0 && meta.jetstream === undefined) return [];
  const notRun = meta.jetstream?.startsWith("not run") ? meta.jetstream : undefined;
  const md = [
    "",
    "## Against NATS JetStream",
    "",
    `JetStream doing the group's job on the throughput runs' load: one stream (subjects group.>) ` +
    `is the total order; 4 clients, each a node process with the NATS JavaScript client ` +
    `(bench/peers/jetstream_peer.mjs), publish their share of the messages (32 B) to it with acks, ` +
    `pipelined (at most ${
      count(JETSTREAM_WINDOW)
    } unacknowledged, like our members' window), and ` +
    `each reads the whole stream from its start with an ordered consumer (pulling up to ` +
    `${count(JETSTREAM_PULL_BATCH)} at a time) until it has every message; the clients start ` +
    `together from a barrier, like ours at the broker's start. Deliveries/s is per client from its ` +
    `first publish to its last delivery, as ours. Each run has a fresh nats-server -js on ` +
    `127.0.0.1 with a fresh store in a temporary directory. In memory: ours (the sequencer ` +
    `keeps its orders in memory; the median of the throughput runs when there are ` +
    `${THROUGHPUT_RUNS}) against JetStream's memory storage. Durable: ours with the sequencer's ` +
    `--log in a temporary file (each batch of orders written and fsynced before it is published, ` +
    `its default --fsync batch) against JetStream's file storage at the server's defaults: each ` +
    `message is written to the stream's file (the OS's page cache) as it is stored, and fsynced ` +
    `only every 2 minutes (nats-server 2.9's sync interval; it has no setting to fsync each ` +
    `message), so not once in a run: a crash of the machine can lose messages JetStream ` +
    `acknowledged, a crash of the server cannot. Deliveries/s: median client (slowest–fastest); ` +
    `p99 from a publish to its delivery at every client, worst client; CPU s of every process of ` +
    `the run (JetStream: nats-server and the clients).`,
    "",
    ...head(
      [
        ...["pair", "ours run", "ours deliveries/s per client", "JetStream run"],
        ...["JetStream deliveries/s per client", "ours/JetStream", "ours p99 ms"],
        ...["JetStream p99 ms", "ours CPU s", "JetStream CPU s", "nats-server MiB"],
      ],
      `llrl${"r".repeat(7)}`,
    ),
    ...jetstreamPairs(reported).map((pair) => jetstreamRow(pair, notRun ? "not run" : "–")),
  ];
  if (notRun !== undefined) md.push("", `JetStream ${notRun}.`);
  for (const r of runs.filter((r) => r.stream !== undefined)) {
    md.push(
      "",
      `${r.key}: the stream held ${count(r.stream!.messages)} messages of ${count(r.total)} at ` +
        `the end (${(r.stream!.bytes / 1e6).toFixed(1)} MB as the server counts them).`,
    );
  }
  return md;
}

function latencySection(reported: RunResult[]): string[] {
  const lat = reported.filter((r) => r.groups.includes("latency"));
  if (lat.length === 0) return [];
  return [
    "",
    "## Latency at offered loads",
    "",
    `4 clients, 32 B, paced by a timer at the offered load in all. Latency from the multicast to its ` +
    `delivery at every client, over what was sent after the first ${WARMUP_SECONDS} s (JIT warm-up); ` +
    `"incl. warm-up" counts everything. "own" is each client's own multicasts only (one clock: ` +
    `a check that the clock shared by the processes is not what is measured).`,
    "",
    ...head(
      [
        ...["offered", "multicasts", "delivered per client", "p50 ms", "p99 ms (worst client)"],
        ...["max ms", "p99 incl. warm-up", "max incl. warm-up", "own p50", "own p99", "status"],
      ],
      `${"r".repeat(10)}l`,
    ),
    ...lat.map((r) =>
      row([
        rateName(r.rate),
        count(r.total),
        count(r.delivered?.min),
        millis(r.latency?.p50),
        millis(r.latency?.p99),
        millis(r.latency?.max),
        millis(r.latencyAll?.p99),
        millis(r.latencyAll?.max),
        millis(r.ownLatency?.p50),
        millis(r.ownLatency?.p99),
        runStatus(r),
      ])
    ),
  ];
}

/** A rate of ours, "FAILED" for a failed run, "–" for none. */
function oursCell(run: RunResult | undefined, value: (r: RunResult) => string): string {
  return run?.ok ? value(run) : run ? "FAILED" : "–";
}

function clientsSection(reported: RunResult[]): string[] {
  const cl = reported.filter((r) => r.groups.includes("clients"));
  if (cl.length === 0) return [];
  const md = [
    "",
    "## Scaling with the number of clients",
    "",
    "32 B payloads, as fast as backpressure allows; p99 at 1,000 multicasts/s offered in all.",
    "",
    ...head(
      [
        ...["clients", "ours deliveries/s (median client)", "seed deliveries/s", "ours/seed"],
        ...["ours sum", "ours p99 ms at max rate", "ours p99 ms at 1,000/s"],
        ...["seed delivered per client", "ours broker MiB", "ours sequencer MiB"],
        "ours client MiB",
      ],
      "r".repeat(11),
    ),
  ];
  for (const n of CLIENT_COUNTS) {
    const ours = findRun(cl, "deno", (r) => r.clients === n);
    const seed = findRun(cl, "seed", (r) => r.clients === n);
    const slow = findRun(
      reported,
      "deno",
      (r) => r.groups.includes("latency-clients") && r.clients === n,
    );
    if (!ours && !seed) continue;
    const oursRate = ours?.ok ? ours.perClient?.median : undefined;
    md.push(row([
      String(n),
      oursCell(ours, () => count(oursRate)),
      count(seed?.perClient?.median),
      ratio(oursRate, seed?.perClient?.median),
      ours?.ok ? count(ours.aggregate) : "–",
      millis(ours?.latency?.p99),
      oursCell(slow, (r) => millis(r.latency?.p99)),
      seed?.delivered ? `${deliveredSpan(seed)} of ${count(seed.total)}` : "–",
      mib(ours?.memoryKiB.broker ?? 0),
      mib(ours?.memoryKiB.sequencer ?? 0),
      mib(ours?.memoryKiB.clientMax ?? 0),
    ]));
  }
  md.push("", "![throughput and latency against the number of clients](group.svg)");
  return md;
}

/** "min–max" deliveries per client, always both. */
function deliveredSpan(r: RunResult): string {
  return `${count(r.delivered?.min)}–${count(r.delivered?.max)}`;
}

function sizesSection(reported: RunResult[]): string[] {
  const sz = reported.filter((r) => r.groups.includes("sizes"));
  if (sz.length === 0) return [];
  const md = [
    "",
    "## Scaling with the payload size",
    "",
    "4 clients, as fast as backpressure allows.",
    "",
    ...head(
      [
        ...["size", "multicasts", "ours deliveries/s (median client)", "ours MB/s per client"],
        ...["seed deliveries/s", "ours/seed", "ours p99 ms", "seed delivered per client"],
      ],
      "r".repeat(8),
    ),
  ];
  for (const size of PAYLOAD_SIZES) {
    const ours = findRun(sz, "deno", (r) => r.size === size);
    const seed = findRun(sz, "seed", (r) => r.size === size);
    if (!ours && !seed) continue;
    const oursRate = ours?.ok ? ours.perClient?.median : undefined;
    md.push(row([
      sizeName(size),
      count(ours?.total ?? seed?.total),
      oursCell(ours, () => count(oursRate)),
      oursRate === undefined ? "–" : ((oursRate * size) / 1e6).toFixed(1),
      count(seed?.perClient?.median),
      ratio(oursRate, seed?.perClient?.median),
      millis(ours?.latency?.p99),
      seed?.delivered ? deliveredSpan(seed) : "–",
    ]));
  }
  return md;
}

function frozenSection(reported: RunResult[]): string[] {
  const fr = reported.filter((r) => r.groups.includes("frozen"));
  if (fr.length === 0) return [];
  const { ratio: measured, frozen, alone } = frozenRatio(fr);
  const mark = measured === undefined
    ? "not measured"
    : measured >= TARGETS.frozenRatio
    ? "met"
    : "NOT met";
  const counter = (r: RunResult, role: "broker" | "sequencer", name: string) =>
    count(r.roleCounters?.[role]?.[name]);
  const md = [
    "",
    "## A member frozen under load",
    "",
    `3 clients multicast ${count(fr[0]!.total)} × ${sizeName(fr[0]!.size)} in all as fast as ` +
    `backpressure allows. In the first run a 4th member only receives: it is frozen with SIGSTOP ` +
    `right after its first delivery until the 3 have delivered everything, then let go on with ` +
    `SIGCONT; the second run is the 3 alone. Deliveries/s is of the 3 (each from its first send ` +
    `to its last delivery). In both the sequencer has a --log (a temporary file) and ` +
    `--evict-after ${FROZEN_EVICT_AFTER_S}: the frozen member is not evicted, it catches up as the ` +
    `same member (eviction and joining again are tests/faults_test.ts's). "bus overflows" is the ` +
    `broker's count of the times a subscriber hit its high-water mark (its copies are dropped ` +
    `from then until it has read its queue down); "retransmitted" the sequencer's count of ` +
    `orders it sent again.`,
    "",
    ...head(
      [
        ...["run", "clients", "multicasts", "delivered per client", "deliveries/s min", "median"],
        ...["max", "broker bus overflows", "sequencer retransmitted", "wall s", "other CPU s"],
        "status",
      ],
      `ll${"r".repeat(9)}l`,
    ),
    ...fr.map((r) =>
      row([
        r.key,
        clientsName(r),
        count(r.total),
        deliveredRange(r),
        count(r.perClient?.min),
        count(r.perClient?.median),
        count(r.perClient?.max),
        counter(r, "broker", "busOverflows"),
        counter(r, "sequencer", "retransmitted"),
        String(r.wallSeconds),
        String(r.otherCpuSeconds),
        runStatus(r),
      ])
    ),
    "",
    `With a 4th member frozen the 3 delivered ${
      measured === undefined ? "–" : measured.toFixed(2)
    } of their rate alone (median client: ${oursCell(frozen, (r) => count(r.perClient?.median))} ` +
    `against ${
      oursCell(alone, (r) => count(r.perClient?.median))
    } deliveries/s; goal ≥ ${TARGETS.frozenRatio}): ${mark}.`,
  ];
  const catchUps = fr.flatMap((r) => r.catchUp ?? []);
  if (catchUps.length === 0) return md;
  md.push(
    "",
    `After SIGCONT: "behind" is the multicasts in all minus what it had delivered when frozen; ` +
      `some of those were in its queues, the rest (its copies dropped at the high-water mark) came ` +
      `in orders the sequencer retransmitted, in paced rounds, the older ones read from the --log ` +
      `("by retransmission": the orders that filled a gap, the member's gapsFilled).`,
    "",
    ...head(
      [
        ...["frozen member", "delivered when frozen", "frozen s", "behind at SIGCONT"],
        ...["by retransmission", "retransmission requests", "caught up in s"],
        ...["orders/s", "peak MiB", "CPU s", "status"],
      ],
      `l${"r".repeat(9)}l`,
    ),
    ...catchUps.map((c) =>
      row([
        c.id,
        count(c.deliveredBefore),
        c.frozenSeconds.toFixed(2),
        count(c.behind),
        count(c.gapsFilled),
        count(c.requests),
        c.complete ? c.seconds.toFixed(2) : "–",
        c.complete && c.seconds > 0 ? count(c.perSec) : "–",
        mib(c.peakRssKiB),
        c.cpuSeconds.toFixed(2),
        c.complete ? "ok" : `incomplete (${count(c.delivered)} of ${count(frozen?.total)})`,
      ])
    ),
    "",
    ...catchUps.map((c) => `${catchUpLine(c)}.`),
  );
  return md;
}

function resourcesSection(reported: RunResult[]): string[] {
  return [
    "",
    "## Peak memory (VmHWM) and CPU time",
    "",
    "CPU seconds over the whole run (startup included); clients: all together. On 2 cores the " +
    "wall time of a saturated run is at least the CPU seconds of all roles over 2. For " +
    "JetStream the broker is nats-server (there is no sequencer).",
    "",
    ...head(
      [
        ...["run", "impl", "broker MiB", "sequencer MiB", "largest client MiB", "broker CPU s"],
        ...["sequencer CPU s", "clients CPU s", "CPU µs per delivery"],
      ],
      `ll${"r".repeat(7)}`,
    ),
    ...reported.map((r) => {
      const perDelivery = cpuMicrosPerDelivery(r);
      return row([
        r.key,
        r.impl === "seed" ? "seed" : implName(r),
        mib(r.memoryKiB.broker),
        mib(r.memoryKiB.sequencer),
        mib(r.memoryKiB.clientMax),
        r.cpuSeconds.broker.toFixed(2),
        r.cpuSeconds.sequencer.toFixed(2),
        r.cpuSeconds.clients.toFixed(2),
        perDelivery === undefined ? "–" : perDelivery.toFixed(1),
      ]);
    }),
  ];
}

function notesSection(reported: RunResult[]): string[] {
  const noted = reported.filter((r) => r.error !== undefined || r.notes.length > 0);
  if (noted.length === 0) return [];
  const md = ["", "## Failures and notes", ""];
  for (const r of noted) {
    if (r.error !== undefined) md.push(`- **${r.key}** failed: ${r.error}`);
    for (const note of r.notes) md.push(`- ${r.key}: ${note}`);
  }
  return md;
}

/**
 * A CPU profile's summary as Markdown: self time, then inclusive time.
 *
 * @param summary The summary.
 * @returns The Markdown.
 */
export function profileMarkdown(summary: ProfileSummary): string {
  const table = (rows: ProfileRow[]) =>
    [
      ...head(["function", "ms", "%"]),
      ...rows.map((r) =>
        row([`\`${r.name.replaceAll("|", "\\|")}\``, String(r.ms), String(r.percent)])
      ),
    ].join("\n");
  return [
    `Profile \`${summary.file}\`: ${summary.totalMs} ms sampled.`,
    "",
    "Self time:",
    "",
    table(summary.self),
    "",
    "Inclusive time:",
    "",
    table(summary.inclusive),
  ].join("\n");
}
