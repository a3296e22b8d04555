import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LIVE_PAGE } from "../roles/metrics/page.ts";
import { serveMetrics } from "../roles/metrics/server.ts";
import type { RoleSnapshot } from "../roles/metrics/families.ts";
import { freeBasePort } from "../tasks/_processes.ts";
import { startGroup } from "./_group.ts";
import { DENO, inTempDir, within } from "./_helpers.ts";
import { chromium, haveChromium } from "./_chromium.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const T = 30_000;
/** Virtual milliseconds the page runs in Chromium before its DOM is dumped: a few polls. */
const BUDGET_MS = 2500;

// The browser tests need Debian's chromium; `sh tasks/setup.sh test` installs it.
const HAVE_CHROMIUM = haveChromium("the live page");

/**
 * Opens `url` in headless Chromium for BUDGET_MS of virtual time (the page polls meanwhile),
 * then returns the DOM; the whole browser is killed if it hangs.
 */
async function chromiumDom(url: string, dir: string, more: string[] = []): Promise<string> {
  return await chromium(
    [`--virtual-time-budget=${BUDGET_MS}`, ...more, "--dump-dom", url],
    join(dir, "profile"),
  );
}

/** The DOM's body up to the page's script (whose text would match what the tests look for). */
function bodyOf(dom: string): string {
  const body = dom.indexOf("<body>");
  const script = dom.indexOf("<script>", body);
  assert.ok(body >= 0 && script > body, `no body and script in the DOM:\n${dom}`);
  return dom.slice(body, script);
}

/** A client's snapshot, as `Member.snapshot()` makes it, with the given id. */
function clientSnapshot(id: string, delivered: number): RoleSnapshot {
  const gauges = [
    { name: "highest_order", value: delivered + 2 },
    { name: "delivered_order", value: delivered },
    { name: "lag_orders", value: 2 },
  ];
  const counters = { sent: 3, ordered: delivered + 2, delivered };
  return {
    reading: { role: "client", id, counters, gauges },
    status: {
      role: "client",
      id,
      config: { receive: "orders", window: 1000 },
      counters,
      gauges: Object.fromEntries(gauges.map((g) => [g.name, g.value])),
      group: { view: 1, members: [id, "c2"], failure: null },
    },
  };
}

