/**
 * `sleepFor()`: a wait of any length, cut short by an `AbortSignal`: Deno
 * fires a timer set for more than 2^31 - 1 ms at once, so a long wait is
 * made of timer steps.
 *
 * @module
 */

/**
 * The longest delay one timer can wait, 2^31 - 1 ms (about 24.8 days): Deno, like browsers,
 * fires a timer set for longer at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What {@linkcode sleepFor} waits with: the system's clock and timers, or a test's. */
export interface SleepClock {
  /** Milliseconds since a fixed point. */
  now(): number;
  /** Resolves after `ms` (at most {@linkcode MAX_TIMER_MS}), or at once when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `performance.now()` and `setTimeout`, the timer cleared on abort. */
export const SYSTEM_CLOCK: SleepClock = {
  now: () => performance.now(),
  wait: waitOnTimer,
};

/** One timer of `ms`, cleared when `signal` aborts; resolves either way. */
function waitOnTimer(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}

/**
 * Waits `ms` milliseconds, however many: in timer steps of at most {@linkcode MAX_TIMER_MS},
 * each step as long as what is left by the clock. Ends early, with no timer left behind,
 * once `signal` aborts. A wait of 0 (or less, or NaN) still yields one timer turn.
 *
 * @param ms How long to wait; `Infinity` waits until `signal` aborts.
 * @param signal Cuts the wait short.
 * @param clock The clock and timers to use; the system's unless a test gives its own.
 *
 * @example
 * ```ts
 * import { sleepFor } from "./sleep.ts";
 *
 * const stopping = new AbortController();
 * const sleeping = sleepFor(25 * 24 * 3600 * 1000, stopping.signal); // 25 days: two steps
 * stopping.abort();
 * await sleeping; // at once
 * ```
 */
export async function sleepFor(
  ms: number,
  signal?: AbortSignal,
  clock: SleepClock = SYSTEM_CLOCK,
): Promise<void> {
  const total = ms > 0 ? ms : 0;
  const end = clock.now() + total;
  let left = total;
  do {
    if (signal?.aborted) return;
    await clock.wait(Math.min(left, MAX_TIMER_MS), signal);
    left = end - clock.now();
  } while (left > 0);
}
