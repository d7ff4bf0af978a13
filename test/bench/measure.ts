/** Timing, statistics and garbage-collection helpers shared by every scenario. */

/** Monotonic wall-clock time in milliseconds, with sub-millisecond resolution. */
export function now(): number {
  return performance.now();
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Messages per second for `count` messages handled in `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  return (count * 1_000) / ms;
}

type GcFunction = () => void;

function gcFunction(): GcFunction | undefined {
  const candidate = (globalThis as { gc?: unknown }).gc;
  return typeof candidate === 'function' ? (candidate as GcFunction) : undefined;
}

/** True when the process runs with --expose-gc, which heap measurements need to be exact. */
export function canCollectGarbage(): boolean {
  return gcFunction() !== undefined;
}

/**
 * Collects garbage until the heap stops shrinking. One full GC can leave weak references and
 * finalizers for the next, so a few passes (with a macrotask between them, for FinalizationRegistry
 * and setImmediate clean-ups) give a stable baseline. Without --expose-gc it only yields.
 */
export async function settleHeap(): Promise<void> {
  const gc = gcFunction();
  for (let pass = 0; pass < 4; pass++) {
    gc?.();
    await nextMacrotask();
  }
}

/** Bytes of JS heap in use right now. */
export function heapUsed(): number {
  return process.memoryUsage().heapUsed;
}

/** Resolves after pending I/O and setImmediate callbacks have had a turn. */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with a clear message when `promise` does not settle within `ms` (a hung scenario). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
