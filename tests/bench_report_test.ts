/**
 * The benchmarks' reports, from real results: the runs of one
 * `deno task bench:group` and one `deno task bench:binding` on our 2-core
 * machine (commit 412e07c). The expected lines are what the reports said of
 * these runs before the report code moved to bench/report/.
 */

import assert from "node:assert/strict";
import type { Measurement, RunResult as BindingRunResult } from "../bench/binding/measure.ts";
import type { Implementation } from "../bench/binding/peers.ts";
import { cellsOf } from "../bench/binding/run.ts";
import type { BenchMeta } from "../bench/group/meta.ts";
import type { RunResult } from "../bench/group/result.ts";
import { bindingMarkdown, bindingNotes, bindingTable } from "../bench/report/binding_markdown.ts";
import { catchUpLine, head, row } from "../bench/report/format.ts";
import { profileMarkdown, renderMarkdown } from "../bench/report/group_markdown.ts";
import { renderSvg } from "../bench/report/group_svg.ts";

/** Runs of a group bench (their client lines without the per-client latencies, which no report reads). */
const RUNS: RunResult[] = JSON.parse(`[
{"groups":["warmup"],"impl":"deno","clients":2,"size":32,"total":2000,"rate":0,"key":"warmup-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":1000,"delivered":2000,"expected":2000,"complete":true,"seconds":0.074076,"perSec":26999,"peakRssKiB":60332,"cpuSeconds":0.099,"exitCode":0},{"id":"c2","sent":1000,"delivered":2000,"expected":2000,"complete":true,"seconds":0.071251,"perSec":28070,"peakRssKiB":62032,"cpuSeconds":0.102,"exitCode":0}],"memoryKiB":{"broker":58212,"sequencer":59948,"clientMax":62032},"cpuSeconds":{"broker":0.09,"sequencer":0.08,"clients":0.2},"exit":{"broker":0,"sequencer":0},"wallSeconds":0.3,"loadAtStart":2.6,"otherCpuSeconds":0.2,"perClient":{"min":26999,"median":27535,"max":28070},"aggregate":55069,"delivered":{"min":2000,"max":2000},"latency":{"p50":50.2735,"p99":64.537,"max":64.572},"latencyAll":{"p50":50.171,"p99":64.083,"max":64.572},"ownLatency":{"p50":52.248,"p99":64.549,"max":64.572}},
{"groups":["throughput"],"impl":"deno","clients":4,"size":32,"total":100000,"rate":0,"key":"throughput-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.874037,"perSec":53361,"peakRssKiB":88904,"cpuSeconds":0.561,"exitCode":0},{"id":"c2","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.88151,"perSec":53149,"peakRssKiB":87720,"cpuSeconds":0.587,"exitCode":0},{"id":"c3","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.873497,"perSec":53376,"peakRssKiB":89860,"cpuSeconds":0.542,"exitCode":0},{"id":"c4","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.872835,"perSec":53395,"peakRssKiB":88860,"cpuSeconds":0.55,"exitCode":0}],"memoryKiB":{"broker":63892,"sequencer":141732,"clientMax":89860},"cpuSeconds":{"broker":0.6,"sequencer":0.79,"clients":2.24},"exit":{"broker":0,"sequencer":0},"wallSeconds":2.3,"loadAtStart":2.8,"otherCpuSeconds":0.6,"perClient":{"min":53149,"median":53369,"max":53395},"aggregate":213281,"delivered":{"min":100000,"max":100000},"latency":{"p50":50.4125,"p99":155.705,"max":250.425},"latencyAll":{"p50":50.411500000000004,"p99":155.705,"max":250.425},"ownLatency":{"p50":52.2485,"p99":173.334,"max":231.52}},
{"groups":["throughput"],"impl":"seed","clients":4,"size":32,"total":100000,"rate":0,"key":"throughput-seed","ok":true,"notes":["the seed's design delivered 716 to 716 of 100000 per client, then stalled"],"clientLines":[{"id":"c1","sent":25000,"delivered":716,"expected":100000,"complete":false,"seconds":3.508005,"perSec":204.1,"peakRssKiB":55896,"cpuSeconds":1.26,"exitCode":0},{"id":"c2","sent":25000,"delivered":716,"expected":100000,"complete":false,"seconds":3.505703,"perSec":204.2,"peakRssKiB":56048,"cpuSeconds":1.22,"exitCode":0},{"id":"c3","sent":25000,"delivered":716,"expected":100000,"complete":false,"seconds":3.51836,"perSec":203.5,"peakRssKiB":55968,"cpuSeconds":1.31,"exitCode":0},{"id":"c4","sent":25000,"delivered":716,"expected":100000,"complete":false,"seconds":3.516151,"perSec":203.6,"peakRssKiB":56052,"cpuSeconds":1.23,"exitCode":0}],"memoryKiB":{"broker":21364,"sequencer":28192,"clientMax":56052},"cpuSeconds":{"broker":0.8,"sequencer":1.35,"clients":5.02},"exit":{"broker":0,"sequencer":0},"wallSeconds":7.3,"loadAtStart":2.8,"otherCpuSeconds":3.6,"perClient":{"min":203.5,"median":204,"max":204.2},"aggregate":815.4,"delivered":{"min":716,"max":716}},
{"groups":["throughput"],"impl":"deno","clients":4,"size":32,"total":100000,"rate":0,"key":"throughput-2-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.678018,"perSec":59594,"peakRssKiB":90916,"cpuSeconds":0.434,"exitCode":0},{"id":"c2","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.674145,"perSec":59732,"peakRssKiB":90852,"cpuSeconds":0.438,"exitCode":0},{"id":"c3","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.688509,"perSec":59224,"peakRssKiB":91032,"cpuSeconds":0.438,"exitCode":0},{"id":"c4","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.6846,"perSec":59361,"peakRssKiB":86916,"cpuSeconds":0.443,"exitCode":0}],"memoryKiB":{"broker":65724,"sequencer":146296,"clientMax":91032},"cpuSeconds":{"broker":0.49,"sequencer":0.55,"clients":1.75},"exit":{"broker":0,"sequencer":0},"wallSeconds":2,"loadAtStart":3.8,"otherCpuSeconds":1.1,"perClient":{"min":59224,"median":59478,"max":59732},"aggregate":237911,"delivered":{"min":100000,"max":100000},"latency":{"p50":37.7765,"p99":160.306,"max":211.363},"latencyAll":{"p50":37.777,"p99":160.306,"max":211.363},"ownLatency":{"p50":37.601,"p99":162.079,"max":210.632}},
{"groups":["throughput"],"impl":"seed","clients":4,"size":32,"total":100000,"rate":0,"key":"throughput-2-seed","ok":true,"notes":["the seed's design delivered 711 to 711 of 100000 per client, then stalled"],"clientLines":[{"id":"c1","sent":25000,"delivered":711,"expected":100000,"complete":false,"seconds":2.824958,"perSec":251.7,"peakRssKiB":49224,"cpuSeconds":0.93,"exitCode":0},{"id":"c2","sent":25000,"delivered":711,"expected":100000,"complete":false,"seconds":2.827568,"perSec":251.5,"peakRssKiB":49180,"cpuSeconds":0.97,"exitCode":0},{"id":"c3","sent":25000,"delivered":711,"expected":100000,"complete":false,"seconds":2.82693,"perSec":251.5,"peakRssKiB":49316,"cpuSeconds":0.93,"exitCode":0},{"id":"c4","sent":25000,"delivered":711,"expected":100000,"complete":false,"seconds":2.829951,"perSec":251.2,"peakRssKiB":49104,"cpuSeconds":0.92,"exitCode":0}],"memoryKiB":{"broker":21888,"sequencer":28164,"clientMax":49316},"cpuSeconds":{"broker":0.51,"sequencer":1.07,"clients":3.75},"exit":{"broker":0,"sequencer":0},"wallSeconds":6.4,"loadAtStart":4.3,"otherCpuSeconds":2.9,"perClient":{"min":251.2,"median":252,"max":251.7},"aggregate":1005.9000000000001,"delivered":{"min":711,"max":711}},
{"groups":["throughput"],"impl":"deno","clients":4,"size":32,"total":100000,"rate":0,"key":"throughput-3-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.641338,"perSec":60926,"peakRssKiB":89296,"cpuSeconds":0.502,"exitCode":0},{"id":"c2","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.64061,"perSec":60953,"peakRssKiB":90660,"cpuSeconds":0.484,"exitCode":0},{"id":"c3","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.633955,"perSec":61201,"peakRssKiB":88440,"cpuSeconds":0.455,"exitCode":0},{"id":"c4","sent":25000,"delivered":100000,"expected":100000,"complete":true,"seconds":1.63679,"perSec":61095,"peakRssKiB":91116,"cpuSeconds":0.481,"exitCode":0}],"memoryKiB":{"broker":65636,"sequencer":142108,"clientMax":91116},"cpuSeconds":{"broker":0.54,"sequencer":0.59,"clients":1.92},"exit":{"broker":0,"sequencer":0},"wallSeconds":2.1,"loadAtStart":4.4,"otherCpuSeconds":0.8,"perClient":{"min":60926,"median":61024,"max":61201},"aggregate":244175,"delivered":{"min":100000,"max":100000},"latency":{"p50":41.1625,"p99":130.356,"max":190.864},"latencyAll":{"p50":41.165,"p99":130.356,"max":190.864},"ownLatency":{"p50":40.302,"p99":141.437,"max":176.759}},
{"groups":["throughput"],"impl":"seed","clients":4,"size":32,"total":100000,"rate":0,"key":"throughput-3-seed","ok":true,"notes":["the seed's design delivered 6759 to 6759 of 100000 per client, then stalled"],"clientLines":[{"id":"c1","sent":25000,"delivered":6759,"expected":100000,"complete":false,"seconds":3.439448,"perSec":1965.1,"peakRssKiB":48408,"cpuSeconds":1.11,"exitCode":0},{"id":"c2","sent":25000,"delivered":6759,"expected":100000,"complete":false,"seconds":3.373906,"perSec":2003.3,"peakRssKiB":48448,"cpuSeconds":1.07,"exitCode":0},{"id":"c3","sent":25000,"delivered":6759,"expected":100000,"complete":false,"seconds":3.373617,"perSec":2003.5,"peakRssKiB":48456,"cpuSeconds":1.09,"exitCode":0},{"id":"c4","sent":25000,"delivered":6759,"expected":100000,"complete":false,"seconds":3.47584,"perSec":1944.6,"peakRssKiB":48408,"cpuSeconds":1,"exitCode":0}],"memoryKiB":{"broker":21696,"sequencer":28132,"clientMax":48456},"cpuSeconds":{"broker":0.55,"sequencer":1.33,"clients":4.27},"exit":{"broker":0,"sequencer":0},"wallSeconds":7.1,"loadAtStart":4.8,"otherCpuSeconds":7.3,"perClient":{"min":1944.6,"median":1984,"max":2003.5},"aggregate":7916.5,"delivered":{"min":6759,"max":6759}},
{"groups":["latency","latency-clients"],"impl":"deno","clients":4,"size":32,"total":6000,"rate":1000,"key":"latency-1000-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":1500,"delivered":6000,"expected":6000,"complete":true,"seconds":6.003613,"perSec":999,"peakRssKiB":68632,"cpuSeconds":0.67,"exitCode":0},{"id":"c2","sent":1500,"delivered":6000,"expected":6000,"complete":true,"seconds":6.010859,"perSec":998,"peakRssKiB":68416,"cpuSeconds":0.678,"exitCode":0},{"id":"c3","sent":1500,"delivered":6000,"expected":6000,"complete":true,"seconds":5.995619,"perSec":1001,"peakRssKiB":68024,"cpuSeconds":0.658,"exitCode":0},{"id":"c4","sent":1500,"delivered":6000,"expected":6000,"complete":true,"seconds":5.998799,"perSec":1000,"peakRssKiB":68204,"cpuSeconds":0.651,"exitCode":0}],"memoryKiB":{"broker":61392,"sequencer":64300,"clientMax":68632},"cpuSeconds":{"broker":1.14,"sequencer":0.84,"clients":2.66},"exit":{"broker":0,"sequencer":0},"wallSeconds":6.4,"loadAtStart":5.1,"otherCpuSeconds":2.2,"perClient":{"min":998,"median":1000,"max":1001},"aggregate":3998,"delivered":{"min":6000,"max":6000},"latency":{"p50":0.562,"p99":2.818,"max":9.09},"latencyAll":{"p50":0.5994999999999999,"p99":6.992,"max":25.468},"ownLatency":{"p50":0.5675,"p99":3.106,"max":9.09}},
{"groups":["clients"],"impl":"deno","clients":2,"size":32,"total":40000,"rate":0,"key":"clients-2-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":20000,"delivered":40000,"expected":40000,"complete":true,"seconds":0.511198,"perSec":78248,"peakRssKiB":72120,"cpuSeconds":0.269,"exitCode":0},{"id":"c2","sent":20000,"delivered":40000,"expected":40000,"complete":true,"seconds":0.50904,"perSec":78579,"peakRssKiB":79928,"cpuSeconds":0.278,"exitCode":0}],"memoryKiB":{"broker":62568,"sequencer":95800,"clientMax":79928},"cpuSeconds":{"broker":0.25,"sequencer":0.3,"clients":0.55},"exit":{"broker":0,"sequencer":0},"wallSeconds":0.7,"loadAtStart":6.2,"otherCpuSeconds":0.1,"perClient":{"min":78248,"median":78414,"max":78579},"aggregate":156827,"delivered":{"min":40000,"max":40000},"latency":{"p50":17.1515,"p99":66.261,"max":71.614},"latencyAll":{"p50":17.1515,"p99":66.261,"max":71.614},"ownLatency":{"p50":16.5895,"p99":52.349,"max":63.519}},
{"groups":["clients","sizes"],"impl":"deno","clients":4,"size":32,"total":40000,"rate":0,"key":"clients-4-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":10000,"delivered":40000,"expected":40000,"complete":true,"seconds":0.740224,"perSec":54038,"peakRssKiB":75428,"cpuSeconds":0.252,"exitCode":0},{"id":"c2","sent":10000,"delivered":40000,"expected":40000,"complete":true,"seconds":0.742741,"perSec":53855,"peakRssKiB":76604,"cpuSeconds":0.259,"exitCode":0},{"id":"c3","sent":10000,"delivered":40000,"expected":40000,"complete":true,"seconds":0.733651,"perSec":54522,"peakRssKiB":74428,"cpuSeconds":0.256,"exitCode":0},{"id":"c4","sent":10000,"delivered":40000,"expected":40000,"complete":true,"seconds":0.748252,"perSec":53458,"peakRssKiB":78392,"cpuSeconds":0.253,"exitCode":0}],"memoryKiB":{"broker":64224,"sequencer":96284,"clientMax":78392},"cpuSeconds":{"broker":0.33,"sequencer":0.33,"clients":1.02},"exit":{"broker":0,"sequencer":0},"wallSeconds":1.1,"loadAtStart":6.2,"otherCpuSeconds":0.2,"perClient":{"min":53458,"median":53947,"max":54522},"aggregate":215873,"delivered":{"min":40000,"max":40000},"latency":{"p50":50.617000000000004,"p99":131.019,"max":174.865},"latencyAll":{"p50":50.632000000000005,"p99":131.018,"max":174.865},"ownLatency":{"p50":48.2975,"p99":120.585,"max":164.782}},
{"groups":["clients"],"impl":"seed","clients":2,"size":32,"total":40000,"rate":0,"key":"clients-2-seed","ok":true,"notes":["the seed's design delivered 3200 to 3200 of 40000 per client, then stalled"],"clientLines":[{"id":"c1","sent":20000,"delivered":3200,"expected":40000,"complete":false,"seconds":0.709273,"perSec":4511.7,"peakRssKiB":35472,"cpuSeconds":0.45,"exitCode":0},{"id":"c2","sent":20000,"delivered":3200,"expected":40000,"complete":false,"seconds":0.709268,"perSec":4511.7,"peakRssKiB":35816,"cpuSeconds":0.45,"exitCode":0}],"memoryKiB":{"broker":20648,"sequencer":28292,"clientMax":35816},"cpuSeconds":{"broker":0.21,"sequencer":0.47,"clients":0.9},"exit":{"broker":0,"sequencer":0},"wallSeconds":4,"loadAtStart":6.8,"otherCpuSeconds":0.3,"perClient":{"min":4511.7,"median":4512,"max":4511.7},"aggregate":9023.4,"delivered":{"min":3200,"max":3200}},
{"groups":["clients","sizes"],"impl":"seed","clients":4,"size":32,"total":40000,"rate":0,"key":"clients-4-seed","ok":true,"notes":["the seed's design delivered 0 to 1024 of 40000 per client, then stalled"],"clientLines":[{"id":"c1","sent":10000,"delivered":0,"expected":40000,"complete":false,"seconds":0,"perSec":0,"peakRssKiB":37260,"cpuSeconds":0.44,"exitCode":0},{"id":"c2","sent":10000,"delivered":0,"expected":40000,"complete":false,"seconds":0,"perSec":0,"peakRssKiB":37284,"cpuSeconds":0.45,"exitCode":0},{"id":"c3","sent":10000,"delivered":0,"expected":40000,"complete":false,"seconds":0,"perSec":0,"peakRssKiB":37384,"cpuSeconds":0.46,"exitCode":0},{"id":"c4","sent":10000,"delivered":1024,"expected":40000,"complete":false,"seconds":1.156979,"perSec":885.1,"peakRssKiB":37308,"cpuSeconds":0.43,"exitCode":0}],"memoryKiB":{"broker":21352,"sequencer":28184,"clientMax":37384},"cpuSeconds":{"broker":0.26,"sequencer":0.52,"clients":1.78},"exit":{"broker":0,"sequencer":0},"wallSeconds":4.6,"loadAtStart":6.8,"otherCpuSeconds":0.6,"perClient":{"min":0,"median":0,"max":885.1},"aggregate":885.1,"delivered":{"min":0,"max":1024}},
{"groups":["latency-clients"],"impl":"deno","clients":2,"size":32,"total":4000,"rate":1000,"key":"latency-1000-clients-2-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":2000,"delivered":4000,"expected":4000,"complete":true,"seconds":3.999076,"perSec":1000,"peakRssKiB":67992,"cpuSeconds":0.612,"exitCode":0},{"id":"c2","sent":2000,"delivered":4000,"expected":4000,"complete":true,"seconds":4.000981,"perSec":1000,"peakRssKiB":66848,"cpuSeconds":0.594,"exitCode":0}],"memoryKiB":{"broker":60588,"sequencer":62908,"clientMax":67992},"cpuSeconds":{"broker":0.81,"sequencer":0.66,"clients":1.21},"exit":{"broker":0,"sequencer":0},"wallSeconds":4.3,"loadAtStart":5.9,"otherCpuSeconds":1.4,"perClient":{"min":1000,"median":1000,"max":1000},"aggregate":2000,"delivered":{"min":4000,"max":4000},"latency":{"p50":0.55,"p99":3.385,"max":6.676},"latencyAll":{"p50":0.583,"p99":4.207,"max":10.865},"ownLatency":{"p50":0.551,"p99":3.511,"max":6.676}}
]`);

