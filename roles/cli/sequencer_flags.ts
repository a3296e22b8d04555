/**
 * The sequencer's own flags (its log, history, batching and eviction),
 * shared by its command line and the broker's `--sequencer`.
 *
 * @module
 */

import { type FlagSpec, type FlagValues, numberFlag, UsageError } from "./flags.ts";
import { FSYNC_POLICIES, type FsyncPolicy } from "../sequencer/order_log.ts";
import type { SequencerOptions } from "../sequencer/sequencer.ts";

/** The flags that shape how the sequencer numbers, keeps and publishes orders. */
export const SEQUENCER_FLAGS: Record<string, FlagSpec> = {
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
};

/** The shortest --evict-after: two heartbeats of the members. */
const MIN_EVICT_AFTER_S = 2;

/** The options that {@link SEQUENCER_FLAGS} set, checked. */
export type SequencerFlagOptions = Pick<
  SequencerOptions,
  "history" | "logPath" | "fsync" | "evictAfterMs" | "batch"
>;

/**
 * Reads {@link SEQUENCER_FLAGS}.
 *
 * @throws {UsageError} naming the flag and what it takes.
 */
export function sequencerFlagOptions(values: FlagValues): SequencerFlagOptions {
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
  const evictAfter = numberFlag(values, "evict-after", 5, { min: 0 });
  if (evictAfter > 0 && evictAfter < MIN_EVICT_AFTER_S) {
    throw new UsageError(
      `Invalid --evict-after ${evictAfter}: expected 0 (never evict) or at least ${MIN_EVICT_AFTER_S} seconds: members greet the sequencer every second, and a shorter silence evicts live ones`,
    );
  }
  return {
    history,
    logPath: typeof values.log === "string" ? values.log : undefined,
    fsync,
    evictAfterMs: evictAfter * 1000,
    batch: !values["no-batch"],
  };
}
