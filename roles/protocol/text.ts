/**
 * Frames as ASCII text: decoding, encoding, prefixes and decimal numbers,
 * shared by the bus and recovery grammars.
 *
 * @module
 */

import { encodeText } from "../../ffi/bytes.ts";

// A leading BOM is kept, not stripped: "\uFEFFsequencer" is not "sequencer".
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
/** Decodes a frame as text (invalid UTF-8 becomes U+FFFD; a BOM stays). */
export function text(frame: Uint8Array): string {
  return decoder.decode(frame);
}
/** Encodes text as a frame. */
export function bytes(value: string): Uint8Array {
  return encodeText(value);
}

/** The largest sequence number, 2^53 - 1. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * A sequence number in decimal text, `[1-9][0-9]*` up to {@link MAX_SEQ}
 * (or 0 as well, with `zero`); null for anything else.
 */
export function seqOf(word: string, zero = false): number | null {
  if (zero && word === "0") return 0;
  if (!/^[1-9][0-9]{0,15}$/.test(word)) return null;
  const value = Number(word);
  return value <= MAX_SEQ ? value : null;
}

/** True if `frame` begins with the bytes of `prefix`. */
export function startsWith(frame: Uint8Array, prefix: Uint8Array): boolean {
  if (frame.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (frame[i] !== prefix[i]) return false;
  return true;
}

/** `[1-9][0-9]{0,15}` from `start` to the end, at most MAX_SEQ; 0 if not. */
export function decimalAt(frame: Uint8Array, start: number): number {
  const length = frame.byteLength - start;
  if (length < 1 || length > 16 || frame[start] === 0x30) return 0;
  let value = 0;
  for (let i = start; i < frame.byteLength; i++) {
    const digit = frame[i]! - 0x30;
    if (digit < 0 || digit > 9) return 0;
    value = value * 10 + digit;
  }
  return value <= MAX_SEQ ? value : 0;
}
