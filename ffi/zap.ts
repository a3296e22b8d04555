/**
 * `ZapAuthenticator`: a ZAP handler (ZeroMQ RFC 27) for the sockets of one
 * context, in the spirit of pyzmq's `zmq.auth`: allow and deny lists of peer
 * addresses, a domain filter, and the NULL, PLAIN and CURVE mechanisms, with
 * a User-Id and metadata per client that the server reads as message
 * properties.
 *
 * @module
 */

import type { SocketType } from "./constants.ts";
import { z85Decode, z85Encode } from "./curve.ts";
import { isClosed } from "./error.ts";
import type { Socket } from "./socket.ts";

/** The endpoint libzmq sends a context's ZAP requests to (RFC 27). */
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/** What a CURVE client on the allow-list is given once let in. */
export interface ZapCurveClient {
  /** The connection's `User-Id` property; the client's public key (Z85) by default. */
  userId?: string;
  /**
   * Properties of the connection, e.g. `{ "X-Role": "admin" }`: sent as ZAP
   * metadata, they show as message properties (see `Socket.readProperties`).
   * Names are 1 to 255 letters, digits or `-_.+`; values are text or bytes.
   */
  metadata?: Readonly<Record<string, string | Uint8Array>>;
}

/** Why a handshake was refused. */
export type ZapDenialReason =
  /** A malformed request, or one of another ZAP version. */
  | "request"
  /** The peer's address is denied, or not on the allow list. */
  | "address"
  /** The socket's ZAP domain is not one the authenticator serves. */
  | "domain"
  /** The mechanism is not allowed (e.g. NULL with `allowNull: false`). */
  | "mechanism"
  /** An unknown user, a wrong password or a public key not on the list. */
  | "credentials";

/** One refused handshake, as `onDenied` is told of it. */
export interface ZapDenial {
  /** Why, as a code. */
  reason: ZapDenialReason;
  /** Why, as a line for a log, e.g. `Refused a CURVE handshake from 127.0.0.1: key ... is not allowed`. */
  message: string;
  /** The ZAP status code sent: 400, or 500 for a malformed request. */
  statusCode: number;
  /** The socket's ZAP domain. */
  domain: string;
  /** The peer's IP address ("" if it has none, e.g. over IPC). */
  address: string;
  /** `"NULL"`, `"PLAIN"`, `"CURVE"` or another mechanism's name. */
  mechanism: string;
  /** The PLAIN user name or the CURVE public key (Z85); "" for NULL. */
  identity: string;
}

/** Handshakes answered so far: a snapshot. */
export interface ZapStats {
  /** Handshakes let in (status 200). */
  readonly allowed: number;
  /** Handshakes refused. */
  readonly denied: number;
}

/**
 * The policy of a {@link ZapAuthenticator}. It is copied when the
 * authenticator is made: changing the lists later changes nothing.
 */
export interface ZapAuthenticatorOptions {
  /** Peer IP addresses to let in; if set, no other address passes. */
  allow?: readonly string[];
  /** Peer IP addresses to refuse; an address on both lists is refused. */
  deny?: readonly string[];
  /** The ZAP domains (socket option `ZAP_DOMAIN`) served; other domains are refused. All by default. */
  domain?: string | readonly string[];
  /**
   * Let in NULL-mechanism peers (whose address and domain pass); true by
   * default. libzmq asks about NULL peers only on sockets with a `ZAP_DOMAIN`.
   */
  allowNull?: boolean;
  /** PLAIN users and their passwords; the user name becomes the `User-Id`. Without it PLAIN is refused. */
  plain?: ReadonlyMap<string, string>;
  /**
   * CURVE clients let in: `"any"` for every key (encryption without
   * authentication), a list of public keys (Z85), or a map from public key
   * to its `User-Id` or to a {@link ZapCurveClient}. The `User-Id` is the
   * public key unless the map names one. Without it CURVE is refused.
   */
  curve?: "any" | readonly string[] | ReadonlyMap<string, string | ZapCurveClient>;
  /**
   * Called for each refused handshake, before the refusal is sent. If it
   * throws, the error is reported as uncaught (`reportError`) and the
   * authenticator goes on answering.
   */
  onDenied?: (denial: ZapDenial) => void;
}

/** A socket factory: a `Context`, or anything that opens sockets in one. */
export interface ZapSocketFactory {
  /** Opens a socket of `type` in the context to authenticate for. */
  socket(type: SocketType): Socket;
}

interface CurveGrant {
  userId: string;
  metadata: Uint8Array;
}

