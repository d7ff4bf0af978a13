import { describe, expect, it, vi } from 'vitest';
import { assign, createActor, setup, waitFor } from 'xstate';
import { z } from 'zod';
import {
  ask,
  DeadlineError,
  defineAgent,
  FailureError,
  NotUnderstoodError,
  RefusedError,
  ReplyError,
  reply,
  tell,
  UnexpectedReplyError,
  type AclMessage,
  type DeadLetter,
} from '../../src/index.js';
import { ConfigurationError } from '../../src/runtime/errors.js';
import { PendingAsks } from '../../src/runtime/pending-asks.js';
import { echo, latch, recorder, startSystem } from './helpers.js';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: Error) => error,
  );
}

/** Answers `request { answer }` with that performative; `agree` is followed by `inform` on the next `confirm`. */
const answerer = defineAgent({
  name: 'answerer',
  machine: setup({ types: { events: {} as AclMessage, context: {} as { pending: AclMessage | undefined } } }).createMachine({
    context: { pending: undefined },
    on: {
      request: [
        { guard: ({ event }) => (event.content as { answer: string }).answer === 'agree', actions: [reply('agree', 'will do'), assign({ pending: ({ event }) => event })] },
        { guard: ({ event }) => (event.content as { answer: string }).answer === 'refuse', actions: reply('refuse', { why: 'busy' }) },
        { guard: ({ event }) => (event.content as { answer: string }).answer === 'failure', actions: reply('failure', { why: 'broken' }) },
        { guard: ({ event }) => (event.content as { answer: string }).answer === 'not-understood', actions: reply('not-understood', { why: 'huh' }) },
        { guard: ({ event }) => (event.content as { answer: string }).answer === 'silence' },
        { actions: reply('inform', { done: true }) },
      ],
      confirm: { actions: [reply('inform', 'finally', { to: ({ context }) => context.pending as AclMessage }), assign({ pending: undefined })] },
    },
  }),
});

