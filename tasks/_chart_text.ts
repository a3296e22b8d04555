/**
 * Text helpers of the sequence chart (`chart.ts`): escaping for XML and HTML, shortening, and
 * counted nouns.
 *
 * @module
 */

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for XML and HTML, replacing characters XML cannot hold. */
export function xml(text: string): string {
  return text
    .toWellFormed()
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "\uFFFD")
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Shortens text to `max` characters, ending with an ellipsis when cut. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}\u2026`;
}

/** Text, with a tooltip holding the whole when it had to be shortened. */
export function textWithTitle(text: string, max: number): string {
  const shown = clip(text, max);
  return shown === text ? xml(text) : `<title>${xml(text)}</title>${xml(shown)}`;
}

/** `count` and the noun, plural unless the count is 1: `1 order`, `3 orders`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
