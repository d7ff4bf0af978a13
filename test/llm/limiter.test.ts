/**
 * The shared limiter: concurrency never exceeded under a seeded hammer, fair round-robin
 * between callers, requests and tokens per minute, the 429 pause (capped, and failing at once
 * the calls whose deadline it outlasts), aborts while queued.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLimiter, LimiterError, RateLimitedError, retryAfterMs, RetriesExhaustedError, type Limiter } from '../../src/index.js';
import { prng } from '../support/prng.js';

afterEach(() => {
  vi.useRealTimers();
});

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A task the test releases by hand, recording when it started. */
function gatedTask(started: string[], name: string): { task: () => Promise<string>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    task: async () => {
      started.push(name);
      await gate;
      return name;
    },
    release: () => release(),
  };
}

describe('limiter', () => {
  it.each(Array.from({ length: 24 }, (_, seed) => seed + 1))('never runs more than maxConcurrent calls at once (hammer, seed %i)', async (seed) => {
    const random = prng(seed);
    const limit = 1 + Math.floor(random() * 6);
    const limiter = createLimiter({ maxConcurrent: limit, retry: { maxRetries: 2, baseMs: 0, maxMs: 0, jitter: 0 } });
    let running = 0;
    let most = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 150 }, (_, i) => {
        const controller = new AbortController();
        const plan = random();
        const turns = Math.floor(random() * 4);
        if (plan < 0.1) queueMicrotask(() => controller.abort(new Error(`abort ${i}`)));
        let attempts = 0;
        return limiter.run(
          async () => {
            running++;
            most = Math.max(most, running);
            try {
              for (let t = 0; t < turns; t++) await turn();
              attempts++;
              if (plan >= 0.1 && plan < 0.2) throw new Error('not retryable');
              if (plan >= 0.2 && plan < 0.3 && attempts === 1) throw Object.assign(new Error('busy'), { status: 503 });
              return i;
            } finally {
              running--;
            }
          },
          { key: `k${i % 7}`, signal: controller.signal },
        );
      }),
    );
    expect(most).toBeLessThanOrEqual(limit);
    expect(limiter.metrics.maxActive).toBe(most);
    expect(most).toBe(limit); // the limit was reached, so the check above was not vacuous
    expect(limiter.metrics).toMatchObject({ active: 0, queueDepth: 0 });
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled').length).toBe(limiter.metrics.succeeded);
  });

  it('serves callers round-robin, FIFO within each caller', async () => {
    const limiter = createLimiter({ maxConcurrent: 1 });
    const started: string[] = [];
    const tasks = ['a1', 'a2', 'a3', 'b1', 'b2', 'c1'].map((name) => ({ name, ...gatedTask(started, name) }));
    const runs = tasks.map(({ name, task }) => limiter.run(task, { key: name[0] }));
    for (const _ of tasks) {
      await turn();
      tasks.find((entry) => entry.name === started[started.length - 1])?.release();
    }
    await Promise.all(runs);
    expect(started).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
    expect(limiter.metrics.waitMs.count).toBe(6);
  });

  it('holds starts past requestsPerMinute until the window moves on', async () => {
    vi.useFakeTimers();
    const limiter = createLimiter({ requestsPerMinute: 2 });
    const started: number[] = [];
    const runs = [1, 2, 3].map((n) => limiter.run(async () => started.push(n)));
    await vi.advanceTimersByTimeAsync(59_999);
    expect(started).toEqual([1, 2]);
    expect(limiter.metrics.queueDepth).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(runs);
    expect(started).toEqual([1, 2, 3]);
  });

  it('counts tokens per minute, correcting the estimate with the tokens really used', async () => {
    vi.useFakeTimers();
    const limiter = createLimiter({ tokensPerMinute: 100 });
    const started: string[] = [];
    const first = gatedTask(started, 'first');
    const second = gatedTask(started, 'second');
    const third = gatedTask(started, 'third');
    const runs = [
      limiter.run(first.task, { estimatedTokens: 60, tokensUsed: () => 10 }),
      limiter.run(second.task, { estimatedTokens: 60 }),
      limiter.run(third.task, { estimatedTokens: 60 }),
    ];
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toEqual(['first']);
    first.release(); // used 10, not 60: 10 + 60 fits, 10 + 60 + 60 does not
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toEqual(['first', 'second']);
    second.release();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(started).toEqual(['first', 'second']);
    await vi.advanceTimersByTimeAsync(1); // the first call's 10 tokens leave the window
    expect(started).toEqual(['first', 'second', 'third']);
    third.release();
    await Promise.all(runs);
  });

  it('a 429 pauses every new start until its retry-after has passed', async () => {
    vi.useFakeTimers();
    const limiter = createLimiter({ retry: { maxRetries: 1 } });
    const started: string[] = [];
    let calls = 0;
    const limited = limiter.run(async () => {
      started.push(`limited-${++calls}`);
      if (calls === 1) throw Object.assign(new Error('slow down'), { status: 429, headers: new Headers({ 'retry-after': '2' }) });
      return 'ok';
    });
    await vi.advanceTimersByTimeAsync(0);
    const other = limiter.run(async () => started.push('other'));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(started).toEqual(['limited-1']);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([limited, other]);
    expect(started.sort()).toEqual(['limited-1', 'limited-2', 'other']);
    expect(limiter.metrics.rateLimited).toBe(1);
  });

  it('a call queued behind a 429 does not start into it: the pause is set before the 429 gives its slot back', async () => {
    vi.useFakeTimers();
    const limiter = createLimiter({ maxConcurrent: 1, retry: { maxRetries: 1 } });
    const started: string[] = [];
    let fail!: () => void;
    const limited = limiter.run(
      ({ attempt }) =>
        new Promise<string>((resolve, reject) => {
          started.push('limited');
          if (attempt === 0) fail = () => reject(Object.assign(new Error('slow down'), { status: 429, headers: new Headers({ 'retry-after-ms': '2000' }) }));
          else resolve('retried');
        }),
    );
    const queued = limiter.run(async () => started.push('queued'));
    await vi.advanceTimersByTimeAsync(0);
    expect(limiter.metrics.queueDepth).toBe(1);
    fail();
    await vi.advanceTimersByTimeAsync(1_999);
    expect(started).toEqual(['limited']);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([queued, limited]);
    // Both start once the pause has passed: the queued call and the limited one's retry.
    expect(started.sort()).toEqual(['limited', 'limited', 'queued']);
  });

  it('one 429 asking for an hour pauses a shared limiter for retry.maxRetryAfterMs at most; calls whose deadline it outlasts fail at once with its cause', async () => {
    vi.useFakeTimers();
    const limiter = createLimiter({ maxConcurrent: 1, retry: { maxRetries: 1 } });
    const hour = Object.assign(new Error('slow down for an hour'), { status: 429, headers: new Headers({ 'retry-after-ms': '3600000' }) });
    const started: string[] = [];
    let fail!: () => void;
    const limited = limiter.run(
      ({ attempt }) =>
        new Promise<string>((resolve, reject) => {
          started.push(`limited-${attempt}`);
          if (attempt === 0) fail = () => reject(hour);
          else resolve('retried');
        }),
      { key: 'a' },
    );
    // Another agent's call, queued behind it, whose deadline (30 s) comes before the pause ends (60 s).
    const short = limiter.run(async () => started.push('short'), { key: 'b', deadlineAt: Date.now() + 30_000 });
    const shortOutcome = short.catch((error: unknown) => error);
    // A third one whose deadline (120 s) the capped pause does not outlast.
    const long = limiter.run(async () => started.push('long'), { key: 'c', deadlineAt: Date.now() + 120_000 });
    await vi.advanceTimersByTimeAsync(0);
    fail();
    await vi.advanceTimersByTimeAsync(0);
    // The short call failed at once, with the 429 as its cause, and never started.
    const error = await shortOutcome;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: 'rate-limited', cause: hour, resumesAt: Date.now() + 60_000 });
    expect((error as Error).message).toMatch(/^the provider rate-limited this limiter \(slow down for an hour\) and every call waits until .*, after this call's deadline .*, so it was not sent; give it a longer deadline/);
    // A new call arriving during the pause with a deadline before its end fails at once too.
    await expect(limiter.run(async () => started.push('late'), { deadlineAt: Date.now() + 59_000 })).rejects.toBeInstanceOf(RateLimitedError);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(started).toEqual(['limited-0']);
    await vi.advanceTimersByTimeAsync(1);
    expect(await limited).toBe('retried');
    await long;
    expect(started.sort()).toEqual(['limited-0', 'limited-1', 'long']);
    expect(limiter.metrics).toMatchObject({ rateLimited: 1, failed: 2, succeeded: 2, queueDepth: 0, active: 0 });
  });

  it('follows a retry-after up to retry.maxRetryAfterMs, which must be a finite number ≥ 0', async () => {
    vi.useFakeTimers();
    const limiter = createLimiter({ retry: { maxRetries: 1, maxRetryAfterMs: 5_000 } });
    let calls = 0;
    const limited = limiter.run(async () => {
      if (++calls === 1) throw Object.assign(new Error('slow down'), { status: 429, headers: new Headers({ 'retry-after': '86400' }) });
      return 'ok';
    });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await limited).toBe('ok');
    expect(() => createLimiter({ retry: { maxRetryAfterMs: Number.POSITIVE_INFINITY } })).toThrow(/retry\.maxRetryAfterMs must be a finite number ≥ 0, got Infinity/);
    expect(() => createLimiter({ retry: { maxRetryAfterMs: -1 } })).toThrow(LimiterError);
  });

  it('gives up after maxRetries with RetriesExhaustedError, and never retries a 4xx', async () => {
    const limiter = createLimiter({ retry: { maxRetries: 2, baseMs: 0, maxMs: 0 } });
    let calls = 0;
    const exhausted = limiter.run(async () => {
      calls++;
      throw Object.assign(new Error('down'), { status: 500 });
    });
    await expect(exhausted).rejects.toBeInstanceOf(RetriesExhaustedError);
    expect(calls).toBe(3);
    const bad = Object.assign(new Error('bad request'), { status: 400 });
    await expect(limiter.run(async () => Promise.reject(bad))).rejects.toBe(bad);
  });

  it('an abort while queued rejects with the reason and leaves the queue', async () => {
    const limiter: Limiter = createLimiter({ maxConcurrent: 1 });
    const started: string[] = [];
    const blocker = gatedTask(started, 'blocker');
    const running = limiter.run(blocker.task);
    const controller = new AbortController();
    const queued = limiter.run(async () => started.push('never'), { signal: controller.signal });
    expect(limiter.metrics.queueDepth).toBe(1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(queued).rejects.toBe(reason);
    expect(limiter.metrics.queueDepth).toBe(0);
    blocker.release();
    await running;
    expect(started).toEqual(['blocker']);
  });

  it('gives its slot back when tokensUsed throws on a result', async () => {
    const limiter = createLimiter({ maxConcurrent: 1 });
    const broken = limiter.run(async () => null, {
      tokensUsed: (result) => (result as unknown as { usage: { total_tokens: number } }).usage.total_tokens,
    });
    await expect(broken).rejects.toBeInstanceOf(TypeError);
    expect(limiter.metrics.active).toBe(0);
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
  });

  it('leaves no timer behind when the last queued call is aborted', async () => {
    vi.useFakeTimers();
    const limiter = createLimiter({ requestsPerMinute: 1 });
    await limiter.run(async () => 'first');
    const controller = new AbortController();
    const queued = limiter.run(async () => 'second', { signal: controller.signal });
    expect(vi.getTimerCount()).toBe(1); // the window's wake-up
    controller.abort(new Error('gave up'));
    await expect(queued).rejects.toThrow('gave up');
    // A leftover timer would keep the process alive for the rest of the minute.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer behind once the queue empties early (a corrected token count made room)', async () => {
    vi.useFakeTimers();
    const limiter = createLimiter({ tokensPerMinute: 100 });
    const started: string[] = [];
    const first = gatedTask(started, 'first');
    const second = gatedTask(started, 'second');
    const runs = [limiter.run(first.task, { estimatedTokens: 60, tokensUsed: () => 10 }), limiter.run(second.task, { estimatedTokens: 60 })];
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1); // the second waits for the first's tokens to leave the window
    first.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toEqual(['first', 'second']);
    expect(vi.getTimerCount()).toBe(0);
    second.release();
    await Promise.all(runs);
  });

  it('a call withdrawn from the queue does not push its caller back a round', async () => {
    const limiter = createLimiter({ maxConcurrent: 1 });
    const started: string[] = [];
    const blocker = gatedTask(started, 'x1');
    const tasks = new Map<string, ReturnType<typeof gatedTask>>();
    const runs: Promise<unknown>[] = [limiter.run(blocker.task, { key: 'x' })];
    for (const name of ['b1', 'b2']) {
      tasks.set(name, gatedTask(started, name));
      runs.push(limiter.run((tasks.get(name) as ReturnType<typeof gatedTask>).task, { key: 'b' }));
    }
    const controller = new AbortController();
    const withdrawn = limiter.run(async () => started.push('a1'), { key: 'a', signal: controller.signal });
    controller.abort(new Error('withdrawn'));
    await expect(withdrawn).rejects.toThrow('withdrawn');
    tasks.set('a2', gatedTask(started, 'a2'));
    runs.push(limiter.run((tasks.get('a2') as ReturnType<typeof gatedTask>).task, { key: 'a' }));
    blocker.release();
    for (let i = 0; i < 3; i++) {
      await turn();
      tasks.get(started[started.length - 1] as string)?.release();
    }
    await Promise.all(runs);
    // a2 is a's first call that ever waits: it goes level with b1, before b's second call.
    expect(started).toEqual(['x1', 'b1', 'a2', 'b2']);
  });

  it("does not wait for a retry that could not start before the caller's deadline: fails at once with the cause", async () => {
    vi.useFakeTimers();
    const limiter = createLimiter({ retry: { maxRetries: 3 } });
    let calls = 0;
    const limited = limiter.run(
      async () => {
        calls++;
        throw Object.assign(new Error('slow down'), { status: 429, headers: new Headers({ 'retry-after': '30' }) });
      },
      { deadlineAt: Date.now() + 5_000 },
    );
    const error: unknown = await limited.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({ attempts: 1, outOfTime: true });
    expect((error as Error).message).toContain('slow down');
    expect(calls).toBe(1);
    // The provider's pause still holds for everyone else.
    const started: string[] = [];
    const other = limiter.run(async () => started.push('other'));
    await vi.advanceTimersByTimeAsync(29_999);
    expect(started).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await other;
    expect(started).toEqual(['other']);
  });

  it('rejects bad options with LimiterError', () => {
    expect(() => createLimiter({ maxConcurrent: 0 })).toThrow(LimiterError);
    expect(() => createLimiter({ requestsPerMinute: 1.5 })).toThrow(/requestsPerMinute/);
    expect(() => createLimiter({ retry: { maxRetries: -1 } })).toThrow(/maxRetries/);
  });

  it('reads retry-after-ms, retry-after in seconds, and retry-after as an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }))).toBe(3_000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
