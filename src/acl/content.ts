import { InvalidContentError } from '../runtime/errors.js';

const MAX_DEPTH = 64;

/**
 * Deep-freezes message content in place and checks that it is plain data (what a structured
 * clone or JSON can carry: primitives, arrays, plain objects). Freezing instead of copying
 * keeps in-process sends cheap while still guaranteeing that no two agents share a mutable
 * object; anything that cannot be frozen safely (Map, Date, class instances, functions) is
 * refused with the path to the offending value.
 */
export function freezeContent<T>(content: T): T {
  freezeValue(content, '$', 0);
  return content;
}

function freezeValue(value: unknown, where: string, depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return;
    case 'object':
      if (value === null) return;
      if (depth >= MAX_DEPTH) {
        throw new InvalidContentError(`content at ${where} is nested deeper than ${MAX_DEPTH} levels (or is cyclic)`);
      }
      if (Array.isArray(value)) return freezeArray(value, where, depth);
      return freezeObject(value, where, depth);
    default:
      throw new InvalidContentError(`content at ${where} is a ${typeof value}; send plain data (strings, numbers, booleans, null, arrays, plain objects)`);
  }
}

// Children first, then the container: content refused for a bad value deep inside leaves the
// objects above it unfrozen, so the caller can still fix the value and send again.
function freezeArray(items: unknown[], where: string, depth: number): void {
  for (let i = 0; i < items.length; i++) freezeValue(items[i], `${where}[${i}]`, depth + 1);
  Object.freeze(items);
}

function freezeObject(record: object, where: string, depth: number): void {
  const proto: unknown = Object.getPrototypeOf(record);
  if (proto !== Object.prototype && proto !== null) {
    const name = (record as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    throw new InvalidContentError(`content at ${where} is a ${name}; send plain data (convert dates to ISO strings, maps to objects)`);
  }
  for (const key in record) freezeValue((record as Record<string, unknown>)[key], `${where}.${key}`, depth + 1);
  Object.freeze(record);
}
