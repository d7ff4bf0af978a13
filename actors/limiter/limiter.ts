/**
 * One limiter for all model calls of a system (or of one provider): at most `maxConcurrent`
 * calls at once, `requestsPerMinute` starts and `tokensPerMinute` tokens in any sliding
 * minute. Callers wait in a fair queue (start-time fair queueing between callers' keys:
 * a key's n-th waiting call goes after every other key's (n-1)-th; FIFO within a key), which
 * is the backpressure; failed calls are retried per the retry policy, and a 429
 * holds every new start until its `retry-after` has passed (at most `retry.maxRetryAfterMs`);
 * a call whose deadline comes before that fails at once with RateLimitedError.
 */
import type { CodeUnder } from '../../src/runtime/error-catalogue.js';
import { TroupeError } from '../../src/runtime/errors.js';
import { timerDelay } from '../../src/runtime/timeouts.js';
import { createRetryPolicy, type RetryOptions, type RetryPolicy } from './retry-policy.js';

export interface LimiterOptions {
  /** Default Infinity. */
  readonly maxConcurrent?: number;
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly retry?: RetryOptions;
  /** The sliding window for the per-minute limits (default 60,000 ms; shorter in tests). */
  readonly windowMs?: number;
}

export interface LimitedCall<T> {
  /** Who is calling, for fairness (an agent's name or path). Default `default`. */
  readonly key?: string;
  /** Aborts the wait in the queue, the call, and any retry wait. */
  readonly signal?: AbortSignal;
  /** Tokens counted against `tokensPerMinute` at the start (default 1). */
  readonly estimatedTokens?: number;
  /** Tokens the call really used, read from its result (replaces the estimate). */
  readonly tokensUsed?: (result: T) => number | undefined;
  /**
   * When the caller stops caring (ms since the epoch, like Date.now()). A retry that could not
   * start before it is not waited for: the call fails at once with its last error. A call that
   * could not start before it because a 429 paused the limiter (waiting or new) fails at once
   * with RateLimitedError, without being sent.
   */
  readonly deadlineAt?: number;
}

export interface AttemptInfo {
  readonly signal: AbortSignal;
  /** 0 for the first attempt. */
  readonly attempt: number;
}

export interface LimiterMetrics {
  readonly active: number;
  readonly queueDepth: number;
  /** The most calls ever running at once. */
  readonly maxActive: number;
  readonly started: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly retries: number;
  readonly rateLimited: number;
  /** Time calls waited in the queue before each attempt. */
  readonly waitMs: { readonly count: number; readonly total: number; readonly max: number };
}

export class LimiterError extends TroupeError {
  declare readonly code: CodeUnder<'LimiterError'>;

  constructor(code: CodeUnder<'LimiterError'>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Every retry failed; `cause` is the last error. */
export class RetriesExhaustedError extends LimiterError {
  constructor(
    readonly attempts: number,
    cause: unknown,
    /** True when the next retry could not have started before the caller's deadline. */
    readonly outOfTime = false,
  ) {
    const last = cause instanceof Error ? cause.message : String(cause);
    super(
      'retries-exhausted',
      outOfTime
        ? `the call failed ${attempts === 1 ? 'once' : `${attempts} times`} (last: ${last}) and the next retry would start after its deadline; give it a longer deadline or check the provider`
        : `the call failed ${attempts} times (last: ${last}); raise retry.maxRetries or check the provider`,
      { cause },
    );
  }
}

/**
 * A 429 paused the limiter past this call's deadline, so the call was not sent (or not sent
 * again); `cause` is the 429 error, `resumesAt` when calls start again (epoch ms).
 */
export class RateLimitedError extends LimiterError {
  constructor(
    readonly resumesAt: number,
    readonly deadlineAt: number,
    cause: unknown,
  ) {
    const last = cause instanceof Error ? cause.message : String(cause);
    super(
      'rate-limited',
      `the provider rate-limited this limiter (${last}) and every call waits until ${new Date(resumesAt).toISOString()}, after this call's deadline (${new Date(deadlineAt).toISOString()}), so it was not sent; give it a longer deadline, lower the limiter's requestsPerMinute or tokensPerMinute, or lower retry.maxRetryAfterMs (the longest retry-after followed)`,
      { cause },
    );
  }
}

interface Waiter {
  readonly key: string;
  /** Fair-queue round: one more than this key's previous call still counted. */
  readonly round: number;
  readonly seq: number;
  readonly tokens: number;
  readonly enqueuedAt: number;
  /** Epoch ms; Infinity when the caller gave none. */
  readonly deadlineAt: number;
  readonly admit: (permit: Permit) => void;
  readonly fail: (error: Error) => void;
  readonly abandon: () => void;
}

interface TokenEntry {
  readonly at: number;
  tokens: number;
}

interface Permit {
  release(tokensUsed?: number): void;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!(resolved === Number.POSITIVE_INFINITY || (Number.isInteger(resolved) && resolved >= 1))) {
    throw new LimiterError('invalid-limiter', `limiter ${name} must be a whole number ≥ 1 or Infinity, got ${String(value)}`);
  }
  return resolved;
}

export class Limiter {
  readonly maxConcurrent: number;
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
  private readonly windowMs: number;
  private readonly policy: RetryPolicy;
  /** Waiting calls ordered by (round, arrival). */
  private readonly queue: Waiter[] = [];
  /** The round each key's next call gets (at least the current round). */
  private readonly nextRound = new Map<string, number>();
  private round = 0;
  private seq = 0;
  private active = 0;
  private readonly starts: number[] = [];
  private readonly tokens: TokenEntry[] = [];
  private pausedUntil = 0;
  /** The 429 that set `pausedUntil`. */
  private pauseCause: unknown;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = 0;
  private readonly counts = { maxActive: 0, started: 0, succeeded: 0, failed: 0, retries: 0, rateLimited: 0, waitCount: 0, waitTotal: 0, waitMax: 0 };

