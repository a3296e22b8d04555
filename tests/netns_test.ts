/**
 * The group across several hosts: the broker, the sequencer and four clients
 * each in a network namespace of its own, with its own address, all joined
 * by veth pairs to a bridge in one more namespace. The scenario runs across
 * them while a client's link, and later the broker's, is cut for a while
 * (link down, then up): the group must recover and lose nothing. In between,
 * another client's link stays down for longer than the sequencer's
 * `--evict-after`: the sequencer must evict it (a view with `left c3
 * (timeout)`, the same at every other client) within about that time, and
 * when the link comes back it must join again (a later view with `joined
 * c3`) and catch up. A direct message to a member while it is evicted is
 * dropped by design (the broker tells its sender): the test counts those
 * from the broker's log (it runs with --verbose) and requires every other
 * one to arrive, once.
 *
 * Everything is made inside namespaces named `zgt-<pid>-<host>`; the root
 * namespace is not touched. They are deleted in a `finally`, and a later run
 * deletes the leftovers of a run whose process is gone. Where namespaces
 * cannot be made (no root, no iproute2) the test is ignored with a printed
 * reason.
 *
 * Knobs, for experiments: ZG_NETNS_CUT_SECONDS (default 2) is how long the
 * client's and the broker's links stay down (the scenario's sending time
 * grows with it; the evicted client's link stays down EVICT_AFTER_S + 3 s);
 * ZG_NETNS_VERBOSE=1 runs the roles with --verbose (their logs are saved
 * when the test fails).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { scenarioPayload } from "../roles/harness/script.ts";
import { ROLE_ENTRY, type RoleProcess, spawn, stop } from "../tasks/_processes.ts";
import { countLines, readLines, resultPaths } from "../tasks/scenario.ts";
import { DENO } from "./_helpers.ts";

const decoder = new TextDecoder();
const ROLE_PERMISSIONS = ["--allow-ffi", "--allow-env", "--allow-read", "--allow-write"];

/** Every namespace made here is named `zgt-<pid of the test>-<what>`. */
const PREFIX = "zgt-";
const RUN = `${PREFIX}${Deno.pid}`;
/** The namespace that holds the bridge. */
const BRIDGE_NS = `${RUN}-br`;
/** Private addresses, used only inside our own namespaces. */
const SUBNET = "10.199.1";
/** Each host's last address byte. */
const HOSTS = { broker: 1, sequencer: 2, c1: 11, c2: 12, c3: 13, c4: 14 } as const;
type Host = keyof typeof HOSTS;
const CLIENTS = ["c1", "c2", "c3", "c4"] as const;
const BROKER_ADDRESS = `${SUBNET}.${HOSTS.broker}`;
/** Each namespace has its own ports: a fixed base port will do. */
const BASE_PORT = 5559;

/** Multicasts per client; after every 5 a sleep, every 40 a direct message to the next client. */
const MULTICASTS = 200;
const CUT_SECONDS = (() => {
  const raw = Deno.env.get("ZG_NETNS_CUT_SECONDS");
  const value = raw === undefined ? 2 : Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`ZG_NETNS_CUT_SECONDS=${raw}: expected a number of seconds > 0`);
  }
  return value;
})();
/** The sequencer's `--evict-after`: a member silent this long is evicted. */
const EVICT_AFTER_S = 2;
/** How often a member greets the sequencer (the member's default heartbeat). */
const HEARTBEAT_S = 1;
/** How long c3's link stays down: long enough to be evicted for sure. */
const EVICT_CUT_SECONDS = EVICT_AFTER_S + 3;
/**
 * The eviction must show at c1 this soon after c3's link went down: c3 was
 * last heard at most a heartbeat before, and is evicted `EVICT_AFTER_S`
 * after that; plus some slack for the sequencer's check and the view's way.
 */
