/**
 * The HA runs of `bench:group` (`--only ha`): with an etcd of its own, two
 * brokers and two sequencers (`runScenario`'s HA mode),
 *
 * - **failover pauses**: 4 clients multicast steadily while the active
 *   sequencer, then the active broker, and so on, is killed with SIGKILL
 *   and started again (as a standby) `FAILOVERS` times; a pause is the time
 *   from a kill until every client delivered again;
 * - **the cost of HA mode**: a burst of 4 x N multicasts with no sleeps,
 *   in HA mode and in the default mode (the sequencer with `--log`, as HA
 *   mode's are), interleaved, deliveries per second at each client.
 *
 * @module
 */

import { join } from "node:path";
import {
  countLines,
  resultPaths,
  runScenario,
  type ScenarioControl,
} from "../../tasks/scenario.ts";
import { HAVE_ETCD, type LocalEtcd, withEtcd } from "../../tasks/etcd.ts";
import { EtcdClient } from "../../roles/ha/etcd.ts";
import { GroupKeys } from "../../roles/ha/group_keys.ts";
import { median } from "../stats.ts";

/** Failovers measured, sequencer and broker alternately. */
export const FAILOVERS = 12;
const CLIENTS = ["c1", "c2", "c3", "c4"];
const GROUP = "bench";

/** One failover. */
export interface Failover {
  /** Which active role was killed. */
  role: "sequencer" | "broker";
  /** Its name (s1, b2 ...). */
  killed: string;
  /** From the kill until every client delivered again, ms. */
  pauseMs: number;
}

/** p50 and max of pauses, ms. */
export interface PauseSummary {
  /** How many failovers. */
  count: number;
  /** The median pause. */
  p50: number;
  /** The longest. */
  max: number;
}

/** What the HA runs found. */
export interface HaBenchResult {
  /** Each failover, in order. */
  failovers: Failover[];
  /** By role, and all together. */
  pauses: { sequencer: PauseSummary; broker: PauseSummary; all: PauseSummary };
  /** The lease TTL, s. */
  leaseTtlS: number;
  /** Deliveries per second at each client, per run, interleaved. */
  throughput: { multicasts: number; defaultMode: number[]; haMode: number[] };
}

function summary(pauses: number[]): PauseSummary {
  return {
    count: pauses.length,
    p50: Math.round(median(pauses)),
    max: Math.round(Math.max(0, ...pauses)),
  };
}

/** Writes steady scripts: `count` multicasts a client, one every `gapS` seconds. */
async function writeSteady(dir: string, count: number, gapS: number): Promise<void> {
  for (const id of CLIENTS) {
    const lines = Array.from({ length: count }, (_, i) => `Multicast,${id},m${i}\nsleep,${gapS}`);
    await Deno.writeTextFile(join(dir, `${id}.txt`), lines.join("\n") + "\n");
  }
}

/** Writes burst scripts: `count` multicasts a client, no sleeps. */
async function writeBurst(dir: string, count: number): Promise<void> {
  for (const id of CLIENTS) {
    const lines = Array.from({ length: count }, (_, i) => `Multicast,${id},m${i}`);
    await Deno.writeTextFile(join(dir, `${id}.txt`), lines.join("\n") + "\n");
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check()` holds, every 20 ms, for at most `ms`. */
async function until(check: () => Promise<boolean> | boolean, ms: number, what: string) {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${what}`);
    await pause(20);
  }
}

/**
 * Kills the active `role`, measures the pause, starts it again and waits
 * until it can take over in turn (a sequencer: back in the in-sync set).
 */
async function failover(
  control: ScenarioControl,
  out: string,
  etcd: EtcdClient,
  role: "sequencer" | "broker",
): Promise<Failover> {
  const killed = await control.active(role);
  const killedAt = performance.now();
  await control.kill(killed);
  // What was on its way at the kill is delivered within a few ms; then the gap.
  await pause(200);
  const before = CLIENTS.map((id) => countLines(resultPaths(out, id).tom));
  const resumed = CLIENTS.map(() => 0);
  await until(
    () => {
      CLIENTS.forEach((id, i) => {
        if (resumed[i] === 0 && countLines(resultPaths(out, id).tom) > before[i]!) {
          resumed[i] = performance.now();
        }
      });
      return resumed.every((at) => at > 0);
    },
    60_000,
    `every client to deliver again after ${killed} was killed`,
  );
  control.restart(killed);
  const keys = new GroupKeys(GROUP);
  // Ready for the next failover: both brokers campaigning, and both
  // sequencers in sync (after a broker's failover the standby copies again).
  await until(
    async () => {
      const brokers = await etcd.range(`${keys.brokers}/`, { prefix: true });
      const inSync = await etcd.range(keys.inSyncPrefix, { prefix: true });
      return brokers.kvs.length === 2 && inSync.kvs.length === 2;
    },
    60_000,
    `${killed} to stand by again, and both sequencers to be in sync`,
  );
  return { role, killed, pauseMs: Math.max(...resumed) - killedAt };
}

