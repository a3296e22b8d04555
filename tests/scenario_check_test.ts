import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseScript, type ScriptCommand } from "../roles/harness/script.ts";
import { loadScenario } from "../tasks/scenario.ts";
import {
  checkScenario,
  type ClientResults,
  expectedLine,
  liveMulticasts,
  scenarioExpectations,
} from "../tasks/scenario_check.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Three scripts as a scenario folder would hold them; c1 multicasts "command1" twice. */
const SCRIPTS = {
  c1: [
    "Multicast,c1,command1",
    "sleep,3",
    "c1,c2,psst",
    "Multicast,c1,command1",
    "Multicast,c1,back\\slash",
  ].join("\n"),
  c2: "sleep,1\nMulticast,c2,hello\nc2,c1,hi\nsleep,4",
  c3: "Multicast,c3,x\nc3,c2,from c3\nsleep,0.5",
};

/** The scenario's scripts, parsed as `loadScenario()` does. */
function scripts(): Map<string, ScriptCommand[]> {
  return new Map(
    Object.entries(SCRIPTS).map(([id, text]) => [id, parseScript(text, id, `${id}.txt`)]),
  );
}

/** An order the group could agree on, as `_tom` lines (the backslash escaped, as clients write it). */
const ORDER = ["c2###hello", "c1###command1", "c3###x", "c1###back\\\\slash", "c1###command1"];

/** Every client delivered ORDER and received its direct messages. */
function correctResults(): Map<string, ClientResults> {
  return new Map([
    ["c1", { tom: [...ORDER], uno: ["c2###hi"] }],
    ["c2", { tom: [...ORDER], uno: ["c3###from c3", "c1###psst"] }],
    ["c3", { tom: [...ORDER], uno: [] }],
  ]);
}

/** `correctResults()` with client `id`'s files replaced. */
function withResults(id: string, files: Partial<ClientResults>): Map<string, ClientResults> {
  const results = correctResults();
  results.set(id, { ...results.get(id)!, ...files });
  return results;
}

Deno.test("scenarioExpectations() lists every multicast and direct message as result lines, and the longest sleeps", () => {
  const expected = scenarioExpectations(scripts());
  assert.deepEqual(expected.multicasts, [
    "c1###command1",
    "c1###command1",
    "c1###back\\\\slash",
    "c2###hello",
    "c3###x",
  ]);
  assert.deepEqual([...expected.directsTo], [
    ["c1", ["c2###hi"]],
    ["c2", ["c1###psst", "c3###from c3"]],
    ["c3", []],
  ]);
  assert.equal(expected.sleepSeconds, 5);
  assert.equal(expectedLine("c1", "two\nlines"), "c1###two\\nlines");
});

Deno.test("scenarioExpectations() refuses a direct message to a client without a script", () => {
  const bad = scripts();
  bad.set("c3", parseScript("Multicast,c3,x\nc3,c9,lost", "c3", "c3.txt"));
  assert.throws(
    () => scenarioExpectations(bad, "scenarios/x"),
    {
      message: 'Scenario scenarios/x: c3.txt:2 sends to "c9", which has no script',
    },
  );
  assert.throws(() => checkScenario({ scripts: bad, results: new Map() }), /which has no script/);
});

Deno.test("checkScenario() accepts a run where every client delivered one order, each multicast once, and every direct message once", () => {
  const check = checkScenario({ scripts: scripts(), results: correctResults() });
  assert.deepEqual(check.violations, []);
  assert.deepEqual(check.order, ORDER);
  assert.equal(check.expected, 5);
  assert.deepEqual(check.clients, [
    { id: "c1", multicasts: 3, delivered: 5, directExpected: 1, directReceived: 1, killed: false },
    { id: "c2", multicasts: 1, delivered: 5, directExpected: 2, directReceived: 2, killed: false },
    { id: "c3", multicasts: 1, delivered: 5, directExpected: 0, directReceived: 0, killed: false },
  ]);
});

Deno.test("checkScenario() accepts the seed's scenario delivered in an order of its own", async () => {
  const seed = await loadScenario(`${ROOT}scenarios/seed`);
  const expected = scenarioExpectations(seed);
  // Interleave the clients' multicasts round robin: another order, the same multiset.
  const lists = [...seed.keys()].map((id) => expected.multicasts.filter((l) => l.startsWith(id)));
  const order: string[] = [];
  for (let i = 0; order.length < expected.multicasts.length; i++) {
    for (const list of lists) if (i < list.length) order.push(list[i]!);
  }
  const results = new Map(
    [...seed.keys()].map((id) => [id, { tom: order, uno: [...expected.directsTo.get(id)!] }]),
  );
  const check = checkScenario({ scripts: seed, results });
  assert.deepEqual(check.violations, []);
  assert.equal(check.expected, 26);
  assert.deepEqual(check.clients.map((c) => c.directExpected), [3, 2, 3, 6]);

  // The same run with c4's first two deliveries swapped breaks agreement and nothing else.
  const swapped = [order[1]!, order[0]!, ...order.slice(2)];
  results.set("c4", { ...results.get("c4")!, tom: swapped });
  assert.deepEqual(checkScenario({ scripts: seed, results }).violations, [
    `agreement: c4 differs from c1 at delivery 1: ${JSON.stringify(order[1])} vs ${
      JSON.stringify(order[0])
    }`,
  ]);
});

