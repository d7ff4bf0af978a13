/**
 * JSON-safe copies of what the inspector shows (agents' memory, message content, events),
 * built under a budget of output bytes and with secrets redacted.
 *
 * The budget counts the bytes of JSON each value will become as it is copied, so memory that
 * shares references (one array referenced 200 times, 200 times over) costs what its expansion
 * would cost, every time it is reached: a few kilobytes in memory can no longer become a
 * 100 MB reply. Where the budget runs out the copy stops with a `[truncated]` marker saying
 * how much was left out.
 */

export const REDACTED = '[redacted]';
export const TRUNCATED = '[truncated]';
/** The default of the inspector's `maxReplyBytes`: the most any reply (or the hello) may take on the wire. */
export const DEFAULT_MAX_REPLY_BYTES = 1 << 20;
/** Kept back from a reply's budget for its envelope, fixed fields and truncation markers (which are not counted). */
const REPLY_RESERVE_BYTES = 4 * 1024;

const MAX_DEPTH = 8;
const MAX_ITEMS = 200;
const MAX_STRING = 2_000;
/** A secret straddling the cut of a long string is still matched whole: patterns see this much past it. */
const PATTERN_OVERLAP = 512;

/**
 * Field names whose values are secrets wherever they appear (case-insensitive): `apiKey`,
 * `password`, `clientSecret`, `accessToken`, `Authorization`, `cookie`, ... (`tokensUsed` and
 * `maxTokens` are counts, and are shown).
 */
export const DEFAULT_SECRET_KEYS: readonly RegExp[] = [
  /pass(?:word|wd|phrase)|^pwd$/i,
  /secret/i,
  /token$/i,
  /^(?:proxy-)?authori[sz]ation$/i,
  /api[-_]?key/i,
  /access[-_]?key/i,
  /private[-_]?key/i,
  /credential/i,
  /cookie/i,
  /session[-_]?id/i,
];

/** Secrets recognisable in any text (a prompt, a log line): the matching part is replaced. */
export const DEFAULT_SECRET_VALUES: readonly RegExp[] = [
  /\bBearer\s+[\w.~+/-]{16,}=*/gi,
  /\bsk-[\w-]{16,}/g,
  /\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/g,
  /\bAKIA[0-9A-Z]{16}\b/g,
  /\bgh[pousr]_[A-Za-z0-9]{30,}/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
];

/**
 * What a view of an agent may show: its budget and what it redacts. Plain data, so that it
 * crosses to a worker thread (a structured clone keeps RegExps) and the machine of a worker
 * agent is described there under the same rules.
 */
export interface ViewRules {
  /** Fields replaced by "[redacted]" wherever these dotted paths lead (`auth.password`). */
  readonly fields: readonly string[];
  /** Field names whose values are redacted at any depth. */
  readonly keys: readonly RegExp[];
  /** Patterns replaced by "[redacted]" inside any string. */
  readonly values: readonly RegExp[];
  /** The reply's budget in bytes of JSON. */
  readonly maxBytes: number;
}

export const DEFAULT_VIEW_RULES: ViewRules = { fields: [], keys: DEFAULT_SECRET_KEYS, values: DEFAULT_SECRET_VALUES, maxBytes: DEFAULT_MAX_REPLY_BYTES };

/** Bytes of JSON left to write. Once something does not fit, nothing more does. */
export class OutputBudget {
  private left: number;
  private cut = false;

  constructor(
    limit: number,
    /** The size the reply is promised to stay within, as markers state it. */
    readonly shownLimit: number = limit,
  ) {
    this.left = limit;
  }

  /** A budget for a whole reply of at most `maxBytes`, its envelope and markers kept back. */
  static forReply(maxBytes: number): OutputBudget {
    return new OutputBudget(Math.max(maxBytes - REPLY_RESERVE_BYTES, maxBytes >> 1), maxBytes);
  }

  get exhausted(): boolean {
    return this.cut;
  }

  /** Takes `bytes` if they fit; otherwise spends the rest, and says no. */
  take(bytes: number): boolean {
    if (!this.cut && bytes <= this.left) {
      this.left -= bytes;
      return true;
    }
    this.cut = true;
    this.left = 0;
    return false;
  }

  /** Why a list stops where it does: said once per place it cuts. */
  get reason(): string {
    return `the reply reached its budget of ${this.shownLimit} bytes`;
  }

  /** What a cut leaves out. */
  marker(count: number, what: string): string {
    return `${TRUNCATED} ${count} more ${what}: ${this.reason}`;
  }

  /** The reply-level notice when anything was cut; undefined otherwise. */
  get notice(): string | undefined {
    return this.cut ? `parts were left out: ${this.reason}` : undefined;
  }
}

/** UTF-8 bytes of a string as JSON writes it, quotes and escapes included. */
export function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8');
}

/** Returned by a copy that did not fit: its container ends there with a marker. */
const CUT: unique symbol = Symbol('cut');
type Copied = unknown;

