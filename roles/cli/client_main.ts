/**
 * The client's command line: `deno task run:client --id c1 --script
 * scenarios/seed/c1.txt --out out/`.
 *
 * @module
 */

import {
  basePortFlag,
  COMMON_FLAGS,
  type FlagSpec,
  hostFlag,
  makeLogger,
  maxPayloadFlag,
  metricsFlag,
  numberFlag,
  onCountersSignal,
  runCommand,
  untilSignal,
  UsageError,
} from "./flags.ts";
import { CLIENT_CURVE_FLAGS, clientCurveFromFlags } from "./curve_flags.ts";
import { runClient } from "../harness/client.ts";
import { type BusReception, type LateJoin, Member } from "../member/member.ts";
import { checkClientId } from "../protocol/ids.ts";
import { countMulticasts, loadScript } from "../harness/script.ts";
import { HA_FLAGS, haFlagOptions } from "./ha_flags.ts";

const FLAGS: Record<string, FlagSpec> = {
  id: {
    type: "string",
    value: "ID",
    help: "this client's id, e.g. c1; required",
  },
  script: {
    type: "string",
    value: "FILE",
    help:
      "the command script to run (Multicast,<id>,<text> / <id>,<to>,<text> / sleep,<s>); required",
  },
  out: {
    type: "string",
    value: "DIR",
    default: ".",
    help: "where test_result_<id>_tom.txt, _uno.txt and _views.txt go",
  },
  "time-scale": {
    type: "string",
    value: "F",
    default: "1",
    help: "multiplies every sleep of the script, e.g. 0.1",
  },
  "idle-exit": {
    type: "string",
    value: "S",
    help:
      "once the script is done and its multicasts delivered, exit after S seconds without traffic",
  },
  ...CLIENT_CURVE_FLAGS,
  "join-timeout": {
    type: "string",
    value: "S",
    default: "30",
    help: "seconds to wait for the broker and the start",
  },
  "max-payload": {
    type: "string",
    value: "BYTES",
    default: "1048576",
    help: "the largest payload this client sends (the broker's --max-payload must be as large)",
  },
  receive: {
    type: "string",
    value: "orders|all",
    default: "orders",
    help:
      "take the sequencer's orders only (each carries its payload), or every multicast too, held back until its order (the seed's way)",
  },
  "late-join": {
    type: "string",
    value: "catch-up|now",
    default: "catch-up",
    help:
      "joining a group that already started: deliver what the sequencer still holds from order 1, or from now on",
  },
  "delivery-delay": {
    type: "string",
    value: "MS",
    default: "0",
    help:
      "wait MS milliseconds after writing each delivery (a deliberately slow client, for tests)",
  },
  "drop-every": {
    type: "string",
    value: "N",
    default: "0",
    help: "fault injection for tests: drop every Nth bus message this client receives",
  },
  window: {
    type: "string",
    value: "N",
    default: "1000",
    help: "at most N own multicasts in flight (flow control)",
  },
  // A client has no name in etcd: it only finds the broker there.
  ...Object.fromEntries(Object.entries(HA_FLAGS).filter(([flag]) => flag !== "name")),
  ...COMMON_FLAGS,
};