describe('system.request (FIPA request protocol)', () => {
  it('resolves with the inform answer, in the request\'s conversation', async () => {
    const system = await startSystem([{ id: 'a', agent: answerer }]);
    const answer = await system.request('/a', { answer: 'inform' }, { options: { conversationId: 'conv-42', protocol: 'fipa-request' } });
    expect(answer).toMatchObject({ performative: 'inform', sender: '/a', content: { done: true }, conversationId: 'conv-42' });
    expect(answer.inReplyTo).toEqual(expect.any(String));
    await system.stop();
  });

  it('resolves with agree when acceptAgree is set; otherwise waits past agree for the final inform', async () => {
    const system = await startSystem([{ id: 'a', agent: answerer }]);
    const agreed = await system.request('/a', { answer: 'agree' }, { acceptAgree: true });
    expect(agreed).toMatchObject({ performative: 'agree', content: 'will do' });
    await system.tell('/a', 'confirm'); // closes the first conversation
    let settled = false;
    const final = system.request('/a', { answer: 'agree' }).then((a) => {
      settled = true;
      return a;
    });
    await system.whenIdle();
    expect(settled).toBe(false); // agree arrived, the request still waits
    await system.tell('/a', 'confirm');
    expect(await final).toMatchObject({ performative: 'inform', content: 'finally' });
    // The first request settled on agree; its later inform found nobody waiting.
    expect(system.deadLetters.recent().map((l) => [l.reason, l.message.content])).toEqual([['no-waiting-request', 'finally']]);
    await system.stop();
  });

  it.each([
    ['refuse', RefusedError, 'refused'],
    ['failure', FailureError, 'failure'],
    ['not-understood', NotUnderstoodError, 'not-understood'],
  ] as const)('rejects a %s answer with its named error carrying the reply', async (performative, ErrorClass, code) => {
    const system = await startSystem([{ id: 'a', agent: answerer }]);
    const error = await rejection(system.request('/a', { answer: performative }));
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toBeInstanceOf(ReplyError);
    const replyError = error as ReplyError;
    expect(replyError.code).toBe(code);
    expect(replyError.name).toBe(ErrorClass.name);
    expect(replyError.reply).toMatchObject({ performative, sender: '/a' });
    expect(replyError.reply.content).toEqual({ why: expect.any(String) });
    expect(replyError.reason).toBeUndefined(); // the agent answered, not the runtime
    await system.stop();
  });

  it('rejects with DeadlineError when the reply-by deadline passes, and sets reply-by on the message', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const seen = latch<AclMessage>();
    const mute = defineAgent({ name: 'mute', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: ({ event }) => seen.open(event) } } }) });
    const system = await startSystem([{ id: 'm', agent: mute }]);
    const sentAt = Date.now();
    const pending = rejection(system.request('/m', 'anyone?', { timeoutMs: 250 }));
    const message = await seen.promise;
    expect(message.replyBy).toBe(sentAt + 250);
    vi.advanceTimersByTime(249);
    let done = false;
    void pending.then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    vi.advanceTimersByTime(1);
    const error = await pending;
    expect(error).toBeInstanceOf(DeadlineError);
    expect(error).toMatchObject({ code: 'deadline', receiver: '/m', timeoutMs: 250, conversationId: message.conversationId });
    await system.stop();
  });

  it('a message whose reply-by passed before it was handled never reaches the machine; the requester gets DeadlineError', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const dead = latch<DeadLetter>();
    system.deadLetters.subscribe((letter) => dead.open(letter));
    const pending = rejection(system.request('/e', 'late', { timeoutMs: 100 }));
    vi.setSystemTime(Date.now() + 1_000); // the clock passes reply-by before the agent's turn; no timer has fired
    const error = await pending;
    expect(error).toBeInstanceOf(DeadlineError);
    expect((await dead.promise).reason).toBe('expired');
    expect(system.metrics('/e')?.processed).toBe(0); // the machine never saw it
    await system.stop();
  });

  it('a message to a path that names nobody goes to dead letters with its reason; the requester gets failure', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const error = await rejection(system.request('/nobody/here', 'hello?'));
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).reason).toBe('no-such-agent');
    expect((error as FailureError).reply.sender).toBe('/nobody/here');
    expect(system.deadLetters.recent()).toEqual([expect.objectContaining({ reason: 'no-such-agent', message: expect.objectContaining({ receiver: '/nobody/here', content: 'hello?' }) })]);
    expect(await system.tell('/ghost', 'inform', 'boo')).toBe('refused');
    expect(system.deadLetters.recent().at(-1)?.reason).toBe('no-such-agent');
    // A supervisor's path names a node, but not one that takes messages.
    const notAgent = await rejection(system.request('/', 'hi'));
    expect((notAgent as FailureError).reason).toBe('not-an-agent');
    expect(system.deadLetters.count).toBe(3);
    await system.stop();
  });

  it('checks the answer against `expect` and types it, or rejects with UnexpectedReplyError', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const good = await system.request('/e', { n: 1 }, { expect: z.object({ n: z.number() }) });
    expect(good.content.n).toBe(1);
    const bad = await rejection(system.request('/e', { n: 'x' }, { expect: z.object({ n: z.number() }) }));
    expect(bad).toBeInstanceOf(UnexpectedReplyError);
    expect((bad as UnexpectedReplyError).reply.content).toEqual({ n: 'x' });
    await system.stop();
  });

  it('an AbortSignal cancels the wait', async () => {
    const system = await startSystem([{ id: 'a', agent: answerer }]);
    const controller = new AbortController();
    const pending = rejection(system.request('/a', { answer: 'silence' }, { signal: controller.signal, timeoutMs: Number.POSITIVE_INFINITY }));
    controller.abort(new Error('changed my mind'));
    expect((await pending).message).toBe('changed my mind');
    await system.stop();
  });

  it('resolves an `expect`ed answer as a frozen message with frozen parsed content', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const answer = await system.request('/e', { n: 1, tags: ['a'] }, { expect: z.object({ n: z.number(), tags: z.array(z.string()) }) });
    expect(answer.content).toEqual({ n: 1, tags: ['a'] });
    expect(Object.isFrozen(answer)).toBe(true);
    expect(Object.isFrozen(answer.content)).toBe(true);
    expect(Object.isFrozen(answer.content.tags)).toBe(true);
    await system.stop();
  });

  it.each(['100', true, Number.NaN, 0, -5])('refuses timeoutMs %j with ConfigurationError invalid-timeout', async (timeoutMs) => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const error = await rejection(system.request('/e', 'x', { timeoutMs: timeoutMs as number }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('invalid-timeout');
    await system.whenIdle();
    expect(system.metrics('/e')?.processed).toBe(0);
    await system.stop();
  });

  it('waits out a finite timeout longer than one timer can hold (2^31 - 1 ms) instead of failing at once', async () => {
    vi.useFakeTimers();
    const asks = new PendingAsks();
    const timeoutMs = 2 ** 31 + 5_000;
    let settled: unknown;
    asks.register('/slow', 'c-1', 'r-1', timeoutMs, false).promise.then(
      () => (settled = 'answered'),
      (error: unknown) => (settled = error),
    );
    await vi.advanceTimersByTimeAsync(10);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(settled).toBeUndefined();
    expect(asks.size).toBe(1);
    await vi.advanceTimersByTimeAsync(timeoutMs - 10 - (2 ** 31 - 1) - 1);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBeInstanceOf(DeadlineError);
    expect(asks.size).toBe(0);
  });

  it('a request whose AbortSignal is already aborted is never delivered: no agent handles it', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((message) => seen.push(message)) }]);
    const controller = new AbortController();
    controller.abort(new Error('never mind'));
    const error = await rejection(system.request('/r', 'x', { signal: controller.signal }));
    expect(error.message).toBe('never mind');
    await system.whenIdle();
    expect(seen).toEqual([]);
    expect(system.metrics('/r')).toMatchObject({ queueDepth: 0, processed: 0 });
    expect(system.deadLetters.count).toBe(0);
    await system.stop();
  });

  it('an AbortSignal that was aborted before the request rejects it at once instead of waiting for ever', async () => {
    const system = await startSystem([{ id: 'a', agent: answerer }]);
    const controller = new AbortController();
    controller.abort(new Error('too late already'));
    const error = await rejection(system.request('/a', { answer: 'silence' }, { signal: controller.signal, timeoutMs: Number.POSITIVE_INFINITY }));
    expect(error.message).toBe('too late already');
    await system.stop();
  });
});

