import assert from "node:assert/strict";
import {
  Context,
  curveKeyPair,
  messageProperties,
  Monitor,
  type MonitorEvent,
  type Socket,
  ZapAuthenticator,
  type ZapAuthenticatorOptions,
  type ZapDenial,
  ZmqError,
} from "../ffi/mod.ts";
import { bindAny, texts, within } from "./_helpers.ts";

const T = 10_000;

/** The next event of `monitor` of one of `types`, skipping others. */
async function nextOf(monitor: Monitor, ...types: MonitorEvent["type"][]): Promise<MonitorEvent> {
  while (true) {
    const event = await within(T, `a ${types.join(" or ")} event`, monitor.next());
    assert.ok(event, "the monitor closed");
    if (types.includes(event.type)) return event;
  }
}

/** What one client's handshake with a guarded PULL server came to. */
interface Outcome {
  /** handshake_succeeded or handshake_failed_auth, as the server's monitor saw it. */
  event: MonitorEvent;
  /** The client's message and its properties on the server, if it was let in. */
  received?: { texts: string[]; properties: Readonly<Record<string, string>> | undefined };
  denials: ZapDenial[];
  stats: { allowed: number; denied: number };
}

/**
 * Guards a PULL server (set up by `server`) with an authenticator of
 * `options`; a PUSH client (set up by `client`) connects and sends "hello".
 */
async function handshake(
  options: ZapAuthenticatorOptions,
  server: (socket: Socket) => void,
  client: (socket: Socket) => void,
): Promise<Outcome> {
  using ctx = new Context();
  const denials: ZapDenial[] = [];
  await using auth = new ZapAuthenticator(ctx, {
    ...options,
    onDenied: (denial) => denials.push(denial),
  });
  using pull = ctx.socket("PULL");
  server(pull);
  pull.readProperties(["User-Id", "X-Role"]);
  const endpoint = bindAny(pull, "tcp");
  using monitor = new Monitor(pull, { events: ["HANDSHAKE_SUCCEEDED", "HANDSHAKE_FAILED_AUTH"] });
  using push = ctx.socket("PUSH");
  push.setOption("LINGER", 0);
  client(push);
  push.connect(endpoint);
  await within(T, "the client's send", push.send("hello"));
  const event = await nextOf(monitor, "handshake_succeeded", "handshake_failed_auth");
  let received: Outcome["received"];
  if (event.type === "handshake_succeeded") {
    const message = await within(T, "the client's message", pull.receive());
    received = { texts: texts(message), properties: messageProperties(message) };
  } else {
    assert.equal(pull.tryReceive(), null, "a refused client's message arrived");
  }
  return { event, received, denials, stats: auth.stats };
}

const nullServer = (domain: string) => (socket: Socket) => socket.setOption("ZAP_DOMAIN", domain);
const nullClient = () => {};
const plainServer = (socket: Socket) => socket.setOption("PLAIN_SERVER", true);
const plainClient = (user: string, password: string) => (socket: Socket) => {
  socket.setOption("PLAIN_USERNAME", user);
  socket.setOption("PLAIN_PASSWORD", password);
};

Deno.test("ZapAuthenticator refuses a CURVE key not on the list and names an allowed one's connection", async () => {
  using ctx = new Context();
  const serverKeys = curveKeyPair();
  const alice = curveKeyPair();
  const mallory = curveKeyPair();
  const denials: ZapDenial[] = [];
  await using auth = new ZapAuthenticator(ctx, {
    curve: new Map([[alice.publicKey, { userId: "alice", metadata: { "X-Role": "admin" } }]]),
    onDenied: (denial) => denials.push(denial),
  });
  using server = ctx.socket("PULL");
  server.setOption("CURVE_SERVER", true);
  server.setOption("CURVE_SECRETKEY", serverKeys.secretKey);
  server.readProperties(["User-Id", "X-Role"]);
  const endpoint = bindAny(server, "tcp");
  using monitor = new Monitor(server, { events: ["HANDSHAKE_FAILED_AUTH"] });
  const client = (keys: typeof alice) => {
    const push = ctx.socket("PUSH");
    push.setOption("LINGER", 0);
    push.setOption("CURVE_SERVERKEY", serverKeys.publicKey);
    push.setOption("CURVE_PUBLICKEY", keys.publicKey);
    push.setOption("CURVE_SECRETKEY", keys.secretKey);
    push.connect(endpoint);
    return push;
  };
  using intruder = client(mallory);
  // Queued on the connecting pipe: it would arrive if the handshake passed.
  await within(T, "the intruder's send", intruder.send("from mallory"));
  const refused = await nextOf(monitor, "handshake_failed_auth");
  assert.equal(refused.value, 400);
  assert.equal(refused.error, "denied");
  assert.equal(denials[0]?.reason, "credentials");
  assert.equal(denials[0]?.identity, mallory.publicKey);
  assert.match(
    denials[0]!.message,
    /^Refused a CURVE handshake from 127\.0\.0\.1: key .* is not allowed$/,
  );
  using member = client(alice);
  await within(T, "alice's send", member.send("from alice"));
  const message = await within(T, "alice's message", server.receive());
  assert.deepEqual(texts(message), ["from alice"]);
  assert.deepEqual(messageProperties(message), { "User-Id": "alice", "X-Role": "admin" });
  assert.equal(server.tryReceive(), null, "the intruder's message arrived");
  assert.equal(auth.stats.allowed, 1);
  assert.ok(auth.stats.denied >= 1);
  assert.ok(Object.isFrozen(auth.stats));
});

