import assert from "node:assert/strict";
import { allocBytes, encodeText } from "../ffi/mod.ts";
import { prng } from "./_helpers.ts";

Deno.test("allocBytes() gives zeroed arrays of the size asked that never share bytes", () => {
  const arrays: Uint8Array[] = [];
  // Past several 64 KiB slabs, with sizes around the slab limit too.
  for (let size = 0; size < 3000; size += 7) arrays.push(allocBytes(size));
  for (const size of [4095, 4096, 4097, 70_000]) arrays.push(allocBytes(size));
  for (const [i, bytes] of arrays.entries()) {
    assert.ok(bytes.every((b) => b === 0), `array ${i} is not zeroed`);
    bytes.fill(i % 251 + 1);
  }
  for (const [i, bytes] of arrays.entries()) {
    assert.ok(bytes.every((b) => b === i % 251 + 1), `array ${i} was overwritten by another`);
    assert.equal(bytes.byteOffset % 8, 0, `array ${i} is not 8-byte aligned`);
  }
  assert.deepEqual(arrays.slice(-4).map((b) => b.byteLength), [4095, 4096, 4097, 70_000]);
});

Deno.test("encodeText() encodes exactly as TextEncoder: ASCII, accents, emoji, lone surrogates, long text", () => {
  const encoder = new TextEncoder();
  const random = prng(7);
  const samples = [
    "",
    "c1###hello",
    "é",
    "ascii then é then 😀",
    "😀".repeat(700),
    "\ud800 lone high, lone low \udc00",
    "x".repeat(1365),
    "x".repeat(1366),
    "日本語".repeat(2000),
  ];
  for (let i = 0; i < 200; i++) {
    const codes = Array.from({ length: Math.floor(random() * 40) }, () => {
      const r = random();
      return r < 0.6 ? 32 + Math.floor(random() * 95) : Math.floor(random() * 0x10000);
    });
    samples.push(String.fromCharCode(...codes));
  }
  for (const text of samples) {
    assert.deepEqual(encodeText(text), encoder.encode(text), JSON.stringify(text.slice(0, 40)));
  }
});
