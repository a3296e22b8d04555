/**
 * Reading what `/proc` says: peak memory and CPU time of a process, busy CPU
 * time of the machine. Text in, numbers out; no I/O.
 *
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat` and `/proc/stat` (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** What `/proc` says of a process. */
export interface ProcSample {
  /** Peak resident memory (VmHWM), KiB. */
  peakKiB: number;
  /** CPU time used so far, user plus system, seconds. */
  cpuSeconds: number;
}

/**
 * The peak resident memory in the text of a `/proc/<pid>/status`.
 *
 * @param status The file, or some of its lines.
 * @returns VmHWM in KiB, or undefined if it is not there.
 */
export function vmHwmKiB(status: string): number | undefined {
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib);
}

/**
 * The CPU time in a `/proc/<pid>/stat` line: utime plus stime.
 *
 * @param stat The line: `pid (comm) state ...`, where comm may hold spaces and parentheses.
 * @returns Seconds.
 */
export function statCpuSeconds(stat: string): number {
  // After "pid (comm) ", field 3 (state) comes first: utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * Reads the output of `grep -H -E '^(VmHWM|[0-9])' /proc/<pid>/status /proc/<pid>/stat ...`
 * into `samples`: the larger peak memory, and the CPU time. Pids not in
 * `samples` are skipped.
 *
 * @param output The lines grep printed.
 * @param samples By pid; updated in place.
 */
export function readProcLines(output: string, samples: Map<number, ProcSample>): void {
  for (const line of output.split("\n")) {
    const match = /^\/proc\/(\d+)\/(status|stat):(.*)$/.exec(line);
    const sample = match && samples.get(Number(match[1]));
    if (!match || !sample) continue;
    if (match[2] === "status") {
      sample.peakKiB = Math.max(sample.peakKiB, vmHwmKiB(match[3]!) ?? 0);
    } else {
      sample.cpuSeconds = statCpuSeconds(match[3]!);
    }
  }
}

/**
 * The CPU seconds in the `cpu` line of `/proc/stat`: user, nice, system,
 * irq, softirq and steal (all but idle and iowait), over all CPUs.
 *
 * @param line E.g. "cpu  60734 128 26263 601651 662 0 1873 131 0 0".
 * @returns Seconds, or NaN for a line that is not one.
 */
export function busySecondsOf(line: string): number {
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return busy / TICKS_PER_SECOND;
}
