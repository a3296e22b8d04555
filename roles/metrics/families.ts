/**
 * The group's metric families, from what the roles already count: every
 * counter of a role as `zmq_group_<name>_total{role,id}`, the gauges a role
 * reads out, and the process's memory. No I/O, and nothing of the roles
 * themselves: a role hands over plain readings.
 *
 * @module
 */

import type { MetricFamily, MetricSample } from "./exposition.ts";

/** A role's name on the metrics' `role` label. */
export type RoleName = "broker" | "sequencer" | "client";

/** A gauge a role reads out now. */
export interface GaugeReading {
  /** Its name, without the `zmq_group_` prefix, in snake case. */
  name: string;
  /** The value now. */
  value: number;
}

/** What one role counts and measures, now. */
export interface RoleReading {
  /** Which role. */
  role: RoleName;
  /** Its id (`broker`, `sequencer`, or the client's). */
  id: string;
  /** Its counters, by the camel-case names of its `counters`. */
  counters: Readonly<Record<string, number>>;
  /** Its gauges. */
  gauges: readonly GaugeReading[];
}

/** A role now: its reading for `/metrics` and its status for `/status`. */
export interface RoleSnapshot {
  /** Counters and gauges. */
  reading: RoleReading;
  /** The same and more (configuration, the role's view of the group), as JSON. */
  status: Readonly<Record<string, unknown>>;
}

/** A role that is still joining the group (waiting for the broker or the start): no numbers yet. */
export function joiningSnapshot(role: RoleName, id: string): RoleSnapshot {
  return roleSnapshot({ role, id, counters: {}, gauges: [] }, { state: "joining" });
}

/**
 * A role's snapshot: its reading, and for `/status` the same with what
 * only the status shows (its configuration, its view of the group...).
 *
 * @param reading The role's counters and gauges now.
 * @param more The status's other fields.
 */
export function roleSnapshot(
  reading: RoleReading,
  more: Readonly<Record<string, unknown>>,
): RoleSnapshot {
  const { role, id, counters, gauges } = reading;
  const gaugeValues = Object.fromEntries(gauges.map(({ name, value }) => [name, value]));
  return { reading, status: { role, id, ...more, counters, gauges: gaugeValues } };
}

/** What each counter counts (the same name means the same thing in every role). */
const COUNTER_HELP: Readonly<Record<string, string>> = {
  synced: "Participants let in at the start barrier.",
  subscriptions: "Subscriptions to the bus that the broker counted.",
  forwarded: "Bus messages the broker forwarded (with the in-process sequencer's orders).",
  directForwarded: "Direct messages the broker forwarded.",
  unknownRecipients:
    "Direct messages dropped for an unknown or stuck recipient (the sender was told).",
  refusedHandshakes: "CURVE handshakes refused (keys not on the allow-list).",
  badInput: "Malformed messages dropped.",
  refused:
    "Messages refused: by the broker's gate or at the barrier; orders past a member's reach.",
  busOverflows: "Times a bus subscriber was at its high-water mark and lost bus messages alone.",
  sequencerOverflows:
    "Multicasts dropped for the sequencer in the broker's process (100,000 waiting).",
  ordered: "Orders published (sequencer), or received (member).",
  retransmitted: "Orders the sequencer sent again on request.",
  requests: "Retransmission and greeting requests the sequencer answered.",
  duplicates: "Copies of multicasts already ordered, dropped by the sequencer.",
  fsyncs: "fsync calls on the sequencer's order log.",
  views: "Membership views made (sequencer) or delivered (member).",
  evicted: "Members the sequencer evicted for silence.",
  batches: "Bus messages that carried a batch of orders.",
  sent: "Multicasts this member sent.",
  delivered: "Orders this member delivered, in total order.",
  recovered: "Deliveries made from the order because the multicast was lost.",
  retransmitRequests: "Retransmission requests this member sent.",
  gapsFilled: "Orders this member received by retransmission.",
  resent: "Own multicasts this member sent again (not ordered in time).",
  skipped: "Orders a late joiner skipped.",
  directSent: "Direct messages this member sent.",
  directReceived: "Direct messages this member received.",
  evictions: "Times the sequencer evicted this member.",
};

/** What each gauge measures. */
const GAUGE_HELP: Readonly<Record<string, string>> = {
  highest_order:
    "The highest order number seen (broker: forwarded; sequencer: given; member: received).",
  delivered_order: "The last order number this member delivered.",
  lag_orders: "Orders this member has seen numbered and not yet delivered.",
  held_back_messages: "Multicasts this member holds back, waiting for their order.",
  held_back_orders: "Orders this member holds back, waiting for the gap before them.",
  in_flight: "This member's own multicasts sent and not yet delivered.",
  view: "The number of the current membership view (0 before the first).",
  members_in_view: "Members in the current membership view.",
  waiting_directs: "Direct messages the broker holds for recipients that cannot take them yet.",
};

/** `directForwarded` → `direct_forwarded`. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The families of the roles in one process (the broker with its sequencer
 * is two), merged by name, then the process's own.
 *
 * @param readings One reading per role.
 * @returns The families, in a stable order.
 */
export function groupFamilies(readings: readonly RoleReading[]): MetricFamily[] {
  const byName = new Map<string, MetricFamily & { samples: MetricSample[] }>();
  const add = (name: string, help: string, type: "counter" | "gauge", sample: MetricSample) => {
    let family = byName.get(name);
    if (family === undefined) {
      family = { name, help, type, samples: [] };
      byName.set(name, family);
    }
    family.samples.push(sample);
  };
  for (const { role, id, counters, gauges } of readings) {
    const labels = { role, id };
    for (const [name, value] of Object.entries(counters)) {
      // `heldBack` and `highestOrder` are states, read out as gauges.
      if (name === "heldBack" || name === "highestOrder") continue;
      const help = COUNTER_HELP[name] ?? `The role's ${name} counter.`;
      add(`zmq_group_${snake(name)}_total`, help, "counter", { labels, value });
    }
    for (const { name, value } of gauges) {
      add(`zmq_group_${name}`, GAUGE_HELP[name] ?? `The role's ${name}.`, "gauge", {
        labels,
        value,
      });
    }
  }
  return [...byName.values(), ...processFamilies()];
}

/** The process's memory and start time. */
function processFamilies(): MetricFamily[] {
  const memory = Deno.memoryUsage();
  const gauge = (name: string, help: string, value: number): MetricFamily => ({
    name,
    help,
    type: "gauge",
    samples: [{ labels: {}, value }],
  });
  return [
    gauge("process_resident_memory_bytes", "Resident memory of the process, bytes.", memory.rss),
    gauge("process_heap_used_bytes", "V8 heap in use, bytes.", memory.heapUsed),
    gauge(
      "process_start_time_seconds",
      "When the process started, seconds since the epoch.",
      Math.round(performance.timeOrigin) / 1000,
    ),
  ];
}
