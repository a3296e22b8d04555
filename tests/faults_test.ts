/**
 * The group under load and faults, as separate processes: bursts without
 * sleeps, a slow client, a client killed mid-run, lost bus messages, the
 * sequencer and the broker killed and started again; and late joiners, in
 * one process. Every run checks agreement, integrity and each role's peak
 * memory, and prints its numbers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Broker, type Delivery, Member, Sequencer } from "../roles/mod.ts";
import { freeBasePort, type RoleProcess, spawnRole, stop } from "../tasks/_processes.ts";
import {
  formatReport,
  peakMemory,
  readLines,
  resultPaths,
  runScenario,
  type ScenarioControl,
} from "../tasks/scenario.ts";
import { inTempDir, within } from "./_helpers.ts";
import {
  assertComplete,
  assertLogAsDelivered,
  assertMemory,
  assertSenderOrder,
  burstScenario,
  type Counts,
  payloadOf,
  T,
  untilDelivered,
  waitUntil,
  writeBurst,
} from "./_burst.ts";

const decoder = new TextDecoder();

// --- A group of processes with flags per client, and the roles' counters ------------------------

/** What {@link runGroup} found. */
interface GroupRun {
  /** Each client's `_tom` lines. */
  tom: Map<string, string[]>;
  /** Seconds from the start until each client had delivered everything. */
  doneAfter: Map<string, number>;
  /** Deliveries of every client at the moment the first one was done. */
  atFirstDone: Map<string, number>;
  /** The last `counters {...}` line each role logged on shutdown. */
  counters: Map<string, Record<string, number>>;
  /** What each role wrote to stderr. */
  stderr: Map<string, string>;
  /** Peak resident memory of each role, KiB. */
  peakKiB: Record<string, number>;
}