/** Compiled once per view: key patterns test (never global), value patterns replace (always global). */
interface CompiledRules {
  readonly keys: readonly RegExp[];
  readonly values: readonly RegExp[];
}

const compiled = new WeakMap<readonly RegExp[], readonly RegExp[]>();

function compile(patterns: readonly RegExp[], global: boolean): readonly RegExp[] {
  const known = compiled.get(patterns);
  if (known !== undefined) return known;
  const flagsOf = (pattern: RegExp): string => (global ? `${pattern.flags.replace(/[gy]/g, '')}g` : pattern.flags.replace(/[gy]/g, ''));
  const result = patterns.map((pattern) => new RegExp(pattern.source, flagsOf(pattern)));
  compiled.set(patterns, result);
  return result;
}

function compileRules(keys: readonly RegExp[], values: readonly RegExp[]): CompiledRules {
  return { keys: compile(keys, false), values: compile(values, true) };
}

/** Distinct strings and keys a copy remembers the cleaning of (repeated ones are the norm: field names, shared values). */
const MEMO_ENTRIES = 4_096;

/** Copies one value tree; `seen` holds the objects on the current path (a cycle is shown, not followed). */
class Copier {
  private readonly seen = new Set<object>();
  /** A string as shown (secrets replaced, cut) and its bytes of JSON. */
  private readonly strings = new Map<string, { readonly shown: string; readonly bytes: number }>();
  private readonly secretKeys = new Map<string, boolean>();

  constructor(
    private readonly budget: OutputBudget,
    private readonly rules: CompiledRules,
  ) {}

  copy(value: unknown, depth: number): Copied | typeof CUT {
    switch (typeof value) {
      case 'undefined':
        return this.leaf(null, 4);
      case 'boolean':
        return this.leaf(value, value ? 4 : 5);
      case 'number':
        return Number.isFinite(value) ? this.leaf(value, String(value).length) : this.text(String(value));
      case 'string': {
        const { shown, bytes } = this.shown(value);
        return this.budget.take(bytes) ? shown : CUT;
      }
      case 'bigint':
        return this.text(`${value}n`);
      case 'function':
        return this.text(`[function ${value.name || 'anonymous'}]`);
      case 'symbol':
        return this.text(value.toString());
    }
    if (value === null) return this.leaf(null, 4);
    const object = value as object;
    if (this.seen.has(object)) return this.text('[circular]');
    if (depth >= MAX_DEPTH) return this.text('[too deep]');
    this.seen.add(object);
    try {
      if (Array.isArray(object)) return this.array(object, depth);
      const prototype: unknown = Object.getPrototypeOf(object);
      // Plain data first: it is almost all there is.
      if (prototype === Object.prototype || prototype === null) return this.record(object as Record<string, unknown>, depth);
      return this.instance(object, depth);
    } finally {
      this.seen.delete(object);
    }
  }

  /** An object of some class: shown as its data where it has a well-known shape, else by name. */
  private instance(object: object, depth: number): Copied | typeof CUT {
    if (object instanceof Date) return this.text(Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString());
    if (object instanceof Error) return this.record({ error: object.name, message: object.message }, depth);
    if (object instanceof Map) return this.collection('[Map]', firstOf(object.entries()), object.size, depth);
    if (object instanceof Set) return this.collection('[Set]', firstOf(object.values()), object.size, depth);
    // Actor references and other live objects: a name, not their internals.
    if (Object.hasOwn(object, 'sessionId')) return this.text(`[actor ${String((object as { id?: unknown }).id)}]`);
    return this.text(`[${(object as { constructor?: { name?: string } }).constructor?.name ?? 'object'}]`);
  }

  private leaf(value: unknown, bytes: number): Copied | typeof CUT {
    return this.budget.take(bytes) ? value : CUT;
  }

  private text(text: string): Copied | typeof CUT {
    return this.budget.take(jsonBytes(text)) ? text : CUT;
  }

  private shown(text: string): { readonly shown: string; readonly bytes: number } {
    const known = this.strings.get(text);
    if (known !== undefined) return known;
    const shown = this.clean(text);
    const result = { shown, bytes: jsonBytes(shown) };
    if (this.strings.size < MEMO_ENTRIES) this.strings.set(text, result);
    return result;
  }

  private isSecret(key: string): boolean {
    let secret = this.secretKeys.get(key);
    if (secret === undefined) {
      secret = this.rules.keys.some((pattern) => pattern.test(key));
      if (this.secretKeys.size < MEMO_ENTRIES) this.secretKeys.set(key, secret);
    }
    return secret;
  }

  /** Secrets replaced, then cut to MAX_STRING (patterns see a little past the cut, so a secret on it is still caught). */
  private clean(text: string): string {
    let shown = text.length > MAX_STRING ? text.slice(0, MAX_STRING + PATTERN_OVERLAP) : text;
    for (const pattern of this.rules.values) shown = shown.replace(pattern, REDACTED);
    if (text.length <= MAX_STRING) return shown;
    // A "[redacted]" on the cut is kept whole.
    const marker = shown.lastIndexOf(REDACTED, MAX_STRING);
    const cut = marker >= 0 && marker + REDACTED.length > MAX_STRING ? marker + REDACTED.length : MAX_STRING;
    return `${shown.slice(0, cut)}… (${text.length} characters)`;
  }

