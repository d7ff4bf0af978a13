import { describe, expect, it } from 'vitest';
import { assign, createActor, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { createMessage, createSystem, defineAgent, FailureError, OUTBOUND, reply, supervisor, SystemStoppedError, tell, type AclMessage, type InboundEvents, type OutboundEvent, type Terminated } from '../../src/index.js';
import { echo, EventLog, latch, rootOf, startSystem, track } from './helpers.js';

const crashOnRequest = defineAgent({
  name: 'crasher',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({
    on: {
      request: {
        actions: () => {
          throw new Error('crash');
        },
      },
      inform: { actions: reply('inform', 'ok') },
    },
  }),
});

describe('addresses and incarnations', () => {
  it('lookup and whichChildren describe the tree by path, in start order', async () => {
    const system = track(
      await createSystem({
        root: supervisor({
          children: [
            { id: 'a', agent: echo('a') },
            { id: 'team', agent: supervisor({ children: [{ id: 'x', agent: echo('x') }, { id: 'y', agent: echo('y') }] }) },
            { id: 'c', agent: echo('c') },
          ],
        }),
      }),
    );
    expect(system.whichChildren().map((c) => [c.id, c.path, c.kind, c.status])).toEqual([
      ['a', '/a', 'agent', 'running'],
      ['team', '/team', 'supervisor', 'running'],
      ['c', '/c', 'agent', 'running'],
    ]);
    expect(system.whichChildren('/team').map((c) => c.path)).toEqual(['/team/x', '/team/y']);
    expect(system.lookup('/team/y')).toMatchObject({ id: 'y', path: '/team/y', kind: 'agent', status: 'running', restarts: 0, incarnation: expect.any(String) });
    expect(system.lookup('/team/')).toMatchObject({ kind: 'supervisor', path: '/team' });
    expect(system.lookup('/')).toMatchObject({ kind: 'supervisor', id: 'root' });
    expect(system.lookup('/missing')).toBeUndefined();
    await expect(system.request('/team/x', 'deep')).resolves.toMatchObject({ content: 'deep', sender: '/team/x' });
    await system.stop();
  });

  it('a path outlives restarts; every start is a new incarnation', async () => {
    const system = await startSystem([{ id: 'c', agent: crashOnRequest }]);
    const log = new EventLog(system);
    const incarnations = [system.lookup('/c')?.incarnation];
    for (let i = 1; i <= 3; i++) {
      await system.request('/c', 'x').catch(() => undefined);
      await log.wait({ type: 'restarted', path: '/c' }, i);
      incarnations.push(system.lookup('/c')?.incarnation);
    }
    await system.terminateChild('/', 'c');
    expect(system.lookup('/c')).toBeUndefined();
    await system.restartChild('/', 'c');
    incarnations.push(system.lookup('/c')?.incarnation);
    expect(new Set(incarnations).size).toBe(5);
    for (const incarnation of incarnations) expect(incarnation).toEqual(expect.any(String));
    expect(log.events.filter((e) => e.type === 'restarted').map((e) => e.incarnation).slice(0, 3)).toEqual(incarnations.slice(1, 4));
    await expect(system.request('/c', 'x', { performative: 'query-ref' })).rejects.toBeInstanceOf(Error);
    await expect(system.tell('/c', 'inform', 'still there')).resolves.toBe('queued');
    await system.stop();
  });

  it('an answer meant for an earlier incarnation is a dead letter, never a surprise for the new one', async () => {
    const seen: AclMessage[] = [];
    const asker = defineAgent({
      name: 'asker',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          inform: { actions: [({ event }) => void seen.push(event)] },
          request: { actions: tell('/holder', 'request', 'please') },
          cancel: {
            actions: () => {
              throw new Error('restart me');
            },
          },
        },
      }),
    });
    const holder = defineAgent({
      name: 'holder',
      machine: setup({ types: { events: {} as AclMessage, context: {} as { held: AclMessage | undefined } } }).createMachine({
        context: { held: undefined },
        on: {
          request: { actions: assign({ held: ({ event }) => event }) },
          confirm: { actions: reply('inform', 'late answer', { to: ({ context }) => context.held as AclMessage }) },
        },
      }),
    });
    const system = await startSystem([
      { id: 'asker', agent: asker },
      { id: 'holder', agent: holder },
    ]);
    const log = new EventLog(system);
    await system.tell('/asker', 'request', 'go');
    await system.whenIdle();
    await system.tell('/asker', 'cancel');
    await log.wait({ type: 'restarted', path: '/asker' });
    await system.tell('/holder', 'confirm');
    await system.whenIdle();
    expect(seen).toHaveLength(0);
    expect(system.deadLetters.recent().map((l) => [l.reason, l.message.content])).toEqual([['stale-incarnation', 'late answer']]);
    await system.stop();
  });
});

