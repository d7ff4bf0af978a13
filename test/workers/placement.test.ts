/**
 * Agents placed on worker threads: the same definitions, messages, validation, ordering and
 * asks as inline, on real worker_threads.
 */
import { readdirSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSystem, defineAgent, NotUnderstoodError, supervisor, SupervisorSpecError, ConfigurationError, StartError, type ChildSpec, type SystemEvent, type System } from '../../src/index.js';
import { greeter, relay, worker } from './agents.js';
import { cheap, cnetManager, dear } from './contract-net-agents.js';
import { setup } from 'xstate';
import { stoppedAfterEach } from '../support/systems.js';

/** Bounds waits that include a thread's boot, which a loaded machine can make slow (nothing is timed). */
const POLL = { timeout: 20_000 };
const Answer = z.object({ thread: z.number(), handled: z.number(), text: z.string().optional() });
const track = stoppedAfterEach();

async function start(children: ChildSpec[], size = 2): Promise<System> {
  const system = await createSystem({ root: supervisor({ intensity: { maxRestarts: 5, withinMs: 10_000 }, children }), workers: { size } });
  track(system);
  return system;
}

describe('placement: worker', () => {
  it('answers a request from another thread, under the same path', { timeout: 60_000 }, async () => {
    const system = await start([{ id: 'w', agent: worker }]);
    const answer = await system.request('/w', { op: 'echo', text: 'hi' }, { expect: Answer });
    expect(answer.performative).toBe('inform');
    expect(answer.sender).toBe('/w');
    expect(answer.content.text).toBe('hi');
    expect(answer.content.thread).not.toBe(threadId);
    expect(system.lookup('/w')).toMatchObject({ kind: 'agent', status: 'running', incarnation: answer.senderIncarnation });
  });

  it('validates content and performatives on the worker exactly as inline', { timeout: 60_000 }, async () => {
    const system = await start([{ id: 'w', agent: worker }]);
    const invalid = await system.request('/w', { op: 'dance' }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(NotUnderstoodError);
    expect((invalid as NotUnderstoodError).reason).toBe('invalid-content');
    const unhandled = await system.request('/w', {}, { performative: 'cfp' }).catch((error: unknown) => error);
    expect(unhandled).toBeInstanceOf(NotUnderstoodError);
    expect((unhandled as NotUnderstoodError).reason).toBe('unhandled-performative');
    await system.tell('/w', 'inform', { stray: true });
    await expect.poll(() => system.deadLetters.recent().some((letter) => letter.reason === 'unhandled' && letter.message.receiver === '/w'), POLL).toBe(true);
  });

  it('handles one agent’s messages one at a time, in the order sent', { timeout: 60_000 }, async () => {
    const system = await start([{ id: 'w', agent: worker }]);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, index) => system.request('/w', { op: 'echo', text: String(index) }, { expect: Answer })));
    expect(answers.map((answer) => answer.content.handled)).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
    expect(answers.map((answer) => answer.content.text)).toEqual(Array.from({ length: 40 }, (_, index) => String(index)));
  });

  it('lets a worker agent ask inline agents and other worker agents', { timeout: 60_000 }, async () => {
    const system = await start([
      { id: 'greeter', agent: greeter },
      { id: 'w', agent: worker },
      { id: 'relay', agent: relay },
    ]);
    const viaInline = await system.request('/relay', { to: '/greeter', content: 'Ada' });
    expect(viaInline.content).toMatchObject({ relayed: { hello: 'Ada', thread: threadId } });
    const viaWorker = await system.request('/relay', { to: '/w', content: { op: 'echo', text: 'x' } });
    expect(viaWorker.content).toMatchObject({ relayed: { text: 'x' } });
    // The relay's own ask fails (nobody there); it answers its asker `failure`, from its thread.
    await expect(system.request('/relay', { to: '/nobody', content: 1 })).rejects.toThrow(/no agent at \/nobody/);
  });

  it('starts dynamic children from a template onto worker threads, and stops them', { timeout: 60_000 }, async () => {
    const system = await createSystem({ root: supervisor({ template: { agent: worker, restart: 'temporary' } }), workers: { size: 2 } });
    track(system);
    await system.startChild('/', { id: 'd1' });
    await system.startChild('/', { id: 'd2' });
    const answers = await Promise.all(['/d1', '/d2'].map((path) => system.request(path, { op: 'echo', text: path }, { expect: Answer })));
    expect(answers.map((answer) => answer.content.text)).toEqual(['/d1', '/d2']);
    expect(answers.every((answer) => answer.content.thread !== threadId)).toBe(true);
    await system.terminateChild('/', 'd1');
    expect(system.lookup('/d1')).toBeUndefined();
    await expect(system.request('/d1', { op: 'echo' })).rejects.toThrow(/no agent at \/d1/);
    await expect(system.request('/d2', { op: 'echo' }, { expect: Answer })).resolves.toMatchObject({ performative: 'inform' });
  });

  it('reports metrics of a worker agent like an inline one', { timeout: 60_000 }, async () => {
    const system = await start([{ id: 'w', agent: worker }]);
    for (let index = 0; index < 3; index++) await system.request('/w', { op: 'spin', ms: 2 }, { expect: Answer });
    await expect.poll(() => system.metrics('/w')?.processed, POLL).toBe(3);
    const metrics = system.metrics('/w');
    expect(metrics).toMatchObject({ queueDepth: 0, restarts: 0 });
    expect(metrics?.processingMs).toBeGreaterThan(0);
  });

  it('spreads agents over the pool, many agents per thread', { timeout: 60_000 }, async () => {
    const children = Array.from({ length: 6 }, (_, index) => ({ id: `w${index}`, agent: worker }));
    const system = await start(children, 2);
    const threads = await Promise.all(children.map(({ id }) => system.request(`/${id}`, { op: 'echo' }, { expect: Answer }).then((answer) => answer.content.thread)));
    const counts = new Map<number, number>();
    for (const thread of threads) counts.set(thread, (counts.get(thread) ?? 0) + 1);
    expect([...counts.values()].sort()).toEqual([3, 3]);
  });

  it('brings worker log lines to the main logger', { timeout: 60_000 }, async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const system = await createSystem({ root: supervisor({ children: [{ id: 'w', agent: worker }] }), logger: pino({ level: 'error' }, stream), workers: { size: 1 } });
    track(system);
    await expect(system.request('/w', { op: 'throw' })).rejects.toThrow('the worker agent threw on purpose');
    await expect.poll(() => lines.find((line) => line.path === '/w' && typeof line.thread === 'number' && line.thread !== threadId), POLL).toBeDefined();
  });
});

