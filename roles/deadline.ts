/**
 * `withDeadline()`: a wait that ends with an error naming what was awaited.
 *
 * @module
 */

/**
 * Resolves as `promise` does, or rejects once `deadline` (a
 * `performance.now()` time) passes, with a message naming `what`.
 */
export async function withDeadline<T>(
  deadline: number,
  what: string,
  promise: Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const remaining = Math.max(0, deadline - performance.now());
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `Timed out after ${Math.round(remaining)} ms waiting for ${what}`,
              ),
            ),
          remaining,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
