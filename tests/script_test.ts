import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MAX_TIMER_MS, type SleepClock, sleepFor } from "../roles/harness/sleep.ts";
import { DEFAULT_MAX_PAYLOAD } from "../roles/protocol/ids.ts";
import {
  countMulticasts,
  directTargets,
  loadScript,
  parseScript,
  type ScriptCommand,
  ScriptError,
} from "../roles/harness/script.ts";
import { freeBasePort, spawnRole, stop } from "../tasks/_processes.ts";
import { DENO, watchGroupPorts, within } from "./_helpers.ts";

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

// --- Payload sizes: refused when the script is read, before anything is sent ---------------

const MiB = 1024 * 1024;

Deno.test("parseScript() refuses a line whose payload is over the limit, naming file, line, size and limit", () => {
  // "c1###" + 15 bytes = 20 bytes: the limit itself is allowed, one byte more is not.
  const fits = "x".repeat(15);
  assert.equal(parseScript(`Multicast,c1,${fits}`, "c1", "c1.txt", 20).length, 1);
  assert.equal(parseScript(`c1,c2,${fits}`, "c1", "c1.txt", 20).length, 1);
  for (const line of [`Multicast,c1,${fits}y`, `c1,c2,${fits}y`]) {
    assertScriptError(
      () => parseScript(`Multicast,c1,ok\nsleep,1\n${line}\nbogus`, "c1", "c1.txt", 20),
      "c1.txt",
      3,
      `expected a payload ("c1###<text>" as UTF-8) of at most 20 bytes, the payload limit; ` +
        `found 21 bytes, the text being "${fits}y"`,
    );
  }
});

Deno.test("parseScript() counts a payload's size in UTF-8 bytes, with the sender's prefix", () => {
  // "c1###" is 5 bytes, each "\u00e9" 2 and each "\u20ac" 3: 5 + 4 + 3 = 12 bytes in 8 code units.
  const script = "Multicast,c1,\u00e9\u00e9\u20ac";
  assert.equal(parseScript(script, "c1", "c1.txt", 12).length, 1);
  assertScriptError(
    () => parseScript(script, "c1", "c1.txt", 11),
    "c1.txt",
    1,
    /of at most 11 bytes, the payload limit; found 12 bytes/,
  );
  // A longer id makes a longer payload.
  assertScriptError(
    () => parseScript("Multicast,client7,\u00e9\u00e9\u20ac", "client7", "client7.txt", 12),
    "client7.txt",
    1,
    /\("client7###<text>" as UTF-8\) of at most 12 bytes, the payload limit; found 17 bytes/,
  );
});

Deno.test("parseScript() holds payloads to DEFAULT_MAX_PAYLOAD (1 MiB) unless told otherwise", () => {
  assert.equal(DEFAULT_MAX_PAYLOAD, MiB);
  const largest = "x".repeat(MiB - "c1###".length);
  assert.equal(parseScript(`Multicast,c1,${largest}`, "c1")[0]?.kind, "multicast");
  const error = assertScriptError(
    () => parseScript(`Multicast,c1,${largest}x`, "c1", "big.txt"),
    "big.txt",
    1,
    /of at most 1048576 bytes, the payload limit; found 1048577 bytes, the text being "x{40}"\.\.\.$/,
  );
  assert.ok(error.message.length < 300, "the message quotes the whole line");
});

// --- Sleeps of any length -------------------------------------------------------------------

/** A clock whose timers fire as soon as they are awaited, advancing its time by `step(ms)`. */
function fakeClock(step: (ms: number) => number = (ms) => ms): SleepClock & { waits: number[] } {
  let now = 1000;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    wait(ms) {
      waits.push(ms);
      now += step(ms);
      return Promise.resolve();
    },
  };
}

Deno.test("sleepFor() waits a sleep past 2^31 - 1 ms in timer steps no longer than that", async () => {
  const ms = 2_200_000 * 1000;
  const clock = fakeClock();
  await sleepFor(ms, undefined, clock);
  assert.equal(MAX_TIMER_MS, 2 ** 31 - 1);
  assert.deepEqual(clock.waits, [MAX_TIMER_MS, ms - MAX_TIMER_MS]);
  assert.equal(clock.now(), 1000 + ms);
});

Deno.test("sleepFor() waits out what is left when a timer fires early", async () => {
  // A timer over 10 ms fires 10 ms early: the sleep takes one more step, never less time.
  const clock = fakeClock((ms) => ms > 10 ? ms - 10 : ms);
  await sleepFor(25, undefined, clock);
  assert.deepEqual(clock.waits, [25, 10]);
  assert.equal(clock.now(), 1000 + 25);
});

Deno.test("sleepFor() of 0, a negative number or NaN yields one timer turn of 0 ms", async () => {
  for (const ms of [0, -5, NaN]) {
    const clock = fakeClock();
    await sleepFor(ms, undefined, clock);
    assert.deepEqual(clock.waits, [0], String(ms));
  }
});

Deno.test("sleepFor() of 10^12 ms on the real clock ends at once when its signal aborts", async () => {
  const stopping = new AbortController();
  const sleeping = sleepFor(1e12, stopping.signal);
  stopping.abort();
  // The test sanitizer fails the test if a timer is left behind.
  await within(5000, "the aborted sleep", sleeping);
  const before = new AbortController();
  before.abort();
  await within(5000, "a sleep aborted before it began", sleepFor(Infinity, before.signal));
});

