/**
 * Content isolation under attack: every way a JS value can share an object between agents or
 * run the sender's code in the receiver (issue 13, item 3). What is sent is copied into plain
 * frozen data or refused with InvalidContentError naming the path; a fast-check fuzz builds
 * hostile values from a description that also says what the copy must be.
 */
import fc from 'fast-check';
import { types } from 'node:util';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { defineAgent, freezeContent, InvalidContentError, type AclMessage } from '../../src/index.js';
import { startSystem } from './helpers.js';

/** Receives one `inform`, reads its content and tries to write into it, as a hostile receiver would. */
function receiver(onContent: (content: unknown) => void) {
  return defineAgent({
    name: 'receiver',
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      on: { inform: { actions: ({ event }) => onContent(event.content) } },
    }),
  });
}

/** Sends `content` through a system and hands back what the receiver got. */
async function delivered(content: unknown): Promise<unknown> {
  let got: unknown;
  const system = await startSystem([{ id: 'r', agent: receiver((c) => (got = c)) }]);
  expect(await system.tell('/r', 'inform', content)).toBe('queued');
  await system.whenIdle();
  await system.stop();
  return got;
}

/** The InvalidContentError freezeContent throws for `content` (fails the test when it throws nothing else). */
function refusalOf(content: unknown): InvalidContentError {
  try {
    freezeContent(content);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidContentError);
    return error as InvalidContentError;
  }
  return expect.fail('expected InvalidContentError');
}

function tryWrite(write: () => void): void {
  try {
    write();
  } catch {
    // a frozen target throws in strict mode; the test checks where the write landed
  }
}

