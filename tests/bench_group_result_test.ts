/**
 * Summing up a run of the group benchmark from what its processes printed:
 * the JSON lines below are what our `bench/group_client.ts`, the seed's
 * `burst.py` and JetStream's `bench/peers/jetstream_peer.mjs` printed in a
 * run of 2 clients and 1,000 multicasts on our machine.
 */

import assert from "node:assert/strict";
import {
  clientArgs,
  jetstreamText,
  runtimeOf,
  serverArgs,
  serverVersionOf,
  streamArgs,
  streamStateOf,
} from "../bench/group/jetstream.ts";
import { JETSTREAM_PULL_BATCH, JETSTREAM_WINDOW, type RunSpec } from "../bench/group/plan.ts";
import {
  catchUpOf,
  type ClientReport,
  frozenRatio,
  jetstreamPairs,
  lastCounters,
  type Observed,
  resultOf,
  type RunResult,
} from "../bench/group/result.ts";

const OURS = [
  `{"id":"c1","sent":500,"delivered":1000,"expected":1000,"complete":true,"seconds":0.052122,"perSec":19186,"latency":{"p50":41.131,"p99":47.178,"max":47.196},"latencyAll":{"p50":41.131,"p99":47.178,"max":47.196},"ownLatency":{"p50":46.104,"p99":47.19,"max":47.196},"size":32,"peakRssKiB":58060,"cpuSeconds":0.116,"joinSeconds":0.221,"recovery":{"recovered":0,"retransmitRequests":0,"gapsFilled":0}}`,
  `{"id":"c2","sent":500,"delivered":1000,"expected":1000,"complete":true,"seconds":0.052187,"perSec":19162,"latency":{"p50":41.083,"p99":46.794,"max":46.94},"latencyAll":{"p50":41.079,"p99":46.794,"max":46.94},"ownLatency":{"p50":40.53,"p99":43.952,"max":43.961},"size":32,"peakRssKiB":57080,"cpuSeconds":0.092,"joinSeconds":0.221,"recovery":{"recovered":0,"retransmitRequests":0,"gapsFilled":0}}`,
];
const SEED = [
  `{"id": "c1", "delivered": 999, "seconds": 0.02778, "per_sec": 35961.2, "sent": 500, "expected": 1000, "complete": false}`,
  `{"id": "c2", "delivered": 999, "seconds": 0.025805, "per_sec": 38712.8, "sent": 500, "expected": 1000, "complete": false}`,
];

const JETSTREAM = [
  `{"id":"c1","sent":500,"acked":500,"delivered":1000,"expected":1000,"complete":true,"seconds":0.097836,"perSec":10221,"latency":{"p50":77.702,"p99":88.351,"max":88.44},"latencyAll":{"p50":77.702,"p99":88.351,"max":88.44},"ownLatency":{"p50":55.269,"p99":88.365,"max":88.44},"size":32,"peakRssKiB":67780,"cpuSeconds":0.233,"joinSeconds":0.02,"firstDeliveryAt":1796166079007.1357,"lastDeliveryAt":1796166079048.7512,"outOfOrder":0,"window":1000,"maxMessages":1000}`,
  `{"id":"c2","sent":500,"acked":500,"delivered":1000,"expected":1000,"complete":true,"seconds":0.121897,"perSec":8204,"latency":{"p50":95.669,"p99":111.722,"max":111.814},"latencyAll":{"p50":95.669,"p99":111.722,"max":111.814},"ownLatency":{"p50":97.105,"p99":102.456,"max":102.464},"size":32,"peakRssKiB":66844,"cpuSeconds":0.227,"joinSeconds":0.013,"firstDeliveryAt":1796166079005.485,"lastDeliveryAt":1796166079072.839,"outOfOrder":0,"window":1000,"maxMessages":1000}`,
];
/** What the peer's "stream" role printed: its ready line, then the stream's state at SIGTERM. */
const STREAM_STDOUT =
  `stream ready\n{"stream":"GROUP","storage":"memory","messages":1000,"bytes":56000,"released":2}\n`;

