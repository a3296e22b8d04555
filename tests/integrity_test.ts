/**
 * The group's promise against hostile peers and unlucky operators, with the
 * roles as separate processes (CURVE identity in one process, over tcp):
 * an order numbered 2^53 − 1, forged orders and ids under CURVE, a full disk
 * under `--log`, a log that lost its end, a sequencer that numbers from 1
 * again, and one client id started twice.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Broker, type Delivery, Member, Sequencer } from "../roles/mod.ts";
import { Context, curveKeyPair, type Socket } from "../ffi/mod.ts";
import { curveClient } from "../roles/curve/options.ts";
import { freeBasePort, type RoleProcess, spawnRole, stop } from "../tasks/_processes.ts";
import { countLines, readLines } from "../tasks/scenario.ts";
import { inTempDir, within } from "./_helpers.ts";

/** How long any one wait may take. */
const T = 30_000;
const decoder = new TextDecoder();

/** Waits until `condition()` holds (other processes are seen only in their output and files). */
async function waitUntil(condition: () => boolean, what: () => string, ms = T): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A group of role processes on one base port, with scripts and result files in `dir`. */
class ProcessGroup {
  readonly port = freeBasePort();
  readonly roles = new Map<string, RoleProcess>();
  readonly exits = new Map<string, Deno.CommandStatus>();

  constructor(readonly dir: string) {
    Deno.mkdirSync(join(dir, "out"), { recursive: true });
  }

  /** Starts a role (named "broker", "sequencer" or a client id) with these flags. */
  start(name: string, role: "broker" | "sequencer" | "client", flags: string[]): RoleProcess {
    const process = spawnRole(name, role, [...flags, "--base-port", String(this.port)]);
    this.roles.set(name, process);
    void process.status.then((status) => {
      if (this.roles.get(name) === process) this.exits.set(name, status);
    });
    this.exits.delete(name);
    return process;
  }

  /** Starts client `id` with a script of `count` multicasts `<id>###m<i>` (and `extra` lines). */
  client(id: string, count: number, flags: string[] = [], extra: string[] = []): RoleProcess {
    const script = join(this.dir, `${id}.txt`);
    const lines = Array.from({ length: count }, (_, i) => `Multicast,${id},m${i}`);
    Deno.writeTextFileSync(script, [...lines, ...extra].join("\n") + "\n");
    return this.start(id, "client", [
      ...["--id", id, "--script", script, "--out", join(this.dir, "out"), "--idle-exit", "2"],
      ...flags,
    ]);
  }

  /** The `_tom` lines of client `id`. */
  tom(id: string): string[] {
    return readLines(join(this.dir, "out", `test_result_${id}_tom.txt`));
  }

  /** How many multicasts client `id` has delivered. */
  delivered(id: string): number {
    return countLines(join(this.dir, "out", `test_result_${id}_tom.txt`));
  }

  /** Resolves with the exit status of `name` (failing after `ms`). */
  exited(name: string, ms = T): Promise<Deno.CommandStatus> {
    return within(
      ms,
      `${name} to exit (it delivered ${this.delivered(name)})`,
      this.roles.get(name)!.status,
    );
  }

  /** SIGKILLs a role and waits for it. */
  async kill(name: string): Promise<void> {
    const process = this.roles.get(name)!;
    process.child.kill("SIGKILL");
    await process.status;
  }

  /** Stops whatever still runs. */
  async close(): Promise<void> {
    for (const process of this.roles.values()) await stop(process);
  }
}

/** The last counters a role logged (on SIGTERM, or at exit). */
function countersOf(process: RoleProcess): Record<string, number> {
  const lines = [...process.stderr().matchAll(/\bcounters (\{.*\})$/gm)];
  assert.ok(lines.length > 0, `${process.name} logged no counters:\n${process.stderr()}`);
  return JSON.parse(lines.at(-1)![1]!);
}

