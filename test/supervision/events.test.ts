/** Supervision events (system.subscribe), watchers, and the promise that no caller waits for ever. */
import { assign, setup } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import { ask, defineAgent, FailureError, reply, supervisor, SystemStoppedError, type AclMessage, type SystemEvent, type Terminated } from '../../src/index.js';
import { latch, op, settled, start, useFakeDeadlines, worker } from '../conformance/helpers.js';

const INTENSITY = { maxRestarts: 5, withinMs: 60_000 };

function shape(event: SystemEvent): string {
  return `${event.type} ${event.path}${'reason' in event ? ` (${event.reason.split(':')[0]})` : ''}`;
}

describe('supervision events', () => {
  it('a crash: failed (old incarnation), started and restarted (new incarnation)', async () => {
    const { system, log } = await start(supervisor({ intensity: INTENSITY, children: [{ id: 'a', agent: worker('a') }] }));
    const old = system.lookup('/a')?.incarnation;
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/a' });
    const fresh = system.lookup('/a')?.incarnation;
    expect(log.events).toEqual([
      { type: 'failed', path: '/a', kind: 'agent', incarnation: old, reason: 'boom', at: expect.any(Number) },
      { type: 'started', path: '/a', kind: 'agent', incarnation: fresh, at: expect.any(Number) },
      { type: 'restarted', path: '/a', kind: 'agent', incarnation: fresh, restarts: 1, at: expect.any(Number) },
    ]);
    expect(fresh).not.toBe(old);
  });

  it('startChild: started for each new agent, a nested supervisor after its children', async () => {
    const { system, log } = await start(supervisor({}));
    await system.startChild('/', { id: 'a', agent: worker('a') });
    await system.startChild('/', { id: 'inner', agent: supervisor({ children: [{ id: 'x', agent: worker('x') }, { id: 'y', agent: worker('y') }] }) });
    expect(log.events.map(shape)).toEqual(['started /a', 'started /inner/x', 'started /inner/y', 'started /inner']);
    expect(log.events.map((event) => (event as { kind?: string }).kind)).toEqual(['agent', 'agent', 'agent', 'supervisor']);
  });

  it('a hang: hung, failed (hung), then the restart', async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ intensity: INTENSITY, children: [{ id: 'a', agent: worker('a'), heartbeat: { everyMs: 10, timeoutMs: 50 } }] }));
    void system.request('/a', op('hang'), { timeoutMs: Infinity }).catch(() => undefined);
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(100);
    await log.wait({ type: 'restarted', path: '/a' });
    expect(log.events.map(shape)).toEqual(['hung /a', 'failed /a (hung)', 'started /a', 'restarted /a']);
  });

  it('escalation: failed, escalated, children stopped, the supervisor stopped, then restarted by its parent', async () => {
    const inner = supervisor({ intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [{ id: 'x', agent: worker('x') }, { id: 'y', agent: worker('y') }] });
    const { system, log } = await start(supervisor({ intensity: INTENSITY, children: [{ id: 'inner', agent: inner }] }));
    await expect(system.request('/inner/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/inner' });
    expect(log.events.map(shape)).toEqual([
      'failed /inner/x (boom)',
      'escalated /inner (more than 0 restarts within 1000 ms (last)',
      'stopped /inner/y (restart-limit)',
      'stopped /inner/x (restart-limit)',
      'stopped /inner (restart-limit)',
      'started /inner/x',
      'started /inner/y',
      'started /inner',
      'restarted /inner',
    ]);
    expect(log.of('restarted', '/inner')[0]).toMatchObject({ kind: 'supervisor', incarnation: system.lookup('/inner')?.incarnation, restarts: 1 });
  });

  it('stopped: a final state reports normal, a temporary crash failed then stopped, system.stop every node children first', async () => {
    const { system, log } = await start(
      supervisor({
        children: [
          { id: 'done', agent: worker('done'), restart: 'transient' },
          { id: 'temp', agent: worker('temp'), restart: 'temporary' },
          { id: 'inner', agent: supervisor({ children: [{ id: 'x', agent: worker('x') }] }) },
          { id: 'last', agent: worker('last') },
        ],
      }),
    );
    await system.request('/done', op('stop'));
    await expect(system.request('/temp', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    expect(log.events.map(shape)).toEqual(['stopped /done (normal)', 'failed /temp (boom)', 'stopped /temp (boom)']);
    log.events.length = 0;
    await system.stop();
    expect(log.events.map(shape)).toEqual(['stopped /last (shutdown)', 'stopped /inner/x (shutdown)', 'stopped /inner (shutdown)', 'stopped / (shutdown)']);
  });

  it('a listener that throws does not keep the event from the others; unsubscribe stops delivery', async () => {
    const { system, log } = await start(supervisor({ intensity: INTENSITY, children: [{ id: 'a', agent: worker('a') }] }));
    const unsubscribeBad = system.subscribe(() => {
      throw new Error('bad listener');
    });
    const seen: string[] = [];
    const unsubscribe = system.subscribe((event) => seen.push(event.type));
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/a' });
    expect(seen).toEqual(['failed', 'started', 'restarted']);
    unsubscribe();
    unsubscribeBad();
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/a' }, 2);
    expect(seen).toHaveLength(3);
  });
});

