import { types } from 'node:util';
import { InvalidContentError } from '../runtime/errors.js';

const MAX_DEPTH = 64;
const PLAIN = 'send plain data (strings, numbers, booleans, null, arrays, plain objects)';

/**
 * Copies message content into plain, deep-frozen data: what JSON carries (strings, numbers,
 * booleans, null, undefined, arrays, objects whose prototype is Object.prototype or null).
 *
 * A copy, not a freeze in place, because checking in place that an object is plain (no
 * getter, no symbol key, no hidden property, no extra key on an array) costs a property
 * descriptor per key, several times the copy; the copy holds only own enumerable string-keyed
 * values by construction. So no two agents share a mutable object, and nothing the receiver
 * reads runs the sender's code:
 * - a getter is read once, here, in the sender's own send (as JSON and structuredClone do);
 * - symbol keys, non-enumerable properties and an array's non-index keys are left out;
 * - a Proxy is refused (reading it would run its traps, which may answer differently each time);
 * - so is anything with another prototype (an Array subclass, Map, Date, a class instance),
 *   a function, a symbol, a bigint, a cycle, and nesting deeper than 64 levels.
 * A sub-object shared by several parents is copied once and stays shared in the copy, so a
 * DAG costs linear time. The argument itself is never changed.
 */
export function freezeContent<T>(content: T): T {
  if (typeof content !== 'object' || content === null) {
    if (typeof content === 'function' || typeof content === 'symbol' || typeof content === 'bigint') throw invalid(new Refusal(`is a ${typeof content}`, PLAIN));
    return content;
  }
  try {
    return copyObject(content, new Map(), 0) as T;
  } catch (error) {
    throw error instanceof Refusal ? invalid(error) : error;
  }
}

/**
 * Why a value was refused, thrown through the copy; each level on the way up adds its key, so
 * that building the path costs nothing unless something is refused.
 */
class Refusal {
  /** Keys from the refused value up to the root (innermost first). */
  readonly keys: (string | number)[] = [];
  /** For a cycle: how many of `keys` lie below the object referred back to. */
  below: number | undefined;

  constructor(
    readonly problem: string,
    readonly advice: string,
    /** For a cycle: the object on the path that a property refers back to. */
    readonly cycleTo?: object,
    readonly cause?: unknown,
  ) {}
}

type Copies = Map<object, object>;

function copyValue(value: unknown, copies: Copies, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'object':
      return value === null ? null : copyObject(value, copies, depth);
    default:
      throw new Refusal(`is a ${typeof value}`, PLAIN);
  }
}

function copyObject(value: object, copies: Copies, depth: number): object {
  // First: anything else done to a Proxy (even Array.isArray, on a revoked one) runs or trips its traps.
  if (types.isProxy(value)) throw new Refusal('is a Proxy', 'send the plain data itself: reading a Proxy runs its handler');
  const copied = copies.get(value);
  if (copied !== undefined) {
    // A finished copy is frozen; one still being filled is an ancestor of this very property.
    if (Object.isFrozen(copied)) return copied;
    throw new Refusal('refers back to', 'send a tree: plain data cannot contain itself', value);
  }
  if (depth >= MAX_DEPTH) throw new Refusal(`is nested deeper than ${MAX_DEPTH} levels`, 'send flatter data');
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Array.prototype && Array.isArray(value)) return copyArray(value as readonly unknown[], copies, depth);
  if (proto === Object.prototype || proto === null) return copyRecord(value, proto === null, copies, depth);
  throw new Refusal(`is ${kindOf(value, proto)}`, `${PLAIN}: convert dates to ISO strings, maps to objects, class instances and array subclasses to plain objects and arrays`);
}

function copyArray(source: readonly unknown[], copies: Copies, depth: number): readonly unknown[] {
  const copy: unknown[] = [];
  copies.set(source, copy);
  // Read once: a getter met along the way may change the length.
  const length = source.length;
  for (let i = 0; i < length; i++) {
    try {
      copy.push(copyValue(source[i], copies, depth + 1));
    } catch (error) {
      throw refusalAt(error, i, source);
    }
  }
  return Object.freeze(copy);
}

