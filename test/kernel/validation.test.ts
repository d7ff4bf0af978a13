import { describe, expect, it } from 'vitest';
import { createMachine, fromCallback, setup, type AnyStateMachine } from 'xstate';
import { z } from 'zod';
import {
  ConfigurationError,
  createSystem,
  defineAgent,
  InvalidContentError,
  InvalidPathError,
  StartError,
  SystemStoppedError,
  TroupeError,
  type AgentOptions,
} from '../../src/index.js';
import { normalizePath } from '../../src/runtime/path.js';
import { echo, rootOf, startSystem } from './helpers.js';

const machine = setup({}).createMachine({});

function configError(make: () => unknown, code: string, message?: RegExp): void {
  let caught: unknown;
  try {
    make();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigurationError);
  expect(caught).toBeInstanceOf(TroupeError);
  expect((caught as ConfigurationError).name).toBe('ConfigurationError');
  expect((caught as ConfigurationError).code).toBe(code);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
}

describe('defineAgent checks its options up front', () => {
  it('accepts a name and a plain XState machine, and freezes the definition with mailbox defaults', () => {
    const definition = defineAgent({ name: 'ok', machine: createMachine({}) });
    expect(definition).toMatchObject({ kind: 'agent', name: 'ok', mailbox: { capacity: 1_000, overflow: 'reject' } });
    expect(Object.isFrozen(definition)).toBe(true);
  });

  it.each([
    ['no options', undefined, /options object/],
    ['null options', null, /options object/],
    ['a missing name', { machine }, /name/],
    ['an empty name', { name: '', machine }, /name/],
    ['a non-string name', { name: 42, machine }, /name/],
    ['a missing machine', { name: 'x' }, /machine/],
    ['a config object instead of a machine', { name: 'x', machine: { initial: 'a', states: { a: {} } } }, /XState v5 machine/],
    ['a function instead of a machine', { name: 'x', machine: () => undefined }, /XState v5 machine/],
    ['a content key that is not a performative', { name: 'x', machine, content: { ask: z.string() } }, /"ask" is not a FIPA performative/],
    ['a content value that is not a zod schema', { name: 'x', machine, content: { request: { type: 'string' } } }, /content.request must be a zod schema/],
  ])('refuses %s with ConfigurationError invalid-agent', (_what, options, message) => {
    configError(() => defineAgent(options as unknown as AgentOptions<AnyStateMachine>), 'invalid-agent', message);
  });

  it.each([
    ['capacity 0', { capacity: 0 }],
    ['a negative capacity', { capacity: -5 }],
    ['a fractional capacity', { capacity: 1.5 }],
    ['a NaN capacity', { capacity: Number.NaN }],
    ['a string capacity', { capacity: '10' }],
    ['an unknown overflow policy', { overflow: 'explode' }],
    ['maxWaiting 0', { overflow: 'backpressure', maxWaiting: 0 }],
    ['a fractional maxWaiting', { overflow: 'backpressure', maxWaiting: 2.5 }],
    ['an infinite maxWaiting', { overflow: 'backpressure', maxWaiting: Number.POSITIVE_INFINITY }],
    ['a string maxWaiting', { overflow: 'backpressure', maxWaiting: '10' }],
  ])('refuses a mailbox with %s with ConfigurationError invalid-mailbox', (_what, mailbox) => {
    configError(() => defineAgent({ name: 'x', machine, mailbox: mailbox as never }), 'invalid-mailbox');
  });

  it('accepts every overflow policy and an unbounded capacity', () => {
    for (const overflow of ['reject', 'drop-oldest', 'drop-newest', 'backpressure'] as const) {
      expect(defineAgent({ name: 'x', machine, mailbox: { capacity: Number.POSITIVE_INFINITY, overflow } }).mailbox).toEqual({ capacity: Number.POSITIVE_INFINITY, overflow, maxWaiting: 10_000 });
    }
    expect(defineAgent({ name: 'x', machine, mailbox: { capacity: 5, overflow: 'backpressure', maxWaiting: 1 } }).mailbox).toEqual({ capacity: 5, overflow: 'backpressure', maxWaiting: 1 });
  });

  it('says what maxWaiting bounds and how to fix a bad one', () => {
    expect(() => defineAgent({ name: 'x', machine, mailbox: { overflow: 'backpressure', maxWaiting: 0 } })).toThrow(/maxWaiting must be a whole number ≥ 1 \(it bounds the messages waiting at a full backpressure mailbox; for no bound on the mailbox, set capacity: Infinity\), got 0/);
  });
});