const META: BenchMeta = {
  date: "2026-12-01T20:32:40.451Z",
  cpu: "AMD EPYC, 2 CPUs",
  deno: "2.9.6",
  libzmq: "4.3.4",
  pyzmq: "24.0.1",
  git: "commit 412e07c",
  scale: 1,
  seconds: 94,
  load: { before: 2.6, after: 7.8 },
};

Deno.test("renderMarkdown() reports the targets from the median throughput runs", () => {
  const md = renderMarkdown(RUNS, META);
  for (
    const line of [
      "| target | separate sequencer (default) | sequencer inside the broker |",
      "|---|---|---|",
      "| ≥ 250,000 ordered deliveries/s at each of 4 clients (slowest client of the median of 3 runs) | 59,224/s: NOT met | not measured |",
      "| p99 ≤ 1 ms at 1,000 multicasts/s (worst client, after 1 s warm-up) | 2.818 ms (6.992 ms with the warm-up): NOT met | not measured |",
      "| p50 ≤ 0.4 ms at 1,000 multicasts/s (median client) | 0.562 ms: NOT met | not measured |",
      "| ≥ 50x the seed design's throughput (median client, median runs) | 236.0x: met | not measured |",
      "3 runs of each. Ours/seed (median client deliveries/s, the median run of each): 236.0x.",
    ]
  ) assert.ok(md.includes(`\n${line}\n`), line);
});