function copyRecord(source: object, bare: boolean, copies: Copies, depth: number): object {
  const copy: Record<string, unknown> = bare ? (Object.create(null) as Record<string, unknown>) : {};
  copies.set(source, copy);
  // for-in: own enumerable string keys (the prototype is Object.prototype or null, which have none).
  for (const key in source) {
    let value: unknown;
    try {
      value = copyValue((source as Record<string, unknown>)[key], copies, depth + 1);
    } catch (error) {
      throw refusalAt(error, key, source);
    }
    // Assigning `__proto__` would set the copy's prototype instead of a property (JSON.parse makes such keys).
    if (key === '__proto__') Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
    else copy[key] = value;
  }
  return Object.freeze(copy);
}

/** The refusal of the value at `key` of `parent`, its path one level longer; a getter's throw becomes one. */
function refusalAt(error: unknown, key: string | number, parent: object): Refusal {
  const refusal = error instanceof Refusal ? error : new Refusal(`threw when read (${describeThrown(error)})`, `${PLAIN}, not getters that throw`, undefined, error);
  refusal.keys.push(key);
  if (refusal.cycleTo === parent && refusal.below === undefined) refusal.below = refusal.keys.length;
  return refusal;
}

/** A getter's throw in a few words: whatever was thrown (its message may be long, or a getter that throws in turn). */
function describeThrown(error: unknown): string {
  let text: string;
  try {
    text = error instanceof Error ? error.message : String(error);
  } catch {
    text = 'a value that cannot be shown';
  }
  return text.length > MAX_THROWN_CHARS ? `${text.slice(0, MAX_THROWN_CHARS)}…` : text;
}

function invalid(refusal: Refusal): InvalidContentError {
  const keys = refusal.keys.slice().reverse();
  let problem = refusal.problem;
  // A cycle's refusal passed the object referred back to on its way up, which set `below`.
  if (refusal.below !== undefined) problem = `${problem} ${pathOf(keys.slice(0, keys.length - refusal.below))} (a cycle)`;
  return new InvalidContentError(`content at ${pathOf(keys)} ${problem}; ${refusal.advice}`, refusal.cause);
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const MAX_SHOWN_KEYS = 8;
const MAX_KEY_CHARS = 40;
const MAX_THROWN_CHARS = 120;

/** `$.a[0]["b c"]`, shortened in the middle past 8 keys and per key past 40 characters, so a deep path stays readable. */
function pathOf(keys: readonly (string | number)[]): string {
  const shown = keys.length <= MAX_SHOWN_KEYS ? keys : [...keys.slice(0, 4), undefined, ...keys.slice(-3)];
  let path = '$';
  for (const key of shown) {
    if (key === undefined) path += `…(${keys.length - 7} more)…`;
    else if (typeof key === 'number') path += `[${key}]`;
    else {
      const short = key.length > MAX_KEY_CHARS ? `${key.slice(0, MAX_KEY_CHARS)}…` : key;
      path += IDENTIFIER.test(key) ? `.${short}` : `[${JSON.stringify(short)}]`;
    }
  }
  return path;
}

/** What a refused object is, for the message, read without running its code (a `constructor` getter is not called). */
function kindOf(value: object, proto: unknown): string {
  const name = constructorName(proto);
  if (Array.isArray(value)) return name !== undefined && name !== 'Array' ? `a ${name} (an Array subclass)` : "an array whose prototype is not this realm's Array.prototype";
  return name !== undefined && name !== 'Object' ? `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name}` : 'an object whose prototype is not Object.prototype or null';
}

function constructorName(proto: unknown): string | undefined {
  if (typeof proto !== 'object' || proto === null || types.isProxy(proto)) return undefined;
  const constructor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  if (typeof constructor !== 'function' || types.isProxy(constructor)) return undefined;
  const name: unknown = Object.getOwnPropertyDescriptor(constructor, 'name')?.value;
  return typeof name === 'string' && name !== '' ? name.slice(0, MAX_KEY_CHARS) : undefined;
}
