/**
 * Suspend and resume (OTP sys:suspend / sys:resume): a suspended agent handles nothing; its
 * messages queue under the usual mailbox rules; resume handles them in order. A suspended
 * agent is not hung, and a restart starts unsuspended.
 */
import { describe, expect, it, vi } from 'vitest';
import { fromPromise, setup } from 'xstate';
import { ConfigurationError, DeadlineError, defineAgent, FailureError, supervisor, tell, type AclMessage } from '../../src/index.js';
import { EventLog } from '../support/event-log.js';
import { echo, latch, nextImmediate, recorder, startSystem, track } from './helpers.js';
import { createSystem } from '../../src/index.js';

describe('suspend and resume', () => {
  it('queues messages while suspended and handles them in order on resume', async () => {
    const seen: unknown[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((message) => seen.push(message.content)) }]);
    const log = new EventLog(system);
    expect(system.suspend('/r')).toBe(true);
    expect(system.suspend('/r')).toBe(false);
    for (let i = 0; i < 5; i++) await system.tell('/r', 'inform', { i });
    await system.whenIdle();
    await nextImmediate();
    expect(seen).toEqual([]);
    expect(system.metrics('/r')).toMatchObject({ queueDepth: 5, processed: 0 });
    expect(system.resume('/r')).toBe(true);
    expect(system.resume('/r')).toBe(false);
    await system.whenIdle();
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    expect(log.trace(['suspended', 'resumed'])).toEqual(['suspended /r', 'resumed /r']);
  });

  it('applies the mailbox rules while suspended: a full reject mailbox answers failure', async () => {
    const system = await startSystem([{ id: 'e', agent: echo('e', { capacity: 2, overflow: 'reject' }) }]);
    system.suspend('/e');
    const first = system.request('/e', 1);
    const second = system.request('/e', 2);
    await expect(system.request('/e', 3)).rejects.toSatisfy((error) => error instanceof FailureError && error.reason === 'mailbox-full');
    system.resume('/e');
    expect((await Promise.all([first, second])).map((answer) => answer.content)).toEqual([1, 2]);
  });

  it('refuses paths that are not running agents, with what to do', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }, { id: 'sub', agent: supervisor({ children: [] }) }]);
    expect(() => system.suspend('/nobody')).toThrow(ConfigurationError);
    expect(() => system.suspend('/nobody')).toThrow('cannot suspend /nobody: it is not in the tree; suspend needs the path of a running agent');
    expect(() => system.resume('/sub')).toThrow('cannot resume /sub: it is a supervisor');
    expect(() => system.suspend('bad path')).toThrow(/must start with "\/"/);
    await system.terminateChild('/', 'e');
    expect(() => system.suspend('/e')).toThrow('cannot suspend /e: it is not in the tree');
  });

  it('a restart starts the new incarnation unsuspended, with the queued messages', async () => {
    const seen: unknown[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((message) => seen.push(message.content)) }]);
    system.suspend('/r');
    await system.tell('/r', 'inform', 'kept');
    const cell = system.lookup('/r');
    // A bystander restart (halt + restart) keeps the mailbox, as every restart does.
    const runtime = (system as unknown as { runtime: { agentAt(path: string): { halt(s: number, r: unknown): Promise<void>; restart(): void } } }).runtime;
    const agent = runtime.agentAt('/r');
    await agent.halt(0, { kind: 'shutdown' });
    agent.restart();
    expect(system.lookup('/r')?.incarnation).not.toBe(cell?.incarnation);
    await system.whenIdle();
    expect(seen).toEqual(['kept']);
  });

  it('a suspended agent with queued messages is not hung; after resume the heartbeat counts afresh', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const seen: unknown[] = [];
    const system = track(await createSystem({ root: supervisor({ children: [{ id: 'r', agent: recorder((message) => seen.push(message.content)), heartbeat: { everyMs: 10, timeoutMs: 50 } }] }) }));
    const log = new EventLog(system);
    system.suspend('/r');
    await system.tell('/r', 'inform', 'waits');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(log.of('hung')).toEqual([]);
    expect(system.metrics('/r')?.restarts).toBe(0);
    system.resume('/r');
    await system.whenIdle();
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toEqual(['waits']);
    expect(log.of('hung')).toEqual([]);
  });

  it('holds what XState itself would hand the machine (a delayed event, an invoked child finishing) until resume, as OTP holds timer messages', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const work = latch<string>();
    const seen: unknown[] = [];
    const timed = defineAgent({
      name: 'timed',
      machine: setup({ types: { events: {} as AclMessage }, actors: { work: fromPromise(() => work.promise) } }).createMachine({
        initial: 'waiting',
        states: {
          waiting: { after: { 100: 'working' } },
          working: { invoke: { src: 'work', onDone: { target: 'done', actions: tell('/r', 'inform', ({ event }) => ({ result: event.output as string })) } } },
          done: {},
        },
      }),
    });
    const system = track(await createSystem({ root: supervisor({ children: [{ id: 'timed', agent: timed }, { id: 'r', agent: recorder((message) => seen.push(message.content)) }] }) }));
    system.suspend('/timed');
    await vi.advanceTimersByTimeAsync(1_000);
    expect((system.snapshot('/timed') as { value: unknown }).value).toBe('waiting');
    system.resume('/timed');
    expect((system.snapshot('/timed') as { value: unknown }).value).toBe('working');
    system.suspend('/timed');
    work.open('42');
    await vi.advanceTimersByTimeAsync(10);
    expect((system.snapshot('/timed') as { value: unknown }).value).toBe('working');
    expect(seen).toEqual([]);
    system.resume('/timed');
    await system.whenIdle();
    expect((system.snapshot('/timed') as { value: unknown }).value).toBe('done');
    expect(seen).toEqual([{ result: '42' }]);
  });

  it('a suspended agent in a busy state stops at once (it could not leave it), as a suspended OTP process obeys its supervisor', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const never = defineAgent({
      name: 'never',
      machine: setup({ types: { events: {} as AclMessage }, actors: { forever: fromPromise(() => new Promise<void>(() => undefined)) } }).createMachine({
        initial: 'busy',
        states: { busy: { tags: ['busy'], invoke: { src: 'forever', onDone: 'idle' } }, idle: {} },
      }),
    });
    const system = track(await createSystem({ root: supervisor({ children: [{ id: 'never', agent: never, shutdownMs: 5_000 }] }) }));
    const log = new EventLog(system);
    system.suspend('/never');
    let stopped = false;
    const stopping = system.terminateChild('/', 'never').then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(1);
    expect(stopped).toBe(true);
    await stopping;
    expect(log.of('stopped').map((event) => (event.type === 'stopped' ? event.reason : undefined))).toEqual(['shutdown']);
  });

  it('a request to a suspended agent times out as usual; stopping it answers what waited with failure', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    system.suspend('/e');
    const timedOut = system.request('/e', 1, { timeoutMs: 100 });
    const assertion = expect(timedOut).rejects.toBeInstanceOf(DeadlineError);
    await vi.advanceTimersByTimeAsync(100);
    await assertion;
    const waiting = system.request('/e', 2, { timeoutMs: 10_000 });
    await system.terminateChild('/', 'e');
    await expect(waiting).rejects.toSatisfy((error) => error instanceof FailureError && error.reason === 'agent-stopping');
  });
});