const SPEC: RunSpec = {
  groups: ["clients"],
  impl: "deno",
  clients: 2,
  size: 32,
  total: 1000,
  rate: 0,
  key: "clients-2-deno",
};

function observed(stdouts: string[], more: Partial<Observed> = {}): Observed {
  const clients: ClientReport[] = stdouts.map((stdout, i) => ({
    name: `client c${i + 1}`,
    exitCode: 0,
    stdout: `${stdout}\n`,
    stderr: "",
    sampled: { peakKiB: 60_000 - i * 4000, cpuSeconds: 0.1 },
  }));
  return {
    clients,
    sampled: {
      broker: { peakKiB: 58_212, cpuSeconds: 0.09 },
      sequencer: { peakKiB: 59_948, cpuSeconds: 0.08 },
    },
    exit: { broker: 0, sequencer: 0 },
    wallSeconds: 0.9,
    loadAtStart: 2.6,
    busySeconds: 0.75,
    ...more,
  };
}

Deno.test("resultOf() sums up our clients: rates, deliveries, latencies, memory and CPU", () => {
  const result = resultOf(SPEC, observed(OURS));
  assert.equal(result.ok, true);
  assert.equal(result.error, undefined);
  assert.deepEqual(result.notes, []);
  assert.deepEqual(result.perClient, { min: 19_162, median: 19_174, max: 19_186 });
  assert.equal(result.aggregate, 38_348);
  assert.deepEqual(result.delivered, { min: 1000, max: 1000 });
  assert.deepEqual(result.latency, { p50: 41.107, p99: 47.178, max: 47.196 });
  assert.deepEqual(result.ownLatency, { p50: 43.317, p99: 47.19, max: 47.196 });
  // The larger of the client's own and the sampled numbers.
  assert.deepEqual(result.clientLines.map((l) => [l.peakRssKiB, l.cpuSeconds]), [
    [60_000, 0.116],
    [57_080, 0.1],
  ]);
  assert.deepEqual(result.memoryKiB, { broker: 58_212, sequencer: 59_948, clientMax: 60_000 });
  assert.deepEqual(result.cpuSeconds, { broker: 0.09, sequencer: 0.08, clients: 0.22 });
  assert.equal(result.otherCpuSeconds, 0.4); // 0.75 busy - 0.39 ours
  assert.deepEqual(Object.keys(result).slice(0, 7), Object.keys(SPEC));
});

Deno.test("resultOf() reads the seed's lines, and notes where it stalled", () => {
  const spec: RunSpec = { ...SPEC, impl: "seed", key: "clients-2-seed" };
  const result = resultOf(spec, observed(SEED));
  assert.equal(result.ok, true);
  assert.deepEqual(result.perClient, { min: 35_961.2, median: 37_337, max: 38_712.8 });
  assert.equal(result.latency, undefined);
  assert.deepEqual(result.clientLines.map((l) => l.complete), [false, false]);
  assert.deepEqual(result.notes, [
    "the seed's design delivered 999 to 999 of 1000 per client, then stalled",
  ]);
});

Deno.test("resultOf() fails our run when a client printed nothing, and notes it for the seed", () => {
  const silent = observed([OURS[0]!, ""]);
  silent.clients[1] = {
    ...silent.clients[1]!,
    exitCode: 1,
    stderr: "error: Uncaught (in promise) Error: boom\n    at main\n",
  };
  const ours = resultOf(SPEC, silent);
  assert.equal(ours.ok, false);
  assert.equal(
    ours.error,
    "client c2 printed no result (exit 1): error: Uncaught (in promise) Error: boom |     at main",
  );
  assert.deepEqual(ours.perClient, { min: 19_186, median: 19_186, max: 19_186 });
  const seed = resultOf({ ...SPEC, impl: "seed" }, silent);
  assert.equal(seed.error, "not every client reported");
  assert.equal(seed.notes[0], ours.error);
});

