/**
 * A real etcd for the tests (Debian's `etcd-server`, which
 * `sh tasks/setup.sh test` installs), on free ports in a folder of its own.
 *
 * @module
 */

import { EtcdClient } from "../roles/ha/etcd.ts";
import { within } from "./_helpers.ts";

/** Where Debian puts etcd. */
const ETCD = "/usr/bin/etcd";
/** How long etcd may take to start, or a wait of these tests, ms. */
export const T = 10_000;

// These tests need Debian's etcd-server; `sh tasks/setup.sh test` installs it.
export const HAVE_ETCD = (() => {
  try {
    return Deno.statSync(ETCD).isFile;
  } catch {
    return false;
  }
})();

/** A port nothing listens on, as far as we can tell. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** An etcd of the test's own. */
export interface TestEtcd {
  url: string;
  child: Deno.ChildProcess;
  stderr: () => string;
}

/** Starts an etcd in `dir` on free ports and waits until it answers a range call. */
export async function startEtcd(dir: string): Promise<TestEtcd> {
  const client = `http://127.0.0.1:${freePort()}`;
  const peer = `http://127.0.0.1:${freePort()}`;
  const child = new Deno.Command(ETCD, {
    args: [
      "--name=test",
      `--data-dir=${dir}/data`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=test=${peer}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const chunks: string[] = [];
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void chunks.push(chunk) }),
  );
  const etcd = {
    url: client,
    child,
    stderr: () => chunks.join(""),
    reading,
  };
  const probe = new EtcdClient(client, { timeoutMs: 500 });
  const deadline = performance.now() + T;
  while (true) {
    try {
      await probe.range("probe");
      return etcd;
    } catch (error) {
      if (performance.now() > deadline) {
        await stopEtcd(etcd);
        throw new Error(
          `Timed out after ${T} ms waiting for etcd at ${client} to answer: ${error}\n${etcd.stderr()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export async function stopEtcd(etcd: TestEtcd & { reading?: Promise<void> }): Promise<void> {
  try {
    etcd.child.kill("SIGCONT");
    etcd.child.kill("SIGKILL");
  } catch { /* exited already */ }
  await within(T, "etcd to exit", etcd.child.status);
  await within(T, "etcd's stderr to close", etcd.reading ?? Promise.resolve());
}

/** Runs `fn` with an etcd of its own, removed afterwards. */
export async function withEtcd(fn: (etcd: TestEtcd) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "etcd-test-" });
  try {
    const etcd = await startEtcd(dir);
    try {
      await fn(etcd);
    } finally {
      await stopEtcd(etcd);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
