import assert from "node:assert/strict";
import {
  Context,
  ContextOptions,
  curveKeyPair,
  curvePublic,
  messageProperties,
  SocketOptions,
  ZmqError,
  zmqHas,
} from "../ffi/mod.ts";
import { texts, within } from "./_helpers.ts";

const T = 10_000;
const LINUX = Deno.build.os === "linux";

function readOrNull(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** The system's zmq.h (libzmq3-dev), to check the tables' numbers against. */
const ZMQ_H = readOrNull("/usr/include/zmq.h");

/**
 * The output of `sh -c script`: how the tests read `/proc`, which Deno
 * opens only with `--allow-all`.
 */
async function sh(script: string): Promise<string> {
  const command = new Deno.Command("sh", { args: ["-c", script], stderr: "null" });
  return new TextDecoder().decode((await command.output()).stdout);
}

/** Whether the machine has the IPv6 loopback address (`::1` on `lo`). */
const IPV6_LOOPBACK = LINUX &&
  (await sh("cat /proc/net/if_inet6")).split("\n")
    .some((line) => line.startsWith("00000000000000000000000000000001 "));

/** A thread of this process: its id, its name and the CPUs it may run on. */
interface ThreadInfo {
  tid: string;
  name: string;
  cpus: string;
}

/** The threads of this process named `<prefix>/ZMQbg/...` (libzmq's, with that prefix). */
async function zmqThreads(prefix: number): Promise<ThreadInfo[]> {
  const out = await sh(
    `cd /proc/${Deno.pid}/task && for t in *; do ` +
      `printf '%s\\t%s\\t%s\\n' "$t" "$(cat "$t/comm")" ` +
      `"$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status")"; done`,
  );
  return out.split("\n").filter((line) => line !== "")
    .map((line) => {
      const [tid = "", name = "", cpus = ""] = line.split("\t");
      return { tid, name, cpus };
    })
    .filter(({ name }) => name.startsWith(`${prefix}/ZMQbg/`));
}

/**
 * Waits (up to T) until there are `count` threads of {@link zmqThreads}. A
 * thread names itself once it runs, after `zmq_socket` returned, and
 * nothing tells when: hence the polling.
 */
async function awaitZmqThreads(prefix: number, count: number): Promise<ThreadInfo[]> {
  const deadline = performance.now() + T;
  while (true) {
    const ours = await zmqThreads(prefix);
    if (ours.length >= count || performance.now() > deadline) return ours;
  }
}

function assertZmqError(fn: () => unknown, code: string, ...parts: string[]): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof ZmqError, `expected a ZmqError, got ${error}`);
    assert.equal(error.code, code, error.message);
    for (const part of parts) assert.ok(error.message.includes(part), error.message);
    return true;
  });
}

Deno.test("new Context() applies IO_THREADS and the THREAD_* options before its threads start", {
  ignore: !LINUX,
}, async () => {
  const allowed =
    (await sh(`sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/${Deno.pid}/status`))
      .trim();
  assert.match(allowed, /^[\d,-]+$/, "no Cpus_allowed_list in /proc/<pid>/status");
  const cpu = Number(allowed.split(",").at(-1)!.split("-").at(-1));
  // Two digits: a thread name has at most 15 characters ("NN/ZMQbg/Reaper").
  const prefix = 10 + (Deno.pid % 90);
  using ctx = new Context({
    ioThreads: 3,
    threadNamePrefix: prefix,
    threadSchedPolicy: 0, // SCHED_OTHER: needs no privilege
    threadAffinityCpus: [cpu],
  });
  assert.equal(ctx.get("IO_THREADS"), 3);
  assert.equal(ctx.get("THREAD_NAME_PREFIX"), prefix);
  assert.equal(ctx.get("THREAD_SCHED_POLICY"), 0);
  assert.deepEqual(await zmqThreads(prefix), [], "threads before the first socket");
  ctx.socket("PAIR");
  const ours = await awaitZmqThreads(prefix, 4);
  assert.deepEqual(ours.map(({ name }) => name).sort(), [
    `${prefix}/ZMQbg/IO/0`,
    `${prefix}/ZMQbg/IO/1`,
    `${prefix}/ZMQbg/IO/2`,
    `${prefix}/ZMQbg/Reaper`,
  ]);
  // Each thread applies its affinity before it names itself.
  for (const { name, cpus } of ours) assert.equal(cpus, String(cpu), name);
});

