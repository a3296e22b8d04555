/**
 * Reading /proc for the benchmarks: the parsers on lines grep printed on our
 * machine, and the samplers on live processes.
 */

import assert from "node:assert/strict";
import {
  busySecondsOf,
  type ProcSample,
  readProcLines,
  statCpuSeconds,
  vmHwmKiB,
} from "../bench/proc.ts";
import { loadAverage, machineBusySeconds, ProcessSampler, procSamples } from "../bench/sampling.ts";
import { spawn, stop } from "../tasks/_processes.ts";

/** `grep -H -E '^(VmHWM|[0-9])' /proc/<pid>/status /proc/<pid>/stat` for a bash and a sleep named "a) (b". */
const GREP_OUTPUT = [
  "/proc/5241/status:VmHWM:\t    4128 kB",
  "/proc/5241/stat:5241 (bash) S 5240 5241 5241 0 -1 4194560 9688 3424503 2 254 5 3 12536 7560 20 0 1 0 307671 5259264 953 18446744073709551615 94266732662784 94266733452189 140722356694992 0 0 0 65536 4 1132560123 1 0 0 17 0 0 0 0 0 0 94266733685488 94266733733732 94267062009856 140722356702076 140722356702091 140722356702091 140722356703210 0",
  "/proc/5257/status:VmHWM:\t    1788 kB",
  "/proc/5257/stat:5257 (a) (b) S 1 5253 5241 0 -1 4194304 144 0 0 0 0 0 0 0 20 0 1 0 395777 2990080 420 18446744073709551615 94204091498496 94204091516425 140727065508880 0 0 0 0 6 0 1 0 0 17 1 0 0 0 0 0 94204091530512 94204091531776 94204433932288 140727065512476 140727065512493 140727065512493 140727065513961 0",
  "",
].join("\n");

Deno.test("vmHwmKiB() reads VmHWM from a status file", () => {
  assert.equal(
    vmHwmKiB("Name:\tbash\nVmPeak:\t    8140 kB\nVmHWM:\t    4128 kB\nVmRSS:\t 4100 kB\n"),
    4128,
  );
  assert.equal(vmHwmKiB("Name:\tkthreadd\n"), undefined);
});

Deno.test("statCpuSeconds() adds utime and stime, whatever the command's name holds", () => {
  const [, bash, , sleep] = GREP_OUTPUT.split("\n").map((line) => line.replace(/^[^:]*:/, ""));
  assert.equal(statCpuSeconds(bash!), 0.08);
  assert.equal(statCpuSeconds(sleep!), 0);
});

Deno.test("readProcLines() fills the samples it has, keeping the larger peak", () => {
  const samples = new Map<number, ProcSample>([
    [5241, { peakKiB: 5000, cpuSeconds: 0 }],
    [5257, { peakKiB: 0, cpuSeconds: 1 }],
  ]);
  readProcLines(GREP_OUTPUT, samples);
  assert.deepEqual(samples.get(5241), { peakKiB: 5000, cpuSeconds: 0.08 });
  assert.deepEqual(samples.get(5257), { peakKiB: 1788, cpuSeconds: 0 });
  const none = new Map<number, ProcSample>();
  readProcLines(GREP_OUTPUT, none);
  assert.equal(none.size, 0);
});

Deno.test("busySecondsOf() counts all but idle and iowait in /proc/stat's cpu line", () => {
  // user 60734, nice 128, system 26263, idle, iowait, irq 0, softirq 1873, steal 131.
  assert.equal(busySecondsOf("cpu  60734 128 26263 601651 662 0 1873 131 0 0"), 891.29);
  assert.ok(Number.isNaN(busySecondsOf("unavailable (grep: not found)")));
});

Deno.test("procSamples() and machineBusySeconds() read this machine", async () => {
  const mine = (await procSamples([Deno.pid])).get(Deno.pid)!;
  assert.ok(mine.peakKiB > 10_000, `a Deno process takes more than 10 MiB: ${mine.peakKiB}`);
  assert.ok(mine.cpuSeconds > 0);
  const busy = await machineBusySeconds();
  assert.ok(Number.isFinite(busy) && busy > 0);
  assert.ok(loadAverage() >= 0);
  assert.equal(loadAverage(1), Math.round(loadAverage(1) * 10) / 10);
});

Deno.test("ProcessSampler keeps the highest values seen of each process by name", async () => {
  const busy = spawn("busy", "sh", [
    "-c",
    "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 5",
  ]);
  const sampler = new ProcessSampler(() => [busy]);
  try {
    sampler.start(50);
    while ((sampler.get("busy")?.cpuSeconds ?? 0) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await sampler.sample();
    const seen = sampler.get("busy")!;
    assert.ok(seen.peakKiB > 0 && seen.cpuSeconds > 0);
    assert.equal(sampler.get("other"), undefined);
  } finally {
    await sampler.stop();
    await stop(busy);
  }
});
