/**
 * Supervisor lifecycle edge cases: shutdown times of busy supervisors, kills, stale exits of
 * replaced nested supervisors, stops racing a give-up, failed restarts inside group restarts,
 * backoff timers, and what watchers hear in each case.
 */
import { describe, expect, it, vi } from 'vitest';
import { createSystem, FailureError, StartError, supervisor, type ChildSpec, type Terminated } from '../../src/index.js';
import { latch, op, settled, start, useFakeDeadlines, worker } from '../conformance/helpers.js';

const LOTS = { maxRestarts: 5, withinMs: 60_000 };
const BACKOFF = { minMs: 1_000, maxMs: 1_000, jitter: 0 };
const okWorker = worker('ok');

/** A worker whose starts are recorded in `events`; `fail(n)` decides whether its n-th start (1-based) throws. */
function recorded(events: string[], id: string, fail: (n: number) => boolean = () => false): ChildSpec {
  let starts = 0;
  return {
    id,
    agent: worker(id, {
      onStart: () => {
        starts++;
        if (fail(starts)) throw new Error(`${id} cannot start`);
        events.push(`start ${id}`);
      },
    }),
  };
}

/** A nested supervisor whose queue is held: `a` hangs and cannot stop ('infinity'), and a crash of `b` makes it halt `a` for a group restart. */
function busyInner() {
  const aborted = latch();
  const inner = supervisor({
    strategy: 'one-for-all',
    intensity: LOTS,
    children: [
      { id: 'a', agent: worker('a', { onAbort: () => aborted.open() }), shutdownMs: 'infinity' },
      { id: 'b', agent: okWorker },
    ],
  });
  return { inner, aborted };
}

