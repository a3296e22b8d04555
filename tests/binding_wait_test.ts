/**
 * Every wait of the binding bounded and cancellable: RCVTIMEO and SNDTIMEO
 * honoured by `receive()` and `send()`, an `AbortSignal` on each, `poll()`
 * on one socket and a `Poller` over many, which consume nothing; and two of
 * the ZeroMQ Guide's programs that need a poller (a load-balancing broker
 * and a multi-socket reader), on real sockets.
 */

import assert from "node:assert/strict";
import { Context, isClosed, Poller, type Socket, ZmqError } from "../ffi/mod.ts";
import { bindAny, texts, within } from "./_helpers.ts";

const T = 10_000;

/** A bound PULL and a PUSH connected to it, over tcp. */
function pipe(ctx: Context): { pull: Socket; push: Socket } {
  const pull = ctx.socket("PULL");
  const push = ctx.socket("PUSH");
  push.connect(bindAny(pull, "tcp"));
  return { pull, push };
}

function isEagain(error: unknown): boolean {
  return error instanceof ZmqError && error.code === "EAGAIN";
}

Deno.test("receive() past RCVTIMEO rejects with EAGAIN, naming RCVTIMEO, and the next message is still received", async () => {
  using ctx = new Context();
  const { pull, push } = pipe(ctx);
  pull.setOption("RCVTIMEO", 100);
  const started = performance.now();
  await assert.rejects(within(T, "the timeout", pull.receive()), (error) => {
    assert.ok(isEagain(error), String(error));
    assert.match(String(error), /RCVTIMEO 100 ms/);
    return true;
  });
  assert.ok(performance.now() - started >= 95, "it waited RCVTIMEO");
  await push.send("after");
  assert.deepEqual(texts(await within(T, "the next message", pull.receive())), ["after"]);
  // RCVTIMEO 0: libzmq's "do not wait", at once.
  pull.setOption("RCVTIMEO", 0);
  await assert.rejects(pull.receive(), isEagain);
  // RCVTIMEO -1 again: waits for ever (until the message).
  pull.setOption("RCVTIMEO", -1);
  const waiting = pull.receive();
  await push.send("later");
  assert.deepEqual(texts(await within(T, "the message", waiting)), ["later"]);
});

Deno.test("send() past SNDTIMEO rejects with EAGAIN and sends nothing: the peer gets only what came after", async () => {
  using ctx = new Context();
  const push = ctx.socket("PUSH");
  push.setOption("SNDTIMEO", 50);
  // No peer yet: a PUSH waits for one.
  await assert.rejects(within(T, "the timeout", push.send("lost")), isEagain);
  const pull = ctx.socket("PULL");
  push.connect(bindAny(pull, "tcp"));
  push.setOption("SNDTIMEO", -1);
  await within(T, "the send", push.send("kept"));
  assert.deepEqual(texts(await within(T, "the message", pull.receive())), ["kept"]);
  pull.setOption("RCVTIMEO", 100);
  await assert.rejects(pull.receive(), isEagain, "the timed-out send went nowhere");
});

Deno.test("An aborted receive() rejects with the signal's reason; the message that comes after stays for the next receive()", async () => {
  using ctx = new Context();
  const { pull, push } = pipe(ctx);
  const controller = new AbortController();
  const aborted = pull.receive({ signal: controller.signal });
  const second = pull.receive();
  controller.abort(new Error("no longer wanted"));
  await assert.rejects(aborted, /no longer wanted/);
  await push.send(["one", "two"]);
  assert.deepEqual(texts(await within(T, "the second receive", second)), ["one", "two"]);
  // Already aborted: rejects at once, takes nothing.
  await push.send("three");
  await assert.rejects(pull.receive({ signal: AbortSignal.abort(new Error("before")) }), /before/);
  assert.deepEqual(texts(await within(T, "the message", pull.receive())), ["three"]);
});

Deno.test("An aborted send() rejects with the signal's reason and is not sent; the sends queued behind it go in order", async () => {
  using ctx = new Context();
  const push = ctx.socket("PUSH");
  const controller = new AbortController();
  const first = push.send("first");
  const cancelled = push.send("cancelled", { signal: controller.signal });
  const last = push.send("last");
  controller.abort(new Error("cancelled"));
  await assert.rejects(cancelled, /cancelled/);
  const pull = ctx.socket("PULL");
  push.connect(bindAny(pull, "tcp"));
  await within(T, "the sends", Promise.all([first, last]));
  const got = [await pull.receive(), await pull.receive()].map((m) => texts(m)[0]);
  assert.deepEqual(got, ["first", "last"]);
});

