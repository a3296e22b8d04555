/** The group benchmark's plan of runs, and the benchmarks' median. */

import assert from "node:assert/strict";
import { FROZEN_EVICT_AFTER_S, plan, THROUGHPUT_RUNS } from "../bench/group/plan.ts";
import { median } from "../bench/stats.ts";

Deno.test("plan() runs a warm-up, the throughput runs alternating, JetStream, latency, scaling, then the frozen member", () => {
  const specs = plan({ scale: 1, seed: true, jetstream: true, throughputRuns: THROUGHPUT_RUNS });
  assert.deepEqual(specs.map((s) => s.key), [
    "warmup-deno",
    "throughput-deno",
    "throughput-seed",
    "throughput-in-broker-deno",
    "throughput-2-deno",
    "throughput-2-seed",
    "throughput-in-broker-2-deno",
    "throughput-3-deno",
    "throughput-3-seed",
    "throughput-in-broker-3-deno",
    "throughput-delivered-deno",
    "throughput-delivered-in-broker-deno",
    "jetstream-memory",
    "throughput-log-deno",
    "jetstream-file",
    "throughput-log-in-broker-deno",
    "latency-1000-deno",
    "latency-1000-in-broker-deno",
    "latency-10000-deno",
    "latency-10000-in-broker-deno",
    "clients-2-deno",
    "clients-4-deno",
    "clients-8-deno",
    "clients-16-deno",
    "size-1024-deno",
    "size-65536-deno",
    "clients-2-seed",
    "clients-4-seed",
    "clients-8-seed",
    "clients-16-seed",
    "size-1024-seed",
    "size-65536-seed",
    "latency-1000-clients-2-deno",
    "latency-1000-clients-8-deno",
    "latency-1000-clients-16-deno",
    "frozen-deno",
    "frozen-alone-deno",
  ]);
  const byKey = new Map(specs.map((s) => [s.key, s]));
  assert.deepEqual(byKey.get("throughput-deno"), {
    groups: ["throughput", "jetstream"],
    impl: "deno",
    clients: 4,
    size: 32,
    total: 400_000,
    rate: 0,
    key: "throughput-deno",
  });
  assert.deepEqual(byKey.get("latency-1000-deno")?.groups, ["latency", "latency-clients"]);
  // The sequencer inside the broker: the same loads, in a group of their own.
  assert.deepEqual(byKey.get("throughput-in-broker-2-deno"), {
    groups: ["in-broker"],
    impl: "deno",
    inBroker: true,
    clients: 4,
    size: 32,
    total: 400_000,
    rate: 0,
    key: "throughput-in-broker-2-deno",
  });
  assert.deepEqual(byKey.get("throughput-log-in-broker-deno")?.sequencer, { log: true });
  assert.equal(byKey.get("latency-10000-in-broker-deno")?.rate, 10_000);
  assert.equal(byKey.get("latency-1000-deno")?.total, 6000);
  assert.deepEqual(byKey.get("clients-4-seed")?.groups, ["clients", "sizes"]);
  assert.equal(byKey.get("size-65536-deno")?.total, 4000);
  assert.equal(byKey.get("latency-1000-clients-16-deno")?.total, 4000);
});

Deno.test("plan() scales the counts, keeping the latency runs at least 2 s long", () => {
  const byKey = new Map(
    plan({ scale: 0.01, seed: true, jetstream: true, throughputRuns: 1 })
      .map((s) => [s.key, s.total]),
  );
  assert.equal(byKey.get("throughput-deno"), 4000);
  assert.equal(byKey.get("throughput-2-deno"), undefined);
  assert.equal(byKey.get("clients-16-seed"), 400);
  assert.equal(byKey.get("size-65536-deno"), 40);
  assert.equal(byKey.get("latency-1000-deno"), 2000);
  assert.equal(byKey.get("latency-10000-deno"), 20_000);
  assert.equal(byKey.get("latency-1000-clients-2-deno"), 2000);
  assert.equal(byKey.get("frozen-deno"), 3000);
  assert.equal(byKey.get("frozen-alone-deno"), 3000);
  assert.equal(byKey.get("jetstream-memory"), 4000);
  assert.equal(byKey.get("jetstream-file"), 4000);
  assert.equal(byKey.get("throughput-log-deno"), 4000);
  assert.equal(byKey.get("warmup-deno"), 2000, "the warm-up is not scaled");
});

