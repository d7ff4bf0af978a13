import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { createSystem, defineAgent, FailureError, reply, tell, type AclMessage } from '../../src/index.js';
import { EventLog, rootOf, startSystem, track } from './helpers.js';

/** `request 'crash'` throws in its action; anything else is answered with the running count of this incarnation. */
const fragile = defineAgent({
  name: 'fragile',
  machine: setup({ types: { events: {} as AclMessage, context: {} as { n: number } } }).createMachine({
    context: { n: 0 },
    on: {
      request: [
        {
          guard: ({ event }) => event.content === 'crash',
          actions: () => {
            throw new Error('kaboom');
          },
        },
        { guard: ({ event }) => event.content === 'bad-send', actions: tell('not a path', 'inform', 'x') },
        { actions: [assign({ n: ({ context }) => context.n + 1 }), reply('inform', ({ context, event }) => ({ n: context.n, got: event.content as never }))] },
      ],
    },
  }),
});

async function outcome(promise: Promise<AclMessage>): Promise<unknown> {
  return promise.then(
    (answer) => answer.content,
    (error: unknown) => error,
  );
}

describe('an agent that throws while handling a message', () => {
  it('answers the sender with failure and reports the failure to its parent, which restarts it at the same path', async () => {
    const system = await startSystem([{ id: 'f', agent: fragile }]);
    const log = new EventLog(system);
    const before = system.lookup('/f');
    const error = await outcome(system.request('/f', 'crash'));
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).reason).toBe('agent-failed');
    expect((error as FailureError).message).toMatch(/kaboom/);
    expect((error as FailureError).reply.sender).toBe('/f');
    await log.wait({ type: 'restarted', path: '/f' });
    expect(log.trace(['failed', 'restarted', 'stopped'])).toEqual(['failed /f', 'restarted /f']);
    expect(log.events.find((e) => e.type === 'failed')).toMatchObject({ reason: 'kaboom', incarnation: before?.incarnation });
    const after = system.lookup('/f');
    expect(after?.path).toBe('/f');
    expect(after?.incarnation).not.toBe(before?.incarnation);
    expect(after?.restarts).toBe(1);
    expect(system.whichChildren()[0]).toMatchObject({ id: 'f', status: 'running', restarts: 1 });
    expect(await outcome(system.request('/f', 'hello'))).toEqual({ n: 1, got: 'hello' });
    await system.stop();
  });

  it('keeps the rest of the mailbox for the next incarnation', async () => {
    const system = await startSystem([{ id: 'f', agent: fragile }]);
    const outcomes = Promise.all(['one', 'two', 'crash', 'three', 'four'].map((x) => outcome(system.request('/f', x))));
    expect(system.metrics('/f')?.queueDepth).toBe(5);
    const [one, two, crash, three, four] = await outcomes;
    expect(one).toEqual({ n: 1, got: 'one' });
    expect(two).toEqual({ n: 2, got: 'two' });
    expect(crash).toBeInstanceOf(FailureError);
    // Fresh context (n restarts at 1): handled by the new incarnation, none lost.
    expect(three).toEqual({ n: 1, got: 'three' });
    expect(four).toEqual({ n: 2, got: 'four' });
    expect(system.deadLetters.count).toBe(0);
    await system.stop();
  });

  it('answers every request the agent had accepted but not answered when it crashes later', async () => {
    const holder = defineAgent({
      name: 'holder',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          request: { actions: () => undefined }, // accepted, to be answered later (never, as it turns out)
          inform: {
            actions: () => {
              throw new Error('late crash');
            },
          },
        },
      }),
    });
    const system = await startSystem([{ id: 'h', agent: holder }]);
    const open = [outcome(system.request('/h', 1)), outcome(system.request('/h', 2))];
    await system.whenIdle();
    await system.tell('/h', 'inform', 'now');
    for (const result of await Promise.all(open)) {
      expect(result).toBeInstanceOf(FailureError);
      expect((result as FailureError).reason).toBe('agent-failed');
    }
    await system.stop();
  });

  it('a bad send from a machine is a crash of the sender, never a silent loss', async () => {
    const system = await startSystem([{ id: 'f', agent: fragile }]);
    const log = new EventLog(system);
    const error = await outcome(system.request('/f', 'bad-send'));
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).message).toMatch(/invalid path/);
    await log.wait({ type: 'restarted', path: '/f' });
    await system.stop();
  });
});

