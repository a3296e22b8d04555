/**
 * The broker's command line: `deno task run:broker --expect 5`, with
 * `--sequencer` the group's sequencer inside the same process.
 *
 * @module
 */

import { connectHost } from "../role_options.ts";
import { Broker } from "../broker/broker.ts";
import type { RoleSnapshot } from "../metrics/families.ts";
import { serveMetrics } from "../metrics/server.ts";
import {
  Sequencer,
  type SequencerCounters,
  type SequencerOptions,
} from "../sequencer/sequencer.ts";
import {
  SEQUENCER_FLAGS,
  type SequencerFlagOptions,
  sequencerFlagOptions,
} from "./sequencer_flags.ts";
import {
  basePortFlag,
  COMMON_FLAGS,
  type FlagSpec,
  type FlagValues,
  hostFlag,
  type Logger,
  makeLogger,
  maxPayloadFlag,
  metricsFlag,
  numberFlag,
  onCountersSignal,
  runCommand,
  untilSignal,
  UsageError,
} from "./flags.ts";
import { BROKER_CURVE_FLAGS, brokerCurveFromFlags } from "./curve_flags.ts";
import { HA_FLAGS, haFlagOptions } from "./ha_flags.ts";
import { HaBroker, type HaBrokerOptions } from "../ha/ha_broker.ts";

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
  sequencer: {
    type: "boolean",
    help:
      "run the group's sequencer inside this process (it counts in --expect): orders go straight to the bus, two hops fewer; --log, --fsync, --history, --no-batch and --evict-after are its flags",
  },
  ...SEQUENCER_FLAGS,
  ...HA_FLAGS,
  ...COMMON_FLAGS,
};

/** The in-process sequencer's options, or undefined without --sequencer (whose flags then are an error). */
function sequencerOptions(values: FlagValues): SequencerFlagOptions | undefined {
  if (values.sequencer !== true) {
    const stray = Object.keys(SEQUENCER_FLAGS).find((name) => values[name] !== undefined);
    if (stray !== undefined) {
      throw new UsageError(
        `--${stray} is a flag of the sequencer: give --sequencer too, or give it to run:sequencer`,
      );
    }
    return undefined;
  }
  if (values.resume === true && values.log === undefined) {
    throw new UsageError(
      "--resume --sequencer needs the sequencer's --log: without it the sequence would start again from 1",
    );
  }
  if (values["curve-key"] !== undefined || values["curve-allow"] !== undefined) {
    throw new UsageError(
      "--sequencer with CURVE is not supported: run the sequencer as its own process (deno task run:sequencer with its key)",
    );
  }
  return sequencerFlagOptions(values);
}

/** The sequencer running inside the broker's process. */
interface InsideSequencer {
  /** Settles with the error that stopped it (its join failed, or its log). */
  failed: Promise<Error>;
  /** Its counters, once it joined. */
  counters(): Readonly<SequencerCounters> | undefined;
  /** Its snapshot for the metrics, once it joined. */
  snapshot(): RoleSnapshot | undefined;
  /** Stops it, joined or still joining. */
  close(): Promise<void>;
}

/** As long as the broker waits for its participants: no deadline of its own, in effect. */
const INSIDE_JOIN_TIMEOUT_MS = 2_000_000_000;

/** Starts the sequencer inside this process, on the broker's bus port; it joins as any. */
function startSequencer(
  broker: Broker,
  options: SequencerOptions,
  values: FlagValues,
): InsideSequencer {
  const log = makeLogger("sequencer", values);
  const stop = new AbortController();
  let joined: Sequencer | undefined;
  const joining = Sequencer.join({
    ...options,
    bus: broker.busPort(),
    joinTimeoutMs: INSIDE_JOIN_TIMEOUT_MS,
    signal: stop.signal,
    log: (line) => log.debug(line),
    warn: (line) => log.info(line),
    trace: values.verbose ? (line) => log.debug(line) : undefined,
  });
  const failed = joining.then((sequencer) => {
    joined = sequencer;
    log.info("started, inside the broker's process");
    return sequencer.failed;
  }, (error) => error instanceof Error ? error : new Error(String(error)));
  return {
    failed,
    counters: () => joined?.counters,
    snapshot: () => joined?.snapshot(),
    close: async () => {
      stop.abort(new Error("the broker is shutting down"));
      const sequencer = await joining.catch(() => undefined);
      await sequencer?.close();
    },
  };
}

if (import.meta.main) {
  await runCommand(
    "broker",
    "deno task run:broker",
    "Runs the group's broker: the multicast forwarder, the start barrier and the router for direct messages;\nwith --sequencer, the group's sequencer too, in the same process.\nRuns until SIGINT/SIGTERM.",
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
      const inside = sequencerOptions(values);
      // Read before anything is bound: a usage error leaves the ports alone.
      const address = metricsFlag(values);
      const log = makeLogger("broker", values);
      const ha = haFlagOptions(values);
      if (ha !== undefined) {
        if (inside !== undefined) throw new UsageError("--etcd with --sequencer: not yet");
        if (values.resume === true) {
          throw new UsageError(
            "--etcd with --resume: in HA mode a broker runs as after --resume by itself when another led before it",
          );
        }
        return await runHaBroker({
          expect,
          host,
          basePort,
          maxPayload: maxPayloadFlag(values),
          curve: brokerCurveFromFlags(values),
          metrics: address,
          log: (line) => log.debug(line),
          warn: (line) => log.info(line),
          trace: values.verbose ? (line) => log.debug(line) : undefined,
          ha,
        }, log);
      }
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
      const sequencer = inside === undefined
        ? undefined
        : startSequencer(broker, { ...inside, host: connectHost(host), basePort }, values);
      const metrics = address === undefined ? undefined : serveMetrics(() => {
        const inside = sequencer?.snapshot();
        return inside === undefined ? [broker.snapshot()] : [broker.snapshot(), inside];
      }, address);
      if (metrics !== undefined) log.info(`metrics, status and a live page at ${metrics.url}`);
      const report = () => {
        log.info("counters", { ...broker.counters });
        const counters = sequencer?.counters();
        if (counters !== undefined) log.info("sequencer counters", { ...counters });
      };
      const stopReports = onCountersSignal(report);
      log.info(
        `listening on ${host}:${basePort}..${basePort + 3}, waiting for ${expect} participants`,
      );
      void broker.started.then(() =>
        log.info(`all ${expect} participants are in: start published`)
      );
      const got = await Promise.race([signal.promise, sequencer?.failed ?? new Promise(() => {})]);
      if (typeof got === "string") log.info(`${got}: shutting down`);
      await sequencer?.close();
      await metrics?.close();
      await broker.close();
      report();
      stopReports();
      signal.dispose();
      if (got instanceof Error) throw got;
    },
  );
}

/** HA mode: campaigns, and runs the broker while etcd elects it, until SIGINT/SIGTERM. */
async function runHaBroker(options: HaBrokerOptions, log: Logger): Promise<void> {
  const broker = HaBroker.start(options);
  log.info(`standing by as ${broker.name} in group ${options.ha.group}`);
  const signal = untilSignal();
  const got = await Promise.race([signal.promise, broker.failed]);
  if (typeof got === "string") log.info(`${got}: shutting down`);
  await broker.close();
  signal.dispose();
  if (got instanceof Error) throw got;
}
