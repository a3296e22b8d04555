/**
 * A strict reader of Prometheus's text exposition format (version 0.0.4),
 * for the tests: it throws, naming the line, at anything the format does
 * not allow and at what this project promises beyond it (`# HELP` and
 * `# TYPE` before every family's samples, no blank lines, one space
 * between a sample's parts, counters named `*_total` with values >= 0).
 *
 * @module
 */

/** One sample as read. */
export interface ParsedSample {
  /** The sample's name (a counter's or gauge's is its family's). */
  name: string;
  /** Its labels, as written (unescaped). */
  labels: Record<string, string>;
  /** Its value. */
  value: number;
  /** Its timestamp, ms, if it had one. */
  timestamp?: number;
}

/** One family as read. */
export interface ParsedFamily {
  /** The family's name. */
  name: string;
  /** Its help, unescaped. */
  help: string;
  /** Its type. */
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  /** Its samples, in the order written. */
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
/** Go's ParseFloat as Prometheus takes it: decimal floats, NaN and the infinities. */
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]?Inf)$/;
const TIMESTAMP = /^-?\d+$/;

/** The name a histogram's or summary's sample may have, for its family. */
function belongs(sample: string, family: ParsedFamily): boolean {
  if (sample === family.name) return family.type !== "histogram";
  if (family.type === "histogram") {
    return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`].includes(sample);
  }
  if (family.type === "summary") {
    return [`${family.name}_sum`, `${family.name}_count`].includes(sample);
  }
  return false;
}

/** Reads `\\`, `\n` (and in label values `\"`) escapes; any other backslash is an error. */
function unescape(text: string, quotes: boolean, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    if (c === '"' && quotes) return '"';
    throw new Error(`${where}: invalid escape \\${c}`);
  });
}

/** Reads `{a="1",b="2"}` from `text` at `start` (just after the name). */
function readLabels(
  text: string,
  start: number,
  where: string,
): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  if (text[start] !== "{") return { labels, end: start };
  let at = start + 1;
  while (text[at] !== "}") {
    const name = /^[^=]*/.exec(text.slice(at))![0];
    if (!LABEL_NAME.test(name)) {
      throw new Error(`${where}: invalid label name ${JSON.stringify(name)}`);
    }
    if (name.startsWith("__")) throw new Error(`${where}: label name ${name} is reserved`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: label ${name} given twice`);
    at += name.length;
    if (text.slice(at, at + 2) !== '="') throw new Error(`${where}: expected ="... after ${name}`);
    at += 2;
    let end = at;
    while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
    if (end >= text.length) throw new Error(`${where}: unterminated value of label ${name}`);
    labels[name] = unescape(text.slice(at, end), true, where);
    at = end + 1;
    if (text[at] === ",") at++;
    else if (text[at] !== "}") throw new Error(`${where}: expected , or } after label ${name}`);
  }
  return { labels, end: at + 1 };
}

/** A series' identity: its name and its labels in name order. */
function seriesKey(sample: ParsedSample): string {
  const labels = Object.entries(sample.labels).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return JSON.stringify([sample.name, labels]);
}

/**
 * Reads an exposition, strictly.
 *
 * @param text The body of a `/metrics` answer.
 * @returns The families, in the order written.
 * @throws {Error} naming the line and what is wrong with it.
 */
export function parseExposition(text: string): ParsedFamily[] {
  if (!text.endsWith("\n")) throw new Error("The exposition does not end with a newline");
  const families: ParsedFamily[] = [];
  const names = new Set<string>();
  const series = new Set<string>();
  let current: ParsedFamily | undefined;
  /** HELP and TYPE of a family not yet complete (no sample may come before both). */
  let pending: { name: string; help?: string; type?: ParsedFamily["type"] } | undefined;
  const lines = text.slice(0, -1).split("\n");
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1} (${JSON.stringify(line.slice(0, 80))})`;
    if (line.trim() === "") throw new Error(`${where}: blank line`);
    if (line.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      // Other comments are allowed, and ignored.
      if (match === null) {
        if (/^#\s*(HELP|TYPE)\b/.test(line)) throw new Error(`${where}: malformed ${line}`);
        continue;
      }
      const [keyword, name, rest] = [match[1]!, match[2]!, match[3] ?? ""];
      if (!NAME.test(name)) {
        throw new Error(`${where}: invalid metric name ${JSON.stringify(name)}`);
      }
      if (names.has(name)) {
        throw new Error(
          current?.name === name
            ? `${where}: ${keyword} of ${name} after its family began`
            : `${where}: family ${name} given twice`,
        );
      }
      if (pending !== undefined && pending.name !== name) {
        throw new Error(`${where}: ${keyword} of ${name} before ${pending.name} has HELP and TYPE`);
      }
      pending ??= { name };
      if (keyword === "HELP") {
        if (pending.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        pending.help = unescape(rest, false, where);
      } else {
        if (pending.type !== undefined) throw new Error(`${where}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${JSON.stringify(rest)}`);
        pending.type = rest as ParsedFamily["type"];
      }
      if (pending.help !== undefined && pending.type !== undefined) {
        if (pending.type === "counter" && !name.endsWith("_total")) {
          throw new Error(`${where}: counter ${name} does not end in _total`);
        }
        current = { name, help: pending.help, type: pending.type, samples: [] };
        families.push(current);
        names.add(name);
        pending = undefined;
      }
      continue;
    }
    const name = /^[^{\s]*/.exec(line)![0];
    if (!NAME.test(name)) throw new Error(`${where}: invalid metric name ${JSON.stringify(name)}`);
    if (pending !== undefined) {
      throw new Error(`${where}: sample before both HELP and TYPE of ${pending.name}`);
    }
    if (current === undefined || !belongs(name, current)) {
      throw new Error(
        names.has(name)
          ? `${where}: sample of ${name} apart from its family`
          : `${where}: sample of ${name} without HELP and TYPE before it`,
      );
    }
    const { labels, end } = readLabels(line, name.length, where);
    const parts = /^ (\S+)(?: (\S+))?$/.exec(line.slice(end));
    if (parts === null) {
      throw new Error(
        `${where}: expected one space, a value and maybe a timestamp after the labels`,
      );
    }
    const [raw, stamp] = [parts[1]!, parts[2]];
    if (!VALUE.test(raw)) throw new Error(`${where}: value ${JSON.stringify(raw)} is no number`);
    if (stamp !== undefined && !TIMESTAMP.test(stamp)) {
      throw new Error(`${where}: timestamp ${JSON.stringify(stamp)} is no whole number`);
    }
    const value = raw.endsWith("Inf") ? (raw.startsWith("-") ? -Infinity : Infinity) : Number(raw);
    if (current.type === "counter" && !(value >= 0)) {
      throw new Error(`${where}: counter ${name} is ${raw}, not >= 0`);
    }
    const sample: ParsedSample = {
      name,
      labels,
      value,
      ...(stamp === undefined ? {} : { timestamp: Number(stamp) }),
    };
    const key = seriesKey(sample);
    if (series.has(key)) throw new Error(`${where}: series given twice`);
    series.add(key);
    current.samples.push(sample);
  }
  if (pending !== undefined) {
    throw new Error(`The exposition ends within the family ${pending.name}`);
  }
  return families;
}