describe('watch', () => {
  it('delivers terminated once when the agent stops for good, not on restarts', async () => {
    const system = await startSystem([{ id: 'c', agent: crashOnRequest }]);
    const log = new EventLog(system);
    const signals: Terminated[] = [];
    system.watch('/c', (signal) => signals.push(signal));
    await system.request('/c', 'x').catch(() => undefined);
    await log.wait({ type: 'restarted', path: '/c' });
    expect(signals).toHaveLength(0);
    const incarnation = system.lookup('/c')?.incarnation;
    await system.terminateChild('/', 'c');
    expect(signals).toEqual([{ type: 'terminated', path: '/c', incarnation, reason: { kind: 'shutdown' } }]);
    await system.stop();
    expect(signals).toHaveLength(1);
  });

  it('delivers terminated with reason normal when a transient agent reaches a final state and is not restarted', async () => {
    const finisher = defineAgent({
      name: 'finisher',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({ initial: 'on', states: { on: { on: { inform: 'done' } }, done: { type: 'final' } } }),
    });
    const system = await startSystem([{ id: 'f', agent: finisher, restart: 'transient' }]);
    const terminated = latch<Terminated>();
    system.watch('/f', (signal) => terminated.open(signal));
    await system.tell('/f', 'inform', 'finish');
    expect(await terminated.promise).toMatchObject({ type: 'terminated', path: '/f', reason: { kind: 'normal' } });
    expect(system.lookup('/f')).toBeUndefined();
    await system.stop();
  });

  it('unsubscribing the last watcher of a path forgets the path (no entry left behind per watched path)', async () => {
    const system = await startSystem(['a', 'b', 'c', 'e'].map((id) => ({ id, agent: echo(id) })));
    const watchers = (system as unknown as { runtime: { watchers: { watchers: Map<string, unknown> } } }).runtime.watchers.watchers;
    const offs = ['/a', '/b', '/c'].map((path) => system.watch(path, () => undefined));
    const first = system.watch('/e', () => undefined);
    const second = system.watch('/e', () => undefined);
    expect(watchers.size).toBe(4);
    for (const off of offs) off();
    first();
    expect([...watchers.keys()]).toEqual(['/e']);
    second();
    second(); // twice is harmless
    expect(watchers.size).toBe(0);
    // Watching again after that still works.
    const heard: string[] = [];
    system.watch('/e', (signal) => heard.push(signal.path));
    await system.terminateChild('/', 'e');
    expect(heard).toEqual(['/e']);
    await system.stop();
  });

  it('delivers terminated to every watcher when the system stops; unsubscribed watchers hear nothing', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const heard: string[] = [];
    system.watch('/e', (s) => heard.push(`one ${s.path}`));
    system.watch('/e/', (s) => heard.push(`two ${s.path}`));
    const off = system.watch('/e', () => heard.push('never'));
    off();
    await system.stop();
    expect(heard).toEqual(['one /e', 'two /e']);
  });
});