  /** `total`: the collection's size, of which `items` are the first (up to MAX_ITEMS). */
  private array(items: readonly unknown[], depth: number, total = items.length): Copied | typeof CUT {
    if (!this.budget.take(2)) return CUT;
    const out: unknown[] = [];
    const shown = Math.min(items.length, MAX_ITEMS);
    for (let i = 0; i < shown; i++) {
      const item = i > 0 && !this.budget.take(1) ? CUT : this.copy(items[i], depth + 1);
      if (item === CUT) {
        out.push(this.budget.marker(total - i, 'items'));
        return out;
      }
      out.push(item);
    }
    if (total > MAX_ITEMS) {
      const more = `… ${total - MAX_ITEMS} more`;
      out.push(this.budget.take(jsonBytes(more) + 1) ? more : this.budget.marker(total - MAX_ITEMS, 'items'));
    }
    return out;
  }

  /** A Map or Set: `{"[Map]": [[key, value], ...]}`, `{"[Set]": [...]}`. */
  private collection(label: string, items: readonly unknown[], total: number, depth: number): Copied | typeof CUT {
    if (!this.budget.take(jsonBytes(label) + 3)) return CUT;
    const copied = this.array(items, depth + 1, total);
    const out = Object.create(null) as Record<string, unknown>;
    out[label] = copied === CUT ? [this.budget.marker(total, 'items')] : copied;
    return out;
  }

  /**
   * An object with no prototype: an own key "__proto__" (from parsed JSON) stays a plain
   * field, and a dotted redact path can never walk out of the copy into Object.prototype.
   */
  private record(source: Readonly<Record<string, unknown>>, depth: number): Copied | typeof CUT {
    if (!this.budget.take(2)) return CUT;
    const out = Object.create(null) as Record<string, unknown>;
    const keys = Object.keys(source);
    const total = keys.length;
    const shown = Math.min(total, MAX_ITEMS);
    for (let i = 0; i < shown; i++) {
      const rawKey = keys[i] as string;
      const key = this.shown(rawKey);
      const fits = this.budget.take(key.bytes + (i > 0 ? 2 : 1));
      const item = !fits ? CUT : this.isSecret(rawKey) ? this.text(REDACTED) : this.copy(source[rawKey], depth + 1);
      if (item === CUT) {
        out[TRUNCATED] = this.budget.marker(total - i, 'fields');
        return out;
      }
      out[key.shown] = item;
    }
    if (total > MAX_ITEMS) {
      const more = `${total - MAX_ITEMS} more keys`;
      out['…'] = this.budget.take(jsonBytes(more) + 6) ? more : this.budget.marker(total - MAX_ITEMS, 'fields');
    }
    return out;
  }
}

/** The first MAX_ITEMS of a Map's or Set's entries, without copying the rest. */
function firstOf<T>(iterator: IterableIterator<T>): T[] {
  const out: T[] = [];
  for (const item of iterator) {
    if (out.length === MAX_ITEMS) break;
    out.push(item);
  }
  return out;
}

/**
 * A JSON-safe copy of `value` within `budget`: cycles, functions, symbols, bigints, class
 * instances and oversize collections become short descriptions, secrets matching `rules`
 * become "[redacted]", and whatever the budget cannot take is left out with a marker.
 */
export function toJsonSafe(value: unknown, budget: OutputBudget = OutputBudget.forReply(DEFAULT_MAX_REPLY_BYTES), rules: Pick<ViewRules, 'keys' | 'values'> = DEFAULT_VIEW_RULES): unknown {
  const copied = new Copier(budget, compileRules(rules.keys, rules.values)).copy(value, 0);
  return copied === CUT ? budget.marker(1, 'value') : copied;
}

function ownField(target: unknown, key: string): unknown {
  return typeof target === 'object' && target !== null && Object.hasOwn(target, key) ? (target as Record<string, unknown>)[key] : undefined;
}

/** Replaces each named field (dotted for nested: `auth.apiKey`) of a JSON-safe copy with "[redacted]". */
export function redactFields(value: unknown, fields: readonly string[]): unknown {
  for (const field of fields) {
    const parts = field.split('.');
    // Own fields only, at every step: a field list comes from clients ("__proto__.toString"
    // must not reach Object.prototype).
    let target: unknown = value;
    for (let i = 0; i < parts.length - 1; i++) target = ownField(target, parts[i] as string);
    const last = parts[parts.length - 1] as string;
    if (ownField(target, last) !== undefined) Object.defineProperty(target, last, { value: REDACTED, enumerable: true, writable: true, configurable: true });
  }
  return value;
}
