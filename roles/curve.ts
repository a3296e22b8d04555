/**
 * The group's optional CURVE mode: key files, the socket settings of the
 * broker (server) and of the participants (clients), and the broker's ZAP
 * handler, which lets in only public keys on its allow-list.
 *
 * Key file (`deno task keys` writes them): two lines, `public <z85>` and
 * `secret <z85>`. Public key file: one line, the Z85 key. Allow-list: one
 * public key a line, optionally after a name (`c1 <z85>`); `#` comments.
 *
 * @module
 */

import { type CurveKeyPair, type Socket, z85Encode, ZmqError } from "../mod.ts";
import type { SocketSet } from "./_sockets.ts";
import { checkClientId, SEQUENCER_ID } from "./protocol.ts";

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

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

function readText(path: string, what: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new Error(
      `Cannot read ${what} ${JSON.stringify(path)}: ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
}

/**
 * Reads a key file (`public <z85>` and `secret <z85>` lines).
 *
 * @throws {Error} naming the file and what is missing.
 */
export function readKeyPair(path: string): CurveKeyPair {
  const fields = new Map<string, string>();
  for (const line of readText(path, "the key file").split(/\r?\n/)) {
    const [name, value] = line.trim().split(/\s+/);
    if (name !== undefined && value !== undefined) fields.set(name, value);
  }
  const publicKey = fields.get("public");
  const secretKey = fields.get("secret");
  if (
    publicKey === undefined || !Z85_KEY.test(publicKey) || secretKey === undefined ||
    !Z85_KEY.test(secretKey)
  ) {
    throw new Error(
      `Invalid key file ${path}: expected the lines "public <40 Z85 characters>" and "secret <40 Z85 characters>"`,
    );
  }
  return { publicKey, secretKey };
}

/** Formats a key pair as a key file. */
export function formatKeyPair(keys: CurveKeyPair): string {
  return `public ${keys.publicKey}\nsecret ${keys.secretKey}\n`;
}

/**
 * Reads a public key: a file with the Z85 key alone (or a key file, whose
 * public line is used).
 *
 * @throws {Error} naming the file.
 */
export function readPublicKey(path: string): string {
  const text = readText(path, "the public key file");
  const key = /(?:^|\s)([^\s]{40})(?:\s|$)/.exec(text.replace(/^public\s+/m, " "))?.[1];
  if (key === undefined || !Z85_KEY.test(key)) {
    throw new Error(`Invalid public key file ${path}: expected a 40-character Z85 key`);
  }
  return key;
}

/**
 * Reads an allow-list: one `<id> <Z85 public key>` a line, binding each
 * key to the one id it may use (a client id, or `sequencer`).
 *
 * @returns The ids by public key.
 * @throws {Error} naming the file and line of a bad entry, a key or id
 * listed twice, or a line without an id.
 */
export function readAllowList(path: string): Map<string, string> {
  const allowed = new Map<string, string>();
  const ids = new Set<string>();
  readText(path, "the allow-list").split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `Invalid allow-list ${path}:${index + 1}`;
    const [id = "", key = "", ...rest] = line.split(/\s+/);
    if (rest.length > 0 || !Z85_KEY.test(key) || !isParticipantId(id)) {
      throw new Error(
        `${where}: expected "<id> <40-character Z85 public key>", the id a client id or "${SEQUENCER_ID}": each key is bound to the one id it may use`,
      );
    }
    if (allowed.has(key)) throw new Error(`${where}: the key of "${id}" is listed before`);
    if (ids.has(id)) throw new Error(`${where}: the id "${id}" is listed before, with another key`);
    allowed.set(key, id);
    ids.add(id);
  });
  return allowed;
}

/** True for a client id or the sequencer's id. */
function isParticipantId(id: string): boolean {
  if (id === SEQUENCER_ID) return true;
  try {
    checkClientId(id);
    return true;
  } catch {
    return false;
  }
}

/** The ZAP domain the broker's sockets use. */
export const ZAP_DOMAIN = "zmq-group";
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

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
      if (!(error instanceof ZmqError && error.code === "ECLOSED")) throw error;
    }
  }

  /** Settles when the handler's socket has closed. */
  get done(): Promise<void> {
    return this.#done;
  }
}

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
    help: "CURVE mode: the public keys allowed in, one a line",
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
