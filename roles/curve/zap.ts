/**
 * The broker's ZAP handler (RFC 27), which lets in only the public keys on
 * its allow-list and names each connection's id: the binding's
 * `ZapAuthenticator` with the broker's policy.
 *
 * @module
 */

import { ZapAuthenticator } from "../../ffi/mod.ts";
import type { SocketSet } from "../socket_set.ts";
import { ZAP_DOMAIN } from "./options.ts";

/**
 * The broker's ZAP handler (RFC 27): answers libzmq's authentication
 * requests for the broker's domain, 200 for a public key on the allow-list,
 * with the key's id as the User-Id (libzmq then puts it on every message of
 * the connection), and 400 otherwise (NULL and PLAIN peers included). It
 * must be bound before the sockets that use it.
 */
export class ZapHandler {
  #auth: ZapAuthenticator;

  /**
   * Binds the handler in the role's context and starts answering.
   *
   * @param sockets The broker's sockets (the handler must share its context).
   * @param allowed Public keys (Z85) to let in, each with its id.
   * @param log Called with a line for each refusal.
   */
  constructor(
    sockets: SocketSet,
    allowed: ReadonlyMap<string, string>,
    log: (line: string) => void,
  ) {
    // Its inproc socket takes none of the role's CURVE settings; closing the set closes it.
    this.#auth = new ZapAuthenticator({ socket: (type) => sockets.socket(type, false) }, {
      domain: ZAP_DOMAIN,
      allowNull: false,
      curve: allowed,
      onDenied: (denial) => log(denial.message),
    });
  }

  /** Handshakes let in. */
  get accepted(): number {
    return this.#auth.stats.allowed;
  }

  /** Handshakes refused. */
  get refused(): number {
    return this.#auth.stats.denied;
  }

  /** Settles when the handler's socket has closed. */
  get done(): Promise<void> {
    return this.#auth.done;
  }
}
