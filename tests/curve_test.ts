import assert from "node:assert/strict";
import { Broker, Member, Sequencer } from "../roles/mod.ts";
import { Context, curveKeyPair } from "../ffi/mod.ts";
import { curveClient } from "../roles/curve/options.ts";
import { freeBasePort } from "../tasks/_processes.ts";
import { runScenario } from "../tasks/scenario.ts";
import { DENO, within } from "./_helpers.ts";

const T = 20_000;

Deno.test("CURVE mode: only allowed keys join; others can neither read nor inject", async () => {
  const brokerKeys = curveKeyPair();
  const [aKeys, bKeys, sequencerKeys, intruderKeys] = [
    curveKeyPair(),
    curveKeyPair(),
    curveKeyPair(),
    curveKeyPair(),
  ];
  const basePort = freeBasePort();
  const refusals: string[] = [];
  const broker = new Broker({
    expect: 3,
    basePort,
    curve: {
      keys: brokerKeys,
      allowed: new Map([
        [aKeys.publicKey, "a"],
        [bKeys.publicKey, "b"],
        [sequencerKeys.publicKey, "sequencer"],
      ]),
    },
    log: (line) => {
      if (line.startsWith("Refused")) refusals.push(line);
    },
  });
  const client = (keys: typeof aKeys) => ({ keys, serverKey: brokerKeys.publicKey });
  const [sequencer, a, b] = await within(
    T,
    "the allowed participants to join",
    Promise.all([
      Sequencer.join({ basePort, curve: client(sequencerKeys) }),
      Member.join({ id: "a", basePort, curve: client(aKeys) }),
      Member.join({ id: "b", basePort, curve: client(bKeys) }),
    ]),
  );
  // Intruders: one with a key not on the list, one without CURVE at all.
  using intruderCtx = new Context();
  const asIntruder = curveClient(client(intruderKeys));
  const listeners = [true, false].map((withKey) => {
    const sub = intruderCtx.socket("SUB");
    if (withKey) asIntruder(sub);
    sub.setOption("SUBSCRIBE", "");
    sub.connect(`tcp://127.0.0.1:${basePort + 1}`);
    return sub;
  });
  const injectors = [true, false].map((withKey) => {
    const pub = intruderCtx.socket("PUB");
    if (withKey) asIntruder(pub);
    pub.connect(`tcp://127.0.0.1:${basePort}`);
    return pub;
  });
  const refused = await within(
    T,
    "the broker to refuse the intruder's key",
    (async () => {
      while (refusals.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      return refusals;
    })(),
  );
  assert.match(refused[0]!, /is not allowed/);
  for (const pub of injectors) {
    for (let i = 0; i < 20; i++) await pub.send(["mallory", "", "mallory###injected"]);
  }
  for (let i = 0; i < 10; i++) {
    await a.multicast(`a###${i}`);
    await b.multicast(`b###${i}`);
  }
  for (const member of [a, b]) {
    const seen: string[] = [];
    for await (const delivery of member.delivered()) {
      seen.push(new TextDecoder().decode(delivery.payload));
      if (seen.length === 20) break;
    }
    assert.equal(seen.filter((p) => p.startsWith("mallory")).length, 0);
  }
  // Nothing reached the listeners, though the bus carried 40 messages.
  for (const sub of listeners) assert.equal(sub.tryReceive(), null);
  await assert.rejects(
    Member.join({ id: "c", basePort, curve: client(intruderKeys), joinTimeoutMs: 1000 }),
    /Timed out/,
  );
  assert.ok(broker.refusedHandshakes >= 1);
  await a.close();
  await b.close();
  await sequencer.close();
  await broker.close();
});

Deno.test("deno task keys makes the files the CURVE flags read, and a scenario runs encrypted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zg-curve-" });
  try {
    const keys = await new Deno.Command(DENO, {
      args: [
        "task",
        "--quiet",
        "keys",
        "--out",
        dir,
        "broker",
        "sequencer",
        "c1",
        "c2",
        "c3",
        "c4",
      ],
      cwd: new URL("../", import.meta.url),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(keys.code, 0, new TextDecoder().decode(keys.stderr));
    const allowed = await Deno.readTextFile(`${dir}/allowed.txt`);
    assert.match(allowed, /^sequencer \S{40}$/m);
    assert.match(allowed, /^c1 \S{40}$/m);
    assert.doesNotMatch(allowed, /^broker /m);
    const report = await runScenario({
      scenario: "scenarios/seed",
      out: `${dir}/out`,
      timeScale: 0.05,
      brokerFlags: ["--curve-key", `${dir}/broker.key`, "--curve-allow", `${dir}/allowed.txt`],
      sequencerFlags: [
        "--curve-key",
        `${dir}/sequencer.key`,
        "--curve-server",
        `${dir}/broker.pub`,
      ],
      clientFlags: ["--curve-key", `${dir}/{id}.key`, "--curve-server", `${dir}/broker.pub`],
      timeoutSeconds: 60,
    });
    assert.deepEqual(report.violations, []);
    assert.ok(report.clients.every((c) => c.delivered === 26));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
