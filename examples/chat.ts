/**
 * A two-person group chat on the library API: a broker, a sequencer and the
 * members "alice" and "bob", all in this one process, over tcp on 127.0.0.1.
 * Each member multicasts a few lines and sends the other one direct message;
 * each prints what it delivers (the same lines in the same order at both)
 * and what it received directly. Then everything closes and the process
 * exits 0.
 *
 * Run it from the project root (it uses ports base to base+3):
 *
 * ```sh
 * deno run --allow-ffi --allow-env --allow-read examples/chat.ts [--base-port 5600]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Broker, type Delivery, type DirectMessage, Member, Sequencer } from "../roles/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { "base-port": { type: "string", default: "5600" } },
});
const basePort = Number(values["base-port"]);
if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65532) {
  console.error(
    `chat: invalid --base-port ${JSON.stringify(values["base-port"])}: expected 1 to 65532`,
  );
  Deno.exit(2);
}
const host = "127.0.0.1";
const decoder = new TextDecoder();

const lines: Record<string, string[]> = {
  alice: ["hi all", "lunch at noon?", "the usual place"],
  bob: ["hello", "noon works", "see you there"],
};

/** Takes the first `count` items of an async iterable (leaving it usable). */
async function take<T>(items: AsyncIterable<T>, count: number): Promise<T[]> {
  const taken: T[] = [];
  if (count === 0) return taken;
  for await (const item of items) {
    taken.push(item);
    if (taken.length === count) break;
  }
  return taken;
}

// The broker waits for 3 participants: the sequencer and the two members.
const broker = new Broker({ expect: 3, host, basePort });
// Each join returns only once everyone is in and "start" was published, so
// the three join at the same time.
const [sequencer, alice, bob] = await Promise.all([
  Sequencer.join({ host, basePort, joinTimeoutMs: 10_000 }),
  Member.join({ id: "alice", host, basePort, joinTimeoutMs: 10_000 }),
  Member.join({ id: "bob", host, basePort, joinTimeoutMs: 10_000 }),
]);
const members = [alice, bob];
const total = members.reduce((sum, m) => sum + lines[m.id]!.length, 0);

// Start reading before sending, then send from both members at once.
const received = members.map((member) =>
  Promise.all([
    take<Delivery>(member.delivered(), total),
    take<DirectMessage>(member.direct(), 1),
  ])
);
await Promise.all([
  (async () => {
    for (const line of lines.alice!) await alice.multicast(`alice: ${line}`);
    await alice.send("bob", "alice (to bob only): bring the tickets");
  })(),
  (async () => {
    for (const line of lines.bob!) await bob.multicast(`bob: ${line}`);
    await bob.send("alice", "bob (to alice only): will do");
  })(),
]);

const results = await Promise.all(received);
for (const [i, member] of members.entries()) {
  const [deliveries, directs] = results[i]!;
  console.log(`${member.id} delivered:`);
  for (const d of deliveries) console.log(`  ${d.seq}. ${decoder.decode(d.payload)}`);
  for (const m of directs) {
    console.log(`${member.id} received from ${m.from}: ${decoder.decode(m.payload)}`);
  }
}
const [aliceOrder, bobOrder] = results.map(([deliveries]) =>
  deliveries.map((d) => decoder.decode(d.payload)).join("\n")
);
console.log(
  aliceOrder === bobOrder
    ? "Both members delivered the same order."
    : "The members delivered different orders!",
);

await alice.close();
await bob.close();
await sequencer.close();
await broker.close();
if (aliceOrder !== bobOrder) Deno.exit(1);
