/**
 * `deno task keys`: makes CURVE key pairs for a group in CURVE mode.
 *
 * ```sh
 * deno task keys --out keys broker sequencer c1 c2 c3 c4
 * deno task run:broker --expect 5 --curve-key keys/broker.key --curve-allow keys/allowed.txt
 * deno task run:client --id c1 ... --curve-key keys/c1.key --curve-server keys/broker.pub
 * ```
 *
 * For each name it writes `<name>.key` (the pair, mode 0600) and
 * `<name>.pub` (the public key); `allowed.txt` lists every name but
 * "broker" with its public key: the broker's allow-list.
 *
 * @module
 */

import { join } from "node:path";
import { curveKeyPair } from "../ffi/mod.ts";
import { type FlagSpec, parseFlags, runMain, usage, UsageError } from "../roles/cli/flags.ts";
import { formatKeyPair } from "../roles/curve/key_files.ts";

const FLAGS: Record<string, FlagSpec> = {
  out: { type: "string", value: "DIR", default: "keys", help: "where the key files go" },
  help: { type: "boolean", help: "show this help" },
};
const HELP = usage(
  "deno task keys [--out DIR] NAME...",
  "Makes a CURVE key pair for each NAME (default: broker sequencer c1 c2 c3 c4) and the broker's allow-list.",
  FLAGS,
);

if (import.meta.main) {
  await runMain("keys", HELP, async () => {
    const flagArgs = Deno.args.filter((arg, i, all) =>
      arg.startsWith("--") || all[i - 1] === "--out"
    );
    const names = Deno.args.filter((arg) => !flagArgs.includes(arg));
    const values = parseFlags(flagArgs, FLAGS);
    if (values.help) {
      console.log(HELP);
      return;
    }
    const out = String(values.out ?? "keys");
    const all = names.length > 0 ? names : ["broker", "sequencer", "c1", "c2", "c3", "c4"];
    for (const name of all) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
        throw new UsageError(`Invalid name ${JSON.stringify(name)}`);
      }
    }
    await Deno.mkdir(out, { recursive: true });
    const allowed: string[] = ["# Public keys the broker lets in (deno task keys)"];
    for (const name of all) {
      const keys = curveKeyPair();
      await Deno.writeTextFile(join(out, `${name}.key`), formatKeyPair(keys), { mode: 0o600 });
      await Deno.writeTextFile(join(out, `${name}.pub`), `${keys.publicKey}\n`);
      if (name !== "broker") allowed.push(`${name} ${keys.publicKey}`);
      console.log(`${join(out, `${name}.key`)}  ${keys.publicKey}`);
    }
    await Deno.writeTextFile(join(out, "allowed.txt"), allowed.join("\n") + "\n");
    console.log(`${join(out, "allowed.txt")}: ${allowed.length - 1} allowed`);
  });
}