Deno.test("Context.set() refuses the startup options once the first socket exists", () => {
  using ctx = new Context();
  assert.equal(ctx.get("IO_THREADS"), 1);
  ctx.set("IO_THREADS", 2);
  ctx.set("MAX_SOCKETS", 50);
  assert.equal(ctx.get("IO_THREADS"), 2);
  assert.equal(ctx.get("MAX_SOCKETS"), 50);
  ctx.socket("PUB");
  for (const name of ["IO_THREADS", "MAX_SOCKETS", "THREAD_NAME_PREFIX"] as const) {
    assertZmqError(() => ctx.set(name, 3), "EINVAL", name, "to 3", "first socket");
  }
  assert.equal(ctx.get("IO_THREADS"), 2);
  // Options libzmq reads for each new socket can still change.
  ctx.set("IPV6", true);
  assert.equal(ctx.socket("SUB").getOption("IPV6"), true);
});

Deno.test("new Context({ maxSockets }) makes the socket after the last one fail with EMFILE", () => {
  using ctx = new Context({ maxSockets: 3 });
  assert.equal(ctx.get("MAX_SOCKETS"), 3);
  for (let i = 0; i < 3; i++) ctx.socket("DEALER");
  assertZmqError(() => ctx.socket("DEALER"), "EMFILE", "DEALER");
  assert.equal(ctx.sockets.length, 3);
});

Deno.test("new Context({ blocky: false }) closes without waiting for unsent messages", async (t) => {
  const nowhere = `ipc:///tmp/zmq-test-nobody-${crypto.randomUUID()}`;
  /** Queues a message for a peer that never comes, then times closing the context. */
  async function closeWithPending(ctx: Context, linger?: number): Promise<number> {
    const push = ctx.socket("PUSH");
    if (linger !== undefined) push.setOption("LINGER", linger);
    push.connect(nowhere);
    await within(T, "queueing a message", push.send("never delivered"));
    const start = performance.now();
    ctx.close();
    return performance.now() - start;
  }

  await t.step("a blocky context waits for LINGER (the control)", async () => {
    const elapsed = await closeWithPending(new Context(), 300);
    assert.ok(elapsed >= 250, `closed after ${elapsed.toFixed(0)} ms: the message was not pending`);
  });

  await t.step("a non-blocky context gives sockets LINGER 0 and does not wait", async () => {
    const ctx = new Context({ blocky: false });
    assert.equal(ctx.get("BLOCKY"), false);
    assert.equal(ctx.socket("PAIR").getOption("LINGER"), 0);
    const elapsed = await closeWithPending(ctx);
    assert.ok(elapsed < 1000, `closed after ${elapsed.toFixed(0)} ms`);
  });
});

Deno.test("new Context({ ipv6: true }) lets sockets bind and talk on tcp://[::1]", {
  ignore: !IPV6_LOOPBACK,
}, async () => {
  {
    using plain = new Context();
    const socket = plain.socket("PAIR");
    assert.equal(socket.getOption("IPV6"), false);
    assert.throws(() => socket.bind("tcp://[::1]:0"), ZmqError);
  }
  using ctx = new Context({ ipv6: true });
  assert.equal(ctx.get("IPV6"), true);
  const server = ctx.socket("PAIR");
  assert.equal(server.getOption("IPV6"), true);
  server.bind("tcp://[::1]:0");
  const endpoint = server.getOption("LAST_ENDPOINT");
  assert.match(endpoint, /^tcp:\/\/\[::1\]:\d+$/);
  const client = ctx.socket("PAIR");
  client.connect(endpoint);
  await client.send("over IPv6");
  assert.deepEqual(texts(await within(T, "the message", server.receive())), ["over IPv6"]);
});