// --- The client process: sleeps and oversize payloads -----------------------------------------

const CLIENT = fileURLToPath(new URL("../roles/cli/client_main.ts", import.meta.url));

/** A client process whose stderr can be awaited. */
class ClientProcess {
  #stderr = "";
  #waiters: (() => void)[] = [];
  readonly child: Deno.ChildProcess;
  readonly status: Promise<Deno.CommandStatus>;
  exited = false;

  constructor(args: string[]) {
    const child = new Deno.Command(DENO, {
      args: ["run", "--allow-ffi", "--allow-env", "--allow-read", "--allow-write", CLIENT, ...args],
      cwd: fileURLToPath(new URL("../", import.meta.url)),
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.child = child;
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.#stderr += decoder.decode(chunk, { stream: true });
        for (const wake of this.#waiters.splice(0)) wake();
      }
    })();
    this.status = child.status.then(async (status) => {
      await reading;
      this.exited = true;
      for (const wake of this.#waiters.splice(0)) wake();
      return status;
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves once stderr contains `text`; fails if the process exits first, or after 30 s. */
  async waitFor(text: string): Promise<void> {
    await within(
      30_000,
      `the client to log ${JSON.stringify(text)}; stderr so far:\n${this.#stderr}`,
      (async () => {
        while (!this.#stderr.includes(text)) {
          if (this.exited) throw new Error(`The client exited first; stderr:\n${this.#stderr}`);
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      })(),
    );
  }
}

Deno.test("A client process sleeps through sleep,2200000 (past 2^31 - 1 ms) and exits 0 on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "script-sleep-" });
  const port = ["--base-port", String(freeBasePort())];
  const broker = spawnRole("broker", "broker", ["--expect", "2", ...port]);
  const sequencer = spawnRole("sequencer", "sequencer", port);
  const script = join(dir, "c1.txt");
  await Deno.writeTextFile(script, "Multicast,c1,before\nsleep,2200000\nMulticast,c1,after\n");
  const client = new ClientProcess([
    "--id",
    "c1",
    "--script",
    script,
    "--out",
    dir,
    "--verbose",
    ...port,
  ]);
  try {
    await client.waitFor("Delivered c1###before as 1");
    // The client is in its sleep now; were the sleep cut to a millisecond, as a lone timer of
    // 2.2e9 ms is, "after" would be sent at once. Give it time to show (the verdict below does
    // not depend on how long).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(client.exited, false, `the client exited during its sleep:\n${client.stderr}`);
    client.child.kill("SIGTERM");
    const status = await within(10_000, "the sleeping client to exit on SIGTERM", client.status);
    assert.equal(status.code, 0, client.stderr);
    assert.match(client.stderr, /SIGTERM: shutting down/);
    assert.ok(!client.stderr.includes("c1###after"), client.stderr);
    assert.equal(await Deno.readTextFile(join(dir, "test_result_c1_tom.txt")), "c1###before\n");
  } finally {
    if (!client.exited) client.child.kill("SIGKILL");
    await client.status;
    await stop(sequencer);
    await stop(broker);
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs a client with `args` to its end; every port it could connect to is watched. */
async function runWatchedClient(args: string[]): Promise<{
  status: Deno.CommandStatus;
  stderr: string;
  connections: number;
}> {
  const basePort = freeBasePort();
  // Anything the client connects to would be accepted here.
  const ports = watchGroupPorts(basePort);
  const client = new ClientProcess([
    ...args,
    "--base-port",
    String(basePort),
    "--join-timeout",
    "2",
  ]);
  let status: Deno.CommandStatus;
  let connections: number;
  try {
    status = await within(60_000, "the client to exit", client.status);
  } finally {
    if (!client.exited) client.child.kill("SIGKILL");
    await client.status;
    connections = await ports.close();
  }
  return { status, stderr: client.stderr, connections };
}

Deno.test("A client process refuses a script with a 2 MiB line before connecting, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "script-size-" });
  try {
    const script = join(dir, "c1.txt");
    await Deno.writeTextFile(script, `Multicast,c1,small\nMulticast,c1,${"x".repeat(2 * MiB)}\n`);
    const { status, stderr, connections } = await runWatchedClient(
      ["--id", "c1", "--script", script, "--out", dir],
    );
    assert.equal(status.code, 1, stderr);
    assert.ok(
      stderr.includes(
        `${script}:2: expected a payload ("c1###<text>" as UTF-8) of at most 1048576 bytes, ` +
          `the payload limit; found 2097157 bytes`,
      ),
      stderr,
    );
    assert.equal(connections, 0, "it connected to the group");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["c1.txt"], "result files");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A client process holds a direct line to its --max-payload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "script-size-" });
  try {
    const script = join(dir, "c1.txt");
    await Deno.writeTextFile(script, `c1,c2,${"y".repeat(96)}\nc1,c2,${"y".repeat(95)}\n`);
    const { status, stderr, connections } = await runWatchedClient(
      ["--id", "c1", "--script", script, "--out", dir, "--max-payload", "100"],
    );
    assert.equal(status.code, 1, stderr);
    assert.match(
      stderr,
      /c1\.txt:1: expected a payload .* of at most 100 bytes, the payload limit; found 101 bytes/,
    );
    assert.equal(connections, 0, "it connected to the group");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