Deno.test("renderMarkdown() writes a row per run, a row per client count and the notes", () => {
  const md = renderMarkdown(RUNS, META);
  for (
    const line of [
      "| ours | 4 | 32 B | 100,000 | max | 100,000 | 53,149 | 53,369 | 53,395 | 213,281 | 50.4 | 156 | 250 | 2.3 | 0.6 | ok |",
      "| seed (pyzmq) | 4 | 32 B | 100,000 | max | 716 | 204 | 204 | 204 | 815 | – | – | – | 7.3 | 3.6 | stalled (4 of 4 incomplete) |",
      "| 1,000/s | 6,000 | 6,000 | 0.562 | 2.818 | 9.090 | 6.992 | 25.5 | 0.568 | 3.106 | ok |",
      "| 2 | 78,414 | 4,512 | 17.4x | 156,827 | 66.3 | 3.385 | 3,200–3,200 of 40,000 | 61 | 94 | 78 |",
      "| 4 | 53,947 | 0 | – | 215,873 | 131 | 2.818 | 0–1,024 of 40,000 | 63 | 94 | 77 |",
      "| throughput-deno | ours | 62 | 138 | 88 | 0.60 | 0.79 | 2.24 | 9.1 |",
      "| throughput-seed | seed | 21 | 28 | 55 | 0.80 | 1.35 | 5.02 | 2503.5 |",
      "| clients-4-seed | seed | 21 | 28 | 37 | 0.26 | 0.52 | 1.78 | 2500.0 |",
      "- throughput-seed: the seed's design delivered 716 to 716 of 100000 per client, then stalled",
      "- clients-4-seed: the seed's design delivered 0 to 1024 of 40000 per client, then stalled",
    ]
  ) assert.ok(md.includes(`\n${line}\n`), line);
  assert.ok(!md.includes("warmup-deno"), "the warm-up is left out");
  assert.ok(md.includes("\n| 32 B | 40,000 | 53,947 | 1.7 | 0 | – | 131 | 0–1,024 |\n"));
  assert.ok(!md.includes("\n| 1 KiB |"), "no 1 KiB runs, no row");
  assert.ok(!md.includes("Message counts scaled"));
  assert.ok(
    renderMarkdown(RUNS, { ...META, scale: 0.1 }).includes("\nMessage counts scaled by 0.1.\n"),
  );
});

