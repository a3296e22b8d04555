/**
 * `deno task run:demo`: runs the seed's scenario (or `--scenario DIR`) with
 * the broker, the sequencer and every client as separate processes, checks
 * the result and prints a summary; writes a message-sequence chart
 * (`index.html`, `sequence.svg`) beside the results. Exits 1 on any violation.
 * With `--metrics`, every role serves its live page on a free port of
 * 127.0.0.1, listed before the run, and the roles stay up at the end until
 * Enter is pressed (or `--wait` seconds pass). With `--ha`, it starts an
 * etcd of its own and runs two brokers and two sequencers in HA mode, and
 * kills the active broker and the active sequencer with SIGKILL part way.
 *
 * @module
 */

import { type FlagSpec, numberFlag, runCommand, UsageError } from "../roles/cli/flags.ts";
import { freeBasePort } from "./_processes.ts";
import { readChartInput, writeCharts } from "./chart.ts";
import {
  formatReport,
  loadScenario,
  runScenario,
  type ScenarioControl,
  type ScenarioOptions,
} from "./scenario.ts";
import { HAVE_ETCD, type LocalEtcd, withEtcd } from "./etcd.ts";

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
  metrics: {
    type: "boolean",
    help:
      "every role serves its live page, /metrics and /status on 127.0.0.1 (free ports, listed first); the roles stay up at the end until Enter",
  },
  wait: {
    type: "string",
    value: "S",
    default: "60",
    help: "with --metrics: the most seconds the roles stay up at the end",
  },
  ha: {
    type: "boolean",
    help:
      "HA mode: an etcd of its own, two brokers and two sequencers; the active broker and the active sequencer are killed with SIGKILL part way",
  },
  verbose: { type: "boolean", help: "show the roles' logs" },
  quiet: { type: "boolean", help: "no progress line, even on a terminal" },
  help: { type: "boolean", help: "show this help" },
};

/** Free ports for the roles' metrics, one each, none of the group's four from `basePort`. */
function metricsPorts(roles: string[], basePort: number): Map<string, number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = freeBasePort(roles.length);
    if (first + roles.length <= basePort || first >= basePort + 4) {
      return new Map(roles.map((role, i) => [role, first + i]));
    }
  }
  throw new Error(`Cannot find ${roles.length} free ports for the metrics`);
}

/**
 * Resolves when a line is entered (or the input ends), or after `ms`, whichever comes first. A
 * read still pending then ends with the process.
 */
async function enterOrTimeout(ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  const entered = (async () => {
    const buffer = new Uint8Array(256);
    while (true) {
      const n = await Deno.stdin.read(buffer);
      if (n === null || buffer.subarray(0, n).includes(10)) return;
    }
  })().catch(() => {});
  await Promise.race([elapsed, entered]);
  clearTimeout(timer);
}

/**
 * HA mode: two brokers and two sequencers in group "demo" at `etcd`; once
 * c1 delivered a third of what it is to deliver, the active broker and the
 * active sequencer are killed with SIGKILL, and the run goes on without them.
 */
function haOptions(etcd: LocalEtcd, scenario: string): Partial<ScenarioOptions> {
  return {
    ha: { etcd: etcd.url, group: "demo", brokers: 2, sequencers: 2 },
    faults: async (control: ScenarioControl) => {
      const expected = await deliveriesOf(scenario);
      while (control.delivered("c1") < expected / 3) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const broker = await control.active("broker");
      const sequencer = await control.active("sequencer");
      console.log(
        `c1 delivered ${
          control.delivered("c1")
        }: killing the active broker ${broker} and the active sequencer ${sequencer} with SIGKILL`,
      );
      await Promise.all([control.kill(broker), control.kill(sequencer)]);
    },
  };
}

/** How many multicasts every client delivers in a scenario. */
async function deliveriesOf(scenario: string): Promise<number> {
  let count = 0;
  for (const commands of (await loadScenario(scenario)).values()) {
    count += commands.filter((command) => command.kind === "multicast").length;
  }
  return count;
}

if (import.meta.main) {
  await runCommand(
    "demo",
    "deno task run:demo",
    "Runs a scenario end to end as separate processes and checks total order.",
    FLAGS,
    async (values) => {
      const scenario = String(values.scenario ?? "scenarios/seed");
      const timeScale = numberFlag(values, "time-scale", 0.2, { min: 0 });
      let basePort = values["base-port"] === undefined
        ? undefined
        : numberFlag(values, "base-port", 5559, {
          min: 1,
          max: 65532,
          integer: true,
        });
      const out = String(values.out ?? "out/demo");
      const waitSeconds = numberFlag(values, "wait", 60, { min: 0, max: 86_400 });
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
      let ports: Map<string, number> | undefined;
      if (values.metrics === true) {
        basePort ??= freeBasePort();
        ports = metricsPorts(
          ["broker", "sequencer", ...(await loadScenario(scenario)).keys()],
          basePort,
        );
        console.log("Live pages (each up as its role starts):");
        for (const [role, port] of ports) {
          console.log(`  ${role.padEnd(10)} http://127.0.0.1:${port}/`);
        }
      }
      const metricsFlags = (role: string) =>
        ports === undefined ? [] : ["--metrics", `127.0.0.1:${ports.get(role)}`];
      const verbose = values.verbose === true ? ["--verbose"] : [];
      if (values.ha === true && !HAVE_ETCD) {
        throw new UsageError(
          "--ha needs etcd (Debian's etcd-server): install it with sh tasks/setup.sh ha",
        );
      }
      if (values.ha === true && values.metrics === true) {
        throw new UsageError("--ha with --metrics: not yet");
      }
      const run = (ha: Partial<ScenarioOptions>) =>
        runScenario({
          scenario,
          out,
          timeScale,
          basePort,
          echo: values.verbose === true,
          // --verbose: every role logs every message, as the seed does.
          clientFlags: verbose,
          clientFlagsFor: metricsFlags,
          brokerFlags: [...verbose, ...metricsFlags("broker")],
          sequencerFlags: [...verbose, ...metricsFlags("sequencer")],
          onProgress: tty
            ? (delivered, expected) => {
              const line = [...delivered].map(([id, n]) => `${id} ${n}/${expected}`)
                .join("  ");
              Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
            }
            : undefined,
          beforeStop: ports === undefined ? undefined : async () => {
            if (tty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
            console.log(
              `The run is over; the live pages stay up for ${waitSeconds} s: press Enter to stop now`,
            );
            await enterOrTimeout(waitSeconds * 1000);
          },
          ...ha,
        });
      const report = values.ha === true
        ? await withEtcd((etcd) => run(haOptions(etcd, scenario)))
        : await run({});
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
