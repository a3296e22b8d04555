/**
 * Statistics shared by the benchmarks.
 *
 * @module
 */

/**
 * The median of some numbers.
 *
 * @param values At least one number.
 * @returns The middle value (the mean of the two middle ones for an even count).
 * @throws {RangeError} For no numbers.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("Cannot take the median of no numbers");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
