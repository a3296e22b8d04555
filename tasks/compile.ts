/**
 * `deno task compile`: builds a single binary of each role into `dist/`
 * (zmq-broker, zmq-sequencer, zmq-client), each needing only libzmq.
 *
 * `deno compile` needs the Deno runtime for the binaries (`denort`), which it
 * downloads. Where that cannot be had (no internet), set `DENORT_BIN` to a
 * local denort of the same version; without it the task says why it cannot
 * build and exits 3.
 *
 * @module
 */

import { ROLE_ENTRY } from "./_processes.ts";
import { type FlagSpec, runCommand } from "../roles/cli/flags.ts";

const FLAGS: Record<string, FlagSpec> = {
  out: { type: "string", value: "DIR", default: "dist", help: "where the binaries go" },
  help: { type: "boolean", help: "show this help" },
};

/** The exit code when the runtime for the binaries cannot be had. */
export const RUNTIME_UNAVAILABLE = 3;

if (import.meta.main) {
  await runCommand(
    "compile",
    "deno task compile",
    "Builds single binaries of the roles (needs denort: see DENORT_BIN).",
    FLAGS,
    async (values) => {
      const out = String(values.out ?? "dist");
      await Deno.mkdir(out, { recursive: true });
      for (const [role, entry] of Object.entries(ROLE_ENTRY)) {
        const output = `${out}/zmq-${role}`;
        const result = await new Deno.Command(Deno.execPath(), {
          args: [
            "compile",
            "--allow-ffi",
            "--allow-env",
            "--allow-read",
            "--allow-write",
            "--allow-net",
            "--output",
            output,
            entry,
          ],
          cwd: new URL("../", import.meta.url),
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).output();
        const text = new TextDecoder().decode(result.stderr) +
          new TextDecoder().decode(result.stdout);
        if (result.code !== 0) {
          if (/base binary|denort|error sending request|dns error/i.test(text)) {
            console.error(
              `compile: cannot build single binaries here: deno compile needs its runtime (denort for Deno ${Deno.version.deno}), ` +
                `which it downloads from the Deno release server, and this machine cannot reach it` +
                (Deno.env.get("DENORT_BIN")
                  ? ` (DENORT_BIN is set but was not usable)`
                  : `; set DENORT_BIN to a local denort binary of that version`),
            );
            Deno.exit(RUNTIME_UNAVAILABLE);
          }
          throw new Error(`deno compile of ${entry} failed:\n${text.trim()}`);
        }
        console.log(`${output}  (${entry})`);
      }
    },
  );
}
