import assert from "node:assert/strict";
import {
  Broker,
  type Delivery,
  type DirectMessage,
  type Endpoints,
  Member,
  Sequencer,
  type View,
} from "../roles/mod.ts";
import { Context } from "../ffi/mod.ts";
import { freeBasePort } from "../tasks/_processes.ts";
import { within } from "./_helpers.ts";
import { startGroup as startTestGroup, type TestGroup } from "./_group.ts";

const T = 30_000;
const MEMBERS = ["c1", "c2", "c3"] as const;
const MULTICASTS_EACH = 200;
const decoder = new TextDecoder();

/** Where the roles of one group meet: inproc names in one shared context, or tcp ports. */
type Placement =
  | { transport: "inproc"; context: Context; endpoints: Endpoints }
  | { transport: "tcp"; basePort: number };

function inprocEndpoints(): Endpoints {
  const name = `group-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  return {
    multicastIn: `inproc://${name}-in`,
    multicastOut: `inproc://${name}-out`,
    barrier: `inproc://${name}-barrier`,
    direct: `inproc://${name}-direct`,
  };
}

function where(placement: Placement) {
  return placement.transport === "inproc"
    ? { context: placement.context, endpoints: placement.endpoints }
    : { host: "127.0.0.1", basePort: placement.basePort };
}

/** A running group over one placement. */
type Group = TestGroup;

function startGroup(placement: Placement, sequencerInBroker = false): Promise<Group> {
  return startTestGroup({
    members: MEMBERS,
    where: where(placement),
    unknownRecipientGraceMs: 200,
    timeoutMs: T,
    sequencerInBroker,
  });
}

/** Reads `count` deliveries from a member. */
async function take(member: Member, count: number): Promise<Delivery[]> {
  const out: Delivery[] = [];
  if (count === 0) return out;
  for await (const delivery of member.delivered()) {
    out.push(delivery);
    if (out.length === count) break;
  }
  return out;
}

/** Reads direct messages from a member until one with payload `last` arrives. */
async function directsUntil(member: Member, last: string): Promise<DirectMessage[]> {
  const out: DirectMessage[] = [];
  for await (const message of member.direct()) {
    out.push(message);
    if (decoder.decode(message.payload) === last) break;
  }
  return out;
}