describe('content isolation: the attacks of issue 13 (through a system)', () => {
  it('a non-enumerable property does not carry the sender’s object to the receiver', async () => {
    const secret = { balance: 100 };
    const content = { visible: 1 };
    Object.defineProperty(content, 'hidden', { value: secret, enumerable: false });
    const got = (await delivered(content)) as Record<string, unknown>;
    expect(Reflect.ownKeys(got)).toEqual(['visible']);
    expect(Object.getOwnPropertyDescriptor(got, 'hidden')).toBeUndefined();
  });

  it('a symbol-keyed property does not carry the sender’s object to the receiver', async () => {
    const key = Symbol('link');
    const secret = { balance: 100 };
    const got = (await delivered({ visible: 1, [key]: secret })) as Record<PropertyKey, unknown>;
    expect(Reflect.ownKeys(got)).toEqual(['visible']);
    expect(got[key]).toBeUndefined();
  });

  it('an extra property on an array does not carry the sender’s object to the receiver', async () => {
    const list: number[] & { link?: { balance: number } } = [1, 2];
    list.link = { balance: 100 };
    const got = (await delivered({ list })) as { list: unknown[] & { link?: unknown } };
    expect(got.list).toEqual([1, 2]);
    expect(Reflect.ownKeys(got.list)).toEqual(['0', '1', 'length']);
    expect(got.list.link).toBeUndefined();
  });

  it('a getter runs once at send, in the sender; the receiver reads a value and runs no sender code', async () => {
    let reads = 0;
    const content = {
      get value() {
        reads++;
        return { n: reads };
      },
    };
    const got = (await delivered(content)) as { value: { n: number } };
    expect(reads).toBe(1);
    expect(got.value.n).toBe(1);
    expect(got.value.n).toBe(1);
    expect(Object.getOwnPropertyDescriptor(got, 'value')).toMatchObject({ value: { n: 1 }, writable: false });
    expect(reads).toBe(1);
  });

  it('a getter on an array element runs once at send, not when the receiver reads', async () => {
    let reads = 0;
    const list: unknown[] = [0];
    Object.defineProperty(list, 0, { get: () => ++reads, enumerable: true });
    const got = (await delivered(list)) as unknown[];
    expect(got[0]).toBe(1);
    expect(got[0]).toBe(1);
    expect(reads).toBe(1);
  });

  it('an Array subclass is refused (its methods are the sender’s code), naming where it is', async () => {
    let calls = 0;
    class Spy extends Array<number> {
      override map<U>(fn: (value: number, index: number, array: number[]) => U): U[] {
        calls++;
        return super.map(fn);
      }
    }
    const system = await startSystem([{ id: 'r', agent: receiver(() => undefined) }]);
    const list = Spy.from([1, 2]);
    expect(() => system.tell('/r', 'inform', { items: [{ list }] })).toThrow(InvalidContentError);
    expect(() => system.tell('/r', 'inform', { items: [{ list }] })).toThrow(/^content at \$\.items\[0\]\.list is a Spy \(an Array subclass\); send plain data/);
    expect(calls).toBe(0);
    await system.stop();
  });

  it('a Proxy is refused before any of its traps runs, so a receiver’s write cannot reach the sender', async () => {
    const trapped: string[] = [];
    const target = { n: 1 };
    const handler: ProxyHandler<typeof target> = {};
    for (const trap of ['get', 'set', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'defineProperty', 'preventExtensions', 'isExtensible'] as const) {
      (handler as Record<string, unknown>)[trap] = (...args: unknown[]) => {
        trapped.push(trap);
        return (Reflect[trap] as (...a: unknown[]) => unknown)(...args);
      };
    }
    const proxy = new Proxy(target, handler);
    const system = await startSystem([{ id: 'r', agent: receiver((c) => tryWrite(() => ((c as { n: number }).n = 2))) }]);
    expect(() => system.tell('/r', 'inform', { wrapped: proxy })).toThrow(/^content at \$\.wrapped is a Proxy; /);
    await expect(system.request('/r', [proxy])).rejects.toThrow(InvalidContentError);
    expect(trapped).toEqual([]);
    expect(target.n).toBe(1);
    // A revoked Proxy too (anything else done to it throws a TypeError).
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(() => system.tell('/r', 'inform', { revoked })).toThrow(/^content at \$\.revoked is a Proxy/);
    await system.stop();
  });

  it('what the receiver gets is frozen: its writes reach neither the sender’s object nor the copy', async () => {
    const original = { list: [1], nested: { n: 1 } };
    let got: { list: number[]; nested: { n: number } } | undefined;
    const system = await startSystem([
      {
        id: 'r',
        agent: receiver((c) => {
          got = c as typeof got;
          tryWrite(() => (c as typeof original).list.push(2));
          tryWrite(() => ((c as typeof original).nested.n = 2));
        }),
      },
    ]);
    await system.tell('/r', 'inform', original);
    await system.whenIdle();
    expect(original).toEqual({ list: [1], nested: { n: 1 } });
    expect(got).toEqual({ list: [1], nested: { n: 1 } });
    await system.stop();
  });
});

