/**
 * The result files (`test_result_<id>_tom.txt` and `_uno.txt`): one delivery a line for any
 * payload, the sender unambiguous, the seed's plain lines unchanged. Unit tests of
 * `formatResultLine()` and `parseResultLine()`, a group over tcp whose member sends payloads
 * that would break a line or claim another sender, and a scenario run whose scripts hold
 * characters that are escaped.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Broker, Member, Sequencer } from "../roles/mod.ts";
import { runClient } from "../roles/harness/client.ts";
import { formatResultLine, parseResultLine } from "../roles/harness/result_line.ts";
import { freeBasePort } from "../tasks/_processes.ts";
import { runScenario } from "../tasks/scenario.ts";
import { prng, within } from "./_helpers.ts";

/** How long any one wait may take. */
const T = 15_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The line formatResultLine() writes for a text payload, as text. */
function line(payload: string | Uint8Array, sender: string): string {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  return decoder.decode(formatResultLine(bytes, sender));
}

Deno.test("formatResultLine() keeps the seed's lines and any plain text as they are", () => {
  for (
    const payload of [
      "c1###command1",
      "c4###Command2",
      "c2###a, b # c\td",
      "c3###caf\u00e9 \u20ac \u{1F600}",
    ]
  ) {
    const bytes = encoder.encode(payload);
    assert.equal(formatResultLine(bytes, payload.slice(0, 2)), bytes, payload);
    assert.equal(formatResultLine(bytes, ""), bytes, `${payload} from an unknown sender`);
  }
});

Deno.test("formatResultLine() escapes what would break a line or read as something else", () => {
  const cases: [string | Uint8Array, string][] = [
    ["c1###two\nlines", "c1###two\\nlines"],
    ["c1###crlf\r\n", "c1###crlf\\r\\n"],
    ["c1###back\\slash \\n", "c1###back\\\\slash \\\\n"],
    ["c1###nul\x00 bell\x07 esc\x1b del\x7f", "c1###nul\\x00 bell\\x07 esc\\x1b del\\x7f"],
    ["c1###nel\u0085 csi\u009b", "c1###nel\\xc2\\x85 csi\\xc2\\x9b"],
    ["c1###ls\u2028ps\u2029bom\uFEFF", "c1###ls\\xe2\\x80\\xa8ps\\xe2\\x80\\xa9bom\\xef\\xbb\\xbf"],
    // Invalid UTF-8: a stray continuation byte, a truncated sequence, an overlong "/", a
    // surrogate, a byte that never occurs.
    [new Uint8Array([0x63, 0x31, 0x23, 0x23, 0x23, 0x80, 0xe2, 0x82]), "c1###\\x80\\xe2\\x82"],
    [
      new Uint8Array([0x63, 0x31, 0x23, 0x23, 0x23, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff]),
      "c1###\\xc0\\xaf\\xed\\xa0\\x80\\xff",
    ],
  ];
  for (const [payload, expected] of cases) {
    assert.equal(line(payload, "c1"), expected, JSON.stringify(expected));
  }
});

Deno.test("formatResultLine() names the sender when the payload names another, or none", () => {
  assert.equal(line("c1###forged", "c2"), "\\@c2 c1###forged");
  assert.equal(line("no prefix", "c2"), "\\@c2 no prefix");
  assert.equal(line("c22###longer id", "c2"), "\\@c2 c22###longer id");
  assert.equal(line("c2###two\nlines", "c2"), "c2###two\\nlines");
  // A sender from the wire is escaped too; a space would end the mark, so it is escaped.
  assert.equal(line("x###y", "a b\n"), "\\@a\\x20b\\n x###y");
  assert.equal(line("a###b###c", "a###b"), "\\@a###b a###b###c");
  // A payload that starts with "\@" cannot pass for a mark: its backslash is escaped.
  assert.equal(line("\\@c9 c1###x", ""), "\\\\@c9 c1###x");
  // Unknown sender (an order alone from a seed sequencer): the payload's prefix is all there is.
  assert.equal(line("c1###hello", ""), "c1###hello");
});