/** The failovers, in one long steady run. */
async function failovers(local: LocalEtcd, dir: string, count: number): Promise<Failover[]> {
  const scenario = join(dir, "steady");
  await Deno.mkdir(scenario, { recursive: true });
  // 100 multicasts a second from each client, for longer than the failovers take.
  await writeSteady(scenario, 100 * 12 * count, 0.01);
  const out = join(dir, "steady-out");
  const etcd = new EtcdClient(local.url);
  const done: Failover[] = [];
  const report = await runScenario({
    scenario,
    out,
    timeoutSeconds: 30 * count + 600,
    echo: Deno.env.get("BENCH_HA_ECHO") === "1",
    ha: { etcd: local.url, group: GROUP, brokers: 2, sequencers: 2 },
    faults: async (control) => {
      await until(() => countLines(resultPaths(out, "c1").tom) > 1000, 60_000, "c1 to deliver");
      for (let i = 0; i < count; i++) {
        const result = await failover(control, out, etcd, i % 2 === 0 ? "sequencer" : "broker");
        console.error(
          `bench:group: ha: ${result.killed} killed, pause ${Math.round(result.pauseMs)} ms`,
        );
        done.push(result);
      }
      // The rest of the run is not needed: every client stops now.
      for (const id of CLIENTS) await control.kill(id);
    },
  });
  // The clients were killed one after the other: their results differ at the end.
  const unexpected = report.violations.filter((v) =>
    !/killed|delivered .* times instead|vs undefined/.test(v)
  );
  if (done.length < count) throw new Error(`HA failovers: ${report.violations.join("; ")}`);
  if (unexpected.length > 0) console.error(`bench:group: ha: ${unexpected.join("; ")}`);
  return done;
}

/** One burst's deliveries per second at each client, in HA mode or not. */
async function burst(dir: string, local: LocalEtcd, ha: boolean, run: number, count: number) {
  const scenario = join(dir, `burst-${ha ? "ha" : "default"}-${run}`);
  await Deno.mkdir(scenario, { recursive: true });
  await writeBurst(scenario, count);
  const out = `${scenario}-out`;
  const report = await runScenario({
    scenario,
    out,
    timeoutSeconds: 300,
    ...(ha
      ? { ha: { etcd: local.url, group: `${GROUP}-${run}`, brokers: 2, sequencers: 2 } }
      : { sequencerFlags: ["--log", join(out, "orders.log")] }),
  });
  if (report.violations.length > 0) {
    throw new Error(`HA burst (${ha ? "HA" : "default"}): ${report.violations.join("; ")}`);
  }
  return Math.round((count * CLIENTS.length) / report.seconds);
}

/**
 * Runs the HA runs, or says why not (no etcd).
 *
 * @param scale Multiplies the burst's size (4 x 50,000 at 1).
 */
export async function runHaBench(scale: number): Promise<HaBenchResult | { skipped: string }> {
  if (!HAVE_ETCD) return { skipped: "no /usr/bin/etcd (sh tasks/setup.sh ha installs it)" };
  const dir = await Deno.makeTempDir({ prefix: "bench-ha-" });
  try {
    return await withEtcd(async (local) => {
      const multicasts = Math.max(1000, Math.round(50_000 * scale));
      const defaultMode: number[] = [];
      const haMode: number[] = [];
      for (let run = 0; run < 3; run++) {
        defaultMode.push(await burst(dir, local, false, run, multicasts));
        haMode.push(await burst(dir, local, true, run, multicasts));
      }
      const list = await failovers(local, dir, FAILOVERS);
      const pauses = (role?: string) =>
        list.filter((f) => role === undefined || f.role === role).map((f) => f.pauseMs);
      return {
        failovers: list,
        pauses: {
          sequencer: summary(pauses("sequencer")),
          broker: summary(pauses("broker")),
          all: summary(pauses()),
        },
        leaseTtlS: 2,
        throughput: { multicasts: multicasts * CLIENTS.length, defaultMode, haMode },
      };
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