Deno.test("checkScenario() reports a client whose order differs (agreement)", () => {
  const other = ["c2###hello", "c3###x", "c1###command1", "c1###back\\\\slash", "c1###command1"];
  const check = checkScenario({ scripts: scripts(), results: withResults("c3", { tom: other }) });
  assert.deepEqual(check.violations, [
    'agreement: c3 differs from c1 at delivery 2: "c3###x" vs "c1###command1"',
  ]);
});

Deno.test("checkScenario() reports a client that delivered less (agreement and integrity)", () => {
  const check = checkScenario({
    scripts: scripts(),
    results: withResults("c2", { tom: ORDER.slice(0, 4) }),
  });
  assert.deepEqual(check.violations, [
    'agreement: c2 differs from c1 at delivery 5: undefined vs "c1###command1"',
    'integrity: c2 delivered "c1###command1" 1 times instead of 2',
  ]);
  assert.equal(check.clients[1]!.delivered, 4);
});

Deno.test("checkScenario() counts a client without result files as having delivered nothing", () => {
  const results = correctResults();
  results.delete("c3");
  const check = checkScenario({ scripts: scripts(), results });
  assert.deepEqual(check.violations, [
    'agreement: c3 differs from c1 at delivery 1: undefined vs "c2###hello"',
    'integrity: c3 delivered "c1###command1" 0 times instead of 2',
  ]);
  assert.deepEqual(check.clients[2], {
    id: "c3",
    multicasts: 1,
    delivered: 0,
    directExpected: 0,
    directReceived: 0,
    killed: false,
  });
});

Deno.test("checkScenario() reports a multicast delivered twice, or one that no script sent (integrity)", () => {
  const twice = [...ORDER, "c3###x"];
  const doubled = checkScenario({
    scripts: scripts(),
    results: new Map([...correctResults()].map(([id, files]) => [id, { ...files, tom: twice }])),
  });
  assert.deepEqual(doubled.violations, [
    'integrity: c1 delivered "c3###x" 2 times instead of 1',
    'integrity: c2 delivered "c3###x" 2 times instead of 1',
    'integrity: c3 delivered "c3###x" 2 times instead of 1',
  ]);

  const invented = [...ORDER.slice(0, 2), "c9###forged", ...ORDER.slice(2)];
  const forged = checkScenario({
    scripts: scripts(),
    results: new Map([...correctResults()].map(([id, files]) => [id, { ...files, tom: invented }])),
  });
  assert.deepEqual(forged.violations, [
    'integrity: c1 delivered "c9###forged" 1 times, never sent',
    'integrity: c2 delivered "c9###forged" 1 times, never sent',
    'integrity: c3 delivered "c9###forged" 1 times, never sent',
  ]);
  assert.deepEqual(forged.order, invented);

  // A payload's result line, not its raw text: the unescaped backslash was never sent.
  const raw = ORDER.map((line) => line.replace("\\\\", "\\"));
  const unescaped = checkScenario({
    scripts: scripts(),
    results: new Map([...correctResults()].map(([id, files]) => [id, { ...files, tom: raw }])),
  });
  assert.deepEqual(unescaped.violations.slice(0, 1), [
    'integrity: c1 delivered "c1###back\\\\\\\\slash" 0 times instead of 1',
  ]);
});

Deno.test("checkScenario() wants each direct message exactly once, at its receiver", () => {
  const missing = checkScenario({ scripts: scripts(), results: withResults("c2", { uno: [] }) });
  assert.deepEqual(missing.violations, [
    'direct messages: c2 received "c1###psst" 0 times instead of 1',
  ]);

  const doubled = checkScenario({
    scripts: scripts(),
    results: withResults("c1", { uno: ["c2###hi", "c2###hi"] }),
  });
  assert.deepEqual(doubled.violations, [
    'direct messages: c1 received "c2###hi" 2 times instead of 1',
  ]);

  // c1's message to c2 went to c3 instead: missing at c2, never sent to c3.
  const results = withResults("c2", { uno: ["c3###from c3"] });
  results.set("c3", { ...results.get("c3")!, uno: ["c1###psst"] });
  assert.deepEqual(checkScenario({ scripts: scripts(), results }).violations, [
    'direct messages: c2 received "c1###psst" 0 times instead of 1',
    'direct messages: c3 received "c1###psst" 1 times, never sent',
  ]);
});

