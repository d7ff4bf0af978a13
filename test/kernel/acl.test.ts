import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { setup } from 'xstate';
import { createMessage, defineAgent, expectsReply, isAclMessage, isPerformative, PERFORMATIVES, reply, tell, type AclMessage, type ContentOf, type DeadLetter, type InboundEvents, type Performative, type System } from '../../src/index.js';
import { echo, latch, startSystem } from './helpers.js';

const FIPA_ACTS = [
  'accept-proposal', 'agree', 'cancel', 'cfp', 'confirm', 'disconfirm', 'failure', 'inform', 'inform-if', 'inform-ref', 'not-understood',
  'propagate', 'propose', 'proxy', 'query-if', 'query-ref', 'refuse', 'reject-proposal', 'request', 'request-when', 'request-whenever', 'subscribe',
];

/** Handles every one of the 22 acts and records what arrives. */
function everything(seen: AclMessage[]) {
  return defineAgent({
    name: 'everything',
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      on: Object.fromEntries(PERFORMATIVES.map((p) => [p, { actions: ({ event }: { event: AclMessage }) => void seen.push(event) }])),
    }),
  });
}

describe('FIPA-ACL performatives', () => {
  it('knows exactly the 22 communicative acts of FIPA SC00037', () => {
    expect([...PERFORMATIVES].sort()).toEqual([...FIPA_ACTS].sort());
    expect(new Set(PERFORMATIVES).size).toBe(22);
    for (const act of FIPA_ACTS) expect(isPerformative(act)).toBe(true);
    for (const bogus of ['Inform', 'ask', '', 'request ', 42, undefined, null]) expect(isPerformative(bogus)).toBe(false);
  });

  it('marks the acts that open a conversation the receiver must answer', () => {
    const opening = PERFORMATIVES.filter(expectsReply).sort();
    expect(opening).toEqual(['cfp', 'propose', 'query-if', 'query-ref', 'request', 'request-when', 'request-whenever', 'subscribe']);
  });

  it('delivers every one of the 22 acts as an XState event whose type is the performative', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'all', agent: everything(seen) }]);
    for (const performative of PERFORMATIVES) await system.tell('/all', performative, { act: performative });
    await system.whenIdle();
    expect(seen.map((m) => m.type)).toEqual([...PERFORMATIVES]);
    for (const message of seen) {
      expect(message.performative).toBe(message.type);
      expect(message.content).toEqual({ act: message.type });
    }
    expect(system.deadLetters.count).toBe(0);
    await system.stop();
  });

  it('answers a request sent with any reply-expecting act (cfp, query-ref, subscribe, ...)', async () => {
    const machine = setup({ types: { events: {} as AclMessage } }).createMachine({
      on: Object.fromEntries(PERFORMATIVES.filter(expectsReply).map((p) => [p, { actions: reply('inform', ({ event }) => ({ got: event.type })) }])),
    });
    const system = await startSystem([{ id: 'a', agent: defineAgent({ name: 'a', machine }) }]);
    for (const performative of PERFORMATIVES.filter(expectsReply)) {
      const answer = await system.request('/a', null, { performative });
      expect(answer.content).toEqual({ got: performative });
    }
    await system.stop();
  });
});