const EVICTION_LIMIT_S = EVICT_AFTER_S + HEARTBEAT_S + 0.5;
/** The scripts send for this long, so that all three cuts fall while they send. */
const SEND_SECONDS = Math.max(8, 4 * CUT_SECONDS + EVICT_AFTER_S + 4);
const VERBOSE = Deno.env.get("ZG_NETNS_VERBOSE") === "1";

const nsOf = (host: Host) => `${RUN}-${host}`;
/** The bridge's end of a host's veth pair (the host's end is its eth0). */
const vethOf = (host: Host) => `v-${host}`;

// --- ip(8) -----------------------------------------------------------------------------------

interface IpResult {
  ok: boolean;
  output: string;
}

/** iproute2's `ip`, where PATH may lack the sbin folders. */
const IP = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}) ?? "ip";

/** Runs `ip <args>`; throws Deno.errors.NotFound where there is no `ip`. */
async function ip(args: string[]): Promise<IpResult> {
  const output = await new Deno.Command(IP, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ok: output.success,
    output: `${decoder.decode(output.stdout)}${decoder.decode(output.stderr)}`.trim(),
  };
}

/** Runs `ip <args>` and throws, naming the command, if it fails. */
async function ipOk(args: string[]): Promise<string> {
  const result = await ip(args);
  if (!result.ok) throw new Error(`ip ${args.join(" ")} failed: ${result.output}`);
  return result.output;
}

/** Kills whatever still runs in a namespace of ours, then deletes it. */
async function deleteNamespace(name: string): Promise<string | null> {
  const pids = await ip(["netns", "pids", name]);
  if (pids.ok) {
    for (const pid of pids.output.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }
  const deleted = await ip(["netns", "del", name]);
  return deleted.ok ? null : `ip netns del ${name}: ${deleted.output}`;
}

/** Our namespaces that exist now. */
async function ourNamespaces(): Promise<string[]> {
  const list = await ip(["netns", "list"]);
  if (!list.ok) return [];
  return list.output.split("\n").map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith(PREFIX));
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Deletes the namespaces left behind by runs whose process is gone. */
async function removeStale(): Promise<void> {
  for (const name of await ourNamespaces()) {
    const pid = Number(/^zgt-(\d+)-/.exec(name)?.[1] ?? NaN);
    if (Number.isInteger(pid) && pid !== Deno.pid && !alive(pid)) {
      const error = await deleteNamespace(name);
      console.log(`Removed a leftover namespace ${name}${error === null ? "" : `: ${error}`}`);
    }
  }
}

/** Null where namespaces, bridges and veth pairs can be made; otherwise why not. */
async function probeNamespaces(): Promise<string | null> {
  const probe = `${RUN}-probe`;
  try {
    await removeStale();
    const added = await ip(["netns", "add", probe]);
    if (!added.ok) {
      return `cannot make a network namespace (ip netns add: ${added.output}); ` +
        "it takes root (CAP_SYS_ADMIN and CAP_NET_ADMIN)";
    }
    try {
      for (
        const args of [
          ["link", "add", "br0", "type", "bridge"],
          ["link", "add", "v0", "type", "veth", "peer", "name", "v1"],
        ]
      ) {
        const made = await ip(["-n", probe, ...args]);
        if (!made.ok) {
          return `cannot make a ${args[4]} link in a namespace (ip ${
            args.join(" ")
          }: ${made.output})`;
        }
      }
    } finally {
      await deleteNamespace(probe);
    }
    return null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return "the ip command (iproute2) is not installed: sh tasks/setup.sh test";
    }
    return `cannot run ip: ${error instanceof Error ? error.message : error}`;
  }
}

const NO_NETNS = await probeNamespaces();
if (NO_NETNS !== null) {
  console.log(`Skipping the test across network namespaces: ${NO_NETNS}`);
}

// --- The network ---------------------------------------------------------------------------

