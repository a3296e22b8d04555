import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { COMMON_FLAGS } from "../roles/cli/flags.ts";
import { freeBasePort } from "../tasks/_processes.ts";
import { formatReport, runScenario, type ScenarioReport } from "../tasks/scenario.ts";
import { DENO, watchGroupPorts, within } from "./_helpers.ts";
import { HAVE_ETCD } from "../tasks/etcd.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const ROLE_PERMISSIONS = ["--allow-ffi", "--allow-env", "--allow-read", "--allow-write"];
const ENTRY = {
  broker: "roles/cli/broker_main.ts",
  sequencer: "roles/cli/sequencer_main.ts",
  client: "roles/cli/client_main.ts",
} as const;
type Role = keyof typeof ENTRY;

/** How long any one child process or scenario may take before the test fails. */
const T = 120_000;
const decoder = new TextDecoder();

// The interop tests need the Debian pyzmq (python3-zmq) that the seed-style peers use.
const PYZMQ = await (async () => {
  try {
    const { success, stderr } = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import zmq"],
      stdout: "null",
      stderr: "piped",
    }).output();
    return success ? { ok: true, reason: "" } : {
      ok: false,
      reason: `/usr/bin/python3 cannot import zmq: ${decoder.decode(stderr).trim()}`,
    };
  } catch (error) {
    return { ok: false, reason: `/usr/bin/python3 cannot run: ${(error as Error).message}` };
  }
})();
if (!PYZMQ.ok) {
  console.log(
    `Skipping the interop tests with seed-style pyzmq peers: ${PYZMQ.reason} (install python3-zmq: sh tasks/setup.sh test)`,
  );
}

