/**
 * A watch of a path where nothing lives hears `noproc` at once (Erlang's monitor of a dead
 * pid), in a microtask; a path a supervisor is about to start or restart is not empty.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeExit, FailureError, isNormalExit, supervisor, type Terminated } from '../../src/index.js';
import { op, settled, start, useFakeDeadlines, worker } from '../conformance/helpers.js';
import { worker as threadWorker } from '../workers/agents.js';

const INTENSITY = { maxRestarts: 100, withinMs: 600_000 };
const BACKOFF = { minMs: 1_000, maxMs: 1_000, jitter: 0 };

/** Lets every queued microtask (and the promise chains they start) run. */
async function drainMicrotasks(): Promise<void> {
  for (let turn = 0; turn < 10; turn++) await Promise.resolve();
}

function recorder(): { heard: Terminated[]; listener: (signal: Terminated) => void } {
  const heard: Terminated[] = [];
  return { heard, listener: (signal) => heard.push(signal) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('watch of a path where nothing lives', () => {
  it('hears noproc once, after the watch call has returned', async () => {
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: worker('a') }] }));
    for (const path of ['/missing', '/a/below-an-agent', '/nobody/deeper']) {
      const { heard, listener } = recorder();
      system.watch(path, listener);
      expect(heard, `${path} inside the call`).toEqual([]);
      await drainMicrotasks();
      expect(heard).toEqual([{ type: 'terminated', path, incarnation: '', reason: { kind: 'noproc' } }]);
      const [signal] = heard as [Terminated];
      expect(isNormalExit(signal.reason)).toBe(false);
      expect(describeExit(signal.reason)).toBe('noproc');
    }
    // Once: nothing starting there later reaches a noproc watch.
    const { heard, listener } = recorder();
    system.watch('/late', listener);
    await drainMicrotasks();
    await system.startChild('/', { id: 'late', agent: worker('late') });
    await system.terminateChild('/', 'late');
    expect(heard.map((signal) => signal.reason.kind)).toEqual(['noproc']);
  });

  it('hears nothing when unsubscribed before the microtask runs; a throwing listener does not stop the others', async () => {
    const { system } = await start(supervisor({ children: [] }));
    const { heard, listener } = recorder();
    const unwatch = system.watch('/missing', listener);
    unwatch();
    const errors: unknown[] = [];
    const logged = vi.spyOn(system.logger, 'error').mockImplementation(((...args: unknown[]) => void errors.push(args[0])) as never);
    system.watch('/missing', () => {
      throw new Error('listener bug');
    });
    const other = recorder();
    system.watch('/missing', other.listener);
    await drainMicrotasks();
    logged.mockRestore();
    expect(heard).toEqual([]);
    expect(other.heard).toHaveLength(1);
    expect(errors).toEqual([{ err: expect.objectContaining({ message: 'listener bug' }) }]);
    unwatch(); // after the fact: harmless
  });

  it('a watch of a supervisor: a running one is watched, a terminated one (spec kept) and a stopped system are noproc', async () => {
    const { system } = await start(supervisor({ children: [{ id: 'inner', agent: supervisor({ children: [{ id: 'x', agent: worker('x') }] }) }] }));
    const live = recorder();
    system.watch('/inner', live.listener);
    await drainMicrotasks();
    expect(live.heard).toEqual([]);
    await system.terminateChild('/', 'inner');
    expect(live.heard.map((signal) => signal.reason.kind)).toEqual(['shutdown']);
    const gone = recorder();
    system.watch('/inner', gone.listener);
    system.watch('/inner/x', gone.listener);
    await drainMicrotasks();
    expect(gone.heard.map((signal) => `${signal.path} ${signal.reason.kind}`)).toEqual(['/inner noproc', '/inner/x noproc']);
    await system.stop();
    const root = recorder();
    system.watch('/', root.listener);
    await drainMicrotasks();
    expect(root.heard.map((signal) => signal.reason.kind)).toEqual(['noproc']);
  });
});