Deno.test("resultOf() keeps the run's own error first, and notes exits and recoveries", () => {
  const recovered = JSON.stringify({
    ...JSON.parse(OURS[1]!),
    complete: false,
    error: "timed out after 30 s with 998 of 1000 deliveries",
    recovery: { recovered: 3, retransmitRequests: 2, gapsFilled: 1 },
  });
  const result = resultOf(
    SPEC,
    observed([OURS[0]!, recovered], {
      error: "the broker exited early with 1: Cannot bind",
      exit: { broker: 1, sequencer: 143 },
      busySeconds: Number.NaN,
    }),
  );
  assert.equal(result.ok, false);
  assert.equal(result.error, "the broker exited early with 1: Cannot bind");
  assert.deepEqual(result.notes, [
    "the broker exited with 1 after SIGTERM",
    "the sequencer exited with 143 after SIGTERM",
    "c2: 2 retransmission requests, 3 delivered from orders",
    "c2: timed out after 30 s with 998 of 1000 deliveries",
  ]);
  assert.equal(result.otherCpuSeconds, 0);
});

/** A frozen run of 3 clients and a 4th frozen, 3,000 multicasts (the lines' shape is our client's). */
const FROZEN_SPEC: RunSpec = {
  groups: ["frozen"],
  impl: "deno",
  clients: 3,
  size: 32,
  total: 3000,
  rate: 0,
  sequencer: { log: true, evictAfterSeconds: 3600 },
  frozen: 1,
  key: "frozen-deno",
};

/** Our client's line, with the fields a frozen run reads. */
function frozenLine(id: string, fields: Record<string, unknown>): string {
  return JSON.stringify({
    ...JSON.parse(OURS[0]!),
    id,
    sent: 1000,
    delivered: 3000,
    expected: 3000,
    firstDeliveryAt: 1_700_000_000_050,
    lastDeliveryAt: 1_700_000_000_150,
    longestPause: { delivered: 1500, from: 1_700_000_000_090, to: 1_700_000_000_091 },
    ...fields,
  });
}

/** c4 delivered 7, was frozen from ...100.000 to ...104.000, and delivered the rest by ...106.500. */
const C4 = frozenLine("c4", {
  sent: 0,
  seconds: 0,
  perSec: 0,
  firstDeliveryAt: 1_700_000_100_000 - 3,
  lastDeliveryAt: 1_700_000_106_500,
  longestPause: { delivered: 7, from: 1_700_000_099_999, to: 1_700_000_104_002 },
  peakRssKiB: 160_000,
  cpuSeconds: 1.2,
  recovery: { recovered: 0, retransmitRequests: 98, gapsFilled: 1500 },
});
const C4_FREEZE = { stoppedAt: 1_700_000_100_000, continuedAt: 1_700_000_104_000 };

function frozenObserved(c4: string, more: Partial<Observed> = {}): Observed {
  const base = observed([frozenLine("c1", {}), frozenLine("c2", {}), frozenLine("c3", {}), c4]);
  base.clients[3] = { ...base.clients[3]!, name: "client c4", freeze: C4_FREEZE };
  return { ...base, ...more };
}

Deno.test("resultOf() keeps a frozen client out of the rates and sums up its catch-up", () => {
  const result = resultOf(
    FROZEN_SPEC,
    frozenObserved(C4, {
      roleStderr: {
        broker: `{"time":"t","role":"broker","level":"info","message":"SIGTERM: shutting down"}\n` +
          `{"time":"t","role":"broker","level":"info","message":"counters","forwarded":6001,"busOverflows":1}\n`,
        sequencer:
          `{"time":"t","role":"sequencer","level":"info","message":"counters","ordered":3000,"retransmitted":2001,"requests":98}\n`,
      },
    }),
  );
  assert.equal(result.ok, true, result.error);
  assert.deepEqual(result.notes, []);
  assert.deepEqual(result.clientLines.map((l) => l.id), ["c1", "c2", "c3"]);
  assert.deepEqual(result.perClient, { min: 19_186, median: 19_186, max: 19_186 });
  assert.deepEqual(result.catchUp, [{
    id: "c4",
    deliveredBefore: 7,
    behind: 2993,
    delivered: 3000,
    complete: true,
    frozenSeconds: 4,
    seconds: 2.5,
    perSec: 1197,
    gapsFilled: 1500,
    recovered: 0,
    requests: 98,
    peakRssKiB: 160_000,
    cpuSeconds: 1.2,
    exitCode: 0,
  }]);
  // The frozen client's memory and CPU count in the run's.
  assert.equal(result.memoryKiB.clientMax, 160_000);
  assert.equal(result.cpuSeconds.clients, 1.55); // 1.2 + 3 × 0.116
  assert.deepEqual(result.roleCounters, {
    broker: { forwarded: 6001, busOverflows: 1 },
    sequencer: { ordered: 3000, retransmitted: 2001, requests: 98 },
  });
});