/** Asserts that every client delivered the same sequence: each of `sent` once. */
function assertAgreed(group: ProcessGroup, ids: string[], sent: string[]): void {
  const first = group.tom(ids[0]!);
  assert.deepEqual([...first].sort(), [...sent].sort(), `${ids[0]}: not each multicast once`);
  for (const id of ids.slice(1)) assert.deepEqual(group.tom(id), first, `${id} disagrees`);
}

/** The payloads `<id>###m<i>` a client with {@link ProcessGroup.client} sends. */
function payloads(id: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${id}###m${i}`);
}

/** A rogue XPUB on the multicast-in port, once the broker subscribed to it. */
async function roguePublisher(
  ctx: Context,
  port: number,
  configure: (socket: Socket) => void = () => {},
): Promise<Socket> {
  const pub = ctx.socket("XPUB");
  configure(pub);
  pub.connect(`tcp://127.0.0.1:${port}`);
  await within(T, "the broker's subscription at the rogue", pub.receive());
  return pub;
}

// --- 1. Bounded work for any number -------------------------------------------------------------

Deno.test("An order numbered 2^53 - 1 from a rogue publisher is refused by the broker and freezes nobody; every member delivers everything", async () => {
  await inTempDir("integrity-huge-", async (dir) => {
    const group = new ProcessGroup(dir);
    using ctx = new Context();
    try {
      group.start("broker", "broker", ["--expect", "3"]);
      group.start("sequencer", "sequencer", []);
      // c1 multicasts 200, pauses, then 200 more; c2 200.
      const pause = ["sleep,1", ...payloads("c1", 200).map((_, i) => `Multicast,c1,n${i}`)];
      group.client("c1", 200, [], pause);
      group.client("c2", 200);
      await waitUntil(() => group.delivered("c2") >= 300, () => `c2 to deliver 300`);
      const rogue = await roguePublisher(ctx, group.port);
      await rogue.send(["sequencer", "9007199254740991", "rogue###huge"]);
      await rogue.send(["sequencer", String(Number.MAX_SAFE_INTEGER - 1), "rogue###huge2"]);
      for (const id of ["c1", "c2"]) {
        const status = await group.exited(id);
        assert.equal(status.code, 0, group.roles.get(id)!.stderr());
      }
      const sent = [
        ...payloads("c1", 200),
        ...payloads("c1", 200).map((_, i) => `c1###n${i}`),
        ...payloads("c2", 200),
      ];
      assertAgreed(group, ["c1", "c2"], sent);
      // The roles still answer SIGTERM at once.
      for (const name of ["sequencer", "broker"]) {
        assert.equal((await stop(group.roles.get(name)!, 3000)).code, 0, `${name} on SIGTERM`);
      }
      const counters = countersOf(group.roles.get("broker")!);
      assert.equal(counters.refused, 2, "the broker's refusals");
      assert.equal(counters.highestOrder, 600);
      console.log(`huge order numbers: refused by the broker; 600 multicasts delivered by both`);
    } finally {
      await group.close();
    }
  });
});

// --- 2, 3. Identity in CURVE mode ---------------------------------------------------------------

