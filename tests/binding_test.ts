import assert from "node:assert/strict";
import { Context, curveKeyPair, Monitor, proxy, type Socket, ZmqError } from "../ffi/mod.ts";
import { bindAny, DENO, texts, TRANSPORTS, within } from "./_helpers.ts";

const T = 10_000;

for (const transport of TRANSPORTS) {
  Deno.test(`REQ/REP round trip over ${transport}`, async () => {
    using ctx = new Context();
    const rep = ctx.socket("REP");
    const req = ctx.socket("REQ");
    req.connect(bindAny(rep, transport));
    await req.send(["hello", "world"]);
    assert.deepEqual(texts(await within(T, "request", rep.receive())), [
      "hello",
      "world",
    ]);
    await rep.send("reply");
    assert.deepEqual(texts(await within(T, "reply", req.receive())), ["reply"]);
  });

  Deno.test(`PUSH/PULL keeps order over ${transport}`, async () => {
    using ctx = new Context();
    const pull = ctx.socket("PULL");
    const push = ctx.socket("PUSH");
    push.connect(bindAny(pull, transport));
    for (let i = 0; i < 1000; i++) await push.send(String(i));
    for (let i = 0; i < 1000; i++) {
      assert.deepEqual(texts(await within(T, `message ${i}`, pull.receive())), [
        String(i),
      ]);
    }
  });

  Deno.test(`PUB/SUB filters by topic over ${transport}`, async () => {
    using ctx = new Context();
    const pub = ctx.socket("PUB");
    const sub = ctx.socket("SUB");
    sub.setOption("SUBSCRIBE", "news");
    sub.connect(bindAny(pub, transport));
    // The subscription travels asynchronously: publish until it is in place.
    const first = sub.receive();
    let received = false;
    void first.then(() => received = true, () => {});
    const deadline = Date.now() + T;
    while (!received) {
      assert.ok(Date.now() < deadline, "the subscription never took effect");
      await pub.send(["weather", "rain"]);
      await pub.send(["news", "warm-up"]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual(texts(await first), ["news", "warm-up"]);
    // Drain warm-ups, then check that only "news" passes the filter.
    while (sub.tryReceive() !== null) { /* drain */ }
    await pub.send(["weather", "sun"]);
    await pub.send(["news", "final"]);
    assert.deepEqual(texts(await within(T, "news", sub.receive())), [
      "news",
      "final",
    ]);
  });

  Deno.test(`DEALER/ROUTER routes by identity over ${transport}`, async () => {
    using ctx = new Context();
    const router = ctx.socket("ROUTER");
    router.setOption("ROUTER_MANDATORY", true);
    const endpoint = bindAny(router, transport);
    const a = ctx.socket("DEALER");
    a.setOption("ROUTING_ID", "alice");
    a.connect(endpoint);
    const b = ctx.socket("DEALER");
    b.setOption("ROUTING_ID", "bob");
    b.connect(endpoint);
    assert.deepEqual(
      texts(a.getOption("ROUTING_ID") ? [a.getOption("ROUTING_ID")] : []),
      ["alice"],
    );
    await a.send(["", "to bob", "hi"]);
    const [from, ...rest] = texts(
      await within(T, "message at router", router.receive()),
    );
    assert.equal(from, "alice");
    assert.deepEqual(rest, ["", "to bob", "hi"]);
    await b.send("ready");
    assert.deepEqual(texts(await within(T, "bob's hello", router.receive())), [
      "bob",
      "ready",
    ]);
    await router.send(["bob", "", "from alice", "hi"]);
    assert.deepEqual(texts(await within(T, "message at bob", b.receive())), [
      "",
      "from alice",
      "hi",
    ]);
    await assert.rejects(router.send(["nobody", "x"]), (error: unknown) => {
      assert.ok(error instanceof ZmqError);
      assert.equal(error.code, "EHOSTUNREACH");
      return true;
    });
  });

  Deno.test(`XPUB/XSUB pass subscription messages over ${transport}`, async () => {
    using ctx = new Context();
    const xpub = ctx.socket("XPUB");
    const xsub = ctx.socket("XSUB");
    xsub.connect(bindAny(xpub, transport));
    await xsub.send(new Uint8Array([1, ...new TextEncoder().encode("topic")]));
    const [subscription] = await within(T, "subscription", xpub.receive());
    assert.equal(subscription![0], 1);
    assert.equal(new TextDecoder().decode(subscription!.subarray(1)), "topic");
    await xpub.send(["topic", "data"]);
    await xpub.send(["other", "data"]);
    assert.deepEqual(texts(await within(T, "data", xsub.receive())), [
      "topic",
      "data",
    ]);
    await xsub.send(new Uint8Array([0, ...new TextEncoder().encode("topic")]));
    const [unsubscription] = await within(T, "unsubscription", xpub.receive());
    assert.equal(unsubscription![0], 0);
  });

  Deno.test(`PAIR round trip over ${transport}`, async () => {
    using ctx = new Context();
    const a = ctx.socket("PAIR");
    const b = ctx.socket("PAIR");
    b.connect(bindAny(a, transport));
    await b.send("ping");
    assert.deepEqual(texts(await within(T, "ping", a.receive())), ["ping"]);
    await a.send("pong");
    assert.deepEqual(texts(await within(T, "pong", b.receive())), ["pong"]);
  });
}

for (const transport of TRANSPORTS) {
  Deno.test(`Frames of every size from 0 to 100 bytes arrive byte for byte over ${transport}, alone and in multipart messages`, async () => {
    // Small frames are copied out of libzmq's message struct, larger ones
    // through zmq_msg_data: both paths, and the switch between them.
    using ctx = new Context();
    const pull = ctx.socket("PULL");
    const push = ctx.socket("PUSH");
    push.connect(bindAny(pull, transport));
    const frame = (size: number, salt: number) =>
      Uint8Array.from({ length: size }, (_, i) => (i * 31 + size * 7 + salt) % 256);
    const sent: Uint8Array[][] = [];
    for (let size = 0; size <= 100; size++) sent.push([frame(size, 1)]);
    for (let size = 0; size <= 100; size++) {
      sent.push([frame(size, 2), frame(100 - size, 3), frame(size % 40, 4)]);
    }
    for (const message of sent) await push.send(message);
    for (const [i, message] of sent.entries()) {
      const got = await within(T, `message ${i}`, pull.receive());
      assert.deepEqual(got, message, `message ${i}`);
    }
  });
}

Deno.test("Socket.send() carries 0-byte and 8 MiB frames", async () => {
  using ctx = new Context();
  const pull = ctx.socket("PULL");
  const push = ctx.socket("PUSH");
  push.connect(bindAny(pull, "tcp"));
  const big = new Uint8Array(8 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
  await push.send(new Uint8Array(0));
  await push.send([big, ""]);
  const [empty] = await within(T, "empty frame", pull.receive());
  assert.equal(empty!.byteLength, 0);
  const [got, tail] = await within(T, "8 MiB frame", pull.receive());
  assert.equal(got!.byteLength, big.byteLength);
  assert.deepEqual(got, big);
  assert.equal(tail!.byteLength, 0);
});

Deno.test("Socket.send() carries a 1,000-frame message", async () => {
  using ctx = new Context();
  const pull = ctx.socket("PULL");
  const push = ctx.socket("PUSH");
  push.connect(bindAny(pull, "ipc"));
  const frames = Array.from({ length: 1000 }, (_, i) => `frame ${i}`);
  await push.send(frames);
  assert.deepEqual(
    texts(await within(T, "1,000 frames", pull.receive())),
    frames,
  );
});

Deno.test("Socket.send() at the high-water mark waits instead of blocking or dropping", async () => {
  using ctx = new Context();
  const pull = ctx.socket("PULL");
  pull.setOption("RCVHWM", 10);
  const push = ctx.socket("PUSH");
  push.setOption("SNDHWM", 10);
  push.connect(bindAny(pull, "inproc"));
  const total = 200;
  let sent = 0;
  const sending = (async () => {
    for (let i = 0; i < total; i++) {
      await push.send(String(i));
      sent++;
    }
  })();
  // Let the sender run until it has to wait: the event loop stays free.
  while (push.trySend("probe") || sent === 0) {
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.ok(
    sent < total,
    `the sender ran past the high-water mark (${sent} sent)`,
  );
  const seen: string[] = [];
  while (seen.filter((t) => t !== "probe").length < total) {
    seen.push(
      texts(
        await within(T, "message after the high-water mark", pull.receive()),
      )[0]!,
    );
  }
  await sending;
  assert.deepEqual(
    seen.filter((t) => t !== "probe"),
    Array.from({ length: total }, (_, i) => String(i)),
  );
});

Deno.test("Socket serves concurrent receives and sends in call order, 100,000 each way on one DEALER", async () => {
  using ctx = new Context();
  const router = ctx.socket("ROUTER");
  // Without ROUTER_MANDATORY a ROUTER drops at the high-water mark instead of waiting.
  router.setOption("ROUTER_MANDATORY", true);
  const dealer = ctx.socket("DEALER");
  dealer.setOption("ROUTING_ID", "d");
  dealer.connect(bindAny(router, "tcp"));
  // A handshake first, so that the router knows the dealer's identity.
  await dealer.send("hello");
  assert.deepEqual(
    texts(await within(T, "the dealer's hello", router.receive())),
    ["d", "hello"],
  );
  const n = 100_000;
  const fromDealer = (async () => {
    for (let i = 0; i < n; i++) await dealer.send(String(i));
  })();
  const fromRouter = (async () => {
    for (let i = 0; i < n; i++) await router.send(["d", String(i)]);
  })();
  const atDealer = (async () => {
    for (let i = 0; i < n; i++) {
      const [frame] = texts(await dealer.receive());
      if (frame !== String(i)) {
        throw new Error(`dealer got ${frame}, expected ${i}`);
      }
    }
  })();
  const atRouter = (async () => {
    for (let i = 0; i < n; i++) {
      const [from, frame] = texts(await router.receive());
      if (from !== "d" || frame !== String(i)) {
        throw new Error(`router got ${frame}, expected ${i}`);
      }
    }
  })();
  await within(
    60_000,
    "100,000 messages each way",
    Promise.all([fromDealer, atDealer, fromRouter, atRouter]),
  );
});

Deno.test("Socket.receive() calls pending at once are served in call order", async () => {
  using ctx = new Context();
  const pull = ctx.socket("PULL");
  const push = ctx.socket("PUSH");
  push.connect(bindAny(pull, "inproc"));
  const pending = Array.from({ length: 50 }, () => pull.receive());
  for (let i = 0; i < 50; i++) await push.send(String(i));
  const got = await within(T, "50 pending receives", Promise.all(pending));
  assert.deepEqual(
    got.map((m) => texts(m)[0]),
    Array.from({ length: 50 }, (_, i) => String(i)),
  );
});

Deno.test("Socket.close() rejects a pending receive with a clear error", async () => {
  using ctx = new Context();
  const pull = ctx.socket("PULL");
  bindAny(pull, "tcp");
  const pending = pull.receive();
  pull.close();
  await assert.rejects(pending, (error: unknown) => {
    assert.ok(error instanceof ZmqError);
    assert.equal(error.code, "ECLOSED");
    assert.match(error.message, /PULL socket closed/);
    return true;
  });
  await assert.rejects(pull.receive(), /socket is closed/);
  pull.close(); // idempotent
});

Deno.test("for await over a socket keeps the socket open after break and ends on close", async () => {
  using ctx = new Context();
  const pull = ctx.socket("PULL");
  const push = ctx.socket("PUSH");
  push.connect(bindAny(pull, "inproc"));
  await push.send("one");
  await push.send("two");
  for await (const message of pull) {
    assert.deepEqual(texts(message), ["one"]);
    break;
  }
  assert.deepEqual(texts(await pull.receive()), ["two"]);
  const loop = (async () => {
    let count = 0;
    for await (const _ of pull) count++;
    return count;
  })();
  await push.send("three");
  await new Promise((r) => setTimeout(r, 10));
  pull.close();
  assert.equal(await within(T, "the loop to end", loop), 1);
});

Deno.test("Socket.bind() names the endpoint and the cause", () => {
  using ctx = new Context();
  const a = ctx.socket("PULL");
  const endpoint = bindAny(a, "tcp");
  const b = ctx.socket("PULL");
  assert.throws(() => b.bind(endpoint), (error: unknown) => {
    assert.ok(error instanceof ZmqError);
    assert.equal(error.code, "EADDRINUSE");
    assert.ok(error.message.includes(endpoint), error.message);
    return true;
  });
  assert.throws(() => b.bind("nonsense"), (error: unknown) => {
    assert.ok(error instanceof ZmqError);
    assert.equal(error.code, "EINVAL");
    assert.match(error.message, /Cannot bind "nonsense"/);
    return true;
  });
  assert.throws(
    () => b.connect("bogus://x"),
    /Cannot connect to "bogus:\/\/x": protocol not supported/,
  );
});

Deno.test("Socket.setOption() refuses unknown options and values of the wrong type", () => {
  using ctx = new Context();
  const sock = ctx.socket("DEALER");
  const unknown = () => {
    // @ts-expect-error: not an option
    sock.setOption("NO_SUCH_OPTION", 1);
  };
  assert.throws(unknown, /Cannot set option NO_SUCH_OPTION: unknown option/);
  const notANumber = () => {
    // @ts-expect-error: SNDHWM takes a number
    sock.setOption("SNDHWM", "many");
  };
  assert.throws(
    notANumber,
    /Cannot set option SNDHWM: expected an integer, got string "many"/,
  );
  const notABoolean = () => {
    // @ts-expect-error: IMMEDIATE takes a boolean
    sock.setOption("IMMEDIATE", 1);
  };
  assert.throws(notABoolean, /expected a boolean/);
  const readOnly = () => {
    // @ts-expect-error: TYPE is read-only
    sock.setOption("TYPE", 1);
  };
  assert.throws(readOnly, /read-only/);
  sock.setOption("SNDHWM", 1234);
  assert.equal(sock.getOption("SNDHWM"), 1234);
  sock.setOption("MAXMSGSIZE", 1 << 20);
  assert.equal(sock.getOption("MAXMSGSIZE"), 1 << 20);
  assert.equal(sock.getOption("LINGER"), 2000);
  assert.equal(sock.getOption("TYPE"), 5);
  sock.setOption("HEARTBEAT_IVL", 100);
  sock.setOption("ROUTING_ID", new Uint8Array([1, 2, 3]));
  assert.deepEqual(sock.getOption("ROUTING_ID"), new Uint8Array([1, 2, 3]));
});

Deno.test("Socket.send() rejects frames that are not strings or bytes", async () => {
  using ctx = new Context();
  const sock = ctx.socket("PUSH");
  const notAFrame = () => {
    // @ts-expect-error: a number is not a frame
    return sock.send([1]);
  };
  await assert.rejects(
    notAFrame(),
    /frame 1 is number 1, expected a string or Uint8Array/,
  );
  await assert.rejects(sock.send([]), /non-empty array/);
});

Deno.test("Context.close() closes its sockets and never hangs", () => {
  const ctx = new Context();
  const push = ctx.socket("PUSH");
  push.connect("tcp://127.0.0.1:9"); // nobody listens: the message can only linger
  push.setOption("LINGER", 100);
  assert.ok(push.trySend("stuck") || true);
  const started = performance.now();
  ctx.close();
  assert.ok(push.closed);
  assert.ok(performance.now() - started < 5000);
  ctx.close();
  assert.throws(() => ctx.socket("PUSH"), /context is closed/);
});

Deno.test("A process that sends and exits at once still delivers", async () => {
  using ctx = new Context();
  const pull = ctx.socket("PULL");
  const endpoint = bindAny(pull, "tcp");
  const script = `
    import { Context } from ${JSON.stringify(new URL("../ffi/mod.ts", import.meta.url).href)};
    const ctx = new Context();
    const push = ctx.socket("PUSH");
    push.connect(${JSON.stringify(endpoint)});
    for (let i = 0; i < 100; i++) await push.send("last words " + i);
    ctx.close();
  `;
  const child = new Deno.Command(DENO, {
    args: ["eval", "--no-check", script],
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const status = await within(30_000, "the sender to exit", child.output());
  assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
  for (let i = 0; i < 100; i++) {
    assert.deepEqual(
      texts(await within(T, "lingered message", pull.receive())),
      ["last words " + i],
    );
  }
});

Deno.test("ZMQ_LIB pointing nowhere gives an error with an install hint", async () => {
  const script = `
    import { Context } from ${JSON.stringify(new URL("../ffi/mod.ts", import.meta.url).href)};
    new Context();
  `;
  const { code, stderr } = await new Deno.Command(DENO, {
    args: ["eval", "--no-check", script],
    env: { ZMQ_LIB: "/nonexistent/libzmq.so", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.notEqual(code, 0);
  assert.match(text, /Cannot load libzmq: tried \/nonexistent\/libzmq\.so/);
  assert.match(text, /apt-get install libzmq5/);
  assert.match(text, /ZMQ_LIB/);
});

Deno.test("Socket type names are checked", () => {
  using ctx = new Context();
  const unknown = () => {
    // @ts-expect-error: not a socket type
    ctx.socket("NOPE");
  };
  assert.throws(unknown, /Unknown socket type "NOPE"/);
  for (
    const type of [
      "PAIR",
      "PUB",
      "SUB",
      "REQ",
      "REP",
      "DEALER",
      "ROUTER",
      "PULL",
      "PUSH",
      "XPUB",
      "XSUB",
      "STREAM",
    ] as const
  ) {
    const sock: Socket = ctx.socket(type);
    assert.equal(sock.type, type);
  }
});

Deno.test("proxy() forwards between XSUB and XPUB, subscriptions included, until closed", async () => {
  using ctx = new Context();
  const xsub = ctx.socket("XSUB");
  const xpub = ctx.socket("XPUB");
  xpub.setOption("XPUB_VERBOSE", true);
  const front = bindAny(xsub, "tcp");
  const back = bindAny(xpub, "tcp");
  const capture = ctx.socket("PAIR");
  const tap = ctx.socket("PAIR");
  tap.connect(bindAny(capture, "inproc"));
  const running = proxy(xsub, xpub, { capture });
  const sub = ctx.socket("SUB");
  sub.setOption("SUBSCRIBE", "");
  sub.connect(back);
  // The subscription passes through the proxy to the publisher side.
  const [subscription] = await within(
    T,
    "the captured subscription",
    tap.receive(),
  );
  assert.equal(subscription![0], 1);
  const pub = ctx.socket("XPUB");
  pub.connect(front);
  const [forwarded] = await within(
    T,
    "the subscription at the publisher",
    pub.receive(),
  );
  assert.equal(forwarded![0], 1);
  await pub.send(["topic", "payload"]);
  assert.deepEqual(
    texts(await within(T, "the proxied message", sub.receive())),
    ["topic", "payload"],
  );
  assert.equal(running.stats.forward, 1);
  xsub.close();
  xpub.close();
  await within(T, "the proxy to end", running.done);
});

Deno.test("Monitor reports a peer connecting and disconnecting", async () => {
  using ctx = new Context();
  const router = ctx.socket("ROUTER");
  const endpoint = bindAny(router, "tcp");
  using monitor = new Monitor(router);
  const dealer = ctx.socket("DEALER");
  dealer.connect(endpoint);
  const seen: string[] = [];
  while (!seen.includes("accepted")) {
    const event = await within(T, "an accepted event", monitor.next());
    assert.ok(event);
    seen.push(event.type);
  }
  dealer.close();
  while (!seen.includes("disconnected")) {
    const event = await within(T, "a disconnected event", monitor.next());
    assert.ok(event);
    seen.push(event.type);
  }
});

Deno.test("curveKeyPair() makes Z85 keys that secure a connection", async () => {
  const server = curveKeyPair();
  const client = curveKeyPair();
  assert.equal(server.publicKey.length, 40);
  assert.notEqual(server.secretKey, client.secretKey);
  using ctx = new Context();
  const rep = ctx.socket("REP");
  rep.setOption("CURVE_SERVER", true);
  rep.setOption("CURVE_SECRETKEY", server.secretKey);
  const req = ctx.socket("REQ");
  req.setOption("CURVE_SERVERKEY", server.publicKey);
  req.setOption("CURVE_PUBLICKEY", client.publicKey);
  req.setOption("CURVE_SECRETKEY", client.secretKey);
  req.connect(bindAny(rep, "tcp"));
  await req.send("secret");
  assert.deepEqual(
    texts(await within(T, "an encrypted request", rep.receive())),
    ["secret"],
  );
});