Deno.test("resultOf() fails a frozen run whose frozen client printed nothing or did not catch up", () => {
  const silent = resultOf(FROZEN_SPEC, frozenObserved(""));
  assert.equal(silent.ok, false);
  assert.match(silent.error ?? "", /^client c4 \(frozen\) printed no result \(exit 0\)/);
  const late = resultOf(
    FROZEN_SPEC,
    frozenObserved(frozenLine("c4", {
      ...JSON.parse(C4),
      delivered: 2000,
      complete: false,
      error: "timed out after 90 s with 2000 of 3000 deliveries",
    })),
  );
  assert.equal(late.ok, false);
  assert.equal(late.error, "c4: timed out after 90 s with 2000 of 3000 deliveries");
  assert.equal(late.catchUp?.[0]?.complete, false);
});

Deno.test("catchUpOf() takes what came before the pause that spans the SIGCONT, else says so", () => {
  const c4 = JSON.parse(C4);
  const client = { name: "client c4", exitCode: 0, stdout: "", stderr: "", freeze: C4_FREEZE };
  assert.equal(catchUpOf(FROZEN_SPEC, c4, client).note, undefined);
  // A longest pause elsewhere: its count, with a note.
  const elsewhere = catchUpOf(
    FROZEN_SPEC,
    { ...c4, longestPause: { delivered: 2500, from: 1_700_000_105_000, to: 1_700_000_105_300 } },
    client,
  );
  assert.equal(elsewhere.catchUp.behind, 500);
  assert.equal(
    elsewhere.note,
    "c4: its longest pause between deliveries (0.300 s) does not span the SIGCONT: what it had delivered then is a guess",
  );
  // Everything delivered before the SIGCONT: nothing behind.
  const early = catchUpOf(
    FROZEN_SPEC,
    {
      ...c4,
      lastDeliveryAt: 1_700_000_099_000,
      longestPause: { delivered: 5, from: 1_700_000_098_000, to: 1_700_000_098_100 },
    },
    client,
  );
  assert.deepEqual([early.catchUp.behind, early.catchUp.seconds, early.note], [0, 0, undefined]);
  // Never frozen.
  const never = catchUpOf(FROZEN_SPEC, c4, {
    ...client,
    freeze: { stoppedAt: 0, continuedAt: 0 },
  });
  assert.equal(never.catchUp.frozenSeconds, 0);
  assert.equal(never.note, "c4: was not frozen (the run ended before its first delivery)");
});

Deno.test("lastCounters() reads the last counters line of a role's JSON log", () => {
  const stderr = [
    `{"time":"t","role":"broker","level":"info","message":"counters","busOverflows":0}`,
    `[broker] counters {"busOverflows":5}`,
    `{"time":"t","role":"broker","level":"info","message":"A subscriber of the bus is at its high-water mark (100000)"}`,
    `{"time":"t","role":"broker","level":"info","message":"counters","busOverflows":2,"highestOrder":300000}`,
    `{"broken`,
  ].join("\n");
  assert.deepEqual(lastCounters(stderr), { busOverflows: 2, highestOrder: 300_000 });
  assert.equal(lastCounters("[broker] counters {}\n"), undefined);
  assert.equal(lastCounters(""), undefined);
});

