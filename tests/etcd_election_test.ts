import assert from "node:assert/strict";
import { EtcdClient, EtcdError, GrpcCode } from "../roles/ha/etcd.ts";
import { Candidate, leader, LossReason, nextLeader } from "../roles/ha/election.ts";
import { within } from "./_helpers.ts";
import { freePort, HAVE_ETCD, T, withEtcd } from "../tasks/etcd.ts";

if (!HAVE_ETCD) {
  console.log("Skipping the etcd election tests: /usr/bin/etcd not found (sh tasks/setup.sh test)");
}

/** Whether `promise` is still pending after `ms`. */
async function pendingAfter(ms: number, promise: Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = new Promise<"pending">((resolve) => timer = setTimeout(resolve, ms, "pending"));
  const result = await Promise.race([promise.then(() => "settled", () => "settled"), tick]);
  clearTimeout(timer);
  return result === "pending";
}

Deno.test({
  name: "EtcdClient puts, ranges, transacts, deletes and keeps leases",
  ignore: !HAVE_ETCD,
  fn: () =>
    withEtcd(async ({ url }) => {
      const etcd = new EtcdClient(url);
      const put = await etcd.put("t/a", "1 ünïcode");
      assert.ok(put.revision > 1);
      await etcd.put("t/b", "2");
      await etcd.put("u", "outside");
      const all = await etcd.range("t/", { prefix: true });
      assert.deepEqual(all.kvs.map((kv) => [kv.key, kv.value]), [["t/a", "1 ünïcode"], [
        "t/b",
        "2",
      ]]);
      assert.equal(all.kvs[0]!.createRevision, put.revision);
      const newest = await etcd.range("t/", { prefix: true, sortByCreate: "DESCEND", limit: 1 });
      assert.deepEqual(newest.kvs.map((kv) => kv.key), ["t/b"]);
      assert.equal(newest.count, 2);

      const create = await etcd.txn(
        [{ key: "t/c", target: "CREATE", revision: 0 }],
        [{ put: { key: "t/c", value: "first" } }],
        [{ range: { key: "t/c" } }],
      );
      assert.equal(create.succeeded, true);
      const again = await etcd.txn(
        [{ key: "t/c", target: "CREATE", revision: 0 }],
        [{ put: { key: "t/c", value: "second" } }],
        [{ range: { key: "t/c" } }],
      );
      assert.equal(again.succeeded, false);
      const seen = again.responses[0];
      assert.ok(seen !== undefined && "range" in seen);
      assert.equal(seen.range.kvs[0]?.value, "first");
      assert.equal(seen.range.kvs[0]?.createRevision, create.revision);

      const lease = await etcd.leaseGrant(5);
      assert.equal(lease.ttlS, 5);
      await etcd.put("t/leased", "x", { lease: lease.id });
      assert.equal((await etcd.range("t/leased")).kvs[0]?.lease, lease.id);
      assert.equal(await etcd.leaseKeepAlive(lease.id), 5);
      await etcd.leaseRevoke(lease.id);
      assert.equal((await etcd.range("t/leased")).kvs.length, 0, "revoking deletes its keys");
      await assert.rejects(etcd.leaseKeepAlive(lease.id), (error: unknown) => {
        assert.ok(error instanceof EtcdError);
        assert.equal(error.code, GrpcCode.NOT_FOUND);
        return true;
      });

      const deleted = await etcd.deleteRange("t/", { prefix: true });
      assert.equal(deleted.deleted, 3);
      assert.equal((await etcd.range("u")).kvs[0]?.value, "outside");
    }),
});

Deno.test({
  name: "EtcdClient tries the next endpoint and names endpoint, call and etcd's message",
  ignore: !HAVE_ETCD,
  fn: () =>
    withEtcd(async ({ url }) => {
      const dead = `http://127.0.0.1:${freePort()}`;
      const etcd = new EtcdClient(`${dead},${url}`, { timeoutMs: 500 });
      await etcd.put("k", "v");
      assert.equal((await etcd.range("k")).kvs[0]?.value, "v");

      const unreachable = new EtcdClient([dead], { timeoutMs: 500 });
      await assert.rejects(unreachable.range("k"), (error: unknown) => {
        assert.ok(error instanceof EtcdError);
        assert.equal(error.unreachable, true);
        assert.equal(error.call, "kv/range");
        assert.match(error.message, new RegExp(`kv/range: ${dead}: `));
        return true;
      });

      await assert.rejects(etcd.leaseRevoke("12345"), (error: unknown) => {
        assert.ok(error instanceof EtcdError);
        assert.equal(error.code, GrpcCode.NOT_FOUND);
        assert.equal(error.endpoint, url);
        assert.match(error.message, /lease\/revoke/);
        assert.match(error.message, /requested lease not found/);
        assert.ok(error.message.includes(url));
        return true;
      });
      assert.throws(() => new EtcdClient(""), TypeError);
      assert.throws(() => new EtcdClient("ftp://x"), TypeError);
    }),
});