interface Verdict {
  reply: (string | Uint8Array)[];
  denial?: ZapDenial;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NO_METADATA = new Uint8Array(0);
const METADATA_NAME = /^[A-Za-z0-9\-_.+]{1,255}$/;
/** Properties libzmq sets itself, or checks: not for a ZAP handler to give. */
const RESERVED = new Set(["user-id", "socket-type", "identity", "routing-id", "peer-address"]);

/**
 * Answers the ZAP requests of one context's sockets (RFC 27): libzmq asks it
 * about every handshake of a PLAIN or CURVE server socket, and of a NULL
 * socket with a `ZAP_DOMAIN`, and the handshake goes on only if it answers
 * 200. It must be made before the sockets it guards bind or connect.
 *
 * Requests are served on the event loop until `close()`. Once it is closed,
 * libzmq 4.3 lets handshakes through unauthenticated (unless the sockets
 * set the draft option `ZAP_ENFORCE_DOMAIN`), so close it after them.
 *
 * @example
 * ```ts ignore
 * using ctx = new Context();
 * using auth = new ZapAuthenticator(ctx, {
 *   deny: ["192.0.2.7"],
 *   curve: new Map([[client.publicKey, { userId: "alice", metadata: { "X-Role": "admin" } }]]),
 *   onDenied: (denial) => console.warn(denial.message),
 * });
 * using server = ctx.socket("ROUTER");
 * server.setOption("CURVE_SERVER", true);
 * server.setOption("CURVE_SECRETKEY", serverKeys.secretKey);
 * server.readProperties(["User-Id", "X-Role"]);
 * server.bind("tcp://127.0.0.1:5555");
 * const message = await server.receive();
 * console.log(messageProperties(message)); // { "User-Id": "alice", "X-Role": "admin" }
 * ```
 */
export class ZapAuthenticator {
  #socket: Socket;
  #done: Promise<void>;
  #allowed = 0;
  #denied = 0;
  #allow: ReadonlySet<string> | null;
  #deny: ReadonlySet<string>;
  #domains: ReadonlySet<string> | null;
  #allowNull: boolean;
  #plain: ReadonlyMap<string, Uint8Array> | null;
  #curve: "any" | ReadonlyMap<string, CurveGrant> | null;
  #onDenied: ((denial: ZapDenial) => void) | undefined;

  /**
   * Binds `inproc://zeromq.zap.01` in the context and starts answering.
   *
   * @param context The context whose sockets to authenticate (or a factory of its sockets).
   * @param options The policy; with none, NULL peers pass and PLAIN and CURVE are refused.
   * @throws {RangeError} for a CURVE key that is not 40 characters of Z85, or bad metadata.
   * @throws {ZmqError} `"EADDRINUSE"` if the context has an authenticator already.
   */
  constructor(context: ZapSocketFactory, options: ZapAuthenticatorOptions = {}) {
    this.#allow = options.allow === undefined ? null : new Set(options.allow.map(canonicalAddress));
    this.#deny = new Set((options.deny ?? []).map(canonicalAddress));
    const domain = options.domain;
    this.#domains = domain === undefined
      ? null
      : new Set(typeof domain === "string" ? [domain] : domain);
    this.#allowNull = options.allowNull ?? true;
    this.#plain = options.plain === undefined ? null : new Map(
      [...options.plain].map(([user, password]) => [user, encoder.encode(password)]),
    );
    this.#curve = options.curve === "any" ? "any" : curveGrants(options.curve);
    this.#onDenied = options.onDenied;
    const socket = context.socket("REP");
    try {
      socket.bind(ZAP_ENDPOINT);
    } catch (error) {
      socket.close();
      throw error;
    }
    this.#socket = socket;
    this.#done = this.#serve();
  }

