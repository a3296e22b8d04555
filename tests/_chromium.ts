/**
 * Headless Chromium for the tests that check a page as a browser draws it
 * (the demo's chart, the live page): Debian's `/usr/bin/chromium`, which
 * `sh tasks/setup.sh test` installs, run so that a hung browser is killed.
 *
 * @module
 */

import assert from "node:assert/strict";

/** Where Debian puts Chromium. */
export const CHROMIUM = "/usr/bin/chromium";
const TIMEOUT = "/usr/bin/timeout";
/** Seconds Chromium may take before it is killed (its whole process group, through timeout(1)). */
const CHROMIUM_SECONDS = 60;
const decoder = new TextDecoder();

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** True if Chromium is installed; if not, says once why the browser checks of `what` are skipped. */
export function haveChromium(what: string): boolean {
  if (isFile(CHROMIUM)) return true;
  console.log(
    `Skipping the headless Chromium checks of ${what}: ${CHROMIUM} not found (install chromium: sh tasks/setup.sh test)`,
  );
  return false;
}

/**
 * Runs Chromium headless with `args` (a page, and e.g. `--dump-dom`) in the
 * profile folder `profile`; the whole browser is killed if it hangs.
 *
 * @returns What it printed on stdout.
 */
export async function chromium(args: string[], profile: string): Promise<string> {
  const flags = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-breakpad",
    `--user-data-dir=${profile}`,
    ...args,
  ];
  // timeout(1) runs Chromium in a process group of its own and kills all of it;
  // the abort signal is the backstop should timeout itself hang.
  const [command, commandArgs] = isFile(TIMEOUT)
    ? [TIMEOUT, ["--kill-after=5", String(CHROMIUM_SECONDS), CHROMIUM, ...flags]]
    : [CHROMIUM, flags];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), (CHROMIUM_SECONDS + 15) * 1000);
  try {
    const output = await new Deno.Command(command, {
      args: commandArgs,
      env: { HOME: profile },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    const stderr = decoder.decode(output.stderr);
    if (controller.signal.aborted || output.code === 124 || output.code === 137) {
      throw new Error(`Chromium timed out after ${CHROMIUM_SECONDS} s and was killed:\n${stderr}`);
    }
    assert.equal(output.code, 0, `chromium exited with code ${output.code}:\n${stderr}`);
    return decoder.decode(output.stdout);
  } finally {
    clearTimeout(timer);
  }
}
