import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { createSystem, defineAgent, FailureError, reply, tell, type AclMessage } from '../../src/index.js';
import { echo, EventLog, rootOf, startSystem, track } from './helpers.js';

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

describe('a guard that throws while the runtime asks can()', () => {
  it('is a crash of the agent: the request is answered failure (agent-failed), the agent restarts, the rest of the mailbox is handled', async () => {
    // Every request transition is guarded, so the runtime asks can() before delivering.
    const touchy = defineAgent({
      name: 'touchy',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          request: {
            guard: ({ event }) => {
              if (event.content === 'boom') throw new Error('guard exploded');
              return true;
            },
            actions: reply('inform', ({ event }) => event.content as never),
          },
        },
      }),
    });
    const system = await startSystem([{ id: 't', agent: touchy }]);
    const log = new EventLog(system);
    const outcomes = Promise.all(['one', 'boom', 'two'].map((x) => outcome(system.request('/t', x, { timeoutMs: 2_000 }))));
    const [one, boom, two] = await outcomes;
    expect(one).toBe('one');
    expect(boom).toBeInstanceOf(FailureError);
    expect((boom as FailureError).reason).toBe('agent-failed');
    expect((boom as FailureError).message).toMatch(/guard exploded/);
    expect(two).toBe('two');
    expect(log.trace(['failed', 'restarted'])).toEqual(['failed /t', 'restarted /t']);
    expect(system.deadLetters.count).toBe(0);
    await system.stop();
  });
});

describe('an agent that reaches a final state in the middle of a turn', () => {
  const finisher = defineAgent({
    name: 'finisher',
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      initial: 'on',
      states: {
        on: {
          on: {
            request: [{ guard: ({ event }) => event.content === 'quit', target: 'done' }, { actions: reply('inform', ({ event }) => event.content as never) }],
          },
        },
        done: { type: 'final' },
      },
    }),
  });

  it('leaves the rest of the mailbox to the next incarnation of a permanent agent', async () => {
    const system = await startSystem([{ id: 'f', agent: finisher }]);
    const outcomes = Promise.all(['one', 'quit', 'two', 'three'].map((x) => outcome(system.request('/f', x, { timeoutMs: 2_000 }))));
    expect(system.metrics('/f')?.queueDepth).toBe(4);
    const [one, quit, two, three] = await outcomes;
    expect(one).toBe('one');
    expect(quit).toBeInstanceOf(FailureError);
    expect((quit as FailureError).reason).toBe('agent-stopped');
    expect([two, three]).toEqual(['two', 'three']);
    expect(system.lookup('/f')?.restarts).toBe(1);
    expect(system.deadLetters.count).toBe(0);
    await system.stop();
  });

  it('dead-letters the rest of the mailbox when the agent is not restarted (transient, normal exit), answering failure', async () => {
    const system = await startSystem([{ id: 'f', agent: finisher, restart: 'transient' }]);
    const outcomes = Promise.all(['quit', 'two'].map((x) => outcome(system.request('/f', x, { timeoutMs: 2_000 }))));
    await system.tell('/f', 'inform', 'told');
    const [quit, two] = await outcomes;
    expect((quit as FailureError).reason).toBe('agent-stopped');
    expect(two).toBeInstanceOf(FailureError);
    expect((two as FailureError).reason).toBe('agent-stopped');
    expect(system.deadLetters.recent().map((letter) => [letter.message.content, letter.reason])).toEqual([
      ['two', 'agent-stopped'],
      ['told', 'agent-stopped'],
    ]);
    await system.stop();
  });
});

describe('open requests of an agent', () => {
  /** Accepts requests and never answers them; crashes on inform. */
  const holder = defineAgent({
    name: 'holder',
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      on: {
        request: { actions: () => undefined },
        inform: {
          actions: () => {
            throw new Error('crash');
          },
        },
      },
    }),
  });

  it('keeps apart two askers that chose the same reply-with tag: both are answered failure on a crash', async () => {
    const system = await startSystem([{ id: 'h', agent: holder }]);
    const first = outcome(system.request('/h', 'a', { timeoutMs: 2_000, options: { replyWith: 'same-tag' } }));
    const second = outcome(system.request('/h', 'b', { timeoutMs: 2_000, options: { replyWith: 'same-tag' } }));
    await system.whenIdle();
    await system.tell('/h', 'inform', 'crash now');
    for (const error of await Promise.all([first, second])) {
      expect(error).toBeInstanceOf(FailureError);
      expect((error as FailureError).reason).toBe('agent-failed');
    }
    await system.stop();
  });

  it('a request sent on with the same reply-with but no reply-to is not handed over: the forwarder still owes the answer', async () => {
    const relay = defineAgent({
      name: 'relay',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          // Reuses the tag for its own request to /h, which answers to the relay, not to the asker.
          request: { actions: tell('/h', 'request', 'sub-job', ({ event }) => ({ replyWith: event.replyWith })) },
          inform: {
            actions: () => {
              throw new Error('relay crash');
            },
          },
        },
      }),
    });
    const system = await startSystem([
      { id: 'relay', agent: relay },
      { id: 'h', agent: holder },
    ]);
    const answer = outcome(system.request('/relay', 'job', { timeoutMs: 2_000 }));
    await system.whenIdle();
    await system.tell('/relay', 'inform', 'crash now');
    const error = await answer;
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).reply.sender).toBe('/relay');
    await system.stop();
  });
});

