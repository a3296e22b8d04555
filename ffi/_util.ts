/**
 * Small helpers shared by the binding: C strings and out-parameters.
 *
 * @module
 */

import { encodeText } from "./bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a string as a NUL-terminated C string. */
export function cstr(value: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(value + "\0");
}

/** Reads a NUL-terminated C string at a pointer ("" for null). */
export function readCString(pointer: Deno.PointerValue): string {
  if (pointer === null) return "";
  return new Deno.UnsafePointerView(pointer).getCString();
}

/** Encodes a frame given as a string or bytes. */
export function toBytes(frame: string | Uint8Array): Uint8Array {
  return typeof frame === "string" ? encodeText(frame) : frame;
}

/** Decodes UTF-8 bytes up to the first NUL (or the end). */
export function decodeUntilNul(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}