Deno.test("CURVE mode: a flood of connections that never finish a handshake does not stop direct messages", async () => {
  const keys = {
    broker: curveKeyPair(),
    sequencer: curveKeyPair(),
    a: curveKeyPair(),
    b: curveKeyPair(),
  };
  const allowed = new Map(
    (["sequencer", "a", "b"] as const).map((id) => [keys[id].publicKey, id]),
  );
  const basePort = freeBasePort();
  const broker = new Broker({ expect: 3, basePort, curve: { keys: keys.broker, allowed } });
  const as = (id: keyof typeof keys) => ({ keys: keys[id], serverKey: keys.broker.publicKey });
  const [sequencer, a, b] = await within(
    T,
    "the group",
    Promise.all([
      Sequencer.join({ basePort, curve: as("sequencer") }),
      Member.join({ id: "a", basePort, curve: as("a") }),
      Member.join({ id: "b", basePort, curve: as("b") }),
    ]),
  );
  try {
    let flooding = true;
    const flood = (async () => {
      let count = 0;
      while (flooding) {
        const connection = await Deno.connect({ hostname: "127.0.0.1", port: basePort + 3 });
        connection.close();
        count++;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return count;
    })();
    const received: string[] = [];
    const reading = (async () => {
      for await (const message of b.direct()) {
        received.push(decoder.decode(message.payload));
        if (received.length === 5) return;
      }
    })();
    for (let i = 0; i < 5; i++) {
      await a.send("b", `a###direct${i}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await within(T, `b to receive 5 direct messages (it has ${received.length})`, reading);
    flooding = false;
    const connections = await flood;
    assert.deepEqual(received, [0, 1, 2, 3, 4].map((i) => `a###direct${i}`));
    console.log(`CURVE: ${connections} unfinished connections; 5 of 5 direct messages through`);
  } finally {
    await a.close();
    await b.close();
    await sequencer.close();
    await broker.close();
  }
});

Deno.test("CURVE mode: an allowed key can neither publish orders, nor multicast as another id, nor send direct messages as one, nor fill the barrier", async () => {
  const keys = {
    broker: curveKeyPair(),
    sequencer: curveKeyPair(),
    a: curveKeyPair(),
    b: curveKeyPair(),
    mallory: curveKeyPair(),
  };
  const allowed = new Map(
    (["sequencer", "a", "b", "mallory"] as const).map((id) => [keys[id].publicKey, id]),
  );
  const basePort = freeBasePort();
  const logs: string[] = [];
  const broker = new Broker({
    expect: 3,
    basePort,
    curve: { keys: keys.broker, allowed },
    log: (line) => logs.push(line),
    unknownRecipientGraceMs: 300,
  });
  const as = (id: keyof typeof keys) => ({ keys: keys[id], serverKey: keys.broker.publicKey });
  using ctx = new Context();
  const mallory = curveClient(as("mallory"));
  const socket = (type: "REQ" | "XPUB" | "DEALER", port: number, routingId?: string) => {
    const s = ctx.socket(type);
    mallory(s);
    if (routingId !== undefined) s.setOption("ROUTING_ID", routingId);
    s.connect(`tcp://127.0.0.1:${basePort + port}`);
    return s;
  };
  // Mallory syncs three times before anyone else, once claiming a's id.
  const replies: string[] = [];
  for (const claim of ["", "", "a"]) {
    const req = socket("REQ", 2);
    await req.send(claim);
    replies.push(decoder.decode((await within(T, "a barrier reply", req.receive()))[0]));
    req.close();
  }
  assert.deepEqual(replies.slice(0, 2), ["", ""]);
  assert.match(replies[2]!, /^refused: this key is bound to the id "mallory", not "a"$/);
  const joining = Promise.all([
    Member.join({ id: "a", basePort, curve: as("a") }),
    Member.join({ id: "b", basePort, curve: as("b") }),
  ]);
  // Mallory, a and b make three, but start waits for the sequencer.
  await waitUntil(
    () => logs.some((line) => line.includes("(3/3, waiting for the sequencer)")),
    () => logs.join("\n"),
  );
  const early = await Promise.race([
    broker.started.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(resolve, 500, false)),
  ]);
  assert.equal(early, false, "start went out before the sequencer joined");
  const sequencer = await within(
    T,
    "the sequencer",
    Sequencer.join({ basePort, curve: as("sequencer") }),
  );
  const [a, b] = await within(T, "a and b to join", joining);
  try {
    await within(T, "the start", broker.started);
    const pub = await roguePublisher(ctx, basePort, mallory);
    await pub.send(["sequencer", "1", "mallory###forged-order"]);
    await pub.send(["sequencer:a@0123456789ab.1", "2", "mallory###forged-order-with-origin"]);
    await pub.send(["a@0123456789ab.1", "", "mallory###as-a"]);
    await pub.send(["start"]);
    // A routing id that is free, and one that b holds (the router ignores that connection).
    const asZed = socket("DEALER", 3, "zed");
    await asZed.send(["", "a", "mallory###direct-as-zed"]);
    const asB = socket("DEALER", 3, "b");
    await asB.send(["", "a", "mallory###direct-as-b"]);
    // 1 at the barrier, 4 on the bus, 1 direct.
    await waitUntil(
      () => broker.counters.refused >= 6,
      () => `6 refusals: ${JSON.stringify(broker.counters)} ${logs.join("\n")}`,
    );
    for (let i = 0; i < 10; i++) {
      await a.multicast(`a###${i}`);
      await b.multicast(`b###${i}`);
    }
    const orders = await Promise.all([a, b].map(async (member) => {
      const seen: Delivery[] = [];
      for await (const delivery of member.delivered()) {
        seen.push(delivery);
        if (seen.length === 20) break;
      }
      return seen.map((d) => `${d.seq} ${decoder.decode(d.payload)}`);
    }));
    assert.deepEqual(orders[0], orders[1]);
    assert.ok(orders[0]!.every((line) => !line.includes("mallory")), orders[0]!.join("\n"));
    assert.equal(a.counters.directReceived, 0, "a received mallory's direct message");
    // A routing id held by mallory's connection: a's direct message to it
    // is not forwarded (the holder never shows that its key is "ghost").
    const asGhost = socket("DEALER", 3, "ghost");
    await asGhost.send(["", "broker", "HERE"]);
    await a.send("ghost", "a###for-ghost");
    await waitUntil(
      () => logs.some((line) => /unknown recipient "ghost"/.test(line)),
      () => `the message to ghost to be dropped: ${logs.join("\n")}`,
    );
    const atGhost: string[] = [];
    for (let frames = asGhost.tryReceive(); frames !== null; frames = asGhost.tryReceive()) {
      atGhost.push(frames.map((f) => decoder.decode(f)).join("|"));
    }
    assert.ok(atGhost.every((line) => !line.includes("for-ghost")), atGhost.join("\n"));
    const refusals = logs.filter((line) => line.startsWith("Refused"));
    for (
      const pattern of [
        /an order from "mallory": only the sequencer's key may publish orders/,
        /"mallory" sent a multicast as "a"/,
        /a bus message of 1 frames from "mallory"/,
        /a direct message from "mallory" sent with the routing id "zed"/,
      ]
    ) assert.ok(refusals.some((line) => pattern.test(line)), `${pattern}:\n${refusals.join("\n")}`);
    console.log(`CURVE identity: ${broker.counters.refused} of mallory's messages refused`);
  } finally {
    await a.close();
    await b.close();
    await sequencer.close();
    await broker.close();
  }
});

// --- 4. A full disk under --log -----------------------------------------------------------------

/** Mounts a tmpfs of `size` at a new folder in `dir`; null (with the reason) where we cannot. */
async function smallDisk(dir: string, size: string): Promise<string | null> {
  const at = join(dir, "disk");
  await Deno.mkdir(at);
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", at],
    stdout: "null",
    stderr: "piped",
  }).output().catch((error: Error) => ({ success: false, stderr: encoder.encode(error.message) }));
  if (!mount.success) {
    console.log(`skipped: cannot mount a tmpfs (${decoder.decode(mount.stderr).trim()})`);
    return null;
  }
  return at;
}

