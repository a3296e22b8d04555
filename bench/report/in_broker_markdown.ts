/**
 * The report's section on the sequencer inside the broker's process
 * (`run:broker --sequencer`): the same throughput, durable and latency
 * runs as the separate sequencer's, side by side, with the JetStream
 * ratios of each.
 *
 * @module
 */

import { THROUGHPUT_RUNS } from "../group/plan.ts";
import { findRun, medianThroughputRun, type RunResult } from "../group/result.ts";
import { count, cpuMicrosPerDelivery, head, millis, ratio, row } from "./format.ts";

/** The runs of one topology: separate sequencer, or inside the broker. */
export interface TopologyRuns {
  /** The median throughput run (32 B, in memory, as fast as backpressure allows). */
  throughput?: RunResult;
  /** The throughput load read through `Member.delivered()`. */
  oneByOne?: RunResult;
  /** The durable run: the sequencer with --log. */
  durable?: RunResult;
  /** The latency runs at 1,000 and 10,000 multicasts/s. */
  at1000?: RunResult;
  at10000?: RunResult;
}

/**
 * The runs of one topology.
 *
 * @param results Every run.
 * @param inBroker The sequencer inside the broker (else its own process).
 */
export function topologyRuns(results: RunResult[], inBroker: boolean): TopologyRuns {
  const mine = (r: RunResult) => (r.inBroker === true) === inBroker;
  const latency = (rate: number) =>
    findRun(
      results,
      "deno",
      (r) =>
        mine(r) && r.rate === rate &&
        r.groups.includes(inBroker ? "in-broker" : "latency") && r.clients === 4,
    );
  return {
    throughput: medianThroughputRun(results, "deno", inBroker),
    oneByOne: findRun(results, "deno", (r) => mine(r) && r.oneByOne === true),
    durable: findRun(
      results,
      "deno",
      (r) => mine(r) && r.sequencer?.log === true && !r.groups.includes("frozen"),
    ),
    at1000: latency(1000),
    at10000: latency(10_000),
  };
}

/** The section, or nothing when no run had the sequencer inside the broker. */
export function inBrokerSection(reported: RunResult[]): string[] {
  if (!reported.some((r) => r.inBroker)) return [];
  const separate = topologyRuns(reported, false);
  const inside = topologyRuns(reported, true);
  const jetstream = (storage: "memory" | "file") =>
    reported.find((r) => r.impl === "jetstream" && r.storage === storage && r.ok);
  const rate = (r: RunResult | undefined) => (r?.ok ? r.perClient?.median : undefined);
  const rows: [string, (t: TopologyRuns) => string, ((t: TopologyRuns) => number | undefined)?][] =
    [
      [
        `deliveries/s per client, 32 B, median of ${THROUGHPUT_RUNS} runs (slowest–fastest client)`,
        (t) => rateRange(t.throughput),
        (t) => rate(t.throughput),
      ],
      [
        "the same, read through `Member.delivered()` (a promise a delivery)",
        (t) => rateRange(t.oneByOne),
        (t) => rate(t.oneByOne),
      ],
      [
        "against JetStream's memory storage",
        (t) => ratio(rate(t.throughput), rate(jetstream("memory"))),
      ],
      [
        "with the sequencer's --log: deliveries/s per client",
        (t) => rateRange(t.durable),
        (t) => rate(t.durable),
      ],
      ["against JetStream's file storage", (t) => ratio(rate(t.durable), rate(jetstream("file")))],
      ["p50 / p99 ms at 1,000 multicasts/s", (t) => percentiles(t.at1000)],
      ["p50 / p99 ms at 10,000 multicasts/s", (t) => percentiles(t.at10000)],
      [
        "CPU µs per delivery, all roles (median throughput run)",
        (t) => micros(t.throughput),
      ],
    ];
  return [
    "",
    "## The sequencer inside the broker",
    "",
    "The same runs with the sequencer inside the broker's process (`deno task run:broker " +
    "--sequencer`): the broker hands it each multicast it forwards and sends its orders " +
    "straight to the bus, so a multicast takes two hops to the members (client to broker, " +
    "broker to members) instead of four. It still joins at the barrier and serves " +
    "retransmissions and views on the direct channel. The separate sequencer is the default " +
    "(the seed's design, and a seed peer's sequencer can take its place).",
    "",
    ...head(["", "separate sequencer (default)", "inside the broker", "inside / separate"], "lrrr"),
    ...rows.map(([name, cell, value]) =>
      row([
        name,
        cell(separate),
        cell(inside),
        value === undefined ? "" : ratio(value(inside), value(separate), 2),
      ])
    ),
  ];
}

/** "240,000 (239,000–241,000)", "FAILED" or "–". */
function rateRange(r: RunResult | undefined): string {
  if (r === undefined) return "–";
  if (!r.ok) return "FAILED";
  return `${count(r.perClient?.median)} (${count(r.perClient?.min)}–${count(r.perClient?.max)})`;
}

/** "0.280 / 1.700", after the warm-up. */
function percentiles(r: RunResult | undefined): string {
  if (r === undefined) return "–";
  if (!r.ok) return "FAILED";
  return `${millis(r.latency?.p50)} / ${millis(r.latency?.p99)}`;
}

function micros(r: RunResult | undefined): string {
  const value = r?.ok ? cpuMicrosPerDelivery(r) : undefined;
  return value === undefined ? "–" : value.toFixed(1);
}