Deno.test("frozenRatio() is the median client's rate with a member frozen over alone", () => {
  const frozen = resultOf(FROZEN_SPEC, frozenObserved(C4));
  const { frozen: _, ...aloneSpec } = { ...FROZEN_SPEC, key: "frozen-alone-deno" };
  const aloneOk = resultOf(aloneSpec, observed([OURS[1]!, OURS[0]!, OURS[1]!]));
  assert.equal(aloneOk.perClient?.median, 19_162);
  assert.equal(frozenRatio([frozen, aloneOk]).ratio, 19_186 / 19_162);
  assert.equal(frozenRatio([frozen]).ratio, undefined);
  assert.equal(frozenRatio([frozen, { ...aloneOk, ok: false }]).ratio, undefined);
});

const JETSTREAM_SPEC: RunSpec = {
  groups: ["jetstream"],
  impl: "jetstream",
  clients: 2,
  size: 32,
  total: 1000,
  rate: 0,
  storage: "memory",
  key: "jetstream-memory",
};

/** A JetStream run as the bench saw it: nats-server as the broker, no sequencer. */
function jetstreamObserved(more: Partial<Observed> = {}): Observed {
  return observed(JETSTREAM, {
    sampled: { broker: { peakKiB: 24_576, cpuSeconds: 0.17 } },
    exit: { broker: 0, sequencer: null },
    streamStdout: STREAM_STDOUT,
    ...more,
  });
}

Deno.test("resultOf() reads JetStream's clients like ours, and what the stream held", () => {
  const result = resultOf(JETSTREAM_SPEC, jetstreamObserved());
  assert.equal(result.ok, true);
  assert.deepEqual(result.notes, []);
  assert.deepEqual(result.perClient, { min: 8204, median: 9213, max: 10_221 });
  assert.deepEqual(result.delivered, { min: 1000, max: 1000 });
  assert.deepEqual(result.latency, { p50: (77.702 + 95.669) / 2, p99: 111.722, max: 111.814 });
  assert.deepEqual(result.stream, { messages: 1000, bytes: 56_000 });
  assert.deepEqual(result.memoryKiB, { broker: 24_576, sequencer: 0, clientMax: 67_780 });
  assert.equal(result.key, "jetstream-memory");
  assert.equal(result.storage, "memory");
});

Deno.test("resultOf() fails a JetStream run whose client failed, and names nats-server in notes", () => {
  const failed = JSON.stringify({
    ...JSON.parse(JETSTREAM[1]!),
    delivered: 600,
    complete: false,
    error: "timed out after 46 s with 600 of 1000 deliveries",
  });
  const short = `stream ready\n{"stream":"GROUP","storage":"file","messages":900,"bytes":50400}\n`;
  const result = resultOf(
    { ...JETSTREAM_SPEC, storage: "file", key: "jetstream-file" },
    jetstreamObserved({
      clients: observed([JETSTREAM[0]!, failed]).clients,
      exit: { broker: 1, sequencer: null },
      streamStdout: short,
    }),
  );
  assert.equal(result.ok, false);
  assert.equal(result.error, "c2: timed out after 46 s with 600 of 1000 deliveries");
  assert.deepEqual(result.notes, [
    "the nats-server exited with 1 after SIGTERM",
    "the stream held 900 messages of 1000",
  ]);
  // The stream's creator printed nothing at the end.
  const unknown = resultOf(JETSTREAM_SPEC, jetstreamObserved({ streamStdout: "stream ready\n" }));
  assert.equal(unknown.ok, true);
  assert.equal(unknown.stream, undefined);
  assert.deepEqual(unknown.notes, ["the stream's state at the end is unknown"]);
});

Deno.test("streamStateOf() and serverVersionOf() read what JetStream's programs print", () => {
  assert.deepEqual(streamStateOf(STREAM_STDOUT), { messages: 1000, bytes: 56_000 });
  assert.equal(streamStateOf(`stream ready\n{"stream":"GROUP","error":"timeout"}\n`), undefined);
  assert.equal(streamStateOf(""), undefined);
  assert.equal(serverVersionOf("nats-server: v2.9.10\n"), "2.9.10");
  assert.equal(serverVersionOf("odd"), "odd");
});

