/**
 * Profiling one role of the group benchmark's throughput run:
 * `BENCH_GROUP_CPU_PROF` (`broker`, `sequencer` or a client id such as `c1`)
 * runs it under `deno run --cpu-prof` into `BENCH_GROUP_PROF_DIR` (default
 * `/tmp/bench_group_prof`), and {@link summarizeProfile} sums the profile up
 * by function.
 *
 * @module
 */

import type { RunSpec } from "./plan.ts";

/** The role to profile, if one is. */
export function profiledRole(): string | undefined {
  return Deno.env.get("BENCH_GROUP_CPU_PROF");
}

/** Where the profiles go. */
export function profileDir(): string {
  return Deno.env.get("BENCH_GROUP_PROF_DIR") ?? "/tmp/bench_group_prof";
}

/**
 * Deno flags that put `role` under the CPU profiler, when asked: only our
 * roles, only in the throughput run.
 *
 * @param spec The run.
 * @param role "broker", "sequencer" or a client id.
 * @returns The flags, or none.
 */
export function profileFlags(spec: RunSpec, role: string): string[] {
  const wanted = profiledRole();
  if (wanted === undefined || wanted !== role || spec.impl !== "deno") return [];
  if (!spec.groups.includes("throughput")) return [];
  return ["--cpu-prof", `--cpu-prof-dir=${profileDir()}/${role}`];
}

/** Removes the profiles of an earlier bench. */
export function clearProfiles(): void {
  try {
    Deno.removeSync(profileDir(), { recursive: true });
  } catch {
    // Nothing from an earlier run.
  }
}

/** The newest profile of the profiled role, if any (a list of at most one). */
export function findProfiles(): string[] {
  const role = profiledRole();
  if (role === undefined) return [];
  const dir = `${profileDir()}/${role}`;
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.name.endsWith(".cpuprofile"))
      .map((e) => `${dir}/${e.name}`)
      .sort((a, b) => Deno.statSync(b).mtime!.getTime() - Deno.statSync(a).mtime!.getTime())
      .slice(0, 1);
  } catch {
    return [];
  }
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One row of a profile summary. */
export interface ProfileRow {
  /** Function name and where it is. */
  name: string;
  /** Milliseconds. */
  ms: number;
  /** Share of all sampled time, %. */
  percent: number;
}

/** Self and inclusive time of the top functions of a V8 `.cpuprofile`. */
export interface ProfileSummary {
  /** The profile file. */
  file: string;
  /** Sampled milliseconds in all. */
  totalMs: number;
  /** Time in the function itself (FFI calls count in their JS caller). */
  self: ProfileRow[];
  /** Time in the function and what it called. */
  inclusive: ProfileRow[];
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === ""
    ? ""
    : ` ${url.replace(/^.*\/(main|ext|deno)\//, "$1/")}:${lineNumber + 1}`;
  return `${functionName || "(anonymous)"}${where}`;
}

/**
 * Sums a V8 CPU profile by function: self time and inclusive time.
 *
 * @param file A `.cpuprofile` written by `deno run --cpu-prof`.
 * @param top How many rows of each.
 * @returns The summary.
 */
export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(Deno.readTextFileSync(file)) as CpuProfile;
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    total += us;
    let id: number | undefined = profile.samples[i]!;
    const leaf = byId.get(id)!;
    self.set(frameName(leaf), (self.get(frameName(leaf)) ?? 0) + us);
    const seen = new Set<string>();
    while (id !== undefined) {
      const node = byId.get(id)!;
      const name = frameName(node);
      if (!seen.has(name) && !name.startsWith("(root)")) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      }
      id = parent.get(id);
    }
  }
  const rows = (map: Map<string, number>) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({
      name,
      ms: Math.round(us / 100) / 10,
      percent: Math.round((1000 * us) / total) / 10,
    }));
  return { file, totalMs: Math.round(total / 1000), self: rows(self), inclusive: rows(inclusive) };
}
