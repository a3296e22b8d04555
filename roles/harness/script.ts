/**
 * The client command scripts of the seed assignment: one command a line.
 *
 * - `Multicast,<me>,<text>` multicasts `<text>` to the group (the command word in any case).
 * - `<me>,<to>,<text>` sends `<text>` directly to client `<to>`.
 * - `sleep,<seconds>` waits, `<seconds>` being a non-negative decimal number such as `3` or `0.5`.
 *
 * Everything after the second comma is the text, commas and `#` included, exactly as written
 * up to the end of the line. Blank lines and lines that start with `#` are skipped, a trailing
 * `\r` is ignored, whitespace around the whole line and around the command word, the sender and
 * the recipient is dropped. A client may send a direct message to itself: the broker routes it
 * back like any other. Client ids cannot be `multicast` or `sleep` (in any case).
 *
 * The whole script is parsed before anything is sent, so a mistake on any line stops the
 * client before its first message, with a {@linkcode ScriptError} naming the file and the line.
 * That includes a message too large to send: the payload a line sends, `<me>###<text>` as UTF-8,
 * may be at most `maxPayload` bytes (the 1 MiB `DEFAULT_MAX_PAYLOAD` unless given). A sleep may
 * be as long as any finite number of seconds; the client waits it out in timer steps short
 * enough for the runtime (see `sleepFor` in `client.ts`).
 *
 * @example
 * ```ts
 * import { parseScript } from "./script.ts";
 *
 * const commands = parseScript("Multicast,c1,hello\nsleep,1\nc1,c2,hi there", "c1");
 * // [{ kind: "multicast", text: "hello", line: 1 },
 * //  { kind: "sleep", seconds: 1, line: 2 },
 * //  { kind: "direct", to: "c2", text: "hi there", line: 3 }]
 * ```
 *
 * @module
 */

import { DEFAULT_MAX_PAYLOAD } from "../protocol/ids.ts";

/** Formats a scenario payload, `"<sender>###<text>"`, as the seed does. */
export function scenarioPayload(sender: string, body: string): string {
  return `${sender}###${body}`;
}

/**
 * One parsed command of a client script, with the 1-based line it came from.
 *
 * - `multicast`: send `text` to the whole group, in total order.
 * - `direct`: send `text` to the client `to` alone.
 * - `sleep`: wait `seconds` (finite, non-negative) before the next command.
 */
export type ScriptCommand =
  | { kind: "multicast"; text: string; line: number }
  | { kind: "direct"; to: string; text: string; line: number }
  | { kind: "sleep"; seconds: number; line: number };

/**
 * A script line that cannot be run. The message names the file, the line and what was
 * expected, e.g. `scenarios/seed/c3.txt:1: expected the sender to be "c3", found "3" in
 * "3,c4,command4"`.
 *
 * @example
 * ```ts
 * import { parseScript, ScriptError } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseScript("3,c4,command4", "c3", "test3.txt"), (error) => {
 *   assert.ok(error instanceof ScriptError);
 *   assert.equal(error.file, "test3.txt");
 *   assert.equal(error.line, 1);
 *   assert.equal(
 *     error.message,
 *     'test3.txt:1: expected the sender to be "c3", found "3" in "3,c4,command4"',
 *   );
 *   return true;
 * });
 * ```
 */
export class ScriptError extends Error {
  /** Always `"ScriptError"`. */
  override name = "ScriptError";
  /** The script file, as given to {@linkcode parseScript} or {@linkcode loadScript}. */
  readonly file: string;
  /** The 1-based line of the offending command. */
  readonly line: number;

  /**
   * Creates an error for one line of a script.
   *
   * @param file The script file, as it should appear in the message.
   * @param line The 1-based line number.
   * @param detail What was expected and what was found, e.g. `expected ..., found ...`.
   */
  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.file = file;
    this.line = line;
  }
}

const COMMAND_WORDS = ["multicast", "sleep"] as const;