Deno.test("LIVE_PAGE is one offline HTML page with a script that parses", async () => {
  const server = serveMetrics(() => [clientSnapshot("c1", 5)], { port: 0 });
  let html: string;
  try {
    const response = await within(T, "GET /", fetch(server.url));
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
    html = await response.text();
  } finally {
    await server.close();
  }
  assert.equal(html, LIVE_PAGE);
  assert.match(html, /^<!doctype html>/);
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  assert.equal(scripts.length, 1, "one inline script");
  assert.ok(scripts[0]!.includes('fetch("/status"'), "it polls /status");
  // Compiled, not run: a syntax error (a stray backtick or `${` of the template) throws here.
  new Function(scripts[0]!);
  assert.doesNotMatch(html, /\b(src|href)\s*=|<(link|img|iframe|object)\b|@import|url\(/i);
  // The only URL is the SVG namespace, never fetched.
  assert.deepEqual(
    [...new Set(html.match(/https?:\/\/[^\s"']*/g))],
    ["http://www.w3.org/2000/svg"],
  );
});

Deno.test({
  name:
    "The live page escapes ids, sends a client's chart to the sequencer's page and says when its endpoint is gone",
  ignore: !HAVE_CHROMIUM,
  async fn() {
    await inTempDir("live-page-test-", async (dir) => {
      const hostile = `<img src=x onerror="document.title='pwned'">&amp;"c9`;
      let polls = 0;
      let gone: Promise<void> | undefined;
      const server = serveMetrics(() => {
        polls++;
        // After the third answer the endpoint goes away.
        if (polls === 3) setTimeout(() => gone = server.close(), 0);
        return [clientSnapshot(hostile, 10 * polls)];
      }, { port: 0 });
      try {
        const page = await chromiumDom(server.url, dir);
        assert.ok(polls >= 3, `the page polled ${polls} times`);
        assert.match(page, /<title>zmq group: live<\/title>/, "no script of the id ran");
        const dom = bodyOf(page);
        assert.doesNotMatch(dom, /<img\b/i);
        assert.ok(
          dom.includes(
            '<h2>client &lt;img src=x onerror="document.title=\'pwned\'"&gt;&amp;amp;"c9</h2>',
          ),
          "the id, as text",
        );
        assert.match(
          dom,
          /<p id="state" class="bad">not reachable \(.*\): retrying every 0\.5 s; below is what it said last<\/p>/,
        );
        assert.match(dom, /<div id="roles" class="stale">/);
        // What it said last (the third answer, or one more that came before the close).
        const last = 10 * polls;
        assert.ok(dom.includes(`own lag: <b>2</b> orders (delivered ${last} of ${last + 2})`));
        assert.match(dom, /deliveries\/s<b>\d+(\.\d)?<\/b>/);
        assert.match(dom, /The chart of the latest orders is on the sequencer's page/);
        assert.doesNotMatch(dom, /<svg/);
      } finally {
        await server.close();
        await gone;
      }
    });
  },
});

Deno.test({
  name: "The sequencer's live page shows every member and the latest orders in headless Chromium",
  ignore: !HAVE_CHROMIUM,
  async fn() {
    await inTempDir("live-page-group-test-", async (dir) => {
      const ids = ["c1", "c2", "c3", "c4"];
      const group = await startGroup({
        members: ids,
        where: { host: "127.0.0.1", basePort: freeBasePort() },
        timeoutMs: T,
        sequencer: { metrics: { port: 0 } },
      });
      try {
        const url = group.sequencer.metricsUrl!;
        // c1 to c3 multicast 40 in all (the page gets the latest 32); c4 only listens.
        const total = 40;
        const sending = group.members.slice(0, 3);
        const readers = group.members.map(async (member) => {
          let count = 0;
          for await (const _ of member.delivered()) if (++count === total) break;
        });
        for (let i = 0; i < total; i++) {
          await sending[i % 3]!.multicast(`${ids[i % 3]}###m${i + 1}`);
        }
        await within(T, "every member's 40 deliveries", Promise.all(readers));
        // The members report what they delivered with their heartbeats: no event to await here.
        type Status = {
          roles: {
            group: { members: { id: string; delivered: number | null }[] };
            recent: { seq: number; sender: string }[];
          }[];
        };
        let status: Status;
        const deadline = performance.now() + T;
        while (true) {
          status = await (await fetch(`${url}status`)).json();
          const members = status.roles[0]!.group.members;
          if (members.length === 4 && members.every((m) => m.delivered === total)) break;
          assert.ok(
            performance.now() < deadline,
            `members never reported: ${JSON.stringify(members)}`,
          );
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const recent = status.roles[0]!.recent;
        assert.deepEqual(recent.map((o) => o.seq), Array.from({ length: 32 }, (_, i) => i + 9));

        const png = join(dir, "live.png");
        const dom = bodyOf(
          await chromiumDom(url, dir, ["--window-size=1200,1600", `--screenshot=${png}`]),
        );

        assert.match(dom, /<p id="state" class="ok">live: pid \d+/);
        assert.match(dom, /<section class="role" data-role="sequencer" data-id="sequencer">/);
        for (const id of ids) {
          assert.match(
            dom,
            new RegExp(`<tr><td class="id">${id}</td><td>40</td><td>0</td>`),
            `${id} in the members' table`,
          );
          assert.match(
            dom,
            new RegExp(`class="msc-lane-id"><title>${id}</title>${id}</text>`),
            `${id}'s lane`,
          );
        }
        assert.match(dom, /class="msc-lane-id" style="fill:#fff"><title>sequencer<\/title>/);
        assert.match(dom, /The latest 32 orders, G=9\.\.40, newest at the bottom/);
        const rows = [...dom.matchAll(/<g data-g="(\d+)" data-sender="([^"]*)">/g)];
        assert.deepEqual(rows.map((m) => Number(m[1])), recent.map((o) => o.seq));
        assert.deepEqual(rows.map((m) => m[2]), recent.map((o) => o.sender));
        for (const { seq, sender } of recent) {
          assert.ok(
            dom.includes(`class="msc-label" style="fill:`) &&
              dom.includes(`>${seq}: ${sender}</text>`),
            `order ${seq}`,
          );
        }
        // Every member delivered every order drawn: 4 green marks a row, an arrow from c1..c3 each.
        assert.equal((dom.match(/class="msc-ok"/g) ?? []).length, 4 * 32);
        assert.equal((dom.match(/stroke-width="1.8"/g) ?? []).length, 32);
        assert.match(dom, /orders\/s<b>[\d.]+<\/b>/);
        assert.match(dom, /highest order<b>40<\/b>/);

        const image = await Deno.readFile(png);
        assert.deepEqual([...image.subarray(1, 4)], [0x50, 0x4e, 0x47], "PNG signature");
        assert.equal(new DataView(image.buffer, image.byteOffset).getUint32(16), 1200, "its width");
        assert.ok(image.length > 20_000, `screenshot of ${image.length} bytes`);
      } finally {
        await group.close();
      }
    });
  },
});

Deno.test("deno task run:demo --metrics lists a live page per role and keeps them up until Enter", async () => {
  await inTempDir("live-page-demo-test-", async (dir) => {
    const child = new Deno.Command(DENO, {
      args: [
        "task",
        "run:demo",
        "--metrics",
        "--wait",
        "60",
        "--time-scale",
        "0.05",
        "--out",
        join(dir, "out"),
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let stdout = "";
    let ended = false;
    let wake = () => {};
    const reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        stdout += chunk;
        wake();
      }
      ended = true;
      wake();
    })();
    const stderr = new Response(child.stderr).text();
    /** Resolves once the demo has printed `text`. */
    const printed = async (text: string) => {
      while (!stdout.includes(text)) {
        assert.ok(!ended, `the demo ended without printing ${JSON.stringify(text)}:\n${stdout}`);
        await new Promise<void>((resolve) => wake = resolve);
      }
    };
    const stdin = child.stdin.getWriter();
    try {
      await within(T, "the list of live pages", printed("  c4 "));
      const pages = new Map(
        [...stdout.matchAll(/^ {2}(\S+) +(http:\/\/127\.0\.0\.1:\d+\/)$/gm)].map((
          m,
        ) => [m[1]!, m[2]!]),
      );
      assert.deepEqual([...pages.keys()], ["broker", "sequencer", "c1", "c2", "c3", "c4"]);
      assert.equal(new Set(pages.values()).size, 6, "a port each");
      await within(T, "the end of the run", printed("press Enter to stop now"));
      assert.doesNotMatch(stdout, /OK: all/, "the pages are up before the verdict");
      for (const [role, url] of pages) {
        const status = await within(
          T,
          `${role}'s /status`,
          fetch(`${url}status`).then((r) => r.json()),
        );
        assert.equal(status.roles[0].id, role);
        const page = await within(T, `${role}'s page`, fetch(url).then((r) => r.text()));
        assert.equal(page, LIVE_PAGE);
      }
      if (HAVE_CHROMIUM) {
        const dom = bodyOf(await chromiumDom(pages.get("sequencer")!, dir));
        assert.match(dom, /The latest 26 orders, G=1\.\.26, newest at the bottom/);
        for (const id of ["c1", "c2", "c3", "c4"]) {
          assert.match(dom, new RegExp(`class="msc-lane-id"><title>${id}</title>${id}</text>`));
        }
      }
      const waited = performance.now();
      await stdin.write(new TextEncoder().encode("\n"));
      const status = await within(T, "the demo's exit after Enter", child.status);
      assert.ok(performance.now() - waited < 20_000, "it stopped on Enter, not at --wait");
      await reading;
      assert.equal(status.code, 0, `exit ${status.code}\n${stdout}\n${await stderr}`);
      assert.match(stdout, /OK: all 4 clients delivered the same 26 multicasts/);
    } finally {
      await stdin.close().catch(() => {});
      // Enter, or the end of its input, stops it; the kill is for a demo that hangs.
      const timer = setTimeout(() => child.kill("SIGKILL"), T);
      await child.status;
      clearTimeout(timer);
      await reading;
      await stderr;
    }
  });
});
