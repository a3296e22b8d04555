/**
 * Bad input against a running group: rogue peers send malformed bus
 * frames, malformed direct messages, messages to nobody, a second peer
 * claims a live member's id, raw garbage reaches every port, oversize
 * frames, and a seeded fuzzer throws random frames at the broker and the
 * sequencer. The roles must log and drop, count it, stay up, and the
 * well-behaved members must lose nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type BusReception,
  decodeBus,
  type Delivery,
  type DirectMessage,
  type Endpoints,
  endpoints,
  Member,
} from "../roles/mod.ts";
import { Context, type Socket } from "../ffi/mod.ts";
import { freeBasePort, spawnRole, stop } from "../tasks/_processes.ts";
import { prng, within } from "./_helpers.ts";
import { startGroup as startTestGroup, type TestGroup } from "./_group.ts";

/** How long any one wait may take. */
const T = 15_000;
const MEMBERS = ["c1", "c2", "c3"] as const;
/** c1 takes every bus message (the seed's way); the others only the orders (the default). */
const RECEIVE: Record<string, BusReception> = { c1: "all", c2: "orders", c3: "orders" };
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MiB = 1024 * 1024;

/** A member's deliveries and direct messages, collected as they come. */
class Inbox {
  readonly deliveries: Delivery[] = [];
  readonly directs: DirectMessage[] = [];
  readonly done: Promise<unknown>;
  #waiters: (() => void)[] = [];

