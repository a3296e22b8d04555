/**
 * `LocalBus`, the broker's bus for a sequencer in its own process: what it
 * takes in comes out in order, a full queue drops and says so, and closing
 * it ends a pending receive the way a closed socket does.
 */

import assert from "node:assert/strict";
import { isClosed } from "../ffi/mod.ts";
import { LocalBus } from "../roles/broker/local_bus.ts";

const frames = (n: number) => [new TextEncoder().encode(`c1@aaaaaaaaaaaa.${n}`)];

Deno.test("LocalBus hands out multicasts in the order offered, to a waiting receive first", async () => {
  const bus = new LocalBus(() => {}, 10_000);
  const waiting = bus.receive();
  assert.ok(bus.offer(frames(1)));
  assert.deepEqual(await waiting, frames(1));
  for (let n = 2; n <= 9000; n++) assert.ok(bus.offer(frames(n)));
  const out: Uint8Array[][] = [];
  for (let next = bus.tryReceive(); next !== null; next = bus.tryReceive()) out.push(next);
  assert.equal(out.length, 8999);
  assert.deepEqual(out[0], frames(2));
  assert.deepEqual(out.at(-1), frames(9000));
  assert.equal(bus.tryReceive(), null);
  bus.close();
});

Deno.test("LocalBus drops what comes beyond its capacity and counts it", () => {
  const bus = new LocalBus(() => {}, 3);
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => bus.offer(frames(n))), [
    true,
    true,
    true,
    false,
    false,
  ]);
  assert.equal(bus.dropped, 2);
  assert.deepEqual(bus.tryReceive(), frames(1));
  assert.ok(bus.offer(frames(6)), "room again once one was taken");
  bus.close();
});

Deno.test("LocalBus publishes through its function, and once closed rejects as a closed socket does", async () => {
  const published: Uint8Array[][] = [];
  const bus = new LocalBus((f) => published.push(f), 10);
  assert.equal(bus.trySend(frames(1)), true);
  await bus.send(frames(2));
  assert.deepEqual(published, [frames(1), frames(2)]);
  const pending = bus.receive();
  await assert.rejects(bus.receive(), /one reader/);
  bus.close();
  await assert.rejects(pending, (error) => isClosed(error));
  await assert.rejects(bus.receive(), (error) => isClosed(error));
  assert.throws(() => bus.trySend(frames(3)), (error) => isClosed(error));
  assert.ok(bus.offer(frames(4)), "offers after the close are discarded, not counted");
  assert.equal(bus.dropped, 0);
});
