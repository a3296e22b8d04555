/**
 * The broker's command line: `deno task run:broker --expect 5`.
 *
 * @module
 */

import { Broker } from "../broker/broker.ts";
import {
  basePortFlag,
  COMMON_FLAGS,
  type FlagSpec,
  hostFlag,
  makeLogger,
  maxPayloadFlag,
  numberFlag,
  onCountersSignal,
  runCommand,
  untilSignal,
  UsageError,
} from "./flags.ts";
import { BROKER_CURVE_FLAGS, brokerCurveFromFlags } from "./curve_flags.ts";

const FLAGS: Record<string, FlagSpec> = {
  expect: {
    type: "string",
    value: "N",
    help:
      "participants to wait for before start: clients plus the sequencer (the seed's -nc); required",
  },
  ...BROKER_CURVE_FLAGS,
  "max-payload": {
    type: "string",
    value: "BYTES",
    default: "1048576",
    help: "the largest payload accepted; a peer that sends more is disconnected",
  },
  resume: {
    type: "boolean",
    help:
      "skip the start barrier (a broker started again while the group runs): every participant that syncs gets start at once",
  },
  ...COMMON_FLAGS,
};

if (import.meta.main) {
  await runCommand(
    "broker",
    "deno task run:broker",
    "Runs the group's broker: the multicast forwarder, the start barrier and the router for direct messages.\nRuns until SIGINT/SIGTERM.",
    FLAGS,
    async (values) => {
      if (values.expect === undefined) {
        throw new UsageError(
          "Missing --expect N: how many participants to wait for",
        );
      }
      const expect = numberFlag(values, "expect", 0, {
        min: 1,
        max: 100_000,
        integer: true,
      });
      const basePort = basePortFlag(values);
      const host = hostFlag(values);
      const log = makeLogger("broker", values);
      const signal = untilSignal();
      const broker = new Broker({
        expect,
        host,
        basePort,
        resume: values.resume === true,
        maxPayload: maxPayloadFlag(values),
        curve: brokerCurveFromFlags(values),
        log: (line) => log.debug(line),
        warn: (line) => log.info(line),
        trace: values.verbose ? (line) => log.debug(line) : undefined,
      });
      const report = () =>
        log.info(
          "counters",
          { ...broker.counters },
        );
      const stopReports = onCountersSignal(report);
      log.info(
        `listening on ${host}:${basePort}..${basePort + 3}, waiting for ${expect} participants`,
      );
      void broker.started.then(() =>
        log.info(`all ${expect} participants are in: start published`)
      );
      const got = await signal.promise;
      log.info(`${got}: shutting down`);
      await broker.close();
      report();
      stopReports();
      signal.dispose();
    },
  );
}