Deno.test("Context.get() reads libzmq's defaults and what was set", () => {
  using ctx = new Context();
  assert.equal(ctx.get("MAX_SOCKETS"), 1023);
  assert.equal(ctx.get("THREAD_SCHED_POLICY"), -1);
  assert.equal(ctx.get("MSG_T_SIZE"), 64);
  assert.equal(ctx.get("BLOCKY"), true);
  assert.equal(ctx.get("IPV6"), false);
  const limit = ctx.get("SOCKET_LIMIT");
  assert.ok(Number.isInteger(limit) && limit >= 1023, `SOCKET_LIMIT ${limit}`);
  assert.equal(ctx.get("MAX_MSGSZ"), 2 ** 31 - 1);
  ctx.set("MAX_MSGSZ", 4096);
  assert.equal(ctx.get("MAX_MSGSZ"), 4096);
  ctx.set("ZERO_COPY_RECV", false);
  assert.equal(ctx.get("ZERO_COPY_RECV"), false);
});

Deno.test("Context options name the option and the value they refuse", async (t) => {
  await t.step("in new Context()", () => {
    assertZmqError(() => new Context({ maxSockets: 0 }), "EINVAL", "MAX_SOCKETS", "to 0");
    assertZmqError(() => new Context({ ioThreads: -1 }), "EINVAL", "IO_THREADS", "to -1");
    assertZmqError(() => new Context({ ioThreads: 1.5 }), "EINVAL", "IO_THREADS", "1.5", "integer");
    assertZmqError(() => new Context({ maxMsgsz: 2 ** 31 }), "EINVAL", "MAX_MSGSZ", "2147483648");
    assertZmqError(
      () => new Context({ blocky: 0 as unknown as boolean }),
      "EINVAL",
      "BLOCKY",
      "to 0",
      "boolean",
    );
    assertZmqError(
      () => new Context({ threadAffinityCpus: [0, -2] }),
      "EINVAL",
      "THREAD_AFFINITY_CPU_ADD",
      "to -2",
    );
    assertZmqError(() => new Context({ bogus: 1 } as never), "EINVAL", `"bogus"`, "ioThreads");
    // Values libzmq would take and then abort the process on, when its threads start.
    assertZmqError(() => new Context({ ioThreads: 5000 }), "EINVAL", "IO_THREADS", "abort");
    assertZmqError(
      () => new Context({ threadAffinityCpus: [1024] }),
      "EINVAL",
      "THREAD_AFFINITY_CPU_ADD",
      "abort",
    );
  });

  await t.step("in set() and get()", () => {
    const ctx = new Context();
    assertZmqError(
      () => ctx.set("THREAD_AFFINITY_CPU_REMOVE", 1),
      "EINVAL",
      "THREAD_AFFINITY_CPU_REMOVE",
      "to 1",
    );
    // @ts-expect-error SOCKET_LIMIT is read-only
    assertZmqError(() => ctx.set("SOCKET_LIMIT", 5), "EINVAL", "SOCKET_LIMIT", "read-only");
    // @ts-expect-error THREAD_PRIORITY is write-only
    assertZmqError(() => ctx.get("THREAD_PRIORITY"), "EINVAL", "THREAD_PRIORITY", "write-only");
    // @ts-expect-error not an option
    assertZmqError(() => ctx.get("NO_SUCH_OPTION"), "EINVAL", "NO_SUCH_OPTION", "unknown");
    ctx.close();
    assert.throws(() => ctx.set("IPV6", true), TypeError);
    assert.throws(() => ctx.get("IPV6"), TypeError);
  });
});