/** On `request`, asks `to` (through the `ask` invoked logic) and answers with what came back, or with the error's name. */
function broker(to: string, after?: (answer: AclMessage) => void) {
  return defineAgent({
    name: 'broker',
    machine: setup({ types: { events: {} as AclMessage, context: {} as { pending: AclMessage | undefined } }, actors: { ask } }).createMachine({
      context: { pending: undefined },
      initial: 'idle',
      states: {
        idle: { on: { request: { target: 'asking', actions: assign({ pending: ({ event }) => event }) } } },
        asking: {
          invoke: {
            src: 'ask',
            input: ({ context }) => ({ to, content: context.pending?.content, timeoutMs: 1_000 }),
            onDone: {
              target: 'idle',
              actions: [
                ({ event }) => after?.(event.output),
                reply('inform', ({ event }) => ({ via: 'broker', got: event.output.content as never, performative: event.output.performative }), { to: ({ context }) => context.pending as AclMessage }),
                tell('/sink', 'inform', 'after-ask'),
              ],
            },
            onError: {
              target: 'idle',
              actions: reply('failure', ({ event }) => ({ error: (event.error as Error).name, reason: (event.error as FailureError).reason ?? null }), { to: ({ context }) => context.pending as AclMessage }),
            },
          },
          on: { cancel: 'idle' },
        },
      },
    }),
  });
}

function sink(seen: AclMessage[]) {
  return defineAgent({ name: 'sink', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { inform: { actions: ({ event }) => void seen.push(event) } } }) });
}

