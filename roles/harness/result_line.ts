/**
 * Result-file lines: `formatResultLine()` and `parseResultLine()`.
 *
 * Each line is one payload (`<sender>###<text>` in the scenarios), ended by `\n`.
 * Plain printable text, tabs and any valid UTF-8 are written as they are, so the
 * seed's results read as before (`c1###command1`). Only the bytes that could break
 * a line, or make two payloads read the same, are escaped:
 *
 * - `\` as `\\`, newline as `\n`, carriage return as `\r`;
 * - the other C0 control bytes and DEL as `\xHH` (two lowercase hex digits);
 * - each byte of invalid UTF-8, of a C1 control (U+0080 to U+009F, NEL among them), of the
 *   Unicode line and paragraph separators U+2028 and U+2029, and of U+FEFF as `\xHH`.
 *
 * A line names its sender by its payload's prefix, the text before the first `###`. When the
 * member knows who sent a message and the payload names someone else (or no one), the line
 * says so first: `\@<sender> <payload>`, the sender escaped like the payload and a space as
 * `\x20`. An escaped payload never starts with `\@`, so the two kinds of line cannot be
 * confused. Example: c2 multicasting `c1###hi` gives the line `\@c2 c1###hi`. A delivery whose
 * sender is unknown (from a seed sequencer's order alone) is written as its payload.
 * {@linkcode formatResultLine} writes a line, {@linkcode parseResultLine} reads one back.
 *
 * @module
 */

const BACKSLASH = 0x5c;
const AT = 0x40;
const SPACE = 0x20;
const HASH = 0x23;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * Formats one line of a result file (without its `\n`): the payload escaped, and marked with
 * `\@<sender> ` when `sender` is known and the payload does not start with `<sender>###`. The
 * rules are in this module's doc. A payload that needs neither is returned as it is.
 *
 * @param payload The payload delivered or received.
 * @param sender Who sent it, "" when unknown.
 * @returns The line's bytes: printable ASCII, tabs and valid UTF-8 only, no line break; the
 * payload itself when nothing changes.
 *
 * @example
 * ```ts
 * import { formatResultLine } from "./result_line.ts";
 * import assert from "node:assert/strict";
 *
 * const line = (payload: string, sender: string) =>
 *   new TextDecoder().decode(formatResultLine(new TextEncoder().encode(payload), sender));
 * assert.equal(line("c1###command1", "c1"), "c1###command1");
 * assert.equal(line("c1###two\nlines\\", "c1"), "c1###two\\nlines\\\\");
 * assert.equal(line("c1###forged", "c2"), "\\@c2 c1###forged");
 * assert.equal(line("c1###bell\x07", ""), "c1###bell\\x07");
 * ```
 */
export function formatResultLine(payload: Uint8Array, sender: string): Uint8Array {
  const named = sender === "" || startsWithSender(payload, sender);
  if (named && isPlain(payload)) return payload;
  const senderBytes = named ? undefined : utf8.encode(sender);
  // An escape is at most 4 bytes for 1.
  const out = new Uint8Array(4 * payload.byteLength + 4 * (senderBytes?.byteLength ?? 0) + 3);
  let at = 0;
  if (senderBytes !== undefined) {
    out[at++] = BACKSLASH;
    out[at++] = AT;
    at = escapeInto(senderBytes, out, at, true);
    out[at++] = SPACE;
  }
  at = escapeInto(payload, out, at, false);
  return out.subarray(0, at);
}

/** One line of a result file, read back by {@linkcode parseResultLine}. */
export interface ResultLine {
  /** Who sent it: the `\@` mark's sender, else the payload's text before `###` ("" if none). */
  sender: string;
  /** The payload, byte for byte as delivered (it may share the line's buffer). */
  payload: Uint8Array;
  /** True if the line carried a `\@<sender> ` mark. */
  marked: boolean;
}

/**
 * Reads one result-file line (without its `\n`) back: the inverse of
 * {@linkcode formatResultLine}.
 *
 * @param line The line, as text or bytes.
 * @returns Its sender and payload.
 * @throws {SyntaxError} A `\` that starts no escape `formatResultLine` writes, or a `\@` mark
 * without the space that ends it.
 *
 * @example
 * ```ts
 * import { parseResultLine } from "./result_line.ts";
 * import assert from "node:assert/strict";
 *
 * const { sender, payload, marked } = parseResultLine("\\@c2 c1###two\\nlines");
 * assert.deepEqual([sender, new TextDecoder().decode(payload), marked], [
 *   "c2",
 *   "c1###two\nlines",
 *   true,
 * ]);
 * assert.equal(parseResultLine("c1###command1").sender, "c1");
 * ```
 */
export function parseResultLine(line: string | Uint8Array): ResultLine {
  const bytes = typeof line === "string" ? utf8.encode(line) : line;
  if (bytes[0] !== BACKSLASH || bytes[1] !== AT) {
    const payload = unescapeBytes(bytes, 0);
    return { sender: prefixSender(payload), payload, marked: false };
  }
  const space = bytes.indexOf(SPACE, 2);
  if (space < 0) {
    throw new SyntaxError(
      `Malformed result line: expected a space after the sender of its "\\@" mark, found none`,
    );
  }
  const sender = utf8Decoder.decode(unescapeBytes(bytes.subarray(2, space), 2));
  return { sender, payload: unescapeBytes(bytes.subarray(space + 1), space + 1), marked: true };
}

/** `sender###` as UTF-8, for the last few senders (a member hears from few). */
const senderPrefixes = new Map<string, Uint8Array>();