Deno.test("renderMarkdown() marks a failed run and says why", () => {
  const failed = RUNS.map((r) =>
    r.key === "clients-2-deno" ? { ...r, ok: false, error: "the broker exited early with 1: x" } : r
  );
  const md = renderMarkdown(failed, META);
  assert.ok(md.includes("\n| 2 | FAILED | 4,512 | – | – | 66.3 | 3.385 |"));
  assert.ok(md.includes("\n- **clients-2-deno** failed: the broker exited early with 1: x\n"));
});

/**
 * The recorded runs again as if the sequencer had been inside the broker:
 * the throughput runs (rates doubled) and the latency run (halved), in the
 * "in-broker" group, as `plan()` names them.
 */
function inBrokerRuns(): RunResult[] {
  const scale = (r: RunResult, by: number) => ({
    ...r,
    key: r.key.replace(/-deno$/, "-in-broker-deno"),
    groups: ["in-broker" as const],
    inBroker: true,
    perClient: r.perClient && {
      min: r.perClient.min * by,
      median: r.perClient.median * by,
      max: r.perClient.max * by,
    },
    latency: r.latency && { ...r.latency, p50: r.latency.p50 / 2, p99: r.latency.p99 / 2 },
  });
  return RUNS.flatMap((r) =>
    r.impl !== "deno"
      ? []
      : r.groups.includes("throughput")
      ? [scale(r, 5)]
      : r.key === "latency-1000-deno"
      ? [scale(r, 1)]
      : []
  );
}

Deno.test("renderMarkdown() sets the sequencer inside the broker beside the separate one", () => {
  const md = renderMarkdown([...RUNS, ...inBrokerRuns()], META);
  for (
    const line of [
      "| ≥ 250,000 ordered deliveries/s at each of 4 clients (slowest client of the median of 3 runs) | 59,224/s: NOT met | 296,120/s: met |",
      "| p99 ≤ 1 ms at 1,000 multicasts/s (worst client, after 1 s warm-up) | 2.818 ms (6.992 ms with the warm-up): NOT met | 1.409 ms (6.992 ms with the warm-up): NOT met |",
      "| p50 ≤ 0.4 ms at 1,000 multicasts/s (median client) | 0.562 ms: NOT met | 0.281 ms: met |",
      "## The sequencer inside the broker",
      "| | separate sequencer (default) | inside the broker | inside / separate |",
      "| deliveries/s per client, 32 B, median of 3 runs (slowest–fastest client) | 59,478 (59,224–59,732) | 297,390 (296,120–298,660) | 5.00x |",
      "| p50 / p99 ms at 1,000 multicasts/s | 0.562 / 2.818 | 0.281 / 1.409 | |",
      "| p50 / p99 ms at 10,000 multicasts/s | – | – | |",
      "| ours, sequencer in the broker | 4 | 32 B | 100,000 | max | 100,000 | 296,120 | 297,390 | 298,660 | 237,911 | 18.9 | 80.2 | 211 | 2 | 1.1 | ok |",
    ]
  ) assert.ok(md.includes(`\n${line}\n`), line);
  // The separate sequencer's tables do not take the in-broker runs.
  assert.ok(md.includes("\n| 1,000/s | 6,000 | 6,000 | 0.562 | 2.818 |"));
  assert.ok(!md.includes("\n| 1,000/s | 6,000 | 6,000 | 0.281 |"));
  assert.ok(!renderMarkdown(RUNS, META).includes("## The sequencer inside the broker"));
});

Deno.test("renderMarkdown() with no runs has the fixed sections only", () => {
  const md = renderMarkdown([], META);
  assert.deepEqual(
    md.split("\n").filter((line) => line.startsWith("## ")),
    ["## Targets", "## Peak memory (VmHWM) and CPU time", "## All runs"],
  );
  assert.ok(
    md.includes("(slowest client of the median of 3 runs) | not measured | not measured |"),
  );
});

