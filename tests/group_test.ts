import assert from "node:assert/strict";
import {
  Broker,
  type Delivery,
  type DirectMessage,
  type Endpoints,
  Member,
  Sequencer,
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

function startGroup(placement: Placement): Promise<Group> {
  return startTestGroup({
    members: MEMBERS,
    where: where(placement),
    unknownRecipientGraceMs: 200,
    timeoutMs: T,
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
