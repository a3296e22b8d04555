import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  countMulticasts,
  directTargets,
  loadScript,
  parseScript,
  type ScriptCommand,
  ScriptError,
} from "../roles/script.ts";

function scenario(path: string): string {
  return fileURLToPath(new URL(`../scenarios/${path}`, import.meta.url));
}

/** Asserts that `fn` throws a ScriptError for `file` and `line` whose message matches. */
function assertScriptError(
  fn: () => unknown,
  file: string,
  line: number,
  detail: RegExp | string,
): ScriptError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof ScriptError,
    `expected a ScriptError, got ${caught}`,
  );
  assert.equal(caught.name, "ScriptError");
  assert.equal(caught.file, file);
  assert.equal(caught.line, line);
  assert.ok(
    caught.message.startsWith(`${file}:${line}: expected `),
    `message does not name ${file}:${line}: ${caught.message}`,
  );
  if (typeof detail === "string") {
    assert.equal(caught.message, `${file}:${line}: ${detail}`);
  } else {
    assert.match(caught.message, detail);
  }
  return caught;
}

/** What each seed client must send, derived from the seed's test1..test4 (test3 corrected). */
const SEED = {
  c1: {
    multicasts: [
      "command1",
      "command1",
      "command4",
      "commnad6",
      "command13",
      "command1",
      "command7",
    ],
    direct: [
      { to: "c2", text: "command2" },
      { to: "c4", text: "command1" },
      { to: "c3", text: "command1" },
    ],
    sleeps: [3, 1, 10, 5, 3],
  },
  c2: {
    multicasts: ["command3", "command1", "command13", "command4", "command10"],
    direct: [
      { to: "c1", text: "command8" },
      { to: "c3", text: "command14" },
      { to: "c4", text: "command11" },
    ],
    sleeps: [1, 10, 4, 3, 1],
  },
  c3: {
    multicasts: [
      "command7",
      "command10",
      "command13",
      "command1",
      "command1",
      "command1",
      "command2",
    ],
    direct: [
      { to: "c4", text: "command4" },
      { to: "c4", text: "command12" },
      { to: "c4", text: "command15" },
      { to: "c4", text: "command15" },
    ],
    sleeps: [5, 1, 3],
  },
  c4: {
    multicasts: [
      "command5",
      "command7",
      "command6",
      "command7",
      "command14",
      "Command2",
      "command2",
    ],
    direct: [
      { to: "c1", text: "command9" },
      { to: "c2", text: "command11" },
      { to: "c3", text: "command12" },
      { to: "c1", text: "command1" },
    ],
    sleeps: [5, 4, 10, 3],
  },
} as const;

Deno.test("loadScript() parses each seed scenario file", async (t) => {
  let multicasts = 0;
  let directs = 0;
  for (const [id, expected] of Object.entries(SEED)) {
    await t.step(`${id}.txt`, async () => {
      const commands = await loadScript(scenario(`seed/${id}.txt`), id);
      const text = await Deno.readTextFile(scenario(`seed/${id}.txt`));
      assert.equal(commands.length, text.trimEnd().split("\n").length);
      assert.deepEqual(
        commands.map((command) => command.line),
        commands.map((_, index) => index + 1),
      );
      assert.deepEqual(
        commands.flatMap((c) => c.kind === "multicast" ? [c.text] : []),
        expected.multicasts,
      );
      assert.deepEqual(
        commands.flatMap((c) => c.kind === "sleep" ? [c.seconds] : []),
        expected.sleeps,
      );
      assert.equal(countMulticasts(commands), expected.multicasts.length);
      assert.deepEqual(directTargets(commands), expected.direct);
      multicasts += countMulticasts(commands);
      directs += directTargets(commands).length;
    });
  }
  // The seed's result files: 26 lines in every _tom file, 3 + 2 + 3 + 6 lines of _uno.
  assert.equal(multicasts, 26);
  assert.equal(directs, 14);
});

Deno.test("loadScript() keeps the order of the seed's test1.txt", async () => {
  const commands = await loadScript(scenario("seed/c1.txt"), "c1");
  assert.deepEqual(commands.slice(0, 4), [
    { kind: "multicast", text: "command1", line: 1 },
    { kind: "multicast", text: "command1", line: 2 },
    { kind: "sleep", seconds: 3, line: 3 },
    { kind: "direct", to: "c2", text: "command2", line: 4 },
  ]);
});

