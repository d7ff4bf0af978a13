/**
 * Troupe's supervisors against the cases of OTP's lib/stdlib/test/supervisor_SUITE.erl.
 * Tests are written from OTP's documented semantics and named after the original cases;
 * where a case was split or adapted, the name says so.
 *
 * Cases that do not apply to Troupe, and why:
 * - sup_start_ignore_init, sup_start_ignore_child, sup_start_ignore_temporary_child,
 *   sup_start_ignore_*_start_child(_simple): there is no `ignore` return from a start; an
 *   agent either starts or fails (StartError).
 * - sup_start_error_return, extra_return: a Troupe supervisor has no init/1 callback that
 *   could return a malformed value; its options are validated by `supervisor({...})` itself
 *   (see sup_start_map_faulty_specs / child_specs below).
 * - child_unlink, already_dead_stop_timeout(_simple), v5_node, simple_global_supervisor: no
 *   links, pids, nodes or global names. (already_dead_basic is adapted: an exit racing a
 *   terminateChild.)
 * - code_change(_map/_simple...), significant_upgrade_child, get_callback_module,
 *   format_log_1/2, count_children_memory, faulty_application_shutdown: no hot code upgrade,
 *   callback modules, SASL report formats, per-process memory or applications.
 * - simple_one_for_one-only semantics (unnamed children addressed by pid; restart_child and
 *   delete_child answering {error, simple_one_for_one}): Troupe's `template` children have
 *   ids and paths, so child_adm_simple checks that the whole runtime API works on them.
 * - An agent cannot exit with reason `shutdown` on its own (it ends by a final state =
 *   normal, or by an error = crash): the *_shutdown matrix cases use a nested supervisor that
 *   shuts itself down through `autoShutdown`, which exits with `shutdown` as in OTP.
 *
 * Known differences kept on purpose: when a start fails halfway, the children already
 * started are killed at once (OTP stops them with their shutdown spec).
 */
import { describe, expect, it, vi } from 'vitest';
import {
  FailureError,
  StartError,
  SupervisorError,
  SupervisorSpecError,
  ConfigurationError,
  SystemStoppedError,
  supervisor,
  type ChildSpec,
  type NodeSpec,
  type RestartType,
  type SupervisorOptions,
  type Terminated,
} from '../../src/index.js';
import { pino } from 'pino';
import { createSystem } from '../../src/index.js';
import { latch, op, settled, start, tracked, useFakeDeadlines, worker } from './helpers.js';

const okWorker = worker('ok');

async function expectCode(promise: Promise<unknown>, type: new (...args: never[]) => Error, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(type);
  expect((error as { code?: string }).code).toBe(code);
}

function ids(children: { id: string }[]): string[] {
  return children.map((child) => child.id);
}