/** The two runs of `bench:group --only frozen` on our 2-core machine (client latencies left out). */
const FROZEN_RUNS: RunResult[] = JSON.parse(`[
{"groups":["frozen"],"impl":"deno","clients":3,"size":32,"total":300000,"rate":0,"sequencer":{"log":true,"evictAfterSeconds":3600},"frozen":1,"key":"frozen-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":100000,"delivered":300000,"expected":300000,"complete":true,"seconds":3.529719,"perSec":84993,"peakRssKiB":135360,"cpuSeconds":0.976,"exitCode":0},{"id":"c2","sent":100000,"delivered":300000,"expected":300000,"complete":true,"seconds":3.526925,"perSec":85060,"peakRssKiB":121892,"cpuSeconds":0.943,"exitCode":0},{"id":"c3","sent":100000,"delivered":300000,"expected":300000,"complete":true,"seconds":3.535823,"perSec":84846,"peakRssKiB":126616,"cpuSeconds":0.95,"exitCode":0}],"memoryKiB":{"broker":84648,"sequencer":234768,"clientMax":156848},"cpuSeconds":{"broker":1.88,"sequencer":2.38,"clients":3.94},"exit":{"broker":0,"sequencer":0},"wallSeconds":7,"loadAtStart":1.7,"otherCpuSeconds":2.8,"catchUp":[{"id":"c4","deliveredBefore":1,"behind":299999,"delivered":300000,"complete":true,"frozenSeconds":3.582,"seconds":3.047,"perSec":98460,"gapsFilled":200001,"recovered":0,"requests":98,"peakRssKiB":156848,"cpuSeconds":1.074,"exitCode":0}],"roleCounters":{"broker":{"synced":5,"subscriptions":5,"forwarded":600000,"directForwarded":200245,"unknownRecipients":0,"refusedHandshakes":0,"badInput":0,"refused":0,"highestOrder":300000,"busOverflows":1},"sequencer":{"ordered":300000,"retransmitted":200001,"requests":117,"duplicates":0,"badInput":0,"fsyncs":437,"views":2,"evicted":0}},"perClient":{"min":84846,"median":84993,"max":85060},"aggregate":254899,"delivered":{"min":300000,"max":300000},"latency":{"p50":23.521,"p99":97.019,"max":168.958},"latencyAll":{"p50":23.521,"p99":97.019,"max":168.958},"ownLatency":{"p50":23.731,"p99":117.601,"max":165.937}},
{"groups":["frozen"],"impl":"deno","clients":3,"size":32,"total":300000,"rate":0,"sequencer":{"log":true,"evictAfterSeconds":3600},"key":"frozen-alone-deno","ok":true,"notes":[],"clientLines":[{"id":"c1","sent":100000,"delivered":300000,"expected":300000,"complete":true,"seconds":3.346685,"perSec":89641,"peakRssKiB":125728,"cpuSeconds":1.07,"exitCode":0},{"id":"c2","sent":100000,"delivered":300000,"expected":300000,"complete":true,"seconds":3.34705,"perSec":89631,"peakRssKiB":134828,"cpuSeconds":1.076,"exitCode":0},{"id":"c3","sent":100000,"delivered":300000,"expected":300000,"complete":true,"seconds":3.344068,"perSec":89711,"peakRssKiB":120384,"cpuSeconds":1.065,"exitCode":0}],"memoryKiB":{"broker":67092,"sequencer":241968,"clientMax":134828},"cpuSeconds":{"broker":1.23,"sequencer":1.76,"clients":3.21},"exit":{"broker":0,"sequencer":0},"wallSeconds":3.6,"loadAtStart":1.5,"otherCpuSeconds":0.6,"roleCounters":{"broker":{"synced":4,"subscriptions":4,"forwarded":600000,"directForwarded":37,"unknownRecipients":0,"refusedHandshakes":0,"badInput":0,"refused":0,"highestOrder":300000,"busOverflows":0},"sequencer":{"ordered":300000,"retransmitted":0,"requests":15,"duplicates":0,"badInput":0,"fsyncs":431,"views":2,"evicted":0}},"perClient":{"min":89631,"median":89641,"max":89711},"aggregate":268983,"delivered":{"min":300000,"max":300000},"latency":{"p50":23.453,"p99":73.555,"max":109.233},"latencyAll":{"p50":23.453,"p99":73.555,"max":109.233},"ownLatency":{"p50":23.475,"p99":69.845,"max":101.167}}
]`);

Deno.test("renderMarkdown() reports a frozen member: both runs, the ratio against the goal, the catch-up", () => {
  const md = renderMarkdown([...RUNS, ...FROZEN_RUNS], META);
  for (
    const line of [
      "| ≥ 0.8 of 3 members' throughput alone while a 4th is frozen (goal; median client) | 0.95: met | – |",
      "## A member frozen under load",
      "| frozen-deno | 3 + 1 frozen | 300,000 | 300,000 | 84,846 | 84,993 | 85,060 | 1 | 200,001 | 7 | 2.8 | ok |",
      "| frozen-alone-deno | 3 | 300,000 | 300,000 | 89,631 | 89,641 | 89,711 | 0 | 0 | 3.6 | 0.6 | ok |",
      "With a 4th member frozen the 3 delivered 0.95 of their rate alone (median client: 84,993 against 89,641 deliveries/s; goal ≥ 0.8): met.",
      "| c4 | 1 | 3.58 | 299,999 | 200,001 | 98 | 3.05 | 98,460 | 153 | 1.07 | ok |",
      "c4 caught up 299,999 orders in 3.05 s (98,460 orders/s) after SIGCONT; 200,001 of them came by retransmission.",
      "| ours | 3 + 1 frozen | 32 B | 300,000 | max | 300,000 | 84,846 | 84,993 | 85,060 | 254,899 | 23.5 | 97.0 | 169 | 7 | 2.8 | ok |",
      "| frozen-deno | ours | 83 | 229 | 153 | 1.88 | 2.38 | 3.94 | 6.8 |",
    ]
  ) assert.ok(md.includes(`\n${line}\n`), line);
  assert.ok(md.includes("--evict-after 3600: the frozen member is not evicted"));
  // Without the frozen runs: no section, the goal not measured.
  const without = renderMarkdown(RUNS, META);
  assert.ok(!without.includes("## A member frozen under load"));
  assert.ok(without.includes("a 4th is frozen (goal; median client) | not measured | – |"));
  // Short of the goal, and a frozen member that did not catch up.
  const [frozen, alone] = FROZEN_RUNS as [RunResult, RunResult];
  const slow = {
    ...frozen,
    perClient: { ...frozen.perClient!, median: 60_000 },
    catchUp: [{ ...frozen.catchUp![0]!, delivered: 250_000, complete: false }],
  };
  const short = renderMarkdown([slow, alone], META);
  assert.ok(short.includes("a 4th is frozen (goal; median client) | 0.67: NOT met | – |"));
  assert.ok(
    short.includes(
      "\n| c4 | 1 | 3.58 | 299,999 | 200,001 | 98 | – | – | 153 | 1.07 | incomplete (250,000 of 300,000) |\n",
    ),
  );
  assert.equal(
    catchUpLine(slow.catchUp[0]!),
    "c4 did not catch up: 249,999 of 299,999 orders in 3.05 s after SIGCONT; 200,001 of them came by retransmission",
  );
});

/**
 * A bench's JetStream runs, from RUNS' throughput-deno: ours with --log, and
 * JetStream on memory and file storage (their rates as --only jetstream
 * measured them on our machine).
 */