describe('placement rules', () => {
  const plain = defineAgent({ name: 'plain', machine: setup({}).createMachine({}) });

  it('needs a module URL, said up front', () => {
    expect(() => supervisor({ children: [{ id: 'p', agent: plain, placement: 'worker' }] })).toThrow(SupervisorSpecError);
    expect(() => supervisor({ children: [{ id: 'p', agent: plain, placement: 'worker' }] })).toThrow(/module: import\.meta\.url/);
    expect(() => defineAgent({ name: 'p', machine: setup({}).createMachine({}), placement: 'worker' })).toThrow(ConfigurationError);
    expect(() => defineAgent({ name: 'p', machine: setup({}).createMachine({}), module: 'not a url' })).toThrow(/must be the URL/);
    expect(() => supervisor({ children: [{ id: 'p', agent: plain, placement: 'elsewhere' as 'worker' }] })).toThrow(/placement must be 'inline' or 'worker'/);
  });

  it('fails createSystem with a named error when a worker agent\'s module does not export it, as an inline start error does', { timeout: 60_000 }, async () => {
    const hidden = defineAgent({ name: 'hidden', module: new URL('./agents.ts', import.meta.url), machine: setup({}).createMachine({}) });
    const threads = readdirSync('/proc/self/task').length;
    const failed = createSystem({ root: supervisor({ intensity: { maxRestarts: 1, withinMs: 10_000 }, children: [{ id: 'h', agent: hidden, placement: 'worker' }] }), workers: { size: 1 } });
    await expect(failed).rejects.toBeInstanceOf(StartError);
    await expect(failed).rejects.toThrow(/agent \/h failed to start: .*exports no agent definition named "hidden"/);
    await expect.poll(() => readdirSync('/proc/self/task').length, { timeout: 10_000 }).toBeLessThanOrEqual(threads);
  });

  it('fails a worker agent whose module stops exporting it on a later start through its supervisor, with the named error', { timeout: 60_000 }, async () => {
    const events: SystemEvent[] = [];
    const system = await createSystem({ root: supervisor({ intensity: { maxRestarts: 1, withinMs: 10_000 }, children: [] }), workers: { size: 1 } });
    track(system);
    system.subscribe((event) => events.push(event));
    const hidden = defineAgent({ name: 'hidden', module: new URL('./agents.ts', import.meta.url), machine: setup({}).createMachine({}) });
    await system.startChild('/', { id: 'h', agent: hidden, placement: 'worker' });
    const reason = await system.whenTerminated;
    expect(reason.kind).toBe('restart-limit');
    const failure = events.find((event) => event.type === 'failed');
    expect(failure).toMatchObject({ path: '/h' });
    expect((failure as { reason: string }).reason).toMatch(/exports no agent definition named "hidden"/);
  });

  it('rejects bad pool options', { timeout: 60_000 }, async () => {
    await expect(createSystem({ root: supervisor({}), workers: { size: 0 } })).rejects.toThrow(/workers.size/);
  });

  it('fails a start whose input cannot cross a thread, as a start error, and leaves no thread behind', { timeout: 60_000 }, async () => {
    const threads = readdirSync('/proc/self/task').length;
    await expect(createSystem({ root: supervisor({ children: [{ id: 'w', agent: worker, input: () => 1 }] }), workers: { size: 1 } })).rejects.toThrow(/failed to start/);
    expect(readdirSync('/proc/self/task').length).toBeLessThanOrEqual(threads);
  });
});

