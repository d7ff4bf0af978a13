import { describe, expect, it } from 'vitest';
import { isTimerDelay, MAX_TIMER_MS, timerDelay } from '../../src/runtime/timeouts.js';

describe('timer limits', () => {
  it('MAX_TIMER_MS is the longest delay setTimeout keeps (2^31 - 1 ms)', () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
  });

  it('timerDelay clamps a delay into what one timer holds', () => {
    expect([timerDelay(-5), timerDelay(0), timerDelay(1_234), timerDelay(2 ** 31), timerDelay(Number.POSITIVE_INFINITY)]).toEqual([0, 0, 1_234, MAX_TIMER_MS, MAX_TIMER_MS]);
  });

  it('isTimerDelay takes a number of ms > 0 and ≤ MAX_TIMER_MS, nothing else', () => {
    expect([1, 0.5, MAX_TIMER_MS].map(isTimerDelay)).toEqual([true, true, true]);
    expect([0, -1, MAX_TIMER_MS + 1, Number.POSITIVE_INFINITY, Number.NaN, '5', undefined].map(isTimerDelay)).toEqual([false, false, false, false, false, false, false]);
  });
});