Deno.test('ZapAuthenticator with curve: "any" lets every key in, its User-Id the public key', async () => {
  const serverKeys = curveKeyPair();
  const keys = curveKeyPair();
  const outcome = await handshake(
    { curve: "any" },
    (socket) => {
      socket.setOption("CURVE_SERVER", true);
      socket.setOption("CURVE_SECRETKEY", serverKeys.secretKey);
    },
    (socket) => {
      socket.setOption("CURVE_SERVERKEY", serverKeys.publicKey);
      socket.setOption("CURVE_PUBLICKEY", keys.publicKey);
      socket.setOption("CURVE_SECRETKEY", keys.secretKey);
    },
  );
  assert.equal(outcome.event.type, "handshake_succeeded");
  assert.deepEqual(outcome.received?.properties, { "User-Id": keys.publicKey });
});

Deno.test("ZapAuthenticator filters peers by address, the deny list winning", async (t) => {
  const cases: [string, ZapAuthenticatorOptions, boolean][] = [
    ["deny 127.0.0.1", { deny: ["127.0.0.1"] }, false],
    ["allow another address only", { allow: ["192.0.2.1"] }, false],
    ["allow and deny 127.0.0.1", { allow: ["127.0.0.1"], deny: ["127.0.0.1"] }, false],
    ["allow 127.0.0.1", { allow: ["127.0.0.1"], deny: ["192.0.2.1"] }, true],
  ];
  for (const [name, policy, passes] of cases) {
    for (const mechanism of ["NULL", "PLAIN"] as const) {
      await t.step(
        `${name}: a ${mechanism} client ${passes ? "passes" : "is refused"}`,
        async () => {
          const outcome = mechanism === "NULL"
            ? await handshake(policy, nullServer("test"), nullClient)
            : await handshake(
              { ...policy, plain: new Map([["admin", "secret"]]) },
              plainServer,
              plainClient("admin", "secret"),
            );
          if (passes) {
            assert.equal(outcome.event.type, "handshake_succeeded");
            assert.deepEqual(outcome.received?.texts, ["hello"]);
            assert.equal(outcome.stats.denied, 0);
          } else {
            assert.equal(outcome.event.type, "handshake_failed_auth");
            assert.equal(outcome.event.error, "denied");
            assert.equal(outcome.denials[0]?.reason, "address");
            assert.equal(outcome.denials[0]?.address, "127.0.0.1");
            assert.equal(outcome.denials[0]?.mechanism, mechanism);
            assert.equal(outcome.stats.allowed, 0);
          }
        },
      );
    }
  }
});

Deno.test("ZapAuthenticator checks PLAIN passwords and names the user", async (t) => {
  const plain = new Map([["admin", "secret"]]);
  await t.step("the right password passes, the user name the User-Id", async () => {
    const outcome = await handshake({ plain }, plainServer, plainClient("admin", "secret"));
    assert.equal(outcome.event.type, "handshake_succeeded");
    assert.deepEqual(outcome.received?.properties, { "User-Id": "admin" });
  });
  for (
    const [user, password, why] of [
      ["admin", "secreT", /wrong password for user "admin"$/],
      ["admin", "secret2", /wrong password/],
      ["root", "secret", /unknown user "root"$/],
    ] as const
  ) {
    await t.step(`${user}/${password} is refused`, async () => {
      const outcome = await handshake({ plain }, plainServer, plainClient(user, password));
      assert.equal(outcome.event.type, "handshake_failed_auth");
      assert.equal(outcome.event.value, 400);
      assert.equal(outcome.denials[0]?.reason, "credentials");
      assert.equal(outcome.denials[0]?.identity, user);
      assert.match(outcome.denials[0]!.message, why);
    });
  }
});