/** The result of a child process that ran to its end. */
interface Finished {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Runs `deno <args>` in the repository root, killing it (and failing) after `timeoutMs`. */
async function runDeno(args: string[], what: string, timeoutMs = T): Promise<Finished> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const output = await new Deno.Command(DENO, {
      args,
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    const result = {
      code: output.code,
      signal: output.signal,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
    if (controller.signal.aborted) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what} to exit; stderr:\n${result.stderr}`,
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a role's entry point to its end. */
function runRole(role: Role, args: string[], timeoutMs = T): Promise<Finished> {
  return runDeno(["run", ...ROLE_PERMISSIONS, ENTRY[role], ...args], `the ${role}`, timeoutMs);
}

/** A role started in the background, whose stderr can be awaited line by line. */
class RunningRole {
  readonly name: string;
  #child: Deno.ChildProcess;
  #stderr = "";
  #waiters: { pattern: RegExp; resolve: () => void }[] = [];
  readonly status: Promise<Deno.CommandStatus>;

  constructor(name: string, role: Role, args: string[]) {
    this.name = name;
    const child = new Deno.Command(DENO, {
      args: ["run", ...ROLE_PERMISSIONS, ENTRY[role], ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const reading = (async () => {
      const text = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.#stderr += text.decode(chunk, { stream: true });
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.pattern.test(this.#stderr)) return true;
          w.resolve();
          return false;
        });
      }
    })();
    this.status = child.status.then(async (status) => {
      await reading;
      return status;
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves once stderr matches `pattern`; fails after `ms`, or if the role exits first. */
  async waitFor(pattern: RegExp, ms = 30_000): Promise<void> {
    if (pattern.test(this.#stderr)) return;
    const seen = new Promise<void>((resolve) => this.#waiters.push({ pattern, resolve }));
    const exited = this.status.then((status) => {
      if (!pattern.test(this.#stderr)) {
        throw new Error(
          `${this.name} exited with code ${status.code} before logging ${pattern}; stderr:\n${this.#stderr}`,
        );
      }
    });
    try {
      await within(ms, `${this.name} to log ${pattern}`, Promise.race([seen, exited]));
    } catch (error) {
      (error as Error).message += `; stderr so far:\n${this.#stderr}`;
      throw error;
    }
  }

  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits for the exit (after `ms`, kills it and fails). */
  async exit(ms = 30_000): Promise<Deno.CommandStatus> {
    try {
      return await within(ms, `${this.name} to exit`, this.status);
    } catch (error) {
      this.kill("SIGKILL");
      await this.status;
      throw error;
    }
  }

  /** For `finally`: makes sure the process is gone and its pipe drained. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.status;
  }
}

/** Runs a scenario into a fresh temporary folder, removed afterwards. */
async function scenario(
  options: Omit<Parameters<typeof runScenario>[0], "out">,
): Promise<ScenarioReport> {
  const out = await Deno.makeTempDir({ prefix: "scenario-test-" });
  try {
    return await within(
      T,
      `scenario ${options.scenario}`,
      runScenario({ ...options, scenario: `${ROOT}${options.scenario}`, out }),
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

/** Asserts that a scenario run held every property, each client delivering `expected`. */
function assertCorrect(report: ScenarioReport, expected: number): void {
  assert.deepEqual(report.violations, [], formatReport(report));
  assert.equal(report.expected, expected, formatReport(report));
  for (const client of report.clients) {
    assert.equal(client.delivered, expected, `${client.id}: ${formatReport(report)}`);
    assert.equal(client.directReceived, client.directExpected, formatReport(report));
  }
  assert.equal(report.order.length, expected);
  assert.deepEqual(report.infrastructure, { broker: 0, sequencer: 0 });
}

// --- The scenarios, end to end, as separate processes ----------------------------------------

Deno.test({
  name:
    "deno task run:demo --ha runs the seed's scenario with etcd, two brokers and two sequencers, kills the active ones part way, and reports OK",
  ignore: !HAVE_ETCD,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "demo-ha-test-" });
    try {
      const result = await runDeno(
        ["task", "run:demo", "--ha", "--time-scale", "0.2", "--out", out],
        "deno task run:demo --ha",
      );
      assert.equal(result.code, 0, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /killing the active broker b[12] and the active sequencer s[12]/);
      assert.match(result.stdout, /OK: all 4 clients delivered the same 26 multicasts/);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("deno task run:demo runs the seed's scenario end to end and reports OK", async () => {
  const out = await Deno.makeTempDir({ prefix: "demo-test-" });
  try {
    const result = await runDeno(
      ["task", "run:demo", "--time-scale", "0.05", "--out", out],
      "deno task run:demo",
    );
    assert.equal(result.code, 0, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /OK: all 4 clients delivered the same 26 multicasts/);
    for (const id of ["c1", "c2", "c3", "c4"]) {
      const tom = await Deno.readTextFile(`${out}/test_result_${id}_tom.txt`);
      assert.equal(tom.split("\n").length - 1, 26, `${id}'s _tom file`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("runScenario() on scenarios/seed: every client delivers the same 26 multicasts", async () => {
  const report = await scenario({ scenario: "scenarios/seed", timeScale: 0.05 });
  assertCorrect(report, 26);
  assert.deepEqual(report.clients.map((c) => c.id), ["c1", "c2", "c3", "c4"]);
  assert.deepEqual(report.clients.map((c) => c.directReceived), [3, 2, 3, 6]);
});

Deno.test("runScenario() on scenarios/eight: 8 clients agree on 80 multicasts and direct messages", async () => {
  const report = await scenario({ scenario: "scenarios/eight", timeScale: 0.05 });
  assertCorrect(report, 80);
  assert.equal(report.clients.length, 8);
  for (const client of report.clients) {
    assert.equal(client.multicasts, 10);
    assert.equal(client.directExpected, 3);
  }
  // Equal payloads (each client multicasts "command1" twice) are both delivered.
  for (let i = 1; i <= 8; i++) {
    assert.equal(report.order.filter((p) => p === `c${i}###command1`).length, 2);
  }
});

Deno.test("runScenario() on scenarios/seed with the sequencer inside the broker (run:broker --sequencer) agrees, with its --log", async () => {
  const dir = await Deno.makeTempDir({ prefix: "in-broker-" });
  try {
    const report = await scenario({
      scenario: "scenarios/seed",
      timeScale: 0.05,
      sequencerInBroker: true,
      sequencerFlags: ["--log", `${dir}/order.log`],
    });
    assertCorrect(report, 26);
    // The sequencer inside the broker numbered them, durably.
    const lines = (await Deno.readTextFile(`${dir}/order.log`)).trim().split("\n");
    assert.equal(lines.length, 26);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- Interoperation with seed-style pyzmq peers -----------------------------------------------

Deno.test({
  name: "runScenario() with seed-style clients c1, c2 and our broker, sequencer, c3, c4 agrees",
  ignore: !PYZMQ.ok,
  async fn() {
    const report = await scenario({
      scenario: "scenarios/seed",
      timeScale: 0.05,
      seedPeers: ["c1", "c2"],
    });
    assertCorrect(report, 26);
  },
});

Deno.test({
  name: "runScenario() with seed-style clients c1, c2 and the sequencer inside our broker agrees",
  ignore: !PYZMQ.ok,
  async fn() {
    const report = await scenario({
      scenario: "scenarios/seed",
      timeScale: 0.05,
      seedPeers: ["c1", "c2"],
      sequencerInBroker: true,
    });
    assertCorrect(report, 26);
  },
});

Deno.test({
  name: "runScenario() with our clients and a seed-style broker and sequencer agrees",
  ignore: !PYZMQ.ok,
  async fn() {
    const report = await scenario({
      scenario: "scenarios/seed",
      timeScale: 0.05,
      seedPeers: ["broker", "sequencer"],
      // A client that cannot join fails in 10 s with a message, instead of 30.
      clientFlags: ["--join-timeout", "10"],
    });
    assertCorrect(report, 26);
  },
});

Deno.test({
  name: "runScenario() with seed-style peers only agrees (control)",
  ignore: !PYZMQ.ok,
  async fn() {
    const report = await scenario({
      scenario: "scenarios/seed",
      timeScale: 0.05,
      seedPeers: ["broker", "sequencer", "c1", "c2", "c3", "c4"],
    });
    assertCorrect(report, 26);
  },
});

// --- The roles' command lines ------------------------------------------------------------------

const ROLE_FLAGS: Record<Role, string[]> = {
  broker: ["expect", "sequencer", "log", "evict-after", "etcd", "group", "lease-ttl", "name"],
  sequencer: ["join-timeout", "etcd", "group", "lease-ttl", "name"],
  client: [
    ...["id", "script", "out", "time-scale", "idle-exit", "join-timeout", "window", "receive"],
    ...["etcd", "group", "lease-ttl"],
  ],
};

Deno.test("The roles' --help exits 0 and lists every flag", async () => {
  for (const role of Object.keys(ENTRY) as Role[]) {
    const result = await runRole(role, ["--help"]);
    assert.equal(result.code, 0, `${role} --help: ${result.stderr}`);
    for (const flag of [...ROLE_FLAGS[role], ...Object.keys(COMMON_FLAGS)]) {
      assert.match(
        result.stdout,
        new RegExp(`^\\s+--${flag}\\b`, "m"),
        `${role} --help does not list --${flag}:\n${result.stdout}`,
      );
    }
  }
});

Deno.test("The roles refuse an unknown flag with exit code 2, naming it", async () => {
  for (const role of Object.keys(ENTRY) as Role[]) {
    const result = await runRole(role, ["--no-such-flag"]);
    assert.equal(result.code, 2, `${role}: exit ${result.code}: ${result.stderr}`);
    assert.ok(result.stderr.includes("--no-such-flag"), `${role}: ${result.stderr}`);
  }
});

Deno.test("The broker refuses --expect abc with exit code 2, naming --expect", async () => {
  const result = await runRole("broker", ["--expect", "abc", "--base-port", "1"]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--expect "abc"/);
});

Deno.test("The broker refuses the sequencer's flags without --sequencer, --sequencer with CURVE or --resume without --log, with exit code 2", async () => {
  const stray = await runRole("broker", ["--expect", "2", "--log", "x.log"]);
  assert.equal(stray.code, 2, stray.stderr);
  assert.match(stray.stderr, /--log is a flag of the sequencer: give --sequencer too/);
  const curve = await runRole("broker", [
    ...["--expect", "2", "--sequencer", "--curve-key", "k", "--curve-allow", "a"],
  ]);
  assert.equal(curve.code, 2, curve.stderr);
  assert.match(curve.stderr, /--sequencer with CURVE is not supported/);
  const evict = await runRole("broker", ["--expect", "2", "--sequencer", "--evict-after", "1"]);
  assert.equal(evict.code, 2, evict.stderr);
  assert.match(evict.stderr, /Invalid --evict-after 1: expected 0 \(never evict\) or at least 2/);
  const resume = await runRole("broker", ["--expect", "2", "--sequencer", "--resume"]);
  assert.equal(resume.code, 2, resume.stderr);
  assert.match(resume.stderr, /--resume --sequencer needs the sequencer's --log/);
});

Deno.test("HA flags: --etcd needs --group, --group and --name need --etcd, the sequencer needs --log, the broker refuses --resume, with exit code 2", async () => {
  const cases: [Role, string[], RegExp][] = [
    ["sequencer", ["--etcd", "http://127.0.0.1:1"], /--etcd needs --group NAME/],
    [
      "client",
      ["--id", "c1", "--script", "scenarios/seed/c1.txt", "--group", "g"],
      /--group needs --etcd/,
    ],
    ["broker", ["--expect", "2", "--name", "b1"], /--name needs --etcd/],
    ["sequencer", ["--etcd", "http://127.0.0.1:1", "--group", "g"], /--etcd needs --log FILE/],
    [
      "broker",
      ["--expect", "2", "--etcd", "http://127.0.0.1:1", "--group", "g", "--resume"],
      /--etcd with --resume/,
    ],
    [
      "broker",
      ["--expect", "2", "--etcd", "ftp://x", "--group", "g"],
      /Invalid --etcd "ftp:\/\/x"/,
    ],
    [
      "sequencer",
      ["--etcd", "http://127.0.0.1:1", "--group", "a/b", "--log", "x"],
      /--group NAME, 1 to 64/,
    ],
    ["sequencer", [
      "--etcd",
      "http://127.0.0.1:1",
      "--group",
      "g",
      "--log",
      "x",
      "--lease-ttl",
      "0",
    ], /--lease-ttl/],
  ];
  for (const [role, args, expected] of cases) {
    const result = await runRole(role, args);
    assert.equal(
      result.code,
      2,
      `${role} ${args.join(" ")}: exit ${result.code}: ${result.stderr}`,
    );
    assert.match(result.stderr, expected, `${role} ${args.join(" ")}`);
  }
});

Deno.test("The client refuses --receive some with exit code 2, naming the choices", async () => {
  const result = await runRole("client", [
    "--id",
    "c1",
    "--script",
    "scenarios/seed/c1.txt",
    "--receive",
    "some",
  ]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--receive "some": expected orders or all/);
});

Deno.test("The client refuses the seed's original test3.txt before connecting, naming test3.txt:1", async () => {
  const basePort = freeBasePort();
  // Anything the client connects to would be accepted here.
  const ports = watchGroupPorts(basePort);
  let connections: number;
  try {
    const result = await runRole("client", [
      "--id",
      "c3",
      "--script",
      "scenarios/seed-original/test3.txt",
      "--base-port",
      String(basePort),
    ]);
    assert.notEqual(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /scenarios\/seed-original\/test3\.txt:1: expected the sender to be "c3", found "3"/,
    );
  } finally {
    connections = await ports.close();
  }
  assert.equal(connections, 0, "it connected");
});

Deno.test("The client names the endpoint when no broker answers within --join-timeout", async () => {
  const basePort = freeBasePort();
  const out = await Deno.makeTempDir({ prefix: "client-test-" });
  const started = performance.now();
  let result: Finished;
  try {
    result = await runRole("client", [
      "--id",
      "c1",
      "--script",
      "scenarios/seed/c1.txt",
      "--out",
      out,
      "--base-port",
      String(basePort),
      "--join-timeout",
      "1",
    ]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  assert.equal(result.code, 1, result.stderr);
  // Whichever of the four endpoints it waited on, the message names it.
  const named = [0, 1, 2, 3].map((i) => `tcp://127.0.0.1:${basePort + i}`)
    .filter((endpoint) => {
      const at = result.stderr.indexOf(endpoint);
      return at >= 0 && !/\d/.test(result.stderr[at + endpoint.length] ?? "");
    });
  assert.equal(named.length, 1, `the message does not name the endpoint: ${result.stderr}`);
  assert.match(result.stderr, /Timed out/);
  assert.ok(performance.now() - started < 20_000, "--join-timeout 1 was not honoured");
});

Deno.test("The broker exits 1 naming the endpoint when a port is in use", async () => {
  const basePort = freeBasePort();
  // Take the second of the four ports: the message must name that one.
  const taken = Deno.listen({ hostname: "127.0.0.1", port: basePort + 1 });
  try {
    const result = await runRole("broker", ["--expect", "1", "--base-port", String(basePort)]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /address (already )?in use|EADDRINUSE/i);
    assert.ok(
      result.stderr.includes(`tcp://127.0.0.1:${basePort + 1}`),
      `the message does not name the endpoint: ${result.stderr}`,
    );
  } finally {
    taken.close();
  }
});

Deno.test("The broker and the sequencer exit 0 on SIGTERM", async (t) => {
  await t.step("a broker waiting for participants", async () => {
    await using broker = new RunningRole("broker", "broker", [
      "--expect",
      "3",
      "--base-port",
      String(freeBasePort()),
    ]);
    await broker.waitFor(/listening on/);
    broker.kill("SIGTERM");
    const status = await broker.exit();
    assert.equal(status.code, 0, broker.stderr);
    assert.match(broker.stderr, /SIGTERM: shutting down/);
  });

  await t.step("a sequencer waiting for the start", async () => {
    const port = ["--base-port", String(freeBasePort())];
    await using broker = new RunningRole("broker", "broker", [
      "--expect",
      "2",
      "--verbose",
      ...port,
    ]);
    await broker.waitFor(/listening on/);
    await using sequencer = new RunningRole("sequencer", "sequencer", port);
    // The broker logs each participant that passed the barrier.
    await broker.waitFor(/\+1 subscriber \(1\/2\)/);
    sequencer.kill("SIGTERM");
    const status = await sequencer.exit();
    assert.equal(status.code, 0, sequencer.stderr);
    assert.match(sequencer.stderr, /SIGTERM before the start: shutting down/);
    broker.kill("SIGTERM");
    assert.equal((await broker.exit()).code, 0, broker.stderr);
  });

  await t.step("a broker and a sequencer after the start", async () => {
    const port = ["--base-port", String(freeBasePort())];
    await using broker = new RunningRole("broker", "broker", ["--expect", "1", ...port]);
    await broker.waitFor(/listening on/);
    await using sequencer = new RunningRole("sequencer", "sequencer", port);
    await sequencer.waitFor(/started/);
    await broker.waitFor(/start published/);
    sequencer.kill("SIGTERM");
    const sequencerStatus = await sequencer.exit();
    assert.equal(sequencerStatus.code, 0, sequencer.stderr);
    assert.match(sequencer.stderr, /SIGTERM: shutting down/);
    broker.kill("SIGTERM");
    const brokerStatus = await broker.exit();
    assert.equal(brokerStatus.code, 0, broker.stderr);
    assert.match(broker.stderr, /SIGTERM: shutting down/);
  });
});
