/**
 * Heartbeats: an agent with work (messages waiting, or a `busy`-tagged state held) and no
 * progress for `timeoutMs` is hung: its invoked work is aborted, the request it was handling
 * fails with reason `hung`, and its supervisor restarts it.
 */
import { assign, setup } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import { defineAgent, FailureError, reply, supervisor, tell, type AclMessage } from '../../src/index.js';
import { latch, op, settled, start, useFakeDeadlines, worker } from '../conformance/helpers.js';

const HEARTBEAT = { everyMs: 10, timeoutMs: 100 };

/** Busy for `steps` × 20 ms, moving to a new state (progress) every 20 ms, then answers. */
const cruncher = defineAgent({
  name: 'cruncher',
  machine: setup({ types: { context: {} as { steps: number; left: number; request: AclMessage | undefined }, events: {} as AclMessage } }).createMachine({
    context: { steps: 0, left: 0, request: undefined },
    initial: 'idle',
    states: {
      idle: {
        on: { request: { target: 'crunching', actions: assign({ left: ({ event }) => (event.content as { steps: number }).steps, request: ({ event }) => event }) } },
      },
      crunching: {
        tags: ['busy'],
        after: {
          20: [
            { guard: ({ context }) => context.left > 1, target: 'crunching', reenter: true, actions: assign({ left: ({ context }) => context.left - 1, steps: ({ context }) => context.steps + 1 }) },
            { target: 'idle', actions: [reply('inform', ({ context }) => ({ steps: context.steps + 1 }), { to: ({ context }) => context.request as AclMessage })] },
          ],
        },
      },
    },
  }),
});

/** Relays every `inform` it gets to `/down/sink` (a new tell per message). */
const relay = defineAgent({
  name: 'relay',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({
    on: { inform: { actions: tell('/down/sink', 'inform', ({ event }) => event.content as never) } },
  }),
});

/** Stuck in a busy state (its work never ends) that still takes every request in, queueing it in context. */
const stuckTaker = defineAgent({
  name: 'stuck-taker',
  machine: setup({ types: { context: {} as { queued: number }, events: {} as AclMessage } }).createMachine({
    context: { queued: 0 },
    initial: 'working',
    states: { working: { tags: ['busy'], on: { request: { actions: assign({ queued: ({ context }) => context.queued + 1 }) } } } },
  }),
});