Deno.test("zmqHas() reports libzmq's capabilities and false for unknown ones", () => {
  assert.equal(zmqHas("curve"), true);
  assert.equal(zmqHas("ipc"), !["windows"].includes(Deno.build.os));
  assert.equal(zmqHas("no-such-capability"), false);
  assert.equal(zmqHas(""), false);
  // The answer is the library's: GSSAPI options work exactly when it says so.
  using ctx = new Context();
  const socket = ctx.socket("PAIR");
  if (zmqHas("gssapi")) socket.setOption("GSSAPI_PLAINTEXT", true);
  else assertZmqError(() => socket.setOption("GSSAPI_PLAINTEXT", true), "EINVAL");
  assert.throws(() => zmqHas(42 as unknown as string), TypeError);
});

Deno.test("curvePublic() derives the public key of a secret key", () => {
  // The key pairs of the zmq_curve(7) manual page.
  assert.equal(
    curvePublic("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"),
    "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
  );
  assert.equal(
    curvePublic("D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"),
    "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
  );
  for (let i = 0; i < 5; i++) {
    const { publicKey, secretKey } = curveKeyPair();
    assert.equal(curvePublic(secretKey), publicKey);
  }
});

Deno.test("curvePublic() refuses what is not a 40-character Z85 key, without echoing it", () => {
  const { secretKey } = curveKeyPair();
  const bad = [
    secretKey.slice(1), // 39 characters
    secretKey + "0", // 41
    secretKey.slice(0, 35) + "é".repeat(5), // 40, but 45 bytes of UTF-8
    secretKey.slice(0, 39) + " ", // outside the alphabet
    secretKey.slice(0, 39) + "\0",
    "#".repeat(40), // Z85 letters worth more than 32 bits per group
  ];
  for (const key of bad) {
    assert.throws(() => curvePublic(key), (error) => {
      assert.ok(error instanceof RangeError, String(error));
      assert.match(error.message, /^Cannot derive a CURVE public key: /);
      assert.ok(!error.message.includes(secretKey.slice(0, 20)), error.message);
      return true;
    });
  }
  assert.throws(() => curvePublic(undefined as unknown as string), TypeError);
});

