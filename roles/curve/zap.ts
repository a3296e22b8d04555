/**
 * The broker's ZAP handler (RFC 27), which lets in only the public keys on
 * its allow-list and names each connection's id.
 *
 * @module
 */

import { isClosed, type Socket, z85Encode } from "../../ffi/mod.ts";
import type { SocketSet } from "../socket_set.ts";

const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/**
 * The broker's ZAP handler (RFC 27): answers libzmq's authentication
 * requests, 200 for a public key on the allow-list, with the key's id as
 * the User-Id (libzmq then puts it on every message of the connection), and
 * 400 otherwise. It must be bound before the sockets that use it.
 */
export class ZapHandler {
  #socket: Socket;
  #done: Promise<void>;
  /** Handshakes let in. */
  accepted = 0;
  /** Handshakes refused. */
  refused = 0;

  /**
   * Binds the handler in the role's context and starts answering.
   *
   * @param sockets The broker's sockets (the handler must share its context).
   * @param allowed Public keys (Z85) to let in.
   * @param log Called with a line for each refusal.
   */
  constructor(
    sockets: SocketSet,
    allowed: ReadonlyMap<string, string>,
    log: (line: string) => void,
  ) {
    this.#socket = sockets.socket("REP", false);
    this.#socket.bind(ZAP_ENDPOINT);
    this.#done = this.#serve(allowed, log);
  }

  async #serve(allowed: ReadonlyMap<string, string>, log: (line: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const request of this.#socket) {
        // [version, request id, domain, address, routing id, mechanism, credentials...]
        const [version, id, , address, , mechanism, key] = request;
        const publicKey = key !== undefined && key.byteLength === 32 ? z85Encode(key) : "";
        const userId = allowed.get(publicKey);
        const ok = mechanism !== undefined && decoder.decode(mechanism) === "CURVE" &&
          userId !== undefined;
        if (ok) this.accepted++;
        else {
          this.refused++;
          log(
            `Refused a CURVE handshake from ${address ? decoder.decode(address) : "?"}: key ${
              publicKey || "(none)"
            } is not allowed`,
          );
        }
        await this.#socket.send([
          version ?? "1.0",
          id ?? "",
          ok ? "200" : "400",
          ok ? "OK" : "Not on the allow-list",
          ok ? userId : "",
          "",
        ]);
      }
    } catch (error) {
      if (!isClosed(error)) throw error;
    }
  }

  /** Settles when the handler's socket has closed. */
  get done(): Promise<void> {
    return this.#done;
  }
}