const encoder = new TextEncoder();

async function unmount(at: string): Promise<void> {
  await new Deno.Command("umount", { args: [at] }).output();
}

Deno.test("A full disk under --log stops the sequencer with a clear error and exit 1, numbering nothing more; freed and started again, every member agrees with the log", async () => {
  await inTempDir("integrity-disk-", async (dir) => {
    const disk = await smallDisk(dir, "512k");
    if (disk === null) return;
    const group = new ProcessGroup(dir);
    const log = join(disk, "orders.log");
    const filler = join(disk, "filler");
    try {
      // What is left for the log (32 KiB) holds a few hundred orders; all
      // 4,500 take about 230 KiB.
      Deno.writeFileSync(filler, new Uint8Array(480 * 1024));
      group.start("broker", "broker", ["--expect", "4"]);
      group.start("sequencer", "sequencer", ["--log", log]);
      const ids = ["c1", "c2", "c3"];
      for (const id of ids) group.client(id, 1500, ["--idle-exit", "8"]);
      const full = await group.exited("sequencer");
      assert.equal(full.code, 1, "the sequencer's exit code on a full disk");
      const stderr = group.roles.get("sequencer")!.stderr();
      assert.match(stderr, /Cannot write the order log .*orders\.log: .*No space left/i);
      assert.match(stderr, /Stopping without numbering anything more/);
      // Started again on the still-full disk: it stops again, as clearly.
      group.start("sequencer", "sequencer", ["--log", log]);
      assert.equal((await group.exited("sequencer")).code, 1, "on the still-full disk");
      assert.match(group.roles.get("sequencer")!.stderr(), /No space left/i);
      Deno.removeSync(filler);
      group.start("sequencer", "sequencer", ["--log", log]);
      for (const id of ids) {
        const status = await group.exited(id, 60_000).catch((error) => {
          console.log(group.roles.get(id)!.stderr().slice(-3000));
          console.log(group.roles.get("sequencer")!.stderr().slice(-3000));
          throw error;
        });
        assert.equal(status.code, 0, group.roles.get(id)!.stderr());
      }
      const sent = ids.flatMap((id) => payloads(id, 1500));
      assertAgreed(group, ids, sent);
      const logged = Deno.readTextFileSync(log).trimEnd().split("\n").map((line, i) => {
        const [seq, payload] = line.split(" ");
        assert.equal(seq, String(i + 1), `log line ${i + 1}`);
        return decoder.decode(Uint8Array.from(atob(payload!), (c) => c.charCodeAt(0)));
      });
      assert.deepEqual(logged, group.tom("c1"), "the log's order is not the delivered order");
      console.log(
        `full disk: the sequencer stopped twice with exit 1; then ${sent.length} delivered, as logged`,
      );
    } finally {
      await group.close();
      await unmount(disk);
    }
  });
});

