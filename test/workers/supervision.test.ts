/**
 * Supervision across threads: a dying or hung worker thread fails the agents it hosted,
 * their supervisors restart them on a fresh thread, every request gets exactly one answer,
 * and stopping a system leaves no thread behind.
 */
import { readdirSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSystem, type FailureError, supervisor, type ChildSpec, type SystemEvent, type System, type SystemOptions } from '../../src/index.js';
import { collector, greeter, holder, worker } from './agents.js';
import { failureOf } from '../support/failures.js';
import { stoppedAfterEach } from '../support/systems.js';

/** Bounds waits that include a thread's boot, which a loaded machine can make slow (nothing is timed). */
const POLL = { timeout: 20_000 };
const Answer = z.object({ thread: z.number(), handled: z.number(), text: z.string().optional() });
const HEARTBEAT = { everyMs: 50, timeoutMs: 400 };
const track = stoppedAfterEach();

async function start(children: ChildSpec[], workers: SystemOptions['workers'] = { size: 1 }): Promise<{ system: System; events: SystemEvent[] }> {
  const system = await createSystem({ root: supervisor({ intensity: { maxRestarts: 10, withinMs: 30_000 }, children }), workers });
  track(system);
  const events: SystemEvent[] = [];
  system.subscribe((event) => events.push(event));
  return { system, events };
}

const echo = (system: System, path: string, text = '') => system.request(path, { op: 'echo', text }, { expect: Answer, timeoutMs: 20_000 });

describe('a worker agent that fails', () => {
  it('is restarted on its thread after an exception in an action', { timeout: 60_000 }, async () => {
    const { system } = await start([{ id: 'w', agent: worker }]);
    const before = await echo(system, '/w');
    const failure = await failureOf(system.request('/w', { op: 'throw' }));
    expect(failure.reason).toBe('agent-failed');
    const after = await echo(system, '/w');
    expect(after.content.thread).toBe(before.content.thread);
    expect(after.content.handled).toBe(1); // a fresh machine
    expect(after.senderIncarnation).not.toBe(before.senderIncarnation);
  });

  it('fails the request in flight when agent code calls process.exit; the queue survives on a fresh thread', { timeout: 60_000 }, async () => {
    const { system, events } = await start([{ id: 'w', agent: worker }, { id: 'bystander', agent: worker }]);
    const before = await echo(system, '/w');
    const exit = system.request('/w', { op: 'exit' }, { timeoutMs: 20_000 });
    const queued = [echo(system, '/w', 'a'), echo(system, '/w', 'b')];
    const failure = await failureOf(exit);
    expect(failure.reason).toBe('agent-failed');
    expect(failure.message).toMatch(/exited with code 3/);
    const answers = await Promise.all(queued);
    expect(answers.map((answer) => answer.content.text)).toEqual(['a', 'b']);
    expect(answers[0]?.content.thread).not.toBe(before.content.thread);
    // The other agent of the dead thread was failed and restarted too, and answers.
    expect(events.some((event) => event.type === 'failed' && event.path === '/bystander')).toBe(true);
    await expect(echo(system, '/bystander')).resolves.toMatchObject({ performative: 'inform' });
  });

  it('is restarted when an uncaught exception kills its thread', { timeout: 60_000 }, async () => {
    const { system, events } = await start([{ id: 'w', agent: worker }]);
    const first = await system.request('/w', { op: 'throw-later' }, { expect: Answer });
    await expect.poll(() => events.some((event) => event.type === 'restarted' && event.path === '/w'), POLL).toBe(true);
    const failed = events.find((event) => event.type === 'failed');
    expect((failed as { reason: string }).reason).toMatch(/an uncaught exception on the worker thread/);
    const after = await echo(system, '/w');
    expect(after.content.thread).not.toBe(first.content.thread);
  });

  it('is restarted when it runs its thread out of memory', { timeout: 60_000 }, async () => {
    const { system } = await start([{ id: 'w', agent: worker }], { size: 1, resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } });
    const failure = await failureOf(system.request('/w', { op: 'oom' }, { timeoutMs: 50_000 }));
    expect(failure.message).toMatch(/memory/i);
    await expect(echo(system, '/w')).resolves.toMatchObject({ performative: 'inform' });
  });
});

