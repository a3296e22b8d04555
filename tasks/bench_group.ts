/**
 * `deno task bench:group`: the group's throughput, latency, scaling and
 * memory, as separate processes on one machine (broker, sequencer and
 * `bench/group_client.ts` clients), against a pyzmq build of the seed's
 * design (`tests/peers/seed/`: broker.py, main.py as the sequencer and
 * burst.py clients) and against NATS JetStream doing the same job, in the
 * same run.
 *
 * Runs, each with a fresh broker and sequencer on fresh ports:
 * - throughput: 4 clients, 100,000 multicasts of 32 B in all, as fast as
 *   backpressure allows: deliveries per second at every client; three runs
 *   of each implementation, the targets taken from the median run;
 * - latency: 4 clients offering 1,000 and 10,000 multicasts/s in all for
 *   5 s: p50, p99 and max from a multicast to its delivery at every client;
 * - scaling: 2, 4, 8 and 16 clients (40,000 × 32 B, and 1,000/s for the
 *   latency), and 32 B, 1 KiB and 64 KiB payloads at 4 clients;
 * - the seed's design for the throughput and the scaling runs. It loses
 *   messages and stalls; its rate is what it delivered until then;
 * - frozen: 3 clients multicasting 300,000 × 32 B in all as fast as they
 *   can while a 4th member that only receives is frozen with SIGSTOP from
 *   its first delivery until they are done, against the 3 alone (goal: at
 *   least 0.8 of their rate alone); and how long the frozen member takes,
 *   from SIGCONT, to catch up (the sequencer has a `--log`);
 * - jetstream: NATS JetStream doing the group's job on the throughput
 *   case's load: one stream (`group.>`) as the total order, 4 clients, each
 *   publishing its share with acks (at most 1,000 unacknowledged) and
 *   reading the whole stream with an ordered consumer
 *   (`bench/peers/jetstream_peer.mjs`, node and the npm package nats 2.x,
 *   against Debian's `nats-server -js` on its own port with a fresh store),
 *   on memory storage against ours (the throughput runs) and on file
 *   storage against ours with the sequencer's durable `--log` (run here,
 *   the default fsync). `tasks/setup.sh bench` installs nats-server and the
 *   client; if either cannot be had the JetStream runs are skipped with the
 *   reason;
 * - in-broker: the throughput (3 runs, with the others), durable and
 *   latency runs again with the sequencer inside the broker's process
 *   (`run:broker --sequencer`), beside the separate sequencer's;
 * - ha: with an etcd of its own, two brokers and two sequencers: the pause
 *   of 12 failovers (the active sequencer and the active broker killed with
 *   SIGKILL in turn, under a steady load), and a burst in HA mode against
 *   the default (`bench/group/ha.ts`).
 *
 * Writes `bench/out/group.json`, `bench/out/group.md` (printed too) and
 * `bench/out/group.svg`. A run that fails is reported as failed; every
 * process has a timeout.
 *
 * ```sh
 * deno task bench:group [--scale 1] [--only throughput,latency,clients,sizes,frozen,jetstream,in-broker,ha] [--no-seed]
 * BENCH_GROUP_CPU_PROF=broker deno task bench:group --only throughput   # profile a role
 * ```
 *
 * `BENCH_GROUP_CPU_PROF` (`broker`, `sequencer` or a client id such as `c1`)
 * runs that role of the Deno throughput run under `--cpu-prof` (into
 * `BENCH_GROUP_PROF_DIR`, default `/tmp/bench_group_prof`) and prints the
 * functions that took the most time. Runs with `--only` or a profile print
 * their report without overwriting `bench/out/`.
 *
 * The parts are in `bench/`: `group/plan.ts` (the runs), `group/run.ts`
 * (starting the roles, one run), `group/jetstream.ts` (JetStream's peers),
 * `group/result.ts`, `group/profile.ts`,
 * `group/meta.ts`, `sampling.ts` (/proc), `report/group_markdown.ts` and
 * `report/group_svg.ts`.
 *
 * @module
 */

