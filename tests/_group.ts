/**
 * A group inside the test process: a broker, the sequencer and members,
 * over tcp or inproc, with every role's log lines kept.
 *
 * @module
 */

import type { BrokerOptions } from "../roles/broker/broker.ts";
import type { BusReception, MemberOptions } from "../roles/member/member.ts";
import type { SequencerOptions } from "../roles/sequencer/sequencer.ts";
import type { GroupAddress } from "../roles/role_options.ts";
import { Broker, Member, Sequencer } from "../roles/mod.ts";
import { within } from "./_helpers.ts";

/** What {@link startGroup} starts. */
export interface GroupOptions {
  /** The members' ids. */
  members: readonly string[];
  /** Where: host and base port, or inproc endpoints and a shared context. */
  where: GroupAddress;
  /** What each member takes from the bus, by id (default "orders"). */
  receive?: Readonly<Record<string, BusReception>>;
  /** The broker's grace for unknown recipients, ms. */
  unknownRecipientGraceMs?: number;
  /** How long the join and the start may take, ms. */
  timeoutMs: number;
  /** More options of the broker (e.g. `metrics`). */
  broker?: Partial<BrokerOptions>;
  /** More options of the sequencer. */
  sequencer?: Partial<SequencerOptions>;
  /** The sequencer takes the broker's bus in this process (`broker.busPort()`). */
  sequencerInBroker?: boolean;
  /** More options of each member, by id. */
  member?: Readonly<Record<string, Partial<MemberOptions>>>;
}

/** A running group, and how to close it all. */
export interface TestGroup {
  broker: Broker;
  sequencer: Sequencer;
  members: Member[];
  /** Every role's log lines, by role ("broker", "sequencer" or a member's id). */
  logs: Map<string, string[]>;
  /** How many log lines of `role` contain `text`. */
  logged(role: string, text: string): number;
  /** Resolves with the first log line of `role` that contains `text`. */
  logLine(role: string, text: string): Promise<string>;
  /** Closes the members, the sequencer and the broker. */
  close(): Promise<void>;
}

/** Starts a group and waits for its start; on a failed join, closes what joined and throws. */
export async function startGroup(options: GroupOptions): Promise<TestGroup> {
  const logs = new Map<string, string[]>();
  const watchers: { role: string; text: string; resolve: (line: string) => void }[] = [];
  const logger = (role: string) => (line: string) => {
    logs.get(role)!.push(line);
    const at = watchers.findIndex((w) => w.role === role && line.includes(w.text));
    if (at >= 0) watchers.splice(at, 1)[0]!.resolve(line);
  };
  for (const role of ["broker", "sequencer", ...options.members]) logs.set(role, []);
  const where = options.where;
  const broker = new Broker({
    ...where,
    ...options.broker,
    expect: options.members.length + 1,
    unknownRecipientGraceMs: options.unknownRecipientGraceMs ?? 200,
    log: logger("broker"),
  });
  const joinTimeoutMs = options.timeoutMs;
  const joining = await Promise.allSettled([
    Sequencer.join({
      ...where,
      ...options.sequencer,
      ...(options.sequencerInBroker ? { bus: broker.busPort() } : {}),
      joinTimeoutMs,
      log: logger("sequencer"),
    }),
    ...options.members.map((id) =>
      Member.join({
        ...where,
        ...options.member?.[id],
        id,
        joinTimeoutMs,
        receive: options.receive?.[id],
        log: logger(id),
      })
    ),
  ]);
  const failed = joining.find((r) => r.status === "rejected");
  if (failed !== undefined) {
    for (const r of joining) if (r.status === "fulfilled") await r.value.close();
    await broker.close();
    throw (failed as PromiseRejectedResult).reason;
  }
  const [sequencer, ...members] = joining.map((r) =>
    (r as PromiseFulfilledResult<Sequencer | Member>).value
  ) as [Sequencer, ...Member[]];
  await within(options.timeoutMs, "the broker's start", broker.started);
  return {
    broker,
    sequencer,
    members,
    logs,
    logged: (role, text) => (logs.get(role) ?? []).filter((line) => line.includes(text)).length,
    logLine(role, text) {
      const seen = logs.get(role)!.find((line) => line.includes(text));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => watchers.push({ role, text, resolve }));
    },
    async close() {
      for (const member of members) await member.close();
      await sequencer.close();
      await broker.close();
    },
  };
}