Deno.test("ZapAuthenticator refuses other domains and mechanisms it was not given", async (t) => {
  await t.step("a domain it does not serve", async () => {
    const outcome = await handshake({ domain: ["a", "b"] }, nullServer("c"), nullClient);
    assert.equal(outcome.event.type, "handshake_failed_auth");
    assert.equal(outcome.denials[0]?.reason, "domain");
    assert.equal(outcome.denials[0]?.domain, "c");
  });
  await t.step("a domain it serves", async () => {
    const outcome = await handshake({ domain: "b" }, nullServer("b"), nullClient);
    assert.equal(outcome.event.type, "handshake_succeeded");
  });
  await t.step("NULL with allowNull: false", async () => {
    const outcome = await handshake({ allowNull: false }, nullServer("test"), nullClient);
    assert.equal(outcome.event.type, "handshake_failed_auth");
    assert.equal(outcome.denials[0]?.reason, "mechanism");
  });
  await t.step("PLAIN without a user map", async () => {
    const outcome = await handshake({}, plainServer, plainClient("admin", "secret"));
    assert.equal(outcome.event.type, "handshake_failed_auth");
    assert.equal(outcome.denials[0]?.reason, "mechanism");
    assert.match(outcome.denials[0]!.message, /PLAIN is not allowed$/);
  });
});

Deno.test("ZapAuthenticator goes on answering when onDenied throws", async () => {
  const reported: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    reported.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    using ctx = new Context();
    await using auth = new ZapAuthenticator(ctx, {
      deny: ["127.0.0.1"],
      onDenied: () => {
        throw new Error("hook failed");
      },
    });
    using pull = ctx.socket("PULL");
    pull.setOption("ZAP_DOMAIN", "test");
    const endpoint = bindAny(pull, "tcp");
    using monitor = new Monitor(pull, { events: ["HANDSHAKE_FAILED_AUTH"] });
    // Two clients: a refused client does not reconnect (libzmq 4.3).
    using first = ctx.socket("PUSH");
    first.connect(endpoint);
    await nextOf(monitor, "handshake_failed_auth");
    using second = ctx.socket("PUSH");
    second.connect(endpoint);
    await nextOf(monitor, "handshake_failed_auth");
    assert.ok(auth.stats.denied >= 2);
    assert.ok(reported.length >= 2);
    assert.match(String(reported[0]), /hook failed/);
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});

Deno.test("ZapAuthenticator checks its policy, and one context has one", () => {
  using ctx = new Context();
  assert.throws(() => new ZapAuthenticator(ctx, { curve: ["not a key"] }), RangeError);
  assert.throws(
    () => new ZapAuthenticator(ctx, { curve: new Map([["~".repeat(40), "id"]]) }),
    /Invalid CURVE public key/,
  );
  const { publicKey } = curveKeyPair();
  const bad: Record<string, string>[] = [{ "User-Id": "root" }, { "": "x" }, { "X Role": "x" }];
  for (const metadata of bad) {
    assert.throws(
      () => new ZapAuthenticator(ctx, { curve: new Map([[publicKey, { metadata }]]) }),
      RangeError,
    );
  }
  assert.equal(ctx.sockets.length, 0, "a refused policy left a socket open");
  using auth = new ZapAuthenticator(ctx);
  assert.throws(
    () => new ZapAuthenticator(ctx),
    (error) => error instanceof ZmqError && error.code === "EADDRINUSE",
  );
  assert.equal(ctx.sockets.length, 1);
  assert.equal(auth.closed, false);
});

Deno.test("ZapAuthenticator.close() ends its loop; done resolves", async () => {
  using ctx = new Context();
  const auth = new ZapAuthenticator(ctx);
  auth.close();
  auth.close();
  assert.equal(auth.closed, true);
  await within(T, "the loop to end", auth.done);
  assert.deepEqual(auth.stats, { allowed: 0, denied: 0 });
});

Deno.test("ZapAuthenticator's deny list holds for an IPv4 peer of a dual-stack socket (::ffff:127.0.0.1)", async () => {
  using ctx = new Context();
  const denials: ZapDenial[] = [];
  await using _auth = new ZapAuthenticator(ctx, {
    deny: ["127.0.0.1"],
    onDenied: (denial) => denials.push(denial),
  });
  using pull = ctx.socket("PULL");
  pull.setOption("ZAP_DOMAIN", "test");
  pull.setOption("IPV6", true);
  try {
    pull.bind("tcp://*:0");
  } catch {
    return; // no IPv6 on this machine: nothing to bypass
  }
  const port = pull.getOption("LAST_ENDPOINT").split(":").at(-1);
  using monitor = new Monitor(pull, { events: ["HANDSHAKE_SUCCEEDED", "HANDSHAKE_FAILED_AUTH"] });
  using push = ctx.socket("PUSH");
  push.setOption("LINGER", 0);
  push.connect(`tcp://127.0.0.1:${port}`);
  await within(T, "the client's send", push.send("hello"));
  const event = await nextOf(monitor, "handshake_succeeded", "handshake_failed_auth");
  assert.equal(event.type, "handshake_failed_auth", `let in from ${denials[0]?.address}`);
  assert.equal(denials[0]?.reason, "address");
  assert.match(denials[0]?.address ?? "", /127\.0\.0\.1$/);
});
