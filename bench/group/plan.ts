/**
 * The group benchmark's runs: what each measures, and the plan of a whole
 * bench (which runs, in which order), with the targets.
 *
 * @module
 */

/**
 * The throughput case runs this many times per implementation (runs on a
 * shared 2-core VM vary by 15%); the targets use the median run.
 */
export const THROUGHPUT_RUNS = 3;

/** At offered loads, multicasts sent in the first second are left out of the latency (JIT warm-up). */
export const WARMUP_SECONDS = 1;

/** The targets on a 2-core machine. */
export const TARGETS = {
  perClientPerSec: 100_000,
  p99AtThousandMs: 1,
  seedRatio: 50,
  frozenRatio: 0.8,
};

/**
 * The frozen runs' sequencer evicts a member silent this long (s): longer
 * than any run, so that the frozen member is never evicted and catches up
 * as the same member (eviction, and joining again, is tests/faults_test.ts's).
 */
export const FROZEN_EVICT_AFTER_S = 3600;

/** What a run measures, for the tables. */
export type RunGroup =
  | "warmup"
  | "throughput"
  | "latency"
  | "clients"
  | "latency-clients"
  | "sizes"
  | "frozen";

/** Which implementation a run uses. */
export type Implementation = "deno" | "seed";

/** One run: a broker, a sequencer and `clients` clients. */
export interface RunSpec {
  /** A unique name, e.g. "clients-8-deno". */
  key: string;
  /** The tables this run feeds. */
  groups: RunGroup[];
  /** Ours, or the seed's design in pyzmq. */
  impl: Implementation;
  /** Number of clients. */
  clients: number;
  /** Payload bytes. */
  size: number;
  /** Multicasts in all, split across the clients. */
  total: number;
  /** Offered multicasts per second in all; 0 = as fast as backpressure allows. */
  rate: number;
  /**
   * Clients besides `clients` that only receive (every multicast), each
   * frozen with SIGSTOP right after its first delivery until the `clients`
   * are done, then let go on with SIGCONT (none if undefined).
   */
  frozen?: number;
  /**
   * The sequencer's flags beyond the defaults: a `--log` in a temporary file
   * (the catch-up of a member far behind reads it), `--evict-after` seconds.
   */
  sequencer?: { log: boolean; evictAfterSeconds: number };
}

/** What to plan. */
export interface PlanOptions {
  /** The factor applied to every message count. */
  scale: number;
  /** Only the runs that feed these groups (and the warm-up); every run if undefined. */
  only?: ReadonlySet<string>;
  /** Also the seed's design. */
  seed: boolean;
  /** Runs of the throughput case per implementation ({@link THROUGHPUT_RUNS}; 1 for a profile). */
  throughputRuns: number;
}

/** The clients of the scaling runs. */
export const CLIENT_COUNTS = [2, 4, 8, 16] as const;

/** The payload sizes of the scaling runs. */
export const PAYLOAD_SIZES = [32, 1024, 65536] as const;

/**
 * The runs of a bench, in order: a warm-up, the throughput runs (the
 * implementations alternating), the latency runs, then the scaling runs.
 *
 * @param options The scale, the groups, the implementations.
 * @returns The runs.
 */
export function plan(options: PlanOptions): RunSpec[] {
  const { only, seed } = options;
  const specs: RunSpec[] = [];
  const add = (spec: Omit<RunSpec, "key">, name: string) => {
    const groups = spec.groups.filter((g) => g === "warmup" || only === undefined || only.has(g));
    if (groups.length === 0) return;
    if (spec.impl === "seed" && !seed) return;
    specs.push({ ...spec, groups, key: `${name}-${spec.impl}` });
  };
  add({ groups: ["warmup"], impl: "deno", clients: 2, size: 32, total: 2000, rate: 0 }, "warmup");
  planThroughput(options, add);
  planLatency(options, add);
  planScaling(options, add);
  planLatencyScaling(options, add);
  planFrozen(options, add);
  return specs;
}

/** Adds a run under a name (the implementation is appended). */
type Add = (spec: Omit<RunSpec, "key">, name: string) => void;

function planThroughput({ scale, throughputRuns }: PlanOptions, add: Add): void {
  for (let run = 1; run <= throughputRuns; run++) {
    for (const impl of ["deno", "seed"] as const) {
      add(
        {
          groups: ["throughput"],
          impl,
          clients: 4,
          size: 32,
          total: scaled(100_000, scale),
          rate: 0,
        },
        run === 1 ? "throughput" : `throughput-${run}`,
      );
    }
  }
}

function planLatency({ scale }: PlanOptions, add: Add): void {
  for (const rate of [1000, 10_000]) {
    add(
      {
        groups: ["latency", ...(rate === 1000 ? ["latency-clients" as const] : [])],
        impl: "deno",
        clients: 4,
        size: 32,
        total: Math.max(2 * rate, Math.round(6 * rate * Math.min(1, scale))),
        rate,
      },
      `latency-${rate}`,
    );
  }
}

function planScaling({ scale }: PlanOptions, add: Add): void {
  for (const impl of ["deno", "seed"] as const) {
    for (const clients of CLIENT_COUNTS) {
      add(
        {
          groups: clients === 4 ? ["clients", "sizes"] : ["clients"],
          impl,
          clients,
          size: 32,
          total: scaled(40_000, scale),
          rate: 0,
        },
        `clients-${clients}`,
      );
    }
    for (const [size, total] of [[1024, 40_000], [65536, 4_000]] as const) {
      add(
        { groups: ["sizes"], impl, clients: 4, size, total: scaled(total, scale), rate: 0 },
        `size-${size}`,
      );
    }
  }
}

function planLatencyScaling({ scale }: PlanOptions, add: Add): void {
  for (const clients of [2, 8, 16]) {
    add(
      {
        groups: ["latency-clients"],
        impl: "deno",
        clients,
        size: 32,
        total: Math.max(2000, Math.round(4000 * Math.min(1, scale))),
        rate: 1000,
      },
      `latency-1000-clients-${clients}`,
    );
  }
}

/**
 * A member frozen under load, and the same load without it: 3 clients
 * multicasting 300,000 in all as fast as they can with a fourth that only
 * receives and is frozen after its first delivery (at `--scale 1` about
 * 150,000 reach its queues and the rest it lacks, to catch up by
 * retransmission), then the 3 alone; the same sequencer flags in both.
 */
function planFrozen({ scale }: PlanOptions, add: Add): void {
  const load = {
    groups: ["frozen" as const],
    impl: "deno" as const,
    clients: 3,
    size: 32,
    total: scaled(300_000, scale),
    rate: 0,
    sequencer: { log: true, evictAfterSeconds: FROZEN_EVICT_AFTER_S },
  };
  add({ ...load, frozen: 1 }, "frozen");
  add(load, "frozen-alone");
}

/** A message count times the scale, at least 1. */
function scaled(count: number, scale: number): number {
  return Math.max(1, Math.round(count * scale));
}
