import assert from "node:assert/strict";
import { type Delivery, Holdback } from "../roles/mod.ts";
import { prng } from "./_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Deliveries as `[seq, sender, payload]` triples, for readable assertions. */
function view(deliveries: Delivery[]): [number, string, string][] {
  return deliveries.map((d) => [d.seq, d.sender, decoder.decode(d.payload)]);
}

/** Fisher-Yates with the given random source. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

Deno.test("Holdback delivers orders that came before their messages once the messages arrive", () => {
  const q = new Holdback();
  assert.deepEqual(q.addOrder(1, bytes("c1###a")), []);
  assert.deepEqual(q.addOrder(2, bytes("c2###b")), []);
  assert.deepEqual(q.addOrder(3, bytes("c1###c")), []);
  assert.equal(q.heldOrders, 3);
  assert.equal(q.heldMessages, 0);
  // The message for 2 alone delivers nothing: 1 is still missing.
  assert.deepEqual(q.addMulticast("c2", bytes("c2###b")), []);
  assert.equal(q.heldMessages, 1);
  // The message for 1 releases 1 and 2; 3 still waits for its message.
  assert.deepEqual(view(q.addMulticast("c1", bytes("c1###a"))), [
    [1, "c1", "c1###a"],
    [2, "c2", "c2###b"],
  ]);
  assert.equal(q.next, 3);
  assert.deepEqual(view(q.addMulticast("c1", bytes("c1###c"))), [
    [3, "c1", "c1###c"],
  ]);
  assert.equal(q.next, 4);
  assert.equal(q.heldOrders, 0);
  assert.equal(q.heldMessages, 0);
  assert.equal(q.highestOrder, 3);
});

Deno.test("Holdback delivers messages that came before their orders as the orders arrive", () => {
  const q = new Holdback();
  assert.deepEqual(q.addMulticast("c1", bytes("c1###a")), []);
  assert.deepEqual(q.addMulticast("c2", bytes("c2###b")), []);
  assert.deepEqual(q.addMulticast("c3", bytes("c3###c")), []);
  assert.equal(q.heldMessages, 3);
  // The sequencer ordered them differently from their arrival here.
  assert.deepEqual(view(q.addOrder(1, bytes("c3###c"))), [[1, "c3", "c3###c"]]);
  assert.deepEqual(view(q.addOrder(2, bytes("c1###a"))), [[2, "c1", "c1###a"]]);
  assert.deepEqual(view(q.addOrder(3, bytes("c2###b"))), [[3, "c2", "c2###b"]]);
  assert.equal(q.heldMessages, 0);
  assert.equal(q.heldOrders, 0);
});

Deno.test("Holdback delivers exactly seq 1..N in order for any interleaving of 1,000 messages and orders", () => {
  const n = 1000;
  for (const seed of [1, 2, 3, 42, 20240601]) {
    const random = prng(seed);
    // Payloads repeat (7 texts from 4 senders) so that equal payloads are matched too.
    const sent = Array.from({ length: n }, (_, i) => {
      const sender = `c${(i % 4) + 1}`;
      return { sender, payload: `${sender}###command${i % 7}` };
    });
    // The sequencer's order is a permutation of what was sent.
    const ordered = shuffle([...sent], random);
    type Item =
      | { kind: "message"; sender: string; payload: string }
      | { kind: "order"; seq: number; payload: string };
    const items: Item[] = [
      ...sent.map((m): Item => ({ kind: "message", ...m })),
      ...ordered.map((m, i): Item => ({
        kind: "order",
        seq: i + 1,
        payload: m.payload,
      })),
    ];
    shuffle(items, random);
    const q = new Holdback();
    const delivered: Delivery[] = [];
    for (const item of items) {
      delivered.push(
        ...(item.kind === "message"
          ? q.addMulticast(item.sender, bytes(item.payload))
          : q.addOrder(item.seq, bytes(item.payload))),
      );
    }
    assert.equal(delivered.length, n, `seed ${seed}: delivered count`);
    for (const [i, d] of delivered.entries()) {
      assert.equal(d.seq, i + 1, `seed ${seed}: delivery ${i + 1} out of order`);
      assert.equal(
        decoder.decode(d.payload),
        ordered[i]!.payload,
        `seed ${seed}: delivery ${i + 1} has the wrong payload`,
      );
      assert.ok(
        decoder.decode(d.payload).startsWith(`${d.sender}###`),
        `seed ${seed}: delivery ${i + 1} names sender ${d.sender}`,
      );
    }
    assert.equal(q.next, n + 1);
    assert.equal(q.heldMessages, 0, `seed ${seed}: messages left over`);
    assert.equal(q.heldOrders, 0, `seed ${seed}: orders left over`);
  }
});

Deno.test("Holdback delivers duplicates of equal payloads once per order", () => {
  const payload = bytes("c3###command1");
  // Orders first: each message then releases exactly one order.
  const q = new Holdback();
  for (const seq of [1, 2, 3]) assert.deepEqual(q.addOrder(seq, payload), []);
  assert.deepEqual(view(q.addMulticast("c3", payload)), [
    [1, "c3", "c3###command1"],
  ]);
  assert.deepEqual(view(q.addMulticast("c3", payload)), [
    [2, "c3", "c3###command1"],
  ]);
  assert.equal(q.heldOrders, 1);
  assert.deepEqual(view(q.addMulticast("c3", payload)), [
    [3, "c3", "c3###command1"],
  ]);
  assert.equal(q.heldOrders, 0);
  assert.equal(q.heldMessages, 0);

  // Messages first: each order consumes exactly one of the three copies.
  const r = new Holdback();
  for (let i = 0; i < 3; i++) assert.deepEqual(r.addMulticast("c3", payload), []);
  assert.equal(r.heldMessages, 3);
  assert.deepEqual(view(r.addOrder(1, payload)), [[1, "c3", "c3###command1"]]);
  assert.equal(r.heldMessages, 2);
  assert.deepEqual(view(r.addOrder(2, payload)), [[2, "c3", "c3###command1"]]);
  assert.deepEqual(view(r.addOrder(3, payload)), [[3, "c3", "c3###command1"]]);
  assert.equal(r.heldMessages, 0);
  // A fourth order with no fourth copy waits.
  assert.deepEqual(r.addOrder(4, payload), []);
  assert.equal(r.heldOrders, 1);
});

Deno.test("Holdback ignores retransmitted and duplicate orders", () => {
  const q = new Holdback();
  assert.deepEqual(q.addOrder(1, bytes("c1###a")), []);
  // A retransmission of a known order, even with another payload, changes nothing.
  assert.deepEqual(q.addOrder(1, bytes("c1###a")), []);
  assert.deepEqual(q.addOrder(1, bytes("c2###other")), []);
  assert.equal(q.heldOrders, 1);
  assert.deepEqual(view(q.addMulticast("c1", bytes("c1###a"))), [
    [1, "c1", "c1###a"],
  ]);
  // An order already delivered is ignored, and does not consume a message.
  assert.deepEqual(q.addMulticast("c1", bytes("c1###a")), []);
  assert.deepEqual(q.addOrder(1, bytes("c1###a")), []);
  assert.equal(q.heldOrders, 0);
  assert.equal(q.heldMessages, 1);
  assert.deepEqual(view(q.addOrder(2, bytes("c1###a"))), [
    [2, "c1", "c1###a"],
  ]);
  assert.equal(q.next, 3);
});

Deno.test("Holdback holds later orders back until a gap is filled", () => {
  const q = new Holdback();
  for (const [seq, text] of [[2, "c2###b"], [3, "c3###c"], [5, "c1###e"]] as const) {
    assert.deepEqual(q.addMulticast(text.slice(0, 2), bytes(text)), []);
    assert.deepEqual(q.addOrder(seq, bytes(text)), []);
  }
  assert.equal(q.heldOrders, 3);
  assert.equal(q.highestOrder, 5);
  assert.equal(q.next, 1);
  // Filling 1 releases 2 and 3, then stops at the next gap (4).
  assert.deepEqual(q.addOrder(1, bytes("c1###a")), []);
  assert.deepEqual(view(q.addMulticast("c1", bytes("c1###a"))), [
    [1, "c1", "c1###a"],
    [2, "c2", "c2###b"],
    [3, "c3", "c3###c"],
  ]);
  assert.equal(q.next, 4);
  assert.deepEqual(view(q.addOrder(4, bytes("c4###d"))), []);
  assert.deepEqual(view(q.addMulticast("c4", bytes("c4###d"))), [
    [4, "c4", "c4###d"],
    [5, "c1", "c1###e"],
  ]);
  assert.equal(q.heldOrders, 0);
  assert.equal(q.heldMessages, 0);
});

Deno.test("Holdback with ordersOnly delivers each order from its payload, holds later ones behind a gap, ignores multicasts", () => {
  const q = new Holdback({ ordersOnly: true });
  const origin = (key: string, index: number) => ({ key, index });
  assert.deepEqual(q.addMulticast("c1", bytes("c1###a")), []);
  assert.equal(q.heldMessages, 0);
  assert.deepEqual(view(q.addOrder(1, bytes("c1###a"), origin("c1@ab", 1))), [[1, "c1", "c1###a"]]);
  // A gap: 3 and 4 wait for 2.
  assert.deepEqual(q.addOrder(3, bytes("c3###c"), origin("c3@cd", 1)), []);
  assert.deepEqual(q.addOrder(4, bytes("x")), []);
  assert.equal(q.heldOrders, 2);
  assert.deepEqual(q.missingRanges(8), [[2, 2]]);
  // A retransmitted copy of a delivered order changes nothing.
  assert.deepEqual(q.addOrder(1, bytes("c1###a")), []);
  assert.deepEqual(view(q.addOrder(2, bytes("c2###b"), origin("c2@ef", 7))), [
    [2, "c2", "c2###b"],
    [3, "c3", "c3###c"],
    // No origin (a seed sequencer's order): no sender name.
    [4, "", "x"],
  ]);
  assert.equal(q.heldOrders, 0);
  assert.equal(q.next, 5);
});

Deno.test("Holdback.forceNext() delivers from the order's payload, then what follows", () => {
  const q = new Holdback();
  // Nothing to force: no order, or a gap before the next order.
  assert.deepEqual(q.forceNext(), []);
  assert.deepEqual(q.addMulticast("c2", bytes("c2###b")), []);
  assert.deepEqual(q.addOrder(2, bytes("c2###b")), []);
  assert.deepEqual(q.forceNext(), []);
  assert.equal(q.next, 1);
  // Order 1 arrives but its multicast was lost.
  assert.deepEqual(q.addOrder(1, bytes("c1###lost")), []);
  assert.deepEqual(q.addOrder(3, bytes("c3###later")), []);
  assert.deepEqual(view(q.forceNext()), [
    [1, "", "c1###lost"],
    [2, "c2", "c2###b"],
  ]);
  assert.equal(q.next, 3);
  // The lost multicast turning up late is not delivered a second time.
  assert.deepEqual(q.addMulticast("c1", bytes("c1###lost")), []);
  assert.deepEqual(q.addOrder(1, bytes("c1###lost")), []);
  // Forcing again delivers order 3, which also waits for its message.
  assert.deepEqual(view(q.forceNext()), [[3, "", "c3###later"]]);
  assert.equal(q.next, 4);
  assert.equal(q.heldOrders, 0);
});

Deno.test("Holdback.stalledFor() measures how long the next order has waited for its message", () => {
  const q = new Holdback();
  const now = performance.now();
  assert.equal(q.stalledFor(now), 0, "an empty queue is not stalled");
  // A gap (order 2 without order 1) is not a stall: the order is missing, not the message.
  assert.deepEqual(q.addOrder(2, bytes("c2###b")), []);
  assert.equal(q.stalledFor(performance.now() + 10_000), 0);
  // Messages without orders are not a stall either.
  assert.deepEqual(q.addMulticast("c3", bytes("c3###c")), []);
  assert.equal(q.stalledFor(performance.now() + 10_000), 0);
  // Order 1 without its message: the stall starts now.
  const before = performance.now();
  assert.deepEqual(q.addOrder(1, bytes("c1###a")), []);
  const after = performance.now();
  const stalled = q.stalledFor(after + 5000);
  assert.ok(
    stalled >= 5000 && stalled <= 5000 + (after - before),
    `stalledFor() returned ${stalled}, expected about 5000`,
  );
  // Another order arriving does not restart the clock.
  assert.deepEqual(q.addOrder(3, bytes("c3###c")), []);
  assert.ok(q.stalledFor(after + 5000) >= 5000);
  // The message arrives: delivery resumes and the stall ends.
  assert.deepEqual(q.addMulticast("c2", bytes("c2###b")), []);
  assert.deepEqual(view(q.addMulticast("c1", bytes("c1###a"))), [
    [1, "c1", "c1###a"],
    [2, "c2", "c2###b"],
    [3, "c3", "c3###c"],
  ]);
  assert.equal(q.stalledFor(performance.now() + 10_000), 0);
  // A new stall after forceNext() is measured from the new wait, not the old one.
  assert.deepEqual(q.addOrder(4, bytes("c4###lost")), []);
  assert.deepEqual(q.addOrder(5, bytes("c4###also lost")), []);
  const start5 = performance.now();
  assert.deepEqual(view(q.forceNext()), [[4, "", "c4###lost"]]);
  const stalled5 = q.stalledFor(start5 + 1000);
  assert.ok(
    stalled5 > 0 && stalled5 <= 1000,
    `stalledFor() after forceNext() returned ${stalled5}, expected at most 1000`,
  );
  assert.deepEqual(view(q.forceNext()), [[5, "", "c4###also lost"]]);
  assert.equal(q.stalledFor(performance.now() + 10_000), 0);
});

Deno.test("Holdback starts at the given sequence number", () => {
  const q = new Holdback({ startAt: 101 });
  assert.equal(q.next, 101);
  assert.deepEqual(q.addOrder(100, bytes("c1###old")), []);
  assert.equal(q.heldOrders, 0, "an order before the start is ignored");
  assert.deepEqual(q.addMulticast("c1", bytes("c1###x")), []);
  assert.deepEqual(view(q.addOrder(101, bytes("c1###x"))), [
    [101, "c1", "c1###x"],
  ]);
});

Deno.test("Holdback matches payloads byte for byte, not as decoded text", () => {
  const q = new Holdback();
  // Two invalid UTF-8 sequences that both decode to U+FFFD must not match each other.
  const a = new Uint8Array([0x63, 0x31, 0xff]);
  const b = new Uint8Array([0x63, 0x31, 0xfe]);
  assert.equal(decoder.decode(a), decoder.decode(b));
  assert.deepEqual(q.addMulticast("c1", a), []);
  assert.deepEqual(q.addOrder(1, b), []);
  assert.equal(q.heldOrders, 1);
  const [d] = q.addMulticast("c1", b);
  assert.equal(d?.seq, 1);
  assert.deepEqual(d?.payload, b);
  assert.equal(q.heldMessages, 1);
});

Deno.test("Holdback refuses orders numbered reach or more past the next one; missingRanges() works from what is held, however far apart", () => {
  const q = new Holdback({ ordersOnly: true, reach: 1000 });
  assert.ok(q.beyondReach(1001));
  assert.ok(!q.beyondReach(1000));
  assert.deepEqual(q.addOrder(Number.MAX_SAFE_INTEGER, bytes("forged")), []);
  assert.equal(q.heldOrders, 0);
  assert.equal(q.highestOrder, 0);
  // Without a bound on the numbers, this walked every number up to the highest.
  const wide = new Holdback({ ordersOnly: true, reach: Number.MAX_SAFE_INTEGER });
  wide.addOrder(5, bytes("a"));
  wide.addOrder(Number.MAX_SAFE_INTEGER - 1, bytes("b"));
  assert.deepEqual(wide.missingRanges(64), [[1, 4], [6, Number.MAX_SAFE_INTEGER - 2]]);
});