Deno.test({
  name: "Candidate.campaign() elects one; resign() hands over with a higher epoch",
  ignore: !HAVE_ETCD,
  fn: () =>
    withEtcd(async ({ url }) => {
      const etcd = new EtcdClient(url, { timeoutMs: 300 });
      const prefix = "g/sequencer";
      const a = new Candidate(etcd, prefix, "a", { value: "tcp://a" });
      const b = new Candidate(etcd, prefix, "b", { value: "tcp://b" });
      try {
        const won = await within(T, "a to lead", a.campaign());
        assert.equal(a.leading, true);
        assert.equal(a.epoch, won.epoch);
        const standby = b.campaign();
        assert.equal(await pendingAfter(800, standby), true, "b waits while a leads");
        const now = await leader(etcd, prefix);
        assert.deepEqual([now?.id, now?.value, now?.epoch], ["a", "tcp://a", won.epoch]);

        const change = nextLeader(etcd, prefix, won.epoch, { timeoutMs: T });
        await a.resign();
        assert.equal((await within(T, "a's loss", a.lost)).reason, LossReason.RESIGNED);
        assert.equal(a.leading, false);
        const next = await within(T, "b to lead after a resigned", standby);
        assert.ok(next.epoch > won.epoch, `epoch ${next.epoch} > ${won.epoch}`);
        assert.equal(b.leading, true);
        const seen = await change;
        assert.deepEqual([seen?.id, seen?.epoch], ["b", next.epoch]);
      } finally {
        await a.close();
        await b.close();
      }
      assert.equal(await leader(etcd, prefix), undefined, "close() revoked b's lease");
    }),
});

Deno.test({
  name: "Candidate: a revoked lease deposes the leader and the standby takes over",
  ignore: !HAVE_ETCD,
  fn: () =>
    withEtcd(async ({ url }) => {
      const etcd = new EtcdClient(url, { timeoutMs: 300 });
      const a = new Candidate(etcd, "g/broker", "a");
      const b = new Candidate(etcd, "g/broker", "b");
      try {
        const won = await within(T, "a to lead", a.campaign());
        const standby = b.campaign();
        assert.equal(await pendingAfter(300, standby), true, "b waits while a leads");
        // As if a's process died and an operator revoked its lease.
        await new EtcdClient(url).leaseRevoke(won.lease);
        const next = await within(T, "b to lead after a's lease was revoked", standby);
        assert.ok(next.epoch > won.epoch, `epoch ${next.epoch} > ${won.epoch}`);
        const loss = await within(T, "a's loss", a.lost);
        assert.equal(loss.reason, LossReason.EXPIRED, loss.message);
        assert.match(loss.message, /lease .* is gone/);
        assert.equal(a.leading, false);
      } finally {
        await a.close();
        await b.close();
      }
    }),
});

Deno.test({
  name: "Candidate deposes itself before its lease can expire when etcd stops answering",
  ignore: !HAVE_ETCD,
  fn: () =>
    withEtcd(async ({ url, child }) => {
      const ttlMs = 2000;
      const intervalMs = ttlMs / 3;
      const etcd = new EtcdClient(url, { timeoutMs: 300 });
      const a = new Candidate(etcd, "g/sequencer", "a", { leaseTtlS: ttlMs / 1000 });
      try {
        await within(T, "a to lead", a.campaign());
        // Let a few keepalives pass, so that the renewals are what keeps it.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal(a.leading, true);
        const renewedBefore = a.renewedAt;
        assert.ok(performance.now() - renewedBefore < intervalMs + 300, "a keeps renewing");
        const stoppedAt = performance.now();
        child.kill("SIGSTOP");
        const loss = await within(3 * ttlMs, "a to declare itself lost", a.lost);
        assert.equal(loss.reason, LossReason.UNRENEWED, loss.message);
        assert.match(loss.message, /no renewal of lease/);
        assert.equal(a.leading, false);
        // etcd's lease runs from when it received the last renewal, after it was sent.
        const sinceRenewal = loss.at - a.renewedAt;
        assert.ok(
          sinceRenewal >= ttlMs - intervalMs - 5,
          `not deposed early: ${sinceRenewal.toFixed(0)} ms`,
        );
        assert.ok(
          sinceRenewal < ttlMs - 400,
          `deposed ${sinceRenewal.toFixed(0)} ms after the last renewal, TTL ${ttlMs} ms`,
        );
        assert.ok(loss.at - stoppedAt < ttlMs - 400, "deposed well within the TTL of the stop");
      } finally {
        child.kill("SIGCONT");
        await a.close();
      }
    }),
});