Deno.test("jetstreamText() gives the versions, or why JetStream did not run", () => {
  assert.equal(runtimeOf("v20.20.2\n"), "Node v20.20.2");
  assert.equal(
    runtimeOf("deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)\nv8 15.0\n"),
    "deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)",
  );
  assert.equal(
    jetstreamText({
      ok: true,
      server: "nats-server",
      serverVersion: "2.9.10",
      clientVersion: "2.29.3",
      runtime: "Node v20.20.2",
    }),
    "nats-server 2.9.10, nats.js 2.29.3 on Node v20.20.2",
  );
  assert.equal(
    jetstreamText({ ok: false, why: "nats-server is missing" }),
    "not run: nats-server is missing",
  );
});

Deno.test("JetStream's command lines: the server on 127.0.0.1 with its store, the stream, a client", () => {
  const url = "nats://127.0.0.1:24222";
  assert.deepEqual(serverArgs(24_222, "/tmp/js"), [
    ...["-js", "-a", "127.0.0.1", "-p", "24222", "-sd", "/tmp/js"],
  ]);
  assert.deepEqual(streamArgs({ ...JETSTREAM_SPEC, clients: 4, storage: "file" }, url), [
    "bench/peers/jetstream_peer.mjs",
    ...["--role", "stream", "--server", url, "--stream", "GROUP"],
    ...["--storage", "file", "--clients", "4"],
  ]);
  assert.deepEqual(clientArgs({ ...JETSTREAM_SPEC, total: 100_000 }, url, "c3", 25_000, 46), [
    "bench/peers/jetstream_peer.mjs",
    ...["--role", "client", "--server", url, "--stream", "GROUP", "--id", "c3"],
    ...["--count", "25000", "--expect", "100000", "--size", "32"],
    ...["--window", "1000", "--max-messages", "1000", "--timeout", "46"],
  ]);
  assert.equal(JETSTREAM_WINDOW, 1000);
  assert.equal(JETSTREAM_PULL_BATCH, 1000);
});

Deno.test("jetstreamPairs() sets ours in memory against memory storage, ours with --log against file", () => {
  const ours = (key: string, perSec: number, more: Partial<RunSpec> = {}): RunResult => ({
    ...resultOf({ ...SPEC, clients: 1, key, ...more }, observed([OURS[0]!])),
    perClient: { min: perSec, median: perSec, max: perSec },
  });
  const theirs = (storage: "memory" | "file", perSec: number): RunResult => ({
    ...resultOf(
      { ...JETSTREAM_SPEC, storage, key: `jetstream-${storage}` },
      jetstreamObserved(),
    ),
    perClient: { min: perSec, median: perSec, max: perSec },
  });
  const jetGroups = { groups: ["jetstream" as const] };
  // --only jetstream: the one run of ours planned with JetStream's.
  const only = jetstreamPairs([
    ours("throughput-deno", 60_000, jetGroups),
    theirs("memory", 20_000),
    ours("throughput-log-deno", 50_000, { ...jetGroups, sequencer: { log: true } }),
    theirs("file", 25_000),
  ]);
  assert.deepEqual(
    only.map((p) => [p.storage, p.ours?.key, p.jetstream?.key, p.ratio]),
    [
      ["memory", "throughput-deno", "jetstream-memory", 3],
      ["file", "throughput-log-deno", "jetstream-file", 2],
    ],
  );
  // A whole bench: the median of our throughput runs; a failed run has no ratio.
  const tp = { groups: ["throughput" as const] };
  const whole = jetstreamPairs([
    ours("throughput-deno", 70_000, { groups: ["throughput", "jetstream"] }),
    ours("throughput-2-deno", 40_000, tp),
    ours("throughput-3-deno", 50_000, tp),
    { ...theirs("memory", 20_000), ok: false },
  ]);
  assert.equal(whole[0]!.ours?.key, "throughput-3-deno");
  assert.equal(whole[0]!.ratio, undefined);
  assert.deepEqual(whole[1], { storage: "file" });
});
