/**
 * The in-sync set in a real etcd: who may take over, and that a deposed
 * leader can change nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { EtcdClient } from "../roles/ha/etcd.ts";
import { Candidate } from "../roles/ha/election.ts";
import { GroupKeys } from "../roles/ha/group_keys.ts";
import { EtcdInSync, takeOver } from "../roles/ha/in_sync.ts";
import { HAVE_ETCD, withEtcd } from "../tasks/etcd.ts";

if (!HAVE_ETCD) console.log("Skipping the in-sync tests: /usr/bin/etcd not found");

Deno.test({
  name:
    "takeOver() lets the first sequencer lead, then only one in the in-sync set, which it leaves alone; a deposed leader changes nothing",
  ignore: !HAVE_ETCD,
  fn: () =>
    withEtcd(async ({ url }) => {
      const etcd = new EtcdClient(url, { timeoutMs: 500 });
      const keys = new GroupKeys("g");
      const names = async () =>
        (await etcd.range(keys.inSyncPrefix, { prefix: true })).kvs.map((kv) =>
          kv.key.slice(keys.inSyncPrefix.length)
        ).sort();
      // The first sequencer of a group leads with nothing in the set.
      const a = new Candidate(etcd, keys.sequencers, "a", { leaseTtlS: 2 });
      const first = await a.campaign();
      const holderA = { etcd, keys, key: a.key, epoch: first.epoch };
      assert.equal(await takeOver({ ...holderA, name: "a" }), true);
      assert.deepEqual(await names(), ["a"]);
      // It puts its standbys in, and takes one out.
      const setA = new EtcdInSync(holderA);
      await setA.add("b");
      await setA.add("c");
      await setA.remove("c");
      assert.deepEqual(await names(), ["a", "b"]);
      await a.resign();
      // A deposed leader's changes are refused.
      await assert.rejects(setA.add("c"), /no longer leads/);
      assert.deepEqual(await names(), ["a", "b"]);
      // c is elected but not in the set: it may not lead.
      const c = new Candidate(etcd, keys.sequencers, "c", { leaseTtlS: 2 });
      const cLeads = await c.campaign();
      assert.equal(
        await takeOver({ etcd, keys, key: c.key, epoch: cLeads.epoch, name: "c" }),
        false,
      );
      await c.resign();
      // b is: it leads, alone in the set, with a higher epoch.
      const b = new Candidate(etcd, keys.sequencers, "b", { leaseTtlS: 2 });
      const bLeads = await b.campaign();
      assert.ok(bLeads.epoch > first.epoch);
      assert.equal(
        await takeOver({ etcd, keys, key: b.key, epoch: bLeads.epoch, name: "b" }),
        true,
      );
      assert.deepEqual(await names(), ["b"]);
      const led = (await etcd.range(keys.led)).kvs[0]?.value;
      assert.equal(led, String(bLeads.epoch));
      await b.close();
    }),
});
