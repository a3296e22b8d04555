/**
 * CURVE mode's options and socket settings: the broker is the CURVE
 * server, the participants its clients. See PROTOCOL.md, "CURVE mode".
 *
 * @module
 */

import type { CurveKeyPair, Socket } from "../../ffi/mod.ts";

/** The broker's side of CURVE: its key pair and the clients it lets in. */
export interface CurveServerOptions {
  /** The broker's key pair. */
  keys: CurveKeyPair;
  /**
   * Public keys (Z85) allowed to connect, each with the one id it may use:
   * the broker checks every message of its connections against it.
   */
  allowed: ReadonlyMap<string, string>;
}

/** A participant's side of CURVE: its key pair and the broker's public key. */
export interface CurveClientOptions {
  /** The participant's key pair. */
  keys: CurveKeyPair;
  /** The broker's public key (Z85). */
  serverKey: string;
}

/** The ZAP domain the broker's sockets use. */
export const ZAP_DOMAIN = "zmq-group";

/** Settings that make a socket the CURVE server (the broker's sockets). */
export function curveServer(options: CurveServerOptions): (socket: Socket) => void {
  return (socket) => {
    socket.setOption("CURVE_SERVER", true);
    socket.setOption("CURVE_SECRETKEY", options.keys.secretKey);
    socket.setOption("ZAP_DOMAIN", ZAP_DOMAIN);
  };
}

/** Settings that make a socket a CURVE client of the broker. */
export function curveClient(options: CurveClientOptions): (socket: Socket) => void {
  return (socket) => {
    socket.setOption("CURVE_SERVERKEY", options.serverKey);
    socket.setOption("CURVE_PUBLICKEY", options.keys.publicKey);
    socket.setOption("CURVE_SECRETKEY", options.keys.secretKey);
  };
}