Deno.test("plan() with --only and --no-seed keeps those groups and the warm-up", () => {
  const specs = plan({
    scale: 1,
    only: new Set(["latency", "sizes"]),
    seed: false,
    jetstream: true,
    throughputRuns: 3,
  });
  assert.deepEqual(specs.map((s) => [s.key, s.groups]), [
    ["warmup-deno", ["warmup"]],
    ["latency-1000-deno", ["latency"]],
    ["latency-10000-deno", ["latency"]],
    ["clients-4-deno", ["sizes"]],
    ["size-1024-deno", ["sizes"]],
    ["size-65536-deno", ["sizes"]],
  ]);
});

Deno.test("plan() with --only frozen: 3 clients with a 4th frozen, then the 3 alone, same load and sequencer", () => {
  const specs = plan({
    scale: 1,
    only: new Set(["frozen"]),
    seed: true,
    jetstream: true,
    throughputRuns: 3,
  });
  const sequencer = { log: true, evictAfterSeconds: FROZEN_EVICT_AFTER_S };
  assert.deepEqual(specs, [
    {
      groups: ["warmup"],
      impl: "deno",
      clients: 2,
      size: 32,
      total: 2000,
      rate: 0,
      key: "warmup-deno",
    },
    {
      groups: ["frozen"],
      impl: "deno",
      clients: 3,
      size: 32,
      total: 300_000,
      rate: 0,
      sequencer,
      frozen: 1,
      key: "frozen-deno",
    },
    {
      groups: ["frozen"],
      impl: "deno",
      clients: 3,
      size: 32,
      total: 300_000,
      rate: 0,
      sequencer,
      key: "frozen-alone-deno",
    },
  ]);
  // Longer than any run: the frozen member is not evicted.
  assert.ok(FROZEN_EVICT_AFTER_S >= 600);
  const small = plan({
    scale: 0.3,
    only: new Set(["frozen"]),
    seed: false,
    jetstream: false,
    throughputRuns: 1,
  });
  assert.deepEqual(small.map((s) => s.total), [2000, 90_000, 90_000]);
});

Deno.test("plan() with --only jetstream: ours in memory, JetStream memory, ours with --log, JetStream file", () => {
  const specs = plan({
    scale: 0.3,
    only: new Set(["jetstream"]),
    seed: true,
    jetstream: true,
    throughputRuns: THROUGHPUT_RUNS,
  });
  const load = { clients: 4, size: 32, total: 120_000, rate: 0 };
  assert.deepEqual(specs, [
    {
      groups: ["warmup"],
      impl: "deno",
      clients: 2,
      size: 32,
      total: 2000,
      rate: 0,
      key: "warmup-deno",
    },
    { groups: ["jetstream"], impl: "deno", ...load, key: "throughput-deno" },
    {
      groups: ["jetstream"],
      impl: "jetstream",
      ...load,
      storage: "memory",
      key: "jetstream-memory",
    },
    {
      groups: ["jetstream"],
      impl: "deno",
      ...load,
      sequencer: { log: true },
      key: "throughput-log-deno",
    },
    { groups: ["jetstream"], impl: "jetstream", ...load, storage: "file", key: "jetstream-file" },
  ]);
  // The seed's runs are not JetStream's: --only jetstream has none of them.
  assert.ok(specs.every((s) => s.impl !== "seed"));
});

Deno.test("plan() without JetStream skips its runs, and keeps ours with --log", () => {
  const keys = (only?: ReadonlySet<string>) =>
    plan({ scale: 1, only, seed: true, jetstream: false, throughputRuns: 1 }).map((s) => s.key);
  assert.deepEqual(keys(new Set(["jetstream"])), [
    "warmup-deno",
    "throughput-deno",
    "throughput-log-deno",
  ]);
  assert.ok(!keys().some((k) => k.startsWith("jetstream")));
  assert.ok(keys().includes("throughput-log-deno"));
  // Without the group: no JetStream, no --log run, the throughput run in its own group only.
  const tp = plan({
    scale: 1,
    only: new Set(["throughput"]),
    seed: false,
    jetstream: true,
    throughputRuns: 1,
  });
  assert.deepEqual(tp.map((s) => [s.key, s.groups]), [
    ["warmup-deno", ["warmup"]],
    ["throughput-deno", ["throughput"]],
  ]);
});

Deno.test("median() takes the middle value, or the mean of the two middle ones", () => {
  assert.equal(median([53_369, 61_024, 59_478]), 59_478);
  assert.equal(median([204, 252]), 228);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), RangeError);
});
