/**
 * HA mode with a real etcd: two brokers and two sequencers, one of each
 * active; the active ones (and the standbys, and etcd) killed or stopped in
 * the middle of a 4 x 25,000 burst. Each run is checked for agreement,
 * integrity and sender order (`runScenario`), and the log of the sequencer
 * that leads at the end holds exactly the delivered order.
 *
 * @module
 */

import { join } from "node:path";
import assert from "node:assert/strict";
import type { ScenarioControl } from "../tasks/scenario.ts";
import { BlackholeProxy } from "./_blackhole_proxy.ts";
import { HAVE_ETCD, type LocalEtcd, withEtcd } from "../tasks/etcd.ts";
import { EtcdClient } from "../roles/ha/etcd.ts";
import { GroupKeys } from "../roles/ha/group_keys.ts";
import {
  assertComplete,
  assertLogAsDelivered,
  assertSenderOrder,
  burstScenario,
  type Counts,
  untilDelivered,
} from "./_burst.ts";

if (!HAVE_ETCD) {
  console.log("Skipping the HA tests: /usr/bin/etcd not found (sh tasks/setup.sh test)");
}

const COUNTS: Counts = { c1: 25_000, c2: 25_000, c3: 25_000, c4: 25_000 };

/** Waits (20 s at most) until `check()` holds, asking every 50 ms. */
async function waitUntilAsync(check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!(await check().catch(() => false))) {
    if (performance.now() > deadline) {
      throw new Error("Timed out after 20 s waiting for a new leader");
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Prints the HA roles' last lines, and how many orders each sequencer's log holds. */
function printLogs(logs: Record<string, string>, out?: string): void {
  for (const [name, log] of Object.entries(logs)) console.log(`--- ${name}:\n${log}`);
  for (const name of ["s1", "s2"]) {
    if (out === undefined) continue;
    try {
      const lines = Deno.readTextFileSync(join(out, `${name}.log`)).split("\n").length - 1;
      console.log(`--- ${name}.log: ${lines} orders`);
    } catch (error) {
      console.log(`--- ${name}.log: ${error}`);
    }
  }
}

/**
 * Waits until c1 delivered `count` and both sequencers are in the in-sync
 * set (a standby copies the leader's log from order 1 first): a failover
 * then has a standby to go to.
 */
async function readyToFail(
  control: ScenarioControl,
  etcd: LocalEtcd,
  count: number,
): Promise<void> {
  await untilDelivered(control, "c1", count);
  const client = new EtcdClient(etcd.url);
  const keys = new GroupKeys("ha-test");
  await waitUntilAsync(async () =>
    (await client.range(keys.inSyncPrefix, { prefix: true })).kvs.length === 2
  );
}

/** What a fault did, for the test's line. */
type Fault = (control: ScenarioControl, etcd: LocalEtcd) => Promise<string>;

/**
 * Runs the burst in HA mode (2 brokers, 2 sequencers) with `fault` beside
 * it, and checks the result, the leading sequencer's log and `check`;
 * `route` may give a broker or sequencer another way to etcd.
 */
async function haBurst(
  what: string,
  fault: Fault,
  check: (logs: Record<string, string>, leader: string) => void = () => {},
  route?: (etcd: LocalEtcd) => (name: string) => string | undefined,
): Promise<void> {
  await withEtcd(async (etcd) => {
    const etcdFor = route?.(etcd);
    let did = "";
    let held = 0;
    let leader = "";
    let seen: ScenarioControl | undefined;
    const { report, sent } = await burstScenario(COUNTS, {
      ha: { etcd: etcd.url, group: "ha-test", sequencers: 2, brokers: 2, etcdFor },
      echo: Deno.env.get("HA_ECHO") === "1",
      faults: async (control) => {
        seen = control;
        did = await fault(control, etcd);
      },
      // Once every client delivered everything, before the roles stop.
      beforeStop: async () => {
        // None leads if the run is stuck: the report then says what is missing.
        leader = await seen!.active("sequencer").catch(() => "");
      },
    }, async (out, report, sent) => {
      if (leader === "") return;
      try {
        held = await assertLogAsDelivered(join(out, `${leader}.log`), sent, report.order);
      } catch (error) {
        printLogs(report.haLogs, out);
        throw error;
      }
    });
    if (report.violations.length > 0) printLogs(report.haLogs);
    assertComplete(report, sent);
    assertSenderOrder(report.order);
    check(report.haLogs, leader);
    console.log(
      `${what}: ${did}; all ${sent.length} delivered by every client, once, in one order; the log of ${leader}, leading at the end, holds 1..${held} as delivered (${
        report.seconds.toFixed(2)
      } s)`,
    );
  });
}

/** Waits for c1 to deliver `count`, then SIGKILLs the active `roles`. */
function killActive(count: number, ...roles: ("broker" | "sequencer")[]): Fault {
  return async (control, etcd) => {
    await readyToFail(control, etcd, count);
    const names = await Promise.all(roles.map((role) => control.active(role)));
    const at = control.delivered("c1");
    await Promise.all(names.map((name) => control.kill(name)));
    return `${names.join(" and ")} killed when c1 had delivered ${at}`;
  };
}

/** The standby of a role: the one of the pair that is not active. */
function standbyOf(active: string): string {
  return `${active[0]}${active[1] === "1" ? "2" : "1"}`;
}

Deno.test({
  name: "HA: the active sequencer killed with SIGKILL mid-burst: the standby in sync takes over",
  ignore: !HAVE_ETCD,
  fn: () => haBurst("sequencer failover", killActive(20_000, "sequencer")),
});

Deno.test({
  name:
    "HA: the active broker killed with SIGKILL mid-burst: every participant moves to the standby broker",
  ignore: !HAVE_ETCD,
  fn: () => haBurst("broker failover", killActive(20_000, "broker")),
});

Deno.test({
  name: "HA: the active broker and the active sequencer killed with SIGKILL at once",
  ignore: !HAVE_ETCD,
  fn: () => haBurst("broker and sequencer failover", killActive(20_000, "broker", "sequencer")),
});

Deno.test({
  name: "HA: the standby broker and the standby sequencer killed: the active ones go on",
  ignore: !HAVE_ETCD,
  fn: () =>
    haBurst("standbys killed", async (control, etcd) => {
      await readyToFail(control, etcd, 20_000);
      const names = [
        standbyOf(await control.active("broker")),
        standbyOf(await control.active("sequencer")),
      ];
      const at = control.delivered("c1");
      await Promise.all(names.map((name) => control.kill(name)));
      return `${names.join(" and ")} (standing by) killed when c1 had delivered ${at}`;
    }),
});

Deno.test({
  name:
    "HA: etcd stopped with SIGSTOP for 3 s mid-burst: no two leaders, nothing lost once it is back",
  ignore: !HAVE_ETCD,
  fn: () =>
    haBurst("etcd stopped", async (control, etcd) => {
      await readyToFail(control, etcd, 20_000);
      const before = await control.active("sequencer");
      const at = control.delivered("c1");
      etcd.child.kill("SIGSTOP");
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const during = control.delivered("c1");
      etcd.child.kill("SIGCONT");
      return `etcd stopped for 3 s when c1 had delivered ${at} (${
        during - at
      } more while it was stopped); ${before} led before`;
    }),
});

/**
 * Freezes the active `role` with SIGSTOP once c1 delivered 20,000 and both
 * sequencers are in sync, until another took its place, then lets it go;
 * `frozen.name` gets its name.
 */
function freezeActive(role: "broker" | "sequencer", frozen: { name: string }): Fault {
  return async (control, etcd) => {
    await readyToFail(control, etcd, 20_000);
    frozen.name = await control.active(role);
    const at = control.delivered("c1");
    control.signal(frozen.name, "SIGSTOP");
    // Until its lease expired and another took over (a standby in sync may come late under load).
    await waitUntilAsync(async () => (await control.active(role)) !== frozen.name);
    control.signal(frozen.name, "SIGCONT");
    return `${frozen.name} frozen when c1 had delivered ${at}, let go once it had ${
      control.delivered("c1")
    }`;
  };
}

Deno.test({
  name:
    "HA: the active sequencer frozen with SIGSTOP mid-burst: the standby takes over, and once let go the old one no longer leads",
  ignore: !HAVE_ETCD,
  fn: () => {
    const frozen = { name: "" };
    return haBurst("sequencer frozen", freezeActive("sequencer", frozen), (logs) => {
      assert.match(logs[frozen.name]!, /No longer leading/, `${frozen.name} went on`);
    });
  },
});

Deno.test({
  name:
    "HA: the active broker frozen with SIGSTOP mid-burst: every participant moves to the standby broker, and once let go the old one no longer serves",
  ignore: !HAVE_ETCD,
  fn: () => {
    const frozen = { name: "" };
    return haBurst("broker frozen", freezeActive("broker", frozen), (logs) => {
      assert.match(logs[frozen.name]!, /No longer the active broker/, `${frozen.name} went on`);
    });
  },
});

Deno.test({
  name:
    "HA: the leading sequencer cut off from etcd (its link dropped, no reset) while it still reaches the broker: it stops, the standby takes over, one order",
  ignore: !HAVE_ETCD,
  fn: async () => {
    const proxies = new Map<string, BlackholeProxy>();
    let cut = "";
    try {
      await haBurst("cut off from etcd", async (control, etcd) => {
        await readyToFail(control, etcd, 5_000);
        cut = await control.active("sequencer");
        proxies.get(cut)!.cut();
        // Its lease expires in etcd: the standby leads.
        await waitUntilAsync(async () => (await control.active("sequencer")) !== cut);
        return `${cut}, leading, lost its link to etcd`;
      }, (logs, leader) => {
        assert.notEqual(leader, cut, `${cut}, cut off from etcd, still leads`);
        assert.match(logs[cut]!, /No longer leading/, `${cut} did not say it stopped`);
      }, (etcd) => {
        // Each sequencer reaches etcd through a proxy of its own.
        const port = Number(new URL(etcd.url).port);
        for (const name of ["s1", "s2"]) proxies.set(name, new BlackholeProxy(port));
        return (name) => {
          const proxy = proxies.get(name);
          return proxy === undefined ? undefined : `http://127.0.0.1:${proxy.port}`;
        };
      });
    } finally {
      for (const proxy of proxies.values()) await proxy.close();
    }
  },
});
