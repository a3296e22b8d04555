import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Member } from "../roles/mod.ts";
import { freeBasePort, type RoleProcess, spawn, spawnRole, stop } from "../tasks/_processes.ts";
import { formatReport, runScenario, type ScenarioControl } from "../tasks/scenario.ts";
import { startGroup, type TestGroup } from "./_group.ts";
import { DENO, within } from "./_helpers.ts";
import { type ParsedFamily, parseExposition } from "./_prometheus_text.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PROMETHEUS = "/usr/bin/prometheus";
/** How long a group, a child process or a wait may take before the test fails, ms. */
const T = 30_000;
const decoder = new TextDecoder();

// The scrape test needs Debian's prometheus; `sh tasks/setup.sh test` installs it.
const HAVE_PROMETHEUS = (() => {
  try {
    return Deno.statSync(PROMETHEUS).isFile;
  } catch {
    return false;
  }
})();
if (!HAVE_PROMETHEUS) {
  console.log(
    `Skipping the Prometheus scrape of a running scenario: ${PROMETHEUS} not found (install prometheus: sh tasks/setup.sh test)`,
  );
}

/** `GET url` (or `init.method`), its body read; fails after `T` naming the url. */
async function get(
  url: string,
  init: RequestInit = {},
): Promise<{ response: Response; body: string }> {
  const signal = AbortSignal.timeout(T);
  try {
    const response = await fetch(url, { ...init, signal });
    return { response, body: await response.text() };
  } catch (error) {
    if (!signal.aborted) throw error;
    throw new Error(`Timed out after ${T} ms waiting for ${init.method ?? "GET"} ${url}`, {
      cause: error,
    });
  }
}

/** `GET url` as JSON, which must be 200. */
async function getJson(url: string): Promise<Record<string, unknown>> {
  const { response, body } = await get(url);
  assert.equal(response.status, 200, `${url}: ${body}`);
  return JSON.parse(body);
}

