/**
 * The inspector's JSON-safe copies: within a budget counted in bytes of output (a shared
 * reference costs every time it is reached), secrets redacted by field name and by pattern,
 * and everything else shown as it was.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW_RULES, OutputBudget, toJsonSafe } from '../../src/inspector/json-safe.js';
import { sharedReferences } from './hostile.js';

function bytesOf(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

describe('toJsonSafe: the output budget', () => {
  it('counts a shared reference each time it is reached: 200⁵ paths through a few kilobytes stop at the budget, with a marker', () => {
    const budget = new OutputBudget(10_000);
    const copy = toJsonSafe({ bomb: sharedReferences(5) }, budget);
    expect(budget.exhausted).toBe(true);
    // The markers of the cut (one per level it ends) are the only bytes past the budget.
    expect(bytesOf(copy)).toBeLessThanOrEqual(10_000 + 8 * 120);
    expect(JSON.stringify(copy)).toMatch(/"\[truncated\] \d+ more items: the reply reached its budget of 10000 bytes"/);
  });

  it('counts bytes as UTF-8 writes them, escapes included', () => {
    const text = '€'.repeat(1_000);
    expect(toJsonSafe([text], new OutputBudget(3_004))).toEqual([text]);
    expect(toJsonSafe([text], new OutputBudget(3_003))).toEqual(['[truncated] 1 more items: the reply reached its budget of 3003 bytes']);
    expect(toJsonSafe(['\u0001'.repeat(10)], new OutputBudget(64))).toEqual(['\u0001'.repeat(10)]);
    expect(toJsonSafe(['\u0001'.repeat(10)], new OutputBudget(63))).toEqual(['[truncated] 1 more items: the reply reached its budget of 63 bytes']);
  });

  it('within the budget, shows everything as before: cycles, bigints, functions, dates, errors, maps, sets, class instances', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    class Engine {}
    const copy = toJsonSafe({
      cyclic,
      big: 10n,
      run: function run() {},
      at: new Date(0),
      never: new Date(Number.NaN),
      error: new TypeError('bad'),
      map: new Map([['a', 1]]),
      set: new Set([1, 2]),
      engine: new Engine(),
      missing: undefined,
      nan: Number.NaN,
      long: 'x'.repeat(2_500),
      many: Array.from({ length: 201 }, (_, i) => i),
    });
    expect(JSON.parse(JSON.stringify(copy))).toEqual({
      cyclic: { name: 'loop', self: '[circular]' },
      big: '10n',
      run: '[function run]',
      at: '1970-01-01T00:00:00.000Z',
      never: 'Invalid Date',
      error: { error: 'TypeError', message: 'bad' },
      map: { '[Map]': [['a', 1]] },
      set: { '[Set]': [1, 2] },
      engine: '[Engine]',
      missing: null,
      nan: 'NaN',
      long: `${'x'.repeat(2_000)}… (2500 characters)`,
      many: [...Array.from({ length: 200 }, (_, i) => i), '… 1 more'],
    });
  });
});

describe('toJsonSafe: secrets', () => {
  it('redacts fields named like secrets at any depth, and keeps counts named like tokens', () => {
    const copy = toJsonSafe({
      headers: { Authorization: 'x', 'X-Api-Key': 'k', cookie: 'c' },
      accessToken: 't',
      refresh_token: 'r',
      clientSecret: 's',
      nested: [{ password: 'p', passphrase: 'q', privateKey: 'k', credentials: { user: 'u' } }],
      tokensUsed: 3,
      maxTokens: 5,
      user: 'ada',
    });
    expect(JSON.parse(JSON.stringify(copy))).toEqual({
      headers: { Authorization: '[redacted]', 'X-Api-Key': '[redacted]', cookie: '[redacted]' },
      accessToken: '[redacted]',
      refresh_token: '[redacted]',
      clientSecret: '[redacted]',
      nested: [{ password: '[redacted]', passphrase: '[redacted]', privateKey: '[redacted]', credentials: '[redacted]' }],
      tokensUsed: 3,
      maxTokens: 5,
      user: 'ada',
    });
  });

  it('replaces secrets inside text, also one that straddles the cut of a long string', () => {
    const prompt = `use Bearer ${'a'.repeat(24)} and sk-proj-${'b'.repeat(24)}; AKIA${'C'.repeat(16)}`;
    expect(toJsonSafe(prompt)).toBe('use [redacted] and [redacted]; [redacted]');
    const long = `${'x'.repeat(1_990)} sk-${'d'.repeat(40)}`;
    const shown = toJsonSafe(long) as string;
    expect(shown).not.toContain('sk-');
    expect(shown).not.toContain('ddd');
    expect(shown).toMatch(/^x{1990} \[redacted\]… \(2034 characters\)$/);
  });

  it('takes other patterns, global or not, and none at all', () => {
    const keys = [/^ssn$/gi];
    const values = [/\d{3}-\d{2}-\d{4}/];
    const people = Array.from({ length: 5 }, () => ({ ssn: '1', note: 'id 123-45-6789' }));
    expect(toJsonSafe(people, undefined, { keys, values })).toEqual(Array.from({ length: 5 }, () => ({ ssn: '[redacted]', note: 'id [redacted]' })));
    expect(toJsonSafe({ password: 'p' }, undefined, { keys: [], values: [] })).toEqual({ password: 'p' });
    expect(toJsonSafe({ password: 'p' }, undefined, DEFAULT_VIEW_RULES)).toEqual({ password: '[redacted]' });
  });
});
