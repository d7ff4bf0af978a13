/**
 * The time limits shared across Troupe, defined once: the longest delay a timer can hold and
 * the default time a request waits for its answer.
 */

/** The longest delay setTimeout takes (2^31 - 1 ms, 24.8 days): Node fires a longer one after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long a request waits for its answer when it names no `timeoutMs`: `system.request`, `ask` from an agent, `subscribe`, the inspector's `send`. */
export const DEFAULT_ASK_TIMEOUT_MS = 5_000;

/** `ms` as a delay one timer can hold: at least 0, at most MAX_TIMER_MS (a longer wait is checked again when it fires). */
export function timerDelay(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

/** True for a time limit one timer can hold: a number of ms > 0 and ≤ MAX_TIMER_MS. */
export function isTimerDelay(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && value <= MAX_TIMER_MS;
}
