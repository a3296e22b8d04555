/**
 * CURVE key pairs (`zmq_curve_keypair`), as Z85 text.
 *
 * @module
 */

import { decodeUntilNul } from "./_util.ts";
import { check, ZmqError } from "./error.ts";
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