describe('stop', () => {
  it('stops gracefully in reverse start order, depth first', async () => {
    const system = track(
      await createSystem({
        root: supervisor({
          children: [
            { id: 'a', agent: echo('a') },
            { id: 'team', agent: supervisor({ children: [{ id: 'x', agent: echo('x') }, { id: 'y', agent: echo('y') }] }) },
            { id: 'c', agent: echo('c') },
          ],
        }),
      }),
    );
    const log = new EventLog(system);
    await system.stop();
    expect(log.trace(['stopped'])).toEqual(['stopped /c', 'stopped /team/y', 'stopped /team/x', 'stopped /team', 'stopped /a', 'stopped /']);
    await expect(system.whenTerminated).resolves.toEqual({ kind: 'shutdown' });
    await system.stop(); // idempotent
  });

  it('lets an agent in a busy state finish its work before it stops', async () => {
    const gate = latch();
    const finished = latch();
    const worker = defineAgent({
      name: 'worker',
      machine: setup({
        types: { events: {} as AclMessage, context: {} as { job: AclMessage | undefined } },
        actors: { work: fromPromise(() => gate.promise) },
      }).createMachine({
        context: { job: undefined },
        initial: 'idle',
        states: {
          idle: { on: { request: { target: 'working', actions: assign({ job: ({ event }) => event }) } } },
          working: {
            tags: ['busy'],
            invoke: {
              src: 'work',
              onDone: { target: 'idle', actions: [reply('inform', 'done', { to: ({ context }) => context.job as AclMessage }), () => finished.open()] },
            },
          },
        },
      }),
    });
    const system = await startSystem([{ id: 'w', agent: worker }]);
    const job = system.request('/w', 'job', { timeoutMs: Number.POSITIVE_INFINITY });
    await system.whenIdle();
    let stopped = false;
    const stopping = system.stop().then(() => (stopped = true));
    await system.whenIdle();
    expect(stopped).toBe(false);
    gate.open();
    await stopping;
    expect(finished.settled).toBe(true);
    await expect(job).resolves.toMatchObject({ performative: 'inform', content: 'done' });
  });

  it('after stop, request rejects and tell throws SystemStoppedError; waiting requests fail', async () => {
    const holder = defineAgent({ name: 'holder', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: () => undefined } } }) });
    const system = await startSystem([{ id: 'h', agent: holder }]);
    const waiting = system.request('/h', 'never answered', { timeoutMs: Number.POSITIVE_INFINITY });
    await system.whenIdle();
    await system.stop();
    await expect(waiting).rejects.toBeInstanceOf(FailureError);
    await expect(system.request('/h', 'x')).rejects.toBeInstanceOf(SystemStoppedError);
    await expect(system.request('/h', 'x')).rejects.toMatchObject({ code: 'system-stopped' });
    expect(() => system.tell('/h', 'inform', 'x')).toThrow(SystemStoppedError);
  });
});

describe('agents are plain XState machines', () => {
  const content = { request: z.object({ name: z.string() }) };
  const greeter = defineAgent({
    name: 'greeter',
    content,
    machine: setup({ types: { events: {} as InboundEvents<typeof content> } }).createMachine({
      on: { request: { actions: reply('inform', ({ event }) => ({ text: `Hello, ${event.content.name}` })) } },
    }),
  });

  it('runs with plain createActor: ACL messages in as events, replies out as emitted events', () => {
    const actor = createActor(greeter.machine).start();
    const out: OutboundEvent[] = [];
    actor.on(OUTBOUND, (event) => void out.push(event as OutboundEvent));
    const request = createMessage({ performative: 'request', sender: '/test', receiver: '/greeter', content: { name: 'Ada' }, conversationId: 'c1', replyWith: 'r1', lamport: 1 }) as AclMessage<'request', { name: string }>;
    actor.send(request);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: OUTBOUND, performative: 'inform', content: { text: 'Hello, Ada' }, inReplyTo: request });
    actor.stop();
  });

  it('invoked fromPromise logic gets an AbortSignal that fires when the agent stops', async () => {
    const started = latch();
    const aborted = latch<unknown>();
    const waiter = defineAgent({
      name: 'waiter',
      machine: setup({
        types: { events: {} as AclMessage },
        actors: {
          wait: fromPromise(({ signal }) => {
            started.open();
            signal.addEventListener('abort', () => aborted.open(signal.reason), { once: true });
            return new Promise<never>(() => undefined);
          }),
        },
      }).createMachine({
        initial: 'idle',
        states: { idle: { on: { inform: 'waiting' } }, waiting: { invoke: { src: 'wait' } } },
      }),
    });
    const system = await startSystem([{ id: 'w', agent: waiter }]);
    await system.tell('/w', 'inform', 'go');
    await started.promise;
    expect(aborted.settled).toBe(false);
    await system.terminateChild('/', 'w');
    await aborted.promise;
    expect(aborted.settled).toBe(true);
    await system.stop();
  });

  it('the AbortSignal also fires when the whole system stops', async () => {
    const aborted = latch();
    const started = latch();
    const waiter = defineAgent({
      name: 'waiter',
      machine: setup({
        actors: {
          wait: fromPromise(({ signal }) => {
            started.open();
            signal.addEventListener('abort', () => aborted.open(), { once: true });
            return new Promise<never>(() => undefined);
          }),
        },
      }).createMachine({ invoke: { src: 'wait' } }),
    });
    const system = track(await createSystem({ root: rootOf([{ id: 'w', agent: waiter }]) }));
    await started.promise;
    await system.stop();
    expect(aborted.settled).toBe(true);
  });
});