describe('logging', () => {
  it('is quiet in tests when no logger is given', async () => {
    const system = await startSystem([{ id: 'f', agent: fragile }]);
    expect(system.logger.level).toBe('silent');
    await system.stop();
  });

  it('logs through a child logger per agent with path, incarnation and conversation id', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const system = track(await createSystem({ root: rootOf([{ id: 'f', agent: fragile }]), logger, name: 'logged' }));
    const events = new EventLog(system);
    const first = system.lookup('/f')?.incarnation;
    await outcome(system.request('/f', 'crash', { options: { conversationId: 'conv-crash-1' } }));
    await events.wait({ type: 'restarted', path: '/f' });
    const second = system.lookup('/f')?.incarnation;
    await outcome(system.request('/f', 'crash', { options: { conversationId: 'conv-crash-2' } }));
    await events.wait({ type: 'restarted', path: '/f' }, 2);
    const crashes = lines.filter((line) => line.path === '/f' && line.level === 50);
    expect(crashes).toHaveLength(2);
    expect(crashes[0]).toMatchObject({ system: 'logged', path: '/f', agent: 'fragile', incarnation: first, conversationId: 'conv-crash-1' });
    expect(crashes[1]).toMatchObject({ system: 'logged', path: '/f', agent: 'fragile', incarnation: second, conversationId: 'conv-crash-2' });
    expect(first).not.toBe(second);
    // Dead letters are logged (debug) with their conversation id too.
    await system.tell('/nobody', 'inform', 'x', { conversationId: 'conv-dead' });
    expect(lines.find((line) => line.conversationId === 'conv-dead')).toMatchObject({ level: 20, path: '/nobody', reason: 'no-such-agent' });
    await system.stop();
  });

  it('logs lifecycle events: starts and stops at debug, restarts at info', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const system = track(await createSystem({ root: rootOf([{ id: 'f', agent: fragile }]), logger, name: 'lifecycle' }));
    const events = new EventLog(system);
    await outcome(system.request('/f', 'crash'));
    await events.wait({ type: 'restarted', path: '/f' });
    const restarted = system.lookup('/f')?.incarnation;
    await system.stop();
    // At info: the restart, not the starts and stops.
    expect(lines.filter((line) => line.level === 30).map((line) => line.msg)).toEqual(['/f restarted']);
    expect(lines.find((line) => line.msg === '/f restarted')).toMatchObject({ system: 'lifecycle', kind: 'agent', restarts: 1, incarnation: restarted });
    expect(lines.some((line) => line.level === 20)).toBe(false);

    logger.level = 'debug';
    const again = track(await createSystem({ root: rootOf([{ id: 'g', agent: fragile }]), logger, name: 'lifecycle' }));
    await again.stop();
    expect(lines.filter((line) => line.level === 20).map((line) => line.msg)).toEqual(['/g started', '/ started', '/g stopped', '/ stopped']);
  });
});

describe('a request forwarded with its reply-with', () => {
  it('is answered by the agent it was handed to, and no longer by the forwarder when that one crashes', async () => {
    const forwarder = defineAgent({
      name: 'forwarder',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          request: {
            // Hands the request to /worker: the answer goes straight back to whoever asked.
            actions: tell('/worker', 'request', ({ event }) => event.content as never, ({ event }) => ({
              conversationId: event.conversationId,
              replyWith: event.replyWith,
              replyTo: event.replyTo ?? event.sender,
            })),
          },
          inform: {
            actions: () => {
              throw new Error('forwarder crash');
            },
          },
        },
      }),
    });
    const handedOver = defineAgent({
      name: 'worker',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: () => undefined } } }),
    });
    const system = await startSystem([
      { id: 'forwarder', agent: forwarder },
      { id: 'worker', agent: handedOver },
    ]);
    const log = new EventLog(system);
    const answer = outcome(system.request('/forwarder', 'job', { timeoutMs: 60_000 }));
    await system.whenIdle();
    // The forwarder crashes: the request it handed over is not its to fail any more.
    await system.tell('/forwarder', 'inform', 'crash now');
    await log.wait({ type: 'restarted', path: '/forwarder' });
    await system.whenIdle();
    expect(system.deadLetters.count).toBe(0);
    // The worker holds it: when the worker crashes, the asker hears from the worker.
    await system.terminateChild('/', 'worker');
    const error = await answer;
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).reply.sender).toBe('/worker');
    await system.stop();
  });
});