describe('sup_start', () => {
  it('sup_start_normal: children start in order, the supervisor is running with every child', async () => {
    const order: string[] = [];
    const child = (id: string): ChildSpec => ({ id, agent: worker(id, { onStart: () => order.push(id) }) });
    const { system } = await start(supervisor({ children: [child('a'), child('b'), child('c')] }));
    expect(order).toEqual(['a', 'b', 'c']);
    expect(system.whichChildren().map(({ id, status, kind }) => ({ id, status, kind }))).toEqual([
      { id: 'a', status: 'running', kind: 'agent' },
      { id: 'b', status: 'running', kind: 'agent' },
      { id: 'c', status: 'running', kind: 'agent' },
    ]);
    expect(system.lookup('/')?.status).toBe('running');
    expect(system.whichChildren().every((info) => typeof info.incarnation === 'string')).toBe(true);
  });

  it('sup_start_fail: a child failing to start fails the start with its reason; started ones are stopped, later ones never start', async () => {
    const started: string[] = [];
    const stopped: string[] = [];
    const child = (id: string, fail = false): ChildSpec => ({
      id,
      agent: worker(id, {
        onStart: () => {
          if (fail) throw new Error(`${id} refuses`);
          started.push(id);
        },
        onStop: () => stopped.push(id),
      }),
    });
    const error = await createSystem({ root: supervisor({ children: [child('a'), child('b'), child('c', true), child('d')] })}).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).path).toBe('/c');
    expect(((error as StartError).cause as Error).message).toBe('c refuses');
    expect(started).toEqual(['a', 'b']);
    // the failed incarnation's own invoked work is cleaned up, then the started children stop in reverse order
    expect(stopped).toEqual(['c', 'b', 'a']);
  });

  it('sup_start_fail (nested): a failing grandchild fails the whole start', async () => {
    const stopped: string[] = [];
    const inner = supervisor({
      children: [
        { id: 'x', agent: worker('x', { onStop: () => stopped.push('x') }) },
        {
          id: 'y',
          agent: worker('y', {
            onStart: () => {
              throw new Error('y refuses');
            },
          }),
        },
      ],
    });
    const error = await createSystem({ root: supervisor({ children: [{ id: 'w', agent: worker('w', { onStop: () => stopped.push('w') }) }, { id: 'inner', agent: inner }] }) }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).path).toBe('/inner/y');
    expect(stopped).toEqual(['x', 'w']);
  });

  it('sup_start_child_returns_error: startChild of a child that fails to start rejects with its reason and leaves nothing behind', async () => {
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: okWorker }] }));
    const failing = worker('failing', {
      onStart: () => {
        throw new Error('no');
      },
    });
    await expectCode(system.startChild('/', { id: 'b', agent: failing }), StartError, 'start-failed');
    expect(ids(system.whichChildren())).toEqual(['a']);
    expect(system.countChildren()).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
    expect(system.lookup('/b')).toBeUndefined();
    // The id and path are free again: a healthy child can take them.
    const info = await system.startChild('/', { id: 'b', agent: okWorker });
    expect(info.status).toBe('running');
    expect((await system.request('/b', op('ok'))).content).toMatchObject({ count: 1 });
  });

  it('sup_start_restart_child_returns_error: restartChild of a child that fails to start rejects; the child stays terminated', async () => {
    let failNext = false;
    const flaky = worker('flaky', {
      onStart: () => {
        if (failNext) throw new Error('not now');
      },
    });
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: flaky }] }));
    await system.terminateChild('/', 'a');
    failNext = true;
    await expectCode(system.restartChild('/', 'a'), StartError, 'start-failed');
    expect(system.whichChildren()[0]).toMatchObject({ id: 'a', status: 'stopped' });
    expect(system.lookup('/a')).toBeUndefined();
    expect(((await system.request('/a', op('ok')).catch((caught: unknown) => caught)) as FailureError).reason).toBe('no-such-agent');
    failNext = false;
    await system.restartChild('/', 'a');
    expect((await system.request('/a', op('ok'))).content).toMatchObject({ count: 1 });
  });

  it('sup_start_map: defaults are permanent, one-for-one, 5,000 ms for agents and infinity for supervisors', async () => {
    useFakeDeadlines();
    const gate = latch();
    const { system, log } = await start(
      supervisor({
        children: [
          { id: 'a', agent: okWorker },
          { id: 'b', agent: okWorker },
          { id: 'inner', agent: supervisor({ children: [{ id: 'slow', agent: worker('slow', { gate: gate.promise }), shutdownMs: 10_000 }] }) },
          { id: 'slowAgent', agent: worker('slowAgent') },
        ],
      }),
    );
    // permanent: even a normal exit is restarted
    const b = system.lookup('/b')?.incarnation;
    await system.request('/a', op('stop'));
    await log.wait({ type: 'restarted', path: '/a' });
    // one-for-one: the sibling is untouched
    expect(system.lookup('/b')?.incarnation).toBe(b);
    // shutdown defaults, in reverse start order: the agent gets 5,000 ms, then the nested
    // supervisor ('infinity') waits for its own child's full 10,000 ms
    const hang = system.request('/slowAgent', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    const slow = system.request('/inner/slow', op('slow'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    let stopped = false;
    const stopping = system.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(system.lookup('/slowAgent')?.status).toBe('stopping');
    await vi.advanceTimersByTimeAsync(1);
    expect(system.lookup('/slowAgent')).toBeUndefined();
    expect(await hang).toBeInstanceOf(FailureError);
    expect(system.lookup('/inner/slow')?.status).toBe('stopping');
    await vi.advanceTimersByTimeAsync(9_999);
    expect(stopped).toBe(false); // a 5,000 ms default for supervisors would have killed it by now
    expect(system.lookup('/inner/slow')?.status).toBe('stopping');
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(await slow).toBeInstanceOf(FailureError);
  });

  it('sup_start_map_faulty_specs / child_specs: invalid specs are refused with a named SupervisorSpecError', () => {
    const nested = supervisor({});
    const faulty: [string, () => unknown][] = [
      ['missing-id', () => supervisor({ children: [{ agent: okWorker } as unknown as ChildSpec] })],
      ['missing-id', () => supervisor({ children: [{ id: '', agent: okWorker }] })],
      ['invalid-id', () => supervisor({ children: [{ id: 'a/b', agent: okWorker }] })],
      ['invalid-id', () => supervisor({ children: [{ id: '..', agent: okWorker }] })],
      ['duplicate-child-id', () => supervisor({ children: [{ id: 'a', agent: okWorker }, { id: 'a', agent: okWorker }] })],
      ['invalid-child', () => supervisor({ children: [{ id: 'a', agent: {} as never }] })],
      ['invalid-child-spec', () => supervisor({ children: [null as unknown as ChildSpec] })],
      ['invalid-children', () => supervisor({ children: 'a' as never })],
      ['invalid-restart-type', () => supervisor({ children: [{ id: 'a', agent: okWorker, restart: 'sometimes' as RestartType }] })],
      ['invalid-shutdown', () => supervisor({ children: [{ id: 'a', agent: okWorker, shutdownMs: -1 }] })],
      ['invalid-shutdown', () => supervisor({ children: [{ id: 'a', agent: okWorker, shutdownMs: 1.5 }] })],
      ['invalid-shutdown', () => supervisor({ children: [{ id: 'a', agent: okWorker, shutdownMs: 'forever' as never }] })],
      ['invalid-significant', () => supervisor({ children: [{ id: 'a', agent: okWorker, significant: true }] })],
      ['invalid-significant', () => supervisor({ children: [{ id: 'a', agent: okWorker, restart: 'transient', significant: 'yes' as never }] })],
      ['invalid-heartbeat', () => supervisor({ children: [{ id: 'a', agent: okWorker, heartbeat: { everyMs: 0, timeoutMs: 10 } }] })],
      ['invalid-on-restart', () => supervisor({ children: [{ id: 'a', agent: okWorker, onRestart: 'maybe' as never }] })],
      ['invalid-child', () => supervisor({ children: [{ id: 'a', agent: nested, heartbeat: { everyMs: 1, timeoutMs: 1 } }] })],
      ['invalid-intensity', () => supervisor({ intensity: { maxRestarts: -1, withinMs: 1_000 } })],
      ['invalid-intensity', () => supervisor({ intensity: { maxRestarts: 1.5, withinMs: 1_000 } })],
      ['invalid-period', () => supervisor({ intensity: { maxRestarts: 1, withinMs: 0 } })],
      ['invalid-strategy', () => supervisor({ strategy: 'one-for-some' as never })],
      ['invalid-auto-shutdown', () => supervisor({ autoShutdown: 'sometimes' as never })],
      ['invalid-backoff', () => supervisor({ backoff: { minMs: 10, maxMs: 5 } })],
      ['invalid-supervisor', () => supervisor(null as unknown as SupervisorOptions)],
      ['invalid-restart-type', () => supervisor({ template: { agent: okWorker, restart: 'never' as never } })],
    ];
    for (const [code, make] of faulty) {
      let caught: unknown;
      try {
        make();
      } catch (error) {
        caught = error;
      }
      expect(caught, code).toBeInstanceOf(SupervisorSpecError);
      expect((caught as SupervisorSpecError).code).toBe(code);
    }
    // and the valid shapes are accepted
    expect(() =>
      supervisor({
        strategy: 'rest-for-one',
        intensity: { maxRestarts: 0, withinMs: 1 },
        autoShutdown: 'all-significant',
        children: [
          { id: 'a', agent: okWorker, restart: 'permanent', shutdownMs: 0 },
          { id: 'b', agent: okWorker, restart: 'transient', shutdownMs: 'brutal', significant: true },
          { id: 'c', agent: okWorker, restart: 'temporary', shutdownMs: 'infinity', significant: true },
          { id: 'd', agent: nested, restart: 'transient', shutdownMs: 100 },
        ],
      }),
    ).not.toThrow();
  });

  it('sup_start_map_faulty_specs (runtime): startChild with a bad spec throws and changes nothing', async () => {
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: okWorker }] }));
    expect(() => system.startChild('/', { id: 'b', agent: okWorker, restart: 'nope' as never })).toThrow(SupervisorSpecError);
    expect(() => system.startChild('/', { id: 'b' })).toThrow(SupervisorSpecError); // no template
    expect(() => system.startChild('/a', { id: 'b', agent: okWorker })).toThrow(ConfigurationError); // not a supervisor
    expect(ids(system.whichChildren())).toEqual(['a']);
  });
});