Deno.test("loadScript() refuses the seed's original test3.txt", async () => {
  const path = scenario("seed-original/test3.txt");
  await assert.rejects(
    () => loadScript(path, "c3"),
    (error: unknown) => {
      assert.ok(error instanceof ScriptError);
      assert.equal(error.file, path);
      assert.equal(error.line, 1);
      assert.ok(error.message.includes("test3.txt:1: "), error.message);
      assert.equal(
        error.message,
        `${path}:1: expected the sender to be "c3", found "3" in "3,c4,command4"`,
      );
      return true;
    },
  );
});

Deno.test("loadScript() names the file it cannot read", async () => {
  const path = scenario("seed/no_such_client.txt");
  await assert.rejects(
    () => loadScript(path, "c1"),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.ok(!(error instanceof ScriptError));
      assert.ok(
        error.message.startsWith(`Cannot read script "${path}": `),
        error.message,
      );
      assert.ok(error.cause instanceof Deno.errors.NotFound);
      return true;
    },
  );
});

Deno.test("parseScript() rejects a line whose sender is not the client", () => {
  assertScriptError(
    () => parseScript("Multicast,c3,ok\n3,c4,command4", "c3", "c3.txt"),
    "c3.txt",
    2,
    `expected the sender to be "c3", found "3" in "3,c4,command4"`,
  );
});

Deno.test("parseScript() reports the first error, before later ones", () => {
  assertScriptError(
    () => parseScript("Multicast,c1,ok\nc2,c4,x\nsleep,-1", "c1", "a.txt"),
    "a.txt",
    2,
    `expected the sender to be "c1", found "c2" in "c2,c4,x"`,
  );
});

Deno.test("parseScript() rejects a direct message from another sender", () => {
  assertScriptError(
    () => parseScript("c4,c1,command9", "c3", "c3.txt"),
    "c3.txt",
    1,
    `expected the sender to be "c3", found "c4" in "c4,c1,command9"`,
  );
});

Deno.test("parseScript() rejects a multicast from another sender", () => {
  assertScriptError(
    () => parseScript("# c2\n\nMulticast,c1,command3", "c2", "c2.txt"),
    "c2.txt",
    3,
    `expected the sender to be "c2", found "c1" in "Multicast,c1,command3"`,
  );
});

Deno.test("parseScript() rejects an unknown command", () => {
  for (const line of ["send", "send,c2", "print,c1"]) {
    assertScriptError(
      () => parseScript(line, "c1", "c1.txt"),
      "c1.txt",
      1,
      `expected "Multicast,c1,<text>", "c1,<to>,<text>" or "sleep,<seconds>", found "${line}"`,
    );
  }
});

Deno.test("parseScript() rejects a command with too few fields", () => {
  assertScriptError(
    () => parseScript("Multicast,c1", "c1", "f.txt"),
    "f.txt",
    1,
    `expected "Multicast,c1,<text>", found "Multicast,c1"`,
  );
  assertScriptError(
    () => parseScript("multicast", "c1", "f.txt"),
    "f.txt",
    1,
    `expected "Multicast,c1,<text>", found "multicast"`,
  );
  assertScriptError(
    () => parseScript("sleep,1\nc1,c2", "c1", "f.txt"),
    "f.txt",
    2,
    `expected "c1,<to>,<text>", found "c1,c2"`,
  );
  assertScriptError(
    () => parseScript("sleep", "c1", "f.txt"),
    "f.txt",
    1,
    `expected "sleep,<seconds>", found "sleep"`,
  );
});

Deno.test("parseScript() rejects a sleep with extra fields", () => {
  assertScriptError(
    () => parseScript("sleep,1,2", "c1", "f.txt"),
    "f.txt",
    1,
    `expected "sleep,<seconds>", found "sleep,1,2"`,
  );
});

Deno.test("parseScript() rejects an empty recipient", () => {
  assertScriptError(
    () => parseScript("c1, ,hello", "c1", "f.txt"),
    "f.txt",
    1,
    `expected a recipient after "c1,", found none in "c1, ,hello"`,
  );
});

Deno.test("parseScript() rejects an empty text", () => {
  assertScriptError(
    () => parseScript("Multicast,c1,", "c1", "f.txt"),
    "f.txt",
    1,
    `expected a text after "Multicast,c1,", found none in "Multicast,c1,"`,
  );
  assertScriptError(
    () => parseScript("\nc1,c2,   ", "c1", "f.txt"),
    "f.txt",
    2,
    `expected a text after "c1,c2,", found none in "c1,c2,"`,
  );
});