describe('typed messages (checked by tsc)', () => {
  it('types inbound events and their content per performative from the zod schemas', () => {
    const schemas = { request: z.object({ n: z.number() }), inform: z.string() };
    type Events = InboundEvents<typeof schemas>;
    expectTypeOf<Events['type']>().toEqualTypeOf<'request' | 'inform'>();
    expectTypeOf<Extract<Events, { type: 'request' }>['content']>().toEqualTypeOf<{ n: number }>();
    expectTypeOf<Extract<Events, { type: 'inform' }>['content']>().toEqualTypeOf<string>();
    expectTypeOf<ContentOf<typeof schemas, 'cfp'>>().toEqualTypeOf<unknown>();
    expectTypeOf<AclMessage['performative']>().toEqualTypeOf<Performative>();
    expectTypeOf<AclMessage['replyBy']>().toEqualTypeOf<number | undefined>();
  });

  it('takes content typed by an interface (no index signature) in reply and tell', async () => {
    interface Quote {
      readonly price: number;
      readonly currency: string;
    }
    const quote: Quote = { price: 7, currency: 'EUR' };
    const quoter = defineAgent({
      name: 'quoter',
      machine: setup({ types: { events: {} as AclMessage, context: {} as { quote: Quote } } }).createMachine({
        context: { quote },
        on: {
          request: { actions: reply('inform', ({ context }) => context.quote) },
          inform: { actions: tell('/nobody', 'inform', ({ context }): Quote => context.quote) },
        },
      }),
    });
    const system = await startSystem([{ id: 'q', agent: quoter }]);
    await expect(system.request('/q')).resolves.toMatchObject({ content: { price: 7, currency: 'EUR' } });
    await system.stop();
  });

  it('refuses performatives outside FIPA at compile time', () => {
    const never = (system: System): void => {
      // @ts-expect-error 'shout' is not a FIPA performative
      void system.tell('/a', 'shout');
      // @ts-expect-error neither is 'Inform'
      void system.request('/a', null, { performative: 'Inform' });
    };
    expect(typeof never).toBe('function');
  });
});

describe('FIPA-ACL parameters', () => {
  it('carries every FIPA parameter from sender to receiver', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'all', agent: everything(seen) }]);
    const replyBy = Date.now() + 60_000;
    await system.tell('/all', 'inform', { x: 1 }, {
      sender: '/outside/probe',
      replyTo: '/elsewhere',
      language: 'fipa-sl',
      encoding: 'utf-8',
      ontology: 'weather',
      protocol: 'fipa-request',
      conversationId: 'conv-1',
      replyWith: 'tag-1',
      inReplyTo: 'tag-0',
      replyBy,
    });
    await system.whenIdle();
    expect(seen).toHaveLength(1);
    const message = seen[0] as AclMessage;
    expect(message).toMatchObject({
      type: 'inform',
      performative: 'inform',
      sender: '/outside/probe',
      receiver: '/all',
      replyTo: '/elsewhere',
      content: { x: 1 },
      language: 'fipa-sl',
      encoding: 'utf-8',
      ontology: 'weather',
      protocol: 'fipa-request',
      conversationId: 'conv-1',
      replyWith: 'tag-1',
      inReplyTo: 'tag-0',
      replyBy,
    });
    expect(message.lamport).toBeGreaterThan(0);
    expect(Object.isFrozen(message)).toBe(true);
    expect(isAclMessage(message)).toBe(true);
    await system.stop();
  });

  it('gives every message a conversation id and a Lamport timestamp, even when the sender sets neither', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'all', agent: everything(seen) }]);
    await system.tell('/all', 'inform', 1);
    await system.tell('/all', 'inform', 2);
    await system.whenIdle();
    const [first, second] = seen as [AclMessage, AclMessage];
    expect(typeof first.conversationId).toBe('string');
    expect(first.conversationId.length).toBeGreaterThan(0);
    expect(second.conversationId).not.toBe(first.conversationId);
    expect(first.lamport).toBeGreaterThan(0);
    expect(second.lamport).toBeGreaterThan(first.lamport);
    expect(first.sender).toBe('/$system');
    await system.stop();
  });

  it('reply() fills receiver, conversation id and in-reply-to from the message answered, honouring reply-to', async () => {
    const seen: AclMessage[] = [];
    const responder = defineAgent({
      name: 'responder',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: { request: { actions: reply('inform', { ok: true }, { ontology: 'answers', language: 'json' }) } },
      }),
    });
    const system = await startSystem([
      { id: 'sink', agent: everything(seen) },
      { id: 'responder', agent: responder },
    ]);
    await system.tell('/responder', 'request', { q: 1 }, { sender: '/someone', replyTo: '/sink', conversationId: 'c-7', replyWith: 'r-7' });
    await system.whenIdle();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      performative: 'inform',
      sender: '/responder',
      receiver: '/sink',
      conversationId: 'c-7',
      inReplyTo: 'r-7',
      content: { ok: true },
      ontology: 'answers',
      language: 'json',
    });
    await system.stop();
  });

  it('tell() from a machine starts a new conversation with a reply-with tag for reply-expecting acts', async () => {
    const seen: AclMessage[] = [];
    const forwarder = defineAgent({
      name: 'forwarder',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          inform: { actions: [tell('/sink', 'query-ref', ({ event }) => event.content as never, { protocol: 'fipa-query' }), tell('/sink', 'inform', 'plain')] },
        },
      }),
    });
    const system = await startSystem([
      { id: 'sink', agent: everything(seen) },
      { id: 'fwd', agent: forwarder },
    ]);
    await system.tell('/fwd', 'inform', { n: 5 }, { conversationId: 'outer' });
    await system.whenIdle();
    const [query, plain] = seen as [AclMessage, AclMessage];
    expect(query).toMatchObject({ performative: 'query-ref', sender: '/fwd', receiver: '/sink', content: { n: 5 }, protocol: 'fipa-query' });
    expect(query.conversationId).not.toBe('outer');
    expect(query.replyWith).toEqual(expect.any(String));
    expect(plain.replyWith).toBeUndefined();
    expect(plain.conversationId).not.toBe(query.conversationId);
    await system.stop();
  });

  it('createMessage builds a frozen message with every field present', () => {
    const message = createMessage({ performative: 'cfp', sender: '/a', receiver: '/b', content: { price: 3 }, conversationId: 'c', lamport: 9 });
    expect(Object.keys(message).sort()).toEqual(
      ['type', 'performative', 'sender', 'senderIncarnation', 'receiver', 'receiverIncarnation', 'replyTo', 'content', 'language', 'encoding', 'ontology', 'protocol', 'conversationId', 'replyWith', 'inReplyTo', 'replyBy', 'lamport'].sort(),
    );
    expect(message.type).toBe('cfp');
    expect(Object.isFrozen(message)).toBe(true);
  });
});