describe('sup_stop', () => {
  it('sup_stop_infinity: a child with shutdown infinity is waited for as long as it works', async () => {
    useFakeDeadlines();
    const gate = latch();
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: worker('a', { gate: gate.promise }), shutdownMs: 'infinity' }] }));
    const slow = system.request('/a', op('slow'), { timeoutMs: Infinity });
    await system.whenIdle();
    let stopped = false;
    const stopping = system.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(stopped).toBe(false);
    gate.open();
    await stopping;
    // it finished its work, so the request it was handling got its real answer
    expect((await slow).content).toEqual({ done: true });
  });

  it('sup_stop_timeout: a child that keeps working past its shutdown time is killed then', async () => {
    useFakeDeadlines();
    const aborted = latch();
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: worker('a', { onAbort: () => aborted.open() }), shutdownMs: 1_000 }] }));
    const hang = system.request('/a', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    let stopped = false;
    const stopping = system.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(stopped).toBe(false);
    expect(aborted.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(aborted.settled).toBe(true);
    const error = await hang;
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).reason).toBe('agent-stopped');
  });

  it('sup_stop_brutal_kill: a brutal child is stopped at once, its work aborted', async () => {
    useFakeDeadlines();
    const aborted = latch();
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: worker('a', { onAbort: () => aborted.open() }), shutdownMs: 'brutal' }] }));
    const hang = system.request('/a', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await system.stop(); // no timer advanced: nothing waits
    expect(aborted.settled).toBe(true);
    expect(await hang).toBeInstanceOf(FailureError);
  });

  it('sup_stop_timeout (supervisor child): a subtree that outlives its shutdown time is killed whole', async () => {
    useFakeDeadlines();
    const aborted = latch();
    const inner = supervisor({ children: [{ id: 'w', agent: worker('w', { onAbort: () => aborted.open() }), shutdownMs: 'infinity' }] });
    const { system } = await start(supervisor({ children: [{ id: 'inner', agent: inner, shutdownMs: 1_000 }] }));
    const hang = system.request('/inner/w', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    let stopped = false;
    const stopping = system.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(stopped).toBe(false);
    expect(aborted.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(aborted.settled).toBe(true);
    expect(system.lookup('/inner/w')).toBeUndefined();
    expect(await hang).toBeInstanceOf(FailureError);
  });

  it('sup_stop_timeout (deep subtree): the kill reaches grandchildren of a supervisor that ran out of time', async () => {
    useFakeDeadlines();
    const aborted = latch();
    const leaf = supervisor({ children: [{ id: 'w', agent: worker('w', { onAbort: () => aborted.open() }), shutdownMs: 'infinity' }] });
    const mid = supervisor({ children: [{ id: 'leaf', agent: leaf }] }); // 'infinity' by default
    const { system } = await start(supervisor({ children: [{ id: 'mid', agent: mid, shutdownMs: 1_000 }] }));
    const hang = system.request('/mid/leaf/w', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    let stopped = false;
    const stopping = system.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(aborted.settled).toBe(true);
    expect(system.lookup('/mid/leaf/w')).toBeUndefined();
    expect(system.lookup('/mid/leaf')).toBeUndefined();
    expect(await hang).toBeInstanceOf(FailureError);
  });

  it('sup_stop_brutal_kill (supervisor child): a brutal subtree is killed at once, whatever its children\'s own shutdown', async () => {
    useFakeDeadlines();
    const aborted = latch();
    const terminated = latch<Terminated>();
    const inner = supervisor({ children: [{ id: 'w', agent: worker('w', { onAbort: () => aborted.open() }), shutdownMs: 60_000 }] });
    const { system } = await start(supervisor({ children: [{ id: 'inner', agent: inner, shutdownMs: 'brutal' }] }));
    system.watch('/inner/w', (signal) => terminated.open(signal));
    const hang = system.request('/inner/w', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await system.stop(); // no timer advanced
    expect(aborted.settled).toBe(true);
    expect((await terminated.promise).reason.kind).toBe('killed');
    expect(await hang).toBeInstanceOf(FailureError);
    expect(system.lookup('/inner/w')).toBeUndefined();
  });

  it('sup_stop_manual: children stop in reverse start order and watchers are told', async () => {
    const stopped: string[] = [];
    const child = (id: string): ChildSpec => ({ id, agent: worker(id, { onStop: () => stopped.push(id) }) });
    const { system } = await start(supervisor({ children: [child('a'), child('b'), { id: 'inner', agent: supervisor({ children: [child('x'), child('y')] }) }, child('c')] }));
    const terminated: Terminated[] = [];
    for (const path of ['/a', '/b', '/inner/x', '/inner/y', '/c']) system.watch(path, (signal) => terminated.push(signal));
    await system.stop();
    expect(stopped).toEqual(['c', 'y', 'x', 'b', 'a']);
    expect(terminated.map((signal) => `${signal.path} ${signal.reason.kind}`)).toEqual(['/c shutdown', '/inner/y shutdown', '/inner/x shutdown', '/b shutdown', '/a shutdown']);
    await expect(system.whenTerminated).resolves.toEqual({ kind: 'shutdown' });
    await expect(system.request('/a', op('ok'))).rejects.toBeInstanceOf(SystemStoppedError);
  });
});

describe('runtime API', () => {
  it('child_adm: startChild, terminateChild, restartChild, deleteChild, whichChildren and their errors', async () => {
    const { system } = await start(supervisor({ children: [{ id: 'a', agent: okWorker }] }));
    const started = await system.startChild('/', { id: 'c', agent: okWorker });
    expect(started).toMatchObject({ id: 'c', path: '/c', kind: 'agent', status: 'running', restarts: 0 });
    expect(ids(system.whichChildren())).toEqual(['a', 'c']);
    await expectCode(system.startChild('/', { id: 'c', agent: okWorker }), SupervisorError, 'already-started');
    await expectCode(system.restartChild('/', 'c'), SupervisorError, 'running');
    await expectCode(system.deleteChild('/', 'c'), SupervisorError, 'running');

    const terminated = latch<Terminated>();
    system.watch('/c', (signal) => terminated.open(signal));
    await system.terminateChild('/', 'c');
    expect((await terminated.promise).reason).toEqual({ kind: 'shutdown' });
    expect(system.whichChildren().find((child) => child.id === 'c')).toMatchObject({ status: 'stopped', incarnation: undefined });
    expect(system.lookup('/c')).toBeUndefined();
    const gone = await system.request('/c', op('ok')).catch((caught: unknown) => caught);
    expect((gone as FailureError).reason).toBe('no-such-agent');
    await expectCode(system.startChild('/', { id: 'c', agent: okWorker }), SupervisorError, 'already-present');
    await system.terminateChild('/', 'c'); // terminating a terminated child is fine (OTP returns ok)

    const restarted = await system.restartChild('/', 'c');
    expect(restarted.status).toBe('running');
    expect(restarted.incarnation).not.toBe(started.incarnation);
    expect((await system.request('/c', op('ok'))).content).toMatchObject({ count: 1 });

    await system.terminateChild('/', 'c');
    await system.deleteChild('/', 'c');
    expect(ids(system.whichChildren())).toEqual(['a']);
    await expectCode(system.deleteChild('/', 'c'), SupervisorError, 'not-found');
    await expectCode(system.terminateChild('/', 'nope'), SupervisorError, 'not-found');
    await expectCode(system.restartChild('/', 'nope'), SupervisorError, 'not-found');

    // terminate_child of a temporary child deletes its spec
    await system.startChild('/', { id: 't', agent: okWorker, restart: 'temporary' });
    await system.terminateChild('/', 't');
    expect(ids(system.whichChildren())).toEqual(['a']);
    expect(() => system.whichChildren('/a')).toThrow(ConfigurationError);
  });

  it('child_adm_simple: children from a template get their own input and the whole runtime API', async () => {
    const { system } = await start(supervisor({ template: { agent: worker('pooled'), restart: 'transient' } }));
    for (const n of [1, 2, 3]) await system.startChild('/', { id: `w${n}`, input: { n } });
    expect(system.whichChildren().map(({ id, status }) => `${id}:${status}`)).toEqual(['w1:running', 'w2:running', 'w3:running']);
    for (const n of [1, 2, 3]) expect((await system.request(`/w${n}`, op('ok'))).content).toEqual({ count: 1, input: { n } });
    await expectCode(system.startChild('/', { id: 'w2', input: { n: 9 } }), SupervisorError, 'already-started');
    await system.terminateChild('/', 'w2');
    await system.restartChild('/', 'w2');
    expect((await system.request('/w2', op('ok'))).content).toEqual({ count: 1, input: { n: 2 } });
    // transient from the template: a crash is restarted, a normal exit is not
    await expect(system.request('/w1', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    expect(system.whichChildren()[0]).toMatchObject({ id: 'w1', status: 'running', restarts: 1 });
    await system.request('/w3', op('stop'));
    await settled(system);
    expect(system.whichChildren()[2]).toMatchObject({ id: 'w3', status: 'stopped' });
    await system.deleteChild('/', 'w3');
    expect(system.countChildren()).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 });
  });

  it('do_not_save_child_specs_for_temporary_children: a temporary child that exits leaves no spec', async () => {
    const { system } = await start(supervisor({ template: { agent: okWorker, restart: 'temporary' } }));
    await system.startChild('/', { id: 't1', input: { big: 'x'.repeat(1_000) } });
    await system.startChild('/', { id: 't2' });
    await expect(system.request('/t1', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await system.request('/t2', op('stop'));
    await settled(system);
    expect(system.countChildren()).toEqual({ specs: 0, active: 0, supervisors: 0, workers: 0 });
    // the id can be used again
    await system.startChild('/', { id: 't1' });
    expect(system.countChildren().active).toBe(1);
  });

  it('count_children: specs, active, supervisors and workers', async () => {
    const { system } = await start(
      supervisor({
        children: [
          { id: 'a', agent: okWorker },
          { id: 'b', agent: okWorker, restart: 'transient' },
          { id: 'inner', agent: supervisor({ children: [{ id: 'x', agent: okWorker }] }) },
        ],
      }),
    );
    expect(system.countChildren()).toEqual({ specs: 3, active: 3, supervisors: 1, workers: 2 });
    expect(system.countChildren('/inner')).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
    await system.terminateChild('/', 'inner');
    await system.request('/b', op('stop'));
    await settled(system);
    expect(system.countChildren()).toEqual({ specs: 3, active: 1, supervisors: 1, workers: 2 });
    await system.startChild('/', { id: 'c', agent: okWorker });
    expect(system.countChildren()).toEqual({ specs: 4, active: 2, supervisors: 1, workers: 3 });
  });

  it('count_restarting_children: a child waiting to restart counts as a spec, not as active', async () => {
    useFakeDeadlines();
    const { system, log } = await start(
      supervisor({
        backoff: { minMs: 1_000, maxMs: 1_000, jitter: 0 },
        intensity: { maxRestarts: 10, withinMs: 60_000 },
        children: [
          { id: 'a', agent: okWorker },
          { id: 'b', agent: okWorker },
        ],
      }),
    );
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    expect(system.countChildren()).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 });
    expect(system.whichChildren()[0]).toMatchObject({ id: 'a', status: 'restarting', incarnation: undefined });
    await expectCode(system.restartChild('/', 'a'), SupervisorError, 'restarting');
    await expectCode(system.deleteChild('/', 'a'), SupervisorError, 'restarting');
    await vi.advanceTimersByTimeAsync(1_000);
    await log.wait({ type: 'restarted', path: '/a' });
    expect(system.countChildren()).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 });
  });
});

