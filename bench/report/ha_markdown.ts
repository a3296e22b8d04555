/**
 * The report's section on HA mode: the failover pauses (p50 and max, by
 * the role killed) and the throughput of HA mode against the default.
 *
 * @module
 */

import type { HaBenchResult } from "../group/ha.ts";
import { median } from "../stats.ts";
import { count, head, ratio, row } from "./format.ts";

/**
 * The HA section, or a line saying why it was not run.
 *
 * @param ha What the HA runs found, or why they were skipped; undefined when not planned.
 */
export function haSection(ha: HaBenchResult | { skipped: string } | undefined): string[] {
  if (ha === undefined) return [];
  if ("skipped" in ha) return ["", "## HA mode (etcd)", "", `Not run: ${ha.skipped}.`];
  const { pauses, throughput } = ha;
  const line = (what: string, p: { count: number; p50: number; max: number }) =>
    row([what, String(p.count), `${count(p.p50)} ms`, `${count(p.max)} ms`]);
  const defaultMedian = median(throughput.defaultMode);
  const haMedian = median(throughput.haMode);
  return [
    "",
    "## HA mode (etcd)",
    "",
    `Two brokers and two sequencers with an etcd of their own, lease TTL ${ha.leaseTtlS} s; 4 clients multicast 100 a second each while the active sequencer, then the active broker, and so on, is killed with SIGKILL and started again as a standby. A pause is the time from the kill until every client delivered again.`,
    "",
    ...head(["killed", "failovers", "pause p50", "pause max"]),
    line("active sequencer", pauses.sequencer),
    line("active broker", pauses.broker),
    line("either", pauses.all),
    "",
    `The cost of HA mode: ${
      count(throughput.multicasts)
    } multicasts with no sleeps from 4 clients, deliveries per second at each client (runs interleaved; the default's sequencer with \`--log\`, as HA mode's are):`,
    "",
    ...head(["mode", "runs", "median", "HA ÷ default"]),
    row([
      "default (one broker, one sequencer)",
      throughput.defaultMode.map(count).join(", "),
      count(defaultMedian),
      "",
    ]),
    row([
      "HA (two of each, copies before publishing)",
      throughput.haMode.map(count).join(", "),
      count(haMedian),
      ratio(haMedian, defaultMedian, 2),
    ]),
  ];
}