describe('answers to a request forwarded on behalf of an agent', () => {
  it('reach the asking agent (not pinned to the forwarder\'s incarnation), from the new receiver and from the runtime', async () => {
    const seen: string[] = [];
    const asker = defineAgent({
      name: 'asker',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          'query-ref': { actions: tell('/forwarder', 'request', ({ event }) => event.content as never) },
          inform: { actions: ({ event }) => seen.push(`inform ${String(event.content)} from ${event.sender}`) },
          'not-understood': { actions: ({ event }) => seen.push(`not-understood from ${event.sender}`) },
        },
      }),
    });
    const forwarder = defineAgent({
      name: 'forwarder',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          request: {
            actions: tell(
              ({ event }) => (event.content === 'job' ? '/worker' : '/mute'),
              'request',
              ({ event }) => event.content as never,
              ({ event }) => ({ conversationId: event.conversationId, replyWith: event.replyWith, replyTo: event.replyTo ?? event.sender }),
            ),
          },
        },
      }),
    });
    const mute = defineAgent({ name: 'mute', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { inform: { actions: () => undefined } } }) });
    const system = await startSystem([
      { id: 'asker', agent: asker },
      { id: 'forwarder', agent: forwarder },
      { id: 'worker', agent: echo('worker') },
      { id: 'mute', agent: mute },
    ]);
    await system.tell('/asker', 'query-ref', 'job');
    await system.tell('/asker', 'query-ref', 'odd');
    await system.whenIdle();
    expect(seen).toEqual(['inform job from /worker', 'not-understood from /mute']);
    expect(system.deadLetters.count).toBe(0);
    await system.stop();
  });
});

describe('second review', () => {
  it('a reply that cannot be sent (content not plain data) is a crash, and the request is still answered failure', async () => {
    const bad = defineAgent({
      name: 'bad',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: reply('inform', () => ({ at: new Date(0) }) as never) } } }),
    });
    const system = await startSystem([{ id: 'bad', agent: bad }]);
    const error = await outcome(system.request('/bad', {}, { timeoutMs: 60_000 }));
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).reason).toBe('agent-failed');
    await system.stop();
  });

  it("'resume' after a guard that throws restarts from just before that message, keeping the one before it", async () => {
    const counter = defineAgent({
      name: 'counter',
      machine: setup({ types: { events: {} as AclMessage, context: {} as { n: number } } }).createMachine({
        context: { n: 0 },
        on: {
          inform: { actions: assign({ n: ({ context }) => context.n + 1 }) },
          cfp: {
            guard: () => {
              throw new Error('guard boom');
            },
            actions: () => undefined,
          },
          request: { actions: reply('inform', ({ context }) => ({ n: context.n })) },
        },
      }),
    });
    const system = await startSystem([{ id: 'c', agent: counter, onRestart: 'resume' }]);
    const log = new EventLog(system);
    await system.tell('/c', 'inform');
    await system.tell('/c', 'cfp');
    await log.wait({ type: 'restarted', path: '/c' });
    expect((await system.request('/c')).content).toEqual({ n: 1 });
    await system.stop();
  });
});

describe("onRestart 'resume' and requests the crash already answered", () => {
  it('a resumed machine that still holds such a request cannot answer it a second time', async () => {
    const answers: string[] = [];
    const asker = defineAgent({
      name: 'asker',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          propagate: { actions: tell('/w', 'request', 'job') },
          failure: { actions: () => answers.push('failure') },
          inform: { actions: () => answers.push('inform') },
        },
      }),
    });
    const holder = defineAgent({
      name: 'holder',
      machine: setup({ types: { events: {} as AclMessage, context: {} as { held: AclMessage | undefined } } }).createMachine({
        context: { held: undefined },
        initial: 'idle',
        states: {
          idle: { on: { request: { target: 'holding', actions: assign({ held: ({ event }) => event }) } } },
          holding: {
            on: {
              inform: [
                {
                  guard: ({ event }) => event.content === 'crash',
                  actions: () => {
                    throw new Error('crash while holding');
                  },
                },
                { target: 'idle', actions: reply('inform', 'done', { to: ({ context }) => context.held as AclMessage }) },
              ],
            },
          },
        },
      }),
    });
    const system = await startSystem([
      { id: 'a', agent: asker },
      { id: 'w', agent: holder, onRestart: 'resume' },
    ]);
    const log = new EventLog(system);
    await system.tell('/a', 'propagate');
    await system.whenIdle();
    await system.tell('/w', 'inform', 'crash');
    await log.wait({ type: 'restarted', path: '/w' });
    await system.whenIdle();
    expect(answers).toEqual(['failure']);
    await system.tell('/w', 'inform', 'go'); // the resumed machine still holds the request and replies
    await system.whenIdle();
    expect(answers).toEqual(['failure']);
    expect(system.deadLetters.recent().map((letter) => `${letter.reason} ${letter.message.performative}`)).toEqual(['no-waiting-request inform']);
    await system.stop();
  });
});