/**
 * Makes the bridge namespace and one namespace per host, each host's eth0
 * paired with a port of the bridge. `made` collects the namespaces as they
 * are made, for the cleanup.
 */
async function makeNetwork(made: string[]): Promise<void> {
  await ipOk(["netns", "add", BRIDGE_NS]);
  made.push(BRIDGE_NS);
  await ipOk(["-n", BRIDGE_NS, "link", "set", "lo", "up"]);
  await ipOk(["-n", BRIDGE_NS, "link", "add", "br0", "type", "bridge"]);
  await ipOk(["-n", BRIDGE_NS, "link", "set", "br0", "up"]);
  for (const [host, n] of Object.entries(HOSTS) as [Host, number][]) {
    const ns = nsOf(host);
    await ipOk(["netns", "add", ns]);
    made.push(ns);
    await ipOk([
      ...["-n", BRIDGE_NS, "link", "add", vethOf(host), "type", "veth"],
      ...["peer", "name", "eth0", "netns", ns],
    ]);
    await ipOk(["-n", BRIDGE_NS, "link", "set", vethOf(host), "master", "br0", "up"]);
    await ipOk(["-n", ns, "link", "set", "lo", "up"]);
    await ipOk(["-n", ns, "addr", "add", `${SUBNET}.${n}/24`, "dev", "eth0"]);
    await ipOk(["-n", ns, "link", "set", "eth0", "up"]);
  }
}

/** Takes a host's link down (its port on the bridge), or up again. */
async function setLink(host: Host, state: "up" | "down"): Promise<void> {
  await ipOk(["-n", BRIDGE_NS, "link", "set", vethOf(host), state]);
}

// --- The scenario --------------------------------------------------------------------------

/** The scripts, and what every client must deliver and receive. */
function makeScripts(): {
  scripts: Map<string, string>;
  multicasts: string[];
  directsTo: Map<string, string[]>;
} {
  const sleep = SEND_SECONDS / (MULTICASTS / 5);
  const scripts = new Map<string, string>();
  const multicasts: string[] = [];
  const directsTo = new Map<string, string[]>(CLIENTS.map((id) => [id, []]));
  CLIENTS.forEach((id, index) => {
    const to = CLIENTS[(index + 1) % CLIENTS.length]!;
    const lines = [`# ${id}: ${MULTICASTS} multicasts over about ${SEND_SECONDS} s`];
    for (let i = 1; i <= MULTICASTS; i++) {
      lines.push(`Multicast,${id},m${i}`);
      multicasts.push(scenarioPayload(id, `m${i}`));
      if (i % 5 === 0) lines.push(`sleep,${sleep}`);
      if (i % 40 === 0) {
        lines.push(`${id},${to},d${i}`);
        directsTo.get(to)!.push(scenarioPayload(id, `d${i}`));
      }
    }
    scripts.set(id, lines.join("\n") + "\n");
  });
  return { scripts, multicasts, directsTo };
}

/** Starts a role with Deno inside its host's namespace. */
function startRole(host: Host, role: keyof typeof ROLE_ENTRY, args: string[]): RoleProcess {
  return spawn(host, IP, [
    ...["netns", "exec", nsOf(host), DENO, "run", ...ROLE_PERMISSIONS, ROLE_ENTRY[role]],
    ...["--host", BROKER_ADDRESS, "--base-port", String(BASE_PORT)],
    ...(VERBOSE ? ["--verbose"] : []),
    ...args,
  ]);
}

function sorted(items: string[]): string[] {
  return [...items].sort();
}

function tail(text: string, lines = 5): string {
  return text.trim().split("\n").slice(-lines).join("\n    ");
}

/** The last `counters {...}` line a role logged (at its shutdown), or "". */
function counters(log: string): string {
  const lines = log.split("\n").filter((line) => line.includes("] counters {"));
  return lines[lines.length - 1]?.replace(/^.*\] counters /, "") ?? "";
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A direct message the broker dropped (and told its sender so). */
interface DroppedDirect {
  from: string;
  to: string;
  payload: string;
  /** True if dropped because the sequencer had evicted the recipient. */
  evicted: boolean;
  /** The broker's line. */
  line: string;
}

