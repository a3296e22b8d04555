import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ChartInput,
  readChartInput,
  type ScriptCommand,
  sequenceChartHtml,
  sequenceChartSvg,
  writeCharts,
} from "../tasks/chart.ts";
import { formatReport, loadScenario, runScenario } from "../tasks/scenario.ts";
import { scenarioPayload } from "../roles/harness/script.ts";
import { within } from "./_helpers.ts";
import { chromium, haveChromium } from "./_chromium.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

// The browser test needs Debian's chromium; `sh tasks/setup.sh test` installs it.
const HAVE_CHROMIUM = haveChromium("the chart");

/** Scripts where each client multicasts the given texts, in order. */
function scriptsOf(texts: Record<string, string[]>): Map<string, ScriptCommand[]> {
  return new Map(
    Object.entries(texts).map((
      [id, list],
    ) => [id, list.map((text, i) => ({ kind: "multicast" as const, text, line: i + 1 }))]),
  );
}

/** Three clients that agree on five multicasts, with direct messages. */
function agreeing(): ChartInput {
  const scripts = scriptsOf({ c1: ["a", "b"], c2: ["hello"], c3: ["x", "y"] });
  scripts.get("c1")!.push({ kind: "direct", to: "c2", text: "psst", line: 3 });
  const order = ["c1###a", "c2###hello", "c3###x", "c1###b", "c3###y"];
  return {
    clients: ["c1", "c2", "c3"],
    scripts,
    deliveries: new Map([["c1", order], ["c2", [...order]], ["c3", [...order]]]),
    directs: new Map([["c1", []], ["c2", ["c1###psst"]], ["c3", []]]),
  };
}

/** The `<g data-g="G">` group of one order, as text. */
function rowOf(svg: string, g: number): string {
  const match = new RegExp(`<g data-g="${g}"[^>]*>[\\s\\S]*?</g>`).exec(svg);
  assert.ok(match, `no row for G=${g}`);
  return match[0];
}

Deno.test("sequenceChartSvg() shows every lane and payload and says the clients agree", () => {
  const input = agreeing();
  const svg = sequenceChartSvg(input);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
  assert.match(svg, /3 clients agree on 5 multicasts/);
  for (const id of ["sequencer", "c1", "c2", "c3"]) {
    assert.ok(svg.includes(`>${id}</text>`), `lane ${id}`);
  }
  for (const [i, payload] of input.deliveries.get("c1")!.entries()) {
    assert.ok(svg.includes(`>${i + 1}: ${payload}</text>`), `order ${i + 1}: ${payload}`);
  }
  assert.ok(svg.includes("c2 \u2190 1/1: c1###psst"), "the direct message to c2");
  assert.equal(
    (svg.match(/class="msc-ok"/g) ?? []).length,
    15 + 1,
    "15 green marks and the legend",
  );
  assert.ok(!svg.includes('class="msc-bad-order"'));
  assert.equal(sequenceChartSvg(agreeing()), svg, "the same input draws the same chart");
});