  constructor(options: LimiterOptions = {}) {
    this.maxConcurrent = positive('maxConcurrent', options.maxConcurrent, Number.POSITIVE_INFINITY);
    this.requestsPerMinute = positive('requestsPerMinute', options.requestsPerMinute, Number.POSITIVE_INFINITY);
    this.tokensPerMinute = positive('tokensPerMinute', options.tokensPerMinute, Number.POSITIVE_INFINITY);
    this.windowMs = positive('windowMs', options.windowMs, 60_000);
    try {
      this.policy = createRetryPolicy(options.retry);
    } catch (error) {
      throw new LimiterError('invalid-limiter', (error as Error).message);
    }
  }

  get metrics(): LimiterMetrics {
    const c = this.counts;
    return {
      active: this.active,
      queueDepth: this.queue.length,
      maxActive: c.maxActive,
      started: c.started,
      succeeded: c.succeeded,
      failed: c.failed,
      retries: c.retries,
      rateLimited: c.rateLimited,
      waitMs: { count: c.waitCount, total: c.waitTotal, max: c.waitMax },
    };
  }

  /** Runs `task` when the limits allow, retrying it per the policy; resolves or rejects with its outcome. */
  async run<T>(task: (attempt: AttemptInfo) => Promise<T>, call: LimitedCall<T> = {}): Promise<T> {
    const signal = call.signal ?? new AbortController().signal;
    const estimate = Math.max(0, Math.ceil(call.estimatedTokens ?? 1));
    const deadlineAt = call.deadlineAt ?? Number.POSITIVE_INFINITY;
    for (let attempt = 0; ; attempt++) {
      const acquired = this.acquire(call.key ?? 'default', estimate, signal, deadlineAt);
      const permit = acquired instanceof Promise ? await acquired : acquired;
      let result: T;
      try {
        result = await task({ signal, attempt });
      } catch (error) {
        if (signal.aborted) {
          permit.release();
          throw signal.reason;
        }
        // What this error is, whatever retries are left: a 429 pauses every caller, also when
        // this one gives up, and before its slot is given back (the next call would start into it).
        const kind = this.policy.decide(error, 1);
        if (kind.retry && kind.rateLimited) this.pause(kind.afterMs, error);
        permit.release();
        const decision = this.policy.decide(error, attempt + 1);
        // Waiting past the caller's deadline only to be aborted would hide the real cause.
        const tooLate = decision.retry && Date.now() + decision.afterMs >= deadlineAt;
        if (!decision.retry || tooLate) {
          this.counts.failed++;
          if (kind.retry) throw new RetriesExhaustedError(attempt + 1, error, tooLate);
          throw error;
        }
        this.counts.retries++;
        await sleep(decision.afterMs, signal);
        continue;
      }
      // The slot is given back whatever the result looks like (a throwing tokensUsed must not keep it).
      let used: number | undefined;
      try {
        used = call.tokensUsed?.(result);
      } finally {
        permit.release(used);
      }
      this.counts.succeeded++;
      return result;
    }
  }

  /** Holds every start for `ms` (unless a pause already lasts longer); waiting calls it outlasts fail now. */
  private pause(ms: number, cause: unknown): void {
    this.counts.rateLimited++;
    const until = Date.now() + ms;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.pauseCause = cause;
    const outlasted = this.queue.filter((waiter) => waiter.deadlineAt <= until);
    for (const waiter of outlasted) {
      this.withdraw(waiter);
      waiter.fail(this.pausedPast(waiter.deadlineAt));
    }
    if (outlasted.length > 0) this.pump();
  }

  /** The error of a call whose deadline comes before the pause ends (counted as failed). */
  private pausedPast(deadlineAt: number): RateLimitedError {
    this.counts.failed++;
    return new RateLimitedError(this.pausedUntil, deadlineAt, this.pauseCause);
  }

