/**
 * `deno task check:imports`: fails on an import cycle anywhere in the
 * project, and on any file that imports the root `mod.ts` (which only
 * re-exports the layers). Read from Deno's own module graph
 * (`deno info --json`), over every TypeScript file the project has.
 *
 * @module
 */

import { runMain } from "../roles/cli/flags.ts";

/** One module of `deno info --json`, as far as read here. */
interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

const ROOT = new URL("../", import.meta.url);
const FOLDERS = ["ffi", "roles", "tasks", "tests", "bench", "examples"];
const SKIPPED = new Set(["out", "node_modules"]);

/** Every .ts file of the project's folders, and the root mod.ts. */
async function projectFiles(): Promise<string[]> {
  const files = [new URL("mod.ts", ROOT).href];
  const walk = async (dir: URL): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      // Benchmark results and installed packages are not the project's code.
      if (entry.isDirectory && SKIPPED.has(entry.name)) continue;
      if (entry.isDirectory) await walk(url);
      else if (entry.name.endsWith(".ts")) files.push(url.href);
    }
  };
  for (const folder of FOLDERS) await walk(new URL(`${folder}/`, ROOT));
  return files;
}

/** The local import graph of `files`: specifier -> the local specifiers it imports. */
async function importGraph(files: string[]): Promise<Map<string, string[]>> {
  // `deno info` takes one root: one that imports every file.
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(entry, files.map((file) => `import "${file}";\n`).join(""));
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(entry));
  if (!output.success) {
    throw new Error(`deno info failed:\n${new TextDecoder().decode(output.stderr)}`);
  }
  const graph = new Map<string, string[]>();
  const modules = JSON.parse(new TextDecoder().decode(output.stdout)).modules as GraphModule[];
  for (const module of modules) {
    if (module.specifier === undefined || !module.specifier.startsWith(ROOT.href)) continue;
    const targets = (module.dependencies ?? []).flatMap((d) => [d.code, d.type])
      .flatMap((d) => d === undefined ? [] : [d.specifier])
      .filter((s) => s.startsWith(ROOT.href));
    graph.set(module.specifier, [...new Set(targets)]);
  }
  return graph;
}

/** The cycles of a graph, each once, as the path around it (depth-first, iterative enough). */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

if (import.meta.main) {
  await runMain("check:imports", "deno task check:imports", async () => {
    const graph = await importGraph(await projectFiles());
    const name = (specifier: string) => specifier.slice(ROOT.href.length);
    const problems: string[] = [];
    for (const cycle of findCycles(graph)) {
      problems.push(`import cycle: ${cycle.map(name).join(" -> ")}`);
    }
    const root = new URL("mod.ts", ROOT).href;
    for (const [file, targets] of graph) {
      if (targets.includes(root)) problems.push(`${name(file)} imports the root mod.ts`);
    }
    if (problems.length > 0) throw new Error(problems.join("\n"));
    console.log(`check:imports: ${graph.size} modules, no cycle, none imports the root mod.ts`);
  });
}