/** True if `payload` starts with `<sender>###` and a reader would find `sender` there. */
function startsWithSender(payload: Uint8Array, sender: string): boolean {
  if (sender.includes("###")) return false;
  let prefix = senderPrefixes.get(sender);
  if (prefix === undefined) {
    if (senderPrefixes.size >= 256) senderPrefixes.clear();
    prefix = utf8.encode(`${sender}###`);
    senderPrefixes.set(sender, prefix);
  }
  if (payload.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (payload[i] !== prefix[i]) return false;
  return true;
}

/** The text before the payload's first `###`, "" if it has none. */
function prefixSender(payload: Uint8Array): string {
  for (let i = 0; i + 2 < payload.byteLength; i++) {
    if (payload[i] === HASH && payload[i + 1] === HASH && payload[i + 2] === HASH) {
      return utf8Decoder.decode(payload.subarray(0, i));
    }
  }
  return "";
}

/** The escape of an ASCII byte, `undefined` if it is written as it is; `space`: a space too. */
function asciiEscape(byte: number, space: boolean): string | undefined {
  if (byte === BACKSLASH) return "\\\\";
  if (byte === 0x0a) return "\\n";
  if (byte === 0x0d) return "\\r";
  if ((byte < 0x20 && byte !== 0x09) || byte === 0x7f || (space && byte === SPACE)) {
    return hexEscape(byte);
  }
  return undefined;
}

/** `\xHH` for a byte, two lowercase hex digits. */
function hexEscape(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}

/** True if no byte of `bytes` needs an escape. */
function isPlain(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.byteLength;) {
    const byte = bytes[i]!;
    if (byte < 0x80) {
      if (asciiEscape(byte, false) !== undefined) return false;
      i++;
    } else {
      const length = keptSequenceLength(bytes, i);
      if (length === 0) return false;
      i += length;
    }
  }
  return true;
}

/** Writes `bytes` escaped into `out` from `at`; returns where it ended. */
function escapeInto(bytes: Uint8Array, out: Uint8Array, at: number, space: boolean): number {
  for (let i = 0; i < bytes.byteLength;) {
    const byte = bytes[i]!;
    if (byte < 0x80) {
      const escape = asciiEscape(byte, space);
      if (escape === undefined) out[at++] = byte;
      else at = writeAscii(escape, out, at);
      i++;
      continue;
    }
    const length = keptSequenceLength(bytes, i);
    if (length > 0) {
      out.set(bytes.subarray(i, i + length), at);
      at += length;
      i += length;
    } else {
      // A continuation byte alone is never valid: the rest of an escaped sequence follows suit.
      at = writeAscii(hexEscape(byte), out, at);
      i++;
    }
  }
  return at;
}

/** Writes an ASCII string into `out` from `at`; returns where it ended. */
function writeAscii(ascii: string, out: Uint8Array, at: number): number {
  for (let k = 0; k < ascii.length; k++) out[at++] = ascii.charCodeAt(k);
  return at;
}

/**
 * The length of the UTF-8 sequence at `bytes[i]` (a byte of 0x80 or more) if it is valid and
 * written as it is; 0 if its first byte must be escaped: invalid (truncated, overlong, a
 * surrogate, past U+10FFFF, a stray continuation byte), a C1 control, U+2028, U+2029 or U+FEFF.
 */
function keptSequenceLength(bytes: Uint8Array, i: number): number {
  const first = bytes[i]!;
  const length = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc2 ? 2 : 0;
  if (length === 0 || first > 0xf4 || i + length > bytes.byteLength) return 0;
  let codePoint = first & (0x7f >> length);
  for (let k = 1; k < length; k++) {
    const next = bytes[i + k]!;
    if ((next & 0xc0) !== 0x80) return 0;
    codePoint = (codePoint << 6) | (next & 0x3f);
  }
  const overlong = (length === 3 && codePoint < 0x800) || (length === 4 && codePoint < 0x10000);
  const surrogate = codePoint >= 0xd800 && codePoint <= 0xdfff;
  if (overlong || surrogate || codePoint > 0x10ffff) return 0;
  const escaped = codePoint <= 0x9f || codePoint === 0x2028 || codePoint === 0x2029 ||
    codePoint === 0xfeff;
  return escaped ? 0 : length;
}

/** Undoes {@linkcode escapeInto}; `offset` places `bytes` in its line, for the message. */
function unescapeBytes(bytes: Uint8Array, offset: number): Uint8Array {
  if (!bytes.includes(BACKSLASH)) return bytes;
  const out = new Uint8Array(bytes.byteLength);
  let at = 0;
  for (let i = 0; i < bytes.byteLength; i++) {
    const byte = bytes[i]!;
    if (byte !== BACKSLASH) {
      out[at++] = byte;
      continue;
    }
    const escape = String.fromCharCode(bytes[i + 1] ?? 0);
    const hex = String.fromCharCode(bytes[i + 2] ?? 0, bytes[i + 3] ?? 0);
    if (escape === "\\" || escape === "n" || escape === "r") {
      out[at++] = escape === "\\" ? BACKSLASH : escape === "n" ? 0x0a : 0x0d;
      i += 1;
    } else if (escape === "x" && /^[0-9a-f]{2}$/.test(hex)) {
      out[at++] = parseInt(hex, 16);
      i += 3;
    } else {
      throw new SyntaxError(
        `Malformed result line: expected \\\\, \\n, \\r or \\xHH at byte ${offset + i}, found ${
          JSON.stringify(utf8Decoder.decode(bytes.subarray(i, i + 4)))
        }`,
      );
    }
  }
  return out.subarray(0, at);
}
