/**
 * The wire grammar and the small parts the roles share: bus frames (the
 * fast and the checked decoder agree), origins, recovery messages, the
 * origin tracker, the order log and the delivery queue.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeBus,
  formatOrigin,
  multicastFrames,
  orderFrames,
  parseOrigin,
  ProtocolError,
} from "../roles/protocol/bus.ts";
import { OriginTracker } from "../roles/protocol/origin_tracker.ts";
import { OrderLog } from "../roles/sequencer/order_log.ts";
import { AsyncQueue } from "../roles/member/delivery_queue.ts";
import { prng } from "./_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("decodeBus() reads back what multicastFrames() and orderFrames() make", () => {
  const origin = { key: "c1@3fa9e0c1b2d4", index: 17 };
  const payload = encoder.encode("c1###hi");
  assert.deepEqual(decodeBus(multicastFrames(origin, payload)), {
    kind: "multicast",
    sender: "c1",
    payload,
    origin,
  });
  assert.deepEqual(decodeBus(orderFrames(42, payload, origin)), {
    kind: "order",
    seq: 42,
    payload,
    origin,
    epoch: 0,
  });
  // HA mode: the leader's epoch after "sequencer~".
  assert.deepEqual(decodeBus(orderFrames(43, payload, origin, "1f")), {
    kind: "order",
    seq: 43,
    payload,
    origin,
    epoch: 31,
  });
  assert.equal(
    decoder.decode(orderFrames(43, payload, origin, "1f")[0]),
    "sequencer~1f:c1@3fa9e0c1b2d4.17",
  );
  assert.deepEqual((decodeBus(orderFrames(44, payload, null, "a")) as { epoch: number }).epoch, 10);
  assert.deepEqual(decodeBus(orderFrames(1, payload, null)).kind, "order");
  assert.equal(formatOrigin(parseOrigin("c1@ab.7")!), "c1@ab.7");
  assert.equal(parseOrigin("c1@zz.7"), null);
});

/** A frame of bytes drawn mostly from what the grammar uses. */
function grammarFrame(random: () => number): Uint8Array {
  const alphabet = [
    ...["s", "e", "q", "u", "n", "c", "r", ":", "@", ".", "0", "1", "9", "a", "f", "_", "~"],
  ];
  const length = Math.floor(random() * 24);
  const bytes = Array.from({ length }, () => {
    if (random() < 0.02) return 0xff;
    return alphabet[Math.floor(random() * alphabet.length)]!.charCodeAt(0);
  });
  return new Uint8Array(bytes);
}

const MAX = Number.MAX_SAFE_INTEGER;
const ORIGIN = /^([A-Za-z0-9_.-]{1,64}@[0-9a-f]{1,16})\.([1-9][0-9]{0,15})$/;

/** PROTOCOL.md's "Validation" rules, written with regular expressions: the oracle. */
function byTheRules(frames: Uint8Array[]): unknown {
  const sender = decoder.decode(frames[0]!);
  const seq = decoder.decode(frames[1]!);
  const origin = (value: string) => {
    const match = ORIGIN.exec(value);
    return match === null || Number(match[2]) > MAX
      ? null
      : { key: match[1]!, index: Number(match[2]) };
  };
  if (frames[1]!.byteLength === 0) {
    if (sender === "" || /^sequencer($|:|~)/.test(sender)) return "refused";
    if (!sender.includes("@")) return { kind: "multicast", sender, origin: null };
    const o = origin(sender);
    return o === null ? "refused" : { kind: "multicast", sender: sender.split("@")[0], origin: o };
  }
  if (!/^[1-9][0-9]{0,15}$/.test(seq) || Number(seq) > MAX) return "refused";
  // "sequencer", then "~<epoch>" (1 to 16 lowercase hex digits) or nothing, then ":<origin>" or nothing.
  const order = /^sequencer(?:~([0-9a-f]{1,16}))?(?::(.*))?$/.exec(sender);
  if (order === null) return "refused";
  const epoch = order[1] === undefined ? 0 : parseInt(order[1], 16);
  if (epoch > MAX) return "refused";
  if (order[2] === undefined) return { kind: "order", seq: Number(seq), origin: null, epoch };
  const o = origin(order[2]);
  return o === null ? "refused" : { kind: "order", seq: Number(seq), origin: o, epoch };
}

