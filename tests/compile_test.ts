import assert from "node:assert/strict";
import { DENO } from "./_helpers.ts";

Deno.test("deno task compile builds runnable role binaries, or says why it cannot", async () => {
  const out = await Deno.makeTempDir({ prefix: "zg-compile-" });
  try {
    const result = await new Deno.Command(DENO, {
      args: ["task", "--quiet", "compile", "--out", out],
      cwd: new URL("../", import.meta.url),
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    if (result.code === 3) {
      // The runtime for the binaries cannot be had here: the task must say so.
      assert.match(stderr, /cannot build single binaries here/);
      assert.match(stderr, /denort/);
      console.log(`Skipped the binaries' check: ${stderr.trim()}`);
      return;
    }
    assert.equal(result.code, 0, stderr);
    for (const role of ["broker", "sequencer", "client"]) {
      const help = await new Deno.Command(`${out}/zmq-${role}`, {
        args: ["--help"],
        stdout: "piped",
      }).output();
      assert.equal(help.code, 0);
      assert.match(new TextDecoder().decode(help.stdout), /Usage:/);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
