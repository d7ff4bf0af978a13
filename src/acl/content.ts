import { InvalidContentError } from '../runtime/errors.js';

const MAX_DEPTH = 64;
/** Passed for primitive content, which adds nothing to it: no Set per send of a string or number. */
const NO_OBJECTS: Set<object> = new Set();

/**
 * Deep-freezes message content in place and checks that it is plain data (what a structured
 * clone or JSON can carry: primitives, arrays, plain objects). Freezing instead of copying
 * keeps in-process sends cheap while still guaranteeing that no two agents share a mutable
 * object; anything that cannot be frozen safely (Map, Date, class instances, functions) is
 * refused with the path to the offending value.
 */
export function freezeContent<T>(content: T): T {
  if (typeof content !== 'object' || content === null) {
    checkValue(content, '$', 0, NO_OBJECTS); // a primitive (or a refused function): nothing to remember
    return content;
  }
  // Check the whole tree first and freeze only then: refused content is left entirely unfrozen.
  // `checked` holds every object and array checked so far, so a sub-object shared by many
  // parents is walked once (a cycle never completes a check and still hits the depth limit).
  const checked = new Set<object>();
  checkValue(content, '$', 0, checked);
  for (const value of checked) Object.freeze(value);
  return content;
}

function checkValue(value: unknown, where: string, depth: number, checked: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return;
    case 'object':
      if (value === null || checked.has(value)) return;
      if (depth >= MAX_DEPTH) {
        throw new InvalidContentError(`content at ${where} is nested deeper than ${MAX_DEPTH} levels (or is cyclic)`);
      }
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) checkValue(value[i], `${where}[${i}]`, depth + 1, checked);
      } else {
        checkObject(value, where, depth, checked);
      }
      checked.add(value);
      return;
    default:
      throw new InvalidContentError(`content at ${where} is a ${typeof value}; send plain data (strings, numbers, booleans, null, arrays, plain objects)`);
  }
}

function checkObject(record: object, where: string, depth: number, checked: Set<object>): void {
  const proto: unknown = Object.getPrototypeOf(record);
  if (proto !== Object.prototype && proto !== null) {
    const name = (record as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    throw new InvalidContentError(`content at ${where} is a ${name}; send plain data (convert dates to ISO strings, maps to objects)`);
  }
  for (const key in record) checkValue((record as Record<string, unknown>)[key], `${where}.${key}`, depth + 1, checked);
}