Deno.test("poll() waits for readable without taking the message, and gives both false after its timeout", async () => {
  using ctx = new Context();
  const { pull, push } = pipe(ctx);
  assert.deepEqual(await pull.poll("readable", { timeoutMs: 50 }), {
    readable: false,
    writable: false,
  });
  assert.deepEqual(await push.poll("writable", { timeoutMs: 1000 }), {
    readable: false,
    writable: true,
  });
  const ready = pull.poll();
  await push.send("here");
  assert.equal((await within(T, "readable", ready)).readable, true);
  assert.deepEqual(texts(pull.tryReceive()!), ["here"], "poll() consumed nothing");
  await assert.rejects(pull.poll("readable", { signal: AbortSignal.abort(new Error("x")) }), /x/);
  const pending = pull.poll();
  pull.close();
  await assert.rejects(pending, (error) => isClosed(error));
});

Deno.test("Poller.wait() says which of many sockets are ready, consumes nothing, and honours its timeout and signal", async () => {
  using ctx = new Context();
  const pipes = [pipe(ctx), pipe(ctx), pipe(ctx)];
  const poller = new Poller();
  for (const { pull } of pipes) poller.add(pull);
  assert.deepEqual(await poller.wait({ timeoutMs: 30 }), []);
  const waiting = poller.wait({ timeoutMs: T });
  await pipes[1]!.push.send("to the second");
  const ready = await within(T, "a ready socket", waiting);
  assert.deepEqual(ready.map((item) => item.socket), [pipes[1]!.pull]);
  assert.equal(ready[0]!.readable, true);
  // Nothing consumed: still ready, and the message is there.
  assert.equal((await poller.wait({ timeoutMs: 0 })).length, 1);
  assert.deepEqual(texts(pipes[1]!.pull.tryReceive()!), ["to the second"]);
  // Two at once.
  await pipes[0]!.push.send("a");
  await pipes[2]!.push.send("c");
  const both = await within(T, "two ready", untilReady(poller, 2));
  assert.deepEqual(both.map((item) => item.socket), [pipes[0]!.pull, pipes[2]!.pull]);
  for (const { pull } of [pipes[0]!, pipes[2]!]) pull.tryReceive();
  const controller = new AbortController();
  const aborted = poller.wait({ signal: controller.signal });
  controller.abort(new Error("stop waiting"));
  await assert.rejects(aborted, /stop waiting/);
  assert.equal(poller.remove(pipes[0]!.pull), true);
  assert.equal(poller.sockets.size, 2);
});