describe('watchers', () => {
  it('a watcher is not told of restarts, only of the stop for good, once, with the last incarnation', async () => {
    const { system, log } = await start(supervisor({ intensity: INTENSITY, children: [{ id: 'a', agent: worker('a') }] }));
    const watcher = vi.fn<(signal: Terminated) => void>();
    system.watch('/a', watcher);
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/a' });
    expect(watcher).not.toHaveBeenCalled();
    const last = system.lookup('/a')?.incarnation;
    await system.terminateChild('/', 'a');
    expect(watcher).toHaveBeenCalledTimes(1);
    expect(watcher).toHaveBeenCalledWith({ type: 'terminated', path: '/a', incarnation: last, reason: { kind: 'shutdown' } });
    await system.restartChild('/', 'a');
    await system.terminateChild('/', 'a');
    expect(watcher).toHaveBeenCalledTimes(1); // a watch is for one stop; watch again for the next
  });

  it('watchers hear every way of stopping for good: temporary exit, transient normal exit, escalation, system stop', async () => {
    const inner = supervisor({ intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [{ id: 'x', agent: worker('x') }, { id: 'y', agent: worker('y') }] });
    const { system } = await start(
      supervisor({
        intensity: INTENSITY,
        children: [
          { id: 'temp', agent: worker('temp'), restart: 'temporary' },
          { id: 'trans', agent: worker('trans'), restart: 'transient' },
          { id: 'inner', agent: inner, restart: 'temporary' },
          { id: 'perm', agent: worker('perm') },
        ],
      }),
    );
    const reasons = new Map<string, string>();
    for (const path of ['/temp', '/trans', '/inner/x', '/inner/y', '/perm']) system.watch(path, (signal) => reasons.set(path, signal.reason.kind));
    await expect(system.request('/temp', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await system.request('/trans', op('stop'));
    await expect(system.request('/inner/y', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    await system.stop();
    expect(Object.fromEntries(reasons)).toEqual({ '/temp': 'crash', '/trans': 'normal', '/inner/y': 'restart-limit', '/inner/x': 'restart-limit', '/perm': 'shutdown' });
  });

  it('a watched supervisor is reported when it goes for good, not when its parent restarts it', async () => {
    const inner = () => supervisor({ intensity: { maxRestarts: 0, withinMs: 60_000 }, children: [{ id: 'x', agent: worker('x') }] });
    const group = supervisor({ strategy: 'one-for-all', intensity: INTENSITY, children: [{ id: 'restarted', agent: inner() }, { id: 'bystander', agent: inner() }] });
    const { system, log } = await start(
      supervisor({ intensity: INTENSITY, children: [{ id: 'group', agent: group }, { id: 'given-up', agent: inner(), restart: 'temporary' }] }),
    );
    const reasons = new Map<string, string>();
    for (const path of ['/group/restarted', '/group/bystander', '/given-up']) system.watch(path, (signal) => reasons.set(path, signal.reason.kind));
    // Gives up; its parent restarts the group (one-for-all), the other one as a bystander.
    await expect(system.request('/group/restarted/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/group/bystander' });
    expect(reasons.size).toBe(0);
    // A temporary supervisor that gives up is not restarted: gone for good, with its reason.
    await expect(system.request('/given-up/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    expect(Object.fromEntries(reasons)).toEqual({ '/given-up': 'restart-limit' });
    await system.terminateChild('/group', 'bystander');
    expect(reasons.get('/group/bystander')).toBe('shutdown');
    await system.stop();
    expect(reasons.get('/group/restarted')).toBe('shutdown');
  });

  it('an unwatched listener is not called', async () => {
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: worker('a') }] }));
    const watcher = vi.fn();
    const unwatch = system.watch('/a', watcher);
    unwatch();
    await system.terminateChild('/', 'a');
    expect(watcher).not.toHaveBeenCalled();
  });
});

/** Handles a request and never answers it. */
const silent = defineAgent({ name: 'silent', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: () => undefined } } }) });

