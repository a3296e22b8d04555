/**
 * `withDeadline()`: a wait that ends with an error naming what was awaited,
 * at a deadline or when a signal aborts.
 *
 * @module
 */

/**
 * Resolves as `promise` does, or rejects once `deadline` (a
 * `performance.now()` time) passes, with a message naming `what`, or once
 * `signal` aborts, with its reason.
 *
 * @param deadline When to give up, as a `performance.now()` time.
 * @param what What is awaited, for the message.
 * @param promise The wait.
 * @param signal Ends the wait early.
 */
export async function withDeadline<T>(
  deadline: number,
  what: string,
  promise: Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const remaining = Math.max(0, deadline - performance.now());
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`Timed out after ${Math.round(remaining)} ms waiting for ${what}`)),
          remaining,
        );
        if (signal === undefined) return;
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}
