import assert from "node:assert/strict";
import { BusGate } from "../roles/broker/bus_gate.ts";
import { decodeRecovery, encodeRecovery } from "../roles/protocol/recovery.ts";

const encoder = new TextEncoder();
const frames = (...texts: string[]) => texts.map((t) => encoder.encode(t));

Deno.test("BusGate passes orders that go up within reach, and refuses one that goes back or jumps", () => {
  const gate = new BusGate(false, 1000);
  assert.equal(gate.check(frames("sequencer", "1", "x"), undefined), null);
  assert.equal(gate.check(frames("sequencer:c1@ab.1", "2", "x"), undefined), null);
  assert.match(gate.check(frames("sequencer", "2", "x"), undefined)!, /not above order 2/);
  assert.match(gate.check(frames("sequencer", "1002", "x"), undefined)!, /the limit is 1000/);
  assert.equal(gate.highestOrder, 2);
  // The sequencer says where it stands: its next orders are in reach.
  gate.announce(5000);
  assert.equal(gate.check(frames("sequencer", "5001", "x"), undefined), null);
  // Multicasts and malformed frames pass: the members refuse those themselves.
  assert.equal(gate.check(frames("c1@ab.1", "", "x"), undefined), null);
  assert.equal(gate.check(frames("sequencer", "abc", "x"), undefined), null);
  assert.equal(gate.check(frames("junk"), undefined), null);
});

Deno.test("BusGate in HA mode refuses orders of an epoch older than one forwarded (a deposed sequencer's), batches too", () => {
  const gate = new BusGate(false, 1000);
  assert.equal(gate.check(frames("sequencer~5:c1@ab.1", "1", "x"), undefined), null);
  assert.equal(gate.check(frames("sequencer~6", "2", "x"), undefined), null);
  assert.match(gate.check(frames("sequencer~5", "3", "x"), undefined)!, /epoch 5: .*epoch 6 leads/);
  assert.match(gate.check(frames("sequencer", "3", "x"), undefined)!, /epoch 0: .*epoch 6 leads/);
  assert.match(gate.check(frames("sequencer+~4", "3", "x"), undefined)!, /epoch 4/);
  assert.equal(gate.check(frames("sequencer~10", "3", "x"), undefined), null);
  assert.equal(gate.highestOrder, 3);
});

Deno.test("BusGate in CURVE mode: orders only from the sequencer's key, multicasts only under the key's id", () => {
  const gate = new BusGate(true);
  assert.match(gate.check(frames("sequencer", "1", "x"), "c1")!, /only the sequencer's key/);
  assert.equal(gate.check(frames("sequencer", "1", "x"), "sequencer"), null);
  assert.equal(gate.check(frames("c1@ab.1", "", "x"), "c1"), null);
  assert.equal(gate.check(frames("c1", "", "x"), "c1"), null);
  assert.match(gate.check(frames("c2@ab.1", "", "x"), "c1")!, /"c1" sent a multicast as "c2"/);
  assert.match(gate.check(frames("start"), "c1")!, /1 frames from "c1"/);
  assert.match(gate.check(frames("x", "", "y"), "sequencer")!, /"sequencer" sent a multicast/);
});

Deno.test("Recovery messages carry the member's delivered position, optionally, both ways", () => {
  const cases = [
    { kind: "hello" as const, delivered: 7 },
    { kind: "hello" as const },
    { kind: "retransmit" as const, first: 3, last: null, delivered: 2 },
    { kind: "retransmit" as const, first: 3, last: 9 },
    { kind: "highest" as const, seq: 10, epoch: "ab12", lowest: 1, delivered: 0 },
    { kind: "highest" as const, seq: 10, epoch: "ab12", lowest: 1 },
  ];
  for (const message of cases) {
    const decoded = decodeRecovery(encodeRecovery(message));
    assert.deepEqual(decoded, { delivered: undefined, ...message });
  }
  assert.throws(() => decodeRecovery(encoder.encode("HELLO x")), /expected HELLO/);
  assert.throws(() => decodeRecovery(encoder.encode("HELLO 1 2")), /expected HELLO/);
});
