import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { defineAgent, freezeContent, InvalidContentError, NotUnderstoodError, reply, type AclMessage, type InboundEvents } from '../../src/index.js';
import { startSystem } from './helpers.js';

const content = {
  request: z.object({ name: z.string(), times: z.number().int().positive() }),
  inform: z.object({ note: z.string() }),
};

/** Greets; records every message its machine actually sees. */
function greeter(seen: AclMessage[]) {
  return defineAgent({
    name: 'greeter',
    content,
    machine: setup({ types: { events: {} as InboundEvents<typeof content> } }).createMachine({
      on: {
        request: { actions: [({ event }) => void seen.push(event), reply('inform', ({ event }) => ({ text: `hi ${event.content.name}`.repeat(event.content.times) }))] },
        inform: { actions: ({ event }) => void seen.push(event) },
      },
    }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('content schemas per performative', () => {
  it('delivers content that matches the schema of its performative', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'g', agent: greeter(seen) }]);
    const answer = await system.request('/g', { name: 'Ada', times: 2 });
    expect(answer.performative).toBe('inform');
    expect(answer.content).toEqual({ text: 'hi Adahi Ada' });
    expect(seen).toHaveLength(1);
    await system.stop();
  });

  it('answers invalid content with not-understood carrying the validation error; the machine never sees it', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'g', agent: greeter(seen) }]);
    const error = await rejection(system.request('/g', { name: 7, times: -1 }));
    expect(error).toBeInstanceOf(NotUnderstoodError);
    const notUnderstood = error as NotUnderstoodError;
    expect(notUnderstood.code).toBe('not-understood');
    expect(notUnderstood.reply.performative).toBe('not-understood');
    expect(notUnderstood.reason).toBe('invalid-content');
    const detail = (notUnderstood.reply.content as { detail: string }).detail;
    expect(detail).toMatch(/name/);
    expect(detail).toMatch(/times/);
    expect(notUnderstood.message).toMatch(/invalid/);
    expect(seen).toHaveLength(0);
    expect(system.metrics('/g')?.processed).toBe(0);
    // The agent is fine and keeps answering valid requests.
    await expect(system.request('/g', { name: 'Bo', times: 1 })).resolves.toMatchObject({ content: { text: 'hi Bo' } });
    await system.stop();
  });

  it('dead-letters invalid content nobody waits an answer for, with reason invalid-content', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'g', agent: greeter(seen) }]);
    await system.tell('/g', 'inform', { note: 42 });
    await system.tell('/g', 'inform', { note: 'fine' });
    await system.whenIdle();
    expect(seen.map((m) => m.content)).toEqual([{ note: 'fine' }]);
    expect(system.deadLetters.recent().map((l) => [l.reason, l.message.content])).toEqual([['invalid-content', { note: 42 }]]);
    await system.stop();
  });

  it('a schema that throws (refine/transform) counts as invalid content; the scheduler and other agents carry on', async () => {
    const schemas = {
      request: z.object({ n: z.number() }).refine(() => {
        throw new Error('refine exploded');
      }),
    };
    const seen: AclMessage[] = [];
    const touchy = defineAgent({
      name: 'touchy',
      content: schemas,
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: [({ event }) => void seen.push(event), reply('inform', 'ok')] } } }),
    });
    const system = await startSystem([
      { id: 't', agent: touchy },
      { id: 'g', agent: greeter([]) },
    ]);
    const first = system.request('/t', { n: 1 });
    const other = system.request('/g', { name: 'Ada', times: 1 });
    const error = await rejection(first);
    expect(error).toBeInstanceOf(NotUnderstoodError);
    expect((error as NotUnderstoodError).reason).toBe('invalid-content');
    expect((error as NotUnderstoodError).message).toMatch(/refine exploded/);
    await expect(other).resolves.toMatchObject({ content: { text: 'hi Ada' } });
    await expect(system.request('/t', { n: 2 })).rejects.toBeInstanceOf(NotUnderstoodError);
    expect(seen).toHaveLength(0);
    await system.stop();
  });

  it('gives the machine the parsed content (zod defaults and transforms apply)', async () => {
    const schemas = { request: z.object({ n: z.coerce.number(), unit: z.string().default('m') }) };
    const seen: unknown[] = [];
    const agent = defineAgent({
      name: 'parse',
      content: schemas,
      machine: setup({ types: { events: {} as InboundEvents<typeof schemas> } }).createMachine({
        on: { request: { actions: [({ event }) => void seen.push(event.content), reply('inform', ({ event }) => ({ doubled: event.content.n * 2, unit: event.content.unit }))] } },
      }),
    });
    const system = await startSystem([{ id: 'p', agent }]);
    await expect(system.request('/p', { n: '21' })).resolves.toMatchObject({ content: { doubled: 42, unit: 'm' } });
    expect(seen).toEqual([{ n: 21, unit: 'm' }]);
    await system.stop();
  });

  it('answers a performative the machine does not handle with not-understood', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'g', agent: greeter(seen) }]);
    const error = await rejection(system.request('/g', { name: 'Ada', times: 1 }, { performative: 'query-ref' }));
    expect(error).toBeInstanceOf(NotUnderstoodError);
    expect((error as NotUnderstoodError).reason).toBe('unhandled-performative');
    expect((error as NotUnderstoodError).reply.sender).toBe('/g');
    expect(seen).toHaveLength(0);
    // A told message of an unhandled act is a dead letter, reason unhandled.
    await system.tell('/g', 'propagate', {});
    await system.whenIdle();
    expect(system.deadLetters.recent().at(-1)?.reason).toBe('unhandled');
    await system.stop();
  });

  it('judges "handled" by the current state: an act handled only in another state is not-understood', async () => {
    const machine = setup({ types: { events: {} as AclMessage } }).createMachine({
      initial: 'closed',
      states: {
        closed: { on: { inform: 'open' } },
        open: { on: { request: { actions: reply('inform', 'open') } } },
      },
    });
    const system = await startSystem([{ id: 'door', agent: defineAgent({ name: 'door', machine }) }]);
    await expect(system.request('/door')).rejects.toBeInstanceOf(NotUnderstoodError);
    await system.tell('/door', 'inform');
    await expect(system.request('/door')).resolves.toMatchObject({ content: 'open' });
    await system.stop();
  });

  it('answers at once, not at the deadline, a message whose every transition is guarded out', async () => {
    const seen: unknown[] = [];
    const machine = setup({ types: { events: {} as AclMessage } }).createMachine({
      initial: 'idle',
      states: {
        idle: {
          on: {
            request: [
              { guard: ({ event }) => event.content === 'small', actions: [({ event }) => seen.push(event.content), reply('inform', 'done small')] },
              { guard: ({ event }) => event.content === 'large', actions: [({ event }) => seen.push(event.content), reply('inform', 'done large')] },
            ],
            '*': { guard: () => false, actions: ({ event }) => seen.push(event.type) },
          },
        },
      },
    });
    const system = await startSystem([{ id: 'picky', agent: defineAgent({ name: 'picky', machine }) }]);
    await expect(system.request('/picky', 'large')).resolves.toMatchObject({ content: 'done large' });
    const error = await rejection(system.request('/picky', 'medium', { timeoutMs: 60_000 }));
    expect(error).toBeInstanceOf(NotUnderstoodError);
    expect((error as NotUnderstoodError).reason).toBe('unhandled-performative');
    expect((error as NotUnderstoodError).message).toMatch(/whose guard allows it/);
    // Through the guarded wildcard: a told message nothing takes is a dead letter.
    await system.tell('/picky', 'inform', 'hello');
    await system.whenIdle();
    expect(system.deadLetters.recent().map((letter) => letter.reason)).toEqual(['unhandled']);
    expect(seen).toEqual(['large']);
    await system.stop();
  });

  it('a guarded-out transition in a child state falls through to the parent state\'s unguarded one', async () => {
    const machine = setup({ types: { events: {} as AclMessage } }).createMachine({
      initial: 'inner',
      on: { request: { actions: reply('inform', 'from the parent') } },
      states: { inner: { on: { request: { guard: () => false, actions: reply('inform', 'from the child') } } } },
    });
    const system = await startSystem([{ id: 'nested', agent: defineAgent({ name: 'nested', machine }) }]);
    await expect(system.request('/nested')).resolves.toMatchObject({ content: 'from the parent' });
    await system.stop();
  });

  it('a forbidden transition in a child state shadows the parent\'s handler: answered not-understood at once', async () => {
    const machine = setup({ types: { events: {} as AclMessage } }).createMachine({
      initial: 'closed',
      on: { request: { actions: reply('inform', 'from the parent') }, inform: { actions: reply('inform', 'never') } },
      states: {
        closed: { on: { request: undefined, '*': undefined, cancel: 'open' } },
        open: {},
      },
    });
    const system = await startSystem([{ id: 'shadowed', agent: defineAgent({ name: 'shadowed', machine }) }]);
    const error = await rejection(system.request('/shadowed', undefined, { timeoutMs: 2_000 }));
    expect(error).toBeInstanceOf(NotUnderstoodError);
    expect((error as NotUnderstoodError).reason).toBe('unhandled-performative');
    // The child's forbidden wildcard shadows the parent's inform too.
    const informed = await rejection(system.request('/shadowed', undefined, { performative: 'inform', timeoutMs: 2_000 }));
    expect(informed).toBeInstanceOf(NotUnderstoodError);
    await system.tell('/shadowed', 'cancel');
    await expect(system.request('/shadowed')).resolves.toMatchObject({ content: 'from the parent' });
    await system.stop();
  });
});