// --- 5. Numbers are never given twice -----------------------------------------------------------

Deno.test("A sequencer started again with a log that lost its last 10 orders is refused: the broker has forwarded more; the members waiting on it go on", async () => {
  await inTempDir("integrity-truncated-", async (dir) => {
    const group = new ProcessGroup(dir);
    const log = join(dir, "orders.log");
    try {
      group.start("broker", "broker", ["--expect", "3"]);
      group.start("sequencer", "sequencer", ["--log", log]);
      // c1 multicasts 100, then (once the sequencer is gone) 20 more, which
      // wait for a sequencer: its requests for them are pending.
      const later = Array.from({ length: 20 }, (_, i) => `Multicast,c1,later${i}`);
      group.client("c1", 100, ["--idle-exit", "20", "--verbose"], ["sleep,2", ...later]);
      group.client("c2", 80, ["--idle-exit", "20"]);
      await waitUntil(() => group.delivered("c1") >= 180, () => `c1 to deliver 180`);
      await group.kill("sequencer");
      const lines = Deno.readTextFileSync(log).trimEnd().split("\n");
      assert.equal(lines.length, 180);
      Deno.writeTextFileSync(log, lines.slice(0, 170).join("\n") + "\n");
      await waitUntil(
        () => /asking the sequencer for orders 181\.\.\*/.test(group.roles.get("c1")!.stderr()),
        () => "c1 to ask for what its later multicasts wait on",
      );
      group.start("sequencer", "sequencer", ["--log", log]);
      const status = await group.exited("sequencer");
      assert.equal(status.code, 1);
      assert.match(
        group.roles.get("sequencer")!.stderr(),
        /The broker has already forwarded order 180, but its log .*orders\.log ends at order 170: numbering from 171 would give numbers that members already delivered/,
      );
      // The refused sequencer answered nobody: both clients still run.
      assert.ok(!group.exits.has("c1") && !group.exits.has("c2"), group.roles.get("c1")!.stderr());
      // With the whole log it goes on, and c1's later multicasts are ordered.
      Deno.writeTextFileSync(log, lines.join("\n") + "\n");
      group.start("sequencer", "sequencer", ["--log", log]);
      for (const id of ["c1", "c2"]) {
        assert.equal((await group.exited(id)).code, 0, group.roles.get(id)!.stderr());
      }
      assert.equal(group.tom("c1").length, 200);
      assert.deepEqual(group.tom("c2"), group.tom("c1"));
      console.log(
        "truncated log: refused with exit 1, members unharmed; the whole log continues to 200",
      );
    } finally {
      await group.close();
    }
  });
});