/** A decimal number without sign or exponent: `3`, `0.5`, `.5`, `10.`. */
const SECONDS_PATTERN = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Parses a client script. Throws on the first bad line, so nothing is sent from a script that
 * is wrong anywhere.
 *
 * @param text The whole script.
 * @param me The id of the client that runs the script: the only sender it may name.
 * @param file The file name to put in error messages.
 * @param maxPayload The largest payload a line may send, in bytes: `<me>###<text>` as UTF-8,
 * exactly what the client sends (the client's `--max-payload`).
 * @returns The commands in script order, each with its 1-based line number.
 * @throws {ScriptError} A line whose sender is not `me`, an unknown command, too few fields,
 * an empty recipient or text, a payload over `maxPayload`, or a bad number of seconds.
 * @throws {TypeError} `me` is empty, contains a comma or surrounding whitespace, or is a
 * command word (`multicast`, `sleep`).
 *
 * @example
 * ```ts
 * import { parseScript } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * const script = [
 *   "# c1 greets everyone, then c2",
 *   "Multicast,c1,hello, world",
 *   "sleep,0.5",
 *   "c1,c2,just for you",
 * ].join("\n");
 * assert.deepEqual(parseScript(script, "c1", "c1.txt"), [
 *   { kind: "multicast", text: "hello, world", line: 2 },
 *   { kind: "sleep", seconds: 0.5, line: 3 },
 *   { kind: "direct", to: "c2", text: "just for you", line: 4 },
 * ]);
 * assert.throws(
 *   () => parseScript("c9,c2,hi", "c1", "c1.txt"),
 *   /^ScriptError: c1.txt:1: expected the sender to be "c1", found "c9" in "c9,c2,hi"$/,
 * );
 * // "c1###too long" is 13 bytes.
 * assert.throws(
 *   () => parseScript("sleep,1\nMulticast,c1,too long", "c1", "c1.txt", 12),
 *   /c1.txt:2: expected a payload \("c1###<text>" as UTF-8\) of at most 12 bytes, .* found 13 bytes/,
 * );
 * ```
 */
export function parseScript(
  text: string,
  me: string,
  file = "<script>",
  maxPayload = DEFAULT_MAX_PAYLOAD,
): ScriptCommand[] {
  checkClientId(me);
  const commands: ScriptCommand[] = [];
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  for (const [index, raw] of lines.entries()) {
    const command = parseLine(raw.trim(), me, file, index + 1);
    if (command === undefined) continue;
    if (command.kind !== "sleep") {
      checkPayloadSize(command.text, me, maxPayload, file, command.line);
    }
    commands.push(command);
  }
  return commands;
}

/**
 * Reads and parses a client script file.
 *
 * @param path The script file; error messages name it as given.
 * @param me The id of the client that runs the script.
 * @param maxPayload The largest payload a line may send, see {@linkcode parseScript}.
 * @returns The commands in script order.
 * @throws {Error} The file cannot be read (the message names it; the cause is Deno's error).
 * @throws {ScriptError} A line is wrong, see {@linkcode parseScript}.
 *
 * @example
 * ```ts ignore
 * import { loadScript } from "./script.ts";
 *
 * const commands = await loadScript("scenarios/seed/c1.txt", "c1");
 * ```
 */
export async function loadScript(
  path: string,
  me: string,
  maxPayload = DEFAULT_MAX_PAYLOAD,
): Promise<ScriptCommand[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot read script "${path}": ${reason}`, {
      cause: error,
    });
  }
  return parseScript(text, me, path, maxPayload);
}

/**
 * Counts the multicasts of a script: how many messages it adds to every client's totally
 * ordered delivery.
 *
 * @param commands Parsed commands, as returned by {@linkcode parseScript}.
 * @returns The number of `multicast` commands.
 *
 * @example
 * ```ts
 * import { countMulticasts, parseScript } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * const commands = parseScript("Multicast,c1,a\nc1,c2,b\nMulticast,c1,c", "c1");
 * assert.equal(countMulticasts(commands), 2);
 * ```
 */
export function countMulticasts(commands: readonly ScriptCommand[]): number {
  let count = 0;
  for (const command of commands) {
    if (command.kind === "multicast") count++;
  }
  return count;
}

/**
 * Lists the direct messages of a script, in script order: what each receiver must get.
 *
 * @param commands Parsed commands, as returned by {@linkcode parseScript}.
 * @returns One `{ to, text }` per `direct` command, repeats included.
 *
 * @example
 * ```ts
 * import { directTargets, parseScript } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * const commands = parseScript("c1,c2,b\nMulticast,c1,a\nc1,c3,c", "c1");
 * assert.deepEqual(directTargets(commands), [
 *   { to: "c2", text: "b" },
 *   { to: "c3", text: "c" },
 * ]);
 * ```
 */
export function directTargets(
  commands: readonly ScriptCommand[],
): { to: string; text: string }[] {
  const targets: { to: string; text: string }[] = [];
  for (const command of commands) {
    if (command.kind === "direct") {
      targets.push({ to: command.to, text: command.text });
    }
  }
  return targets;
}

function checkClientId(me: string): void {
  if (me === "" || me.includes(",") || me.trim() !== me) {
    throw new TypeError(
      `Invalid client id ${
        JSON.stringify(me)
      }: expected a non-empty id without commas or surrounding whitespace`,
    );
  }
  if ((COMMAND_WORDS as readonly string[]).includes(me.toLowerCase())) {
    throw new TypeError(
      `Invalid client id ${JSON.stringify(me)}: a command word cannot be a client id`,
    );
  }
}

const utf8 = new TextEncoder();

/**
 * Throws unless the payload a line sends, `<me>###<text>` as UTF-8 (see `scenarioPayload`),
 * fits in `maxPayload` bytes. The message quotes the line's start only: the line is long.
 */
function checkPayloadSize(
  text: string,
  me: string,
  maxPayload: number,
  file: string,
  lineNumber: number,
): void {
  const payload = scenarioPayload(me, text);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most lines need no encoding.
  if (payload.length * 3 <= maxPayload) return;
  const size = utf8.encode(payload).byteLength;
  if (size <= maxPayload) return;
  const start = text.length > 40 ? `${JSON.stringify(text.slice(0, 40))}...` : JSON.stringify(text);
  throw new ScriptError(
    file,
    lineNumber,
    `expected a payload ("${me}###<text>" as UTF-8) of at most ${maxPayload} bytes, ` +
      `the payload limit; found ${size} bytes, the text being ${start}`,
  );
}

/** Parses one trimmed line; `undefined` for a blank line or a comment. */
function parseLine(
  line: string,
  me: string,
  file: string,
  lineNumber: number,
): ScriptCommand | undefined {
  if (line === "" || line.startsWith("#")) return undefined;
  const quoted = JSON.stringify(line);
  const error = (detail: string) => new ScriptError(file, lineNumber, detail);
  const wrongSender = (sender: string) =>
    error(
      `expected the sender to be ${JSON.stringify(me)}, found ${
        JSON.stringify(sender)
      } in ${quoted}`,
    );
  const [first, second, text] = splitFields(line);
  const word = first.toLowerCase();

  if (word === "sleep") {
    if (second === undefined || text !== undefined) {
      throw error(`expected "sleep,<seconds>", found ${quoted}`);
    }
    const field = second.trim();
    const seconds = Number(field);
    if (!SECONDS_PATTERN.test(field) || !Number.isFinite(seconds)) {
      throw error(
        `expected a non-negative number of seconds such as "3" or "0.5", found ${
          JSON.stringify(field)
        } in ${quoted}`,
      );
    }
    return { kind: "sleep", seconds, line: lineNumber };
  }

  if (word === "multicast") {
    if (second === undefined || text === undefined) {
      throw error(`expected "Multicast,${me},<text>", found ${quoted}`);
    }
    if (second.trim() !== me) throw wrongSender(second.trim());
    if (text.trim() === "") {
      throw error(
        `expected a text after "${first},${second},", found none in ${quoted}`,
      );
    }
    return { kind: "multicast", text, line: lineNumber };
  }

  if (second === undefined || (text === undefined && first !== me)) {
    throw error(
      `expected "Multicast,${me},<text>", "${me},<to>,<text>" or "sleep,<seconds>", found ${quoted}`,
    );
  }
  if (first !== me) throw wrongSender(first);
  if (text === undefined) {
    throw error(`expected "${me},<to>,<text>", found ${quoted}`);
  }
  const to = second.trim();
  if (to === "") {
    throw error(
      `expected a recipient after "${first},", found none in ${quoted}`,
    );
  }
  if (text.trim() === "") {
    throw error(
      `expected a text after "${first},${second},", found none in ${quoted}`,
    );
  }
  return { kind: "direct", to, text, line: lineNumber };
}

/**
 * Splits a line at its first two commas: `[word, second, rest]`, where `rest` keeps any
 * further commas and is `undefined` when the line has fewer than two commas.
 */
function splitFields(
  line: string,
): [string, string | undefined, string | undefined] {
  const firstComma = line.indexOf(",");
  if (firstComma < 0) return [line.trim(), undefined, undefined];
  const word = line.slice(0, firstComma).trim();
  const secondComma = line.indexOf(",", firstComma + 1);
  if (secondComma < 0) return [word, line.slice(firstComma + 1), undefined];
  return [
    word,
    line.slice(firstComma + 1, secondComma),
    line.slice(secondComma + 1),
  ];
}
