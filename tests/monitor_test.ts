import assert from "node:assert/strict";
import {
  Context,
  curveKeyPair,
  Monitor,
  type MonitorEvent,
  type MonitorOptions,
} from "../ffi/mod.ts";
import { bindAny, within } from "./_helpers.ts";

const T = 10_000;

async function next(monitor: Monitor, what: string): Promise<MonitorEvent> {
  const event = await within(T, what, monitor.next());
  assert.ok(event, "the monitor closed");
  return event;
}

/** The next event of `monitor` of `type`, skipping others. */
async function nextOf(monitor: Monitor, type: MonitorEvent["type"]): Promise<MonitorEvent> {
  while (true) {
    const event = await next(monitor, `a ${type} event`);
    if (event.type === type) return event;
  }
}

/**
 * Binds the monitored socket (LISTENING), lets a peer connect to it and
 * send (ACCEPTED, HANDSHAKE_SUCCEEDED), then connects it to another socket
 * (CONNECTED): the first event the monitor reports.
 */
async function firstEvent(options?: MonitorOptions): Promise<[MonitorEvent, string]> {
  using ctx = new Context();
  using watched = ctx.socket("DEALER");
  using monitor = new Monitor(watched, options);
  const endpoint = bindAny(watched, "tcp");
  using peer = ctx.socket("DEALER");
  peer.connect(endpoint);
  await within(T, "the peer's send", peer.send("ping"));
  await within(T, "the peer's message", watched.receive());
  using other = ctx.socket("DEALER");
  const otherEndpoint = bindAny(other, "tcp");
  watched.connect(otherEndpoint);
  return [await next(monitor, "the first event"), otherEndpoint];
}

Deno.test('Monitor with events ["CONNECTED"] reports no LISTENING or ACCEPTED events', async (t) => {
  await t.step("with all events, LISTENING comes first", async () => {
    const [event] = await firstEvent();
    assert.equal(event.type, "listening");
  });
  await t.step("with CONNECTED only, CONNECTED does", async () => {
    const [event, endpoint] = await firstEvent({ events: ["CONNECTED"] });
    assert.equal(event.type, "connected");
    assert.equal(event.endpoint, endpoint);
    assert.equal(event.error, undefined);
  });
  await t.step("names are taken in either case", async () => {
    const [event] = await firstEvent({ events: ["connected", "HANDSHAKE_FAILED_AUTH"] });
    assert.equal(event.type, "connected");
  });
});

Deno.test("Monitor refuses unknown or no event names", () => {
  using ctx = new Context();
  using socket = ctx.socket("PAIR");
  assert.throws(
    () => new Monitor(socket, { events: ["CONNECTED", "NOPE" as "CONNECTED"] }),
    (error) => error instanceof TypeError && /Unknown monitor event "NOPE"/.test(error.message),
  );
  assert.throws(() => new Monitor(socket, { events: [] }), RangeError);
  assert.equal(ctx.sockets.length, 1, "a refused monitor left its socket open");
});

Deno.test("Monitor names the ZMQ_PROTOCOL_ERROR_* of a failed handshake", async () => {
  using ctx = new Context();
  using server = ctx.socket("PULL");
  const endpoint = bindAny(server, "tcp");
  using monitor = new Monitor(server, { events: ["HANDSHAKE_FAILED_PROTOCOL"] });
  // A CURVE client against a NULL server.
  const keys = curveKeyPair();
  using client = ctx.socket("PUSH");
  client.setOption("CURVE_SERVERKEY", curveKeyPair().publicKey);
  client.setOption("CURVE_PUBLICKEY", keys.publicKey);
  client.setOption("CURVE_SECRETKEY", keys.secretKey);
  client.connect(endpoint);
  const event = await next(monitor, "a handshake_failed_protocol event");
  assert.equal(event.type, "handshake_failed_protocol");
  assert.equal(event.value, 0x11000002);
  assert.equal(event.error, "ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH");
});

Deno.test("Monitor names the ZAP status of a refused handshake", async (t) => {
  for (const [status, name] of [["300", "temporary_error"], ["500", "internal_error"]]) {
    await t.step(`${status} is ${name}`, async () => {
      using ctx = new Context();
      // A hand-written ZAP handler that answers `status` once.
      using zap = ctx.socket("REP");
      zap.bind("inproc://zeromq.zap.01");
      using server = ctx.socket("PULL");
      server.setOption("ZAP_DOMAIN", "test");
      const endpoint = bindAny(server, "tcp");
      using monitor = new Monitor(server, { events: ["HANDSHAKE_FAILED_AUTH"] });
      using client = ctx.socket("PUSH");
      client.connect(endpoint);
      const [version, id] = await within(T, "a ZAP request", zap.receive());
      await zap.send([version!, id!, status!, "no", "", ""]);
      const event = await next(monitor, "a handshake_failed_auth event");
      assert.equal(event.value, Number(status));
      assert.equal(event.error, name);
    });
  }
});

Deno.test("Monitor names the errno of a handshake cut short", async () => {
  using ctx = new Context();
  using server = ctx.socket("PULL");
  const endpoint = bindAny(server, "tcp");
  using monitor = new Monitor(server, {
    events: ["ACCEPTED", "HANDSHAKE_FAILED_NO_DETAIL"],
  });
  // A TCP peer that closes before it sends a greeting.
  const port = Number(new URL(endpoint.replace("tcp:", "http:")).port);
  const conn = await within(T, "a TCP connection", Deno.connect({ hostname: "127.0.0.1", port }));
  await nextOf(monitor, "accepted");
  conn.close();
  const event = await nextOf(monitor, "handshake_failed_no_detail");
  assert.ok(event.error === "EPIPE" || event.error === "ECONNRESET", `errno ${event.value}`);
});

Deno.test("A Monitor with an event mask still ends when its socket closes", async () => {
  using ctx = new Context();
  const watched = ctx.socket("DEALER");
  using monitor = new Monitor(watched, { events: ["CONNECTED"] });
  bindAny(watched, "tcp");
  watched.close();
  const ended = (async () => {
    for await (const _ of monitor) { /* none of its events come */ }
  })();
  await within(T, "the monitor to end", ended);
});