describe('ask: requests from inside a machine', () => {
  it('asks another agent and continues with its answer; the agent\'s Lamport clock moves past the answer', async () => {
    const seen: AclMessage[] = [];
    const answers: AclMessage[] = [];
    const system = await startSystem([
      { id: 'sink', agent: sink(seen) },
      { id: 'echo', agent: echo() },
      { id: 'broker', agent: broker('/echo', (a) => answers.push(a)) },
    ]);
    // Push the echo agent's clock ahead so the answer carries a large timestamp.
    for (let i = 0; i < 30; i++) await system.request('/echo', i);
    const answer = await system.request('/broker', { q: 'ping' });
    expect(answer.content).toEqual({ via: 'broker', got: { q: 'ping' }, performative: 'inform' });
    await system.whenIdle();
    const fromEcho = answers[0] as AclMessage;
    expect(fromEcho.sender).toBe('/echo');
    const after = seen.find((m) => m.content === 'after-ask') as AclMessage;
    expect(after.lamport).toBeGreaterThan(fromEcho.lamport);
    await system.stop();
  });

  it('rejects the invocation with the named error (onError) for refuse, failure and dead ends', async () => {
    const refuser = defineAgent({ name: 'refuser', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: reply('refuse', 'no') } } }) });
    const system = await startSystem([
      { id: 'sink', agent: sink([]) },
      { id: 'refuser', agent: refuser },
      { id: 'b1', agent: broker('/refuser') },
      { id: 'b2', agent: broker('/nobody') },
    ]);
    const refused = await rejection(system.request('/b1', 'x'));
    expect((refused as FailureError).reply.content).toEqual({ error: 'RefusedError', reason: null });
    const nobody = await rejection(system.request('/b2', 'x'));
    expect((nobody as FailureError).reply.content).toEqual({ error: 'FailureError', reason: 'no-such-agent' });
    await system.stop();
  });

  it('rejects the invocation with DeadlineError when no answer comes in time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const mute = defineAgent({ name: 'mute', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: () => undefined } } }) });
    const system = await startSystem([
      { id: 'sink', agent: sink([]) },
      { id: 'mute', agent: mute },
      { id: 'broker', agent: broker('/mute') },
    ]);
    const outer = rejection(system.request('/broker', 'x', { timeoutMs: Number.POSITIVE_INFINITY }));
    await system.whenIdle(); // the broker's ask is out, the mute agent holds it
    vi.advanceTimersByTime(1_000); // the broker's ask timeout
    const error = await outer;
    expect((error as FailureError).reply.content).toEqual({ error: 'DeadlineError', reason: null });
    await system.stop();
  });

  it('stopping the invoking state aborts the wait; the late answer becomes a dead letter', async () => {
    const slowAnswer = latch<AclMessage>();
    const holder = defineAgent({
      name: 'holder',
      machine: setup({ types: { events: {} as AclMessage, context: {} as { held: AclMessage | undefined } } }).createMachine({
        context: { held: undefined },
        on: {
          request: { actions: [assign({ held: ({ event }) => event }), ({ event }) => slowAnswer.open(event)] },
          inform: { actions: reply('inform', 'too late', { to: ({ context }) => context.held as AclMessage }) },
        },
      }),
    });
    const system = await startSystem([
      { id: 'sink', agent: sink([]) },
      { id: 'holder', agent: holder },
      { id: 'broker', agent: broker('/holder') },
    ]);
    const outer = system.request('/broker', 'q', { timeoutMs: Number.POSITIVE_INFINITY });
    await slowAnswer.promise; // the broker's ask reached the holder
    await system.tell('/broker', 'cancel'); // leaves `asking`: the invoked ask is stopped
    await system.whenIdle();
    const dead = latch<DeadLetter>();
    system.deadLetters.subscribe((letter) => dead.open(letter));
    await system.tell('/holder', 'inform', 'answer now');
    const letter = await dead.promise;
    expect(letter.reason).toBe('no-waiting-request');
    expect(letter.message.content).toBe('too late');
    void outer.catch(() => undefined);
    await system.stop();
    await expect(outer).rejects.toBeInstanceOf(FailureError); // the broker stopped with the request open
  });

  it('outside a Troupe system (plain createActor) ask fails with ConfigurationError no-runtime', async () => {
    const definition = broker('/anyone');
    const actor = createActor(definition.machine).start();
    const emitted = latch<unknown>();
    actor.on('troupe.send', (event) => emitted.open(event));
    actor.send({ type: 'request', performative: 'request', content: 'x', conversationId: 'c', sender: '/t', lamport: 1 } as unknown as AclMessage);
    await waitFor(actor, (snapshot) => snapshot.matches('idle'));
    // onError answered the request with the error's name.
    expect(await emitted.promise).toMatchObject({ performative: 'failure', content: { error: 'ConfigurationError' } });
    actor.stop();
  });
});

describe('expect and message options (second review)', () => {
  it('an expect schema may produce non-plain data (a Date); it is handed over as zod made it', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const answer = await system.request('/e', { at: '2020-01-01T00:00:00.000Z' }, { expect: z.object({ at: z.coerce.date() }) });
    expect(answer.content.at).toBeInstanceOf(Date);
    expect(Object.isFrozen(answer)).toBe(true);
    await system.stop();
  });

  it('an expect schema that throws rejects with UnexpectedReplyError', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const schema = z.object({ n: z.number() }).refine(() => {
      throw new Error('refine boom');
    });
    const error = await system.request('/e', { n: 1 }, { expect: schema }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnexpectedReplyError);
    expect((error as UnexpectedReplyError).message).toMatch(/refine boom/);
    await system.stop();
  });

  it.each([
    [{ replyBy: 'yesterday' }, /replyBy/],
    [{ replyTo: 'not a path' }, /replyTo/],
    [{ conversationId: 42 }, /conversationId/],
  ])('refuses bad message options %j with ConfigurationError invalid-message-option', async (options, message) => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((m) => seen.push(m)) }]);
    const bad = options as never;
    expect(() => system.tell('/r', 'inform', {}, bad)).toThrow(message);
    const rejected = await system.request('/r', {}, { options: bad }).catch((caught: unknown) => caught);
    expect(rejected).toBeInstanceOf(ConfigurationError);
    expect((rejected as ConfigurationError).code).toBe('invalid-message-option');
    await system.whenIdle();
    expect(seen).toEqual([]);
    await system.stop();
  });
});