/** The multicasts, direct messages and an unknown recipient, on a running group. */
async function exerciseGroup(group: Group): Promise<void> {
  const { broker, members } = group;
  const total = MEMBERS.length * MULTICASTS_EACH;
  // Readers first, so that nothing is missed; then every member multicasts at once.
  const reading = members.map((member) => take(member, total));
  await within(
    T,
    `${total} multicasts to be sent`,
    Promise.all(members.map(async (member) => {
      for (let i = 0; i < MULTICASTS_EACH; i++) {
        await member.multicast(`${member.id}###m${i}`);
      }
    })),
  );
  const delivered = await within(T, `${total} deliveries at every member`, Promise.all(reading));

  // Agreement: one order everywhere, numbered 1..total.
  const reference = delivered[0]!.map((d) => decoder.decode(d.payload));
  for (const [i, deliveries] of delivered.entries()) {
    const id = members[i]!.id;
    assert.equal(deliveries.length, total, `${id} delivered ${deliveries.length}`);
    assert.deepEqual(
      deliveries.map((d) => d.seq),
      Array.from({ length: total }, (_, k) => k + 1),
      `${id} delivered out of sequence`,
    );
    assert.deepEqual(
      deliveries.map((d) => decoder.decode(d.payload)),
      reference,
      `${id} disagrees with ${members[0]!.id} on the order`,
    );
    for (const d of deliveries) {
      assert.ok(
        decoder.decode(d.payload).startsWith(`${d.sender}###`),
        `${id}: delivery ${d.seq} names sender ${JSON.stringify(d.sender)}`,
      );
    }
  }
  // Integrity: each payload exactly once, and each member's own in the order it sent them.
  const expected = members.flatMap((m) =>
    Array.from({ length: MULTICASTS_EACH }, (_, i) => `${m.id}###m${i}`)
  );
  assert.deepEqual([...reference].sort(), [...expected].sort());
  for (const member of members) {
    assert.deepEqual(
      reference.filter((p) => p.startsWith(`${member.id}###`)),
      expected.filter((p) => p.startsWith(`${member.id}###`)),
      `${member.id}'s multicasts are out of their sending order`,
    );
    assert.equal(member.counters.sent, MULTICASTS_EACH);
    assert.equal(member.counters.delivered, total);
    assert.equal(member.counters.recovered, 0, `${member.id} had to recover`);
  }
  assert.equal(group.sequencer.counters.ordered, total);

  // Direct messages: each member sends three to the next one, then an end marker.
  const receiving = members.map((member, i) => {
    const from = members[(i + members.length - 1) % members.length]!.id;
    return directsUntil(member, `${from}###end`);
  });
  for (const [i, member] of members.entries()) {
    const to = members[(i + 1) % members.length]!.id;
    for (const text of ["d1", "d2", "d3", "end"]) {
      await member.send(to, `${member.id}###${text}`);
    }
  }
  const directs = await within(T, "the direct messages", Promise.all(receiving));
  for (const [i, received] of directs.entries()) {
    const from = members[(i + members.length - 1) % members.length]!.id;
    assert.deepEqual(
      received.map((m) => [m.from, decoder.decode(m.payload)]),
      ["d1", "d2", "d3", "end"].map((t) => [from, `${from}###${t}`]),
      `direct messages at ${members[i]!.id}`,
    );
    assert.equal(members[i]!.counters.directReceived, 4);
  }
  // (The broker may forward more on the direct channel than these, e.g. recovery requests.)
  assert.ok(broker.counters.directForwarded >= 4 * members.length);
  assert.equal(broker.counters.unknownRecipients, 0);

  // A direct message to nobody: the broker counts it and the sender learns of it.
  const sender = members[0]!;
  const told = group.logLine(sender.id, "unknown recipient");
  await sender.send("nobody", `${sender.id}###lost`);
  const line = await within(T, `${sender.id} to learn of the unknown recipient`, told);
  assert.match(line, /unknown recipient "nobody"/);
  assert.equal(broker.counters.unknownRecipients, 1);
  // No member received anything more.
  for (const member of members) assert.equal(member.counters.directReceived, 4);
}

Deno.test("Broker, Sequencer and Member agree on one order of 600 concurrent multicasts over inproc", async () => {
  const context = new Context();
  try {
    const group = await startGroup({ transport: "inproc", context, endpoints: inprocEndpoints() });
    try {
      await exerciseGroup(group);
    } finally {
      await group.close();
    }
  } finally {
    context.close();
  }
});

Deno.test("Broker, Sequencer and Member agree on one order of 600 concurrent multicasts over tcp", async () => {
  const group = await startGroup({ transport: "tcp", basePort: freeBasePort() });
  try {
    await exerciseGroup(group);
  } finally {
    await group.close();
  }
});

Deno.test("With the sequencer inside the broker, the members agree on one order of 600 concurrent multicasts, and an order from outside is refused", async () => {
  const basePort = freeBasePort();
  const group = await startGroup({ transport: "tcp", basePort }, true);
  try {
    await exerciseGroup(group);
    const { broker, members } = group;
    const total = MEMBERS.length * MULTICASTS_EACH;
    assert.equal(broker.counters.highestOrder, total);
    // A forged order on the broker's XSUB, numbered next, as a rogue process would send it.
    const context = new Context();
    try {
      const rogue = context.socket("XPUB");
      rogue.connect(`tcp://127.0.0.1:${basePort}`);
      await within(T, "the broker's subscription to the rogue", rogue.receive());
      const refused = group.logLine("broker", "an order from a connection");
      await rogue.send(["sequencer:c1@aaaaaaaaaaaa.999", String(total + 1), "c1###forged"]);
      await within(T, "the broker to refuse the forged order", refused);
      rogue.close();
    } finally {
      context.close();
    }
    // The next real multicast is order total + 1 at every member.
    await members[0]!.multicast("c1###after");
    for (const member of members) {
      const [next] = await within(T, `${member.id}'s next delivery`, take(member, 1));
      assert.equal(next!.seq, total + 1);
      assert.equal(decoder.decode(next!.payload), "c1###after");
    }
    assert.equal(broker.counters.refused, 1);
  } finally {
    await group.close();
  }
});