Deno.test("sequenceChartSvg() flags the row where a client delivered something else", () => {
  const input = agreeing();
  input.deliveries.set("c2", ["c1###a", "c3###x", "c2###hello", "c1###b", "c3###y"]);
  const svg = sequenceChartSvg(input);
  assert.match(svg, /<title id="msc-title">DISAGREEMENT at G=2<\/title>/);
  assert.match(svg, /At G=2: c2 delivered &quot;c3###x&quot; instead of &quot;c2###hello&quot;/);
  assert.ok(!svg.includes("agree on"));
  const row2 = rowOf(svg, 2);
  assert.match(row2, /class="msc-bad-order"/);
  assert.match(
    row2,
    /class="msc-bad"><title>c2 delivered &quot;c3###x&quot; at G=2, not &quot;c2###hello&quot;/,
  );
  assert.match(row2, /class="msc-diff">c3###x<\/text>/);
  assert.match(rowOf(svg, 3), /class="msc-bad-order"/);
  assert.doesNotMatch(rowOf(svg, 1), /msc-bad/);
  assert.doesNotMatch(rowOf(svg, 4), /msc-bad/);
});

Deno.test("sequenceChartSvg() marks what a client did not deliver", () => {
  const input = agreeing();
  input.deliveries.set("c3", input.deliveries.get("c3")!.slice(0, 3));
  const svg = sequenceChartSvg(input);
  assert.match(svg, /DISAGREEMENT at G=4/);
  assert.match(svg, /At G=4: c3 delivered nothing instead of &quot;c1###b&quot;/);
  assert.match(rowOf(svg, 4), /class="msc-missing"><title>c3 delivered nothing at G=4</);
  assert.match(rowOf(svg, 5), /class="msc-missing"><title>c3 delivered nothing at G=5</);
  assert.doesNotMatch(rowOf(svg, 3), /msc-missing|msc-bad/);
  const html = sequenceChartHtml(input);
  assert.match(html, /<tr><td>c3<\/td><td>3\/5<\/td><td class="no">no: nothing from G=4<\/td>/);
});

Deno.test("sequenceChartSvg() escapes XML in ids and payloads", () => {
  const text = `<b>&"quoted" 'x'\u0001`;
  const input: ChartInput = {
    clients: ["c<1>"],
    scripts: scriptsOf({ "c<1>": [text] }),
    deliveries: new Map([["c<1>", [scenarioPayload("c<1>", text)]]]),
  };
  const svg = sequenceChartSvg(input);
  assert.ok(svg.includes("c&lt;1&gt;###&lt;b&gt;&amp;&quot;quoted&quot; &#39;x&#39;\uFFFD"));
  assert.ok(!svg.includes("<b>") && !svg.includes("<1>") && !svg.includes("\u0001"));
  assert.match(svg, /1 client delivered 1 multicast/);
});

Deno.test("sequenceChartSvg() draws only the first 200 and last 100 orders of a large run", () => {
  const clients = ["c1", "c2", "c3", "c4"];
  const order = Array.from({ length: 10_000 }, (_, i) => `c${(i % 4) + 1}###m${i + 1}`);
  const texts = Object.fromEntries(
    clients.map((id) => [id, order.filter((p) => p.startsWith(`${id}###`)).map((p) => p.slice(5))]),
  );
  const input: ChartInput = {
    clients,
    scripts: scriptsOf(texts),
    deliveries: new Map(clients.map((id) => [id, order])),
  };
  const svg = sequenceChartSvg(input);
  assert.match(
    svg,
    /4 clients agree on 10000 multicasts \(showing G=1\.\.200, 9901\.\.10000 of 10000\)/,
  );
  assert.ok(svg.includes(">200: c4###m200<") && svg.includes(">9901: c1###m9901<"));
  assert.ok(!svg.includes('data-g="201"') && !svg.includes('data-g="9900"'));
  assert.ok(svg.includes("G=201..9900 not drawn (9700 orders)"));
  assert.ok(svg.length < 300_000, `${svg.length} characters`);

  // A disagreement in the part left out is drawn too.
  const bad = [...order];
  bad[4999] = "c9###forged";
  input.deliveries.set("c3", bad);
  const flagged = sequenceChartSvg(input);
  assert.match(
    flagged,
    /DISAGREEMENT at G=5000 \(showing G=1\.\.200, 4998\.\.5002, 9901\.\.10000 of 10000\)/,
  );
  assert.match(rowOf(flagged, 5000), /class="msc-diff">c9###forged</);
});

Deno.test("sequenceChartHtml() embeds the SVG and a table, and loads nothing from elsewhere", () => {
  const input = agreeing();
  const html = sequenceChartHtml(input);
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.ok(html.includes(sequenceChartSvg(input).trimEnd()), "the SVG inline");
  assert.match(html, /<h1 class="ok">3 clients agree on 5 multicasts<\/h1>/);
  for (const id of ["c1", "c2", "c3"]) {
    assert.ok(html.includes(`<tr><td>${id}</td><td>5/5</td><td class="yes">yes</td>`), id);
  }
  assert.doesNotMatch(html, /<(script|link|img|iframe|object)\b|\b(src|href)=|@import|url\(/i);
});

Deno.test("writeCharts() writes sequence.svg and index.html", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chart-test-" });
  try {
    const paths = await writeCharts(join(dir, "deeper"), agreeing());
    assert.deepEqual(paths, {
      svg: join(dir, "deeper", "sequence.svg"),
      html: join(dir, "deeper", "index.html"),
    });
    assert.equal(
      await Deno.readTextFile(paths.svg),
      `<?xml version="1.0" encoding="UTF-8"?>\n${sequenceChartSvg(agreeing())}`,
    );
    assert.equal(await Deno.readTextFile(paths.html), sequenceChartHtml(agreeing()));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "The chart of a real run of scenarios/seed shows every lane and message in headless Chromium",
  ignore: !HAVE_CHROMIUM,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "chart-chromium-test-" });
    try {
      const out = join(dir, "out");
      const scenario = join(ROOT, "scenarios/seed");
      const report = await within(
        120_000,
        "the seed scenario",
        runScenario({ scenario, out, timeScale: 0.05 }),
      );
      assert.deepEqual(report.violations, [], formatReport(report));
      const scripts = await loadScenario(scenario);
      const { html } = await writeCharts(out, await readChartInput(out, scripts));

      const png = join(dir, "chart.png");
      const dom = await chromium([
        "--window-size=1400,2000",
        `--screenshot=${png}`,
        "--dump-dom",
        new URL(`file://${html}`).href,
      ], join(dir, "profile"));

      assert.match(dom, /<h1 class="ok">4 clients agree on 26 multicasts<\/h1>/);
      assert.match(dom, /<svg [^>]*role="img"/);
      for (const id of ["sequencer", "c1", "c2", "c3", "c4"]) {
        const header = new RegExp(`class="msc-lane-id"[^>]*>${id}</text>`, "g");
        assert.equal(dom.match(header)?.length, 2, `the lane of ${id}, headed above and below`);
      }
      // Every scripted multicast, as often as it was sent, each at its own order G.
      const sent = [...scripts].flatMap(([id, commands]) =>
        commands.flatMap((c) => c.kind === "multicast" ? [scenarioPayload(id, c.text)] : [])
      );
      assert.equal(sent.length, 26);
      const labels = [...dom.matchAll(/class="msc-label"[^>]*>(\d+): ([^<]*)<\/text>/g)];
      assert.deepEqual(
        labels.map((m) => Number(m[1])),
        Array.from({ length: 26 }, (_, i) => i + 1),
      );
      assert.deepEqual(labels.map((m) => m[2]).sort(), [...sent].sort());
      assert.deepEqual(labels.map((m) => m[2]), report.order);
      assert.equal((dom.match(/class="msc-ok"/g) ?? []).length, 4 * 26 + 1);

      // The screenshot is a real 1400 px wide PNG with something drawn in it.
      const image = await Deno.readFile(png);
      assert.deepEqual([...image.subarray(1, 4)], [0x50, 0x4e, 0x47], "PNG signature");
      const width = new DataView(image.buffer, image.byteOffset).getUint32(16);
      assert.equal(width, 1400);
      assert.ok(image.length > 20_000, `screenshot of ${image.length} bytes`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