/**
 * The direct messages a broker's log (with --verbose) says it dropped:
 * `Direct message from <from>: unknown recipient "<to>" (...): direct message "<payload>" dropped`.
 */
function droppedDirects(log: string): DroppedDirect[] {
  const dropped: DroppedDirect[] = [];
  for (const line of log.split("\n")) {
    const match = /Direct message from (\S+): (.*): direct message (".*") dropped$/.exec(line);
    if (match === null) continue;
    const [, from = "", why = "", quoted = ""] = match;
    const to = /^(?:unknown )?recipient "([^"]+)"/.exec(why)?.[1] ?? "";
    dropped.push({
      from,
      to,
      payload: JSON.parse(quoted) as string,
      evicted: why.includes("(the sequencer evicted it from the group"),
      line: line.replace(/^\[broker\] /, ""),
    });
  }
  return dropped;
}

Deno.test({
  name:
    "The group across network namespaces recovers from a client's and the broker's link cut, and evicts a silent client",
  ignore: NO_NETNS !== null,
  async fn() {
    const started = performance.now();
    const at = () => `${((performance.now() - started) / 1000).toFixed(2)} s`;
    const made: string[] = [];
    const roles = new Map<Host, RoleProcess>();
    const stopped = new Set<Host>();
    const dir = await Deno.makeTempDir({ prefix: "netns-test-" });
    const out = join(dir, "out");
    let passed = false;
    let cleanupProblems: string[] = [];
    try {
      await makeNetwork(made);
      const setupSeconds = at();
      const { scripts, multicasts, directsTo } = makeScripts();
      await Deno.mkdir(join(dir, "scripts"));
      await Deno.mkdir(out);
      for (const [id, text] of scripts) {
        await Deno.writeTextFile(join(dir, "scripts", `${id}.txt`), text);
      }

      // --verbose: the broker logs each direct message it drops (to an evicted member).
      roles.set(
        "broker",
        startRole("broker", "broker", [
          ...["--expect", String(CLIENTS.length + 1)],
          ...(VERBOSE ? [] : ["--verbose"]),
        ]),
      );
      roles.set(
        "sequencer",
        startRole("sequencer", "sequencer", [
          ...["--join-timeout", "20", "--evict-after", String(EVICT_AFTER_S)],
        ]),
      );
      for (const id of CLIENTS) {
        roles.set(
          id,
          startRole(id, "client", [
            ...["--id", id, "--script", join(dir, "scripts", `${id}.txt`), "--out", out],
            ...["--join-timeout", "20"],
          ]),
        );
      }
      const exitedEarly: string[] = [];
      for (const [host, role] of roles) {
        void role.status.then((status) => {
          if (!stopped.has(host)) {
            exitedEarly.push(
              `${host} exited by itself with code ${status.code}:\n    ${tail(role.stderr())}`,
            );
          }
        });
      }

      const tom = (id: string) => resultPaths(out, id).tom;
      const uno = (id: string) => resultPaths(out, id).uno;
      const views = (id: string) => resultPaths(out, id).views;
      const delivered = () => CLIENTS.map((id) => countLines(tom(id)));
      const received = () => CLIENTS.map((id) => countLines(uno(id)));
      // Direct messages to a member while the sequencer has it evicted are dropped by design,
      // their senders told: the broker's log names them.
      let brokerLogLength = -1;
      let dropCache: DroppedDirect[] = [];
      const dropped = () => {
        const log = roles.get("broker")!.stderr();
        if (log.length !== brokerLogLength) {
          brokerLogLength = log.length;
          dropCache = droppedDirects(log);
        }
        return dropCache;
      };
      // Members' direct messages; the sequencer's answers queued for a member it evicts are
      // dropped with them, and asked for again once it is back.
      const droppedTo = (id: string) =>
        dropped().filter((drop) => drop.to === id && drop.from !== "sequencer");
      const progress = () =>
        `delivered ${
          CLIENTS.map((id, i) => `${id} ${delivered()[i]}/${multicasts.length}`).join(", ")
        }; direct ${
          CLIENTS.map((id, i) =>
            `${id} ${received()[i]}/${directsTo.get(id)!.length}` +
            (droppedTo(id).length > 0 ? ` (+${droppedTo(id).length} dropped)` : "")
          ).join(", ")
        }`;
      // Join, sending, three cuts and their recovery, with room to spare.
      const deadline = performance.now() +
        (10 + SEND_SECONDS + 2 * CUT_SECONDS + EVICT_CUT_SECONDS + 15) * 1000;
      const waitUntil = async (what: string, condition: () => boolean, by = deadline) => {
        while (!condition()) {
          if (exitedEarly.length > 0) {
            throw new Error(`While waiting for ${what}: ${exitedEarly.join("\n")}`);
          }
          if (performance.now() > by) {
            throw new Error(`Timed out at ${at()} waiting for ${what}: ${progress()}`);
          }
          await sleep(20);
        }
      };
      const complete = () =>
        delivered().every((n) => n >= multicasts.length) &&
        CLIENTS.every((id, i) =>
          received()[i]! + droppedTo(id).length >= directsTo.get(id)!.length
        );
      const events: string[] = [`network of ${made.length} namespaces made in ${setupSeconds}`];
      const note = (event: string) => {
        events.push(`${at()}: ${event}`);
      };

      await waitUntil(
        "every client to deliver 80 multicasts",
        () => Math.min(...delivered()) >= 80,
      );
      note(`every client delivered 80; ${progress()}`);

      // A client's link: the others go on; it catches up.
      await setLink("c2", "down");
      note(`c2's link down`);
      await sleep(CUT_SECONDS * 1000);
      const c2Before = delivered()[1]!;
      await setLink("c2", "up");
      note(`c2's link up; ${progress()}`);
      const c2Up = performance.now();
      await waitUntil(
        "c2 to deliver again after its link came back",
        () => delivered()[1]! > c2Before,
      );
      note(`c2 delivers again, ${((performance.now() - c2Up) / 1000).toFixed(2)} s after up`);

      // Another client's link, for longer than --evict-after: the sequencer evicts it, and
      // when its link comes back it joins again and catches up.
      const evictedLine = "left c3 (timeout)";
      const c1ViewsBefore = readLines(views("c1")).length;
      let c3Left: string | undefined;
      await setLink("c3", "down");
      const c3Down = performance.now();
      note(`c3's link down`);
      await waitUntil(
        `c1 to get a view with "${evictedLine}"`,
        () => {
          c3Left = readLines(views("c1")).slice(c1ViewsBefore).find((line) =>
            line.includes(evictedLine)
          );
          return c3Left !== undefined;
        },
        c3Down + EVICT_CUT_SECONDS * 1000,
      );
      const evictionSeconds = (performance.now() - c3Down) / 1000;
      note(
        `c1 has c3's eviction, ${evictionSeconds.toFixed(2)} s after its link went down ` +
          `(at most ${EVICTION_LIMIT_S} s): ${c3Left}`,
      );
      assert.ok(
        evictionSeconds <= EVICTION_LIMIT_S,
        `c3's eviction reached c1 ${evictionSeconds.toFixed(2)} s after its link went down; ` +
          `expected at most ${EVICTION_LIMIT_S} s (--evict-after ${EVICT_AFTER_S}, ` +
          `heartbeat ${HEARTBEAT_S} s, 0.5 s slack)`,
      );
      await sleep(Math.max(0, c3Down + EVICT_CUT_SECONDS * 1000 - performance.now()));
      const c3Before = delivered()[2]!;
      await setLink("c3", "up");
      note(`c3's link up; ${progress()}`);
      const c3Up = performance.now();
      await waitUntil(
        "c3 to deliver again after its link came back",
        () => delivered()[2]! > c3Before,
      );
      note(`c3 delivers again, ${((performance.now() - c3Up) / 1000).toFixed(2)} s after up`);

      // The broker's link: the whole group stalls, then resumes.
      await waitUntil(
        "every client to deliver half of the multicasts",
        () => Math.min(...delivered()) >= multicasts.length / 2,
      );
      note(`every client delivered half; ${progress()}`);
      await setLink("broker", "down");
      note(`the broker's link down${complete() ? " (too late: all was delivered)" : ""}`);
      await sleep(CUT_SECONDS * 1000);
      const totalBefore = delivered().reduce((a, b) => a + b, 0);
      await setLink("broker", "up");
      note(`the broker's link up; ${progress()}`);
      const brokerUp = performance.now();
      await waitUntil(
        "the group to deliver again after the broker's link came back",
        () => complete() || delivered().reduce((a, b) => a + b, 0) > totalBefore,
      );
      note(
        `the group delivers again, ${
          ((performance.now() - brokerUp) / 1000).toFixed(2)
        } s after up`,
      );

      await waitUntil("every multicast and direct message to arrive", complete);
      note(`all delivered; ${progress()}`);
      // Anything delivered twice would show up now.
      await sleep(300);

      // Every role exits 0 on SIGTERM: the clients first, then the sequencer, then the broker.
      const codes = new Map<Host, number>();
      const stopRole = async (host: Host) => {
        stopped.add(host);
        codes.set(host, (await stop(roles.get(host)!)).code);
      };
      await Promise.all(CLIENTS.map(stopRole));
      await stopRole("sequencer");
      await stopRole("broker");
      note("all stopped");
      assert.deepEqual(exitedEarly, []);
      for (const [host, code] of codes) {
        assert.equal(
          code,
          0,
          `${host} exited with ${code}:\n    ${tail(roles.get(host)!.stderr())}`,
        );
      }

      // The eviction: the same view at every other client; c3's view of its return, the
      // same at c1 (c3 gets only the views it is in).
      assert.ok(c3Left !== undefined);
      for (const id of ["c1", "c2", "c4"]) {
        assert.ok(
          readLines(views(id)).includes(c3Left),
          `${id}'s views lack c3's eviction as c1 has it, ${JSON.stringify(c3Left)}:\n    ${
            readLines(views(id)).join("\n    ")
          }`,
        );
      }
      const viewNumber = (line: string) => Number(/^view (\d+) /.exec(line)?.[1] ?? NaN);
      const c1Views = readLines(views("c1"));
      const c3Joined = c1Views.slice(c1Views.indexOf(c3Left) + 1).find((line) =>
        /; joined (\S+ )*c3(;| |$)/.test(line)
      );
      assert.ok(
        c3Joined !== undefined,
        `c1 has no view with "joined c3" after c3's eviction:\n    ${c1Views.join("\n    ")}`,
      );
      assert.ok(viewNumber(c3Joined) > viewNumber(c3Left), `${c3Joined} after ${c3Left}`);
      const c3Views = readLines(views("c3"));
      assert.ok(
        c3Views.includes(c3Joined),
        `c3's views lack its return as c1 has it, ${JSON.stringify(c3Joined)}:\n    ${
          c3Views.join("\n    ")
        }`,
      );
      assert.ok(
        !c3Views.includes(c3Left),
        `c3 has the view that evicted it: ${c3Left}`,
      );
      note(`c3 joined again in ${c3Joined}`);
      for (const id of CLIENTS) note(`${id}'s views: ${readLines(views(id)).join(" | ")}`);

      // Agreement, integrity, direct messages.
      const reference = readLines(tom("c1"));
      for (const id of CLIENTS) {
        const order = readLines(tom(id));
        const i = order.findIndex((line, k) => line !== reference[k]);
        assert.ok(
          i < 0 && order.length === reference.length,
          `${id}'s order differs from c1's at delivery ${i + 1}: ${JSON.stringify(order[i])} vs ${
            JSON.stringify(reference[i])
          } (${order.length} vs ${reference.length} deliveries)`,
        );
      }
      assert.equal(reference.length, multicasts.length, "deliveries");
      assert.deepEqual(sorted(reference), sorted(multicasts), "each multicast exactly once");
      // Each direct message arrives once, but for those sent to a member while it was
      // evicted: the broker drops them (telling their senders), and nothing else.
      const drops = dropped();
      const evictedIds = new Set(
        CLIENTS.flatMap((id) => readLines(views(id))).flatMap((line) =>
          [...line.matchAll(/(\S+) \(timeout\)/g)].map((m) => m[1]!)
        ),
      );
      for (const drop of drops) {
        const fromMember = drop.from !== "sequencer";
        assert.ok(
          drop.evicted && evictedIds.has(drop.to) &&
            (!fromMember || drop.payload.startsWith(`${drop.from}###`)),
          `the broker dropped a direct message other than one to an evicted member: ${drop.line}`,
        );
      }
      for (const id of CLIENTS) {
        assert.deepEqual(
          sorted([...readLines(uno(id)), ...droppedTo(id).map((drop) => drop.payload)]),
          sorted(directsTo.get(id)!),
          `${id}'s direct messages, and those to it the broker dropped while it was evicted`,
        );
      }
      note(
        `direct messages dropped while their recipient was evicted: ${
          drops.length === 0 ? "none" : drops.map((drop) => `${drop.payload} to ${drop.to}`)
            .join(", ")
        }`,
      );

      console.log(
        [
          `cuts of ${CUT_SECONDS} s, c3's of ${EVICT_CUT_SECONDS} s (--evict-after ${EVICT_AFTER_S}), ` +
          `scripts sending for about ${SEND_SECONDS} s:`,
          ...events,
          ...[...roles].map(([host, role]) => `${host} counters ${counters(role.stderr())}`),
        ].join("\n  "),
      );
      passed = true;
    } finally {
      // Processes first (a namespace lives on while a process runs in it), then the
      // namespaces. The clients before the broker, so that they can flush and log their
      // counters (a socket lingers up to 2 s on what it could not send).
      const stopAll = (hosts: Host[]) =>
        Promise.all(hosts.map((host) => {
          stopped.add(host);
          return roles.has(host) ? stop(roles.get(host)!) : null;
        }));
      await stopAll([...CLIENTS]);
      await stopAll(["sequencer", "broker"]);
      const problems: string[] = [];
      const mine = (await ourNamespaces()).filter((name) => name.startsWith(`${RUN}-`));
      for (const name of new Set([...[...made].reverse(), ...mine])) {
        const error = await deleteNamespace(name);
        if (error !== null) problems.push(error);
      }
      const left = (await ourNamespaces()).filter((name) => name.startsWith(`${RUN}-`));
      if (passed) {
        await Deno.remove(dir, { recursive: true });
      } else {
        await Deno.mkdir(join(dir, "logs"), { recursive: true });
        for (const [host, role] of roles) {
          await Deno.writeTextFile(join(dir, "logs", `${host}.log`), role.stderr());
        }
        console.log(`The failed run's scripts, results and role logs are in ${dir}`);
      }
      cleanupProblems = [...problems, ...left.map((name) => `${name} is left`)];
      if (!passed && cleanupProblems.length > 0) {
        console.log(`Cleanup failed too: ${cleanupProblems.join("; ")}`);
      }
    }
    assert.deepEqual(cleanupProblems, [], "the cleanup");
  },
});