Deno.test("parseScript() rejects a bad number of seconds", () => {
  for (
    const field of [
      "",
      "abc",
      "-1",
      "+1",
      "1e3",
      "Infinity",
      "NaN",
      "0x10",
      "1.2.3",
      ".",
    ]
  ) {
    const line = `sleep,${field}`;
    assertScriptError(
      () => parseScript(line, "c1", "f.txt"),
      "f.txt",
      1,
      `expected a non-negative number of seconds such as "3" or "0.5", found "${field}" in "${line}"`,
    );
  }
});

Deno.test("parseScript() accepts decimal seconds", () => {
  const commands = parseScript(
    "sleep,0\nsleep,0.5\nsleep,.25\nsleep,10.\nSLEEP, 2 ",
    "c1",
  );
  assert.deepEqual(
    commands.map((c) => c.kind === "sleep" ? c.seconds : undefined),
    [0, 0.5, 0.25, 10, 2],
  );
});

Deno.test("parseScript() skips blank lines and comments", () => {
  const commands = parseScript(
    "# c1's script\n\n   \n  # indented comment\nMulticast,c1,a\n\n#Multicast,c1,b\nc1,c2,c\n",
    "c1",
  );
  assert.deepEqual(commands, [
    { kind: "multicast", text: "a", line: 5 },
    { kind: "direct", to: "c2", text: "c", line: 8 },
  ]);
  assert.deepEqual(parseScript("", "c1"), []);
  assert.deepEqual(parseScript("\n# nothing\n", "c1"), []);
});

Deno.test("parseScript() keeps commas and hashes in the text", () => {
  const commands = parseScript(
    "Multicast,c1,a, b,,c\nc1,c2,x,y # not a comment\nMulticast,c1,#1",
    "c1",
  );
  assert.deepEqual(commands, [
    { kind: "multicast", text: "a, b,,c", line: 1 },
    { kind: "direct", to: "c2", text: "x,y # not a comment", line: 2 },
    { kind: "multicast", text: "#1", line: 3 },
  ]);
});

Deno.test("parseScript() tolerates CRLF line endings", () => {
  const commands = parseScript(
    "Multicast,c1,a\r\nsleep,3\r\n\r\nc1,c2,b\r\n",
    "c1",
  );
  assert.deepEqual(commands, [
    { kind: "multicast", text: "a", line: 1 },
    { kind: "sleep", seconds: 3, line: 2 },
    { kind: "direct", to: "c2", text: "b", line: 4 },
  ]);
  assertScriptError(
    () => parseScript("Multicast,c1,a\r\nc2,c1,b\r\n", "c1", "crlf.txt"),
    "crlf.txt",
    2,
    `expected the sender to be "c1", found "c2" in "c2,c1,b"`,
  );
});

Deno.test("parseScript() accepts the command words in any case", () => {
  const commands = parseScript("MULTICAST,c1,a\nmulticast,c1,b\nSleep,1", "c1");
  assert.deepEqual(commands.map((c) => c.kind), [
    "multicast",
    "multicast",
    "sleep",
  ]);
});

Deno.test("parseScript() allows a direct message to the client itself", () => {
  assert.deepEqual(parseScript("c1,c1,note to self", "c1"), [
    { kind: "direct", to: "c1", text: "note to self", line: 1 },
  ]);
});

Deno.test("parseScript() names <script> when no file is given", () => {
  assertScriptError(
    () => parseScript("bogus", "c1"),
    "<script>",
    1,
    /found "bogus"$/,
  );
});

Deno.test("parseScript() rejects an unusable client id", () => {
  for (const me of ["", "c,1", " c1", "sleep", "Multicast"]) {
    assert.throws(() => parseScript("", me), TypeError);
  }
});

Deno.test("countMulticasts() and directTargets() ignore other commands", () => {
  const commands: ScriptCommand[] = [
    { kind: "sleep", seconds: 1, line: 1 },
    { kind: "direct", to: "c2", text: "x", line: 2 },
    { kind: "multicast", text: "y", line: 3 },
    { kind: "direct", to: "c2", text: "x", line: 4 },
  ];
  assert.equal(countMulticasts(commands), 1);
  assert.deepEqual(directTargets(commands), [
    { to: "c2", text: "x" },
    { to: "c2", text: "x" },
  ]);
  assert.equal(countMulticasts([]), 0);
  assert.deepEqual(directTargets([]), []);
});
