/**
 * `deno task run:demo`: runs the seed's scenario (or `--scenario DIR`) with
 * the broker, the sequencer and every client as separate processes, checks
 * the result and prints a summary; writes a message-sequence chart
 * (`index.html`, `sequence.svg`) beside the results. Exits 1 on any violation.
 *
 * @module
 */

import { type FlagSpec, numberFlag, runCommand, UsageError } from "../roles/cli/flags.ts";
import { readChartInput, writeCharts } from "./chart.ts";
import { formatReport, loadScenario, runScenario } from "./scenario.ts";

const FLAGS: Record<string, FlagSpec> = {
  scenario: {
    type: "string",
    value: "DIR",
    default: "scenarios/seed",
    help: "a folder with one <id>.txt script per client",
  },
  "time-scale": {
    type: "string",
    value: "F",
    default: "0.2",
    help: "multiplies every sleep of the scripts",
  },
  out: {
    type: "string",
    value: "DIR",
    default: "out/demo",
    help: "where the result files go",
  },
  "base-port": {
    type: "string",
    value: "PORT",
    help: "the broker's base port (default: a free one)",
  },
  verbose: { type: "boolean", help: "show the roles' logs" },
  quiet: { type: "boolean", help: "no progress line, even on a terminal" },
  help: { type: "boolean", help: "show this help" },
};

if (import.meta.main) {
  await runCommand(
    "demo",
    "deno task run:demo",
    "Runs a scenario end to end as separate processes and checks total order.",
    FLAGS,
    async (values) => {
      const scenario = String(values.scenario ?? "scenarios/seed");
      const timeScale = numberFlag(values, "time-scale", 0.2, { min: 0 });
      const basePort = values["base-port"] === undefined
        ? undefined
        : numberFlag(values, "base-port", 5559, {
          min: 1,
          max: 65532,
          integer: true,
        });
      const out = String(values.out ?? "out/demo");
      try {
        Deno.statSync(scenario);
      } catch {
        throw new UsageError(
          `Scenario folder ${JSON.stringify(scenario)} does not exist`,
        );
      }
      // Progress (deliveries so far per client) only on a terminal, not under --quiet.
      const tty = Deno.stderr.isTerminal() && values.quiet !== true;
      console.log(
        `Running ${scenario} (time scale ${timeScale}); results in ${out}/`,
      );
      const report = await runScenario({
        scenario,
        out,
        timeScale,
        basePort,
        echo: values.verbose === true,
        // --verbose: every role logs every message, as the seed does.
        ...(values.verbose === true
          ? {
            clientFlags: ["--verbose"],
            brokerFlags: ["--verbose"],
            sequencerFlags: ["--verbose"],
          }
          : {}),
        onProgress: tty
          ? (delivered, expected) => {
            const line = [...delivered].map(([id, n]) => `${id} ${n}/${expected}`)
              .join("  ");
            Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
          }
          : undefined,
      });
      if (tty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
      console.log(formatReport(report));
      try {
        const input = await readChartInput(out, await loadScenario(scenario));
        const chart = await writeCharts(out, input);
        console.log(`Chart: ${chart.html} (SVG: ${chart.svg})`);
      } catch (error) {
        // The chart is a view of the run; its failure must not change the verdict.
        console.error(`Chart not written: ${error instanceof Error ? error.message : error}`);
      }
      if (report.violations.length > 0) Deno.exit(1);
    },
  );
}