describe('heartbeat', () => {
  it('a busy state held past timeoutMs is hung: work aborted, request failed with hung, child restarted', async () => {
    useFakeDeadlines();
    const aborted = latch();
    const { system, log } = await start(
      supervisor({ children: [{ id: 'a', agent: worker('a', { onAbort: () => aborted.open() }), heartbeat: HEARTBEAT }, { id: 'b', agent: worker('b') }] }),
    );
    const before = system.lookup('/a')?.incarnation;
    const hung = system.request('/a', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(90);
    expect(aborted.settled).toBe(false);
    expect(log.of('hung')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(20);
    const error = (await hung) as FailureError;
    expect(error).toBeInstanceOf(FailureError);
    expect(error.reason).toBe('hung');
    expect(aborted.settled).toBe(true);
    const hungEvent = await log.wait({ type: 'hung', path: '/a' });
    expect(hungEvent).toMatchObject({ incarnation: before, detail: expect.stringContaining('tagged busy') });
    await log.wait({ type: 'restarted', path: '/a' });
    expect(log.trace(['hung', 'failed', 'restarted'])).toEqual(['hung /a', 'failed /a', 'restarted /a']);
    expect(system.lookup('/a')?.incarnation).not.toBe(before);
    expect((await system.request('/a', op('ok'))).content).toMatchObject({ count: 1 });
    expect(log.of('hung', '/b')).toHaveLength(0);
  });

  it('a busy state that keeps making progress is not hung, however long it works', async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ children: [{ id: 'c', agent: cruncher, heartbeat: HEARTBEAT }] }));
    const answer = system.request('/c', { steps: 30 }, { timeoutMs: Infinity });
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(30 * 20);
    expect((await answer).content).toEqual({ steps: 30 }); // 600 ms busy, > timeoutMs, with progress every 20 ms
    expect(log.of('hung')).toHaveLength(0);
    expect(log.of('restarted')).toHaveLength(0);
  });

  it('a busy state that only takes requests in (no transition, no work finishing) is hung, though traffic flows', async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ children: [{ id: 's', agent: stuckTaker, heartbeat: HEARTBEAT }] }));
    const answers: Promise<unknown>[] = [];
    for (let tick = 0; tick < 10 && log.of('hung').length === 0; tick++) {
      answers.push(system.request('/s', {}, { timeoutMs: Infinity }).catch((caught: unknown) => caught));
      await system.whenIdle();
      await vi.advanceTimersByTimeAsync(20);
    }
    expect(log.of('hung')).toEqual([expect.objectContaining({ path: '/s', detail: expect.stringContaining('without progress') })]);
    // Every request it had taken in is answered: failure, reason hung.
    for (const answer of await Promise.all(answers)) expect(answer).toMatchObject({ reason: 'hung' });
  });

  it('a busy bystander of a group restart found hung by its heartbeat stops at once, not after its whole shutdown time', async () => {
    useFakeDeadlines();
    const { system, log } = await start(
      supervisor({
        strategy: 'one-for-all',
        children: [
          { id: 'busy', agent: worker('busy'), heartbeat: { everyMs: 10, timeoutMs: 300 }, shutdownMs: 5_000 },
          { id: 'crasher', agent: worker('crasher') },
        ],
      }),
    );
    const busyBefore = system.lookup('/busy')?.incarnation;
    void system.request('/busy', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(50);
    void system.request('/crasher', op('crash')).catch(() => undefined);
    await system.whenIdle();
    // The group waits for /busy: at most its heartbeat's timeout (300 ms), never its 5 s shutdown time.
    await vi.advanceTimersByTimeAsync(400);
    expect(log.of('hung', '/busy')).toHaveLength(1);
    await log.wait({ type: 'restarted', path: '/busy' });
    expect(system.lookup('/busy')?.incarnation).not.toBe(busyBefore);
    expect((await system.request('/busy', op('ok'))).content).toMatchObject({ count: 1 });
  });

  it('an idle agent is never hung', async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ children: [{ id: 'a', agent: worker('a'), heartbeat: HEARTBEAT }] }));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(log.of('hung')).toHaveLength(0);
    expect((await system.request('/a', op('ok'))).content).toMatchObject({ count: 1 });
  });

  it('an agent without a heartbeat is never declared hung', async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ children: [{ id: 'a', agent: worker('a'), shutdownMs: 0 }] }));
    const pending = system.request('/a', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(log.of('hung')).toHaveLength(0);
    await system.stop();
    expect(((await pending) as FailureError).reason).toBe('agent-stopped');
  });

  it('the heartbeat of the agent definition applies; a child spec overrides it', async () => {
    useFakeDeadlines();
    const withDefault = worker('d', { heartbeat: { everyMs: 10, timeoutMs: 1_000 } });
    const { system, log } = await start(
      supervisor({
        intensity: { maxRestarts: 5, withinMs: 60_000 },
        children: [
          { id: 'def', agent: withDefault },
          { id: 'over', agent: withDefault, heartbeat: { everyMs: 10, timeoutMs: 100 } },
        ],
      }),
    );
    const a = system.request('/def', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    const b = system.request('/over', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(200);
    expect(((await b) as FailureError).reason).toBe('hung');
    expect(log.of('hung', '/def')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(((await a) as FailureError).reason).toBe('hung');
  });

  it('messages waiting with none handled count as no progress (a sender stuck on backpressure); the restart lifts the stale pause', async () => {
    useFakeDeadlines();
    const sinkTree = supervisor({
      intensity: { maxRestarts: 5, withinMs: 60_000 },
      backoff: { minMs: 60_000, maxMs: 60_000, jitter: 0 },
      children: [{ id: 'sink', agent: worker('sink', { mailbox: { capacity: 1, overflow: 'backpressure' } }) }],
    });
    const { system, log } = await start(
      supervisor({
        intensity: { maxRestarts: 5, withinMs: 60_000 },
        children: [
          { id: 'down', agent: sinkTree },
          { id: 'relay', agent: relay, heartbeat: HEARTBEAT },
        ],
      }),
    );
    await system.tell('/down/sink', 'inform', op('crash'));
    await system.whenIdle();
    await settled(system, '/down');
    expect(system.lookup('/down/sink')?.status).toBe('restarting'); // back in a minute; its mailbox (capacity 1) fills up
    for (let n = 0; n < 3; n++) await system.tell('/relay', 'inform', { op: 'ok', n });
    await system.whenIdle();
    expect(system.metrics('/relay')?.queueDepth).toBe(1); // one relayed, one parked (the relay pauses), one waiting behind
    await vi.advanceTimersByTimeAsync(150);
    const hung = await log.wait({ type: 'hung', path: '/relay' });
    expect(hung).toMatchObject({ detail: expect.stringContaining('no message handled') });
    await log.wait({ type: 'restarted', path: '/relay' });
    await system.whenIdle();
    // the new incarnation is not paused by its predecessor's send: it handles its message (whose send parks in turn)
    expect(system.metrics('/relay')?.queueDepth).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(log.of('hung', '/relay')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    await log.wait({ type: 'restarted', path: '/down/sink' });
    await system.whenIdle();
    expect(system.metrics('/down/sink')?.processed).toBe(1 + 3); // the crash, then every relayed message once the sink was back
    expect(log.of('escalated')).toHaveLength(0);
  });

  it('repeated hangs count against the restart intensity and escalate', async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ intensity: { maxRestarts: 2, withinMs: 60_000 }, children: [{ id: 'a', agent: worker('a'), heartbeat: HEARTBEAT }] }));
    for (let round = 1; round <= 3; round++) {
      const pending = system.request('/a', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
      await system.whenIdle();
      await vi.advanceTimersByTimeAsync(120);
      expect(((await pending) as FailureError).reason).toBe('hung');
      if (round < 3) await log.wait({ type: 'restarted', path: '/a' }, round);
    }
    await expect(system.whenTerminated).resolves.toMatchObject({ kind: 'restart-limit', detail: expect.stringContaining('hung') });
  });

  it('the heartbeat timer is cleared when the child stops for good', async () => {
    useFakeDeadlines();
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: worker('a'), heartbeat: HEARTBEAT, restart: 'transient' }] }));
    const withHeartbeat = vi.getTimerCount();
    await system.request('/a', op('stop'));
    await settled(system);
    expect(vi.getTimerCount()).toBe(withHeartbeat - 1);
    await system.restartChild('/', 'a');
    expect(vi.getTimerCount()).toBe(withHeartbeat);
    await system.terminateChild('/', 'a');
    expect(vi.getTimerCount()).toBe(withHeartbeat - 1);
    await system.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('restarting a subtree replaces its heartbeats; none is left behind', async () => {
    useFakeDeadlines();
    const inner = supervisor({
      intensity: { maxRestarts: 0, withinMs: 1_000 },
      children: [
        { id: 'x', agent: worker('x'), heartbeat: HEARTBEAT },
        { id: 'y', agent: worker('y'), heartbeat: HEARTBEAT },
      ],
    });
    const { system, log } = await start(supervisor({ intensity: { maxRestarts: 10, withinMs: 60_000 }, children: [{ id: 'inner', agent: inner }] }));
    const timers = vi.getTimerCount();
    for (let round = 1; round <= 3; round++) {
      await expect(system.request('/inner/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
      await log.wait({ type: 'restarted', path: '/inner' }, round);
      expect(vi.getTimerCount()).toBe(timers);
    }
    // and the new heartbeats work
    const hung = system.request('/inner/y', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(150);
    expect(((await hung) as FailureError).reason).toBe('hung');
  });
});
