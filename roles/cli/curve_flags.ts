/**
 * The CURVE flags of the roles' command lines, read into options.
 *
 * @module
 */

import type { CurveClientOptions, CurveServerOptions } from "../curve/options.ts";
import { readAllowList, readKeyPair, readPublicKey } from "../curve/key_files.ts";

/** The CURVE flags of the broker's command line. */
export const BROKER_CURVE_FLAGS = {
  "curve-key": {
    type: "string",
    value: "FILE",
    help: "CURVE mode: the broker's key file (deno task keys); needs --curve-allow",
  },
  "curve-allow": {
    type: "string",
    value: "FILE",
    help: 'CURVE mode: the allow-list, one "<id> <public key>" a line',
  },
} as const;

/** The CURVE flags of a participant's command line. */
export const CLIENT_CURVE_FLAGS = {
  "curve-key": {
    type: "string",
    value: "FILE",
    help: "CURVE mode: this participant's key file (deno task keys); needs --curve-server",
  },
  "curve-server": {
    type: "string",
    value: "FILE",
    help: "CURVE mode: the broker's public key file",
  },
} as const;

/**
 * Reads the broker's CURVE flags.
 *
 * @returns The options, or undefined when CURVE is off.
 * @throws {Error} when only one of the two flags is given, or a file is bad.
 */
export function brokerCurveFromFlags(
  values: Record<string, unknown>,
): CurveServerOptions | undefined {
  const key = values["curve-key"], allow = values["curve-allow"];
  if (key === undefined && allow === undefined) return undefined;
  if (typeof key !== "string" || typeof allow !== "string") {
    throw new Error("CURVE mode needs both --curve-key FILE and --curve-allow FILE");
  }
  return { keys: readKeyPair(key), allowed: readAllowList(allow) };
}

/**
 * Reads a participant's CURVE flags.
 *
 * @returns The options, or undefined when CURVE is off.
 * @throws {Error} when only one of the two flags is given, or a file is bad.
 */
export function clientCurveFromFlags(
  values: Record<string, unknown>,
): CurveClientOptions | undefined {
  const key = values["curve-key"], server = values["curve-server"];
  if (key === undefined && server === undefined) return undefined;
  if (typeof key !== "string" || typeof server !== "string") {
    throw new Error("CURVE mode needs both --curve-key FILE and --curve-server FILE");
  }
  return { keys: readKeyPair(key), serverKey: readPublicKey(server) };
}
