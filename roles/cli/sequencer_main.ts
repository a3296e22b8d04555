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
  makeLogger,
  metricsFlag,
  numberFlag,
  onCountersSignal,
  runCommand,
  untilSignal,
} from "./flags.ts";
import { CLIENT_CURVE_FLAGS, clientCurveFromFlags } from "./curve_flags.ts";
import { SEQUENCER_FLAGS, sequencerFlagOptions } from "./sequencer_flags.ts";
import { Sequencer } from "../sequencer/sequencer.ts";

const FLAGS: Record<string, FlagSpec> = {
  ...CLIENT_CURVE_FLAGS,
  "join-timeout": {
    type: "string",
    value: "S",
    default: "30",
    help: "seconds to wait for the broker and the start",
  },
  ...SEQUENCER_FLAGS,
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
      const signal = untilSignal();
      const joining = Sequencer.join({
        host,
        basePort,
        joinTimeoutMs: joinTimeout * 1000,
        ...options,
        metrics,
        curve: clientCurveFromFlags(values),
        log: (line) => log.debug(line),
        warn: (line) => log.info(line),
        trace: values.verbose ? (line) => log.debug(line) : undefined,
      });
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