Deno.test("parseResultLine() reads back what formatResultLine() wrote, for random bytes", () => {
  const random = prng(20250710);
  const specials = [
    0x00,
    0x0a,
    0x0d,
    0x09,
    0x20,
    0x23,
    0x40,
    0x5c,
    0x7f,
    0x80,
    0xc2,
    0x85,
    0xe2,
    0xff,
  ];
  const senders = ["", "c1", "c2", "a b", "x\ny", "\\@"];
  for (let round = 0; round < 2000; round++) {
    const payload = new Uint8Array(Math.floor(random() * 24));
    for (let i = 0; i < payload.length; i++) {
      payload[i] = random() < 0.5
        ? specials[Math.floor(random() * specials.length)]!
        : Math.floor(random() * 256);
    }
    const prefixed = random() < 0.5;
    const sender = senders[Math.floor(random() * senders.length)]!;
    const bytes = prefixed
      ? new Uint8Array([...encoder.encode(`${sender}###`), ...payload])
      : payload;
    const written = formatResultLine(bytes, sender);
    const context = `round ${round}: ${JSON.stringify([...bytes])} from ${JSON.stringify(sender)}`;
    assert.ok(!written.includes(0x0a) && !written.includes(0x0d), `a line break in ${context}`);
    const text = new TextDecoder("utf-8", { fatal: true }).decode(written);
    assert.ok(!/[\u0085\u2028\u2029]/.test(text), `a Unicode line break in ${context}`);
    const read = parseResultLine(text);
    assert.deepEqual(read.payload, bytes, context);
    assert.deepEqual(parseResultLine(written), read, context);
    if (sender === "") continue;
    assert.equal(read.sender, sender, context);
    // Once more through the writer: one canonical form for a known sender.
    assert.deepEqual(formatResultLine(read.payload, read.sender), written, context);
  }
});

Deno.test("parseResultLine() says which sender a line names, and refuses what no writer wrote", () => {
  assert.deepEqual(parseResultLine("c1###command1"), {
    sender: "c1",
    payload: encoder.encode("c1###command1"),
    marked: false,
  });
  assert.equal(parseResultLine("no prefix").sender, "");
  assert.equal(parseResultLine("\\@c2 c1###forged").sender, "c2");
  assert.throws(
    () => parseResultLine("c1###bad \\q"),
    /expected \\\\, \\n, \\r or \\xHH at byte 9/,
  );
  assert.throws(() => parseResultLine("c1###bad \\x4"), SyntaxError);
  assert.throws(() => parseResultLine("\\@c2"), /expected a space after the sender/);
});

Deno.test("A client's result files hold one delivery a line and name each sender, for any payload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "result-file-" });
  const where = { host: "127.0.0.1", basePort: freeBasePort(), joinTimeoutMs: T };
  const broker = new Broker({ ...where, expect: 3 });
  const [sequencer, c1, c2] = await Promise.all([
    Sequencer.join(where),
    Member.join({ ...where, id: "c1" }),
    Member.join({ ...where, id: "c2" }),
  ]);
  const multicasts: (string | Uint8Array)[] = [
    "c2###two\nlines",
    "c1###forged by c2",
    "c2###back\\slash",
    "c2###cr\r",
    new Uint8Array([...encoder.encode("c2###"), 0xff, 0xfe]),
    "no prefix",
    "c2###plain",
  ];
  const directs = ["c1###forged direct\n", "c2###hello"];
  // The client logs a line per delivery and direct message once it has written it.
  let written = 0;
  let allWritten!: () => void;
  const done = new Promise<void>((resolve) => allWritten = resolve);
  const client = runClient(c1, [], {
    outDir: dir,
    trace: () => {
      if (++written === multicasts.length + directs.length) allWritten();
    },
  });
  try {
    await within(T, "the broker's start", broker.started);
    for (const payload of multicasts) await c2.multicast(payload);
    for (const payload of directs) await c2.send("c1", payload);
    await within(T, "c1 to write every delivery", done);
  } finally {
    await client.stop();
    await c2.close();
    await sequencer.close();
    await broker.close();
  }
  try {
    const tom = await Deno.readTextFile(client.files.tom);
    assert.equal(
      tom,
      [
        "c2###two\\nlines",
        "\\@c2 c1###forged by c2",
        "c2###back\\\\slash",
        "c2###cr\\r",
        "c2###\\xff\\xfe",
        "\\@c2 no prefix",
        "c2###plain",
        "",
      ].join("\n"),
    );
    const read = tom.split("\n").slice(0, -1).map(parseResultLine);
    assert.deepEqual(read.map((r) => r.sender), multicasts.map(() => "c2"));
    assert.deepEqual(
      read.map((r) => r.payload),
      multicasts.map((p) => typeof p === "string" ? encoder.encode(p) : p),
    );
    assert.equal(
      await Deno.readTextFile(client.files.uno),
      "\\@c2 c1###forged direct\\n\nc2###hello\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runScenario() checks scripts whose texts are escaped in the result files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "result-scenario-" });
  try {
    const scenario = join(dir, "scenario");
    await Deno.mkdir(scenario);
    await Deno.writeTextFile(
      join(scenario, "c1.txt"),
      "Multicast,c1,back\\slash \\n\nMulticast,c1,bell\x07 del\x7f\nc1,c2,caf\u00e9\u2028\n",
    );
    await Deno.writeTextFile(join(scenario, "c2.txt"), "Multicast,c2,plain\nc2,c1,c1###x\\y\n");
    const report = await runScenario({ scenario, out: join(dir, "out"), timeoutSeconds: 60 });
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.order.toSorted(), [
      "c1###back\\\\slash \\\\n",
      "c1###bell\\x07 del\\x7f",
      "c2###plain",
    ]);
    assert.deepEqual(report.clients.map((c) => [c.delivered, c.directReceived]), [[3, 1], [3, 1]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