/** Asks `target` on behalf of its requester and relays the outcome (inform or failure). */
const brokerTo = (target: string) => defineAgent({
  name: 'broker',
  machine: setup({ types: { context: {} as { request: AclMessage | undefined }, events: {} as AclMessage }, actors: { ask } }).createMachine({
    context: { request: undefined },
    initial: 'idle',
    states: {
      idle: { on: { request: { target: 'asking', actions: assign({ request: ({ event }) => event }) } } },
      asking: {
        invoke: {
          src: 'ask',
          input: ({ context }) => ({ to: target, content: (context.request as AclMessage).content, timeoutMs: 60_000 }),
          onDone: { target: 'idle', actions: reply('inform', ({ event }) => ({ relayed: (event as unknown as { output: AclMessage }).output.content as never }), { to: ({ context }) => context.request as AclMessage }) },
          onError: { target: 'idle', actions: reply('failure', ({ event }) => ({ reason: 'downstream', detail: String((event as unknown as { error: Error }).error.message) }), { to: ({ context }) => context.request as AclMessage }) },
        },
      },
    },
  }),
});

describe('no caller waits for ever', () => {
  it('requests without a deadline get an answer in every failure mode', async () => {
    const stopGate = latch();
    const inner = supervisor({ intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [{ id: 'doomed', agent: worker('doomed') }, { id: 'other', agent: worker('other', { onStop: () => stopGate.open() }) }] });
    const { system } = await start(
      supervisor({
        intensity: INTENSITY,
        children: [
          { id: 'b', agent: worker('b') },
          { id: 'broker', agent: brokerTo('/b') },
          { id: 'temp', agent: worker('temp'), restart: 'temporary' },
          { id: 'inner', agent: inner, restart: 'temporary' },
          { id: 'silent', agent: silent },
        ],
      }),
    );
    const forever = { timeoutMs: Infinity };
    const reasonOf = async (promise: Promise<unknown>) => {
      const outcome = await promise.then(
        () => 'answered',
        (error: unknown) => (error instanceof FailureError ? (error.reason ?? error.reply.content) : error),
      );
      return outcome;
    };
    expect(await reasonOf(system.request('/nobody', op('ok'), forever))).toBe('no-such-agent');
    expect(await reasonOf(system.request('/inner', op('ok'), forever))).toBe('not-an-agent');
    // an agent asking a crashing agent hears the failure and can answer its own requester
    const relayed = await system.request('/broker', op('crash'), forever).catch((error: unknown) => error);
    expect((relayed as FailureError).reply.content).toMatchObject({ reason: 'downstream', detail: expect.stringContaining('failed: boom') });
    expect((await system.request('/broker', op('ok'), forever)).content).toEqual({ relayed: { count: 1, input: undefined } });
    // queued behind a crash of a temporary agent: the agent is gone, the message is answered
    await system.tell('/temp', 'inform', op('crash'));
    const behind = system.request('/temp', op('ok'), forever);
    expect(await reasonOf(behind)).toBe('agent-stopped');
    expect(await reasonOf(system.request('/temp', op('ok'), forever))).toBe('no-such-agent');
    // queued at a supervisor that gives up
    await system.tell('/inner/doomed', 'inform', op('crash'));
    const doomed = system.request('/inner/doomed', op('ok'), forever);
    expect(await reasonOf(doomed)).toBe('agent-stopped');
    await stopGate.promise;
    // accepted and never answered: the stop answers it
    const unanswered = reasonOf(system.request('/silent', op('ok'), forever));
    await system.whenIdle();
    const inFlight = reasonOf(system.request('/b', op('ok'), forever));
    await system.stop();
    expect(await unanswered).toBe('agent-stopped');
    expect(await inFlight).toMatch(/answered|agent-stopping|agent-stopped|system-stopped/);
    await expect(system.request('/b', op('ok'), forever)).rejects.toBeInstanceOf(SystemStoppedError);
  });
});

describe('an agent waiting on another', () => {
  it('stopping an agent in the middle of an ask aborts the ask: nothing stays pending, its requester is answered', async () => {
    const { system } = await start(
      supervisor({
        children: [
          { id: 'silent', agent: silent },
          { id: 'broker', agent: brokerTo('/silent') },
        ],
      }),
    );
    const pending = (system as unknown as { runtime: { asks: { size: number } } }).runtime.asks;
    const outer = system.request('/broker', op('ok'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    expect(pending.size).toBe(2); // the outer request and the broker's ask
    await system.terminateChild('/', 'broker');
    expect(((await outer) as FailureError).reason).toBe('agent-stopped');
    expect(pending.size).toBe(0);
  });
});

