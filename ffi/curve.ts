/**
 * CURVE key pairs (`zmq_curve_keypair`, `zmq_curve_public`) and Z85 text.
 *
 * @module
 */

import { cstr, decodeUntilNul } from "./_util.ts";
import { check, ERRNO, lastError, ZmqError } from "./error.ts";
import { zmqLib } from "./lib.ts";

/** A CURVE key pair in Z85 text (40 characters each). */
export interface CurveKeyPair {
  /** The public key, to give to peers. */
  publicKey: string;
  /** The secret key, to keep. */
  secretKey: string;
}

/**
 * Generates a new CURVE key pair.
 *
 * @returns The public and secret key as Z85 text.
 * @throws {ZmqError} if libzmq was built without CURVE.
 */
export function curveKeyPair(): CurveKeyPair {
  const lib = zmqLib();
  if (lib.zmq_curve_keypair === null) {
    throw new ZmqError(
      "Cannot generate a CURVE key pair: this libzmq has no zmq_curve_keypair",
      0,
      "ENOTSUP",
    );
  }
  const publicKey = new Uint8Array(41);
  const secretKey = new Uint8Array(41);
  check(
    lib.zmq_curve_keypair(publicKey, secretKey),
    "Cannot generate a CURVE key pair",
  );
  return {
    publicKey: decodeUntilNul(publicKey),
    secretKey: decodeUntilNul(secretKey),
  };
}

/** 40 characters of the Z85 alphabet: ASCII only, so libzmq reads exactly 40 bytes. */
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/**
 * Derives the public key of a CURVE secret key (`zmq_curve_public`).
 *
 * @param secretKeyZ85 A secret key as 40 characters of Z85 text, such as
 * `curveKeyPair().secretKey`.
 * @returns The public key, as 40 characters of Z85 text.
 * @throws {RangeError} if the key is not 40 characters of Z85 text (the
 * message says how, and never shows the key).
 * @throws {ZmqError} (code `"ENOTSUP"`) if libzmq was built without CURVE.
 *
 * @example
 * ```ts ignore
 * const { publicKey, secretKey } = curveKeyPair();
 * console.log(curvePublic(secretKey) === publicKey); // true
 * ```
 */
export function curvePublic(secretKeyZ85: string): string {
  const what = "Cannot derive a CURVE public key";
  if (typeof secretKeyZ85 !== "string") {
    throw new TypeError(`${what}: expected the secret key as a string, got ${typeof secretKeyZ85}`);
  }
  if (secretKeyZ85.length !== 40) {
    throw new RangeError(`${what}: expected 40 characters of Z85 text, got ${secretKeyZ85.length}`);
  }
  // Checked here, not only by libzmq: it sizes its 32-byte buffer by
  // strlen(), which non-ASCII text would make longer than 40.
  if (!Z85_KEY.test(secretKeyZ85)) {
    throw new RangeError(`${what}: the secret key has characters outside the Z85 alphabet`);
  }
  const lib = zmqLib();
  if (lib.zmq_curve_public === null) {
    throw new ZmqError(`${what}: this libzmq has no zmq_curve_public`, 0, "ENOTSUP");
  }
  const secret = cstr(secretKeyZ85);
  const publicKey = new Uint8Array(41);
  try {
    if (lib.zmq_curve_public(publicKey, secret) !== 0) {
      if (lib.zmq_errno() === ERRNO.EINVAL) {
        // Five characters worth more than 32 bits: valid letters, not Z85.
        throw new RangeError(`${what}: the secret key is not Z85 text`);
      }
      throw lastError(what);
    }
  } finally {
    secret.fill(0);
  }
  return decodeUntilNul(publicKey);
}

/**
 * Encodes bytes as Z85 text (e.g. a 32-byte CURVE key as 40 characters).
 *
 * @param data Bytes, a multiple of 4 long.
 * @returns The Z85 text.
 * @throws {RangeError} if the length is not a multiple of 4.
 */
export function z85Encode(data: Uint8Array): string {
  if (data.byteLength % 4 !== 0) {
    throw new RangeError(`Cannot Z85-encode ${data.byteLength} bytes: expected a multiple of 4`);
  }
  const out = new Uint8Array((data.byteLength * 5) / 4 + 1);
  zmqLib().zmq_z85_encode(out, data, BigInt(data.byteLength));
  return decodeUntilNul(out);
}

/**
 * Decodes Z85 text (e.g. a 40-character CURVE key to 32 bytes).
 *
 * @param text Z85 text, a multiple of 5 characters long.
 * @returns The bytes.
 * @throws {RangeError} if the text is not valid Z85.
 */
export function z85Decode(text: string): Uint8Array {
  const out = new Uint8Array((text.length * 4) / 5);
  if (text.length % 5 !== 0 || zmqLib().zmq_z85_decode(out, cstr(text)) === null) {
    throw new RangeError(`Cannot Z85-decode ${JSON.stringify(text.slice(0, 50))}: not Z85 text`);
  }
  return out;
}
