/**
 * An etcd of our own for the HA demo and the tests (Debian's `etcd-server`,
 * which `sh tasks/setup.sh test` or `sh tasks/setup.sh ha` installs), on
 * free ports of 127.0.0.1 in a folder of its own.
 *
 * @module
 */

import { EtcdClient } from "../roles/ha/etcd.ts";
import { withDeadline } from "../roles/deadline.ts";

/** Waits for `promise` at most `ms`, naming `what` when it times out. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  return withDeadline(performance.now() + ms, what, promise);
}

/** Where Debian puts etcd. */
const ETCD = "/usr/bin/etcd";
/** How long etcd may take to start or to stop, ms. */
export const T = 10_000;

/** Whether Debian's etcd-server is installed (`sh tasks/setup.sh test` installs it). */
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

/** A running etcd of our own. */
export interface LocalEtcd {
  /** Its client URL. */
  url: string;
  /** Its process. */
  child: Deno.ChildProcess;
  /** What it wrote to stderr so far. */
  stderr: () => string;
}

/** Starts an etcd in `dir` on free ports and waits until it answers a range call. */
export async function startEtcd(dir: string): Promise<LocalEtcd> {
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

/** Kills an etcd (SIGCONT first, in case it was stopped) and waits for it to exit. */
export async function stopEtcd(etcd: LocalEtcd & { reading?: Promise<void> }): Promise<void> {
  try {
    etcd.child.kill("SIGCONT");
    etcd.child.kill("SIGKILL");
  } catch { /* exited already */ }
  await within(T, "etcd to exit", etcd.child.status);
  await within(T, "etcd's stderr to close", etcd.reading ?? Promise.resolve());
}

/** Runs `fn` with an etcd of its own, removed afterwards. */
export async function withEtcd<R>(fn: (etcd: LocalEtcd) => Promise<R>): Promise<R> {
  const dir = await Deno.makeTempDir({ prefix: "etcd-" });
  try {
    const etcd = await startEtcd(dir);
    try {
      return await fn(etcd);
    } finally {
      await stopEtcd(etcd);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
