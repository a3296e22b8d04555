/**
 * The sequencer's command line: `deno task run:sequencer`.
 *
 * @module
 */

import {
  basePortFlag,
  COMMON_FLAGS,
  type FlagSpec,
  hostFlag,
  type Logger,
  makeLogger,
  metricsFlag,
  numberFlag,
  onCountersSignal,
  runCommand,
  untilSignal,
  UsageError,
} from "./flags.ts";
import { CLIENT_CURVE_FLAGS, clientCurveFromFlags } from "./curve_flags.ts";
import { SEQUENCER_FLAGS, sequencerFlagOptions } from "./sequencer_flags.ts";
import { Sequencer } from "../sequencer/sequencer.ts";
import { HA_FLAGS, type HaFlagOptions, haFlagOptions } from "./ha_flags.ts";
import { HaSequencer, type HaSequencerOptions } from "../ha/ha_sequencer.ts";

const FLAGS: Record<string, FlagSpec> = {
  ...CLIENT_CURVE_FLAGS,
  "join-timeout": {
    type: "string",
    value: "S",
    default: "30",
    help: "seconds to wait for the broker and the start",
  },
  ...SEQUENCER_FLAGS,
  ...HA_FLAGS,
  ...COMMON_FLAGS,
};

if (import.meta.main) {
  await runCommand(
    "sequencer",
    "deno task run:sequencer",
    "Runs the group's fixed sequencer: numbers every client multicast G = 1, 2, 3 ...\nRuns until SIGINT/SIGTERM.",
    FLAGS,
    async (values) => {
      const basePort = basePortFlag(values);
      const joinTimeout = numberFlag(values, "join-timeout", 30, { min: 0 });
      const host = hostFlag(values);
      const options = sequencerFlagOptions(values);
      const metrics = metricsFlag(values);
      const log = makeLogger("sequencer", values);
      const ha = haFlagOptions(values);
      const settings = {
        host,
        basePort,
        joinTimeoutMs: joinTimeout * 1000,
        ...options,
        metrics,
        curve: clientCurveFromFlags(values),
        log: (line: string) => log.debug(line),
        warn: (line: string) => log.info(line),
        trace: values.verbose ? (line: string) => log.debug(line) : undefined,
      };
      if (ha !== undefined) return await runHa(settings, ha, log);
      const signal = untilSignal();
      const joining = Sequencer.join(settings);
      const first = await Promise.race([joining, signal.promise]);
      if (typeof first === "string") {
        log.info(`${first} before the start: shutting down`);
        void joining.then((s) => s.close(), () => {});
        signal.dispose();
        return;
      }
      const sequencer = first;
      log.info(
        `started${
          sequencer.metricsUrl ? `; metrics, status and a live page at ${sequencer.metricsUrl}` : ""
        }`,
      );
      const report = () => log.info("counters", { ...sequencer.counters });
      const stopReports = onCountersSignal(report);
      const got = await Promise.race([signal.promise, sequencer.failed]);
      if (typeof got === "string") log.info(`${got}: shutting down`);
      await sequencer.close();
      report();
      stopReports();
      signal.dispose();
      if (got instanceof Error) throw got;
    },
  );
}

/** HA mode: stands by or leads, as etcd decides, until SIGINT/SIGTERM. */
async function runHa(
  settings: Omit<HaSequencerOptions, "ha" | "logPath"> & { logPath?: string },
  ha: HaFlagOptions,
  log: Logger,
): Promise<void> {
  if (settings.logPath === undefined) {
    throw new UsageError(
      "--etcd needs --log FILE: a standby keeps its copy of the leader's orders there",
    );
  }
  if (settings.curve !== undefined) throw new UsageError("--etcd with --curve-key: not yet");
  const sequencer = HaSequencer.start({ ...settings, logPath: settings.logPath, ha });
  log.info(`standing by as ${sequencer.name} in group ${ha.group}`);
  const signal = untilSignal();
  const got = await Promise.race([signal.promise, sequencer.failed]);
  if (typeof got === "string") log.info(`${got}: shutting down`);
  await sequencer.close();
  signal.dispose();
  if (got instanceof Error) throw got;
}