Deno.test("A sequencer without orders is refused behind a broker started again with --resume: that broker cannot say what was numbered", async () => {
  await inTempDir("integrity-resume-", async (dir) => {
    const group = new ProcessGroup(dir);
    try {
      group.start("broker", "broker", ["--expect", "2"]);
      group.start("sequencer", "sequencer", []);
      group.client("c1", 50, ["--idle-exit", "20"], ["sleep,30"]);
      await waitUntil(() => group.delivered("c1") >= 50, () => "c1 to deliver 50");
      await group.kill("sequencer");
      await group.kill("broker");
      group.start("broker", "broker", ["--expect", "2", "--resume"]);
      group.start("sequencer", "sequencer", []);
      assert.equal((await group.exited("sequencer")).code, 1);
      assert.match(
        group.roles.get("sequencer")!.stderr(),
        /has no orders to continue from \(the broker was started again with --resume: it cannot say\)/,
      );
      console.log("resumed broker: a sequencer without orders refused with exit 1");
    } finally {
      await group.close();
    }
  });
});

Deno.test("Members refuse a sequencer that numbers from 1 again behind a restarted broker: they stop with exit 1, saying why", async () => {
  await inTempDir("integrity-renumber-", async (dir) => {
    const group = new ProcessGroup(dir);
    try {
      group.start("broker", "broker", ["--expect", "3"]);
      group.start("sequencer", "sequencer", []);
      const later = Array.from({ length: 30 }, (_, i) => `Multicast,{id},later${i}`);
      for (const id of ["c1", "c2"]) {
        group.client(id, 60, ["--idle-exit", "30"], [
          "sleep,3",
          ...later.map((line) => line.replace("{id}", id)),
        ]);
      }
      await waitUntil(
        () => group.delivered("c1") >= 120 && group.delivered("c2") >= 120,
        () => `both to deliver 120`,
      );
      await group.kill("sequencer");
      await group.kill("broker");
      // A new broker whose barrier the new sequencer alone completes: it
      // numbers from 1, and the clients' later multicasts get numbers that
      // they already delivered.
      group.start("broker", "broker", ["--expect", "1"]);
      group.start("sequencer", "sequencer", []);
      for (const id of ["c1", "c2"]) {
        const status = await group.exited(id);
        assert.equal(status.code, 1, `${id}: ${group.roles.get(id)!.stderr()}`);
        assert.match(
          group.roles.get(id)!.stderr(),
          /says its highest order is \d+, but this member had delivered up to 120 when it asked: its numbering went back/,
        );
        assert.equal(group.tom(id).length, 120, `${id} delivered a renumbered order`);
      }
      console.log("renumbered sequencer: both clients refused it with exit 1 after 120");
    } finally {
      await group.close();
    }
  });
});

