/**
 * What the machine and the benchmark's processes use, sampled while they
 * run: peak memory and CPU time from `/proc` (read by `proc.ts`), the
 * machine's busy CPU time and its load average.
 *
 * Deno 2 reads `/proc` files other than `/proc/self` only under
 * `--allow-all`; the benchmarks have `--allow-run`, so `grep` reads them.
 *
 * @module
 */

import type { RoleProcess } from "../tasks/_processes.ts";
import { peakMemory } from "../tasks/scenario.ts";
import { commandText } from "./command.ts";
import { busySecondsOf, type ProcSample, readProcLines } from "./proc.ts";

/**
 * Peak memory and CPU time of some processes (0 where unknown).
 *
 * @param pids The processes.
 * @returns A sample for every pid.
 */
export async function procSamples(pids: number[]): Promise<Map<number, ProcSample>> {
  const samples = new Map<number, ProcSample>();
  for (const pid of pids) samples.set(pid, { peakKiB: peakMemory(pid), cpuSeconds: 0 });
  if (pids.length === 0) return samples;
  try {
    const out = await new Deno.Command("grep", {
      args: [
        "-H",
        "-E",
        "^(VmHWM|[0-9])",
        ...pids.flatMap((pid) => [`/proc/${pid}/status`, `/proc/${pid}/stat`]),
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    readProcLines(new TextDecoder().decode(out.stdout), samples);
  } catch {
    // No grep: memory and CPU are reported as unknown.
  }
  return samples;
}

/** CPU seconds the whole machine has been busy (all CPUs, from /proc/stat), or NaN. */
export async function machineBusySeconds(): Promise<number> {
  return busySecondsOf(await commandText("grep", ["-m1", "^cpu ", "/proc/stat"]));
}

/**
 * The 1-minute load average.
 *
 * @param decimals Round to this many decimals; by default not at all.
 * @returns The load average; -1 where the OS does not tell.
 */
export function loadAverage(decimals?: number): number {
  let load: number;
  try {
    load = Deno.loadavg()[0] ?? -1;
  } catch {
    return -1;
  }
  if (decimals === undefined) return load;
  const scale = 10 ** decimals;
  return Math.round(load * scale) / scale;
}

/**
 * Samples some processes now and then, and keeps, by process name, the
 * highest peak memory and CPU time seen.
 */
export class ProcessSampler {
  readonly #processes: () => RoleProcess[];
  readonly #seen = new Map<string, ProcSample>();
  #sampling: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** @param processes The processes to sample, asked anew at each sample. */
  constructor(processes: () => RoleProcess[]) {
    this.#processes = processes;
  }

  /** Takes a sample, or joins the one under way. */
  sample(): Promise<void> {
    this.#sampling ??= this.#take().finally(() => this.#sampling = undefined);
    return this.#sampling;
  }

  /** Samples every `ms` until {@link stop}. */
  start(ms: number): void {
    this.#timer = setInterval(() => this.sample(), ms);
  }

  /** Stops sampling, after the sample under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sampling;
  }

  /**
   * What was seen of a process.
   *
   * @param name The process's name.
   * @returns The highest values, or undefined if it was never sampled.
   */
  get(name: string): ProcSample | undefined {
    return this.#seen.get(name);
  }

  async #take(): Promise<void> {
    const processes = this.#processes();
    const now = await procSamples(processes.map((p) => p.child.pid));
    for (const process of processes) {
      const got = now.get(process.child.pid);
      const before = this.#seen.get(process.name) ?? { peakKiB: 0, cpuSeconds: 0 };
      this.#seen.set(process.name, {
        peakKiB: Math.max(before.peakKiB, got?.peakKiB ?? 0),
        cpuSeconds: Math.max(before.cpuSeconds, got?.cpuSeconds ?? 0),
      });
    }
  }
}