Deno.test("A sequencer inside the broker whose join fails gives the bus port back: the next one takes it and numbers", async () => {
  const basePort = freeBasePort();
  const broker = new Broker({ expect: 2, basePort });
  try {
    const port = broker.busPort();
    assert.throws(() => broker.busPort(), /taken/);
    const aborted = new AbortController();
    aborted.abort(new Error("stopped before the start"));
    await assert.rejects(
      Sequencer.join({ basePort, bus: port, signal: aborted.signal }),
      /stopped before the start/,
    );
    assert.ok(port.closed, "the failed join closed its port");
    await assert.rejects(Sequencer.join({ basePort, bus: port }), /bus port .* is closed/);
    const [sequencer, member] = await within(
      T,
      "the second sequencer and c1 to join",
      Promise.all([
        Sequencer.join({ basePort, bus: broker.busPort(), joinTimeoutMs: T }),
        Member.join({ id: "c1", basePort, joinTimeoutMs: T }),
      ]),
    );
    try {
      await member.multicast("c1###numbered");
      const [delivery] = await within(T, "c1's delivery", take(member, 1));
      assert.equal(delivery!.seq, 1);
      assert.equal(decoder.decode(delivery!.payload), "c1###numbered");
    } finally {
      await member.close();
      await sequencer.close();
    }
  } finally {
    await broker.close();
  }
});

Deno.test("Member.join() names the endpoint when no broker answers in time", async () => {
  const basePort = freeBasePort();
  await assert.rejects(
    Member.join({ id: "c1", basePort, joinTimeoutMs: 300 }),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /Timed out after \d+ ms/);
      // Whichever of the four endpoints it waited on, the message names it.
      const named = [0, 1, 2, 3].map((i) => `tcp://127.0.0.1:${basePort + i}`)
        .filter((endpoint) => {
          const at = error.message.indexOf(endpoint);
          return at >= 0 && !/\d/.test(error.message[at + endpoint.length] ?? "");
        });
      assert.equal(named.length, 1, `the message does not name the endpoint: ${error.message}`);
      return true;
    },
  );
});

Deno.test("Broker names the endpoint when its port is in use", async () => {
  const context = new Context();
  try {
    const endpoints = inprocEndpoints();
    const first = new Broker({ context, endpoints, expect: 1 });
    try {
      assert.throws(() => new Broker({ context, endpoints, expect: 1 }), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.equal((error as { code?: string }).code, "EADDRINUSE");
        assert.ok(error.message.includes(endpoints.multicastIn), error.message);
        return true;
      });
    } finally {
      await first.close();
    }
  } finally {
    context.close();
  }
});

Deno.test("Member.join() and Sequencer.join() end with the signal's reason when it aborts", async () => {
  const basePort = freeBasePort();
  const controller = new AbortController();
  const joining = [
    Member.join({ id: "c1", basePort, signal: controller.signal }),
    Sequencer.join({ basePort, signal: controller.signal }),
  ];
  controller.abort(new Error("given up by the caller"));
  for (const join of joining) await assert.rejects(join, /given up by the caller/);
  await assert.rejects(
    Member.join({ id: "c2", basePort, signal: AbortSignal.abort(new Error("already")) }),
    /already/,
  );
});

/** Gathers a member's views as they come, until it closes. */
function gatherViews(member: Member): { views: View[]; done: Promise<void> } {
  const views: View[] = [];
  const done = (async () => {
    for await (const view of member.views()) views.push(view);
  })();
  return { views, done };
}