describe('content isolation: refusals name the path and stay short', () => {
  it('a cycle is named by the property that refers back and the object it refers to, in a short message', () => {
    const self: Record<string, unknown> = { name: 'loop' };
    self.self = self;
    expect(refusalOf(self).message).toBe('content at $.self refers back to $ (a cycle); send a tree: plain data cannot contain itself');
    const deep: Record<string, unknown> = { a: { b: [0, { c: {} }] } };
    ((deep.a as { b: [number, { c: Record<string, unknown> }] }).b[1].c as Record<string, unknown>).back = deep.a;
    expect(() => freezeContent(deep)).toThrow('content at $.a.b[1].c.back refers back to $.a (a cycle)');
  });

  it('a path deeper than eight keys, or with long keys, is shortened in the middle', () => {
    const key = 'k'.repeat(500);
    let nested: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 100; i++) nested = { [key]: nested };
    const message = refusalOf(nested).message;
    expect(message).toMatch(/^content at \$\.k{40}….*…\(57 more\)….* is nested deeper than 64 levels; send flatter data$/);
    expect(message.length).toBeLessThan(500);
  });

  it('keys that are not identifiers are quoted in the path', () => {
    expect(() => freezeContent({ 'a b': [{ '': new Map() }] })).toThrow('content at $["a b"][0][""] is a Map');
  });

  it('a getter that throws is refused as InvalidContentError naming its path, with the thrown error as cause', () => {
    const boom = new Error('boom');
    const content = {
      list: [
        {
          get bad(): never {
            throw boom;
          },
        },
      ],
    };
    const error = refusalOf(content);
    expect(error.message).toMatch(/^content at \$\.list\[0\]\.bad threw when read \(boom\); send plain data/);
    expect(error.cause).toBe(boom);
    // What was thrown is shown short, and shown at all when it cannot be turned into a string.
    const long = refusalOf({
      get x(): never {
        throw new Error('y'.repeat(10_000));
      },
    });
    expect(long.message.length).toBeLessThan(300);
    const bare = Object.create(null) as object;
    expect(
      refusalOf({
        get x(): never {
          throw bare;
        },
      }).message,
    ).toMatch(/^content at \$\.x threw when read \(a value that cannot be shown\)/);
  });

  it('an own `__proto__` key (as JSON.parse makes) stays a property and never becomes the copy’s prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const copy = freezeContent(parsed);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ polluted: true });
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });

  it('refuses objects with another prototype, naming what they are, without calling a `constructor` getter', () => {
    let ran = false;
    const proto = {
      get constructor() {
        ran = true;
        return Object;
      },
    };
    expect(() => freezeContent({ x: Object.create(proto) as object })).toThrow(/^content at \$\.x is an object whose prototype is not Object\.prototype or null; /);
    expect(ran).toBe(false);
    for (const [value, kind] of [
      [new Uint8Array(2), 'a Uint8Array'],
      [new String('boxed'), 'a String'],
      [new Set(), 'a Set'],
      [/re/, 'a RegExp'],
      [new Error('e'), 'an Error'],
    ] as const) {
      expect(() => freezeContent([value])).toThrow(new RegExp(`^content at \\$\\[0\\] is ${kind}; `));
    }
  });
});

// ---- The fuzz: a description of a value, from which both the hostile value and its expected copy are built ----

type Primitive = string | number | boolean | null | undefined;
/** Added to a container without being plain data: must not reach the copy. */
type Extra = 'hidden' | 'symbol' | 'hidden-getter' | 'symbol-getter' | 'array-key';
/** Values that must be refused (an object placed where the description puts it). */
type Bad = 'proxy' | 'revoked-proxy' | 'subclass' | 'class' | 'date' | 'map' | 'function' | 'bigint' | 'symbol' | 'throwing-getter' | 'exotic-proto' | 'typed-array';
type Spec =
  | { readonly t: 'prim'; readonly v: Primitive }
  | { readonly t: 'array'; readonly items: readonly Spec[]; readonly getters: readonly boolean[]; readonly extras: readonly Extra[] }
  | { readonly t: 'object'; readonly bare: boolean; readonly entries: readonly (readonly [string, Spec])[]; readonly getters: readonly boolean[]; readonly extras: readonly Extra[] }
  /** `{ a: v, b: v }`, one value shared by two properties (a DAG). */
  | { readonly t: 'shared'; readonly inner: Spec }
  /** A reference to the container `up` levels above (a cycle). */
  | { readonly t: 'cycle'; readonly up: number }
  /** A Proxy around a container (refused before it is read). */
  | { readonly t: 'proxied'; readonly inner: Spec }
  | { readonly t: 'bad'; readonly what: Bad };

const KEYS = ['a', 'b', 'c', 'text', '__proto__', 'constructor', 'toString', 'x y', '', 'é'];
const BAD: readonly Bad[] = ['proxy', 'revoked-proxy', 'subclass', 'class', 'date', 'map', 'function', 'bigint', 'symbol', 'throwing-getter', 'exotic-proto', 'typed-array'];
const EXTRAS: readonly Extra[] = ['hidden', 'symbol', 'hidden-getter', 'symbol-getter', 'array-key'];

