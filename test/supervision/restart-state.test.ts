/** onRestart 'reset' vs 'resume', per-child input, and dynamic children from a template. */
import { describe, expect, it, vi } from 'vitest';
import { FailureError, supervisor, type ChildSpec } from '../../src/index.js';
import { op, settled, start, useFakeDeadlines, worker } from '../conformance/helpers.js';

const counter = worker('counter', { input: { from: 'definition' } });
const INTENSITY = { maxRestarts: 10, withinMs: 60_000 };

async function count(system: Awaited<ReturnType<typeof start>>['system'], path: string): Promise<number> {
  return ((await system.request(path, op('ok'))).content as { count: number }).count;
}

describe('onRestart', () => {
  it("'reset' (the default) starts a restarted child from its initial state", async () => {
    const { system, log } = await start(supervisor({ intensity: INTENSITY, children: [{ id: 'c', agent: counter }] }));
    for (let n = 1; n <= 3; n++) expect(await count(system, '/c')).toBe(n);
    await expect(system.request('/c', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/c' });
    expect(await count(system, '/c')).toBe(1);
  });

  it("'resume' restarts from the state before the message that crashed it", async () => {
    const { system, log } = await start(supervisor({ intensity: INTENSITY, children: [{ id: 'c', agent: counter, onRestart: 'resume' }] }));
    for (let n = 1; n <= 3; n++) expect(await count(system, '/c')).toBe(n);
    await expect(system.request('/c', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/c' });
    expect(await count(system, '/c')).toBe(4);
    // twice in a row, with no good message in between
    await expect(system.request('/c', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/c' }, 2);
    await expect(system.request('/c', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/c' }, 3);
    expect(await count(system, '/c')).toBe(5);
  });

  it("'resume' after a hang does not resume into the hung state", async () => {
    useFakeDeadlines();
    const { system, log } = await start(supervisor({ intensity: INTENSITY, children: [{ id: 'c', agent: counter, onRestart: 'resume', heartbeat: { everyMs: 10, timeoutMs: 100 } }] }));
    expect(await count(system, '/c')).toBe(1);
    expect(await count(system, '/c')).toBe(2);
    const hung = system.request('/c', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(150);
    expect(((await hung) as FailureError).reason).toBe('hung');
    await log.wait({ type: 'restarted', path: '/c' });
    expect((system.snapshot('/c') as { value: unknown }).value).toBe('idle');
    expect(await count(system, '/c')).toBe(3);
    expect(log.of('hung')).toHaveLength(1);
  });

  it("'resume' keeps a bystander's whole state in a group restart (it did nothing wrong)", async () => {
    const { system, log } = await start(
      supervisor({
        strategy: 'one-for-all',
        intensity: INTENSITY,
        children: [
          { id: 'bad', agent: counter },
          { id: 'good', agent: counter, onRestart: 'resume' },
        ],
      }),
    );
    expect(await count(system, '/good')).toBe(1);
    expect(await count(system, '/good')).toBe(2);
    await expect(system.request('/bad', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/good' });
    expect(await count(system, '/good')).toBe(3);
  });
});

describe('per-child input', () => {
  it('a child spec input replaces the definition input, per child, across restarts', async () => {
    const { system, log } = await start(
      supervisor({
        intensity: INTENSITY,
        children: [
          { id: 'plain', agent: counter },
          { id: 'x', agent: counter, input: { from: 'x' } },
          { id: 'y', agent: counter, input: { from: 'y' } },
        ],
      }),
    );
    const inputOf = async (path: string) => ((await system.request(path, op('ok'))).content as { input: unknown }).input;
    expect(await inputOf('/plain')).toEqual({ from: 'definition' });
    expect(await inputOf('/x')).toEqual({ from: 'x' });
    expect(await inputOf('/y')).toEqual({ from: 'y' });
    await expect(system.request('/x', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/x' });
    expect(await inputOf('/x')).toEqual({ from: 'x' });
  });
});

describe('dynamic children from a template', () => {
  it('each dynamic child gets the template (restart, onRestart, heartbeat) and its own input', async () => {
    useFakeDeadlines();
    const template: Omit<ChildSpec, 'id'> = { agent: counter, restart: 'transient', onRestart: 'resume', heartbeat: { everyMs: 10, timeoutMs: 100 } };
    const { system, log } = await start(supervisor({ intensity: INTENSITY, template }));
    await system.startChild('/', { id: 'one', input: { n: 1 } });
    await system.startChild('/', { id: 'two', input: { n: 2 } });
    await system.startChild('/', { id: 'three' });
    expect((await system.request('/one', op('ok'))).content).toEqual({ count: 1, input: { n: 1 } });
    expect((await system.request('/three', op('ok'))).content).toEqual({ count: 1, input: { from: 'definition' } }); // no input: the definition's
    // resume from the template
    await expect(system.request('/one', op('crash'))).rejects.toBeInstanceOf(FailureError);
    await log.wait({ type: 'restarted', path: '/one' });
    expect((await system.request('/one', op('ok'))).content).toEqual({ count: 2, input: { n: 1 } });
    // heartbeat from the template
    const hung = system.request('/two', op('hang'), { timeoutMs: Infinity }).catch((caught: unknown) => caught);
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(150);
    expect(((await hung) as FailureError).reason).toBe('hung');
    // transient from the template: a normal exit is final
    await system.request('/three', op('stop'));
    await settled(system);
    expect(system.whichChildren().map(({ id, status }) => `${id}:${status}`)).toEqual(['one:running', 'two:running', 'three:stopped']);
  });

  it('a full child spec can still be started next to template children', async () => {
    const { system } = await start(supervisor({ template: { agent: counter } }));
    await system.startChild('/', { id: 'pooled' });
    await system.startChild('/', { id: 'special', agent: worker('special'), input: 'own' });
    expect((await system.request('/special', op('ok'))).content).toEqual({ count: 1, input: 'own' });
    expect(system.countChildren()).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 });
  });
});