describe('Lamport timestamps', () => {
  it('increase along every causal chain: request, forwarded request, answers', async () => {
    const seen: AclMessage[] = [];
    const relay = defineAgent({
      name: 'relay',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: { inform: { actions: tell('/sink', 'inform', ({ event }) => event.content as never) } },
      }),
    });
    const system = await startSystem([
      { id: 'sink', agent: everything(seen) },
      { id: 'relay', agent: relay },
      { id: 'echo', agent: echo() },
    ]);
    // Push the external clock well ahead, then check that a hop never goes back in time.
    for (let i = 0; i < 20; i++) await system.request('/echo', i);
    const before = (await system.request('/echo', 'probe')).lamport;
    await system.tell('/relay', 'inform', 'hop');
    await system.whenIdle();
    const hop = seen.at(-1) as AclMessage;
    expect(hop.sender).toBe('/relay');
    expect(hop.lamport).toBeGreaterThan(before);
    await system.stop();
  });

  it('an answer the runtime writes (failure for a dead letter) is later than the message it answers', async () => {
    const failures = latch<AclMessage>();
    const chatty = defineAgent({
      name: 'chatty',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          // Every inform makes ten sends: the agent's clock runs far ahead of the runtime's.
          inform: { actions: Array.from({ length: 10 }, () => tell('/sink', 'inform', 'x')) },
          request: { actions: tell('/nobody', 'request', 'anyone?') },
          failure: { actions: ({ event }) => failures.open(event) },
        },
      }),
    });
    const system = await startSystem([
      { id: 'sink', agent: everything([]) },
      { id: 'chatty', agent: chatty },
    ]);
    const dead = latch<DeadLetter>();
    system.deadLetters.subscribe((letter) => dead.open(letter));
    for (let i = 0; i < 10; i++) await system.tell('/chatty', 'inform', i);
    await system.whenIdle();
    await system.tell('/chatty', 'request', 'go');
    const [letter, failure] = await Promise.all([dead.promise, failures.promise]);
    expect(letter.reason).toBe('no-such-agent');
    expect(letter.message.lamport).toBeGreaterThan(100);
    expect(failure.inReplyTo).toBe(letter.message.replyWith);
    expect(failure.lamport).toBeGreaterThan(letter.message.lamport);
    await system.stop();
  });
});