describe('content is copied into deep-frozen plain data at send', () => {
  it('copies content into deep-frozen plain data and leaves the original as it was', () => {
    const value = { a: [1, { b: 'x' }], c: { d: null, e: undefined } };
    const copy = freezeContent(value);
    expect(copy).toEqual(value);
    expect(copy).not.toBe(value);
    expect(copy.a).not.toBe(value.a);
    expect(Object.isFrozen(copy)).toBe(true);
    expect(Object.isFrozen(copy.a)).toBe(true);
    expect(Object.isFrozen(copy.a[1])).toBe(true);
    expect(Object.isFrozen(copy.c)).toBe(true);
    expect([value, value.a, value.a[1], value.c].some((part) => Object.isFrozen(part))).toBe(false);
  });

  it('mutating the original after send does not change what was delivered', async () => {
    const delivered: unknown[] = [];
    const agent = defineAgent({
      name: 'keep',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: { inform: { actions: ({ event }) => void delivered.push(event.content) } },
      }),
    });
    const system = await startSystem([{ id: 'k', agent }]);
    const original: { list: number[]; nested: { value: string }; extra?: boolean } = { list: [1, 2, 3], nested: { value: 'before' } };
    await system.tell('/k', 'inform', original);
    // The message sits in the mailbox; the sender changes its own object before the agent runs.
    original.list.push(4);
    original.nested.value = 'after';
    original.extra = true;
    await system.whenIdle();
    expect(delivered).toEqual([{ list: [1, 2, 3], nested: { value: 'before' } }]);
    expect(Object.isFrozen(delivered[0])).toBe(true);
    await system.stop();
  });

  it('freezes what a machine sends, so the receiver cannot change the sender\'s data', async () => {
    const received: { items: number[] }[] = [];
    const sender = defineAgent({
      name: 'sender',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: { request: { actions: reply('inform', () => ({ items: [1, 2] })) } },
      }),
    });
    const system = await startSystem([{ id: 's', agent: sender }]);
    const answer = await system.request('/s');
    received.push(answer.content as { items: number[] });
    expect(Object.isFrozen(received[0])).toBe(true);
    expect(Object.isFrozen(received[0]?.items)).toBe(true);
    await system.stop();
  });

  it('refuses content that is not plain data with InvalidContentError naming where it is', async () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const cases: [unknown, RegExp][] = [
      [{ f: () => 1 }, /\$\.f is a function/],
      [[1, new Point(1)], /\$\[1\] is a Point/],
      [{ when: new Date() }, /\$\.when is a Date/],
      [{ m: new Map() }, /\$\.m is a Map/],
      [{ s: Symbol('s') }, /symbol/],
      [{ big: 1n }, /bigint/],
      [cyclic, /\$\.self refers back to \$ \(a cycle\)/],
    ];
    const system = await startSystem([{ id: 'g', agent: greeter([]) }]);
    for (const [value, where] of cases) {
      expect(() => freezeContent(value)).toThrow(InvalidContentError);
      expect(() => freezeContent(value)).toThrow(where);
      expect(() => system.tell('/g', 'inform', value)).toThrow(InvalidContentError);
      await expect(system.request('/g', value)).rejects.toBeInstanceOf(InvalidContentError);
    }
    expect(system.deadLetters.count).toBe(0);
    expect(system.metrics('/g')?.processed).toBe(0);
    await system.stop();
  });

  it('refused content is left entirely unfrozen, also the siblings checked before the bad value', () => {
    const content = { first: { list: [1, { deep: true }] }, second: [{ ok: 1 }], bad: new Map(), after: { x: 1 } };
    expect(() => freezeContent(content)).toThrow(/\$\.bad is a Map/);
    for (const part of [content, content.first, content.first.list, content.first.list[1], content.second, content.second[0], content.after]) {
      expect(Object.isFrozen(part)).toBe(false);
    }
  });

  it('copies shared sub-objects once, and they stay shared: a DAG is copied in linear time, not once per path', () => {
    // 16 levels, each pointing twice at the next: 2^16 paths down to one leaf.
    let reads = 0;
    let node: Record<string, unknown> = {
      get leaf() {
        reads++;
        return 'x';
      },
    };
    for (let i = 0; i < 16; i++) node = { left: node, right: node };
    let copy = freezeContent(node);
    expect(reads).toBe(1);
    for (let i = 0; i < 16; i++) {
      expect(copy.left).toBe(copy.right);
      expect(Object.isFrozen(copy)).toBe(true);
      copy = copy.left as Record<string, unknown>;
    }
    expect(copy).toEqual({ leaf: 'x' });
    // A shared value that is bad is still refused, and nothing is frozen.
    const bad = { when: new Date(0) };
    const shared = { a: bad, b: [bad], c: { d: bad } };
    expect(() => freezeContent(shared)).toThrow(/\$\.a\.when is a Date/);
    expect([shared, bad, shared.b, shared.c].some((part) => Object.isFrozen(part))).toBe(false);
  });

  it('a refused send leaves the objects above the bad value unfrozen, so the caller can fix it and send again', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'g', agent: greeter(seen) }]);
    const note: { note: unknown } = { note: new Date(0) };
    expect(() => system.tell('/g', 'inform', note)).toThrow(InvalidContentError);
    expect(Object.isFrozen(note)).toBe(false);
    note.note = (note.note as Date).toISOString();
    expect(await system.tell('/g', 'inform', note)).toBe('queued');
    await system.whenIdle();
    expect(seen.map((m) => m.content)).toEqual([{ note: '1970-01-01T00:00:00.000Z' }]);
    await system.stop();
  });

  it('accepts null-prototype objects (copied as null-prototype objects) and every primitive', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(Object.getPrototypeOf(freezeContent(bare))).toBeNull();
    for (const value of [bare, 'text', 0, -1.5, true, false, null, undefined, [], {}]) expect(() => freezeContent(value)).not.toThrow();
    for (const value of ['text', 0, -1.5, true, false, null, undefined]) expect(freezeContent(value)).toBe(value);
  });
});