const primitive = fc.oneof(fc.string({ maxLength: 6 }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined));

const specs = fc.letrec<{ spec: Spec }>((tie) => ({
  spec: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: primitive.map((v): Spec => ({ t: 'prim', v })), weight: 6 },
    {
      arbitrary: fc.record({ items: fc.array(tie('spec'), { maxLength: 4 }), getters: fc.array(fc.boolean(), { maxLength: 4 }), extras: fc.subarray([...EXTRAS]) }).map((r): Spec => ({ t: 'array', ...r })),
      weight: 3,
    },
    {
      arbitrary: fc
        .record({
          bare: fc.boolean(),
          entries: fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), tie('spec')), { maxLength: 4, selector: ([key]) => key }),
          getters: fc.array(fc.boolean(), { maxLength: 4 }),
          extras: fc.subarray(EXTRAS.filter((extra) => extra !== 'array-key')),
        })
        .map((r): Spec => ({ t: 'object', ...r })),
      weight: 3,
    },
    { arbitrary: tie('spec').map((inner): Spec => ({ t: 'shared', inner })), weight: 1 },
    { arbitrary: fc.nat({ max: 3 }).map((up): Spec => ({ t: 'cycle', up })), weight: 1 },
    { arbitrary: tie('spec').map((inner): Spec => ({ t: 'proxied', inner })), weight: 1 },
    { arbitrary: fc.constantFrom(...BAD).map((what): Spec => ({ t: 'bad', what })), weight: 1 },
  ),
})).spec;

/** Everything the hostile value is made of, and how often the sender's code ran. */
interface World {
  runs: number;
  readonly objects: Set<object>;
}

/** A property of a container: read through a getter (sender's code) or a plain value. */
type Slot = { readonly value: unknown; readonly getter: boolean } | { readonly throws: true };

interface Built {
  readonly live: unknown;
  /** What the copy must be (plain values; a shared value is one object), when nothing is refused. */
  readonly plain: unknown;
  /** The start of the refusal's message (`content at $.x is a Map`), when something is. */
  readonly refusal: string | undefined;
}