function jetstreamRuns(): RunResult[] {
  const base = RUNS.find((r) => r.key === "throughput-deno")!;
  const withRate = (r: RunResult, median: number, min: number, max: number): RunResult => ({
    ...r,
    perClient: { min, median, max },
  });
  const jetstream = (storage: "memory" | "file", median: number): RunResult => ({
    ...withRate(base, median, median - 500, median + 400),
    groups: ["jetstream"],
    impl: "jetstream",
    storage,
    key: `jetstream-${storage}`,
    memoryKiB: { broker: 24_576, sequencer: 0, clientMax: 99_000 },
    cpuSeconds: { broker: 1.5, sequencer: 0, clients: 8.5 },
    exit: { broker: 0, sequencer: null },
    latency: { p50: 455, p99: 780, max: 793 },
    stream: { messages: 100_000, bytes: 5_600_000 },
  });
  return [
    jetstream("memory", 20_000),
    {
      ...withRate(base, 50_000, 49_000, 51_000),
      groups: ["jetstream"],
      sequencer: { log: true },
      key: "throughput-log-deno",
    },
    jetstream("file", 18_000),
  ];
}

Deno.test("renderMarkdown() sets ours against JetStream: memory and file storage, the ratios", () => {
  const meta = { ...META, jetstream: "nats-server 2.9.10, nats.js 2.29.3 on Node v20.20.2" };
  const md = renderMarkdown([...RUNS, ...jetstreamRuns()], meta);
  for (
    const line of [
      "## Against NATS JetStream",
      "| pair | ours run | ours deliveries/s per client | JetStream run | JetStream deliveries/s per client | ours/JetStream | ours p99 ms | JetStream p99 ms | ours CPU s | JetStream CPU s | nats-server MiB |",
      // Ours in memory: the median of the 3 throughput runs.
      "| in memory: ours against JetStream's memory storage | throughput-2-deno | 59,478 (59,224–59,732) | jetstream-memory | 20,000 (19,500–20,400) | 2.97x | 160 | 780 | 2.8 | 10.0 | 24 |",
      "| durable: ours with the sequencer's --log against JetStream's file storage | throughput-log-deno | 50,000 (49,000–51,000) | jetstream-file | 18,000 (17,500–18,400) | 2.78x | 156 | 780 | 3.6 | 10.0 | 24 |",
      "jetstream-file: the stream held 100,000 messages of 100,000 at the end (5.6 MB as the server counts them).",
      "| JetStream (memory) | 4 | 32 B | 100,000 | max | 100,000 | 19,500 | 20,000 | 20,400 | 213,281 | 455 | 780 | 793 | 2.3 | 0.6 | ok |",
      "| ours (--log) | 4 | 32 B | 100,000 | max | 100,000 | 49,000 | 50,000 | 51,000 | 213,281 | 50.4 | 156 | 250 | 2.3 | 0.6 | ok |",
      "| jetstream-file | JetStream (file) | 24 | – | 97 | 1.50 | 0.00 | 8.50 | 25.0 |",
    ]
  ) assert.ok(md.includes(`\n${line}\n`), line);
  assert.ok(
    md.includes("; JetStream: nats-server 2.9.10, nats.js 2.29.3 on Node v20.20.2; commit"),
  );
  assert.ok(md.includes("fsynced only every 2 minutes"), "says how JetStream's file storage syncs");
  assert.ok(
    md.indexOf("## Ordered throughput") < md.indexOf("## Against NATS JetStream") &&
      md.indexOf("## Against NATS JetStream") < md.indexOf("## Latency at offered loads"),
  );
  // Without JetStream's runs or meta: no section.
  assert.ok(!renderMarkdown(RUNS, META).includes("## Against NATS JetStream"));
});

Deno.test("renderMarkdown() says why JetStream did not run, and marks a failed JetStream run", () => {
  const [, log] = jetstreamRuns() as [RunResult, RunResult, RunResult];
  const onlyOurs = { ...RUNS.find((r) => r.key === "throughput-deno")!, groups: ["jetstream"] };
  const why = "not run: nats-server is missing (apt-get install nats-server): not found";
  const md = renderMarkdown([onlyOurs as RunResult, log], { ...META, jetstream: why });
  for (
    const line of [
      "| in memory: ours against JetStream's memory storage | throughput-deno | 53,369 (53,149–53,395) | – | not run | – | 156 | – | 3.6 | – | – |",
      "| durable: ours with the sequencer's --log against JetStream's file storage | throughput-log-deno | 50,000 (49,000–51,000) | – | not run | – | 156 | – | 3.6 | – | – |",
      `JetStream ${why}.`,
    ]
  ) assert.ok(md.includes(`\n${line}\n`), line);
  const [memory] = jetstreamRuns() as [RunResult];
  const failed = renderMarkdown(
    [onlyOurs as RunResult, {
      ...memory,
      ok: false,
      error: "the nats-server exited early with 1: x",
    }],
    { ...META, jetstream: "nats-server 2.9.10" },
  );
  assert.ok(
    failed.includes(
      "\n| in memory: ours against JetStream's memory storage | throughput-deno | 53,369 (53,149–53,395) | jetstream-memory | FAILED | – | 156 | – | 3.6 | 10.0 | 24 |\n",
    ),
  );
  assert.ok(
    failed.includes("\n- **jetstream-memory** failed: the nats-server exited early with 1: x\n"),
  );
});

Deno.test("profileMarkdown() escapes | in function names", () => {
  const md = profileMarkdown({
    file: "/tmp/p.cpuprofile",
    totalMs: 1200,
    self: [{ name: "a|b ext/ffi:1", ms: 300.5, percent: 25 }],
    inclusive: [{ name: "main main/roles/broker/broker.ts:10", ms: 1100, percent: 91.7 }],
  });
  assert.ok(md.startsWith("Profile `/tmp/p.cpuprofile`: 1200 ms sampled.\n"));
  assert.ok(
    md.includes("\n| function | ms | % |\n|---|---:|---:|\n| `a\\|b ext/ffi:1` | 300.5 | 25 |\n"),
  );
  assert.ok(md.includes("| `main main/roles/broker/broker.ts:10` | 1100 | 91.7 |"));
});

Deno.test("renderSvg() draws the measured client counts, and 0 as a hollow marker", () => {
  const svg = renderSvg(RUNS);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="820"'));
  assert.ok(svg.endsWith("</svg>\n"));
  // Ours at 2 and 4 clients in each series: one line each; the seed has one point above 0.
  assert.equal(svg.match(/<polyline /g)?.length, 3);
  assert.ok(svg.includes(">78,414</text>") && svg.includes(">53,947</text>"));
  assert.ok(svg.includes(">4,512</text>"));
  assert.ok(svg.includes(`r="4" fill="white" stroke="#ff7f0e"`), "the seed's 0 at 4 clients");
  assert.ok(svg.includes(">3.4</text>") && svg.includes(">2.8</text>"), "p99 at 1,000/s");
  assert.ok(svg.includes(">66</text>") && svg.includes(">131</text>"), "p99 at max rate");
  assert.ok(!svg.includes("no data"));
});

