/**
 * The binding benchmark's implementations: how to get each peer (install
 * with `tasks/setup.sh bench`, build with gcc, npm install zeromq.js) and
 * its command line. A peer that cannot be had is unavailable, with the
 * reason, instead of failing the bench.
 *
 * @module
 */

import { zmqVersion } from "../../ffi/mod.ts";
import { commandOutput, lastLines, OUT, PYTHON, pyzmqVersion, ROOT } from "../command.ts";

const PEERS = `${ROOT}bench/peers/`;

/** One implementation under test: how to start its peer for a mode. */
export interface Implementation {
  /** Short key used in the JSON output. */
  id: string;
  /** The row label in the table. */
  label: string;
  /** False when the peer could not be installed or built. */
  available: boolean;
  /** Why the peer is unavailable. */
  reason?: string;
  /** The version of the ZeroMQ library or binding, when known. */
  version?: string;
  /** The command line of the peer: program and arguments. */
  command(args: string[]): [string, string[]];
}

/** A command's output as one trimmed text, stdout then stderr. */
async function run(program: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  const result = await commandOutput(program, args);
  return { ok: result.ok, out: (result.stdout + result.stderr).trim() };
}

/** Installs what the peers need (`sh tasks/setup.sh bench`); a failure only makes peers unavailable. */
async function setup(): Promise<void> {
  console.error("bench: sh tasks/setup.sh bench");
  const result = await run("sh", ["tasks/setup.sh", "bench"]);
  if (!result.ok) {
    console.error(
      `bench: setup.sh failed (peers that need it will be unavailable): ${
        lastLines(result.out, 5)
      }`,
    );
  }
}

async function cPeer(): Promise<Implementation> {
  const binary = `${OUT}zmq_peer`;
  const build = await run("gcc", ["-O2", "-o", binary, "bench/peers/zmq_peer.c", "-lzmq"]);
  const [major, minor, patch] = zmqVersion();
  return {
    id: "c",
    label: "C (libzmq)",
    available: build.ok,
    reason: build.ok ? undefined : `gcc failed: ${lastLines(build.out, 5)}`,
    version: `libzmq ${major}.${minor}.${patch}`,
    command: (args) => [binary, args],
  };
}

async function pyzmqPeer(): Promise<Implementation> {
  const probe = await pyzmqVersion();
  return {
    id: "pyzmq",
    label: "pyzmq",
    available: probe.ok,
    reason: probe.ok
      ? undefined
      : `${PYTHON} cannot import zmq (apt-get install python3-zmq): ${lastLines(probe.why, 2)}`,
    version: probe.ok ? `pyzmq ${probe.version}` : undefined,
    command: (args) => [PYTHON, [`${PEERS}pyzmq_peer.py`, ...args]],
  };
}

const NODE_PREFIX = `${OUT}node`;
const ZEROMQ = `${NODE_PREFIX}/node_modules/zeromq`;

/** The zeromq.js 6 installed in bench/out/node/, if any. */
async function installedZeromqjs(): Promise<string | undefined> {
  try {
    const version = JSON.parse(await Deno.readTextFile(`${ZEROMQ}/package.json`)).version;
    return typeof version === "string" && version.startsWith("6.") ? version : undefined;
  } catch {
    return undefined;
  }
}

/** Installs zeromq.js 6 into bench/out/node/ unless it is there; its version, or why not. */
async function installZeromqjs(): Promise<{ version: string } | { error: string }> {
  const installed = await installedZeromqjs();
  if (installed !== undefined) return { version: installed };
  console.error(`bench: npm install --prefix bench/out/node zeromq@6`);
  await Deno.mkdir(NODE_PREFIX, { recursive: true });
  const install = await run("npm", [
    ...["install", "--prefix", NODE_PREFIX, "--no-audit", "--no-fund", "--loglevel=error"],
    "zeromq@6",
  ]);
  const version = await installedZeromqjs();
  if (!install.ok || version === undefined) {
    return { error: `npm install zeromq@6 failed: ${lastLines(install.out, 5)}` };
  }
  return { version };
}

async function zeromqjsPeer(): Promise<Implementation> {
  const unavailable = (reason: string): Implementation => ({
    id: "zeromqjs",
    label: "zeromq.js",
    available: false,
    reason,
    command: () => ["node", []],
  });
  const node = await run("node", ["--version"]);
  if (!node.ok) return unavailable(`node is missing: ${node.out}`);
  const installed = await installZeromqjs();
  if ("error" in installed) return unavailable(installed.error);
  // The native addon must load on this machine (prebuilt for linux-x64).
  const load = await run("node", ["-e", `require(${JSON.stringify(ZEROMQ)})`]);
  if (!load.ok) {
    return unavailable(`zeromq@${installed.version} does not load: ${lastLines(load.out, 5)}`);
  }
  return {
    id: "zeromqjs",
    label: "zeromq.js",
    available: true,
    version: `zeromq.js ${installed.version}, Node ${node.out}`,
    command: (args) => ["node", [`${PEERS}zeromqjs_peer.mjs`, ...args]],
  };
}

/**
 * The running Deno, for the Deno peers. On Linux the path ends in
 * " (deleted)" when the binary was reinstalled meanwhile; the new one is
 * then at the same path.
 */
function denoExecutable(): string {
  return Deno.execPath().replace(/ \(deleted\)$/, "");
}

function denoPeer(api: "await" | "try"): Implementation {
  return {
    id: `deno-${api}`,
    label: api === "await" ? "deno (await)" : "deno (try*)",
    available: true,
    version: `Deno ${Deno.version.deno}`,
    command: (args) => [denoExecutable(), [
      "run",
      "--allow-ffi",
      "--allow-env",
      "--allow-read",
      `${PEERS}deno_peer.ts`,
      ...args,
      `--api=${api}`,
    ]],
  };
}

/**
 * Installs and builds the peers, then lists every implementation: C, pyzmq,
 * zeromq.js, then ours with `await` and with `try*`.
 *
 * @returns Every implementation, available or not.
 */
export async function implementations(): Promise<Implementation[]> {
  await Deno.mkdir(OUT, { recursive: true });
  await setup();
  return [
    await cPeer(),
    await pyzmqPeer(),
    await zeromqjsPeer(),
    denoPeer("await"),
    denoPeer("try"),
  ];
}