Deno.test("SocketOptions holds zmq.h's numbers and every stable socket option in it", {
  ignore: ZMQ_H === null,
}, () => {
  const defined = new Map<string, number>();
  for (const [, name, id] of ZMQ_H!.matchAll(/^#define ZMQ_(\w+) (-?\d+)$/gm)) {
    defined.set(name!, Number(id));
  }
  for (const [name, spec] of Object.entries(SocketOptions)) {
    assert.equal(spec.id, defined.get(name), `ZMQ_${name}`);
  }
  for (const [name, spec] of Object.entries(ContextOptions)) {
    assert.equal(spec.id, defined.get(name), `ZMQ_${name}`);
  }
  // The block "Socket options." of the stable API: each name is in the table.
  const block = ZMQ_H!.split("/*  Socket options.")[1]!.split("\n\n")[0]!;
  const stable = [...block.matchAll(/^#define ZMQ_(\w+) /gm)].map((match) => match[1]!);
  assert.ok(stable.length > 70, `only ${stable.length} options parsed from zmq.h`);
  // BLOCKY sits among them in zmq.h, but is a context option.
  const missing = stable.filter((name) => !Object.hasOwn(SocketOptions, name) && name !== "BLOCKY");
  assert.deepEqual(missing, []);
});

Deno.test("Socket options new to the table set and read back on real sockets", () => {
  using ctx = new Context();
  const pair = ctx.socket("PAIR");
  assert.equal(pair.getOption("THREAD_SAFE"), false);
  assert.equal(pair.getOption("USE_FD"), -1);
  pair.setOption("SOCKS_PROXY", "127.0.0.1:1080");
  assert.equal(pair.getOption("SOCKS_PROXY"), "127.0.0.1:1080");
  pair.setOption("SOCKS_USERNAME", "user");
  pair.setOption("SOCKS_PASSWORD", "secret");
  assert.equal(pair.getOption("SOCKS_USERNAME"), "user");
  assert.equal(pair.getOption("SOCKS_PASSWORD"), "secret");
  pair.setOption("BINDTODEVICE", "lo");
  assert.equal(pair.getOption("BINDTODEVICE"), "lo");
  pair.setOption("HEARTBEAT_IVL", 250);
  pair.setOption("HEARTBEAT_TTL", 2000);
  pair.setOption("HEARTBEAT_TIMEOUT", 750);
  assert.deepEqual(
    [pair.getOption("HEARTBEAT_IVL"), pair.getOption("HEARTBEAT_TTL")],
    [250, 2000],
  );
  assert.equal(pair.getOption("HEARTBEAT_TIMEOUT"), 750);
  pair.setOption("CONFLATE", true);
  assert.equal(pair.getOption("CONFLATE"), true);
  pair.setOption("ZAP_ENFORCE_DOMAIN", true);
  assert.equal(pair.getOption("ZAP_ENFORCE_DOMAIN"), true);
  assert.equal(pair.getOption("MULTICAST_LOOP"), true);
  pair.setOption("MULTICAST_LOOP", false);
  assert.equal(pair.getOption("MULTICAST_LOOP"), false);
  pair.setOption("RECONNECT_STOP", 1);
  assert.equal(pair.getOption("RECONNECT_STOP"), 1);
  assertZmqError(() => pair.setOption("METADATA", "no colon"), "EINVAL", "METADATA");
  if (zmqHas("gssapi")) {
    pair.setOption("GSSAPI_PRINCIPAL", "alice@EXAMPLE.ORG");
    pair.setOption("GSSAPI_PRINCIPAL_NAMETYPE", 1);
    assert.equal(pair.getOption("GSSAPI_PRINCIPAL"), "alice@EXAMPLE.ORG");
    assert.equal(pair.getOption("GSSAPI_PRINCIPAL_NAMETYPE"), 1);
    pair.setOption("GSSAPI_SERVER", true);
    assert.equal(pair.getOption("GSSAPI_SERVER"), true);
    assert.equal(pair.getOption("MECHANISM"), 3); // ZMQ_GSSAPI
  }
  if (!zmqHas("vmci")) {
    assertZmqError(() => pair.setOption("VMCI_BUFFER_SIZE", 65536), "EINVAL", "VMCI_BUFFER_SIZE");
  }
  const xpub = ctx.socket("XPUB");
  xpub.setOption("XPUB_MANUAL_LAST_VALUE", true);
  xpub.setOption("ONLY_FIRST_SUBSCRIBE", true);
  // @ts-expect-error THREAD_SAFE is read-only
  assertZmqError(() => xpub.setOption("THREAD_SAFE", true), "EINVAL", "read-only");
});

Deno.test("Socket option METADATA reaches the peer as a message property", async () => {
  using ctx = new Context();
  const pull = ctx.socket("PULL");
  pull.readProperties(["X-Team"]);
  pull.bind("tcp://127.0.0.1:0");
  const push = ctx.socket("PUSH");
  push.setOption("METADATA", "X-Team:blue");
  push.connect(pull.getOption("LAST_ENDPOINT"));
  await push.send("hello");
  const message = await within(T, "the message", pull.receive());
  assert.deepEqual(texts(message), ["hello"]);
  assert.equal(messageProperties(message)?.["X-Team"], "blue");
});

Deno.test("Socket option STREAM_NOTIFY false leaves out the connect notification", async () => {
  for (const notify of [true, false]) {
    using ctx = new Context();
    const stream = ctx.socket("STREAM");
    stream.setOption("STREAM_NOTIFY", notify);
    stream.bind("tcp://127.0.0.1:0");
    const port = Number(stream.getOption("LAST_ENDPOINT").split(":").at(-1));
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("raw bytes"));
    const [id, first] = await within(T, "the first message", stream.receive());
    assert.ok(id!.byteLength > 0);
    assert.equal(new TextDecoder().decode(first), notify ? "" : "raw bytes", `notify ${notify}`);
  }
});