Deno.test("renderSvg() with no runs says so in both panels", () => {
  assert.equal(renderSvg([]).match(/>no data</g)?.length, 2);
});

/** Every run of a binding bench: by measurement, then implementation. */
const BINDING_RUNS: Record<string, Record<string, BindingRunResult[]>> = JSON.parse(
  `{"thr_32":{"c":[{"ok":true,"value":{"mode":"pull","count":2000000,"size":32,"seconds":0.296382,"msgs_per_s":6748038.5}},{"ok":true,"value":{"mode":"pull","count":2000000,"size":32,"seconds":0.365428,"msgs_per_s":5473026.9}},{"ok":true,"value":{"mode":"pull","count":2000000,"size":32,"seconds":0.278433,"msgs_per_s":7183055.6}}],"pyzmq":[{"ok":true,"value":{"mode":"pull","count":2000000,"size":32,"seconds":1.2558154240000476,"msgs_per_s":1592589.931432411}},{"ok":true,"value":{"mode":"pull","count":2000000,"size":32,"seconds":1.1824445120000746,"msgs_per_s":1691410.4464970224}},{"ok":true,"value":{"mode":"pull","count":2000000,"size":32,"seconds":1.2387663700001212,"msgs_per_s":1614508.6341016863}}],"zeromqjs":[{"ok":true,"value":{"mode":"pull","count":2000000,"size":32,"seconds":4.828211171000004,"msgs_per_s":414231.881988245}},{"ok":true,"value":{"mode":"pull","count":2000000,"size":32,"seconds":4.689301057999611,"msgs_per_s":426502.58007814304}},{"ok":true,"value":{"mode":"pull","count":2000000,"size":32,"seconds":4.646194715000153,"msgs_per_s":430459.5744864159}}],"deno-await":[{"ok":true,"value":{"mode":"pull","api":"await","count":2000000,"size":32,"seconds":0.5764838489999999,"msgs_per_s":3469306.214682868}},{"ok":true,"value":{"mode":"pull","api":"await","count":2000000,"size":32,"seconds":0.652911411,"msgs_per_s":3063201.172938299}},{"ok":true,"value":{"mode":"pull","api":"await","count":2000000,"size":32,"seconds":0.5467685179999999,"msgs_per_s":3657853.2489685155}}],"deno-try":[{"ok":true,"value":{"mode":"pull","api":"try","count":2000000,"size":32,"seconds":0.40339056799999995,"msgs_per_s":4957971.649946957}},{"ok":true,"value":{"mode":"pull","api":"try","count":2000000,"size":32,"seconds":0.39706664,"msgs_per_s":5036935.361782093}},{"ok":true,"value":{"mode":"pull","api":"try","count":2000000,"size":32,"seconds":0.490960937,"msgs_per_s":4073641.8099185764}}]},"thr_1k":{"c":[{"ok":true,"value":{"mode":"pull","count":500000,"size":1024,"seconds":0.694891,"msgs_per_s":719535.9}},{"ok":true,"value":{"mode":"pull","count":500000,"size":1024,"seconds":0.538836,"msgs_per_s":927923.5}},{"ok":true,"value":{"mode":"pull","count":500000,"size":1024,"seconds":0.568717,"msgs_per_s":879170.3}}],"pyzmq":[{"ok":true,"value":{"mode":"pull","count":500000,"size":1024,"seconds":0.8902424719999544,"msgs_per_s":561643.6147746786}},{"ok":true,"value":{"mode":"pull","count":500000,"size":1024,"seconds":0.703953298000215,"msgs_per_s":710272.9704092491}},{"ok":true,"value":{"mode":"pull","count":500000,"size":1024,"seconds":0.6295154600002206,"msgs_per_s":794260.0806020312}}],"zeromqjs":[{"ok":true,"value":{"mode":"pull","count":500000,"size":1024,"seconds":1.841398388999939,"msgs_per_s":271532.2240895132}},{"ok":true,"value":{"mode":"pull","count":500000,"size":1024,"seconds":1.802245237999916,"msgs_per_s":277431.16722277243}},{"ok":true,"value":{"mode":"pull","count":500000,"size":1024,"seconds":2.3581282300000193,"msgs_per_s":212032.15060107055}}],"deno-await":[{"ok":true,"value":{"mode":"pull","api":"await","count":500000,"size":1024,"seconds":0.643893379,"msgs_per_s":776524.5245672887}},{"ok":true,"value":{"mode":"pull","api":"await","count":500000,"size":1024,"seconds":0.705703128,"msgs_per_s":708511.8092320543}},{"ok":true,"value":{"mode":"pull","api":"await","count":500000,"size":1024,"seconds":0.735094885,"msgs_per_s":680182.9399207424}}],"deno-try":[{"ok":true,"value":{"mode":"pull","api":"try","count":500000,"size":1024,"seconds":0.43287653,"msgs_per_s":1155061.4675274726}},{"ok":true,"value":{"mode":"pull","api":"try","count":500000,"size":1024,"seconds":0.641206977,"msgs_per_s":779777.853228194}},{"ok":true,"value":{"mode":"pull","api":"try","count":500000,"size":1024,"seconds":0.640475618,"msgs_per_s":780668.2814270691}}]},"rtt_32":{"c":[{"ok":true,"value":{"mode":"req","count":20000,"size":32,"p50_us":94.67,"p99_us":456.99,"mean_us":115.92}},{"ok":true,"value":{"mode":"req","count":20000,"size":32,"p50_us":42.26,"p99_us":126.08,"mean_us":48.74}},{"ok":true,"value":{"mode":"req","count":20000,"size":32,"p50_us":77.74,"p99_us":255.13,"mean_us":97.2}}],"pyzmq":[{"ok":true,"value":{"mode":"req","count":20000,"size":32,"p50_us":75.7529996917583,"p99_us":331.8750000289583,"mean_us":96.2491837498649}},{"ok":true,"value":{"mode":"req","count":20000,"size":32,"p50_us":45.16800026976853,"p99_us":81.13099966067239,"mean_us":47.983729350381346}},{"ok":true,"value":{"mode":"req","count":20000,"size":32,"p50_us":93.46899969386868,"p99_us":261.4499999253894,"mean_us":108.60571334901631}}],"zeromqjs":[{"ok":true,"value":{"mode":"req","count":20000,"size":32,"p50_us":61.38100004196167,"p99_us":140.33900022506714,"mean_us":73.00211564843654}},{"ok":true,"value":{"mode":"req","count":20000,"size":32,"p50_us":63.69500017166138,"p99_us":496.72100019454956,"mean_us":100.17539269964695}},{"ok":true,"value":{"mode":"req","count":20000,"size":32,"p50_us":100.38000011444092,"p99_us":281.6100001335144,"mean_us":122.35466504998207}}],"deno-await":[{"ok":true,"value":{"mode":"req","api":"await","count":20000,"size":32,"p50_us":58.107000000063636,"p99_us":684.5909999999549,"mean_us":82.93068874999975}},{"ok":true,"value":{"mode":"req","api":"await","count":20000,"size":32,"p50_us":70.76599999999189,"p99_us":560.3360000000066,"mean_us":94.98011610000019}},{"ok":true,"value":{"mode":"req","api":"await","count":20000,"size":32,"p50_us":70.08500000006279,"p99_us":294.9499999999716,"mean_us":86.34535054999962}}],"deno-try":[{"ok":true,"value":{"mode":"req","api":"try","count":20000,"size":32,"p50_us":50.60600000001614,"p99_us":220.82899999998062,"mean_us":64.95240409999998}},{"ok":true,"value":{"mode":"req","api":"try","count":20000,"size":32,"p50_us":65.54800000003524,"p99_us":628.8680000000113,"mean_us":85.99198744999981}},{"ok":true,"value":{"mode":"req","api":"try","count":20000,"size":32,"p50_us":74.27099999995335,"p99_us":787.9259999999704,"mean_us":97.19949200000006}}]}}`,
);
const MEASUREMENTS: [Measurement, Measurement, Measurement] = JSON.parse(
  `[{"id": "thr_32", "title": "throughput 32 B", "modes": ["pull", "push"], "count": 2000000, "size": 32}, {"id": "thr_1k", "title": "throughput 1 KiB", "modes": ["pull", "push"], "count": 500000, "size": 1024}, {"id": "rtt_32", "title": "round trip 32 B", "modes": ["rep", "req"], "count": 20000, "size": 32}]`,
);
const IMPLS: Implementation[] = (JSON.parse(
  `[{"id": "c", "label": "C (libzmq)", "available": true, "version": "libzmq 4.3.4"}, {"id": "pyzmq", "label": "pyzmq", "available": true, "version": "pyzmq 24.0.1"}, {"id": "zeromqjs", "label": "zeromq.js", "available": true, "version": "zeromq.js 6.8.0, Node v20.20.2"}, {"id": "deno-await", "label": "deno (await)", "available": true, "version": "Deno 2.9.6"}, {"id": "deno-try", "label": "deno (try*)", "available": true, "version": "Deno 2.9.6"}]`,
) as Omit<Implementation, "command">[]).map((impl) => ({ ...impl, command: () => ["true", []] }));