/** Waits until `count` sockets of the poller are ready at once. */
async function untilReady(poller: Poller, count: number) {
  while (true) {
    const ready = await poller.wait({ timeoutMs: T });
    if (ready.length >= count) return ready;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

Deno.test("The Guide's load-balancing broker (lbbroker) on a Poller: every client gets its reply, every worker works", async () => {
  using ctx = new Context();
  const frontend = ctx.socket("ROUTER"), backend = ctx.socket("ROUTER");
  const front = bindAny(frontend, "inproc"), back = bindAny(backend, "inproc");
  const CLIENTS = 10, WORKERS = 3;
  const served = new Map<string, number>();
  const workerSockets = Array.from({ length: WORKERS }, () => ctx.socket("REQ"));
  const workers = workerSockets.map((req, i) => worker(req, back, `w${i}`, served));
  const clients = Array.from({ length: CLIENTS }, (_, i) => client(ctx, front, `c${i}`));
  await within(T, "the broker", lbbroker(frontend, backend, CLIENTS));
  const replies = await within(T, "the clients", Promise.all(clients));
  assert.deepEqual(replies, Array.from({ length: CLIENTS }, (_, i) => `OK c${i}`));
  for (const req of workerSockets) req.close();
  await within(T, "the workers to end", Promise.all(workers));
  assert.equal([...served.values()].reduce((a, b) => a + b, 0), CLIENTS);
  assert.ok(served.size >= 2, `only ${[...served.keys()]} worked`);
});

/** A REQ worker: READY, then echoes "OK <request>" until its socket closes. */
async function worker(req: Socket, at: string, id: string, served: Map<string, number>) {
  req.setOption("ROUTING_ID", id);
  req.connect(at);
  await req.send("READY");
  try {
    while (true) {
      const [client, empty, request] = await req.receive();
      if (request === undefined) return;
      served.set(id, (served.get(id) ?? 0) + 1);
      await req.send([client!, empty!, `OK ${texts([request])[0]}`]);
    }
  } catch (error) {
    if (!isClosed(error)) throw error;
  }
}

/** A REQ client: one request, its reply. */
async function client(ctx: Context, at: string, id: string): Promise<string> {
  using req = ctx.socket("REQ");
  req.connect(at);
  await req.send(id);
  return texts(await req.receive())[0]!;
}

/**
 * The broker: polls the backend always, the frontend only while a worker
 * is free; routes each request to the least recently used worker.
 */
async function lbbroker(frontend: Socket, backend: Socket, requests: number): Promise<void> {
  const free: Uint8Array[] = [];
  let replied = 0;
  while (replied < requests) {
    const poller = new Poller().add(backend);
    if (free.length > 0) poller.add(frontend);
    for (const { socket } of await poller.wait({ timeoutMs: T })) {
      if (socket === backend) {
        const [workerId, , ...rest] = backend.tryReceive()!;
        free.push(workerId!);
        if (texts([rest[0]!])[0] !== "READY") {
          await frontend.send(rest); // [client, "", reply]
          replied++;
        }
      } else if (free.length > 0) {
        const [clientId, , request] = frontend.tryReceive()!;
        await backend.send([free.shift()!, "", clientId!, "", request!]);
      }
    }
  }
}

Deno.test("The Guide's multi-socket reader (mspoller): one Poller reads a PULL and a SUB to the end of both", async () => {
  using ctx = new Context();
  const { pull, push } = pipe(ctx);
  const sub = ctx.socket("SUB"), pub = ctx.socket("XPUB");
  sub.setOption("SUBSCRIBE", "weather");
  sub.connect(bindAny(pub, "tcp"));
  await within(T, "the subscription", pub.receive());
  const N = 200;
  const sending = (async () => {
    for (let i = 0; i < N; i++) {
      await push.send(`task ${i}`);
      await pub.send(`weather ${i}`);
    }
  })();
  const got = { tasks: 0, updates: 0 };
  const poller = new Poller().add(pull).add(sub);
  while (got.tasks < N || got.updates < N) {
    for (const { socket } of await within(T, "a message", poller.wait({ timeoutMs: T }))) {
      for (let m = socket.tryReceive(); m !== null; m = socket.tryReceive()) {
        if (socket === pull) assert.equal(texts(m)[0], `task ${got.tasks++}`);
        else assert.equal(texts(m)[0], `weather ${got.updates++}`);
      }
    }
  }
  await sending;
  assert.deepEqual(got, { tasks: N, updates: N });
});

Deno.test("Message properties: a ROUTER reads a DEALER's Socket-Type, Routing-Id and Peer-Address over tcp, and none when it does not ask", async () => {
  using ctx = new Context();
  const router = ctx.socket("ROUTER"), dealer = ctx.socket("DEALER");
  dealer.setOption("ROUTING_ID", "d1");
  dealer.connect(bindAny(router, "tcp"));
  router.readProperties(["Socket-Type", "Routing-Id", "Peer-Address", "User-Id"]);
  await dealer.send("hello");
  const message = await within(T, "the message", router.receive());
  const { messageProperties } = await import("../ffi/mod.ts");
  assert.deepEqual(messageProperties(message), {
    "Socket-Type": "DEALER",
    "Routing-Id": "d1",
    "Peer-Address": "127.0.0.1",
  });
  router.readProperties([]);
  await dealer.send("again");
  assert.equal(messageProperties(await within(T, "the message", router.receive())), undefined);
});

Deno.test("A for-await loop that always finds a message ready still lets a timer run within a few ms", async () => {
  using ctx = new Context();
  const pull = ctx.socket("PULL"), push = ctx.socket("PUSH");
  for (const socket of [pull, push]) socket.setOption(socket === pull ? "RCVHWM" : "SNDHWM", 0);
  push.connect(bindAny(pull, "inproc"));
  const N = 200_000;
  for (let i = 0; i < N; i++) {
    assert.ok(push.trySend("x"), "inproc with no high-water mark takes all");
  }
  let received = 0, receivedWhenTimerRan = -1, started = 0, late = 0;
  const timer = new Promise<void>((resolve) => {
    started = performance.now();
    setTimeout(() => {
      late = performance.now() - started;
      receivedWhenTimerRan = received;
      resolve();
    }, 0);
  });
  for await (const _ of pull) if (++received === N) break;
  await timer;
  assert.ok(
    receivedWhenTimerRan >= 0 && receivedWhenTimerRan < N,
    `the timer ran only after the loop (at ${receivedWhenTimerRan} of ${N}, ${late.toFixed(1)} ms)`,
  );
  assert.ok(late < 50, `the timer ran ${late.toFixed(1)} ms late`);
});

Deno.test("readiness() and poll() read ZMQ_EVENTS without stranding a pending receive() (they re-arm ZMQ_FD)", async () => {
  using ctx = new Context();
  const { pull, push } = pipe(ctx);
  // Busy first: the poller parks on the main thread between event-loop turns.
  for (let i = 0; i < 100; i++) {
    await push.send(`warm ${i}`);
    await pull.receive();
  }
  for (let round = 0; round < 20; round++) {
    const pending = pull.receive();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.ok(push.trySend(`m${round}`));
    // The message reaches libzmq while this thread polls nothing.
    const until = performance.now() + 3;
    while (performance.now() < until) { /* spin */ }
    assert.deepEqual(
      pull.readiness(),
      { readable: false, writable: false },
      "the receive claims it",
    );
    assert.deepEqual(texts(await within(2000, `round ${round}'s receive`, pending)), [`m${round}`]);
  }
});
