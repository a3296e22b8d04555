/**
 * Batches on the bus: any split of consecutive orders into batches reads
 * back as the same orders, a member's batch of multicasts reads back with
 * its origins, malformed batches are refused naming what is wrong, and the
 * broker's gate checks a batch's numbers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BusGate } from "../roles/broker/bus_gate.ts";
import { ProtocolError } from "../roles/protocol/bus.ts";
import {
  type BatchedOrder,
  batchSpan,
  decodeOrderBatch,
  isOrderBatch,
  orderBatchFrames,
} from "../roles/protocol/order_batch.ts";
import {
  decodeMulticastBatch,
  isMulticastBatch,
  multicastBatchFrames,
} from "../roles/protocol/multicast_batch.ts";
import { prng } from "./_helpers.ts";

const encoder = new TextEncoder();

/** Orders `first` to `first + count - 1`, with payloads of varied sizes and origins or none. */
function orders(first: number, count: number, random: () => number): BatchedOrder[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: first + i,
    payload: encoder.encode("x".repeat(Math.floor(random() * 300)) + `#${first + i}`),
    origin: random() < 0.2 ? null : { key: `c${i % 4}@3fa9e0c1b2d4`, index: first + i },
  }));
}

Deno.test("Any split of consecutive orders into batches reads back as the same orders, in order", () => {
  const random = prng(7);
  const all = orders(1, 2000, random);
  for (let round = 0; round < 20; round++) {
    const read: BatchedOrder[] = [];
    for (let start = 0; start < all.length;) {
      const end = Math.min(all.length, start + 1 + Math.floor(random() * 200));
      const frames = orderBatchFrames(all.slice(start, end));
      assert.ok(isOrderBatch(frames));
      assert.deepEqual(batchSpan(frames), { first: all[start]!.seq, last: all[end - 1]!.seq });
      read.push(...decodeOrderBatch(frames));
      start = end;
    }
    assert.deepEqual(read, all);
  }
});

Deno.test("A malformed batch is refused with a ProtocolError that says what is wrong", () => {
  const frames = orderBatchFrames(orders(5, 3, prng(1)));
  const cut = [frames[0]!, frames[1]!, frames[2]!.subarray(0, frames[2]!.byteLength - 1)];
  assert.throws(
    () => decodeOrderBatch(cut),
    (e) => e instanceof ProtocolError && /order 7 of a batch is cut short/.test(e.message),
  );
  assert.equal(batchSpan(cut), null);
  const zero = [frames[0]!, encoder.encode("0"), frames[2]!];
  assert.throws(() => decodeOrderBatch(zero), ProtocolError);
  const empty = [frames[0]!, frames[1]!, new Uint8Array(0)];
  assert.throws(() => decodeOrderBatch(empty), /an empty batch/);
  // A bad origin: "nope" has no "@".
  const bad = orderBatchFrames([{ seq: 1, payload: encoder.encode("p"), origin: null }]);
  const body = new Uint8Array([4, 0, 0, 0, ...encoder.encode("nope"), 1, 0, 0, 0, 112]);
  assert.throws(
    () => decodeOrderBatch([bad[0]!, bad[1]!, body]),
    /order 1 of a batch has a bad origin/,
  );
  // Not a batch: a plain order's sender frame, or one with a suffix.
  assert.ok(!isOrderBatch([encoder.encode("sequencer"), encoder.encode("1"), body]));
  assert.ok(!isOrderBatch([encoder.encode("sequencer+x"), encoder.encode("1"), body]));
});

Deno.test("The broker's gate takes a batch's last number as the highest, and refuses a batch that goes back", () => {
  const gate = new BusGate(false);
  assert.equal(gate.check(orderBatchFrames(orders(1, 10, prng(2))), undefined), null);
  assert.equal(gate.highestOrder, 10);
  assert.ok(gate.sawBatch);
  assert.match(
    gate.check(orderBatchFrames(orders(10, 5, prng(3))), undefined)!,
    /order 10 is not above order 10/,
  );
  assert.equal(gate.check(orderBatchFrames(orders(11, 5, prng(4))), undefined), null);
  assert.equal(gate.highestOrder, 15);
});

Deno.test("A member's batch of multicasts reads back with its origins, and a malformed one is refused naming what is wrong", () => {
  const random = prng(11);
  const multicasts = Array.from({ length: 300 }, (_, i) => ({
    index: 1000 + i,
    payload: encoder.encode("y".repeat(Math.floor(random() * 100)) + `#${i}`),
  }));
  const frames = multicastBatchFrames("c7@3fa9e0c1b2d4", multicasts);
  assert.ok(isMulticastBatch(frames));
  assert.ok(!isOrderBatch(frames));
  const { sender, multicasts: read } = decodeMulticastBatch(frames);
  assert.equal(sender, "c7");
  assert.deepEqual(
    read,
    multicasts.map(({ index, payload }) => ({
      origin: { key: "c7@3fa9e0c1b2d4", index },
      payload,
    })),
  );
  const body = frames[2]!;
  assert.throws(
    () => decodeMulticastBatch([frames[0]!, frames[1]!, body.subarray(0, body.byteLength - 1)]),
    /multicast 300 of a batch is cut short/,
  );
  assert.throws(
    () => decodeMulticastBatch([encoder.encode("c7+"), frames[1]!, body]),
    /not "<id>@<run>\+"/,
  );
  const zero = multicastBatchFrames("c7@3fa9e0c1b2d4", [{
    index: 0,
    payload: encoder.encode("p"),
  }]);
  assert.throws(() => decodeMulticastBatch(zero), /multicast 1 of a batch has a bad index/);
  // A plain multicast is not a batch, nor is anything with a seq.
  assert.ok(!isMulticastBatch([encoder.encode("c7@3fa9e0c1b2d4.5"), new Uint8Array(0), body]));
  assert.ok(!isMulticastBatch([frames[0]!, encoder.encode("1"), body]));
});