async function holdQueue(system: Awaited<ReturnType<typeof start>>['system']): Promise<void> {
  void system.request('/inner/a', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
  await system.whenIdle();
  await system.tell('/inner/b', 'inform', op('crash'));
  await system.whenIdle();
}

describe('shutdown of a busy nested supervisor', () => {
  it('its shutdownMs counts from the stop, also while it is busy restarting: then the subtree is killed', async () => {
    useFakeDeadlines();
    const { inner, aborted } = busyInner();
    const { system } = await start(supervisor({ children: [{ id: 'inner', agent: inner, shutdownMs: 1_000 }] }));
    const terminated = latch<Terminated>();
    system.watch('/inner/a', (signal) => terminated.open(signal));
    await holdQueue(system);
    let stopped = false;
    const stopping = system.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(stopped).toBe(true);
    await stopping;
    expect(aborted.settled).toBe(true);
    expect((await terminated.promise).reason.kind).toBe('killed');
    expect(system.lookup('/inner')).toBeUndefined();
  });

  it("'brutal' kills a busy nested supervisor at once, whatever its status", async () => {
    useFakeDeadlines();
    const { inner, aborted } = busyInner();
    const { system, log } = await start(supervisor({ children: [{ id: 'inner', agent: inner, shutdownMs: 'brutal' }] }));
    await holdQueue(system);
    expect(system.lookup('/inner')?.status).toBe('running');
    await system.stop(); // no timer advanced
    expect(aborted.settled).toBe(true);
    expect(log.of('stopped', '/inner')).toHaveLength(1); // the queued graceful work afterwards changes nothing
  });

  it('a supervisor that ran out of time reports stopped after the subtree it killed', async () => {
    useFakeDeadlines();
    const leaf = supervisor({ children: [{ id: 'w', agent: worker('w'), shutdownMs: 'infinity' }] });
    const inner = supervisor({ children: [{ id: 'leaf', agent: leaf }, { id: 'v', agent: worker('v'), shutdownMs: 'infinity' }] });
    const { system, log } = await start(supervisor({ children: [{ id: 'inner', agent: inner, shutdownMs: 1_000 }] }));
    void system.request('/inner/v', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
    void system.request('/inner/leaf/w', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
    await system.whenIdle();
    const stopping = system.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    expect(log.trace(['stopped'])).toEqual(['stopped /inner/v', 'stopped /inner/leaf/w', 'stopped /inner/leaf', 'stopped /inner', 'stopped /']);
  });
});

describe('what watchers of a nested supervisor hear', () => {
  it('a stale exit of a nested supervisor replaced by a group restart does not tell the watchers of its path', async () => {
    useFakeDeadlines();
    // /inner gives up slowly (its child s takes 1,000 ms to stop) while /b crashes: the root
    // halts /inner as a bystander and starts a new one; then the old one's exit arrives.
    const inner = supervisor({
      intensity: { maxRestarts: 0, withinMs: 60_000 },
      children: [
        { id: 's', agent: worker('s'), shutdownMs: 1_000 },
        { id: 'x', agent: okWorker },
      ],
    });
    const { system, log } = await start(supervisor({ strategy: 'one-for-all', intensity: LOTS, children: [{ id: 'inner', agent: inner }, { id: 'b', agent: okWorker }] }));
    const watcher = vi.fn();
    system.watch('/inner', watcher);
    void system.request('/inner/s', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
    await system.whenIdle();
    await system.tell('/inner/x', 'inform', op('crash'));
    await system.whenIdle();
    await log.wait({ type: 'escalated', path: '/inner' });
    await system.tell('/b', 'inform', op('crash'));
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(1_000);
    await log.wait({ type: 'restarted', path: '/b' });
    await settled(system);
    expect(watcher).not.toHaveBeenCalled();
    expect(system.lookup('/inner')?.status).toBe('running');
    expect(system.whichChildren().map((info) => info.status)).toEqual(['running', 'running']);
  });

  it('system.stop() during the root\'s give-up tells the watchers of /', async () => {
    useFakeDeadlines();
    const { system, log } = await start(
      supervisor({
        intensity: { maxRestarts: 0, withinMs: 60_000 },
        children: [
          { id: 's', agent: worker('s'), shutdownMs: 1_000 },
          { id: 'a', agent: okWorker },
        ],
      }),
    );
    const terminated = latch<Terminated>();
    system.watch('/', (signal) => terminated.open(signal));
    void system.request('/s', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
    await system.whenIdle();
    await system.tell('/a', 'inform', op('crash'));
    await log.wait({ type: 'escalated', path: '/' });
    const stopping = system.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    expect((await terminated.promise).path).toBe('/');
  });

  it('terminateChild of a nested supervisor while it gives up tells the watchers of its path', async () => {
    useFakeDeadlines();
    const inner = supervisor({
      intensity: { maxRestarts: 0, withinMs: 60_000 },
      children: [
        { id: 's', agent: worker('s'), shutdownMs: 1_000 },
        { id: 'x', agent: okWorker },
      ],
    });
    const { system, log } = await start(supervisor({ intensity: LOTS, children: [{ id: 'inner', agent: inner }] }));
    const terminated = latch<Terminated>();
    system.watch('/inner', (signal) => terminated.open(signal));
    void system.request('/inner/s', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
    await system.whenIdle();
    await system.tell('/inner/x', 'inform', op('crash'));
    await log.wait({ type: 'escalated', path: '/inner' });
    const terminating = system.terminateChild('/', 'inner');
    await vi.advanceTimersByTimeAsync(1_000);
    await terminating;
    expect((await terminated.promise).path).toBe('/inner');
    expect(system.whichChildren()[0]).toMatchObject({ id: 'inner', status: 'stopped' });
    expect(log.of('restarted', '/inner')).toHaveLength(0);
  });

  it('a nested supervisor that gave up and then failed to restart is reported terminated when its parent gives up', async () => {
    const events: string[] = [];
    const inner = supervisor({ intensity: { maxRestarts: 0, withinMs: 60_000 }, children: [{ id: 'x', agent: okWorker }, recorded(events, 'y', (n) => n > 1)] });
    const { system } = await start(supervisor({ intensity: { maxRestarts: 1, withinMs: 60_000 }, children: [{ id: 'inner', agent: inner }] }));
    const terminated = latch<Terminated>();
    system.watch('/inner', (signal) => terminated.open(signal));
    await expect(system.request('/inner/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(system.whenTerminated).resolves.toMatchObject({ kind: 'restart-limit' });
    expect((await terminated.promise).reason.kind).toBe('restart-limit');
  });
});

describe('timers', () => {
  it('the heartbeats of children already started end when a supervisor start fails partway', async () => {
    useFakeDeadlines();
    const failing = worker('f', {
      onStart: () => {
        throw new Error('no');
      },
    });
    const root = supervisor({ children: [{ id: 'a', agent: okWorker, heartbeat: { everyMs: 10, timeoutMs: 50 } }, { id: 'f', agent: failing }] });
    await expect(createSystem({ root })).rejects.toBeInstanceOf(StartError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a second group restart during the backoff replaces the first: the group starts once, in order, after the new delay', async () => {
    useFakeDeadlines();
    const events: string[] = [];
    const { system, log } = await start(supervisor({ strategy: 'rest-for-one', intensity: LOTS, backoff: BACKOFF, children: [recorded(events, 'a'), recorded(events, 'b'), recorded(events, 'c')] }));
    events.length = 0;
    await expect(system.request('/b', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    await vi.advanceTimersByTimeAsync(500);
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    await vi.advanceTimersByTimeAsync(500); // the first group's time
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    await log.wait({ type: 'restarted', path: '/c' });
    expect(events).toEqual(['start a', 'start b', 'start c']);
    await system.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the backoff keeps growing across restarts that fail to start', async () => {
    useFakeDeadlines();
    const events: string[] = [];
    const { system } = await start(
      supervisor({ intensity: LOTS, backoff: { minMs: 100, maxMs: 10_000, jitter: 0, resetAfterMs: 1_000 }, children: [recorded(events, 'a', (n) => n === 2 || n === 3)] }),
    );
    await vi.advanceTimersByTimeAsync(5_000); // up long enough to start a new series
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    await vi.advanceTimersByTimeAsync(100); // start 2 fails
    await vi.advanceTimersByTimeAsync(199);
    await settled(system);
    expect(system.whichChildren()[0]).toMatchObject({ status: 'restarting', restarts: 1 });
    await vi.advanceTimersByTimeAsync(1); // start 3 fails, 200 ms later
    await settled(system);
    expect(system.whichChildren()[0]).toMatchObject({ status: 'restarting', restarts: 2 });
    await vi.advanceTimersByTimeAsync(399);
    expect(events).toEqual(['start a']);
    await vi.advanceTimersByTimeAsync(1); // start 4, 400 ms later
    await settled(system);
    expect(events).toEqual(['start a', 'start a']);
    expect(system.whichChildren()[0]).toMatchObject({ status: 'running', restarts: 3 });
  });
});

describe('significant children waiting to restart', () => {
  it('all-significant counts a significant child waiting (backoff) to restart as alive', async () => {
    useFakeDeadlines();
    const { system, log } = await start(
      supervisor({
        autoShutdown: 'all-significant',
        intensity: LOTS,
        backoff: BACKOFF,
        children: [
          { id: 'j1', agent: okWorker, restart: 'transient', significant: true },
          { id: 'j2', agent: okWorker, restart: 'transient', significant: true },
        ],
      }),
    );
    await expect(system.request('/j1', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    await system.request('/j2', op('stop'));
    await settled(system);
    expect(system.lookup('/')?.status).toBe('running');
    await vi.advanceTimersByTimeAsync(1_000);
    await log.wait({ type: 'restarted', path: '/j1' });
    expect(system.whichChildren().map(({ id, status }) => `${id}:${status}`)).toEqual(['j1:running', 'j2:stopped']);
  });
});

describe('a member of a group restart that fails to start', () => {
  for (const strategy of ['one-for-all', 'rest-for-one'] as const) {
    it(`${strategy}: later members do not start; the failed one waits as restarting and the group is restarted again`, async () => {
      useFakeDeadlines();
      const events: string[] = [];
      const { system, log } = await start(
        supervisor({ strategy, intensity: LOTS, backoff: BACKOFF, children: [recorded(events, 'a'), recorded(events, 'b', (n) => n === 2), recorded(events, 'c')] }),
      );
      events.length = 0;
      await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
      await settled(system);
      await vi.advanceTimersByTimeAsync(1_000);
      await settled(system);
      expect(events).toEqual(['start a']); // b failed: c was not started
      // OTP try_again: the failed child is restarted with the strategy (a is halted again under one-for-all)
      expect(system.whichChildren().map((info) => info.status)).toEqual([strategy === 'one-for-all' ? 'restarting' : 'running', 'restarting', 'restarting']);
      await vi.advanceTimersByTimeAsync(1_000);
      await log.wait({ type: 'restarted', path: '/c' });
      await settled(system);
      expect(events).toEqual(strategy === 'one-for-all' ? ['start a', 'start a', 'start b', 'start c'] : ['start a', 'start b', 'start c']);
      expect(system.whichChildren().map((info) => info.status)).toEqual(['running', 'running', 'running']);
      expect(log.of('escalated')).toHaveLength(0);
    });
  }

  it('each failed start counts against the intensity', async () => {
    const events: string[] = [];
    const { system } = await start(supervisor({ strategy: 'one-for-all', intensity: { maxRestarts: 2, withinMs: 60_000 }, children: [recorded(events, 'a'), recorded(events, 'b', (n) => n > 1), recorded(events, 'c')] }));
    events.length = 0;
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(system.whenTerminated).resolves.toMatchObject({ kind: 'restart-limit', detail: expect.stringContaining('last: b') });
    expect(events).toEqual(['start a', 'start a']); // c never started
  });

  it('terminateChild of one member while the group waits does not cancel the others', async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ strategy: 'one-for-all', intensity: LOTS, backoff: BACKOFF, children: [{ id: 'a', agent: okWorker }, { id: 'b', agent: okWorker }, { id: 'c', agent: okWorker }] }));
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await system.terminateChild('/', 'b');
    await vi.advanceTimersByTimeAsync(1_000);
    await log.wait({ type: 'restarted', path: '/c' });
    await settled(system);
    expect(system.whichChildren().map(({ id, status }) => `${id}:${status}`)).toEqual(['a:running', 'b:stopped', 'c:running']);
  });
});

describe('terminateChild then restartChild', () => {
  it("'resume' starts fresh after a stop for good", async () => {
    const { system } = await start(supervisor({ children: [{ id: 'c', agent: worker('c'), onRestart: 'resume' }] }));
    for (let n = 1; n <= 3; n++) expect((await system.request('/c', op('ok'))).content).toMatchObject({ count: n });
    await system.terminateChild('/', 'c');
    await system.restartChild('/', 'c');
    expect((await system.request('/c', op('ok'))).content).toMatchObject({ count: 1 });
  });

  it('counts a restart, in whichChildren as in lookup; a nested supervisor reports restarted', async () => {
    const { system, log } = await start(supervisor({ children: [{ id: 'a', agent: okWorker }, { id: 'inner', agent: supervisor({ children: [{ id: 'x', agent: okWorker }] }) }] }));
    for (const id of ['a', 'inner']) {
      await system.terminateChild('/', id);
      const info = await system.restartChild('/', id);
      expect(info.restarts).toBe(1);
    }
    expect(system.lookup('/a')?.restarts).toBe(1);
    expect(system.whichChildren().map((info) => info.restarts)).toEqual([1, 1]);
    expect(log.of('restarted', '/inner')).toMatchObject([{ kind: 'supervisor', restarts: 1 }]);
  });
});

describe('an agent killed when its shutdown time runs out', () => {
  it("reports reason 'killed'", async () => {
    useFakeDeadlines();
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: worker('a'), shutdownMs: 1_000 }] }));
    const terminated = latch<Terminated>();
    system.watch('/a', (signal) => terminated.open(signal));
    void system.request('/a', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
    await system.whenIdle();
    const stopping = system.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    expect((await terminated.promise).reason).toEqual({ kind: 'killed', detail: 'shutdown time ran out' });
  });
});

describe('second review', () => {
  it('a killed supervisor tells the watchers of a nested supervisor waiting (backoff) to restart', async () => {
    useFakeDeadlines();
    const inner = supervisor({ children: [{ id: 'x', agent: worker('x') }] });
    const mid = supervisor({
      strategy: 'one-for-all',
      intensity: LOTS,
      backoff: BACKOFF,
      children: [{ id: 'inner', agent: inner }, { id: 'b', agent: worker('b') }, { id: 'c', agent: worker('c') }],
    });
    const { system } = await start(supervisor({ children: [{ id: 'mid', agent: mid, shutdownMs: 'brutal' }] }));
    const innerWatcher = vi.fn();
    const cWatcher = vi.fn();
    system.watch('/mid/inner', innerWatcher);
    system.watch('/mid/c', cWatcher);
    await system.tell('/mid/b', 'inform', op('crash'));
    await system.whenIdle();
    await settled(system, '/mid');
    await system.stop();
    expect(cWatcher).toHaveBeenCalledTimes(1);
    expect(innerWatcher).toHaveBeenCalledTimes(1);
  });

  it('a stale exit handled after a stop began does not kill the new incarnation early with the old reason', async () => {
    const gateH = latch();
    const gateC = latch();
    const { system, log } = await start(
      supervisor({
        strategy: 'rest-for-one',
        intensity: LOTS,
        children: [
          { id: 'h', agent: worker('h', { gate: gateH.promise }), shutdownMs: 'infinity' },
          { id: 'a', agent: worker('a') },
          { id: 'b', agent: worker('b') },
          { id: 'c', agent: worker('c', { gate: gateC.promise }), shutdownMs: 'infinity' },
        ],
      }),
    );
    await system.tell('/h', 'inform', op('slow'));
    await system.tell('/c', 'inform', op('slow'));
    await system.whenIdle();
    await system.tell('/a', 'inform', op('crash')); // group [a, b, c]; halting c waits for its gate
    await system.whenIdle();
    const terminating = system.terminateChild('/', 'h'); // holds the queue next
    await system.tell('/b', 'inform', op('crash')); // b's exit is queued behind
    await system.whenIdle();
    gateC.open();
    await log.wait({ type: 'restarted', path: '/c' });
    const terminated = latch<Terminated>();
    system.watch('/b', (signal) => terminated.open(signal));
    const stopping = system.stop();
    gateH.open();
    await terminating;
    await stopping;
    expect((await terminated.promise).reason.kind).toBe('shutdown');
  });

  it('terminateChild and deleteChild on a supervisor replaced meanwhile reject with supervisor-stopped', async () => {
    const inner = supervisor({ strategy: 'one-for-all', intensity: LOTS, children: [{ id: 'a', agent: worker('a'), shutdownMs: 'infinity' }, { id: 'x', agent: worker('x') }] });
    const { system, log } = await start(supervisor({ strategy: 'one-for-all', intensity: LOTS, children: [{ id: 'inner', agent: inner, shutdownMs: 'brutal' }, { id: 'b', agent: worker('b') }] }));
    void system.request('/inner/a', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
    await system.whenIdle();
    await system.tell('/inner/x', 'inform', op('crash')); // inner is stuck halting a
    await system.whenIdle();
    const terminating = system.terminateChild('/inner', 'x').catch((caught: unknown) => caught);
    await system.tell('/b', 'inform', op('crash')); // the root replaces inner
    await system.whenIdle();
    await log.wait({ type: 'restarted', path: '/b' });
    await settled(system);
    expect(system.lookup('/inner/x')?.status).toBe('running');
    const error = await terminating;
    expect(error).toMatchObject({ code: 'supervisor-stopped' });
  });
});
