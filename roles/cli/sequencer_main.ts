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
  numberFlag,
  onCountersSignal,
  runCommand,
  untilSignal,
  UsageError,
} from "./flags.ts";
import { CLIENT_CURVE_FLAGS, clientCurveFromFlags } from "./curve_flags.ts";
import { FSYNC_POLICIES, type FsyncPolicy } from "../sequencer/order_log.ts";
import { Sequencer } from "../sequencer/sequencer.ts";

const FLAGS: Record<string, FlagSpec> = {
  ...CLIENT_CURVE_FLAGS,
  "join-timeout": {
    type: "string",
    value: "S",
    default: "30",
    help: "seconds to wait for the broker and the start",
  },
  log: {
    type: "string",
    value: "FILE",
    help:
      "durable order log: every number is written (and fsynced) before it is published; started again with the same file, the sequence continues",
  },
  fsync: {
    type: "string",
    value: "always|batch|never",
    default: "batch",
    help:
      "when --log is fsynced: every order, once per batch drained together, or never (OS decides)",
  },
  history: {
    type: "string",
    value: "N",
    default: "100000",
    help:
      "how many of the last orders to keep in memory for retransmission (with --log, older ones are read from the file)",
  },
  "no-batch": {
    type: "boolean",
    help:
      "publish every order as a bus message of its own (the seed's frames), even where every reader could take batches",
  },
  "evict-after": {
    type: "string",
    value: "S",
    default: "5",
    help:
      "evict a member silent for S seconds (members greet the sequencer every second): a new view without it; 0 never evicts",
  },
  ...COMMON_FLAGS,
};

/** The shortest --evict-after: two heartbeats of the members. */
const MIN_EVICT_AFTER_S = 2;

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
      const history = numberFlag(values, "history", 100_000, {
        min: 1,
        max: 100_000_000,
        integer: true,
      });
      const fsync = String(values.fsync ?? "batch") as FsyncPolicy;
      if (!FSYNC_POLICIES.includes(fsync)) {
        throw new UsageError(
          `Invalid --fsync ${JSON.stringify(fsync)}: expected always, batch or never`,
        );
      }
      const logPath = typeof values.log === "string" ? values.log : undefined;
      const evictAfter = numberFlag(values, "evict-after", 5, { min: 0 });
      if (evictAfter > 0 && evictAfter < MIN_EVICT_AFTER_S) {
        throw new UsageError(
          `Invalid --evict-after ${evictAfter}: expected 0 (never evict) or at least ${MIN_EVICT_AFTER_S} seconds: members greet the sequencer every second, and a shorter silence evicts live ones`,
        );
      }
      const log = makeLogger("sequencer", values);
      const signal = untilSignal();
      const joining = Sequencer.join({
        host,
        basePort,
        joinTimeoutMs: joinTimeout * 1000,
        history,
        curve: clientCurveFromFlags(values),
        logPath,
        fsync,
        evictAfterMs: evictAfter * 1000,
        batch: !values["no-batch"],
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
      log.info("started");
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