/** Waits until `condition()` holds, looking every 10 ms; fails after T naming `what`. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + T;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${T} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("Views: a join, an eviction of a silent member and a clean leave each make a view that every member gets alike; a direct message to the evicted one gets the unknown-recipient notice", async () => {
  const ids = ["c1", "c2", "c3", "c4"];
  const group = await startTestGroup({
    members: ids,
    where: { host: "127.0.0.1", basePort: freeBasePort() },
    timeoutMs: T,
    sequencer: { evictAfterMs: 600 },
    // c4 greets the sequencer once and then falls silent.
    member: {
      c1: { heartbeatMs: 100 },
      c2: { heartbeatMs: 100 },
      c3: { heartbeatMs: 100 },
      c4: { heartbeatMs: 0 },
    },
  });
  const [c1, c2, c3] = group.members as [Member, Member, Member, Member];
  const gathered = group.members.map(gatherViews);
  const [v1, v2, v3] = gathered.map((g) => g.views) as [View[], View[], View[]];
  try {
    const hasAll = (views: View[]) => views.some((v) => v.members.join() === ids.join());
    await until(() => [v1, v2, v3].every(hasAll), "c1, c2 and c3 to see a view of all four");
    const evicted = (views: View[]) => views.find((v) => v.left.some((l) => l.id === "c4"));
    await until(() => [v1, v2, v3].every((views) => evicted(views) !== undefined), "c4's eviction");
    const eviction = evicted(v1)!;
    assert.deepEqual(eviction.left, [{ id: "c4", why: "timeout" }]);
    assert.deepEqual(eviction.members, ["c1", "c2", "c3"]);
    assert.deepEqual(evicted(v2), eviction);
    assert.deepEqual(evicted(v3), eviction);
    // The broker answers for the evicted member at once.
    await c1.send("c4", "c1###are you there?");
    const notice = await within(
      T,
      "the broker's notice",
      group.logLine("c1", 'unknown recipient "c4"'),
    );
    assert.match(notice, /evicted it from the group/);
    // A clean leave.
    await c3.close();
    const leave = (views: View[]) => views.find((v) => v.left.some((l) => l.id === "c3"));
    await until(() => [v1, v2].every((views) => leave(views) !== undefined), "c3's leave");
    assert.deepEqual(leave(v1)!.left, [{ id: "c3", why: "leave" }]);
    assert.deepEqual(leave(v2), leave(v1));
    assert.deepEqual(leave(v1)!.members, ["c1", "c2"]);
    // Views come in order, numbered without gaps, positions never going back.
    for (const views of [v1, v2]) {
      for (let i = 1; i < views.length; i++) {
        assert.equal(views[i]!.view, views[i - 1]!.view + 1);
        assert.ok(views[i]!.after >= views[i - 1]!.after);
      }
    }
    assert.equal(c2.counters.views, v2.length);
  } finally {
    await group.close();
    await Promise.all(gathered.map((g) => g.done));
  }
});

Deno.test("Batches: the sequencer sends orders in batches where no seed peer synced, then members their multicasts, all deliver them in one order, and a seed peer's late sync is refused, saying why", async () => {
  const basePort = freeBasePort();
  const group = await startTestGroup({
    members: ["c1", "c2"],
    where: { host: "127.0.0.1", basePort },
    timeoutMs: T,
    // c2 takes every multicast too, and holds each back until its order.
    receive: { c2: "all" },
  });
  const [c1, c2] = group.members as [Member, Member];
  try {
    const all = 2 * 500;
    const got = [take(c1, all), take(c2, all)];
    await Promise.all([c1, c2].map(async (member) => {
      for (let i = 0; i < 500; i++) await member.multicast(`${member.id}###m${i}`);
    }));
    const [d1, d2] = (await within(T, "1,000 deliveries at each", Promise.all(got))) as [
      Delivery[],
      Delivery[],
    ];
    assert.deepEqual(d1.map((d) => d.seq), Array.from({ length: all }, (_, i) => i + 1));
    assert.deepEqual(
      d2.map((d) => decoder.decode(d.payload)),
      d1.map((d) => decoder.decode(d.payload)),
    );
    // One bus message a multicast and one an order would be 2,000 at least (multicasts in
    // batches: tests/member_parts_test.ts, the outbox).
    const forwarded = group.broker.counters.forwarded;
    assert.ok(
      forwarded < 2 * all,
      `the broker forwarded ${forwarded} bus messages for ${all} multicasts`,
    );
    assert.ok(
      group.sequencer.counters.batches > 0,
      `no batch in ${JSON.stringify(group.sequencer.counters)}`,
    );
    // A seed peer syncs with an empty frame.
    using ctx = new Context();
    using req = ctx.socket("REQ");
    req.setOption("LINGER", 0);
    req.connect(`tcp://127.0.0.1:${basePort + 2}`);
    await req.send("");
    const [reply] = await within(T, "the barrier's reply", req.receive());
    assert.match(
      decoder.decode(reply),
      /^refused: this group's sequencer sends orders in batches, which a seed peer cannot read/,
    );
  } finally {
    await group.close();
  }
});

Deno.test("The sequencer answers a long retransmission while new orders push the old ones out of its history (it crashed: the orders were read between sends)", async () => {
  const basePort = freeBasePort();
  const group = await startTestGroup({
    members: ["c1"],
    where: { host: "127.0.0.1", basePort },
    timeoutMs: T,
    sequencer: { history: 3000 },
  });
  const [c1] = group.members as [Member];
  using ctx = new Context();
  using dealer = ctx.socket("DEALER");
  try {
    const big = "x".repeat(16 * 1024);
    const first = take(c1, 3000);
    for (let i = 0; i < 3000; i++) await c1.multicast(`c1###a${i}${big}`);
    await within(T, "the first 3,000", first);
    // A reader that asks for everything held, then is slow to read the answer.
    dealer.setOption("ROUTING_ID", "c9");
    dealer.connect(`tcp://127.0.0.1:${basePort + 3}`);
    await dealer.send(["", "sequencer", "RETRANSMIT 1 *"]);
    // Meanwhile 3,000 more orders: the history then holds 3001..6000 only.
    const second = take(c1, 3000);
    for (let i = 0; i < 3000; i++) await c1.multicast(`c1###b${i}${big}`);
    await within(T, "the next 3,000", second);
    let orders = 0;
    while (true) {
      const [, , reply] = await within(T, "the sequencer's answer", dealer.receive());
      const word = decoder.decode(reply!.subarray(0, 8));
      if (word === "HIGHEST ") break;
      // (It is a member now: its view comes too.)
      if (word.startsWith("ORDER ")) orders++;
    }
    assert.equal(orders, 2048, "a whole round of orders, each as it was");
    assert.equal(group.sequencer.counters.ordered, 6000);
  } finally {
    dealer.close();
    await group.close();
  }
});

Deno.test("A request from a routing id that is no client id makes nobody a member: later views stay the members' own", async () => {
  const basePort = freeBasePort();
  const group = await startTestGroup({
    members: ["c1", "c2"],
    where: { host: "127.0.0.1", basePort },
    timeoutMs: T,
  });
  const [c1, c2] = group.members as [Member, Member];
  const gathered = gatherViews(c1);
  using ctx = new Context();
  using dealer = ctx.socket("DEALER");
  try {
    await until(() => gathered.views.some((v) => v.members.length === 2), "the view of c1 and c2");
    dealer.setOption("ROUTING_ID", "bad,id");
    dealer.connect(`tcp://127.0.0.1:${basePort + 3}`);
    await dealer.send(["", "sequencer", "HELLO 0"]);
    const [, , answer] = await within(T, "the sequencer's answer", dealer.receive());
    assert.match(decoder.decode(answer), /^HIGHEST /);
    await c2.close();
    const left = () => gathered.views.find((v) => v.left.some((l) => l.id === "c2"));
    await until(() => left() !== undefined, "c2's leave");
    assert.deepEqual(left()!.members, ["c1"]);
    assert.ok(
      gathered.views.every((v) => !v.members.includes("bad")),
      JSON.stringify(gathered.views),
    );
  } finally {
    dealer.close();
    await group.close();
    await gathered.done;
  }
});
