/**
 * CURVE key files: a key pair (`public <z85>` and `secret <z85>` lines, as
 * `deno task keys` writes them), a public key file (the Z85 key alone), and
 * the broker's allow-list (one `<id> <z85>` a line; `#` comments).
 *
 * @module
 */

import type { CurveKeyPair } from "../../ffi/mod.ts";
import { checkClientId, SEQUENCER_ID } from "../protocol/ids.ts";

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