describe('sup_flags and restart intensity', () => {
  it('sup_flags: the default intensity is 1 restart in 5,000 ms', async () => {
    useFakeDeadlines();
    const first = await start(supervisor({ children: [{ id: 'a', agent: okWorker }] }));
    await expect(first.system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await first.log.wait({ type: 'restarted', path: '/a' });
    await vi.advanceTimersByTimeAsync(5_001);
    await expect(first.system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await first.log.wait({ type: 'restarted', path: '/a' }, 2); // the first restart left the window
    await vi.advanceTimersByTimeAsync(4_999);
    await expect(first.system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(first.system.whenTerminated).resolves.toMatchObject({ kind: 'restart-limit' });
  });

  it('sup_flags: intensity 0 gives up at the first exit to restart', async () => {
    const { system, log } = await start(supervisor({ intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [{ id: 'a', agent: okWorker }] }));
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(system.whenTerminated).resolves.toMatchObject({ kind: 'restart-limit' });
    expect(log.of('escalated', '/')).toHaveLength(1);
    expect(log.of('restarted')).toHaveLength(0);
  });

  it('sup_flags: the intensity counts restarts of all children together, not per child', async () => {
    const { system } = await start(supervisor({ intensity: { maxRestarts: 1, withinMs: 60_000 }, children: [{ id: 'a', agent: okWorker }, { id: 'b', agent: okWorker }] }));
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await settled(system);
    expect(system.lookup('/')?.status).toBe('running');
    await expect(system.request('/b', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(system.whenTerminated).resolves.toMatchObject({ kind: 'restart-limit', detail: expect.stringContaining('last: b') });
  });

  it('multiple_restarts: a child whose restarts fail a few times is retried until it starts', async () => {
    let failures = 0;
    let starts = 0;
    const flaky = worker('flaky', {
      onStart: () => {
        starts++;
        if (starts > 1 && failures < 3) {
          failures++;
          throw new Error('not yet');
        }
      },
    });
    const { system, log } = await start(supervisor({ intensity: { maxRestarts: 10, withinMs: 60_000 }, children: [{ id: 'a', agent: flaky }] }));
    const queued = system.tell('/a', 'inform', op('crash'));
    const after = system.request('/a', op('ok'), { timeoutMs: Infinity });
    await queued;
    await log.wait({ type: 'restarted', path: '/a' });
    expect(failures).toBe(3);
    expect(starts).toBe(5);
    expect((await after).content).toMatchObject({ count: 1 }); // waited in the mailbox through the failed starts
    expect(system.whichChildren()[0]).toMatchObject({ status: 'running', restarts: 4 });
  });

  it('hanging_restart_loop: a child that never restarts exhausts the intensity; the supervisor answers calls meanwhile, then escalates', async () => {
    let starts = 0;
    const broken = worker('broken', {
      onStart: () => {
        starts++;
        if (starts > 1) throw new Error('cannot start');
      },
    });
    const stoppedSibling = latch();
    const { system, log } = await start(
      supervisor({
        intensity: { maxRestarts: 3, withinMs: 60_000 },
        children: [
          { id: 'sibling', agent: worker('sibling', { onStop: () => stoppedSibling.open() }) },
          { id: 'a', agent: broken },
        ],
      }),
    );
    await system.tell('/a', 'inform', op('crash'));
    const waiting = system.request('/a', op('ok'), { timeoutMs: Infinity });
    const reason = await system.whenTerminated;
    expect(reason).toMatchObject({ kind: 'restart-limit' });
    expect(starts).toBe(4); // the first start, then 3 restarts allowed; the 4th exceeds the intensity
    await stoppedSibling.promise;
    expect(log.of('escalated', '/')).toHaveLength(1);
    await expect(waiting).rejects.toBeInstanceOf(FailureError); // nobody waits for ever
  });
});

describe('more restart cases', () => {
  it('hanging_restart_loop_rest_for_one: a later child that cannot restart exhausts the intensity', async () => {
    let starts = 0;
    const broken = worker('broken', {
      onStart: () => {
        starts++;
        if (starts > 1) throw new Error('cannot start');
      },
    });
    const { system, log } = await start(
      supervisor({ strategy: 'rest-for-one', intensity: { maxRestarts: 3, withinMs: 60_000 }, children: [{ id: 'a', agent: okWorker }, { id: 'b', agent: broken }, { id: 'c', agent: okWorker }] }),
    );
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(system.whenTerminated).resolves.toMatchObject({ kind: 'restart-limit' });
    expect(starts).toBe(4);
    expect(log.of('escalated', '/')).toHaveLength(1);
  });

  it('simple_one_for_one_escalation: template children past the intensity make the supervisor give up', async () => {
    const pool = supervisor({ intensity: { maxRestarts: 1, withinMs: 60_000 }, template: { agent: okWorker } });
    const { system, log } = await start(supervisor({ intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [{ id: 'pool', agent: pool }] }));
    await system.startChild('/pool', { id: 'p1' });
    await system.startChild('/pool', { id: 'p2' });
    await expect(system.request('/pool/p1', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(system.request('/pool/p2', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'escalated', path: '/pool' });
    await log.wait({ type: 'restarted', path: '/pool' });
    expect(system.whichChildren('/pool')).toEqual([]); // dynamic children are not recreated
  });

  it('already_dead_basic: terminateChild racing the exit of the same child terminates it; it is not restarted', async () => {
    const { system, log } = await start(supervisor({ intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [{ id: 'a', agent: okWorker }] }));
    let terminating: Promise<void> | undefined;
    system.subscribe((event) => {
      // told of the crash before the supervisor handles it: the call is queued ahead of the exit
      if (event.type === 'failed' && event.path === '/a') terminating ??= system.terminateChild('/', 'a');
    });
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await terminating;
    await settled(system);
    expect(system.whichChildren()[0]).toMatchObject({ id: 'a', status: 'stopped' });
    expect(log.of('restarted')).toHaveLength(0);
    expect(system.lookup('/a')).toBeUndefined();
  });

  it('significant_escalation: a significant child past the intensity escalates (restart-limit), not an auto shutdown', async () => {
    const inner = supervisor({ autoShutdown: 'any-significant', intensity: { maxRestarts: 0, withinMs: 60_000 }, children: [{ id: 'job', agent: okWorker, restart: 'transient', significant: true }] });
    const { system, log } = await start(supervisor({ intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [{ id: 'inner', agent: inner, restart: 'transient' }] }));
    await expect(system.request('/inner/job', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'escalated', path: '/inner' });
    await log.wait({ type: 'restarted', path: '/inner' }); // transient and abnormal (restart-limit): restarted
    expect(log.of('stopped', '/inner')[0]).toMatchObject({ reason: expect.stringContaining('restart-limit') });
  });
});

describe('restart type × exit reason', () => {
  const agentCases: [RestartType, 'normal' | 'abnormal', 'restarted' | 'kept' | 'dropped'][] = [
    ['permanent', 'normal', 'restarted'],
    ['permanent', 'abnormal', 'restarted'],
    ['transient', 'normal', 'kept'],
    ['transient', 'abnormal', 'restarted'],
    ['temporary', 'normal', 'dropped'],
    ['temporary', 'abnormal', 'dropped'],
  ];
  for (const [restart, exit, outcome] of agentCases) {
    it(`${restart}_${exit}: ${outcome}`, async () => {
      const { system, log } = await start(supervisor({ children: [{ id: 'a', agent: okWorker, restart }, { id: 'b', agent: okWorker }] }));
      const terminated = vi.fn();
      system.watch('/a', terminated);
      const answer = system.request('/a', op(exit === 'normal' ? 'stop' : 'crash')).catch((caught: unknown) => caught);
      if (exit === 'normal') expect(((await answer) as { content: unknown }).content).toEqual({ stopping: true });
      else expect(await answer).toBeInstanceOf(FailureError);
      await settled(system);
      const info = system.whichChildren().find((child) => child.id === 'a');
      if (outcome === 'restarted') {
        expect(info).toMatchObject({ status: 'running', restarts: 1 });
        expect(log.of('restarted', '/a')).toHaveLength(1);
        expect(terminated).not.toHaveBeenCalled();
        expect((await system.request('/a', op('ok'))).content).toMatchObject({ count: 1 });
      } else {
        if (outcome === 'kept') expect(info).toMatchObject({ status: 'stopped', restarts: 0 });
        else expect(info).toBeUndefined();
        expect(log.of('restarted')).toHaveLength(0);
        expect(terminated).toHaveBeenCalledWith(expect.objectContaining({ path: '/a', reason: exit === 'normal' ? { kind: 'normal' } : expect.objectContaining({ kind: 'crash' }) }));
        expect(system.lookup('/a')).toBeUndefined();
      }
      expect(system.whichChildren().find((child) => child.id === 'b')?.status).toBe('running');
    });
  }

  /** A nested supervisor that shuts itself down (exit reason `shutdown`) when its significant child ends. */
  const selfStopping = (): NodeSpec => supervisor({ autoShutdown: 'any-significant', children: [{ id: 'job', agent: okWorker, restart: 'temporary', significant: true }] });
  const shutdownCases: [RestartType, 'restarted' | 'kept' | 'dropped'][] = [
    ['permanent', 'restarted'],
    ['transient', 'kept'],
    ['temporary', 'dropped'],
  ];
  for (const [restart, outcome] of shutdownCases) {
    it(`${restart}_shutdown: ${outcome}`, async () => {
      const { system, log } = await start(supervisor({ children: [{ id: 'inner', agent: selfStopping(), restart }] }));
      const first = system.lookup('/inner')?.incarnation;
      await system.request('/inner/job', op('stop'));
      await log.wait({ type: 'stopped', path: '/inner' });
      await settled(system);
      const info = system.whichChildren().find((child) => child.id === 'inner');
      if (outcome === 'restarted') {
        expect(info).toMatchObject({ status: 'running', restarts: 1 });
        expect(system.lookup('/inner')?.incarnation).not.toBe(first);
        expect(system.lookup('/inner/job')?.status).toBe('running');
      } else if (outcome === 'kept') {
        expect(info).toMatchObject({ status: 'stopped' });
      } else {
        expect(info).toBeUndefined();
      }
      if (outcome !== 'restarted') expect(system.lookup('/inner')).toBeUndefined();
    });
  }

  it('permanent_abnormal (hung): a hung child counts as an abnormal exit', async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ children: [{ id: 'a', agent: okWorker, restart: 'transient', heartbeat: { everyMs: 10, timeoutMs: 50 } }] }));
    const hang = system.request('/a', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(100);
    expect(((await hang) as FailureError).reason).toBe('hung');
    await log.wait({ type: 'restarted', path: '/a' });
  });
});

describe('strategies', () => {
  function recorder(): { events: string[]; child: (id: string, extra?: Partial<ChildSpec>) => ChildSpec } {
    const events: string[] = [];
    return {
      events,
      child: (id, extra = {}) => ({ id, agent: worker(id, { onStart: () => events.push(`start ${id}`), onStop: () => events.push(`stop ${id}`) }), ...extra }),
    };
  }

  it('one_for_one: only the child that exited is restarted', async () => {
    const { events, child } = recorder();
    const { system, log } = await start(supervisor({ strategy: 'one-for-one', intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [child('a'), child('b'), child('c')] }));
    const before = system.whichChildren();
    events.length = 0;
    await expect(system.request('/b', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/b' });
    expect(events).toEqual(['stop b', 'start b']);
    const after = system.whichChildren();
    expect(after[0]?.incarnation).toBe(before[0]?.incarnation);
    expect(after[1]?.incarnation).not.toBe(before[1]?.incarnation);
    expect(after[2]?.incarnation).toBe(before[2]?.incarnation);
    expect(after.map((info) => info.restarts)).toEqual([0, 1, 0]);
  });

  it('one_for_all: every child is stopped in reverse order and started again in order', async () => {
    const { events, child } = recorder();
    const { system, log } = await start(supervisor({ strategy: 'one-for-all', intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [child('a'), child('b'), child('c')] }));
    const before = system.whichChildren();
    events.length = 0;
    await expect(system.request('/b', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/c' });
    expect(events).toEqual(['stop b', 'stop c', 'stop a', 'start a', 'start b', 'start c']);
    const after = system.whichChildren();
    for (const index of [0, 1, 2]) expect(after[index]?.incarnation).not.toBe(before[index]?.incarnation);
    expect(log.trace(['restarted'])).toEqual(['restarted /a', 'restarted /b', 'restarted /c']);
  });

  it('rest_for_one: the child that exited and those started after it are restarted', async () => {
    const { events, child } = recorder();
    const { system, log } = await start(supervisor({ strategy: 'rest-for-one', intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [child('a'), child('b'), child('c'), child('d')] }));
    const before = system.whichChildren();
    events.length = 0;
    await expect(system.request('/b', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/d' });
    expect(events).toEqual(['stop b', 'stop d', 'stop c', 'start b', 'start c', 'start d']);
    const after = system.whichChildren();
    expect(after[0]?.incarnation).toBe(before[0]?.incarnation);
    for (const index of [1, 2, 3]) expect(after[index]?.incarnation).not.toBe(before[index]?.incarnation);
  });

  it('one_for_all: a bystander\'s open requests fail; messages sent while it waits to restart are kept for its next incarnation', async () => {
    useFakeDeadlines();
    const { system, log } = await start(
      supervisor({
        strategy: 'one-for-all',
        intensity: { maxRestarts: 5, withinMs: 60_000 },
        backoff: { minMs: 1_000, maxMs: 1_000, jitter: 0 },
        children: [
          { id: 'a', agent: okWorker },
          { id: 'b', agent: okWorker, shutdownMs: 0 },
        ],
      }),
    );
    await system.request('/b', op('ok'));
    const open = system.request('/b', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    expect(((await open) as FailureError).reason).toBe('agent-restarting');
    await settled(system);
    expect(system.lookup('/b')?.status).toBe('restarting');
    const queued = system.request('/b', op('ok'), { timeoutMs: Infinity });
    await vi.advanceTimersByTimeAsync(1_000);
    await log.wait({ type: 'restarted', path: '/b' });
    expect((await queued).content).toMatchObject({ count: 1 }); // a fresh incarnation (reset) handled it
  });

  for (const strategy of ['one-for-one', 'one-for-all', 'rest-for-one'] as const) {
    const name = strategy.replaceAll('-', '_');
    it(`${name}_escalation: past the intensity every child is stopped (reverse order) and the supervisor fails upward`, async () => {
      const { events, child } = recorder();
      const inner = supervisor({ strategy, intensity: { maxRestarts: 1, withinMs: 60_000 }, children: [child('a'), child('b'), child('c')] });
      const { system, log } = await start(supervisor({ intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [child('sibling'), { id: 'inner', agent: inner }] }));
      const sibling = system.lookup('/sibling')?.incarnation;
      const innerIncarnation = system.lookup('/inner')?.incarnation;
      await expect(system.request('/inner/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
      await log.wait({ type: 'restarted', path: '/inner/a' });
      const terminated: string[] = [];
      for (const id of ['a', 'b', 'c']) system.watch(`/inner/${id}`, (signal) => terminated.push(`${id} ${signal.reason.kind}`));
      events.length = 0;
      await expect(system.request('/inner/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
      const escalated = await log.wait({ type: 'escalated', path: '/inner' });
      expect(escalated).toMatchObject({ reason: expect.stringContaining('more than 1 restart within 60000 ms') });
      await log.wait({ type: 'started', path: '/inner' });
      // a exited; at the limit c, b (and a, already down) were stopped for good in reverse order; then the parent restarted the subtree
      expect(events).toEqual(['stop a', 'stop c', 'stop b', 'start a', 'start b', 'start c']);
      expect(terminated).toEqual(['c restart-limit', 'b restart-limit', 'a restart-limit']);
      expect(system.lookup('/inner')?.incarnation).not.toBe(innerIncarnation);
      expect(system.lookup('/sibling')?.incarnation).toBe(sibling);
      expect(system.whichChildren('/inner').every((info) => info.status === 'running')).toBe(true);
      expect(system.whichChildren()[1]).toMatchObject({ id: 'inner', restarts: 1 });
    });
  }

  for (const strategy of ['one-for-all', 'rest-for-one'] as const) {
    const name = strategy.replaceAll('-', '_');
    it(`${name}_other_child_fails_restart: a bystander that fails to restart is retried until the group is up`, async () => {
      let bStarts = 0;
      const b = worker('b', {
        onStart: () => {
          bStarts++;
          if (bStarts === 2) throw new Error('b cannot start right now');
        },
      });
      const { system, log } = await start(
        supervisor({
          strategy,
          intensity: { maxRestarts: 5, withinMs: 60_000 },
          children: [
            { id: 'a', agent: okWorker },
            { id: 'b', agent: b },
            { id: 'c', agent: okWorker },
          ],
        }),
      );
      await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
      await log.wait({ type: 'restarted', path: '/b' });
      await settled(system);
      expect(bStarts).toBe(3);
      expect(system.whichChildren().map((info) => info.status)).toEqual(['running', 'running', 'running']);
      for (const path of ['/a', '/b', '/c']) expect((await system.request(path, op('ok'))).content).toMatchObject({ count: 1 });
      expect(log.of('escalated')).toHaveLength(0);
    });
  }

  for (const strategy of ['one-for-all', 'rest-for-one'] as const) {
    it(`${strategy.replaceAll('-', '_')}: children exiting together restart the group once (a stale exit of a bystander is ignored)`, async () => {
      const { events, child } = recorder();
      const { system, log } = await start(supervisor({ strategy, intensity: { maxRestarts: 1, withinMs: 60_000 }, children: [child('a'), child('b'), child('c')] }));
      events.length = 0;
      // both crashes are handled in the same scheduler turn, before the supervisor hears of either
      void system.tell('/a', 'inform', op('crash'));
      void system.tell('/b', 'inform', op('crash'));
      await system.whenIdle();
      await log.wait({ type: 'restarted', path: '/c' });
      await settled(system);
      expect(log.of('escalated')).toHaveLength(0);
      expect(system.whichChildren().map((info) => `${info.id}:${info.status}:${info.restarts}`)).toEqual(['a:running:1', 'b:running:1', 'c:running:1']);
      expect(events.filter((event) => event.startsWith('start'))).toEqual(['start a', 'start b', 'start c']);
      expect((await system.request('/b', op('ok'))).content).toMatchObject({ count: 1 });
    });
  }

  it('one_for_all: a group restart starts every kept spec again, also one stopped with terminateChild (OTP start_children)', async () => {
    const { system, log } = await start(supervisor({ strategy: 'one-for-all', intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [{ id: 'a', agent: okWorker }, { id: 'b', agent: okWorker }, { id: 'c', agent: okWorker }] }));
    await system.terminateChild('/', 'b');
    expect(system.lookup('/b')).toBeUndefined();
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/c' });
    expect(system.whichChildren().map(({ id, status }) => `${id}:${status}`)).toEqual(['a:running', 'b:running', 'c:running']);
    expect((await system.request('/b', op('ok'))).content).toMatchObject({ count: 1 });
  });

  it('rest_for_one: a transient child that ended normally is started again when an earlier sibling fails', async () => {
    const { system, log } = await start(
      supervisor({ strategy: 'rest-for-one', intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [{ id: 'a', agent: okWorker }, { id: 't', agent: okWorker, restart: 'transient' }] }),
    );
    await system.request('/t', op('stop'));
    await settled(system);
    expect(system.whichChildren().map(({ id, status }) => `${id}:${status}`)).toEqual(['a:running', 't:stopped']);
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/t' });
    expect(system.whichChildren().map(({ id, status }) => `${id}:${status}`)).toEqual(['a:running', 't:running']);
  });

  it('temporary_bystander: a temporary child stopped by a group restart is not restarted and its spec is dropped', async () => {
    const { system, log } = await start(
      supervisor({
        strategy: 'one-for-all',
        intensity: { maxRestarts: 5, withinMs: 60_000 },
        children: [
          { id: 'p', agent: okWorker },
          { id: 't', agent: okWorker, restart: 'temporary' },
          { id: 'q', agent: okWorker, restart: 'transient' },
        ],
      }),
    );
    const terminated = latch<Terminated>();
    system.watch('/t', (signal) => terminated.open(signal));
    const queued = system.request('/t', op('ok'), { timeoutMs: Infinity });
    await expect(system.request('/p', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/q' });
    expect((await terminated.promise).reason).toEqual({ kind: 'shutdown' });
    expect(ids(system.whichChildren())).toEqual(['p', 'q']);
    expect(system.whichChildren().every((info) => info.status === 'running')).toBe(true);
    expect(system.lookup('/t')).toBeUndefined();
    expect(log.of('restarted', '/t')).toHaveLength(0);
    // a message that was racing the restart is answered (its receiver is gone), never left waiting
    await queued.then(
      (answer) => expect(answer.content).toMatchObject({ count: 1 }),
      (error: unknown) => expect(error).toBeInstanceOf(FailureError),
    );
  });

  it('order_of_children: restarts keep the start order; dynamic children are appended; stop is reverse', async () => {
    const { events, child } = recorder();
    const { system, log } = await start(supervisor({ strategy: 'one-for-all', intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [child('a'), child('b'), child('c')] }));
    await system.startChild('/', child('d'));
    await system.startChild('/', child('e'));
    expect(ids(system.whichChildren())).toEqual(['a', 'b', 'c', 'd', 'e']);
    events.length = 0;
    await expect(system.request('/c', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/e' });
    expect(events).toEqual(['stop c', 'stop e', 'stop d', 'stop b', 'stop a', 'start a', 'start b', 'start c', 'start d', 'start e']);
    expect(ids(system.whichChildren())).toEqual(['a', 'b', 'c', 'd', 'e']);
    await system.terminateChild('/', 'b');
    await system.restartChild('/', 'b');
    expect(ids(system.whichChildren())).toEqual(['a', 'b', 'c', 'd', 'e']);
    events.length = 0;
    await system.stop();
    expect(events).toEqual(['stop e', 'stop d', 'stop c', 'stop b', 'stop a']);
  });
});

describe('tree', () => {
  it('tree: a nested supervisor that gives up is restarted by its parent; dynamic children are not recreated', async () => {
    const inner = supervisor({
      strategy: 'one-for-all',
      intensity: { maxRestarts: 0, withinMs: 60_000 },
      children: [
        { id: 'x', agent: okWorker },
        { id: 'y', agent: okWorker },
      ],
    });
    const { system, log } = await start(
      supervisor({
        intensity: { maxRestarts: 3, withinMs: 60_000 },
        children: [
          { id: 'sibling', agent: okWorker },
          { id: 'inner', agent: inner },
        ],
      }),
    );
    await system.startChild('/inner', { id: 'dyn', agent: okWorker });
    expect(ids(system.whichChildren('/inner'))).toEqual(['x', 'y', 'dyn']);
    const dynTerminated = latch<Terminated>();
    system.watch('/inner/dyn', (signal) => dynTerminated.open(signal));
    const sibling = system.lookup('/sibling')?.incarnation;
    const oldX = system.lookup('/inner/x')?.incarnation;
    await expect(system.request('/inner/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'escalated', path: '/inner' });
    await log.wait((event) => event.type === 'started' && event.path === '/inner');
    expect((await dynTerminated.promise).reason.kind).toBe('restart-limit');
    expect(ids(system.whichChildren('/inner'))).toEqual(['x', 'y']);
    expect(system.lookup('/inner/dyn')).toBeUndefined();
    expect(system.lookup('/inner/x')?.incarnation).not.toBe(oldX);
    expect(system.lookup('/sibling')?.incarnation).toBe(sibling);
    expect((await system.request('/inner/x', op('ok'))).content).toMatchObject({ count: 1 });
    const gone = await system.request('/inner/dyn', op('ok')).catch((caught: unknown) => caught);
    expect((gone as FailureError).reason).toBe('no-such-agent');
  });

  it('tree: a restarted subtree whose child fails to start is retried until it is up', async () => {
    let yStarts = 0;
    const y = worker('y', {
      onStart: () => {
        yStarts++;
        if (yStarts === 2) throw new Error('y not now');
      },
    });
    const inner = supervisor({ intensity: { maxRestarts: 0, withinMs: 60_000 }, children: [{ id: 'x', agent: okWorker }, { id: 'y', agent: y }] });
    const { system, log } = await start(supervisor({ intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [{ id: 'inner', agent: inner }] }));
    await expect(system.request('/inner/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'started', path: '/inner' });
    await settled(system);
    expect(yStarts).toBe(3);
    expect(system.whichChildren('/inner').map((info) => info.status)).toEqual(['running', 'running']);
    expect((await system.request('/inner/y', op('ok'))).content).toMatchObject({ count: 1 });
    expect(log.of('escalated')).toHaveLength(1); // only /inner's own give-up, never the root
  });

  it('tree: a subtree restart that fails halfway leaves no paths taken for the retry', async () => {
    let yStarts = 0;
    const y = worker('y', {
      onStart: () => {
        yStarts++;
        if (yStarts === 2) throw new Error('y not now');
      },
    });
    const sub = supervisor({ children: [{ id: 'x', agent: okWorker }, { id: 'deeper', agent: supervisor({ children: [{ id: 'x2', agent: okWorker }] }) }] });
    const inner = supervisor({ intensity: { maxRestarts: 0, withinMs: 60_000 }, children: [{ id: 'sub', agent: sub }, { id: 'y', agent: y }, { id: 'z', agent: okWorker }] });
    const { system, log } = await start(supervisor({ intensity: { maxRestarts: 5, withinMs: 60_000 }, children: [{ id: 'inner', agent: inner }] }));
    await expect(system.request('/inner/z', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/inner' });
    await settled(system);
    expect(yStarts).toBe(3);
    expect(system.whichChildren('/inner').map((info) => info.status)).toEqual(['running', 'running', 'running']);
    expect(system.whichChildren('/').map((info) => info.restarts)).toEqual([2]); // one failed attempt, then success
    expect((await system.request('/inner/sub/deeper/x2', op('ok'))).content).toMatchObject({ count: 1 });
  });

  it('tree: at the root, giving up is reported in the log and ends the system', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const system = tracked(await createSystem({ root: supervisor({ intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [{ id: 'a', agent: okWorker }] }), logger }));
    await expect(system.request('/a', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await expect(system.whenTerminated).resolves.toMatchObject({ kind: 'restart-limit' });
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.some((msg) => msg.includes('supervisor / gives up'))).toBe(true);
    expect(messages.some((msg) => msg.includes('the root supervisor exited'))).toBe(true);
  });

  it('tree: escalation reaches the root; the system reports it and stops cleanly', async () => {
    const inner = supervisor({ intensity: { maxRestarts: 0, withinMs: 60_000 }, children: [{ id: 'x', agent: okWorker }] });
    const stopped: string[] = [];
    const { system, log } = await start(
      supervisor({
        intensity: { maxRestarts: 0, withinMs: 60_000 },
        children: [
          { id: 'sibling', agent: worker('sibling', { onStop: () => stopped.push('sibling') }), shutdownMs: 0 },
          { id: 'inner', agent: inner },
        ],
      }),
    );
    const waiting = system.request('/sibling', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await expect(system.request('/inner/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    const reason = await system.whenTerminated;
    expect(reason).toMatchObject({ kind: 'restart-limit' });
    expect(log.trace(['escalated'])).toEqual(['escalated /inner', 'escalated /']);
    expect(stopped).toEqual(['sibling']);
    expect(await waiting).toBeInstanceOf(FailureError);
    expect(system.lookup('/')).toBeUndefined();
    await expect(system.request('/sibling', op('ok'))).rejects.toBeInstanceOf(SystemStoppedError);
    await system.stop(); // stopping a stopped system is fine
  });
});

describe('significant children and autoShutdown', () => {
  const inner = (options: Partial<SupervisorOptions> & { children: ChildSpec[] }): NodeSpec => supervisor({ intensity: { maxRestarts: 5, withinMs: 60_000 }, ...options });

  it('significant_temporary: any-significant ends the supervisor when a significant temporary child exits, whatever the reason', async () => {
    for (const exit of ['stop', 'crash'] as const) {
      const { system, log } = await start(
        supervisor({
          children: [
            {
              id: 'inner',
              restart: 'temporary',
              agent: inner({
                autoShutdown: 'any-significant',
                children: [
                  { id: 'other', agent: okWorker },
                  { id: 'job', agent: okWorker, restart: 'temporary', significant: true },
                ],
              }),
            },
          ],
        }),
      );
      const otherDown = latch<Terminated>();
      system.watch('/inner/other', (signal) => otherDown.open(signal));
      await system.request('/inner/job', op(exit)).catch(() => undefined);
      await log.wait({ type: 'stopped', path: '/inner' });
      expect((await otherDown.promise).reason).toEqual({ kind: 'shutdown' });
      await settled(system);
      expect(system.whichChildren()).toEqual([]);
    }
  });

  it('significant_temporary (root): a root with autoShutdown ends the system with reason shutdown', async () => {
    const { system } = await start(supervisor({ autoShutdown: 'any-significant', children: [{ id: 'job', agent: okWorker, restart: 'temporary', significant: true }, { id: 'other', agent: okWorker }] }));
    await system.request('/job', op('stop'));
    await expect(system.whenTerminated).resolves.toEqual({ kind: 'shutdown' });
    await expect(system.request('/other', op('ok'))).rejects.toBeInstanceOf(SystemStoppedError);
  });

  it('significant_temporary (root): an auto shutdown is a normal end, logged below error level', async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const system = tracked(await createSystem({ root: supervisor({ autoShutdown: 'any-significant', children: [{ id: 'job', agent: okWorker, restart: 'temporary', significant: true }] }), logger }));
    await system.request('/job', op('stop'));
    await expect(system.whenTerminated).resolves.toEqual({ kind: 'shutdown' });
    expect(lines.some((line) => line.msg.includes('the root supervisor exited (shutdown)'))).toBe(true);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
  });

  it('significant_transient: a crash is restarted; a normal exit shuts the supervisor down', async () => {
    const { system, log } = await start(
      supervisor({
        children: [
          {
            id: 'inner',
            restart: 'transient',
            agent: inner({ autoShutdown: 'any-significant', children: [{ id: 'job', agent: okWorker, restart: 'transient', significant: true }] }),
          },
        ],
      }),
    );
    await expect(system.request('/inner/job', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/inner/job' });
    expect(system.lookup('/inner')?.status).toBe('running');
    await system.request('/inner/job', op('stop'));
    await log.wait({ type: 'stopped', path: '/inner' });
    await settled(system);
    expect(system.whichChildren()).toMatchObject([{ id: 'inner', status: 'stopped' }]); // transient, shutdown: kept, not restarted
  });

  it('significant_bystander: a significant child stopped as a bystander of a group restart does not end the supervisor', async () => {
    const { system, log } = await start(
      supervisor({
        children: [
          {
            id: 'inner',
            agent: inner({
              strategy: 'one-for-all',
              autoShutdown: 'any-significant',
              children: [
                { id: 'p', agent: okWorker },
                { id: 'job', agent: okWorker, restart: 'temporary', significant: true },
                { id: 'job2', agent: okWorker, restart: 'transient', significant: true },
              ],
            }),
          },
        ],
      }),
    );
    await expect(system.request('/inner/p', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/inner/job2' });
    await settled(system, '/inner');
    expect(system.lookup('/inner')?.status).toBe('running');
    expect(ids(system.whichChildren('/inner'))).toEqual(['p', 'job2']);
    expect(log.of('stopped', '/inner')).toHaveLength(0);
  });

  it('significant_never: with autoShutdown never a significant exit is an ordinary one', async () => {
    const { system } = await start(supervisor({ autoShutdown: 'never', children: [{ id: 'job', agent: okWorker, restart: 'transient', significant: true }, { id: 'other', agent: okWorker }] }));
    await system.request('/job', op('stop'));
    await settled(system);
    expect(system.whichChildren().map(({ id, status }) => `${id}:${status}`)).toEqual(['job:stopped', 'other:running']);
    expect(system.lookup('/')?.status).toBe('running');
  });

  it('significant_all: all-significant ends the supervisor only when every significant child has exited', async () => {
    const { system } = await start(
      supervisor({
        autoShutdown: 'all-significant',
        children: [
          { id: 'j1', agent: okWorker, restart: 'transient', significant: true },
          { id: 'j2', agent: okWorker, restart: 'temporary', significant: true },
          { id: 'j3', agent: okWorker, restart: 'transient', significant: true },
          { id: 'other', agent: okWorker },
        ],
      }),
    );
    let terminated = false;
    void system.whenTerminated.then(() => (terminated = true));
    await system.request('/j1', op('stop'));
    await system.request('/j2', op('crash')).catch(() => undefined);
    await settled(system);
    expect(terminated).toBe(false);
    await system.request('/j3', op('stop'));
    await expect(system.whenTerminated).resolves.toEqual({ kind: 'shutdown' });
  });

  it('significant_all_deleted / terminate_child: explicit termination does not trigger autoShutdown but counts as exited', async () => {
    const { system } = await start(
      supervisor({
        autoShutdown: 'all-significant',
        children: [
          { id: 'j1', agent: okWorker, restart: 'transient', significant: true },
          { id: 'j2', agent: okWorker, restart: 'transient', significant: true },
        ],
      }),
    );
    await system.terminateChild('/', 'j1');
    await system.deleteChild('/', 'j1');
    await system.terminateChild('/', 'j2');
    await settled(system);
    expect(system.lookup('/')?.status).toBe('running'); // OTP: terminate_child never auto-shuts down
    await system.restartChild('/', 'j2');
    await system.request('/j2', op('stop'));
    await expect(system.whenTerminated).resolves.toEqual({ kind: 'shutdown' });
  });
});

describe('scale', () => {
  /** Starts `n` children and stops the system; returns the CPU time (not wall time: the machine may be busy) of each half. */
  async function startAndStop(n: number): Promise<{ start: number; stop: number }> {
    let stops = 0;
    const { system } = await start(supervisor({ template: { agent: worker('many', { onStop: () => stops++ }) } }));
    const begin = process.cpuUsage();
    await Promise.all(Array.from({ length: n }, (_, index) => system.startChild('/', { id: `c${index}` })));
    const started = process.cpuUsage(begin);
    expect(system.countChildren()).toEqual({ specs: n, active: n, supervisors: 0, workers: n });
    expect((await system.request(`/c${n - 1}`, op('ok'))).content).toMatchObject({ count: 1 });
    const stopBegin = process.cpuUsage();
    await system.stop();
    const stopped = process.cpuUsage(stopBegin);
    expect(stops).toBe(n);
    return { start: started.user + started.system, stop: stopped.user + stopped.system };
  }

  it('scale_start_stop_many_children: thousands of children start and stop at a cost linear in their number', { timeout: 300_000 }, async () => {
    // A guard against pathological costs, e.g. building the whole child list on every startChild
    // (quadratic: five times the children cost twenty-five times as much); linear costs five times.
    const small = await startAndStop(2_000);
    const large = await startAndStop(10_000);
    expect(large.start / small.start).toBeLessThan(12);
    expect(large.stop / small.stop).toBeLessThan(12);
  });
});