describe('group restarts across threads', () => {
  it('restarts inline and worker siblings together under one-for-all', { timeout: 60_000 }, async () => {
    const system = await createSystem({
      root: supervisor({
        strategy: 'one-for-all',
        intensity: { maxRestarts: 5, withinMs: 30_000 },
        children: [
          { id: 'a', agent: worker },
          { id: 'greeter', agent: greeter },
          { id: 'b', agent: worker },
        ],
      }),
      workers: { size: 2 },
    });
    track(system);
    const restarted = new Set<string>();
    system.subscribe((event) => {
      if (event.type === 'restarted') restarted.add(event.path);
    });
    await echo(system, '/a');
    const b = await echo(system, '/b');
    expect(b.content.handled).toBe(1);
    const before = system.whichChildren('/').map((child) => child.incarnation);
    await failureOf(system.request('/a', { op: 'throw' }));
    await expect.poll(() => [...restarted].sort(), POLL).toEqual(['/a', '/b', '/greeter']);
    // b was halted on its thread and started again: a fresh machine, a new incarnation.
    const after = await echo(system, '/b');
    expect(after.content.handled).toBe(1);
    expect(after.senderIncarnation).not.toBe(b.senderIncarnation);
    const now = system.whichChildren('/');
    expect(now.map((child) => child.status)).toEqual(['running', 'running', 'running']);
    now.forEach((child, index) => expect(child.incarnation).not.toBe(before[index]));
  });
});

describe('group restarts with a stuck thread', () => {
  it('halts a worker sibling stuck in a loop within its shutdown time, ends its thread, and restarts the group', { timeout: 60_000 }, async () => {
    const system = await createSystem({
      root: supervisor({
        strategy: 'one-for-all',
        intensity: { maxRestarts: 10, withinMs: 30_000 },
        children: [
          { id: 'stuck', agent: worker, shutdownMs: 200 },
          // The same definition, placed inline by the child spec.
          { id: 'crasher', agent: worker, placement: 'inline' },
        ],
      }),
      workers: { size: 1 },
    });
    track(system);
    const events: SystemEvent[] = [];
    system.subscribe((event) => events.push(event));
    await system.request('/stuck', { op: 'loop-later' }, { acceptAgree: true });
    const inline = await echo(system, '/crasher');
    expect(inline.content.thread).toBe(threadId);
    await failureOf(system.request('/crasher', { op: 'throw' }));
    // Its thread never confirms the halt: it is terminated, and the loop it was left with is /stuck's.
    const back = await echo(system, '/stuck', 'back');
    expect(back.content).toMatchObject({ text: 'back', handled: 1 });
    expect(events.find((event) => event.type === 'hung')).toMatchObject({ path: '/stuck' });
    await expect.poll(() => system.whichChildren('/').map((child) => child.status), POLL).toEqual(['running', 'running']);
  });
  it('answers the request a stuck sibling was handling when the group restart gives up on it and its thread is ended', { timeout: 60_000 }, async () => {
    const system = await createSystem({
      root: supervisor({
        strategy: 'one-for-all',
        intensity: { maxRestarts: 10, withinMs: 30_000 },
        children: [
          { id: 'stuck', agent: worker, shutdownMs: 200 },
          { id: 'crasher', agent: worker, placement: 'inline' },
        ],
      }),
      workers: { size: 1 },
    });
    track(system);
    await echo(system, '/stuck');
    // Handed over and never answered: the thread loops inside it.
    const looping = failureOf(system.request('/stuck', { op: 'loop' }, { timeoutMs: 20_000 }));
    await expect.poll(() => system.metrics('/stuck')?.queueDepth, POLL).toBe(0);
    await failureOf(system.request('/crasher', { op: 'throw' }));
    expect((await looping).reason).toBe('hung');
    await expect(echo(system, '/stuck', 'back')).resolves.toMatchObject({ content: { text: 'back', handled: 1 } });
  });
});

describe('heartbeats across the thread', () => {
  it('terminates the thread of an agent in an endless CPU loop; the tree goes on', { timeout: 60_000 }, async () => {
    const { system, events } = await start([
      { id: 'greeter', agent: greeter },
      { id: 'looper', agent: worker, heartbeat: HEARTBEAT },
      { id: 'bystander', agent: worker, heartbeat: HEARTBEAT },
    ]);
    const before = await echo(system, '/bystander');
    const failure = await failureOf(system.request('/looper', { op: 'loop' }, { timeoutMs: 50_000 }));
    expect(failure.reason).toBe('hung');
    expect(events.filter((event) => event.type === 'hung').map((event) => event.path)).toEqual(['/looper']);
    expect(events.find((event) => event.type === 'failed' && event.path === '/looper')).toMatchObject({ reason: expect.stringMatching(/^hung: /) });
    // The inline agent never stopped answering; the bystander was restarted on a fresh thread.
    await expect(system.request('/greeter', 'Ada')).resolves.toMatchObject({ content: { hello: 'Ada', thread: threadId } });
    const after = await echo(system, '/bystander');
    expect(after.content.thread).not.toBe(before.content.thread);
    await expect(echo(system, '/looper')).resolves.toMatchObject({ performative: 'inform' });
    expect(system.whichChildren('/').map(({ id, status }) => [id, status])).toEqual([
      ['greeter', 'running'],
      ['looper', 'running'],
      ['bystander', 'running'],
    ]);
  });

  it('hands the bystanders’ messages stuck behind the loop to their next incarnation', { timeout: 60_000 }, async () => {
    const { system } = await start([
      { id: 'looper', agent: worker, heartbeat: HEARTBEAT },
      { id: 'bystander', agent: worker },
    ]);
    await echo(system, '/bystander');
    const loop = failureOf(system.request('/looper', { op: 'loop' }, { timeoutMs: 50_000 }));
    // Sent while the only thread loops: it cannot have been handled, so it must not fail.
    const waiting = echo(system, '/bystander', 'still here');
    expect((await loop).reason).toBe('hung');
    const answer = await waiting;
    expect(answer.content).toMatchObject({ text: 'still here', handled: 1 });
  });
});

