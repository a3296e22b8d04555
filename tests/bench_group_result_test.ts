/**
 * Summing up a run of the group benchmark from what its processes printed:
 * the JSON lines below are what our `bench/group_client.ts` and the seed's
 * `burst.py` printed in a run of 2 clients and 1,000 multicasts on our
 * machine.
 */

import assert from "node:assert/strict";
import type { RunSpec } from "../bench/group/plan.ts";
import { type ClientReport, type Observed, resultOf } from "../bench/group/result.ts";

const OURS = [
  `{"id":"c1","sent":500,"delivered":1000,"expected":1000,"complete":true,"seconds":0.052122,"perSec":19186,"latency":{"p50":41.131,"p99":47.178,"max":47.196},"latencyAll":{"p50":41.131,"p99":47.178,"max":47.196},"ownLatency":{"p50":46.104,"p99":47.19,"max":47.196},"size":32,"peakRssKiB":58060,"cpuSeconds":0.116,"joinSeconds":0.221,"recovery":{"recovered":0,"retransmitRequests":0,"gapsFilled":0}}`,
  `{"id":"c2","sent":500,"delivered":1000,"expected":1000,"complete":true,"seconds":0.052187,"perSec":19162,"latency":{"p50":41.083,"p99":46.794,"max":46.94},"latencyAll":{"p50":41.079,"p99":46.794,"max":46.94},"ownLatency":{"p50":40.53,"p99":43.952,"max":43.961},"size":32,"peakRssKiB":57080,"cpuSeconds":0.092,"joinSeconds":0.221,"recovery":{"recovered":0,"retransmitRequests":0,"gapsFilled":0}}`,
];
const SEED = [
  `{"id": "c1", "delivered": 999, "seconds": 0.02778, "per_sec": 35961.2, "sent": 500, "expected": 1000, "complete": false}`,
  `{"id": "c2", "delivered": 999, "seconds": 0.025805, "per_sec": 38712.8, "sent": 500, "expected": 1000, "complete": false}`,
];

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
