/**
 * The leader's rule in HA mode, on `Replication` itself: a batch goes out
 * only once every live standby confirmed it or was taken out of the
 * in-sync set. The registry here records calls, as the in-sync set in etcd
 * would be changed (tests/ha_in_sync_test.ts runs that against etcd).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Replication } from "../roles/sequencer/replication.ts";
import type { LoggedOrder } from "../roles/sequencer/order_log.ts";
import { decodeReplica, encodeReplicaRequest } from "../roles/protocol/replica.ts";

const encoder = new TextEncoder();

/** A leader with nothing published yet, whose sends are recorded. */
function leader(
  registry: { add(name: string): Promise<void>; remove(name: string): Promise<void> },
) {
  const sent: { to: string; kind: string }[] = [];
  const replication = new Replication(
    {
      epoch: "00000000000000ab",
      send: (to, payload) => sent.push({ to, kind: decodeReplica(payload).kind }),
      held: () => [],
      published: () => 0,
      maxBytes: () => 1 << 20,
      connected: () => true,
      leading: () => true,
      log: () => {},
    },
    registry,
    20,
  );
  return { replication, sent };
}

const order = (seq: number): LoggedOrder => ({
  seq,
  payload: encoder.encode(`m${seq}`),
  origin: null,
});

Deno.test("A standby whose put in the in-sync set failed (it may have been made) is taken out before a batch goes out without it", async () => {
  const calls: string[] = [];
  const registry = {
    add: (name: string) => {
      calls.push(`add ${name}`);
      // A put that timed out: etcd may have made it all the same.
      return Promise.reject(new Error("etcd kv/txn timed out"));
    },
    remove: (name: string) => {
      calls.push(`remove ${name}`);
      return Promise.resolve();
    },
  };
  const { replication } = leader(registry);
  // b follows from 1 with nothing to copy: live at once, put in the set.
  replication.onMessage("standby:b", encodeReplicaRequest({ kind: "follow", next: 1, epoch: "-" }));
  replication.onMessage(
    "standby:b",
    encodeReplicaRequest({ kind: "follow", next: 1, epoch: "00000000000000ab" }),
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(calls, ["add b"]);
  // b confirms nothing more: after the wait it is left behind, but taken out of the set first.
  await replication.copy([order(1)]);
  assert.deepEqual(calls, ["add b", "remove b"]);
  assert.equal(replication.standbys[0]!.state, "copying");
});

Deno.test("A batch waits for a live standby's confirmation, and goes out without taking it out of the set once it came", async () => {
  const calls: string[] = [];
  const registry = {
    add: (name: string) => (calls.push(`add ${name}`), Promise.resolve()),
    remove: (name: string) => (calls.push(`remove ${name}`), Promise.resolve()),
  };
  const { replication, sent } = leader(registry);
  replication.onMessage("standby:b", encodeReplicaRequest({ kind: "follow", next: 1, epoch: "-" }));
  replication.onMessage(
    "standby:b",
    encodeReplicaRequest({ kind: "follow", next: 1, epoch: "00000000000000ab" }),
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  const copied = replication.copy([order(1), order(2)]);
  assert.deepEqual(sent.map((s) => s.kind), ["copy"]);
  replication.onMessage("standby:b", encodeReplicaRequest({ kind: "ack", last: 2 }));
  await copied;
  assert.deepEqual(calls, ["add b"]);
  assert.equal(replication.standbys[0]!.acked, 2);
});

Deno.test("A standby that has been sent every order is waited for once and goes live, so that under a steady stream of batches it gets in sync", async () => {
  const calls: string[] = [];
  const registry = {
    add: (name: string) => (calls.push(`add ${name}`), Promise.resolve()),
    remove: (name: string) => (calls.push(`remove ${name}`), Promise.resolve()),
  };
  let published = 10;
  const replication = new Replication(
    {
      epoch: "00000000000000ab",
      send: () => {},
      held: (first, last) => Array.from({ length: last - first + 1 }, (_, i) => order(first + i)),
      published: () => published,
      maxBytes: () => 1 << 20,
      connected: () => true,
      leading: () => true,
      log: () => {},
    },
    registry,
    1000,
  );
  // b copies 1..10 in one chunk and tails; nothing waits for it yet.
  replication.onMessage("standby:b", encodeReplicaRequest({ kind: "follow", next: 1, epoch: "-" }));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(replication.standbys[0]!.state, "tailing");
  // The next batch waits for it: its confirmation would otherwise always come a batch late.
  let done = false;
  const copied = replication.copy([order(11)]).then(() => done = true);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(done, false, "the batch did not wait for the standby");
  replication.onMessage("standby:b", encodeReplicaRequest({ kind: "ack", last: 11 }));
  await copied;
  published = 11;
  replication.inHistory();
  assert.equal(replication.standbys[0]!.state, "live");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(calls, ["add b"]);
});