// --- 6. One id, one live member -----------------------------------------------------------------

Deno.test("The same client id started twice: the second is refused with exit 1 and a clear error; the first and the group go on", async () => {
  await inTempDir("integrity-twice-", async (dir) => {
    const group = new ProcessGroup(dir);
    try {
      group.start("broker", "broker", ["--expect", "3", "--verbose"]);
      group.client("c1", 50);
      await waitUntil(
        () => group.roles.get("broker")!.stderr().includes("(1/3)"),
        () => `c1 to sync:\n${group.roles.get("broker")!.stderr()}`,
      );
      // The twin has its own script file and result folder.
      const twinDir = join(dir, "twin");
      Deno.mkdirSync(twinDir);
      Deno.writeTextFileSync(join(twinDir, "c1.txt"), "Multicast,c1,twin\n");
      const twin = group.start("twin", "client", [
        ...["--id", "c1", "--script", join(twinDir, "c1.txt"), "--out", twinDir],
      ]);
      const status = await within(T, "the twin to exit", twin.status);
      assert.equal(status.code, 1, twin.stderr());
      assert.match(
        twin.stderr(),
        /c1: the broker at tcp:\/\/127\.0\.0\.1:\d+ refused to let it join: the id "c1" is already in the group/,
      );
      group.start("sequencer", "sequencer", []);
      group.client("c2", 50);
      for (const id of ["c1", "c2"]) {
        assert.equal((await group.exited(id)).code, 0, group.roles.get(id)!.stderr());
      }
      assertAgreed(group, ["c1", "c2"], [...payloads("c1", 50), ...payloads("c2", 50)]);
      console.log("an id twice: the second refused; 100 multicasts delivered by both");
    } finally {
      await group.close();
    }
  });
});

Deno.test("Two members with one id joining a running group at the same moment: one is refused", async () => {
  const basePort = freeBasePort();
  const broker = new Broker({ expect: 2, basePort });
  const [sequencer, first] = await within(
    T,
    "the group",
    Promise.all([Sequencer.join({ basePort }), Member.join({ id: "c0", basePort })]),
  );
  try {
    const twins = await Promise.allSettled([
      Member.join({ id: "c1", basePort }),
      Member.join({ id: "c1", basePort }),
    ]);
    const joined = twins.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
    const refused = twins.flatMap((r) => r.status === "rejected" ? [String(r.reason)] : []);
    for (const member of joined) await member.close();
    assert.equal(joined.length, 1, `both joined: ${refused.join("; ")}`);
    assert.match(refused[0]!, /the id "c1" is already in the group/);
  } finally {
    await first.close();
    await sequencer.close();
    await broker.close();
  }
});

Deno.test("Plain mode: a routing id that is the sequencer's behind a byte-order mark is not the sequencer", async () => {
  const basePort = freeBasePort();
  const broker = new Broker({ expect: 2, basePort });
  const [sequencer, member] = await within(
    T,
    "the group",
    Promise.all([Sequencer.join({ basePort }), Member.join({ id: "c1", basePort })]),
  );
  using ctx = new Context();
  try {
    const rogue = ctx.socket("DEALER");
    rogue.setOption(
      "ROUTING_ID",
      new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("sequencer")]),
    );
    rogue.connect(`tcp://127.0.0.1:${basePort + 3}`);
    await rogue.send(["", "c1", "ORDER 1 - rogue###forged"]);
    await member.multicast("c1###real");
    const [direct] = await within(
      T,
      "the rogue's message",
      (async () => {
        const got = [];
        for await (const message of member.direct()) {
          got.push(message);
          break;
        }
        return got;
      })(),
    );
    assert.equal(direct?.from, "\uFEFFsequencer");
    for await (const delivery of member.delivered()) {
      assert.equal(decoder.decode(delivery.payload), "c1###real");
      break;
    }
  } finally {
    await member.close();
    await sequencer.close();
    await broker.close();
  }
});