describe('watch of a path a supervisor is about to start', () => {
  it('an agent waiting out its backoff is not noproc; the watch hears its real stop', async () => {
    useFakeDeadlines();
    const { system } = await start(supervisor({ intensity: INTENSITY, backoff: BACKOFF, children: [{ id: 'a', agent: worker('a') }] }));
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    expect(system.lookup('/a')?.status).toBe('restarting');
    const { heard, listener } = recorder();
    system.watch('/a', listener);
    await drainMicrotasks();
    expect(heard).toEqual([]);
    await vi.advanceTimersByTimeAsync(BACKOFF.minMs);
    expect(system.lookup('/a')?.status).toBe('running');
    expect(heard).toEqual([]);
    await system.terminateChild('/', 'a');
    expect(heard.map((signal) => signal.reason.kind)).toEqual(['shutdown']);
  });

  it('a nested supervisor between its stop for a restart and its new start (backoff) is not noproc', async () => {
    useFakeDeadlines();
    const inner = supervisor({ intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [{ id: 'x', agent: worker('x') }] });
    const { system, log } = await start(supervisor({ intensity: INTENSITY, backoff: BACKOFF, children: [{ id: 'inner', agent: inner }] }));
    // Taken while the inner supervisor gives up and before its parent has handled that.
    const early = recorder();
    await expect(system.request('/inner/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    system.watch('/inner', early.listener);
    await log.wait({ type: 'escalated', path: '/inner' });
    await settled(system);
    expect(system.lookup('/inner')).toBeUndefined(); // nothing registered while it waits
    expect(system.whichChildren()).toMatchObject([{ id: 'inner', status: 'restarting' }]);
    const during = recorder();
    system.watch('/inner', during.listener);
    await drainMicrotasks();
    expect([...early.heard, ...during.heard]).toEqual([]);
    await vi.advanceTimersByTimeAsync(BACKOFF.minMs);
    await log.wait((event) => event.type === 'restarted' && event.path === '/inner');
    expect(system.lookup('/inner')?.status).toBe('running');
    await system.terminateChild('/', 'inner');
    expect([...early.heard, ...during.heard].map((signal) => signal.reason.kind)).toEqual(['shutdown', 'shutdown']);
  });

  it('a child below a nested supervisor that is waiting out its backoff is not noproc either', async () => {
    useFakeDeadlines();
    const inner = supervisor({ intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [{ id: 'x', agent: worker('x') }] });
    const { system, log } = await start(supervisor({ intensity: INTENSITY, backoff: BACKOFF, children: [{ id: 'inner', agent: inner }] }));
    await expect(system.request('/inner/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'escalated', path: '/inner' });
    await settled(system);
    expect(system.lookup('/inner/x')).toBeUndefined();
    const below = recorder();
    system.watch('/inner/x', below.listener);
    await drainMicrotasks();
    expect(below.heard).toEqual([]);
    await vi.advanceTimersByTimeAsync(BACKOFF.minMs);
    await log.wait((event) => event.type === 'restarted' && event.path === '/inner');
    expect(system.lookup('/inner/x')?.status).toBe('running');
    await system.terminateChild('/', 'inner');
    expect(below.heard.map((signal) => signal.reason.kind)).toEqual(['shutdown']);
  });

  it('a watch taken while startChild waits in line hears the child stop, or noproc if its start failed', async () => {
    const crashOnStart = worker('bad', {
      onStart: () => {
        throw new Error('cannot start');
      },
    });
    const { system } = await start(supervisor({ children: [] }));
    const started = system.startChild('/', { id: 'late', agent: worker('late') });
    const failed = system.startChild('/', { id: 'team', agent: supervisor({ children: [{ id: 'bad', agent: crashOnStart }] }) });
    const late = recorder();
    const team = recorder();
    system.watch('/late', late.listener);
    system.watch('/team', team.listener);
    await drainMicrotasks();
    expect(late.heard).toEqual([]);
    await started;
    await expect(failed).rejects.toThrow(/cannot start/);
    expect(team.heard.map((signal) => `${signal.path} ${signal.reason.kind}`)).toEqual(['/team noproc']);
    await system.terminateChild('/', 'late');
    expect(late.heard.map((signal) => signal.reason.kind)).toEqual(['shutdown']);
    // restartChild waiting in line for a terminated child: not noproc either.
    const again = system.restartChild('/', 'late');
    const restarted = recorder();
    system.watch('/late', restarted.listener);
    await again;
    await drainMicrotasks();
    expect(restarted.heard).toEqual([]);
    await system.terminateChild('/', 'late');
    expect(restarted.heard.map((signal) => signal.reason.kind)).toEqual(['shutdown']);
  });

  it('an agent on a worker thread waiting out its backoff is not noproc', { timeout: 60_000 }, async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ intensity: INTENSITY, backoff: BACKOFF, children: [{ id: 'w', agent: threadWorker, placement: 'worker' }] }));
    try {
      await expect(system.request('/w', { op: 'throw' }, { timeoutMs: Infinity })).rejects.toBeInstanceOf(FailureError);
      await log.wait({ type: 'failed', path: '/w' }); // the thread's report of the exit follows its answer
      await settled(system);
      expect(system.lookup('/w')?.status).toBe('restarting');
      const { heard, listener } = recorder();
      system.watch('/w', listener);
      await drainMicrotasks();
      expect(heard).toEqual([]);
      await vi.advanceTimersByTimeAsync(BACKOFF.minMs);
      await log.wait({ type: 'restarted', path: '/w' });
      await system.terminateChild('/', 'w');
      expect(heard.map((signal) => signal.reason.kind)).toEqual(['shutdown']);
    } finally {
      vi.useRealTimers();
      await system.stop();
    }
  });
});