describe('createSystem checks its options', () => {
  it.each([
    ['no options', undefined],
    ['no root', {}],
    ['an agent as root', { root: echo() }],
    ['a plain object as root', { root: { kind: 'agent' } }],
  ])('rejects %s with ConfigurationError invalid-root', async (_what, options) => {
    const error = await createSystem(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('invalid-root');
    expect((error as Error).message).toMatch(/root: supervisor/);
  });
});

describe('createSystem checks keepDeadLetters and the scheduler options', () => {
  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10'])('rejects keepDeadLetters %j with ConfigurationError invalid-dead-letters', async (keep) => {
    const error = await createSystem({ root: rootOf([]), keepDeadLetters: keep as number }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('invalid-dead-letters');
  });

  it('keepDeadLetters 0 keeps none, and still counts them', async () => {
    const system = await startSystem([], { keepDeadLetters: 0 });
    for (let i = 0; i < 3; i++) expect(await system.tell('/nobody', 'inform', i)).toBe('refused');
    expect(system.deadLetters.count).toBe(3);
    expect(system.deadLetters.recent()).toEqual([]);
    await system.stop();
  });

  it.each([
    { throughput: 0 },
    { throughput: -1 },
    { throughput: Number.NaN },
    { throughput: 1.5 },
    { throughput: Number.POSITIVE_INFINITY },
    { budget: 0 },
    { budget: -5 },
    { budget: Number.NaN },
    { budget: '8' },
  ])('rejects scheduler %j with ConfigurationError invalid-scheduler', async (scheduler) => {
    const error = await createSystem({ root: rootOf([]), scheduler: scheduler as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('invalid-scheduler');
  });

  it('accepts throughput and budget of 1', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }], { scheduler: { throughput: 1, budget: 1 } });
    await expect(system.request('/e', 'x')).resolves.toMatchObject({ content: 'x' });
    await system.stop();
  });
});

describe('an agent that cannot start', () => {
  it('makes createSystem reject with StartError naming the path, after stopping what had started', async () => {
    const stopped: string[] = [];
    const good = defineAgent({
      name: 'good',
      machine: setup({ actors: { life: fromCallback(() => () => void stopped.push('good')) } }).createMachine({ invoke: { src: 'life' } }),
    });
    const broken = defineAgent({
      name: 'broken',
      machine: createMachine({
        entry: () => {
          throw new Error('cannot start');
        },
      }),
    });
    const error = await createSystem({ root: rootOf([{ id: 'good', agent: good }, { id: 'broken', agent: broken }]) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartError);
    expect(error).toMatchObject({ code: 'start-failed', path: '/broken' });
    expect((error as Error).message).toMatch(/cannot start/);
    expect(stopped).toEqual(['good']);
  });
});

describe('paths', () => {
  it('normalises good paths', () => {
    expect(normalizePath('/')).toBe('/');
    expect(normalizePath('/a')).toBe('/a');
    expect(normalizePath('/a/b-c/d_e.f/')).toBe('/a/b-c/d_e.f');
  });

  it.each(['', 'a', 'a/b', '//', '/a//b', '/a b', '/a/é', '/a/b?', '/a\\b', '/..', '/a/./b', '/team/../x'])('refuses %j with InvalidPathError', (path) => {
    expect(() => normalizePath(path)).toThrow(InvalidPathError);
  });

  it('every API that takes a path refuses a bad one with InvalidPathError', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const bad = 'no-slash';
    await expect(system.request(bad, 'x')).rejects.toBeInstanceOf(InvalidPathError);
    await expect(system.request(bad, 'x')).rejects.toMatchObject({ code: 'invalid-path', message: expect.stringContaining('"no-slash"') });
    expect(() => system.tell(bad, 'inform', 'x')).toThrow(InvalidPathError);
    expect(() => system.tell('/e', 'inform', 'x', { sender: 'bad sender' })).toThrow(InvalidPathError);
    expect(() => system.lookup(bad)).toThrow(InvalidPathError);
    expect(() => system.watch(bad, () => undefined)).toThrow(InvalidPathError);
    expect(() => system.metrics('/a//b')).toThrow(InvalidPathError);
    expect(() => system.whichChildren('/e')).toThrow(ConfigurationError);
    expect(system.deadLetters.count).toBe(0);
    await system.stop();
  });
});

describe('other bad inputs', () => {
  it('refuses a performative that is not FIPA, and a timeout that is not a positive number', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    expect(() => system.tell('/e', 'shout' as never, 'x')).toThrow(ConfigurationError);
    await expect(system.request('/e', 'x', { performative: 'shout' as never })).rejects.toMatchObject({ name: 'ConfigurationError', code: 'invalid-performative' });
    for (const timeoutMs of [0, -1, Number.NaN]) {
      await expect(system.request('/e', 'x', { timeoutMs })).rejects.toMatchObject({ name: 'ConfigurationError', code: 'invalid-timeout' });
    }
    expect(system.metrics('/e')?.processed).toBe(0);
    await system.stop();
  });

  it('refuses non-plain content with InvalidContentError (functions, class instances, cycles)', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    for (const value of [() => 1, { nested: [new (class Thing {})()] }, cyclic, new Set([1]), { at: new Date(0) }]) {
      expect(() => system.tell('/e', 'inform', value)).toThrow(InvalidContentError);
      const error = await system.request('/e', value).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidContentError);
      expect((error as InvalidContentError).code).toBe('invalid-content');
    }
    await system.stop();
  });

  it('refuses requests and tells after stop with SystemStoppedError', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    await system.stop();
    const error = await system.request('/e', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemStoppedError);
    expect(error).toMatchObject({ name: 'SystemStoppedError', code: 'system-stopped' });
    expect(() => system.tell('/e', 'inform', 'x')).toThrow(SystemStoppedError);
  });
});
