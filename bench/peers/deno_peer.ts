/**
 * The Deno peer of `deno task bench:binding`, on this project's binding.
 *
 * ```sh
 * deno run --allow-ffi --allow-env --allow-read bench/peers/deno_peer.ts \
 *   push|pull|req|rep <endpoint> <count> <size> [warmup] [--api await|try]
 * ```
 *
 * Same modes, socket options (SNDHWM = RCVHWM = 1000, LINGER 10 s) and JSON
 * output as `bench/peers/zmq_peer.c`. `--api await` (the default) uses the
 * natural API: `for await` on PULL, `await send()` on PUSH, `await send()`
 * then `await receive()` on REQ. `--api try` drains with `tryReceive()` /
 * `trySend()` and awaits only when they come back empty-handed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Context, type Socket } from "../../ffi/mod.ts";

const HWM = 1000;
const USAGE =
  "usage: deno_peer.ts push|pull|req|rep <endpoint> <count> <size> [warmup] [--api await|try]";

/** Which calls a peer uses: the awaiting ones or the `try*` ones. */
export type Api = "await" | "try";

/**
 * The sample of rank round(p * n) of sorted samples, as every peer computes
 * it.
 *
 * @param sorted Samples in ascending order.
 * @param p The fraction, e.g. 0.99.
 * @returns The percentile.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  const rank = Math.min(Math.max(Math.floor(p * n + 0.5), 1), n);
  return sorted[rank - 1]!;
}

async function push(
  sock: Socket,
  count: number,
  payload: Uint8Array,
  api: Api,
): Promise<void> {
  if (api === "await") {
    for (let i = 0; i < count; i++) await sock.send(payload);
  } else {
    for (let i = 0; i < count; i++) {
      if (!sock.trySend(payload)) await sock.send(payload);
    }
  }
}

async function pull(sock: Socket, count: number, api: Api): Promise<number> {
  let first = 0;
  let received = 0;
  if (api === "await") {
    for await (const _message of sock) {
      if (received === 0) first = performance.now();
      if (++received === count) break;
    }
  } else {
    while (received < count) {
      if (sock.tryReceive() === null) await sock.receive();
      if (received === 0) first = performance.now();
      received++;
    }
  }
  return (performance.now() - first) / 1e3;
}

async function roundTrip(
  sock: Socket,
  payload: Uint8Array,
  api: Api,
): Promise<void> {
  if (api === "await") {
    await sock.send(payload);
    await sock.receive();
  } else {
    if (!sock.trySend(payload)) await sock.send(payload);
    if (sock.tryReceive() === null) await sock.receive();
  }
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { api: { type: "string", default: "await" } },
  });
  const [mode, endpoint, countText, sizeText, warmupText] = positionals;
  const api = values.api;
  if (
    endpoint === undefined || sizeText === undefined ||
    (api !== "await" && api !== "try")
  ) {
    console.error(USAGE);
    return 2;
  }
  const count = Number(countText);
  const size = Number(sizeText);
  const warmup = warmupText === undefined ? 1000 : Number(warmupText);
  const types = { push: "PUSH", pull: "PULL", req: "REQ", rep: "REP" } as const;
  const type = types[mode as keyof typeof types];
  if (type === undefined) {
    console.error(`deno_peer: unknown mode "${mode}"\n${USAGE}`);
    return 2;
  }

  using ctx = new Context();
  using sock = ctx.socket(type);
  sock.setOption("SNDHWM", HWM);
  sock.setOption("RCVHWM", HWM);
  sock.setOption("LINGER", 10_000);
  if (type === "PULL" || type === "REP") sock.bind(endpoint);
  else sock.connect(endpoint);
  const payload = new Uint8Array(size).fill(0x78);

  if (type === "PUSH") {
    await push(sock, count, payload, api);
  } else if (type === "PULL") {
    const seconds = await pull(sock, count, api);
    console.log(JSON.stringify({
      mode: "pull",
      api,
      count,
      size,
      seconds,
      msgs_per_s: seconds > 0 ? (count - 1) / seconds : 0,
    }));
  } else if (type === "REP") {
    for (let i = 0; i < warmup + count; i++) {
      await sock.send(await sock.receive());
    }
  } else {
    const samples = new Float64Array(count);
    for (let i = 0; i < warmup + count; i++) {
      const start = performance.now();
      await roundTrip(sock, payload, api);
      if (i >= warmup) samples[i - warmup] = (performance.now() - start) * 1e3;
    }
    samples.sort();
    const mean = samples.reduce((sum, sample) => sum + sample, 0) / count;
    console.log(JSON.stringify({
      mode: "req",
      api,
      count,
      size,
      p50_us: percentile(samples, 0.5),
      p99_us: percentile(samples, 0.99),
      mean_us: mean,
    }));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
