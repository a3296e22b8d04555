/**
 * The group benchmark's runs: what each measures, and the plan of a whole
 * bench (which runs, in which order), with the targets. NATS
 * JetStream's runs are planned here too (started by `jetstream.ts`).
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

/** Multicasts in all in our throughput runs (and JetStream's) at scale 1. */
export const THROUGHPUT_MULTICASTS = 400_000;

/** The targets on a 2-core machine. */
export const TARGETS = {
  perClientPerSec: 250_000,
  p99AtThousandMs: 1,
  p50AtThousandMs: 0.4,
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
  | "frozen"
  | "jetstream"
  | "in-broker";

/** Which implementation a run uses: ours, the seed's design in pyzmq, or NATS JetStream. */
export type Implementation = "deno" | "seed" | "jetstream";

/** JetStream's storage of the stream. */
export type JetStreamStorage = "memory" | "file";

/**
 * JetStream's publishers keep at most this many publishes unacknowledged,
 * like our members' default window of own multicasts in flight.
 */
export const JETSTREAM_WINDOW = 1000;

/** JetStream's ordered consumers pull up to this many messages at once (`max_messages`). */
export const JETSTREAM_PULL_BATCH = 1000;

/** One run: a broker, a sequencer and `clients` clients. */
export interface RunSpec {
  /** A unique name, e.g. "clients-8-deno". */
  key: string;
  /** The tables this run feeds. */
  groups: RunGroup[];
  /** Ours, the seed's design in pyzmq, or NATS JetStream. */
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
   * (the catch-up of a member far behind reads it; durable ordering),
   * `--evict-after` seconds (the default if undefined).
   */
  sequencer?: { log: boolean; evictAfterSeconds?: number };
  /**
   * The sequencer runs inside the broker's process (`run:broker
   * --sequencer`, taking orders straight to the bus) instead of as its own.
   */
  inBroker?: boolean;
  /** The clients read through `Member.delivered()`, a promise a delivery (else `deliveredBatches()`). */
  oneByOne?: boolean;
  /** JetStream's runs: the stream's storage (a fresh server and store each run). */
  storage?: JetStreamStorage;
}

/** What to plan. */
export interface PlanOptions {
  /** The factor applied to every message count. */
  scale: number;
  /** Only the runs that feed these groups (and the warm-up); every run if undefined. */
  only?: ReadonlySet<string>;
  /** Also the seed's design. */
  seed: boolean;
  /** Also NATS JetStream (nats-server and the NATS JavaScript client are there). */
  jetstream: boolean;
  /** Runs of the throughput case per implementation ({@link THROUGHPUT_RUNS}; 1 for a profile). */
  throughputRuns: number;
}

/** The clients of the scaling runs. */
export const CLIENT_COUNTS = [2, 4, 8, 16] as const;

/** The payload sizes of the scaling runs. */
export const PAYLOAD_SIZES = [32, 1024, 65536] as const;

/**
 * The runs of a bench, in order: a warm-up, the throughput runs (the
 * implementations alternating), against JetStream (see {@link planJetStream}),
 * the latency runs, the scaling runs, then the frozen member.
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
    if (spec.impl === "jetstream" && !options.jetstream) return;
    specs.push({ ...spec, groups, key: spec.impl === "jetstream" ? name : `${name}-${spec.impl}` });
  };
  add({ groups: ["warmup"], impl: "deno", clients: 2, size: 32, total: 2000, rate: 0 }, "warmup");
  planThroughput(options, add);
  planJetStream(options, add);
  planLatency(options, add);
  planScaling(options, add);
  planLatencyScaling(options, add);
  planFrozen(options, add);
  return specs;
}

/** Adds a run under a name (the implementation is appended, but to JetStream's). */
type Add = (spec: Omit<RunSpec, "key">, name: string) => void;

function planThroughput({ scale, throughputRuns }: PlanOptions, add: Add): void {
  for (let run = 1; run <= throughputRuns; run++) {
    for (const impl of ["deno", "seed"] as const) {
      add(
        {
          // Ours in memory against JetStream's memory storage: the first run
          // with `--only jetstream`, the median of them in a whole bench.
          groups: impl === "deno" && run === 1 ? ["throughput", "jetstream"] : ["throughput"],
          impl,
          clients: 4,
          size: 32,
          // Ours long enough for a steady state (JIT warm-up weighed on 100,000);
          // the seed's design stalls after a few hundred whatever the length.
          total: scaled(impl === "deno" ? THROUGHPUT_MULTICASTS : 100_000, scale),
          rate: 0,
        },
        run === 1 ? "throughput" : `throughput-${run}`,
      );
    }
    add(
      { ...inBrokerLoad(scaled(THROUGHPUT_MULTICASTS, scale), 0), inBroker: true },
      run === 1 ? "throughput-in-broker" : `throughput-in-broker-${run}`,
    );
  }
  // Through `Member.delivered()`, as a user who writes the plain loop: both topologies.
  for (const inBroker of [false, true]) {
    add(
      {
        ...inBrokerLoad(scaled(THROUGHPUT_MULTICASTS, scale), 0),
        ...(inBroker ? { inBroker } : {}),
        oneByOne: true,
      },
      inBroker ? "throughput-delivered-in-broker" : "throughput-delivered",
    );
  }
}

/**
 * NATS JetStream doing the group's job, the throughput case's load (4
 * clients, each publishing its share of 400,000 × 32 B and reading the whole
 * stream in order): on memory storage, against ours in memory (the
 * throughput run); on file storage, against ours with the sequencer's
 * durable `--log` (in a temporary file, the default fsync), run between the
 * two. Without JetStream ours with `--log` still runs.
 */
function planJetStream({ scale }: PlanOptions, add: Add): void {
  const load = {
    groups: ["jetstream" as const],
    clients: 4,
    size: 32,
    total: scaled(THROUGHPUT_MULTICASTS, scale),
    rate: 0,
  };
  add({ ...load, impl: "jetstream", storage: "memory" }, "jetstream-memory");
  add({ ...load, impl: "deno", sequencer: { log: true } }, "throughput-log");
  add({ ...load, impl: "jetstream", storage: "file" }, "jetstream-file");
  add(
    { ...load, groups: ["in-broker"], impl: "deno", inBroker: true, sequencer: { log: true } },
    "throughput-log-in-broker",
  );
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
    add(
      {
        ...inBrokerLoad(Math.max(2 * rate, Math.round(6 * rate * Math.min(1, scale))), rate),
        inBroker: true,
      },
      `latency-${rate}-in-broker`,
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

/** The in-broker group's load: 4 clients of ours, 32 B, `total` multicasts at `rate` (0: as fast as they can). */
function inBrokerLoad(total: number, rate: number): Omit<RunSpec, "key"> {
  return { groups: ["in-broker"], impl: "deno", clients: 4, size: 32, total, rate };
}

/** A message count times the scale, at least 1. */
function scaled(count: number, scale: number): number {
  return Math.max(1, Math.round(count * scale));
}
