import assert from "node:assert/strict";
import { SenderOrder } from "../roles/sequencer/sender_order.ts";

Deno.test("SenderOrder holds a member's later multicasts until the earlier one is taken, and passes a gap over after its wait", () => {
  const order = new SenderOrder<string>(1000);
  const origin = (key: string, index: number) => ({ key, index });
  order.hold(origin("c1@a", 3), "c1-3", 0);
  order.hold(origin("c1@a", 4), "c1-4", 10);
  order.hold(origin("c2@b", 9), "c2-9", 500);
  order.hold(origin("c1@a", 3), "c1-3 again", 20);
  assert.equal(order.size, 3);
  assert.equal(order.take("c1@a", 2), undefined);
  assert.equal(order.take("c1@a", 3), "c1-3 again");
  assert.equal(order.size, 2);
  // Not yet overdue.
  assert.deepEqual(order.overdue(900), []);
  // c1's gap (held since 10) is overdue at 1010, c2's (since 500) not yet.
  assert.deepEqual(order.overdue(1010), [["c1-4"]]);
  assert.equal(order.size, 1);
  assert.deepEqual(order.overdue(1600), [["c2-9"]]);
  assert.equal(order.size, 0);
});