  /** Handshakes let in and refused so far: a frozen snapshot. */
  get stats(): ZapStats {
    return Object.freeze({ allowed: this.#allowed, denied: this.#denied });
  }

  /** Settles once the authenticator has stopped (after `close()`). */
  get done(): Promise<void> {
    return this.#done;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#socket.closed;
  }

  async #serve(): Promise<void> {
    try {
      for await (const request of this.#socket) {
        const verdict = this.#judge(request);
        if (verdict.denial === undefined) this.#allowed++;
        else {
          this.#denied++;
          try {
            this.#onDenied?.(verdict.denial);
          } catch (error) {
            reportError(error);
          }
        }
        await this.#socket.send(verdict.reply);
      }
    } catch (error) {
      if (!isClosed(error)) throw error;
    }
  }

  /** The reply to one request, and why it was refused if it was. */
  #judge(request: Uint8Array[]): Verdict {
    // [version, request id, domain, address, routing id, mechanism, credentials...]
    const [version, id = "", domainFrame, addressFrame, , mechanismFrame, ...credentials] = request;
    const text = (frame: Uint8Array | undefined) => frame ? decoder.decode(frame) : "";
    const domain = text(domainFrame);
    const address = text(addressFrame);
    const mechanism = text(mechanismFrame);
    const from = `Refused a ${mechanism || "ZAP"} handshake from ${address || "?"}`;
    const deny = (reason: ZapDenialReason, why: string, identity = "", statusCode = 400) => ({
      reply: ["1.0", id, String(statusCode), why, "", NO_METADATA],
      denial: {
        reason,
        message: `${from}: ${why}`,
        statusCode,
        domain,
        address,
        mechanism,
        identity,
      },
    });
    if (mechanismFrame === undefined || text(version) !== "1.0") {
      return deny("request", `not a ZAP 1.0 request (version "${text(version)}")`, "", 500);
    }
    const peer = canonicalAddress(address);
    if (this.#deny.has(peer)) return deny("address", "the address is denied");
    if (this.#allow !== null && !this.#allow.has(peer)) {
      return deny("address", "the address is not on the allow list");
    }
    if (this.#domains !== null && !this.#domains.has(domain)) {
      return deny("domain", `domain "${domain}" is not served`);
    }
    const allow = (userId: string, metadata: Uint8Array = NO_METADATA): Verdict => ({
      reply: ["1.0", id, "200", "OK", userId, metadata],
    });
    switch (mechanism) {
      case "NULL":
        return this.#allowNull ? allow("") : deny("mechanism", "NULL is not allowed");
      case "PLAIN": {
        if (this.#plain === null) return deny("mechanism", "PLAIN is not allowed");
        const [userFrame, password] = credentials;
        const user = text(userFrame);
        const expected = this.#plain.get(user);
        if (expected === undefined) return deny("credentials", `unknown user "${user}"`, user);
        if (password === undefined || !sameBytes(expected, password)) {
          return deny("credentials", `wrong password for user "${user}"`, user);
        }
        return allow(user);
      }
      case "CURVE": {
        if (this.#curve === null) return deny("mechanism", "CURVE is not allowed");
        const [key] = credentials;
        const publicKey = key !== undefined && key.byteLength === 32 ? z85Encode(key) : "";
        if (this.#curve === "any" && publicKey !== "") return allow(publicKey);
        const grant = this.#curve === "any" ? undefined : this.#curve.get(publicKey);
        if (grant === undefined) {
          return deny("credentials", `key ${publicKey || "(none)"} is not allowed`, publicKey);
        }
        return allow(grant.userId, grant.metadata);
      }
      default:
        return deny("mechanism", `${mechanism} is not supported`);
    }
  }

  /**
   * Stops answering and unbinds. Idempotent. Handshakes after it go
   * unauthenticated (see the class's note), so close the guarded sockets first.
   */
  close(): void {
    this.#socket.close();
  }

  /** Stops answering (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Stops answering and waits for the serving loop to end (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#done;
  }
}

/** The CURVE allow-list as user ids and encoded metadata by canonical Z85 key. */
function curveGrants(
  curve: readonly string[] | ReadonlyMap<string, string | ZapCurveClient> | undefined,
): ReadonlyMap<string, CurveGrant> | null {
  if (curve === undefined) return null;
  const entries: [string, string | ZapCurveClient][] = Array.isArray(curve)
    ? curve.map((key) => [key, {}])
    : [...(curve as ReadonlyMap<string, string | ZapCurveClient>)];
  const grants = new Map<string, CurveGrant>();
  for (const [key, client] of entries) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = key.length === 40 ? z85Decode(key) : undefined;
    } catch {
      bytes = undefined;
    }
    if (bytes === undefined) {
      throw new RangeError(
        `Invalid CURVE public key ${
          JSON.stringify(key.slice(0, 50))
        }: expected 40 characters of Z85`,
      );
    }
    const publicKey = z85Encode(bytes);
    const grant = typeof client === "string" ? { userId: client } : client;
    grants.set(publicKey, {
      userId: grant.userId ?? publicKey,
      metadata: grant.metadata === undefined ? NO_METADATA : encodeMetadata(grant.metadata),
    });
  }
  return grants;
}

/**
 * ZAP metadata in the ZMTP property format: per property a 1-byte name
 * length, the name, a 4-byte big-endian value length, the value.
 */
function encodeMetadata(metadata: Readonly<Record<string, string | Uint8Array>>): Uint8Array {
  const parts = Object.entries(metadata).map(([name, value]) => {
    if (!METADATA_NAME.test(name)) {
      throw new RangeError(
        `Invalid ZAP metadata name ${
          JSON.stringify(name.slice(0, 50))
        }: expected 1 to 255 letters, digits or "-_.+"`,
      );
    }
    if (RESERVED.has(name.toLowerCase())) {
      throw new RangeError(
        `Invalid ZAP metadata name "${name}": libzmq sets it itself (use userId for "User-Id")`,
      );
    }
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    const part = new Uint8Array(1 + name.length + 4 + bytes.byteLength);
    part[0] = name.length;
    part.set(encoder.encode(name), 1);
    new DataView(part.buffer).setUint32(1 + name.length, bytes.byteLength);
    part.set(bytes, 5 + name.length);
    return part;
  });
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Compares two byte strings in time that depends on their lengths only. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.byteLength ^ b.byteLength;
  for (let i = 0; i < b.byteLength; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}

/**
 * An address as the lists compare it: an IPv4 peer of an IPv6 socket
 * (`::ffff:192.0.2.7`, as libzmq reports it) as its IPv4 address, and IPv6
 * in lower case, so that no spelling slips past a deny list.
 */
function canonicalAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  const mapped = /^[0:]*:ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped === null ? lower : mapped[1]!;
}