describe('inline-only controls', () => {
  it('says suspend and resume are for inline agents, not that a running worker agent is not running', { timeout: 60_000 }, async () => {
    const system = await start([{ id: 'w', agent: worker }]);
    await system.request('/w', { op: 'echo' }, { timeoutMs: 20_000 });
    expect(() => system.suspend('/w')).toThrow(ConfigurationError);
    expect(() => system.suspend('/w')).toThrow(/runs on a worker thread .*inline agents only/);
    expect(() => system.resume('/w')).toThrow(/runs on a worker thread/);
  });
});

describe('contract nets across threads', () => {
  const Outcome = z.object({
    winners: z.array(z.object({ participant: z.string() })),
    results: z.array(z.object({ participant: z.string(), result: z.object({ done: z.number(), thread: z.number() }) })),
    participants: z.array(z.object({ participant: z.string(), fate: z.string() })),
  });

  it('runs a contract net whose contractors are on worker threads', { timeout: 60_000 }, async () => {
    const system = await start([
      { id: 'cheap', agent: cheap },
      { id: 'dear', agent: dear },
      { id: 'm', agent: cnetManager, placement: 'inline' },
    ]);
    const outcome = (await system.request('/m', { size: 3 }, { expect: Outcome, timeoutMs: 30_000 })).content;
    expect(outcome.winners.map((bid) => bid.participant)).toEqual(['/cheap']);
    expect(outcome.results[0]?.result.done).toBe(3);
    expect(outcome.results[0]?.result.thread).not.toBe(threadId);
    expect(Object.fromEntries(outcome.participants.map((entry) => [entry.participant, entry.fate]))).toEqual({ '/cheap': 'completed', '/dear': 'rejected' });
  });

  it('lets a manager on a worker thread hear the bids on its conversation port', { timeout: 60_000 }, async () => {
    const system = await start([
      { id: 'cheap', agent: cheap },
      { id: 'dear', agent: dear, placement: 'inline' },
      { id: 'm', agent: cnetManager },
    ]);
    const outcome = (await system.request('/m', { size: 2 }, { expect: Outcome, timeoutMs: 30_000 })).content;
    expect(outcome.winners.map((bid) => bid.participant)).toEqual(['/cheap']);
    expect(outcome.results[0]?.result.done).toBe(2);
    expect(Object.fromEntries(outcome.participants.map((entry) => [entry.participant, entry.fate]))).toEqual({ '/cheap': 'completed', '/dear': 'rejected' });
    // The port lives on the manager's thread; the main runtime has none open for it.
    expect(system.deadLetters.recent().filter((letter) => letter.message.receiver.startsWith('/$port/'))).toEqual([]);
  });
});
