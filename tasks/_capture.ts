/**
 * Reading the one-line JSON reports that benchmark peers print on stdout
 * (start them with `spawn(..., captureStdout = true)` from `_processes.ts`).
 *
 * @module
 */

/**
 * The last line of `text` that parses as a JSON object, or undefined.
 *
 * @param text A child's stdout.
 * @returns The parsed object.
 */
export function lastJsonLine(text: string): Record<string, unknown> | undefined {
  const lines = text.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith("{")) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === "object" && value !== null) return value as Record<string, unknown>;
    } catch {
      // Not JSON: keep looking.
    }
  }
  return undefined;
}