Deno.test("bindingTable() gives the medians and ratios of the runs", () => {
  const table = bindingTable(IMPLS, cellsOf(MEASUREMENTS, BINDING_RUNS));
  assert.equal(
    table,
    `| implementation | 32 B msg/s | 1 KiB msg/s | RTT p50 (µs) | RTT p99 (µs) |
|---|---:|---:|---:|---:|
| C (libzmq) | 6.75 M | 879 k | 77.7 | 255.1 |
| pyzmq | 1.61 M | 710 k | 75.8 | 261.4 |
| zeromq.js | 427 k | 272 k | 63.7 | 281.6 |
| deno (await) | 3.47 M | 709 k | 70.1 | 560.3 |
| deno (try*) | 4.96 M | 781 k | 65.5 | 628.9 |
| deno (await) ÷ C (libzmq) | 0.51× ✗ | 0.81× ✓ | 0.90× ✓ | 2.20× |
| deno (await) ÷ pyzmq | 2.15× ✓ | 1.00× ✗ | 0.93× ✓ | 2.14× |
| deno (await) ÷ zeromq.js | 8.13× ✓ | 2.61× ✗ | 1.10× ✗ | 1.99× |
| deno (try*) ÷ C (libzmq) | 0.73× ✓ | 0.89× ✓ | 0.84× ✓ | 2.46× |
| deno (try*) ÷ pyzmq | 3.07× ✓ | 1.10× ✗ | 0.87× ✓ | 2.41× |
| deno (try*) ÷ zeromq.js | 11.62× ✓ | 2.88× ✗ | 1.03× ✗ | 2.23× |`,
  );
});

Deno.test("bindingTable() and bindingNotes() count failed runs apart", () => {
  const raw = structuredClone(BINDING_RUNS);
  raw.thr_32!.c![0] = { ok: false, error: "pull exited with 1" };
  raw.rtt_32!.pyzmq = raw.rtt_32!.pyzmq!.map(() => ({ ok: false, error: "timed out" }));
  // An unavailable peer is not run.
  for (const byImpl of Object.values(raw)) delete byImpl.zeromqjs;
  const unavailable = IMPLS.map((impl) =>
    impl.id === "zeromqjs" ? { ...impl, available: false, reason: "node is missing" } : impl
  );
  const cells = cellsOf(MEASUREMENTS, raw);
  const table = bindingTable(unavailable, cells);
  assert.ok(table.includes("\n| C (libzmq) | 6.33 M (2/3 runs) | 879 k | 77.7 | 255.1 |\n"));
  assert.ok(table.includes("\n| pyzmq | 1.61 M | 710 k | failed | failed |\n"));
  assert.ok(table.includes("\n| zeromq.js (unavailable) | — | — | — | — |\n"));
  assert.ok(table.includes("\n| deno (await) ÷ pyzmq | 2.15× ✓ | 1.00× ✗ | — | — |\n"));
  assert.ok(table.includes("\n| deno (await) ÷ zeromq.js | — | — | — | — |\n"));
  const notes = bindingNotes({
    impls: unavailable,
    measurements: MEASUREMENTS,
    runs: 3,
    found: { cells, raw },
    seconds: 70.4,
    load: { before: 0.3, after: 2.58 },
  });
  assert.ok(
    notes[6]!.startsWith(
      "Versions: libzmq 4.3.4; pyzmq 24.0.1; zeromq.js unavailable (node is missing); Deno 2.9.6.",
    ),
  );
  assert.ok(notes[6]!.endsWith("Whole run: 70 s; load average before 0.30, after 2.58 (1 min)."));
  assert.equal(
    notes[7],
    "Failed runs (left out of the medians): thr_32 c run 1: pull exited with 1; " +
      "rtt_32 pyzmq run 1: timed out; rtt_32 pyzmq run 2: timed out; rtt_32 pyzmq run 3: timed out.",
  );
  const md = bindingMarkdown(table, notes);
  assert.ok(md.startsWith("# Binding benchmark\n\n| implementation |"));
  assert.ok(md.endsWith(`\n- ${notes[7]}\n`));
});

Deno.test("row() and head() write Markdown table lines", () => {
  assert.equal(row(["a", "", "c"]), "| a | | c |");
  assert.deepEqual(head(["x", "y", "z"]), ["| x | y | z |", "|---|---:|---:|"]);
  assert.deepEqual(head(["x", "y"], "rl"), ["| x | y |", "|---:|---|"]);
  assert.throws(() => head(["x", "y"], "r"), RangeError);
});
