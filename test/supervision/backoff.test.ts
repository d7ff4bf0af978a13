/**
 * Backoff: restarts wait an exponentially growing, jittered delay; messages that arrive
 * meanwhile stay in the child's mailbox and are answered by its next incarnation.
 */
import { describe, expect, it, vi } from 'vitest';
import { DeadlineError, FailureError, supervisor, type Backoff } from '../../src/index.js';
import { op, settled, start, useFakeDeadlines, worker } from '../conformance/helpers.js';

const INTENSITY = { maxRestarts: 100, withinMs: 600_000 };

async function startWith(backoff: Backoff) {
  return start(supervisor({ intensity: INTENSITY, backoff, children: [{ id: 'a', agent: worker('a') }, { id: 'b', agent: worker('b') }] }));
}

describe('backoff', () => {
  it('the delay doubles with each consecutive restart, up to maxMs', async () => {
    useFakeDeadlines();
    const { system, log } = await startWith({ minMs: 100, maxMs: 1_000, factor: 2, jitter: 0 });
    const delays = [100, 200, 400, 800, 1_000, 1_000];
    for (const [index, delay] of delays.entries()) {
      await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
      await settled(system);
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(system.lookup('/a')?.status, `restart ${index + 1} before ${delay} ms`).toBe('restarting');
      await vi.advanceTimersByTimeAsync(1);
      await log.wait({ type: 'restarted', path: '/a' }, index + 1);
      expect(system.lookup('/a')?.status).toBe('running');
    }
    expect(log.of('restarted', '/b')).toHaveLength(0);
  });

  it('jitter adds a random fraction of the delay', async () => {
    useFakeDeadlines();
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      const { system, log } = await startWith({ minMs: 100, maxMs: 1_000, jitter: 0.2 });
      await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
      await settled(system);
      await vi.advanceTimersByTimeAsync(109);
      expect(system.lookup('/a')?.status).toBe('restarting');
      await vi.advanceTimersByTimeAsync(1); // 100 × (1 + 0.2 × 0.5)
      await log.wait({ type: 'restarted', path: '/a' });
      expect(random).toHaveBeenCalled();
    } finally {
      random.mockRestore();
    }
  });

  it('with real randomness the delay stays within [minMs, minMs × (1 + jitter)] and children failing together come back spread out', async () => {
    useFakeDeadlines();
    const ids = Array.from({ length: 20 }, (_, index) => `w${index}`);
    const { system, log } = await start(supervisor({ intensity: INTENSITY, backoff: { minMs: 1_000, maxMs: 1_000, jitter: 1 }, children: ids.map((id) => ({ id, agent: worker(id) })) }));
    for (const id of ids) void system.tell(`/${id}`, 'inform', op('crash'));
    await system.whenIdle();
    await settled(system);
    const crashedAt = Date.now();
    await vi.advanceTimersByTimeAsync(999);
    expect(log.of('restarted')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_001);
    await log.wait((event) => event.type === 'restarted', ids.length);
    const offsets = log.of('restarted').map((event) => event.at - crashedAt);
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...offsets)).toBeLessThanOrEqual(2_000);
    expect(new Set(offsets).size).toBeGreaterThan(1); // 20 children do not all come back at the same instant
  });

  it('a child that stays up longer than resetAfterMs starts a new series', async () => {
    useFakeDeadlines();
    const { system, log } = await startWith({ minMs: 100, maxMs: 10_000, jitter: 0, resetAfterMs: 5_000 });
    for (const [index, delay] of [100, 200].entries()) {
      await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
      await settled(system);
      await vi.advanceTimersByTimeAsync(delay);
      await log.wait({ type: 'restarted', path: '/a' }, index + 1);
    }
    await vi.advanceTimersByTimeAsync(5_001);
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    await vi.advanceTimersByTimeAsync(100); // not 400
    await log.wait({ type: 'restarted', path: '/a' }, 3);
  });

  it('messages arriving while a child waits to restart stay in its mailbox and are answered after, in order', async () => {
    useFakeDeadlines();
    const { system, log } = await startWith({ minMs: 1_000, maxMs: 1_000, jitter: 0 });
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    const answers = [1, 2, 3].map(() => system.request('/a', op('ok'), { timeoutMs: 10_000 }));
    await system.tell('/a', 'inform', op('ok'));
    const last = system.request('/a', op('ok'), { timeoutMs: 10_000 });
    await system.whenIdle();
    expect(system.metrics('/a')?.queueDepth).toBe(5);
    await vi.advanceTimersByTimeAsync(1_000);
    await log.wait({ type: 'restarted', path: '/a' });
    expect((await Promise.all(answers)).map((answer) => (answer.content as { count: number }).count)).toEqual([1, 2, 3]);
    expect(((await last).content as { count: number }).count).toBe(5);
  });

  it('a request whose deadline passes during the wait fails once with DeadlineError; its message then expires unhandled', async () => {
    useFakeDeadlines();
    const { system, log } = await startWith({ minMs: 1_000, maxMs: 1_000, jitter: 0 });
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    const settle = vi.fn();
    const late = system.request('/a', op('ok'), { timeoutMs: 500 }).then(settle, (error: unknown) => {
      settle(error);
      return error;
    });
    await vi.advanceTimersByTimeAsync(500);
    expect(await late).toBeInstanceOf(DeadlineError);
    await vi.advanceTimersByTimeAsync(500);
    await log.wait({ type: 'restarted', path: '/a' });
    await system.whenIdle();
    expect(settle).toHaveBeenCalledTimes(1);
    expect(system.deadLetters.recent().map((letter) => letter.reason)).toContain('expired');
    expect((await system.request('/a', op('ok'))).content).toMatchObject({ count: 1 }); // the expired one was not handled
  });

  it('stopping the system during the wait cancels the restart and answers what was queued', async () => {
    useFakeDeadlines();
    const { system, log } = await startWith({ minMs: 1_000, maxMs: 1_000, jitter: 0 });
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    const queued = system.request('/a', op('ok'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.stop();
    expect(((await queued) as FailureError).reason).toBe('agent-stopped');
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(log.of('restarted')).toHaveLength(0);
  });

  it('terminateChild during the wait cancels the restart; restartChild brings it back', async () => {
    useFakeDeadlines();
    const { system, log } = await startWith({ minMs: 1_000, maxMs: 1_000, jitter: 0 });
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    const queued = system.request('/a', op('ok'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.terminateChild('/', 'a');
    expect(((await queued) as FailureError).reason).toBe('agent-stopped');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(log.of('restarted')).toHaveLength(0);
    expect(system.whichChildren()[0]).toMatchObject({ id: 'a', status: 'stopped' });
    await system.restartChild('/', 'a');
    expect((await system.request('/a', op('ok'))).content).toMatchObject({ count: 1 });
  });

  it('giving up clears the pending restarts of other children', async () => {
    useFakeDeadlines();
    const { system, log } = await start(
      supervisor({ intensity: { maxRestarts: 1, withinMs: 60_000 }, backoff: { minMs: 1_000, maxMs: 1_000, jitter: 0 }, children: [{ id: 'a', agent: worker('a') }, { id: 'b', agent: worker('b') }] }),
    );
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(system.request('/b', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(system.whenTerminated).resolves.toMatchObject({ kind: 'restart-limit' });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(log.of('restarted')).toHaveLength(0);
  });
});

describe('backoff in group restarts', () => {
  for (const strategy of ['one-for-all', 'rest-for-one'] as const) {
    it(`${strategy}: the group waits one delay and starts again in order, jitter or not`, async () => {
      useFakeDeadlines();
      const order: string[] = [];
      const ids = Array.from({ length: 10 }, (_, index) => `w${index}`);
      const { system, log } = await start(
        supervisor({
          strategy,
          intensity: INTENSITY,
          backoff: { minMs: 1_000, maxMs: 1_000, jitter: 1 },
          children: ids.map((id) => ({ id, agent: worker(id, { onStart: () => order.push(id) }) })),
        }),
      );
      order.length = 0;
      await expect(system.request('/w0', op('crash'))).rejects.toBeInstanceOf(FailureError);
      await settled(system);
      await vi.advanceTimersByTimeAsync(2_000);
      await log.wait({ type: 'restarted', path: '/w9' });
      expect(order).toEqual(ids);
      const times = log.of('restarted').map((event) => event.at);
      expect(new Set(times).size).toBe(1); // one delay for the whole group
    });
  }
});