Deno.test("checkScenario() lets a killed client's file be a prefix of the agreed order, and its multicasts and direct messages be missing", () => {
  // c3 was killed before its multicast and its direct message got out; it delivered 2.
  const order = ORDER.filter((line) => line !== "c3###x");
  const results = new Map<string, ClientResults>([
    ["c1", { tom: order, uno: ["c2###hi"] }],
    ["c2", { tom: order, uno: ["c1###psst"] }],
    ["c3", { tom: order.slice(0, 2), uno: [] }],
  ]);
  const check = checkScenario({ scripts: scripts(), results, killed: ["c3"] });
  assert.deepEqual(check.violations, []);
  assert.equal(check.expected, 4, "the live clients' multicasts");
  assert.equal(liveMulticasts(scripts(), new Set(["c3"])), 4);
  assert.deepEqual(check.clients.map((c) => [c.id, c.killed, c.delivered]), [
    ["c1", false, 4],
    ["c2", false, 4],
    ["c3", true, 2],
  ]);

  // What it did send may be delivered, but never twice.
  const twice = [...ORDER, "c3###x"];
  const doubled = checkScenario({
    scripts: scripts(),
    results: new Map([
      ["c1", { tom: twice, uno: ["c2###hi"] }],
      ["c2", { tom: twice, uno: ["c1###psst", "c3###from c3", "c3###from c3"] }],
      ["c3", { tom: [], uno: [] }],
    ]),
    killed: new Set(["c3"]),
  });
  assert.deepEqual(doubled.violations, [
    'integrity: c1 delivered "c3###x" 2 times instead of 1',
    'integrity: c2 delivered "c3###x" 2 times instead of 1',
    'direct messages: c2 received "c3###from c3" 2 times instead of 1',
  ]);
});

Deno.test("checkScenario() reports a killed client's file that is longer than the agreed order or departs from it", () => {
  const order = ORDER.slice(0, 4);
  const live = (tom: string[]): Map<string, ClientResults> =>
    new Map([
      ["c1", { tom: order, uno: ["c2###hi"] }],
      ["c2", { tom: order, uno: ["c1###psst", "c3###from c3"] }],
      ["c3", { tom, uno: [] }],
    ]);
  // The live clients agree on 4 deliveries; killed c3 has a fifth that they never had.
  const longer = checkScenario({ scripts: scripts(), results: live(ORDER), killed: ["c3"] });
  assert.deepEqual(longer.violations, [
    'agreement: c3 differs from c1 at delivery 5: "c1###command1" vs undefined',
    'integrity: c1 delivered "c1###command1" 1 times instead of 2',
    'integrity: c2 delivered "c1###command1" 1 times instead of 2',
  ]);
  const departs = checkScenario({
    scripts: scripts(),
    results: live(["c2###hello", "c3###x"]),
    killed: ["c3"],
  });
  assert.equal(
    departs.violations[0],
    'agreement: c3 differs from c1 at delivery 2: "c3###x" vs "c1###command1"',
  );
});

Deno.test("checkScenario() takes the first live client as the reference when the first one was killed", () => {
  const order = ORDER.filter((line) => !line.startsWith("c1###"));
  const results = new Map<string, ClientResults>([
    ["c1", { tom: ["c2###hello", "c3###x", "c9###extra"], uno: [] }],
    ["c2", { tom: order, uno: ["c3###from c3"] }],
    ["c3", { tom: order, uno: [] }],
  ]);
  const check = checkScenario({ scripts: scripts(), results, killed: ["c1"] });
  assert.deepEqual(check.order, order);
  assert.equal(check.expected, 2);
  assert.deepEqual(check.violations, [
    'agreement: c1 differs from c2 at delivery 3: "c9###extra" vs undefined',
  ]);
});

Deno.test("checkScenario() names a view that differs between two clients, and accepts views some clients lack", () => {
  const results = correctResults();
  const first = "view 1 after 0: members c1 c2 c3; joined c1 c2 c3";
  const evicted = "view 2 after 4: members c1 c2; left c3 (timeout)";
  results.get("c1")!.views = [first, evicted];
  results.get("c2")!.views = [first, evicted];
  // c3 was not in view 2: it does not have it.
  results.get("c3")!.views = [first];
  assert.deepEqual(checkScenario({ scripts: scripts(), results }).violations, []);
  results.get("c3")!.views = [first.replace("c3;", "c3 c4;")];
  assert.deepEqual(checkScenario({ scripts: scripts(), results }).violations, [
    `views: c3 has "view 1 after 0: members c1 c2 c3 c4; joined c1 c2 c3" where c1 has "${first}"`,
  ]);
});