  /** A permit now when nobody waits and the limits allow it (no promise, no abort listener to undo); else one in fair order. */
  private acquire(key: string, tokens: number, signal: AbortSignal, deadlineAt: number): Permit | Promise<Permit> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (deadlineAt <= this.pausedUntil && this.pausedUntil > Date.now()) return Promise.reject(this.pausedPast(deadlineAt));
    if (this.queue.length === 0 && this.active < this.maxConcurrent) {
      const now = Date.now();
      if (this.readyAt(tokens, now) <= now) {
        const round = Math.max(this.round, this.nextRound.get(key) ?? 0);
        this.nextRound.set(key, round + 1);
        this.advanceRound(round);
        return this.grant(tokens, 0, now);
      }
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.remove(waiter);
        reject(signal.reason);
      };
      const round = Math.max(this.round, this.nextRound.get(key) ?? 0);
      this.nextRound.set(key, round + 1);
      const waiter: Waiter = {
        key,
        round,
        seq: this.seq++,
        tokens,
        enqueuedAt: performance.now(),
        deadlineAt,
        admit: (permit) => {
          signal.removeEventListener('abort', onAbort);
          resolve(permit);
        },
        fail: reject,
        abandon: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.enqueue(waiter);
      this.pump();
    });
  }

  private enqueue(waiter: Waiter): void {
    let at = this.queue.length;
    while (at > 0 && this.before(waiter, this.queue[at - 1] as Waiter)) at--;
    this.queue.splice(at, 0, waiter);
  }

  private before(a: Waiter, b: Waiter): boolean {
    return a.round < b.round || (a.round === b.round && a.seq < b.seq);
  }

  private remove(waiter: Waiter): void {
    if (!this.queue.includes(waiter)) return;
    this.withdraw(waiter);
    // pump() below stops the window timer once the queue is empty: left armed, it would keep the process alive for nothing.
    this.pump(); // a waiter that blocked the token budget may have left room for others
  }

  /** Takes a waiter out of the queue, as if it had never asked. */
  private withdraw(waiter: Waiter): void {
    this.queue.splice(this.queue.indexOf(waiter), 1);
    waiter.abandon();
    // A call that never ran must not push its key's next call back a round.
    if (this.nextRound.get(waiter.key) === waiter.round + 1) this.nextRound.set(waiter.key, waiter.round);
  }

  private stopTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Admits waiters in fair order while the limits allow; else arms a timer for when they will. */
  private pump(): void {
    while (this.queue.length > 0 && this.active < this.maxConcurrent) {
      const waiter = this.queue[0] as Waiter;
      const now = Date.now();
      const readyAt = this.readyAt(waiter.tokens, now);
      if (readyAt > now) {
        this.wakeAt(readyAt);
        return;
      }
      this.queue.shift();
      this.advanceRound(waiter.round);
      this.admit(waiter, now);
    }
    if (this.queue.length === 0) this.stopTimer(); // nobody left to wake
  }

  private advanceRound(round: number): void {
    if (round <= this.round) return;
    this.round = round;
    // Keys idle for a round start level with everyone again.
    if (this.nextRound.size > 1_024) for (const [key, next] of this.nextRound) if (next <= round) this.nextRound.delete(key);
  }

  /** The earliest time a call of `tokens` may start, given the windows and any 429 pause. */
  private readyAt(tokens: number, now: number): number {
    const since = now - this.windowMs;
    while (this.starts.length > 0 && (this.starts[0] as number) <= since) this.starts.shift();
    while (this.tokens.length > 0 && (this.tokens[0] as TokenEntry).at <= since) this.tokens.shift();
    let ready = Math.max(now, this.pausedUntil);
    if (this.starts.length >= this.requestsPerMinute) ready = Math.max(ready, (this.starts[this.starts.length - this.requestsPerMinute] as number) + this.windowMs);
    if (this.tokensPerMinute !== Number.POSITIVE_INFINITY) {
      let used = this.tokens.reduce((sum, entry) => sum + entry.tokens, 0);
      // A call bigger than the whole budget runs alone once the window is empty, rather than never.
      for (const entry of this.tokens) {
        if (used + tokens <= this.tokensPerMinute) break;
        used -= entry.tokens;
        ready = Math.max(ready, entry.at + this.windowMs);
      }
    }
    return ready;
  }

  private admit(waiter: Waiter, now: number): void {
    waiter.admit(this.grant(waiter.tokens, performance.now() - waiter.enqueuedAt, now));
  }

  private grant(tokens: number, waited: number, now: number): Permit {
    const c = this.counts;
    c.waitCount++;
    c.waitTotal += waited;
    c.waitMax = Math.max(c.waitMax, waited);
    c.started++;
    this.active++;
    c.maxActive = Math.max(c.maxActive, this.active);
    // Only finite limits need the window's history (unlimited, it would grow with every call).
    if (this.requestsPerMinute !== Number.POSITIVE_INFINITY) this.starts.push(now);
    const entry: TokenEntry = { at: now, tokens };
    if (this.tokensPerMinute !== Number.POSITIVE_INFINITY) this.tokens.push(entry);
    let released = false;
    return {
      release: (tokensUsed) => {
        if (released) return;
        released = true;
        this.active--;
        if (tokensUsed !== undefined && Number.isFinite(tokensUsed) && tokensUsed >= 0) entry.tokens = tokensUsed;
        this.pump();
      },
    };
  }

  private wakeAt(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      timerDelay(at - Date.now()),
    );
  }
}

export function createLimiter(options: LimiterOptions = {}): Limiter {
  return new Limiter(options);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, timerDelay(ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