function lineCount(path: string): number {
  try {
    let count = 0;
    for (const byte of Deno.readFileSync(path)) if (byte === 10) count++;
    return count;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

function countersOf(process: RoleProcess): Record<string, number> {
  const lines = [...process.stderr().matchAll(/\bcounters (\{.*\})$/gm)];
  const last = lines[lines.length - 1];
  assert.ok(last !== undefined, `${process.name} logged no counters:\n${process.stderr()}`);
  return JSON.parse(last[1]!);
}

/**
 * Runs broker, sequencer and one client per script as processes, each
 * client with its own extra flags (runScenario's `clientFlags` go to every
 * client), until every client has delivered all `expected` multicasts;
 * then stops them all (each must exit 0) and collects their counters.
 */
async function runGroup(
  dir: string,
  counts: Counts,
  flags: Record<string, string[]>,
  timeoutMs: number,
  sequencerFlags: string[] = [],
): Promise<GroupRun> {
  const ids = Object.keys(counts);
  const expected = Object.values(counts).reduce((a, b) => a + b, 0);
  const scenario = join(dir, "scenario");
  const out = join(dir, "out");
  await Deno.mkdir(scenario);
  await Deno.mkdir(out);
  await writeBurst(scenario, counts);
  const port = ["--base-port", String(freeBasePort())];
  const roles = new Map<string, RoleProcess>();
  const tomOf = (id: string) => join(out, `test_result_${id}_tom.txt`);
  const peakKiB: Record<string, number> = {};
  const doneAfter = new Map<string, number>();
  let atFirstDone = new Map<string, number>();
  try {
    roles.set(
      "broker",
      spawnRole("broker", "broker", ["--expect", String(ids.length + 1), ...port]),
    );
    roles.set("sequencer", spawnRole("sequencer", "sequencer", [...port, ...sequencerFlags]));
    const started = performance.now();
    for (const id of ids) {
      roles.set(
        id,
        spawnRole(`client ${id}`, "client", [
          ...["--id", id, "--script", join(scenario, `${id}.txt`), "--out", out, ...port],
          ...(flags[id] ?? []),
        ]),
      );
    }
    const exited = new Map<string, number>();
    for (const [name, process] of roles) void process.status.then((s) => exited.set(name, s.code));
    await waitUntil(
      () => {
        for (const [name, process] of roles) {
          if (exited.has(name)) {
            throw new Error(
              `${process.name} exited with code ${exited.get(name)}:\n${process.stderr()}`,
            );
          }
        }
        const delivered = new Map(ids.map((id) => [id, lineCount(tomOf(id))]));
        for (const [id, count] of delivered) {
          if (count >= expected && !doneAfter.has(id)) {
            if (doneAfter.size === 0) atFirstDone = delivered;
            doneAfter.set(id, (performance.now() - started) / 1000);
          }
        }
        return doneAfter.size === ids.length;
      },
      timeoutMs,
      () =>
        `every client to deliver ${expected}: ${
          ids.map((id) => `${id} ${lineCount(tomOf(id))}`).join(", ")
        }`,
    );
    // VmHWM is the peak so far: read once, before each role stops.
    for (const [name, process] of roles) peakKiB[name] = peakMemory(process.child.pid);
  } finally {
    // Clients first, then the sequencer, then the broker, as runScenario does.
    for (const id of ids) if (roles.has(id)) await stop(roles.get(id)!);
    for (const name of ["sequencer", "broker"]) if (roles.has(name)) await stop(roles.get(name)!);
  }
  const counters = new Map<string, Record<string, number>>();
  const stderr = new Map<string, string>();
  for (const [name, process] of roles) {
    stderr.set(name, process.stderr());
    const { code } = await process.status;
    assert.equal(code, 0, `${process.name} exited with code ${code}:\n${process.stderr()}`);
    counters.set(name, countersOf(process));
  }
  const tom = new Map(
    ids.map((id) => {
      const text = Deno.readTextFileSync(tomOf(id));
      return [id, text === "" ? [] : text.replace(/\n$/, "").split("\n")];
    }),
  );
  return { tom, doneAfter, atFirstDone, counters, stderr, peakKiB };
}

/** Asserts that every client's `_tom` is the same order of exactly the multicasts sent. */
function assertAgreement(run: GroupRun, counts: Counts): string[] {
  const sent = Object.entries(counts).flatMap(([id, n]) =>
    Array.from({ length: n }, (_, i) => payloadOf(id, i))
  );
  const [first, ...others] = [...run.tom.keys()];
  const reference = run.tom.get(first!)!;
  assert.equal(reference.length, sent.length, `${first} delivered ${reference.length}`);
  assert.deepEqual([...reference].sort(), [...sent].sort(), `${first}: not each exactly once`);
  for (const id of others) {
    const order = run.tom.get(id)!;
    const at = order.findIndex((line, i) => line !== reference[i]);
    assert.ok(
      at < 0 && order.length === reference.length,
      `${id} differs from ${first} at delivery ${at + 1}: ${order[at]} vs ${reference[at]}`,
    );
  }
  return reference;
}

// --- Bursts --------------------------------------------------------------------------------------

for (const each of [2_500, 25_000]) {
  const counts: Counts = { c1: each, c2: each, c3: each, c4: each };
  const total = 4 * each;
  Deno.test(`runScenario(): a burst of 4 x ${each.toLocaleString("en")} multicasts without sleeps is delivered by every client once, in one order, in bounded memory`, async () => {
    const { report, sent } = await burstScenario(counts);
    assertComplete(report, sent);
    assert.equal(sent.length, total);
    // Each client's own multicasts keep their sending order within the total order.
    for (const id of Object.keys(counts)) {
      const own = report.order.filter((p) => p.startsWith(`${id}###`));
      assert.deepEqual(own, sent.filter((p) => p.startsWith(`${id}###`)), `${id}'s FIFO order`);
    }
    const memory = assertMemory(report.peakMemoryKiB);
    console.log(
      `burst 4 x ${each}: ${total} multicasts delivered by 4 clients in ${
        report.seconds.toFixed(2)
      } s (${Math.round(total / report.seconds)} multicasts/s); peak memory: ${memory}`,
    );
  });
}

// --- A slow client -------------------------------------------------------------------------------

Deno.test("A slow client (--delivery-delay 1 on c4 only) loses nothing, while the others finish first", async () => {
  // 11,000 deliveries at >= 1 ms each: the slow client's backlog passes the
  // 10,000 at which a member stops reading the bus, so flow control acts.
  const counts: Counts = { c1: 2_750, c2: 2_750, c3: 2_750, c4: 2_750 };
  const run = await inTempDir(
    "faults-slow-",
    (dir) => runGroup(dir, counts, { c4: ["--delivery-delay", "1"] }, 90_000),
  );
  assertAgreement(run, counts);
  const memory = assertMemory(run.peakKiB);
  const slow = run.doneAfter.get("c4")!;
  const fast = Math.max(...["c1", "c2", "c3"].map((id) => run.doneAfter.get(id)!));
  // At >= 1 ms a delivery, the slow one cannot be done before 11 s.
  assert.ok(slow >= 11, `c4 was done after ${slow} s: was it slowed at all?`);
  assert.ok(
    fast < slow,
    `the fast clients were done after ${fast} s, not before the slow one (${slow} s)`,
  );
  assert.ok(
    run.atFirstDone.get("c4")! < 11_000,
    `c4 had delivered ${run.atFirstDone.get("c4")} when the first fast client was done`,
  );
  for (const id of Object.keys(counts)) {
    assert.equal(run.counters.get(id)!.delivered, 11_000, `${id}'s counters`);
  }
  console.log(
    `slow client: 11000 multicasts, c4 delayed 1 ms a delivery: fast clients done after ${
      fast.toFixed(2)
    } s (c4 had ${run.atFirstDone.get("c4")} then), c4 after ${
      slow.toFixed(2)
    } s with nothing lost; peak memory: ${memory}`,
  );
});

// --- A client killed ------------------------------------------------------------------------------

Deno.test("A client killed with SIGKILL mid-run does not stall the others (they finish within 15 s of the kill)", async () => {
  const STALL_BOUND_S = 15;
  const counts: Counts = { c1: 5_000, c2: 5_000, c3: 5_000, c4: 5_000 };
  let killedAfter = 0;
  let c2Delivered = 0;
  const { report, sent } = await burstScenario(counts, {
    async faults(control) {
      const started = performance.now();
      await untilDelivered(control, "c1", 4_000);
      c2Delivered = control.delivered("c2");
      await control.kill("c2");
      killedAfter = (performance.now() - started) / 1000;
    },
  });
  assert.deepEqual(report.violations, [], formatReport(report));
  assert.ok(killedAfter > 0, "c2 was not killed");
  const c2 = report.clients.find((c) => c.id === "c2")!;
  assert.ok(c2.killed, "the report does not show c2 as killed");
  // The others delivered everything of c1, c3, c4, each once; and the same
  // prefix of c2's multicasts (those that reached the sequencer), in one order.
  const live = sent.filter((p) => !p.startsWith("c2###"));
  const ofC2 = report.order.filter((p) => p.startsWith("c2###"));
  assert.deepEqual(report.order.filter((p) => !p.startsWith("c2###")).sort(), [...live].sort());
  assert.deepEqual(ofC2, sent.filter((p) => p.startsWith("c2###")).slice(0, ofC2.length));
  for (const client of report.clients) {
    if (client.id !== "c2") assert.equal(client.delivered, report.order.length, client.id);
  }
  const stall = report.seconds - killedAfter;
  assert.ok(
    stall < STALL_BOUND_S,
    `the others needed ${stall.toFixed(2)} s after the kill, over ${STALL_BOUND_S} s`,
  );
  const memory = assertMemory(report.peakMemoryKiB);
  console.log(
    `kill: c2 killed after ${
      killedAfter.toFixed(2)
    } s (it had delivered ${c2Delivered} of ${sent.length}); ${ofC2.length} of its 5000 multicasts were ordered; the 3 others delivered ${report.order.length} each, done ${
      stall.toFixed(2)
    } s after the kill (bound ${STALL_BOUND_S} s); peak memory: ${memory}`,
  );
});

// --- Lost bus messages -----------------------------------------------------------------------------

for (
  const [receive, batched] of [["all", false], ["orders", false], ["all", true], [
    "orders",
    true,
  ]] as const
) {
  const how = batched ? "orders in batches" : "--no-batch";
  Deno.test(`Lost bus messages (--drop-every 13, --receive ${receive}, ${how}) are recovered from the sequencer's history${batched ? "" : ", the last order too"}`, async () => {
    const counts: Counts = { c1: 2_600, c2: 2_600, c3: 2_600, c4: 2_600 };
    const total = 10_400;
    // With "all", each client receives every multicast and every order:
    // 20,800 bus messages, the last of them the order of 10,400 (an order
    // follows its multicast down the same pipe); with "orders", the 10,400
    // orders alone. Both are multiples of 13, so every client drops that
    // last order too, and only a retransmission can complete it. With
    // batches, whole batches are lost, however many orders each carries.
    const received = receive === "all" ? 2 * total : total;
    assert.equal(received % 13, 0);
    const flags = ["--drop-every", "13", "--receive", receive];
    const run = await inTempDir(
      "faults-loss-",
      (dir) =>
        runGroup(
          dir,
          counts,
          {
            // c1 also traces every bus message it keeps: the last order must not be among them.
            c1: [...flags, "--verbose"],
            c2: flags,
            c3: flags,
            c4: flags,
          },
          60_000,
          batched ? [] : ["--no-batch"],
        ),
    );
    assertAgreement(run, counts);
    const trace = run.stderr.get("c1")!;
    assert.match(trace, /\(order \d+\)/, "c1 traced no order from the bus");
    if (!batched) {
      assert.doesNotMatch(trace, /\(order 10400\)/, "c1 kept the last order: it was not dropped");
    }
    const memory = assertMemory(run.peakKiB);
    const lines: string[] = [];
    for (const id of Object.keys(counts)) {
      const c = run.counters.get(id)!;
      assert.equal(c.delivered, total, `${id}: ${JSON.stringify(c)}`);
      // 1,600 or 800 dropped: with "all" about half multicasts (delivered
      // from their order), half orders (gaps, filled by retransmission).
      assert.ok(c.retransmitRequests! > 0, `${id} never asked for a retransmission`);
      const least = batched ? 1 : received / 13 / (receive === "all" ? 4 : 1);
      assert.ok(c.gapsFilled! >= least, `${id}: ${c.gapsFilled} gaps filled`);
      if (receive === "all") assert.ok(c.recovered! > 0, `${id} delivered nothing from an order`);
      else assert.equal(c.recovered, 0, `${id} had multicasts to lose`);
      lines.push(
        `${id}: ${c.retransmitRequests} requests, ${c.gapsFilled} orders retransmitted, ${c.recovered} delivered from the order`,
      );
    }
    const sequencer = run.counters.get("sequencer")!;
    assert.ok(sequencer.retransmitted! > 0, JSON.stringify(sequencer));
    assert.equal(sequencer.ordered, total);
    if (batched) assert.ok(sequencer.batches! > 0, `no batches: ${JSON.stringify(sequencer)}`);
    else assert.equal(sequencer.batches, 0);
    console.log(
      `loss (--receive ${receive}, ${how}): ${total} multicasts, ${
        batched
          ? `orders in ${sequencer.batches} batches and alone, every 13th bus message dropped at each client`
          : `${received / 13} bus messages dropped per client (the last order included)`
      }, nothing lost; ${
        lines.join("; ")
      }; the sequencer retransmitted ${sequencer.retransmitted} orders for ${sequencer.requests} requests; peak memory: ${memory}`,
    );
  });
}

// --- The sequencer and the broker killed and started again -------------------------------------------

/**
 * The fault of the restart tests: SIGKILL of `role` once c1 has delivered
 * 3,000, then the role started again; `killed.at` gets what c1 had
 * delivered at the kill.
 */
function killAndRestart(role: "broker" | "sequencer", killed: { at: number }) {
  return async (control: ScenarioControl) => {
    await untilDelivered(control, "c1", 3_000);
    killed.at = control.delivered("c1");
    await control.kill(role);
    control.restart(role);
  };
}

Deno.test("The sequencer killed with SIGKILL and started again with the same --log continues the sequence: no number reused, no gap, nothing twice", async () => {
  const counts: Counts = { c1: 5_000, c2: 5_000, c3: 5_000, c4: 5_000 };
  await inTempDir("faults-sequencer-", async (dir) => {
    const log = join(dir, "orders.log");
    const killed = { at: 0 };
    const { report, sent } = await burstScenario(counts, {
      sequencerFlags: ["--log", log],
      faults: killAndRestart("sequencer", killed),
    });
    assertComplete(report, sent);
    assertSenderOrder(report.order);
    assert.ok(killed.at > 0, "the sequencer was not killed");
    const held = await assertLogAsDelivered(log, sent, report.order);
    const memory = assertMemory(report.peakMemoryKiB);
    console.log(
      `sequencer restart: killed when c1 had delivered ${killed.at}; the log holds 1..${held} contiguous, each of the ${sent.length} multicasts once, as delivered (${
        report.seconds.toFixed(2)
      } s); peak memory: ${memory}`,
    );
  });
});

Deno.test("The broker killed with SIGKILL and started again with --resume: clients reconnect and nothing is lost", async () => {
  const counts: Counts = { c1: 5_000, c2: 5_000, c3: 5_000, c4: 5_000 };
  const killed = { at: 0 };
  const { report, sent } = await burstScenario(counts, {
    faults: killAndRestart("broker", killed),
  });
  assertComplete(report, sent);
  assertSenderOrder(report.order);
  assert.ok(killed.at > 0, "the broker was not killed");
  const memory = assertMemory(report.peakMemoryKiB);
  console.log(
    `broker restart: killed when c1 had delivered ${killed.at}; all ${sent.length} delivered by every client, once, in one order (${
      report.seconds.toFixed(2)
    } s); peak memory: ${memory}`,
  );
});

Deno.test("The broker with the sequencer inside it killed with SIGKILL and started again with --resume and the same --log: nothing lost, no number reused", async () => {
  const counts: Counts = { c1: 5_000, c2: 5_000, c3: 5_000, c4: 5_000 };
  await inTempDir("faults-in-broker-", async (dir) => {
    const log = join(dir, "orders.log");
    const killed = { at: 0 };
    const { report, sent } = await burstScenario(counts, {
      sequencerInBroker: true,
      sequencerFlags: ["--log", log],
      faults: killAndRestart("broker", killed),
    });
    assertComplete(report, sent);
    assertSenderOrder(report.order);
    assert.ok(killed.at > 0, "the broker was not killed");
    const held = await assertLogAsDelivered(log, sent, report.order);
    console.log(
      `broker with its sequencer restarted: killed when c1 had delivered ${killed.at}; the log holds 1..${held}, all delivered by every client once, in one order (${
        report.seconds.toFixed(2)
      } s)`,
    );
  });
});

// --- Late joiners, in one process ---------------------------------------------------------------------

/** Collects a member's deliveries as they come, and wakes whoever waits for enough of them. */
class Deliveries {
  readonly list: Delivery[] = [];
  #waiters: (() => void)[] = [];
  readonly done: Promise<void>;

  constructor(member: Member) {
    this.done = (async () => {
      for await (const delivery of member.delivered()) {
        this.list.push(delivery);
        for (const wake of this.#waiters.splice(0)) wake();
      }
    })();
  }

  /** Resolves once `condition` holds for the deliveries; fails after `ms` naming `what`. */
  async until(condition: (list: Delivery[]) => boolean, ms: number, what: string): Promise<void> {
    await within(
      ms,
      what,
      (async () => {
        while (!condition(this.list)) {
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      })(),
    );
  }

  get payloads(): string[] {
    return this.list.map((d) => decoder.decode(d.payload));
  }
}

Deno.test("Member.join() into a running group: lateJoin catch-up delivers from order 1, now only what is ordered after it joined", async () => {
  const basePort = freeBasePort();
  const where = { host: "127.0.0.1", basePort, joinTimeoutMs: 10_000 };
  const broker = new Broker({ ...where, expect: 3 });
  const members: Member[] = [];
  let sequencer: Sequencer | undefined;
  const collectors: Deliveries[] = [];
  try {
    const joined = await Promise.all([
      Sequencer.join(where),
      Member.join({ ...where, id: "c1" }),
      Member.join({ ...where, id: "c2" }),
    ]);
    sequencer = joined[0];
    const [c1, c2] = [joined[1], joined[2]];
    members.push(c1, c2);
    await within(10_000, "the broker's start", broker.started);
    const [d1, d2] = [new Deliveries(c1), new Deliveries(c2)];
    collectors.push(d1, d2);
    await Promise.all([c1, c2].map(async (member) => {
      for (let i = 0; i < 100; i++) await member.multicast(`${member.id}###early${i}`);
    }));
    await d1.until((l) => l.length === 200, 10_000, "c1 to deliver the first 200");
    await d2.until((l) => l.length === 200, 10_000, "c2 to deliver the first 200");

    const c3 = await Member.join({ ...where, id: "c3", lateJoin: "catch-up" });
    members.push(c3);
    const c4 = await Member.join({ ...where, id: "c4", lateJoin: "now" });
    members.push(c4);
    const [d3, d4] = [new Deliveries(c3), new Deliveries(c4)];
    collectors.push(d3, d4);
    for (let i = 0; i < 50; i++) await c1.multicast(`c1###later${i}`);
    for (const [id, d] of [["c1", d1], ["c2", d2], ["c3", d3]] as const) {
      await d.until((l) => l.length === 250, 10_000, `${id} to deliver 250`);
    }
    await d4.until(
      (l) => l.some((d) => d.seq === 250),
      10_000,
      "c4 (lateJoin now) to deliver order 250, the last",
    );

    // catch-up: all 250, the same order as those who were there.
    assert.deepEqual(d3.payloads, d1.payloads, "c3 (catch-up) disagrees with c1");
    assert.deepEqual(d3.list.map((d) => d.seq), Array.from({ length: 250 }, (_, i) => i + 1));
    assert.deepEqual(d2.payloads, d1.payloads, "c2 disagrees with c1");
    // now: none of the 200 ordered before it joined; a contiguous run of the later ones.
    const first = d4.list[0]!.seq;
    assert.ok(first > 200, `c4 (lateJoin now) delivered order ${first}, from before it joined`);
    assert.deepEqual(
      d4.list.map((d) => d.seq),
      Array.from({ length: 251 - first }, (_, i) => first + i),
    );
    assert.deepEqual(d4.payloads, d1.payloads.slice(first - 1), "c4 disagrees with c1");
    assert.equal(d4.payloads.at(-1), "c1###later49");
    console.log(
      `late join: c3 (catch-up) delivered 1..250; c4 (now) delivered ${first}..250 (${d4.list.length})`,
    );
  } finally {
    for (const member of members) await member.close();
    await Promise.all(collectors.map((c) => c.done));
    await sequencer?.close();
    await broker.close();
  }
});

// --- A frozen member ---------------------------------------------------------------------------

/** 300,000 multicasts from c1 to c3 as fast as they can; c4 only receives. */
const FROZEN_LOAD: Counts = { c1: 100_000, c2: 100_000, c3: 100_000, c4: 0 };
const FROZEN_TOTAL = 300_000;

/**
 * Freezes c4 (SIGSTOP) after its first delivery, waits until c1 to c3 have
 * delivered everything while it is frozen, keeps it frozen `frozenMs` in
 * all, then lets it go on (SIGCONT).
 *
 * @returns What the others had delivered while c4 was frozen, and c4 then.
 */
async function freezeC4(control: ScenarioControl, frozenMs: number): Promise<string> {
  await untilDelivered(control, "c4", 1);
  control.signal("c4", "SIGSTOP");
  const frozenAt = performance.now();
  const others = ["c1", "c2", "c3"];
  try {
    await waitUntil(
      () => others.every((id) => control.delivered(id) >= FROZEN_TOTAL),
      60_000,
      () =>
        `c1 to c3 to deliver all ${FROZEN_TOTAL} while c4 is frozen (${
          others.map(control.delivered)
        })`,
    );
    const seen = `while c4 was frozen, c1 to c3 delivered all ${FROZEN_TOTAL} in ${
      ((performance.now() - frozenAt) / 1000).toFixed(2)
    } s (c4 had ${control.delivered("c4")})`;
    // The freeze is the scenario itself: it lasts frozenMs, whatever happens.
    const left = Math.max(0, frozenAt + frozenMs - performance.now());
    await new Promise((resolve) => setTimeout(resolve, left));
    return seen;
  } finally {
    control.signal("c4", "SIGCONT");
  }
}

Deno.test("A member frozen with SIGSTOP for 10 s under 300,000 multicasts holds nobody back; it is evicted, and after SIGCONT it joins again, catches up from the --log and agrees", async () => {
  await inTempDir("faults-frozen-", async (dir) => {
    let whileFrozen = "";
    let thawedAt = 0;
    const { report, sent, views } = await burstScenario(FROZEN_LOAD, {
      // One order a bus message: in batches of about 400, c4's queues would take all 300,000.
      sequencerFlags: ["--log", join(dir, "order.log"), "--evict-after", "3", "--no-batch"],
      async faults(control) {
        whileFrozen = await freezeC4(control, 10_000);
        thawedAt = performance.now();
      },
    });
    assertComplete(report, sent);
    assert.match(whileFrozen, /delivered all 300000/);
    const evicted = views.get("c1")!.find((line) => line.includes("left c4 (timeout)"));
    assert.ok(evicted, `c1's views do not evict c4: ${views.get("c1")}`);
    const back = views.get("c1")!.find((line) =>
      line.includes("joined c4") && !/joined c1/.test(line)
    );
    assert.ok(back, `c1's views do not take c4 back: ${views.get("c1")}`);
    for (const id of ["c2", "c3"]) {
      assert.ok(views.get(id)!.includes(evicted), `${id} lacks the view ${evicted}`);
    }
    // c4 gets the view that takes it back, at the same position, and not the one that evicted it.
    for (const id of ["c2", "c3", "c4"]) {
      assert.ok(views.get(id)!.includes(back), `${id} lacks the view ${back}: ${views.get(id)}`);
    }
    assert.ok(!views.get("c4")!.includes(evicted), "c4 got the view that evicted it");
    const memory = assertMemory(report.peakMemoryKiB);
    console.log(
      `frozen member: ${whileFrozen}; c4 frozen 10 s, then caught up and agreed ${
        ((performance.now() - thawedAt) / 1000).toFixed(2)
      } s after SIGCONT (run end included); ${evicted}; ${back}; peak memory: ${memory}`,
    );
  });
});

Deno.test("A member that falls further behind than the sequencer holds (no --log, --history 50000) stops with exit 1, saying what it missed and what to set; the others deliver everything", async () => {
  let whileFrozen = "";
  const { report } = await burstScenario(FROZEN_LOAD, {
    sequencerFlags: ["--history", "50000", "--no-batch"],
    async faults(control) {
      whileFrozen = await freezeC4(control, 0);
    },
  });
  assert.match(whileFrozen, /delivered all 300000/);
  const c4 = report.violations.find((line) => line.startsWith("client c4 exited with code 1"));
  assert.ok(c4, `c4 did not stop with exit 1: ${formatReport(report)}`);
  assert.match(
    c4,
    /orders \d+\.\.\d+ are no longer held by the sequencer: it holds 250001\.\.300000.*--log.*--history/,
  );
  for (const id of ["c1", "c2", "c3"]) {
    assert.equal(report.clients.find((c) => c.id === id)!.delivered, FROZEN_TOTAL, id);
  }
  console.log(`lag beyond the history: ${whileFrozen}; then ${c4.slice(0, 260)}`);
});

Deno.test("A member killed with SIGKILL is evicted within --evict-after plus one heartbeat, in the same view at the same position at every other member", async () => {
  const EVICT_AFTER_S = 2;
  let evictedAfter = 0;
  const lines = (id: string) =>
    Array.from({ length: 100 }, (_, i) => `Multicast,${id},m${i}\nsleep,0.05`);
  await inTempDir("faults-evict-", async (dir) => {
    const scenario = join(dir, "scenario");
    const out = join(dir, "out");
    await Deno.mkdir(scenario);
    for (const id of ["c1", "c2", "c3", "c4"]) {
      await Deno.writeTextFile(join(scenario, `${id}.txt`), lines(id).join("\n") + "\n");
    }
    const viewsOf = (id: string) => readLines(resultPaths(out, id).views);
    const report = await within(
      T,
      "the eviction scenario",
      runScenario({
        scenario,
        out,
        timeoutSeconds: 60,
        sequencerFlags: ["--evict-after", String(EVICT_AFTER_S)],
        async faults(control) {
          await untilDelivered(control, "c1", 20);
          await control.kill("c4");
          const killedAt = performance.now();
          await waitUntil(
            () => viewsOf("c1").some((line) => line.includes("left c4 (timeout)")),
            20_000,
            () => `c1's views to evict c4 (${viewsOf("c1")})`,
          );
          evictedAfter = (performance.now() - killedAt) / 1000;
        },
      }),
    );
    assert.deepEqual(report.violations, [], formatReport(report));
    assert.ok(
      evictedAfter <= EVICT_AFTER_S + 1 + 0.5,
      `c4 was evicted ${
        evictedAfter.toFixed(2)
      } s after it was killed, over ${EVICT_AFTER_S} + 1 s`,
    );
    const evicted = viewsOf("c1").find((line) => line.includes("left c4 (timeout)"))!;
    for (const id of ["c2", "c3"]) {
      assert.ok(viewsOf(id).includes(evicted), `${id}'s views lack ${evicted}: ${viewsOf(id)}`);
    }
    console.log(
      `eviction: c4 killed with SIGKILL, evicted ${
        evictedAfter.toFixed(2)
      } s later (--evict-after ${EVICT_AFTER_S}); "${evicted}" at c1, c2 and c3`,
    );
  });
});
