import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/runtime/token-bucket.js';

describe('TokenBucket', () => {
  it('starts full, lends one token a take, and refuses once empty', () => {
    const bucket = new TokenBucket(3, 10, 0);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    expect(bucket.hasToken).toBe(false);
  });

  it('earns tokens back at its rate, never past its capacity', () => {
    const bucket = new TokenBucket(3, 10, 0);
    while (bucket.take());
    bucket.refill(250); // 2.5 tokens
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
    bucket.refill(60_000);
    let taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(3);
  });

  it('earns nothing when the clock goes back, and counts from the later reading', () => {
    const bucket = new TokenBucket(1, 1, 1_000);
    bucket.take();
    bucket.refill(500);
    expect(bucket.hasToken).toBe(false);
    bucket.refill(1_499);
    expect(bucket.hasToken).toBe(false);
    bucket.refill(1_500);
    expect(bucket.hasToken).toBe(true);
  });

  it('never runs dry when unlimited, and never turns NaN', () => {
    const bucket = new TokenBucket(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 0);
    for (let i = 0; i < 1_000; i++) expect(bucket.take()).toBe(true);
    bucket.refill(0);
    bucket.refill(10);
    expect(bucket.take()).toBe(true);
  });

  it('is full again after reset', () => {
    const bucket = new TokenBucket(2, 1, 0);
    while (bucket.take());
    bucket.reset(5);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
  });
});