import { runHaBench } from "../bench/group/ha.ts";
import { parseArgs } from "node:util";
import { OUT } from "../bench/command.ts";
import { type JetStreamProbe, jetstreamProbe, jetstreamText } from "../bench/group/jetstream.ts";
import { benchMeta, seedProblem } from "../bench/group/meta.ts";
import { plan, TARGETS, THROUGHPUT_RUNS } from "../bench/group/plan.ts";
import {
  clearProfiles,
  findProfiles,
  profiledRole,
  summarizeProfile,
} from "../bench/group/profile.ts";
import { runAll } from "../bench/group/run.ts";
import { renderMarkdown } from "../bench/report/group_markdown.ts";
import { renderSvg } from "../bench/report/group_svg.ts";
import { loadAverage } from "../bench/sampling.ts";

/** The groups of runs that --only can name. */
const GROUPS = [
  "throughput",
  "latency",
  "clients",
  "latency-clients",
  "sizes",
  "frozen",
  "jetstream",
  "in-broker",
  "ha",
];

const HELP = `Usage: deno task bench:group [--scale F] [--only ${GROUPS.join(",")}] [--no-seed]\n` +
  "BENCH_GROUP_CPU_PROF=broker|sequencer|c1 profiles that role in the throughput run.";

/** The command line, or an exit code (help, bad flags). */
function parseFlags(): { scale: number; only?: Set<string>; seed: boolean } | number {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      scale: { type: "string", default: "1" },
      only: { type: "string" },
      "no-seed": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const scale = Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0) {
    console.error(
      `bench:group: invalid --scale ${JSON.stringify(values.scale)}: expected a number > 0`,
    );
    return 2;
  }
  const only = values.only === undefined ? undefined : new Set(values.only.split(","));
  const unknown = [...only ?? []].find((group) => !GROUPS.includes(group));
  if (unknown !== undefined) {
    console.error(
      `bench:group: unknown --only group ${JSON.stringify(unknown)}: expected some of ${
        GROUPS.join(", ")
      }`,
    );
    return 2;
  }
  return { scale, only, seed: !values["no-seed"] };
}

async function main(): Promise<number> {
  const flags = parseFlags();
  if (typeof flags === "number") return flags;
  const { scale, only } = flags;
  const profiling = profiledRole() !== undefined;
  if (profiling) clearProfiles();
  const seedUnavailable = flags.seed ? await seedProblem() : "not run (--no-seed)";
  // JetStream (installed by tasks/setup.sh bench) only when its runs are planned.
  let jetstream: JetStreamProbe | undefined;
  if (only === undefined || only.has("jetstream")) {
    jetstream = await jetstreamProbe();
    if (!jetstream.ok) console.error(`bench:group: JetStream's runs are skipped: ${jetstream.why}`);
  }
  const began = performance.now();
  const started = new Date();
  const loadBefore = loadAverage(1);
  const specs = plan({
    scale,
    only,
    seed: seedUnavailable === undefined,
    jetstream: jetstream?.ok === true,
    // A profile is of one run.
    throughputRuns: profiling ? 1 : THROUGHPUT_RUNS,
  });
  const results = await runAll(specs, jetstream);
  const ha = only === undefined || only.has("ha") ? await runHaBench(scale) : undefined;
  const seconds = Math.round((performance.now() - began) / 1000);
  const meta = await benchMeta(
    { started, scale, seconds, loadBefore },
    seedUnavailable,
    jetstream === undefined ? undefined : jetstreamText(jetstream),
  );
  const profiles = findProfiles().map((file) => summarizeProfile(file));
  const markdown = renderMarkdown(results, meta, profiles, ha);
  console.log(markdown);
  if (only !== undefined || profiling) {
    console.error("bench:group: a partial or profiled run: bench/out/ left as it was");
    return 0;
  }
  Deno.mkdirSync(OUT, { recursive: true });
  Deno.writeTextFileSync(
    `${OUT}group.json`,
    JSON.stringify({ meta, targets: TARGETS, runs: results, ha }, null, 2) + "\n",
  );
  Deno.writeTextFileSync(`${OUT}group.md`, markdown);
  Deno.writeTextFileSync(`${OUT}group.svg`, renderSvg(results));
  console.error("bench:group: wrote bench/out/group.json, group.md and group.svg");
  return 0;
}

if (import.meta.main) Deno.exit(await main());
