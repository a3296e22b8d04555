/**
 * `deno task bench:binding`: this project's Deno binding against libzmq from
 * C, pyzmq and zeromq.js, each as two separate processes over tcp loopback.
 *
 * Measures one-way throughput (PUSH/PULL, 32 B and 1 KiB messages, msg/s at
 * the receiver from its first to its last message) and round-trip latency
 * (REQ/REP, 32 B, p50 and p99 after a warm-up). Each measurement runs
 * `--runs` times (3 by default), never two at once, and the median is
 * reported. Prints one Markdown table with ratios and writes it to
 * `bench/out/binding.md` and `bench/out/binding.json`.
 *
 * Peers are installed and built here: `tasks/setup.sh bench` (libzmq3-dev,
 * gcc, python3-zmq), `gcc` for `bench/peers/zmq_peer.c`, and `zeromq@6` from
 * npm into `bench/out/node/`. A peer that cannot be had is reported as
 * unavailable, with the reason, instead of failing the run.
 *
 * ```sh
 * deno task bench:binding [--runs 3] [--scale 1] [--timeout 60]
 * ```
 *
 * The parts are in `bench/`: `binding/peers.ts` (the implementations),
 * `binding/measure.ts` (one measurement), `binding/run.ts` (all of them) and
 * `report/binding_markdown.ts`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { killPeers, measurements } from "../bench/binding/measure.ts";
import { implementations } from "../bench/binding/peers.ts";
import { runAll } from "../bench/binding/run.ts";
import { OUT } from "../bench/command.ts";
import {
  bindingJson,
  bindingMarkdown,
  bindingNotes,
  bindingTable,
} from "../bench/report/binding_markdown.ts";
import { loadAverage } from "../bench/sampling.ts";

const HELP = "usage: deno task bench:binding [--runs 3] [--scale 1] [--timeout 60]\n" +
  "  --runs N     runs of each measurement; the median is reported\n" +
  "  --scale F    multiplies every message count (e.g. 0.1 for a quick check)\n" +
  "  --timeout S  seconds before a peer pair is killed";

/** The command line, or undefined after --help. */
function parseFlags(): { runs: number; scale: number; timeoutMs: number } | undefined {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "3" },
      scale: { type: "string", default: "1" },
      timeout: { type: "string", default: "60" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  const runs = Math.max(1, Math.floor(Number(values.runs)));
  const scale = Number(values.scale);
  const timeoutMs = Number(values.timeout) * 1000;
  if (!Number.isFinite(scale) || scale <= 0 || !(timeoutMs > 0) || !(runs > 0)) {
    throw new RangeError("Bad arguments: --runs, --scale and --timeout take positive numbers");
  }
  return { runs, scale, timeoutMs };
}

async function main(): Promise<void> {
  const flags = parseFlags();
  if (flags === undefined) return;
  const sigint = () => {
    killPeers();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", sigint);
  const impls = await implementations();
  for (const impl of impls) {
    console.error(
      `bench: ${impl.label}: ${impl.available ? impl.version : `unavailable: ${impl.reason}`}`,
    );
  }
  const all = measurements(flags.scale);
  const before = loadAverage();
  if (before > 0.5) {
    console.error(
      `bench: warning: the machine is busy (load average ${
        before.toFixed(2)
      } over 1 min); the numbers will be noisy`,
    );
  }
  const started = performance.now();
  const found = await runAll(impls, all, flags);
  const seconds = (performance.now() - started) / 1000;
  const bench = {
    impls,
    measurements: all,
    runs: flags.runs,
    found,
    seconds,
    load: { before, after: loadAverage() },
  };
  const table = bindingTable(impls, found.cells);
  const notes = bindingNotes(bench);
  const markdown = bindingMarkdown(table, notes);
  console.log(`\n${table}\n\n${notes.map((note) => `- ${note}`).join("\n")}`);
  await Deno.writeTextFile(
    `${OUT}binding.json`,
    JSON.stringify(bindingJson(bench, markdown), null, 2) + "\n",
  );
  await Deno.writeTextFile(`${OUT}binding.md`, markdown);
  console.error(`bench: wrote bench/out/binding.md and bench/out/binding.json`);
  Deno.removeSignalListener("SIGINT", sigint);
}

if (import.meta.main) await main();