/** OS threads of this process: a worker thread that outlives its system would stay here. */
const osThreads = (): number => readdirSync('/proc/self/task').length;

describe('stopping', () => {
  it('ends every worker thread, over many start/stop cycles', { timeout: 120_000 }, async () => {
    const cycle = async (): Promise<void> => {
      const system = await createSystem({ root: supervisor({ children: [0, 1, 2, 3].map((index) => ({ id: `w${index}`, agent: worker })) }), workers: { size: 2 } });
      await Promise.all([0, 1, 2, 3].map((index) => echo(system, `/w${index}`)));
      await system.stop();
    };
    await cycle();
    const baseline = osThreads();
    for (let round = 0; round < 12; round++) await cycle();
    expect(osThreads()).toBeLessThanOrEqual(baseline);
  });

  it('stops a system whose worker agent is stuck in a loop: killed after its shutdown time, thread ended', { timeout: 60_000 }, async () => {
    const { system } = await start([{ id: 'stuck', agent: worker, shutdownMs: 200 }]);
    await echo(system, '/stuck');
    const threadsBefore = osThreads();
    await system.request('/stuck', { op: 'loop-later' }, { acceptAgree: true });
    const reasons: string[] = [];
    system.watch('/stuck', (signal) => reasons.push(signal.reason.kind));
    await system.stop();
    expect(reasons).toEqual(['killed']);
    expect(osThreads()).toBeLessThan(threadsBefore);
  });

  it('completes a stop when the agent crashes on its thread while being stopped', { timeout: 60_000 }, async () => {
    const { system } = await start([{ id: 'w', agent: worker }]);
    // createSystem resolved once /w had started on its thread: the next request is handed over at once.
    expect(system.lookup('/w')?.status).toBe('running');
    const reasons: string[] = [];
    system.watch('/w', (signal) => reasons.push(signal.reason.kind));
    const crash = failureOf(system.request('/w', { op: 'throw' }));
    await system.stop();
    expect((await crash).reason).toBe('agent-failed');
    expect(reasons).toEqual(['shutdown']);
  });

  it('gives every request to a stopping worker agent one answer', { timeout: 60_000 }, async () => {
    const { system } = await start([{ id: 'w', agent: worker }]);
    await echo(system, '/w');
    const settle = (promise: Promise<unknown>) => promise.then((answer) => (answer as { performative: string }).performative, (error: unknown) => (error as FailureError).reason);
    const outcomes = Promise.all([settle(system.request('/w', { op: 'spin', ms: 100 }, { timeoutMs: 20_000 })), ...Array.from({ length: 5 }, () => settle(echo(system, '/w')))]);
    await system.stop();
    for (const outcome of await outcomes) expect(['inform', 'agent-stopping', 'agent-stopped']).toContain(outcome);
    await expect(system.request('/w', { op: 'echo' })).rejects.toThrow(/stopped/);
  });

  it('answers a request held by a killed worker agent once: what its thread says afterwards is a stale incarnation', { timeout: 60_000 }, async () => {
    const { system } = await start([
      { id: 'collector', agent: collector },
      { id: 'holder', agent: holder, shutdownMs: 'brutal' },
    ]);
    await system.tell('/collector', 'inform', { to: '/holder' });
    await expect.poll(() => system.metrics('/holder')?.processed, POLL).toBe(1);
    await system.terminateChild('/', 'holder');
    // The thread's stopping cell answers the held request too; that answer must not arrive.
    await expect.poll(() => system.deadLetters.recent().some((letter) => letter.reason === 'stale-incarnation' && letter.message.receiver === '/collector'), POLL).toBe(true);
    // A barrier: once this is answered, the collector has handled every message before it.
    await system.request('/collector', {}, { performative: 'query-ref' }).catch(() => undefined);
    const answers = (system.snapshot('/collector') as { context: { answers: unknown[] } }).context.answers;
    expect(answers).toEqual([{ performative: 'failure', inReplyTo: 'held' }]);
  });
});