/** A container above the value being built: the hostile object, its expected copy, its path. */
interface Ancestor {
  readonly live: object;
  readonly plain: object;
  readonly path: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const child = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

class Point {
  constructor(readonly x: number) {}
}
class Sub extends Array<unknown> {}

function badValue(what: Bad, world: World): { live: unknown; kind: string } {
  const mark = <T extends object>(value: T): T => (world.objects.add(value), value);
  switch (what) {
    case 'proxy': {
      const target = mark({ n: 1 });
      const proxy = new Proxy(target, {
        get: (t, k, r) => (world.runs++, Reflect.get(t, k, r) as unknown),
        ownKeys: (t) => (world.runs++, Reflect.ownKeys(t)),
        getPrototypeOf: (t) => (world.runs++, Reflect.getPrototypeOf(t)),
      });
      return { live: proxy, kind: 'is a Proxy' };
    }
    case 'revoked-proxy': {
      const { proxy, revoke } = Proxy.revocable(mark({}), {});
      revoke();
      return { live: proxy, kind: 'is a Proxy' };
    }
    case 'subclass':
      return { live: mark(Sub.from([1])), kind: 'is a Sub (an Array subclass)' };
    case 'class':
      return { live: mark(new Point(1)), kind: 'is a Point' };
    case 'date':
      return { live: mark(new Date(0)), kind: 'is a Date' };
    case 'map':
      return { live: mark(new Map()), kind: 'is a Map' };
    case 'function':
      return { live: () => world.runs++, kind: 'is a function' };
    case 'bigint':
      return { live: 1n, kind: 'is a bigint' };
    case 'symbol':
      return { live: Symbol('s'), kind: 'is a symbol' };
    case 'exotic-proto':
      return {
        live: mark(
          Object.create(
            mark({
              get inherited() {
                world.runs++;
                return 1;
              },
            }),
          ) as object,
        ),
        kind: 'is an object whose prototype is not Object.prototype or null',
      };
    case 'typed-array':
      return { live: mark(new Float64Array(1)), kind: 'is a Float64Array' };
    case 'throwing-getter':
      throw new Error('a throwing getter is a slot, built by its container');
  }
}

/** Builds the hostile value of `spec` at `path`; `ancestors` are the containers above it, innermost last. */
function build(spec: Spec, path: string, ancestors: readonly Ancestor[], world: World): Built {
  switch (spec.t) {
    case 'prim':
      return { live: spec.v, plain: spec.v, refusal: undefined };
    case 'bad': {
      // A throwing getter is a property, made by its container (see `container`); anywhere else it is just undefined.
      if (spec.what === 'throwing-getter') return { live: undefined, plain: undefined, refusal: undefined };
      const { live, kind } = badValue(spec.what, world);
      return { live, plain: undefined, refusal: `content at ${path} ${kind}` };
    }
    case 'cycle': {
      const target = ancestors[ancestors.length - 1 - Math.min(spec.up, ancestors.length - 1)];
      if (target === undefined) return { live: null, plain: null, refusal: undefined };
      return { live: target.live, plain: target.plain, refusal: `content at ${path} refers back to ${target.path} (a cycle)` };
    }
    case 'proxied': {
      const inner = build({ t: 'object', bare: false, entries: [['wrapped', spec.inner]], getters: [], extras: [] }, path, ancestors, world);
      const proxy = new Proxy(inner.live as object, { get: (t, k, r) => (world.runs++, Reflect.get(t, k, r) as unknown) });
      return { live: proxy, plain: undefined, refusal: `content at ${path} is a Proxy` };
    }
    case 'shared': {
      const inner = build(spec.inner, child(path, 'a'), ancestors, world);
      // Built once, placed twice: the second place is reached through the first's copy.
      return container({ t: 'object', bare: false, entries: [], getters: [], extras: [] }, path, world, () => [
        ['a', { value: inner.live, getter: false }, inner],
        ['b', { value: inner.live, getter: false }, { ...inner, refusal: undefined }],
      ]);
    }
    case 'array':
    case 'object':
      return container(spec, path, world, (self) =>
        (spec.t === 'array' ? spec.items.map((item, i) => [i, item] as const) : spec.entries).map(([key, item], i) => {
          if (item.t === 'bad' && item.what === 'throwing-getter') return [key, { throws: true }, { live: undefined, plain: undefined, refusal: `content at ${child(path, key)} threw when read (boom)` }] as const;
          const built = build(item, child(path, key), [...ancestors, self], world);
          return [key, { value: built.live, getter: spec.getters[i] === true }, built] as const;
        }),
    );
  }
}

/** Makes a container whose properties `fill` describes (given the container itself, for cycles), then adds its extras. */
function container(
  spec: Extract<Spec, { t: 'array' | 'object' }>,
  path: string,
  world: World,
  fill: (self: Ancestor) => readonly (readonly [string | number, Slot, Built])[],
): Built {
  const empty = (): Record<PropertyKey, unknown> => (spec.t === 'array' ? ([] as unknown as Record<PropertyKey, unknown>) : spec.bare ? (Object.create(null) as Record<PropertyKey, unknown>) : {});
  const live = empty();
  const plain = empty();
  world.objects.add(live);
  let refusal: string | undefined;
  for (const [key, slot, built] of fill({ live, plain, path })) {
    refusal ??= built.refusal;
    if ('throws' in slot) {
      Object.defineProperty(live, key, {
        get: () => {
          world.runs++;
          throw new Error('boom');
        },
        enumerable: true,
        configurable: true,
      });
      continue;
    }
    if (slot.getter) {
      Object.defineProperty(live, key, {
        get: () => (world.runs++, slot.value),
        enumerable: true,
        configurable: true,
      });
    } else {
      Object.defineProperty(live, key, { value: slot.value, enumerable: true, writable: true, configurable: true });
    }
    Object.defineProperty(plain, key, { value: built.plain, enumerable: true, writable: true, configurable: true });
  }
  for (const extra of spec.extras) {
    const secret = { secret: true };
    world.objects.add(secret);
    const getter = (): unknown => (world.runs++, secret);
    if (extra === 'hidden') Object.defineProperty(live, 'hidden', { value: secret, enumerable: false });
    else if (extra === 'symbol') live[Symbol('link')] = secret;
    else if (extra === 'hidden-getter') Object.defineProperty(live, 'hiddenGetter', { get: getter, enumerable: false });
    else if (extra === 'symbol-getter') Object.defineProperty(live, Symbol('getter'), { get: getter, enumerable: true });
    else live.extra = secret; // an array's non-index key
  }
  return { live, plain, refusal };
}

/**
 * Checks that `copy` is exactly `plain` as plain frozen data, sharing what `plain` shares and
 * nothing with the sender's objects; `pairs` maps each expected object to its copy.
 */
function expectPlainCopy(copy: unknown, plain: unknown, world: World, pairs: Map<object, object>): void {
  if (typeof plain !== 'object' || plain === null) {
    expect(Object.is(copy, plain)).toBe(true);
    return;
  }
  expect(typeof copy).toBe('object');
  const object = copy as object;
  const seen = pairs.get(plain);
  if (seen !== undefined) {
    expect(object).toBe(seen);
    return;
  }
  pairs.set(plain, object);
  expect(types.isProxy(object)).toBe(false);
  expect(world.objects.has(object)).toBe(false);
  expect(Object.isFrozen(object)).toBe(true);
  expect(Object.getPrototypeOf(object)).toBe(Object.getPrototypeOf(plain));
  expect(Array.isArray(object)).toBe(Array.isArray(plain));
  expect(Reflect.ownKeys(object)).toEqual(Reflect.ownKeys(plain));
  for (const key of Reflect.ownKeys(plain)) {
    if (Array.isArray(plain) && key === 'length') continue;
    const descriptor = Object.getOwnPropertyDescriptor(object, key) as PropertyDescriptor;
    expect('value' in descriptor && descriptor.enumerable).toBe(true);
    expectPlainCopy(descriptor.value, (plain as Record<PropertyKey, unknown>)[key], world, pairs);
  }
}

/** Reads everything a receiver can reach, the way a receiver would (getters and all). */
function readAll(value: unknown, seen = new Set<object>()): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) readAll((value as Record<PropertyKey, unknown>)[key], seen);
  JSON.stringify(value);
}

describe('content isolation: fuzz (fast-check) over every way a value can share an object or run code', () => {
  it('copies into plain frozen data sharing nothing and running nothing when read, or refuses naming the path', () => {
    fc.assert(
      fc.property(specs, (spec) => {
        const world: World = { runs: 0, objects: new Set() };
        const built = build(spec, '$', [], world);
        let copy: unknown;
        let error: unknown;
        try {
          copy = freezeContent(built.live);
        } catch (caught) {
          error = caught;
        }
        if (built.refusal !== undefined) {
          expect(error).toBeInstanceOf(InvalidContentError);
          const message = (error as Error).message;
          expect(message.startsWith(`${built.refusal}; `) || message.startsWith(`${built.refusal} `)).toBe(true);
          expect(message.length).toBeLessThan(300);
        } else {
          expect(error).toBeUndefined();
          expectPlainCopy(copy, built.plain, world, new Map());
          const runs = world.runs;
          readAll(copy);
          expect(world.runs).toBe(runs);
        }
        // The sender's own objects are left as they were: none frozen.
        for (const object of world.objects) expect(Object.isFrozen(object)).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });
});