  constructor(readonly member: Member) {
    this.done = Promise.all([
      (async () => {
        for await (const delivery of member.delivered()) {
          this.deliveries.push(delivery);
          this.#wake();
        }
      })(),
      (async () => {
        for await (const message of member.direct()) {
          this.directs.push(message);
          this.#wake();
        }
      })(),
    ]);
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves once `condition()` holds; fails after T naming `what`. */
  async until(condition: () => boolean, what: string): Promise<void> {
    await within(
      T,
      `${this.member.id}: ${what}`,
      (async () => {
        while (!condition()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
      })(),
    );
  }

  get payloads(): string[] {
    return this.deliveries.map((d) => decoder.decode(d.payload));
  }

  directsFrom(id: string): string[] {
    return this.directs.filter((d) => d.from === id).map((d) => decoder.decode(d.payload));
  }
}

/** A group running in this process over tcp, with the roles' logs and each member's inbox. */
interface Group extends TestGroup {
  at: Endpoints;
  basePort: number;
  inboxes: Inbox[];
}

async function startGroup(options: { unknownRecipientGraceMs?: number } = {}): Promise<Group> {
  const basePort = freeBasePort();
  const group = await startTestGroup({
    members: MEMBERS,
    where: { host: "127.0.0.1", basePort },
    receive: RECEIVE,
    unknownRecipientGraceMs: options.unknownRecipientGraceMs ?? 200,
    timeoutMs: T,
  });
  const inboxes = group.members.map((member) => new Inbox(member));
  return {
    ...group,
    at: endpoints("127.0.0.1", basePort),
    basePort,
    inboxes,
    async close() {
      for (const member of group.members) await member.close();
      await Promise.all(inboxes.map((inbox) => inbox.done));
      await group.close();
    },
  };
}

/** Every member multicasts `each` payloads `<id>###<tag><i>`; resolves when all delivered them all. */
async function exchange(group: Group, tag: string, each: number): Promise<string[]> {
  const sent = group.members.flatMap((m) =>
    Array.from({ length: each }, (_, i) => `${m.id}###${tag}${i}`)
  );
  await within(
    T,
    `${sent.length} multicasts tagged ${tag} to be sent`,
    Promise.all(group.members.map(async (member) => {
      for (let i = 0; i < each; i++) await member.multicast(`${member.id}###${tag}${i}`);
    })),
  );
  const last = new Set(group.members.map((m) => `${m.id}###${tag}${each - 1}`));
  for (const inbox of group.inboxes) {
    await inbox.until(
      () => inbox.payloads.filter((p) => last.has(p)).length === last.size,
      `to deliver the ${sent.length} multicasts tagged ${tag}`,
    );
  }
  return sent;
}

/** Each member sends three direct messages to the next; resolves when each got them all. */
async function directRing(group: Group, tag: string): Promise<void> {
  const { members, inboxes } = group;
  for (const [i, member] of members.entries()) {
    const to = members[(i + 1) % members.length]!.id;
    for (const n of [1, 2, 3]) await member.send(to, `${member.id}###${tag}${n}`);
  }
  for (const [i, inbox] of inboxes.entries()) {
    const from = members[(i + members.length - 1) % members.length]!.id;
    const expected = [1, 2, 3].map((n) => `${from}###${tag}${n}`);
    await inbox.until(
      () => inbox.directsFrom(from).filter((p) => p.startsWith(`${from}###${tag}`)).length >= 3,
      `to receive ${expected.join(", ")}`,
    );
    assert.deepEqual(
      inbox.directsFrom(from).filter((p) => p.startsWith(`${from}###${tag}`)),
      expected,
      `direct messages at ${inbox.member.id}`,
    );
  }
}

/**
 * Waits until every member delivered all the sequencer has ordered, then
 * checks that they agree: the same payloads for seq 1..N, each member's own
 * multicasts (`sent`) exactly once, and nothing from a member that it did
 * not send (`others` may hold what rogue peers validly multicast).
 */
async function assertAgreed(group: Group, sent: string[], others: (p: string) => boolean) {
  const highest = group.sequencer.next - 1;
  for (const inbox of group.inboxes) {
    await inbox.until(
      () => inbox.deliveries.length >= highest,
      `to deliver the ${highest} orders (it has ${inbox.deliveries.length})`,
    );
  }
  const reference = group.inboxes[0]!.payloads;
  for (const inbox of group.inboxes) {
    assert.deepEqual(
      inbox.deliveries.map((d) => d.seq),
      Array.from({ length: highest }, (_, i) => i + 1),
      `${inbox.member.id} delivered out of sequence`,
    );
    assert.deepEqual(inbox.payloads, reference, `${inbox.member.id} disagrees with c1`);
  }
  const ours = reference.filter((p) => !others(p));
  assert.deepEqual([...ours].sort(), [...sent].sort(), "the members' multicasts, each once");
}

/** Opens a rogue socket of `type` connected to `endpoint`, closed with the context. */
function rogue(ctx: Context, type: "XPUB" | "DEALER" | "XSUB", endpoint: string, id?: string) {
  const socket = ctx.socket(type);
  socket.setOption("LINGER", 0);
  if (type === "XPUB") socket.setOption("XPUB_VERBOSE", true);
  if (id !== undefined) socket.setOption("ROUTING_ID", id);
  socket.connect(endpoint);
  return socket;
}

/** Receives on `socket` until `match(frames)`; fails after T naming `what`. */
async function receiveUntil(
  socket: Socket,
  match: (frames: string[]) => boolean,
  what: string,
): Promise<string[][]> {
  const seen: string[][] = [];
  await within(
    T,
    what,
    (async () => {
      while (true) {
        const frames = (await socket.receive()).map((f) => decoder.decode(f));
        seen.push(frames);
        if (match(frames)) return;
      }
    })(),
  );
  return seen;
}

/** Counts the log lines of `role` that contain `text`. */
function logged(group: Group, role: string, text: string): number {
  return group.logged(role, text);
}

/** Counts the bad input of every role now. */
function badInput(group: Group) {
  return {
    broker: group.broker.counters.badInput,
    sequencer: group.sequencer.counters.badInput,
    members: group.members.map((m) => m.counters.badInput),
  };
}

const text = (value: string) => encoder.encode(value);

/** Bus messages that every role must refuse, by what is wrong with them. */
const BAD_BUS: [string, Uint8Array[]][] = [
  ["1 frame, not start", [text("garbage")]],
  ["2 frames", [text("c9"), text("")]],
  ["4 frames", [text("c9"), text(""), text("c9###x"), text("extra")]],
  ["6 frames", Array.from({ length: 6 }, () => text("x"))],
  ['seq "abc"', [text("sequencer"), text("abc"), text("c9###x")]],
  ['seq "0"', [text("sequencer"), text("0"), text("c9###x")]],
  ['seq "-1"', [text("sequencer"), text("-1"), text("c9###x")]],
  ['seq "99999999999999999999"', [text("sequencer"), text("99999999999999999999"), text("x")]],
  ["seq 2^53 + 1", [text("sequencer"), text("9007199254740993"), text("c9###x")]],
  ['seq "1e3"', [text("sequencer"), text("1e3"), text("c9###x")]],
  ['seq " 7"', [text("sequencer"), text(" 7"), text("c9###x")]],
  ['seq "007"', [text("sequencer"), text("007"), text("c9###x")]],
  ["a seq from a non-sequencer sender", [text("c9"), text("5"), text("c9###x")]],
  ['a seq from "sequencer:bogus"', [text("sequencer:bogus"), text("5"), text("c9###x")]],
  ['a multicast whose sender is "sequencer"', [text("sequencer"), text(""), text("x")]],
  ["a multicast from sequencer:<origin>", [text("sequencer:c9@abc.1"), text(""), text("x")]],
  ["an empty sender", [text(""), text(""), text("c9###x")]],
  ["a malformed origin", [text("c9@zz.1"), text(""), text("c9###x")]],
  ["origin index 0", [text("c9@abc.0"), text(""), text("c9###x")]],
  ["a sender of invalid UTF-8 with a seq", [new Uint8Array([0xff, 0xfe]), text("1"), text("x")]],
];

/**
 * The bad frames that never get past the broker: their seq is a number at
 * or below the highest order forwarded, so its gate refuses them (an order
 * whose numbering went back) before the sequencer and members see them.
 */
const GATED = new Set([
  "a seq from a non-sequencer sender",
  'a seq from "sequencer:bogus"',
  "a sender of invalid UTF-8 with a seq",
]);
const PAST_THE_BROKER = BAD_BUS.filter(([name]) => !GATED.has(name));

// --- The bus -----------------------------------------------------------------------------------

Deno.test("Sequencer and Member drop and count malformed bus frames from a rogue publisher; a 2 MiB frame gets the rogue disconnected; nothing is lost", async () => {
  const group = await startGroup();
  const ctx = new Context();
  try {
    const sent = await exchange(group, "before", 50);
    const before = badInput(group);
    const refusedBefore = group.broker.counters.refused;
    // Each is valid from a seed peer's point of view (a bare id), and marks a point on the bus.
    const markers: string[] = [];
    const pub = rogue(ctx, "XPUB", group.at.multicastIn);
    await within(T, "the broker's subscription at the rogue publisher", pub.receive());
    for (const [, frames] of BAD_BUS) await pub.send(frames);
    markers.push("rogue###after-bad-frames");
    await pub.send(["rogue", "", markers[0]!]);
    // The rogue's messages reach everyone in order: once the marker is
    // delivered everywhere, every bad frame before it was handled.
    for (const inbox of group.inboxes) {
      await inbox.until(() => inbox.payloads.includes(markers[0]!), "to deliver the marker");
    }
    const after = badInput(group);
    assert.equal(
      group.broker.counters.refused - refusedBefore,
      GATED.size,
      "the broker's refusals",
    );
    assert.equal(logged(group, "broker", "Refused a bus message: order"), GATED.size);
    const passed = PAST_THE_BROKER.length;
    assert.equal(after.sequencer - before.sequencer, passed, "the sequencer's badInput");
    assert.equal(logged(group, "sequencer", "Dropped a bad bus message"), passed);
    // A member that takes only orders subscribes to "sequencer" and "start":
    // the broker passes it only the bad frames whose sender starts so.
    const toOrdersOnly = PAST_THE_BROKER.filter(([, [sender]]) =>
      /^(sequencer|start)/.test(new TextDecoder().decode(sender))
    ).length;
    assert.ok(toOrdersOnly > 0 && toOrdersOnly < passed);
    for (const [i, member] of group.members.entries()) {
      const expected = RECEIVE[member.id] === "all" ? passed : toOrdersOnly;
      assert.equal(logged(group, member.id, "dropped a bad bus message"), expected, member.id);
      assert.equal(after.members[i]! - before.members[i]!, expected, `${member.id}'s badInput`);
    }

    // Oversize: the broker refuses a frame over its limit (1 MiB) by
    // dropping the connection; the rogue reconnects and is subscribed again.
    await pub.send(["rogue", "", new Uint8Array(2 * MiB).fill(0x61)]);
    await receiveUntil(
      pub,
      (frames) =>
        frames[0]?.charCodeAt(0) === 1,
      "the rogue to be subscribed again after the broker dropped its 2 MiB frame",
    );
    markers.push("rogue###after-oversize");
    await pub.send(["rogue", "", markers[1]!]);
    for (const inbox of group.inboxes) {
      await inbox.until(() => inbox.payloads.includes(markers[1]!), "to deliver the 2nd marker");
    }
    // Members refuse to send more than the limit, naming it.
    const member = group.members[0]!;
    await assert.rejects(member.multicast(new Uint8Array(2 * MiB)), RangeError);
    await assert.rejects(member.send("c2", new Uint8Array(2 * MiB)), /limit/);

    sent.push(...await exchange(group, "after", 50));
    await assertAgreed(group, sent, (p) => markers.includes(p));
    for (const inbox of group.inboxes) {
      assert.ok(inbox.payloads.every((p) => p.length < MiB), "a 2 MiB payload was delivered");
    }
    console.log(
      `bad bus frames: ${BAD_BUS.length} kinds, each counted once by the sequencer and by each member that receives them; a 2 MiB frame dropped with the rogue's connection; ${sent.length} multicasts delivered by all, none lost`,
    );
  } finally {
    ctx.close();
    await group.close();
  }
});

// --- The direct channel ------------------------------------------------------------------------

Deno.test("Broker and Sequencer drop and count malformed direct messages; unknown recipients and impostors of a live id get nothing through", async () => {
  const group = await startGroup();
  const ctx = new Context();
  try {
    const sent = await exchange(group, "before", 20);
    const before = badInput(group);
    const unknownBefore = group.broker.counters.unknownRecipients;
    const dealer = rogue(ctx, "DEALER", group.at.direct, "rogue");
    const malformed: string[][] = [
      ["only one frame"],
      ["", "c1"],
      ["not empty", "c1", "rogue###x"],
      ["", "c1", "rogue###x", "extra"],
      ["", "c1", "a", "b", "c", "d"],
    ];
    for (const frames of malformed) await dealer.send(frames);
    // To nobody: the broker tells the sender, once its grace is over.
    await dealer.send(["", "nobody", "rogue###lost"]);
    // To the sequencer: requests that are not requests.
    const badRequests = [
      ["", "sequencer", "GARBAGE"],
      ["", "sequencer", "RETRANSMIT 0 *"],
      ["", "sequencer", "RETRANSMIT 1 x"],
      ["", "sequencer", "RETRANSMIT -1 *"],
      ["", "sequencer", "RETRANSMIT 99999999999999999999 *"],
      ["", "sequencer", "HELLO again"],
      ["", "sequencer", ""],
      ["", "sequencer", "ORDER x"],
    ];
    for (const frames of badRequests) await dealer.send(frames);
    // To a member, a fake recovery message: it comes from "rogue", not
    // from the sequencer, so it is a direct message and orders nothing.
    await dealer.send(["", "c1", "ORDER 999999 - rogue###evil"]);
    // A HELLO last: its answer means the sequencer has handled all before it.
    await dealer.send(["", "sequencer", "HELLO"]);
    const replies = await receiveUntil(
      dealer,
      (frames) => frames[1] === "sequencer" && frames[2]!.startsWith("HIGHEST "),
      "the sequencer's answer to the rogue's HELLO",
    );
    // The broker holds a message to an unknown recipient for its grace
    // (without holding up others), then tells the sender.
    const told = (f: string[]) => f[1] === "broker" && /unknown recipient "nobody"/.test(f[2]!);
    if (!replies.some(told)) {
      replies.push(
        ...await receiveUntil(dealer, told, "the broker's notice of the unknown recipient"),
      );
    }
    assert.ok(
      replies.some(told),
      `the rogue was not told of the unknown recipient: ${JSON.stringify(replies)}`,
    );
    await group.inboxes[0]!.until(
      () => group.inboxes[0]!.directsFrom("rogue").length > 0,
      "to receive the rogue's fake order as a direct message",
    );
    const after = badInput(group);
    assert.equal(after.broker - before.broker, malformed.length, "the broker's badInput");
    assert.equal(
      after.sequencer - before.sequencer,
      badRequests.length,
      "the sequencer's badInput",
    );
    assert.equal(group.broker.counters.unknownRecipients - unknownBefore, 1);
    // Logged too, each naming what was wrong.
    assert.equal(logged(group, "broker", "Dropped a direct message of"), malformed.length);
    assert.equal(logged(group, "broker", 'unknown recipient "nobody"'), 1);
    assert.equal(
      logged(group, "sequencer", "Dropped a bad request from rogue"),
      badRequests.length,
    );
    assert.deepEqual(group.inboxes[0]!.directsFrom("rogue"), ["ORDER 999999 - rogue###evil"]);

    // Impostors: a second DEALER with the id of a live member, and one with
    // the sequencer's. The router refuses both (ROUTER_HANDOVER off).
    const asC1 = rogue(ctx, "DEALER", group.at.direct, "c1");
    const asSequencer = rogue(ctx, "DEALER", group.at.direct, "sequencer");
    await asC1.send(["", "c2", "impostor###as-c1"]);
    await asSequencer.send(["", "c3", `ORDER ${group.sequencer.next} - impostor###evil`]);
    // And a second Member claiming c1: the broker refuses it at the barrier,
    // saying why, and the first c1 goes on.
    await assert.rejects(
      Member.join({
        host: "127.0.0.1",
        basePort: group.basePort,
        id: "c1",
        lateJoin: "now",
        joinTimeoutMs: T,
      }),
      /c1: the broker at .* refused to let it join: the id "c1" is already in the group/,
    );
    // The real ones still work, both ways, and recovery still reaches the sequencer.
    await directRing(group, "ring");
    sent.push(...await exchange(group, "after", 20));
    await assertAgreed(group, sent, () => false);
    assert.ok(!group.inboxes[1]!.directsFrom("c1").includes("impostor###as-c1"));
    assert.equal(asC1.tryReceive(), null, "the impostor of c1 received c1's messages");
    assert.equal(asSequencer.tryReceive(), null, "the impostor of the sequencer got requests");
    console.log(
      `bad direct messages: ${malformed.length} malformed (broker badInput +${
        after.broker - before.broker
      }), 1 to an unknown recipient (sender told), ${badRequests.length} bad requests (sequencer badInput +${
        after.sequencer - before.sequencer
      }), 2 impostor DEALERs got nothing, a second Member c1 was refused; ${sent.length} multicasts and the direct ring delivered, none lost`,
    );
  } finally {
    ctx.close();
    await group.close();
  }
});

// --- Raw bytes -----------------------------------------------------------------------------------

function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** A ZMTP 3.0 greeting offering the NULL mechanism: what a real peer sends first. */
function zmtpGreeting(): Uint8Array {
  const greeting = new Uint8Array(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting.set(encoder.encode("NULL"), 12);
  return greeting;
}

/** A ZMTP READY command announcing `socketType`. */
function zmtpReady(socketType: string): Uint8Array {
  const name = encoder.encode("Socket-Type");
  const value = encoder.encode(socketType);
  const body = [
    5,
    ...encoder.encode("READY"),
    name.length,
    ...name,
    0,
    0,
    0,
    value.length,
    ...value,
  ];
  return new Uint8Array([0x04, body.length, ...body]);
}

/** Connects over plain TCP, writes `chunks`, and closes (the peer may hang up first). */
async function rawSend(port: number, chunks: Uint8Array[]): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (const chunk of chunks) await conn.write(chunk);
  } catch {
    // The broker hung up on the garbage: as it should.
  } finally {
    conn.close();
  }
}

Deno.test("Broker survives raw garbage bytes on each of its four ports; the group goes on", async () => {
  const group = await startGroup();
  const random = prng(0x5eed);
  let connections = 0;
  try {
    const sent = await exchange(group, "before", 20);
    for (let offset = 0; offset < 4; offset++) {
      const port = group.basePort + offset;
      // Pure garbage; a real greeting then garbage; a greeting, a READY and a
      // frame that claims 2^62 bytes.
      const huge = new Uint8Array(9);
      huge[0] = 0x02;
      new DataView(huge.buffer).setBigUint64(1, 2n ** 62n);
      const attempts = [
        [randomBytes(random, 4096)],
        [new Uint8Array(0)],
        [zmtpGreeting(), randomBytes(random, 512)],
        [zmtpGreeting(), zmtpReady(["PUB", "SUB", "REQ", "DEALER"][offset]!), huge],
      ];
      for (const chunks of attempts) {
        await rawSend(port, chunks);
        connections++;
      }
    }
    sent.push(...await exchange(group, "after", 20));
    await directRing(group, "ring");
    await assertAgreed(group, sent, () => false);
    console.log(
      `raw garbage: ${connections} connections to the broker's 4 ports; ${sent.length} multicasts and the direct ring delivered, none lost`,
    );
  } finally {
    await group.close();
  }
});

// --- Fuzz ---------------------------------------------------------------------------------------

const FUZZ_SECONDS = 3;
const FUZZ_SEED = 20_240_607;

/** Frame beginnings that look like the protocol's own. */
const PREFIXES = [
  "",
  "sequencer",
  "sequencer:",
  "sequencer:c1@0123456789ab.1",
  "c1",
  "c2@0123456789ab.",
  "start",
  "ORDER ",
  "ORDER 1 - ",
  "RETRANSMIT ",
  "RETRANSMIT 1 ",
  "HELLO",
  "HIGHEST 1 ab ",
  "0",
  "1",
  "-1",
  "abc",
  "99999999999999999999",
  "\x01",
  "\x00",
].map((p) => encoder.encode(p));

function fuzzFrame(random: () => number): Uint8Array {
  const roll = random();
  if (roll < 0.002) return new Uint8Array(2 * MiB + Math.floor(random() * 1024));
  const prefix = PREFIXES[Math.floor(random() * PREFIXES.length)]!;
  const tail = random() < 0.5
    ? randomBytes(random, Math.floor(random() * 24))
    : encoder.encode(String(Math.floor(random() * 1e6)));
  const frame = new Uint8Array(prefix.byteLength + tail.byteLength);
  frame.set(prefix);
  frame.set(tail, prefix.byteLength);
  return frame;
}

/** 0 to 6 frames; libzmq cannot send a message of no frames, so 0 sends one empty frame. */
function fuzzMessage(random: () => number): Uint8Array[] {
  const count = Math.floor(random() * 7);
  if (count === 0) return [new Uint8Array(0)];
  return Array.from({ length: count }, () => fuzzFrame(random));
}

/** Reads and forgets whatever a rogue socket receives, until it closes. */
async function drain(socket: Socket): Promise<number> {
  let count = 0;
  try {
    for await (const _ of socket) count++;
  } catch {
    // Closed.
  }
  return count;
}

Deno.test(`Fuzz: ${FUZZ_SECONDS} s of random frames at the broker and the sequencer (seed ${FUZZ_SEED}), then the group still delivers everything`, async () => {
  // No grace for unknown recipients: random ones would each hold the
  // broker's direct channel for the grace otherwise (see the known-bug test).
  const group = await startGroup({ unknownRecipientGraceMs: 0 });
  const random = prng(FUZZ_SEED);
  const ctx = new Context();
  const tried = {
    bus: 0,
    busValidMulticasts: 0,
    busOrdersSkipped: 0,
    direct: 0,
    toSequencer: 0,
    barrier: 0,
    subscriber: 0,
    raw: 0,
    notTaken: 0,
  };
  const drains: Promise<number>[] = [];
  try {
    const sent = await exchange(group, "before", 30);
    const before = badInput(group);
    const pub = rogue(ctx, "XPUB", group.at.multicastIn);
    await within(T, "the broker's subscription at the rogue publisher", pub.receive());
    drains.push(drain(pub));
    // The rogues read everything sent to them, with no limit: a peer that
    // does not read its direct messages is a known bug of its own.
    const dealers = [
      rogue(ctx, "DEALER", group.at.direct, "r1"),
      rogue(ctx, "DEALER", group.at.direct, "r2"),
      rogue(ctx, "DEALER", group.at.direct),
    ];
    const barrier = rogue(ctx, "DEALER", group.at.barrier);
    const subscriber = rogue(ctx, "XSUB", group.at.multicastOut);
    for (const socket of [...dealers, barrier, subscriber]) {
      socket.setOption("RCVHWM", 0);
      drains.push(drain(socket));
    }
    const deadline = performance.now() + FUZZ_SECONDS * 1000;
    let turns = 0;
    const pick = <X>(items: readonly X[]): X => items[Math.floor(random() * items.length)]!;
    // Never wait on a rogue's send: one the broker disconnected may queue for a while.
    const offer = (socket: Socket, frames: Uint8Array[]): boolean => {
      if (socket.trySend(frames)) return true;
      tried.notTaken++;
      return false;
    };
    while (performance.now() < deadline) {
      const roll = random();
      const message = fuzzMessage(random);
      if (roll < 0.35) {
        // A well-formed order from anyone but the sequencer would be believed
        // (the bus is not authenticated; see the report): not fuzzed here.
        let order = false;
        try {
          order = decodeBus(message).kind === "order";
        } catch { /* malformed, as wanted */ }
        if (order) {
          tried.busOrdersSkipped++;
          continue;
        }
        try {
          if (decodeBus(message).kind === "multicast") tried.busValidMulticasts++;
        } catch { /* malformed */ }
        if (offer(pub, message)) tried.bus++;
      } else if (roll < 0.55) {
        if (offer(pick(dealers), message)) tried.direct++;
      } else if (roll < 0.8) {
        // To the sequencer's recovery service, through the broker.
        const payload = message.length === 1 && random() < 0.5
          ? [
            pick(["RETRANSMIT ", "HELLO", "ORDER ", "RETRANSMIT 1 "].map((p) => encoder.encode(p))),
          ]
          : message;
        const frames = [new Uint8Array(0), encoder.encode("sequencer"), ...payload];
        if (offer(pick(dealers), frames)) tried.toSequencer++;
      } else if (roll < 0.9) {
        const frames = random() < 0.5 ? [new Uint8Array(0), ...message] : message;
        if (offer(barrier, frames)) tried.barrier++;
      } else if (roll < 0.98) {
        if (offer(subscriber, message)) tried.subscriber++;
      } else {
        await rawSend(group.basePort + Math.floor(random() * 4), [
          random() < 0.5 ? zmtpGreeting() : new Uint8Array(0),
          randomBytes(random, Math.floor(random() * 2048)),
        ]);
        tried.raw++;
      }
      // Let the group run: the fuzzer must not starve it.
      if (++turns % 32 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    for (const socket of [pub, ...dealers, barrier, subscriber]) socket.close();
    const drained = (await Promise.all(drains)).reduce((a, b) => a + b, 0);
    const after = badInput(group);

    // A normal round on the same group: multicasts, direct messages, all delivered once, in one order.
    sent.push(...await exchange(group, "after", 100));
    await directRing(group, "ring");
    // Valid multicasts of the fuzzer (a bare sender id is the seed's format) were ordered too.
    await assertAgreed(group, sent, (p) => !/^c[123]###(before|after)\d+$/.test(p));
    assert.ok(after.sequencer > before.sequencer, "the sequencer counted no bad input");
    assert.ok(after.broker > before.broker, "the broker counted no bad input");
    for (const [i, member] of group.members.entries()) {
      assert.ok(after.members[i]! > before.members[i]!, `${member.id} counted no bad input`);
    }
    console.log(
      `fuzz (seed ${FUZZ_SEED}, ${FUZZ_SECONDS} s): ${
        JSON.stringify(tried)
      }; ${drained} replies drained; badInput: broker +${
        after.broker - before.broker
      }, sequencer +${after.sequencer - before.sequencer}, members +${
        after.members.map((n, i) => n - before.members[i]!).join("/")
      }; then ${sent.length} multicasts and the direct ring delivered by all, none lost (${
        group.sequencer.next - 1
      } orders in all)`,
    );
  } finally {
    ctx.close();
    await Promise.all(drains);
    await group.close();
  }
});

// --- Bugs these tests found, since fixed: they keep them from coming back -------------------------

Deno.test({
  name:
    "Broker: a peer that never reads its direct messages neither freezes the broker nor holds up others'",
  async fn() {
    const basePort = freeBasePort();
    const broker = spawnRole("broker", "broker", [
      "--expect",
      "1",
      "--base-port",
      String(basePort),
    ]);
    const ctx = new Context();
    try {
      const at = endpoints("127.0.0.1", basePort);
      const c1 = rogue(ctx, "DEALER", at.direct, "c1");
      // c1 reaches the broker: its message to itself comes back.
      await c1.send(["", "c1", "ping-0"]);
      await within(T, "c1's first message to itself", c1.receive());
      const sink = rogue(ctx, "DEALER", at.direct, "sink");
      sink.setOption("RCVHWM", 1);
      // The sink sends itself 10 KiB messages and never reads them, until the broker stops taking.
      let sent = 0;
      const until = performance.now() + 3000;
      while (performance.now() < until) {
        if (sink.trySend(["", "sink", new Uint8Array(10_240)])) sent++;
        else await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await c1.send(["", "c1", "ping-1"]);
      await within(
        3000,
        `c1's message to itself, behind the ${sent} the sink does not read`,
        c1.receive(),
      );
      const started = performance.now();
      const status = await stop(broker, 5000);
      assert.equal(status.code, 0, `the broker did not exit on SIGTERM: ${JSON.stringify(status)}`);
      assert.ok(performance.now() - started < 5000);
    } finally {
      ctx.close();
      await stop(broker, 1000);
    }
  },
});

Deno.test({
  name: "Broker: direct messages to unknown recipients do not delay direct messages to others",
  async fn() {
    const group = await startGroup({ unknownRecipientGraceMs: 200 });
    const ctx = new Context();
    try {
      const dealer = rogue(ctx, "DEALER", group.at.direct, "rogue");
      for (let i = 0; i < 50; i++) await dealer.send(["", `nobody${i}`, "x"]);
      // The router reads its peers in turn, so each of c1's messages waits
      // behind one of the rogue's, which waits out the grace (200 ms).
      const started = performance.now();
      for (let i = 0; i < 10; i++) await group.members[0]!.send("c2", `c1###hello${i}`);
      const inbox = group.inboxes[1]!;
      await inbox.until(() => inbox.directsFrom("c1").length === 10, "c1's 10 direct messages");
      const ms = performance.now() - started;
      assert.ok(ms < 1000, `c1's 10 direct messages took ${ms.toFixed(0)} ms behind 50 to nobody`);
    } finally {
      ctx.close();
      await group.close();
    }
  },
});

Deno.test({
  name:
    "Broker: a subscriber that sends a 2 MiB subscription is disconnected, as on the other ports",
  async fn() {
    const basePort = freeBasePort();
    const broker = spawnRole("broker", "broker", [
      "--expect",
      "1",
      "--base-port",
      String(basePort),
    ]);
    let conn: Deno.Conn | undefined;
    let hungUp: Promise<void> | undefined;
    try {
      // Wait until the broker listens on the multicast-out port.
      await within(
        T,
        "the broker to listen",
        (async () => {
          while (true) {
            try {
              conn = await Deno.connect({ hostname: "127.0.0.1", port: basePort + 1 });
              return;
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
        })(),
      );
      const socket = conn!;
      const buffer = new Uint8Array(4096);
      hungUp = (async () => {
        try {
          while (await socket.read(buffer) !== null) { /* the broker's greeting */ }
        } catch { /* reset: hung up too */ }
      })();
      // A subscription is "\x01" + topic; libzmq keeps every topic in a trie
      // (about 25 bytes of memory per byte of topic): 10 of 2 MiB took 490 MiB.
      const size = 2 * MiB + 1;
      const frame = new Uint8Array(9 + size);
      frame[0] = 0x02;
      new DataView(frame.buffer).setBigUint64(1, BigInt(size));
      frame[9] = 1;
      await socket.write(zmtpGreeting());
      await socket.write(zmtpReady("SUB"));
      await socket.write(frame).catch(() => {});
      await within(3000, "the broker to hang up on a 2 MiB subscription", hungUp);
    } finally {
      conn?.close();
      await hungUp;
      await stop(broker, 1000);
    }
  },
});
