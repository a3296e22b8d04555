/**
 * The member's parts that do no I/O: the send window and the recovery
 * client, fed a clock and a holdback queue.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Holdback } from "../roles/member/holdback.ts";
import { RESEND_AFTER_MS, SendWindow } from "../roles/member/send_window.ts";
import { RecoveryClient } from "../roles/member/recovery_client.ts";
import { CATCH_UP_CHUNK } from "../roles/protocol/recovery.ts";
import { Outbox } from "../roles/member/outbox.ts";
import { decodeMulticastBatch, isMulticastBatch } from "../roles/protocol/multicast_batch.ts";
import { Context } from "../ffi/mod.ts";

const encoder = new TextEncoder();
const own = (index: number) => ({ key: "c1@ab", index });

Deno.test("SendWindow waits for room when full, and opens again at half", async () => {
  const window = new SendWindow(4);
  for (let i = 1; i <= 4; i++) window.add(i, encoder.encode(`p${i}`), 0);
  let opened = false;
  const waiting = window.room().then(() => opened = true);
  const delivery = (i: number) => ({
    seq: i,
    sender: "c1",
    payload: encoder.encode(`p${i}`),
    origin: own(i),
  });
  assert.equal(window.settle(delivery(1), "c1@ab"), true);
  await Promise.resolve();
  assert.equal(opened, false, "opened at 3 of 4");
  assert.equal(window.settle(delivery(2), "c1@ab"), true);
  await waiting;
  assert.equal(window.inFlight, 2);
  assert.equal(
    window.settle({ ...delivery(3), origin: { key: "c2@ab", index: 3 } }, "c1@ab"),
    false,
  );
});

Deno.test("SendWindow settles a seed sequencer's delivery by payload, and resends only what is old enough", () => {
  const window = new SendWindow(10);
  window.add(1, encoder.encode("same"), 0);
  window.add(2, encoder.encode("same"), 500);
  assert.deepEqual(window.due(RESEND_AFTER_MS - 1), []);
  assert.deepEqual(window.due(RESEND_AFTER_MS).map(([i]) => i), [1]);
  // Counted as sent again: not due at once again.
  assert.deepEqual(window.due(RESEND_AFTER_MS + 600).map(([i]) => i), [2]);
  const fromSeed = { seq: 1, sender: "", payload: encoder.encode("same"), origin: null };
  assert.equal(window.settle(fromSeed, "c1@ab"), true);
  assert.equal(window.inFlight, 1);
  window.close();
});

Deno.test("RecoveryClient asks for the gaps only, then from the highest seen on, with a doubling back-off", () => {
  const holdback = new Holdback({ ordersOnly: true });
  holdback.addOrder(1, encoder.encode("a"));
  holdback.addOrder(4, encoder.encode("d"));
  holdback.addOrder(7, encoder.encode("g"));
  const client = new RecoveryClient(300);
  // Nothing pending and nothing delivered for long: only the greeting.
  assert.deepEqual(client.tick(0, new Holdback(), 0, 0).map((a) => a.kind), []);
  assert.deepEqual(client.tick(300, new Holdback(), 0, 0), [{ kind: "hello", delivered: 0 }]);
  // Once it has answered (its epoch is known), no more greetings.
  const empty = new Holdback();
  assert.deepEqual(client.answered(0, { seq: 0, epoch: "e1", lowest: 1, delivered: 0 }, empty), []);
  assert.deepEqual(client.settle(300, { seq: 0, epoch: "e1", lowest: 1 }, empty, 0), []);
  const first = client.tick(1000, holdback, 0, 0);
  assert.deepEqual(first, [{
    kind: "retransmit",
    ranges: [[2, 3], [5, 6], [8, null]],
    delivered: 1,
  }]);
  // Unanswered: the next waits 300 ms, then 600 ms, then 1,200 ms.
  assert.deepEqual(client.tick(1299, holdback, 0, 0), []);
  assert.equal(client.tick(1300, holdback, 0, 0)[0]?.kind, "retransmit");
  assert.deepEqual(client.tick(1899, holdback, 0, 0), []);
  assert.equal(client.tick(1900, holdback, 0, 0)[0]?.kind, "retransmit");
  assert.deepEqual(client.tick(3099, holdback, 0, 0), []);
  assert.equal(client.tick(3100, holdback, 0, 0)[0]?.kind, "retransmit");
  // An answer resets it.
  assert.deepEqual(
    client.answered(0, { seq: 7, epoch: "e1", lowest: 1, delivered: 1 }, holdback),
    [],
  );
  assert.deepEqual(client.settle(3100, { seq: 7, epoch: "e1", lowest: 1 }, holdback, 0), []);
  assert.equal(client.tick(3400, holdback, 3100, 0)[0]?.kind, "retransmit");
});

Deno.test("RecoveryClient fails on a HIGHEST below the echoed position, skips what is no longer held, resends, and asks again after a restart", () => {
  const client = new RecoveryClient(300);
  const holdback = new Holdback({ ordersOnly: true });
  for (let seq = 1; seq <= 10; seq++) holdback.addOrder(seq, encoder.encode(`m${seq}`));
  // An echo of a position this member never said is no answer of its request.
  const [forged] = client.answered(0, { seq: 3, epoch: "e1", lowest: 1, delivered: 10 }, holdback);
  assert.equal(forged?.kind, "ignore");
  assert.deepEqual(client.hello(0, holdback), { kind: "hello", delivered: 10 });
  const [fail] = client.answered(0, { seq: 3, epoch: "e1", lowest: 1, delivered: 10 }, holdback);
  assert.equal(fail?.kind, "fail");
  assert.match(
    fail?.kind === "fail" ? fail.why : "",
    /highest order is 3, but this member had delivered up to 10/,
  );
  // A late member: orders before 50 are gone, and it skips them, once.
  const late = new Holdback({ ordersOnly: true });
  const lateClient = new RecoveryClient(300, { late: true });
  const gone = { seq: 80, epoch: "e1", lowest: 50, delivered: 0 };
  assert.deepEqual(lateClient.answered(0, gone, late), [{ kind: "skip", from: 1, to: 50 }]);
  // A member that was in step and fell behind them stops, saying what to set.
  const [behindHeld] = new RecoveryClient(300).answered(0, gone, late);
  assert.equal(behindHeld?.kind, "fail");
  assert.match(
    behindHeld?.kind === "fail" ? behindHeld.why : "",
    /orders 1\.\.49 are no longer held by the sequencer: it holds 50\.\.80.*--log/,
  );
  // Everything delivered and own multicasts wait: send them again.
  assert.deepEqual(client.settle(0, { seq: 10, epoch: "e1", lowest: 1 }, holdback, 2), [
    { kind: "resend" },
  ]);
  // A new epoch with orders still to come: the sequencer restarted.
  const behind = new Holdback({ ordersOnly: true });
  const actions = client.settle(0, { seq: 10, epoch: "e2", lowest: 1 }, behind, 0);
  assert.deepEqual(actions.map((a) => a.kind), ["restarted", "retransmit"]);
});

Deno.test("RecoveryClient asks for orders the sequencer said it gave, even with nothing held or in flight (a lost last order)", () => {
  const client = new RecoveryClient(300);
  const holdback = new Holdback({ ordersOnly: true });
  for (let seq = 1; seq <= 5; seq++) holdback.addOrder(seq, encoder.encode(`m${seq}`));
  client.hello(0, holdback);
  // The sequencer gave 6; order 6 never came.
  assert.deepEqual(
    client.answered(0, { seq: 6, epoch: "e1", lowest: 1, delivered: 5 }, holdback),
    [],
  );
  assert.deepEqual(client.settle(0, { seq: 6, epoch: "e1", lowest: 1 }, holdback, 0), []);
  const [ask] = client.tick(300, holdback, 0, 0);
  assert.deepEqual(ask, { kind: "retransmit", ranges: [[6, null]], delivered: 5 });
});

Deno.test("RecoveryClient catches up a long gap in rounds of CATCH_UP_CHUNK, each asked for once the last is answered", () => {
  const client = new RecoveryClient(300);
  const holdback = new Holdback({ ordersOnly: true });
  holdback.addOrder(1, encoder.encode("a"));
  holdback.addOrder(10_001, encoder.encode("z"));
  client.hello(0, holdback);
  client.answered(0, { seq: 10_001, epoch: "e1", lowest: 1, delivered: 1 }, holdback);
  client.settle(0, { seq: 10_001, epoch: "e1", lowest: 1, delivered: 1 }, holdback, 0);
  const [first] = client.tick(300, holdback, 0, 0);
  assert.deepEqual(first, {
    kind: "retransmit",
    ranges: [[2, 1 + CATCH_UP_CHUNK]],
    delivered: 1,
  });
  // The round's answer: far behind still, so the next round goes at once.
  for (let seq = 2; seq <= 1 + CATCH_UP_CHUNK; seq++) holdback.addOrder(seq, encoder.encode("m"));
  const answer = { seq: 10_001, epoch: "e1", lowest: 1, delivered: 1 };
  assert.deepEqual(client.answered(300, answer, holdback), []);
  const [next] = client.settle(300, answer, holdback, 0);
  assert.deepEqual(next, {
    kind: "retransmit",
    ranges: [[2 + CATCH_UP_CHUNK, 1 + 2 * CATCH_UP_CHUNK]],
    delivered: 1 + CATCH_UP_CHUNK,
  });
});

Deno.test("RecoveryClient greets the sequencer every heartbeatMs once it answered, and says when it falls silent and speaks again", () => {
  const client = new RecoveryClient(300, { heartbeatMs: 1000 });
  const holdback = new Holdback({ ordersOnly: true });
  const answer = { seq: 0, epoch: "e1", lowest: 1, delivered: 0 };
  client.hello(0, holdback);
  client.answered(0, answer, holdback);
  client.settle(0, answer, holdback, 0);
  assert.deepEqual(client.tick(999, holdback, 0, 0), [{ kind: "hello", delivered: 0 }]);
  assert.deepEqual(client.tick(1500, holdback, 0, 0), []);
  assert.deepEqual(client.tick(1999, holdback, 0, 0), [{ kind: "hello", delivered: 0 }]);
  const silent = client.tick(3000, holdback, 0, 0);
  assert.deepEqual(silent, [{ kind: "hello", delivered: 0 }, { kind: "silent", forMs: 3000 }]);
  // Said once, not at every tick.
  assert.deepEqual(client.tick(3100, holdback, 0, 0), []);
  assert.deepEqual(client.answered(3200, answer, holdback), [{ kind: "silent", forMs: 0 }]);
});

Deno.test("RecoveryClient, after a long gap between ticks (its process was frozen), first reads what it has queued: no request at once, no silent sequencer", () => {
  const client = new RecoveryClient(300, { heartbeatMs: 1000 });
  const holdback = new Holdback({ ordersOnly: true });
  const answer = { seq: 50_000, epoch: "e1", lowest: 1, delivered: 0 };
  client.hello(0, holdback);
  client.answered(0, answer, holdback);
  client.settle(0, answer, holdback, 0);
  client.tick(100, holdback, 0, 0);
  // Frozen from 100 to 10,100: nothing delivered since 0, orders known to be missing.
  assert.deepEqual(client.tick(10_100, holdback, 0, 0).map((a) => a.kind), ["hello"]);
  assert.deepEqual(client.tick(10_399, holdback, 0, 0), []);
  assert.equal(client.tick(10_400, holdback, 0, 0)[0]?.kind, "retransmit");
});

Deno.test("Outbox sends the first 8 multicasts of a turn at once, each alone, and the rest of the turn as batches that read back in order", async () => {
  using ctx = new Context();
  using pull = ctx.socket("PULL");
  const endpoint = `inproc://outbox-${crypto.randomUUID()}`;
  pull.bind(endpoint);
  using push = ctx.socket("PUSH");
  push.connect(endpoint);
  const outbox = new Outbox(push, "c1@3fa9e0c1b2d4", 1024 * 1024);
  const payloads = Array.from({ length: 500 }, (_, i) => encoder.encode(`c1###m${i}`));
  payloads.forEach((payload, i) => outbox.add(i + 1, payload));
  const messages: Uint8Array[][] = [];
  const got: string[] = [];
  while (got.length < payloads.length) {
    const frames = await pull.receive();
    messages.push(frames);
    if (isMulticastBatch(frames)) {
      for (const { origin, payload } of decodeMulticastBatch(frames).multicasts) {
        got.push(`${origin.index} ${new TextDecoder().decode(payload)}`);
      }
    } else {got.push(
        `${new TextDecoder().decode(frames[0]).split(".")[1]} ${
          new TextDecoder().decode(frames[2])
        }`,
      );}
  }
  assert.deepEqual(got, payloads.map((p, i) => `${i + 1} ${new TextDecoder().decode(p)}`));
  assert.ok(messages.slice(0, 8).every((frames) => !isMulticastBatch(frames)), "the first 8 alone");
  assert.ok(messages.length < 20, `${messages.length} messages for 500 multicasts`);
});

Deno.test("RecoveryClient of a member that never got an answer (the sequencer was down) still greets it, every 5 heartbeats", () => {
  const client = new RecoveryClient(300, { heartbeatMs: 1000 });
  const holdback = new Holdback({ ordersOnly: true });
  client.noService();
  assert.deepEqual(client.tick(100, holdback, 0, 0), [{ kind: "hello", delivered: 0 }]);
  assert.deepEqual(client.tick(4_000, holdback, 0, 0), []);
  assert.deepEqual(client.tick(5_100, holdback, 0, 0), [{ kind: "hello", delivered: 0 }]);
});