/** Polls `read` until `done` says yes; fails after `ms` naming `what` and what it read last. */
async function until<V>(
  ms: number,
  what: string,
  read: () => Promise<V>,
  done: (value: V) => boolean,
  everyMs = 100,
): Promise<V> {
  const deadline = performance.now() + ms;
  let last: V | undefined;
  let failure: unknown;
  while (performance.now() < deadline) {
    try {
      last = await read();
      failure = undefined;
      if (done(last)) return last;
    } catch (error) {
      failure = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(
    `Timed out after ${ms} ms waiting for ${what}; last seen: ${JSON.stringify(last)}${
      failure === undefined ? "" : `; last error: ${failure}`
    }`,
  );
}

// --- A scenario's processes, scraped by a real Prometheus ---------------------------------

/** One sample of an instant query's vector. */
interface VectorSample {
  labels: Record<string, string>;
  value: number;
}

/** Prometheus's instant query. */
async function query(api: string, promql: string): Promise<VectorSample[]> {
  const { response, body } = await get(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
  if (response.status !== 200) throw new Error(`${promql}: HTTP ${response.status}: ${body}`);
  const answer = JSON.parse(body) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (answer.status !== "success") throw new Error(`${promql}: ${body}`);
  return answer.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
}

/** What Prometheus shows about the group at one moment. */
interface Scraped {
  /** `up`, by target (the role's name). */
  up: Record<string, number>;
  /** `zmq_group_delivered_total{role="client"}`, by id. */
  delivered: Record<string, number>;
  /** What the clients' result files had at the same time, by id. */
  files: Record<string, number>;
  /** `zmq_group_ordered_total{role="sequencer"}`. */
  ordered: number[];
  /** `zmq_group_forwarded_total{role="broker"}`. */
  forwarded: number[];
}

/** Reads what {@link Scraped} holds, from Prometheus's query API and the result files. */
async function scraped(api: string, control: ScenarioControl, ids: string[]): Promise<Scraped> {
  const byLabel = (samples: VectorSample[], label: string) =>
    Object.fromEntries(samples.map((s) => [s.labels[label] ?? "", s.value]));
  const [up, delivered, ordered, forwarded] = await Promise.all([
    query(api, "up"),
    query(api, 'zmq_group_delivered_total{role="client"}'),
    query(api, 'zmq_group_ordered_total{role="sequencer"}'),
    query(api, 'zmq_group_forwarded_total{role="broker"}'),
  ]);
  return {
    up: byLabel(up, "target"),
    delivered: byLabel(delivered, "id"),
    files: Object.fromEntries(ids.map((id) => [id, control.delivered(id)])),
    ordered: ordered.map((s) => s.value),
    forwarded: forwarded.map((s) => s.value),
  };
}

Deno.test({
  name:
    "Prometheus scrapes every role of scenarios/seed: all up, 26 delivered by each client and ordered by the sequencer",
  ignore: !HAVE_PROMETHEUS,
  async fn() {
    const ids = ["c1", "c2", "c3", "c4"];
    const expected = 26;
    // Prometheus's port, the broker's, the sequencer's, one per client, then the group's four.
    const first = freeBasePort(3 + ids.length + 4);
    const ports = {
      prometheus: first,
      broker: first + 1,
      sequencer: first + 2,
      ...Object.fromEntries(ids.map((id, i) => [id, first + 3 + i])),
    } as Record<string, number>;
    const roles = ["broker", "sequencer", ...ids];
    const dir = await Deno.makeTempDir({ prefix: "metrics-prometheus-" });
    const config = join(dir, "prometheus.yml");
    // One target a role, labelled with its name. Prometheus's discovery hands
    // the targets over about 5 s after its start; the scrapes follow fast.
    await Deno.writeTextFile(
      config,
      [
        "global:",
        "  scrape_interval: 200ms",
        "  scrape_timeout: 200ms",
        "scrape_configs:",
        "  - job_name: group",
        "    static_configs:",
        ...roles.flatMap((role) => [
          `      - targets: ["127.0.0.1:${ports[role]}"]`,
          `        labels: { target: "${role}" }`,
        ]),
        "",
      ].join("\n"),
    );
    const api = `http://127.0.0.1:${ports.prometheus}`;
    let prometheus: RoleProcess | undefined;
    try {
      prometheus = spawn("prometheus", PROMETHEUS, [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${ports.prometheus}`,
        "--log.level=warn",
      ]);
      const metrics = (role: string) => ["--metrics", `127.0.0.1:${ports[role]}`];
      let seen: Scraped | undefined;
      const report = await within(
        60_000,
        "scenarios/seed with Prometheus scraping it",
        runScenario({
          scenario: `${ROOT}scenarios/seed`,
          out: join(dir, "out"),
          timeScale: 0.05,
          basePort: first + 3 + ids.length,
          brokerFlags: metrics("broker"),
          sequencerFlags: metrics("sequencer"),
          clientFlagsFor: metrics,
          // The roles stop once this returns: Prometheus is asked before.
          faults: async (control) => {
            const exited = prometheus!.status.then((status) => {
              throw new Error(
                `prometheus exited with code ${status.code}: ${prometheus!.stderr()}`,
              );
            });
            seen = await Promise.race([
              exited,
              until(
                T,
                "Prometheus to show every target up and every client's deliveries",
                () => scraped(api, control, ids),
                (s) =>
                  roles.every((role) => s.up[role] === 1) &&
                  ids.every((id) => s.files[id]! >= expected && s.delivered[id] === s.files[id]) &&
                  s.ordered.length === 1 && s.ordered[0]! >= expected,
                200,
              ),
            ]);
          },
        }),
      );
      const what = `${formatReport(report)}\nPrometheus saw ${
        JSON.stringify(seen)
      }\n${prometheus.stderr()}`;
      assert.deepEqual(report.violations, [], what);
      assert.equal(report.expected, expected, what);
      assert.ok(seen !== undefined, what);
      assert.deepEqual(seen.up, Object.fromEntries(roles.map((role) => [role, 1])), what);
      assert.deepEqual(seen.delivered, Object.fromEntries(ids.map((id) => [id, expected])), what);
      assert.deepEqual(seen.ordered, [expected], what);
      assert.equal(seen.forwarded.length, 1, what);
      assert.ok(seen.forwarded[0]! > 0, what);
    } finally {
      if (prometheus !== undefined) await stop(prometheus);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// --- A group in this process, read over HTTP ----------------------------------------------

/** Starts a broker, the sequencer, c1 and c2 over tcp, each serving its metrics on a port of its own. */
function metricsGroup(): Promise<TestGroup> {
  return startGroup({
    members: ["c1", "c2"],
    where: { host: "127.0.0.1", basePort: freeBasePort() },
    timeoutMs: T,
    broker: { metrics: { port: 0 } },
    sequencer: { metrics: { port: 0 } },
    member: { c1: { metrics: { port: 0 } }, c2: { metrics: { port: 0 } } },
  });
}

/** Each member multicasts `each` payloads; resolves with the deliveries of every member (all of them). */
async function multicastAll(group: TestGroup, each: number, tag: string) {
  const total = each * group.members.length;
  const taking = group.members.map((member) => take(member, total));
  for (let i = 0; i < each; i++) {
    for (const member of group.members) await member.multicast(`${member.id}###${tag}${i}`);
  }
  return await within(T, `${total} deliveries at every member`, Promise.all(taking));
}

/** The next `count` deliveries of a member, as order number and sender. */
async function take(member: Member, count: number): Promise<{ seq: number; sender: string }[]> {
  const out: { seq: number; sender: string }[] = [];
  for await (const delivery of member.delivered()) {
    out.push({ seq: delivery.seq, sender: delivery.sender });
    if (out.length === count) break;
  }
  return out;
}

/** The group's roles with where they serve. */
function served(group: TestGroup) {
  const roles = [
    { role: "broker", id: "broker", of: group.broker },
    { role: "sequencer", id: "sequencer", of: group.sequencer },
    ...group.members.map((m) => ({ role: "client", id: m.id, of: m })),
  ];
  return roles.map(({ role, id, of }) => {
    const url = of.metricsUrl;
    assert.ok(url !== undefined, `${id} serves no metrics`);
    return { role, id, url, counters: () => of.counters as Readonly<Record<string, number>> };
  });
}

/** `directForwarded` → `zmq_group_direct_forwarded_total`. */
function counterFamily(name: string): string {
  return `zmq_group_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`;
}

/** Counters that are states, read out as gauges (`highest_order`, `held_back_messages`). */
const NOT_COUNTERS = new Set(["heldBack", "highestOrder"]);

/** The value of the one sample of `family` with exactly these labels. */
function sampleOf(
  families: ParsedFamily[],
  family: string,
  labels: Record<string, string>,
): number {
  const found = families.find((f) => f.name === family);
  assert.ok(found !== undefined, `no family ${family}`);
  const samples = found.samples.filter((s) =>
    JSON.stringify(Object.entries(s.labels).sort()) ===
      JSON.stringify(Object.entries(labels).sort())
  );
  assert.equal(samples.length, 1, `${family}${JSON.stringify(labels)}: ${samples.length} samples`);
  return samples[0]!.value;
}

Deno.test("parseExposition() refuses what Prometheus's text format or our conventions do not allow", () => {
  const good = "# HELP a_total A.\n# TYPE a_total counter\n" +
    'a_total{role="x",id="y\\"z"} 1\na_total{role="x",id="w"} 2.5e+3\n' +
    '# HELP g A gauge.\n# TYPE g gauge\ng NaN\ng{l=""} -Inf\n';
  const families = parseExposition(good);
  assert.deepEqual(families.map((f) => [f.name, f.type, f.samples.length]), [
    ["a_total", "counter", 2],
    ["g", "gauge", 2],
  ]);
  assert.deepEqual(families[0]!.samples[0]!.labels, { role: "x", id: 'y"z' });
  assert.equal(families[0]!.samples[1]!.value, 2500);
  const bad: [string, RegExp][] = [
    ["# HELP a_total A.\n# TYPE a_total counter\na_total 1", /newline/],
    ["a 1\n", /without HELP and TYPE/],
    ["# TYPE a gauge\na 1\n", /before both HELP and TYPE/],
    ["# HELP a A.\n# TYPE a gauge\na 1\n\n", /blank line/],
    ["# HELP a A.\n# TYPE a gauge\na 1\na 2\n", /series given twice/],
    ['# HELP a A.\n# TYPE a gauge\na{x="1",y="2"} 1\na{y="2",x="1"} 2\n', /series given twice/],
    [
      "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\na 2\n",
      /apart from its family/,
    ],
    ["# HELP a A.\n# TYPE a gauge\n# HELP a A.\n", /after its family began/],
    ["# HELP a A.\n# TYPE a gauge\n# HELP b B.\n# TYPE b gauge\n# HELP a A.\n", /given twice/],
    ["# HELP a A.\n# TYPE a counter\na 1\n", /does not end in _total/],
    ["# HELP a_total A.\n# TYPE a_total counter\na_total -1\n", /not >= 0/],
    ["# HELP a A.\n# TYPE a gauge\na one\n", /is no number/],
    ["# HELP a A.\n# TYPE a gauge\na  1\n", /one space/],
    ['# HELP a A.\n# TYPE a gauge\na{x="1",x="2"} 1\n', /given twice/],
    ['# HELP a A.\n# TYPE a gauge\na{__x="1"} 1\n', /reserved/],
    ['# HELP a A.\n# TYPE a gauge\na{x="\\t"} 1\n', /invalid escape/],
    ['# HELP a A.\n# TYPE a gauge\na{x="1} 1\n', /unterminated|expected/],
    ["# HELP a A.\n# TYPE a number\n", /unknown type/],
    ["# HELP 1a A.\n", /invalid metric name/],
    ["# HELP a A.\n# TYPE a gauge\na 1 soon\n", /timestamp/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseExposition(text), message, JSON.stringify(text));
  }
});

Deno.test("GET /metrics of a broker, a sequencer and members is strict Prometheus text that matches their counters", async () => {
  const group = await metricsGroup();
  try {
    const each = 5;
    const total = each * group.members.length;
    await multicastAll(group, each, "m");
    for (const { role, id, url, counters } of served(group)) {
      const before = counters();
      const { response, body } = await get(`${url}metrics`);
      const after = counters();
      assert.equal(response.status, 200, `${id}: ${body}`);
      assert.equal(
        response.headers.get("content-type"),
        "text/plain; version=0.0.4; charset=utf-8",
      );
      let families: ParsedFamily[];
      try {
        families = parseExposition(body);
      } catch (error) {
        throw new Error(`${id}'s /metrics: ${(error as Error).message}\n${body}`);
      }
      const labels = { role, id };
      // Every counter of the role, once, with its labels; heartbeats may count on meanwhile.
      const names = Object.keys(after).filter((name) => !NOT_COUNTERS.has(name));
      for (const name of names) {
        const value = sampleOf(families, counterFamily(name), labels);
        assert.ok(
          before[name]! <= value && value <= after[name]!,
          `${id}'s ${name}: ${value}, counters ${before[name]}..${after[name]}`,
        );
      }
      // And nothing else is a counter.
      assert.deepEqual(
        families.filter((f) => f.type === "counter").map((f) => f.name).sort(),
        names.map(counterFamily).sort(),
        id,
      );
      for (const family of families.filter((f) => f.name.startsWith("zmq_group_"))) {
        for (const sample of family.samples) assert.deepEqual(sample.labels, labels, family.name);
      }
      assert.equal(sampleOf(families, "zmq_group_highest_order", labels), total, id);
      assert.ok(sampleOf(families, "process_resident_memory_bytes", {}) > 0, id);
      if (role === "client") {
        assert.equal(sampleOf(families, "zmq_group_sent_total", labels), each, id);
        assert.equal(sampleOf(families, "zmq_group_delivered_total", labels), total, id);
        assert.equal(sampleOf(families, "zmq_group_delivered_order", labels), total, id);
        assert.equal(sampleOf(families, "zmq_group_lag_orders", labels), 0, id);
        assert.equal(sampleOf(families, "zmq_group_in_flight", labels), 0, id);
      } else if (role === "sequencer") {
        assert.equal(sampleOf(families, "zmq_group_ordered_total", labels), total);
      } else {
        assert.ok(sampleOf(families, "zmq_group_forwarded_total", labels) > 0);
      }
    }
  } finally {
    await group.close();
  }
});

Deno.test("GET /status of each role is its JSON state; other paths are 404, other methods 405, and bad requests leave the group delivering", async () => {
  const group = await metricsGroup();
  try {
    const each = 3;
    const total = each * group.members.length;
    const [deliveries] = await multicastAll(group, each, "s");
    const roles = served(group);
    const [broker, sequencer, ...members] = roles;

    for (const { role, id, url, counters } of roles) {
      const status = await getJson(`${url}status`);
      assert.equal(status.pid, Deno.pid);
      // The process's uptime (this one's: the roles run here), in tenths of seconds.
      const uptime = performance.now() / 1000;
      assert.equal(typeof status.uptimeSeconds, "number");
      assert.ok(
        Math.abs(status.uptimeSeconds as number - uptime) < 0.5,
        `${status.uptimeSeconds} s, not ${uptime}`,
      );
      const list = status.roles as Record<string, unknown>[];
      assert.equal(list.length, 1, id);
      const [mine] = list as [Record<string, unknown>];
      assert.equal(mine.role, role);
      assert.equal(mine.id, id);
      for (const part of ["config", "counters", "gauges", "group"]) {
        assert.equal(typeof mine[part], "object", `${id}'s ${part}`);
      }
      const shown = mine.counters as Record<string, number>;
      assert.deepEqual(Object.keys(shown).sort(), Object.keys(counters()).sort(), id);
      const gauges = mine.gauges as Record<string, number>;
      assert.equal(gauges.highest_order, total, id);
      if (role === "client") {
        assert.equal(shown.delivered, total, id);
        assert.equal(gauges.delivered_order, total, id);
        assert.equal(gauges.lag_orders, 0, id);
        assert.equal((mine.group as Record<string, unknown>).failure, null, id);
        assert.equal((mine.config as Record<string, unknown>).curve, false, id);
      }
    }

    const brokerStatus = (await getJson(`${broker!.url}status`)).roles as Record<string, unknown>[];
    const brokerGroup = brokerStatus[0]!.group as Record<string, unknown>;
    assert.deepEqual(brokerGroup.evicted, []);
    for (const id of ["c1", "c2"]) {
      assert.ok((brokerGroup.participants as string[]).includes(id), JSON.stringify(brokerGroup));
    }
    assert.equal((brokerStatus[0]!.config as Record<string, unknown>).expect, 3);

    // The members greet the sequencer every second, saying what they delivered.
    const seq = await until(
      T,
      "the sequencer's /status to list c1 and c2 with what they delivered",
      async () =>
        ((await getJson(`${sequencer!.url}status`)).roles as Record<string, unknown>[])[0]!,
      (s) =>
        JSON.stringify(
          [...(s.group as { members: { id: string; reportedMsAgo?: number }[] }).members]
            .sort((a, b) => a.id < b.id ? -1 : 1)
            // How long ago each reported: at most a couple of greetings.
            .map(({ reportedMsAgo, ...rest }) => ({
              ...rest,
              recent: (reportedMsAgo ?? 1e9) < 3000,
            })),
        ) ===
          JSON.stringify(
            ["c1", "c2"].map((id) => ({ id, delivered: total, lag: 0, recent: true })),
          ),
    );
    assert.equal(
      (seq.group as Record<string, unknown>).view,
      (seq.gauges as Record<string, number>).view,
    );
    // The latest orders with their senders: here all of them, as the members delivered them.
    assert.deepEqual(seq.recent, deliveries);
    assert.deepEqual(
      (seq.recent as { sender: string }[]).map((r) => r.sender).sort(),
      [...Array(each).fill("c1"), ...Array(each).fill("c2")],
    );

    for (const { id, url } of roles) {
      const nope = await get(`${url}nope`);
      assert.equal(nope.response.status, 404, id);
      assert.match(nope.body, /\/nope/);
      for (const method of ["POST", "PUT", "DELETE"]) {
        const refused = await get(`${url}metrics`, {
          method,
          body: method === "DELETE" ? undefined : "x",
        });
        assert.equal(refused.response.status, 405, `${method} at ${id}`);
        assert.equal(refused.response.headers.get("allow"), "GET, HEAD", `${method} at ${id}`);
      }
      const head = await get(`${url}metrics`, { method: "HEAD" });
      assert.equal(head.response.status, 200, id);
      assert.equal(head.body, "");
      const page = await get(url);
      assert.equal(page.response.status, 200, id);
      assert.match(page.response.headers.get("content-type") ?? "", /^text\/html/);
      // Not HTTP at all.
      const { hostname, port } = new URL(url);
      const conn = await Deno.connect({ hostname, port: Number(port) });
      try {
        await conn.write(new TextEncoder().encode("NOT HTTP AT ALL\r\n\r\n"));
        const reply = new Uint8Array(64);
        const n = await within(T, `${id}'s answer to a request that is not HTTP`, conn.read(reply));
        assert.match(decoder.decode(reply.subarray(0, n ?? 0)), /^HTTP\/1\.[01] 400/, id);
      } finally {
        conn.close();
      }
    }

    // The group goes on as before.
    await multicastAll(group, each, "after");
    for (const { id, url } of members) {
      const families = parseExposition((await get(`${url}metrics`)).body);
      assert.equal(
        sampleOf(families, "zmq_group_delivered_total", { role: "client", id }),
        2 * total,
        id,
      );
    }
  } finally {
    await group.close();
  }
});

// --- The command lines -----------------------------------------------------------------------

/** Runs a role's entry point to its end (killed, and failing, after `T`). */
async function runRole(
  role: "broker" | "sequencer" | "client",
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const entry = `roles/cli/${role}_main.ts`;
  const signal = AbortSignal.timeout(T);
  const output = await new Deno.Command(DENO, {
    args: [
      "run",
      "--allow-ffi",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      entry,
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal,
  }).output();
  const stderr = decoder.decode(output.stderr);
  if (signal.aborted) {
    throw new Error(`Timed out after ${T} ms waiting for the ${role} to exit; stderr:\n${stderr}`);
  }
  return { code: output.code, stderr };
}

/** The flags that make a client of `basePort` (its script and output folder). */
function clientArgs(basePort: number, out: string): string[] {
  return [
    ...["--id", "c1", "--script", "scenarios/seed/c1.txt", "--out", out],
    ...["--base-port", String(basePort), "--join-timeout", "20"],
  ];
}

Deno.test("--metrics nonsense makes each role exit 2 naming --metrics, before the broker binds a port", async () => {
  const basePort = freeBasePort();
  // The group's ports are taken: a broker that bound them first would exit 1.
  const taken = [0, 1, 2, 3].map((i) => Deno.listen({ hostname: "127.0.0.1", port: basePort + i }));
  const out = await Deno.makeTempDir({ prefix: "metrics-cli-" });
  try {
    const port = ["--base-port", String(basePort)];
    const results = await Promise.all([
      runRole("broker", ["--expect", "1", ...port, "--metrics", "nonsense"]),
      runRole("sequencer", [...port, "--metrics", "nonsense"]),
      runRole("client", [...clientArgs(basePort, out), "--metrics", "127.0.0.1:99999"]),
    ]);
    for (const [i, { code, stderr }] of results.entries()) {
      assert.equal(code, 2, stderr);
      assert.match(
        stderr,
        /Invalid --metrics "(nonsense|127\.0\.0\.1:99999)": expected HOST:PORT/,
        `${i}: ${stderr}`,
      );
    }
  } finally {
    for (const listener of taken) listener.close();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("A --metrics port in use makes each role exit 1 naming the address", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const address = `127.0.0.1:${busy.addr.port}`;
  const out = await Deno.makeTempDir({ prefix: "metrics-cli-" });
  let broker: RoleProcess | undefined;
  try {
    // The broker serves at once.
    const alone = await runRole("broker", [
      ...["--expect", "1", "--base-port", String(freeBasePort()), "--metrics", address],
    ]);
    assert.equal(alone.code, 1, alone.stderr);
    assert.ok(alone.stderr.includes(`Cannot serve metrics on ${address}`), alone.stderr);
    assert.match(alone.stderr, /in use/i);
    // The sequencer and a client serve once they joined: a broker lets them in.
    const basePort = freeBasePort();
    broker = spawnRole("broker", "broker", ["--expect", "2", "--base-port", String(basePort)]);
    const results = await Promise.all([
      runRole("sequencer", [
        "--base-port",
        String(basePort),
        "--join-timeout",
        "20",
        "--metrics",
        address,
      ]),
      runRole("client", [...clientArgs(basePort, out), "--metrics", address]),
    ]);
    for (const { code, stderr } of results) {
      assert.equal(code, 1, stderr);
      assert.ok(stderr.includes(`Cannot serve metrics on ${address}`), stderr);
    }
  } finally {
    if (broker !== undefined) await stop(broker);
    busy.close();
    await Deno.remove(out, { recursive: true });
  }
});

/** Sends one raw HTTP request and returns the status line's code. */
async function rawStatus(port: number, request: string): Promise<number> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await connection.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(256);
    const read = await within(T, "the HTTP answer", connection.read(buffer));
    return Number(decoder.decode(buffer.subarray(0, read ?? 0)).split(" ")[1]);
  } finally {
    connection.close();
  }
}

Deno.test("A client serves its /status while it joins (state joining), and a Host that is not ours gets 421", async () => {
  const basePort = freeBasePort();
  const metricsPort = freeBasePort();
  const out = await Deno.makeTempDir({ prefix: "metrics-joining-" });
  // No broker: the client waits at the barrier (its join timeout is 20 s).
  const client = spawnRole("c1", "client", [
    ...clientArgs(basePort, out),
    "--metrics",
    String(metricsPort),
  ]);
  try {
    const status = await until(
      T,
      "the joining client's /status",
      async () => {
        try {
          return (await getJson(`http://127.0.0.1:${metricsPort}/status`)).roles as Record<
            string,
            unknown
          >[];
        } catch {
          return undefined;
        }
      },
      (roles) => roles !== undefined,
    );
    assert.deepEqual(status![0]!.state, "joining");
    assert.equal(status![0]!.id, "c1");
    // DNS rebinding: a page of another site that resolves to 127.0.0.1.
    assert.equal(
      await rawStatus(
        metricsPort,
        "GET /status HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
      ),
      421,
    );
    assert.equal(
      await rawStatus(
        metricsPort,
        `GET /status HTTP/1.1\r\nHost: localhost:${metricsPort}\r\nConnection: close\r\n\r\n`,
      ),
      200,
    );
  } finally {
    await stop(client);
    await Deno.remove(out, { recursive: true });
  }
});