Deno.test("decodeBus() follows PROTOCOL.md's rules on 50,000 random frames (seed 7)", () => {
  const random = prng(7);
  const kinds = new Map<string, number>();
  for (let i = 0; i < 50_000; i++) {
    const pick = random();
    const sender = pick < 0.3
      ? encoder.encode(
        pick < 0.1 ? "sequencer:c1@ab.1" : pick < 0.2 ? "sequencer~2a:c1@ab.1" : "c1@ab.12",
      )
      : grammarFrame(random);
    const draw = random();
    const seq = draw < 0.4
      ? new Uint8Array(0)
      : draw < 0.7
      ? encoder.encode(String(Math.floor(random() * 2 ** (random() * 56))))
      : grammarFrame(random);
    const frames = [sender, seq, encoder.encode("x")];
    let decoded: unknown;
    try {
      const { payload: _, ...message } = decodeBus(frames);
      decoded = message;
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      decoded = "refused";
    }
    assert.deepEqual(
      decoded,
      byTheRules(frames),
      `${decoder.decode(sender)} | ${decoder.decode(seq)}`,
    );
    const kind = typeof decoded === "string" ? decoded : (decoded as { kind: string }).kind;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  for (const kind of ["refused", "multicast", "order"]) {
    assert.ok((kinds.get(kind) ?? 0) > 500, `too few ${kind}: ${JSON.stringify([...kinds])}`);
  }
  assert.throws(() => decodeBus([encoder.encode("x")]), /expected 3 frames/);
});

Deno.test("OriginTracker recognises copies with a watermark and the few seen above it", () => {
  const tracker = new OriginTracker();
  const at = (index: number) => ({ key: "c1@ab", index });
  assert.equal(tracker.record(at(2)), true);
  assert.equal(tracker.record(at(1)), true);
  assert.equal(tracker.record(at(2)), false);
  assert.equal(tracker.has(at(1)), true);
  assert.equal(tracker.has(at(3)), false);
  assert.equal(tracker.record({ key: "c1@cd", index: 1 }), true, "another run of c1");
  // In a run's order: the next one only.
  assert.equal(tracker.recordNext(at(4)), "early");
  assert.equal(tracker.has(at(4)), false);
  assert.equal(tracker.recordNext(at(3)), "recorded");
  assert.equal(tracker.recordNext(at(3)), "copy");
  assert.equal(tracker.next("c1@ab"), 4);
  assert.equal(tracker.recordNext({ key: "c9@ef", index: 1 }), "recorded");
});

Deno.test("OrderLog: orders written are read back, a torn last line is cut, a corrupt line names its place", async () => {
  const dir = await Deno.makeTempDir({ prefix: "order-log-" });
  try {
    const path = join(dir, "orders.log");
    const { log } = OrderLog.open(path, { fsync: "batch", keep: 10 });
    log.add(1, encoder.encode("a"), { key: "c1@ab", index: 1 });
    log.add(2, encoder.encode("b"), null);
    log.commit();
    log.close();
    await Deno.writeTextFile(path, "3 Yw", { append: true });
    const origins: string[] = [];
    const again = OrderLog.open(path, {
      fsync: "never",
      keep: 1,
      onOrigin: (o) => origins.push(formatOrigin(o)),
    });
    assert.equal(again.highest, 2);
    assert.deepEqual(again.recent.map((o) => decoder.decode(o.payload)), ["b"]);
    assert.deepEqual(origins, ["c1@ab.1"]);
    again.log.close();
    assert.equal(await Deno.readTextFile(path), (await Deno.readTextFile(path)).trimEnd() + "\n");
    await Deno.writeTextFile(path, "1 YQ== -\n3 Yg== -\n");
    assert.throws(
      () => OrderLog.open(path, { fsync: "batch", keep: 10 }),
      /Corrupt order log .*orders\.log:2: expected "2 /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AsyncQueue delivers in order, ends on close, and throws a failure after what it holds", async () => {
  const queue = new AsyncQueue<number>();
  queue.push(1);
  queue.push(2);
  queue.fail(new Error("stopped"));
  queue.push(3);
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const item of queue) seen.push(item);
  }, /stopped/);
  assert.deepEqual(seen, [1, 2]);
  const closed = new AsyncQueue<number>();
  const loop = (async () => {
    const got: number[] = [];
    for await (const item of closed) got.push(item);
    return got;
  })();
  closed.push(7);
  closed.close();
  assert.deepEqual(await loop, [7]);
});

Deno.test("OrderLog.read() reads any range back, in rounds of at most about 4 MiB, across index entries and a reopen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "order-log-read-" });
  try {
    const path = `${dir}/orders.log`;
    const random = prng(5);
    const payloads: Uint8Array[] = [];
    // Mostly small orders, and now and then a large one (the index gets an entry every MiB).
    const payloadOf = (i: number) =>
      new TextEncoder().encode(
        `#${i}` + "z".repeat(random() < 0.01 ? 400_000 : Math.floor(random() * 50)),
      );
    let { log } = OrderLog.open(path, { fsync: "never", keep: 10 });
    for (let seq = 1; seq <= 2500; seq++) {
      payloads.push(payloadOf(seq));
      log.add(seq, payloads[seq - 1]!);
      if (seq % 100 === 0) log.commit();
    }
    log.close();
    ({ log } = OrderLog.open(path, { fsync: "never", keep: 10 }));
    for (let seq = 2501; seq <= 3000; seq++) {
      payloads.push(payloadOf(seq));
      log.add(seq, payloads[seq - 1]!);
    }
    log.commit();
    for (const first of [1, 2, 1023, 1024, 1025, 2048, 2049, 2500, 2501, 2999]) {
      const read: Uint8Array[] = [];
      for (let next = first; next <= 3000;) {
        const round = log.read(next, 3000, 2048);
        assert.ok(round.length > 0, `nothing read from ${next}`);
        assert.equal(round[0]!.seq, next);
        const bytes = round.reduce((sum, o) => sum + o.payload.byteLength, 0);
        assert.ok(round.length === 1 || bytes < 6 * 1024 * 1024, `a round of ${bytes} bytes`);
        read.push(...round.map((o) => o.payload));
        next = round.at(-1)!.seq + 1;
      }
      assert.deepEqual(read, payloads.slice(first - 1), `from ${first}`);
    }
    log.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AsyncQueue.batches() hands over everything pushed in one step at once, in order, then ends on close (or throws the failure)", async () => {
  const queue = new AsyncQueue<number>();
  const batches: number[][] = [];
  const done = (async () => {
    for await (const batch of queue.batches()) batches.push(batch);
  })();
  for (let i = 1; i <= 5; i++) queue.push(i);
  await new Promise((resolve) => setTimeout(resolve, 0));
  queue.push(6);
  queue.close();
  await done;
  assert.deepEqual(batches, [[1, 2, 3, 4, 5], [6]]);
  const failing = new AsyncQueue<number>();
  failing.push(1);
  failing.fail(new Error("stopped"));
  const seen: number[][] = [];
  await assert.rejects(async () => {
    for await (const batch of failing.batches()) seen.push(batch);
  }, /stopped/);
  assert.deepEqual(seen, [[1]]);
});