if (import.meta.main) {
  await runCommand(
    "client",
    "deno task run:client",
    "Runs a client of the group: executes its script, delivers multicasts in total order.\nRuns until SIGINT/SIGTERM, or --idle-exit.",
    FLAGS,
    async (values) => {
      if (typeof values.id !== "string") throw new UsageError("Missing --id ID");
      if (typeof values.script !== "string") {
        throw new UsageError("Missing --script FILE");
      }
      let id: string;
      try {
        id = checkClientId(values.id);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const basePort = basePortFlag(values);
      const timeScale = numberFlag(values, "time-scale", 1, { min: 0 });
      const idleExit = values["idle-exit"] === undefined
        ? undefined
        : numberFlag(values, "idle-exit", 0, { min: 0 });
      const joinTimeout = numberFlag(values, "join-timeout", 30, { min: 0 });
      const lateJoin = String(values["late-join"] ?? "catch-up") as LateJoin;
      if (lateJoin !== "catch-up" && lateJoin !== "now") {
        throw new UsageError(
          `Invalid --late-join ${JSON.stringify(lateJoin)}: expected catch-up or now`,
        );
      }
      const receive = String(values.receive ?? "orders") as BusReception;
      if (receive !== "orders" && receive !== "all") {
        throw new UsageError(
          `Invalid --receive ${JSON.stringify(receive)}: expected orders or all`,
        );
      }
      const deliveryDelayMs = numberFlag(values, "delivery-delay", 0, { min: 0 });
      const window = numberFlag(values, "window", 1000, {
        min: 1,
        integer: true,
      });
      const host = hostFlag(values);
      const outDir = String(values.out ?? ".");
      const log = makeLogger(id, values);
      const maxPayload = maxPayloadFlag(values);
      const metrics = metricsFlag(values);
      // The whole script is checked before anything is sent, the size of every payload too.
      const commands = await loadScript(values.script, id, maxPayload);
      const signal = untilSignal();
      const joining = Member.join({
        id,
        host,
        basePort,
        ha: haFlagOptions(values),
        joinTimeoutMs: joinTimeout * 1000,
        window,
        lateJoin,
        receive,
        maxPayload,
        curve: clientCurveFromFlags(values),
        dropEvery: numberFlag(values, "drop-every", 0, { min: 0, integer: true }),
        metrics,
        log: (l) => log.debug(l),
        warn: (l) => log.info(l),
        trace: values.verbose ? (l) => log.debug(l) : undefined,
      });
      const first = await Promise.race([joining, signal.promise]);
      if (typeof first === "string") {
        log.info(`${first} before the start: shutting down`);
        signal.dispose();
        return;
      }
      const member = first;
      log.info(
        `started${
          member.metricsUrl ? `; metrics, status and a live page at ${member.metricsUrl}` : ""
        }`,
      );
      const client = runClient(member, commands, {
        outDir,
        timeScale,
        deliveryDelayMs,
        trace: values.verbose ? (l) => log.debug(l) : undefined,
      });
      const report = () =>
        log.info(
          "counters",
          { ...member.counters, heldBack: member.heldBack },
        );
      const stopReports = onCountersSignal(report);
      // On a terminal (and not --quiet or --verbose): one progress line, redrawn.
      const expected = countMulticasts(commands);
      const progress = Deno.stderr.isTerminal() && !values.quiet && !values.verbose
        ? setInterval(() => {
          const line =
            `${id}: sent ${member.counters.sent}/${expected}, delivered ${member.counters.delivered}, held back ${
              member.heldBack.messages + member.heldBack.orders
            }`;
          Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
        }, 250)
        : undefined;
      // The script's outcome, as a value: null when it ran to its end.
      const scriptOutcome = client.scriptDone.then(
        () => null,
        (error: unknown) => error ?? new Error("script failed"),
      );
      const never = new Promise<never>(() => {});
      const idle = idleExit === undefined ? never : (async () => {
        if (await scriptOutcome !== null) return never;
        while (member.inFlight > 0 || member.idleMs < idleExit * 1000) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return "idle";
      })();
      const reason = await Promise.race([
        signal.promise,
        idle,
        scriptOutcome.then((error) => error === null ? never : "failure"),
        member.failed.then(() => "failure" as const),
      ]);
      // A script cut short by the shutdown is no failure; one that failed first is.
      const failure = reason === "failure" ? member.failure ?? await scriptOutcome : null;
      log.info(`${reason}: shutting down`);
      clearInterval(progress);
      if (progress !== undefined) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
      await client.stop();
      report();
      stopReports();
      signal.dispose();
      if (failure !== null) throw failure;
    },
  );
}
