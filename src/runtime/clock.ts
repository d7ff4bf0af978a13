/**
 * The system's time: every timer the kernel sets and every clock reading it takes goes
 * through one Clock, real by default and replaceable (a virtual clock in tests; a journal's
 * recorded readings in a replay). XState's own delays (`after`) use the same clock.
 */
export interface Clock {
  /** Wall-clock time in epoch milliseconds: deadlines (`replyBy`) and event times. */
  now(): number;
  /** A monotonic reading in milliseconds, for measuring how long something took. */
  monotonic(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** A timer set through a Clock: opaque to its user. */
export type TimerHandle = { readonly __timer: unique symbol } | number;

/** Real time: Date, performance and the event loop's timers. */
export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};
