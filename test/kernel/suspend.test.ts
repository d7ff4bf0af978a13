/**
 * Suspend and resume (OTP sys:suspend / sys:resume): a suspended agent handles nothing; its
 * messages queue under the usual mailbox rules; resume handles them in order. A suspended
 * agent is not hung, and a restart starts unsuspended.
 */
import { describe, expect, it, vi } from 'vitest';
import { ConfigurationError, FailureError, supervisor } from '../../src/index.js';
import { EventLog } from '../support/event-log.js';
import { echo, nextImmediate, recorder, startSystem, track } from './helpers.js';
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
});
