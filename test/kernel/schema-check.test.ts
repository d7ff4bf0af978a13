import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { check, describeIssues } from '../../src/acl/schema-check.js';

describe('schema checks', () => {
  const Order = z.object({ item: z.string(), lines: z.array(z.object({ qty: z.number() })) });

  it('describes each issue as path: message, and an issue about the whole value by the name given', () => {
    const parsed = Order.safeParse({ item: 1, lines: [{ qty: 'x' }] });
    expect(parsed.success).toBe(false);
    const issues = parsed.error?.issues ?? [];
    expect(describeIssues(issues)).toMatch(/^item: .+; lines\.0\.qty: .+$/);
    expect(describeIssues(z.string().safeParse(1).error?.issues ?? [], '(output)')).toMatch(/^\(output\): /);
    expect(describeIssues(z.string().safeParse(1).error?.issues ?? [])).toMatch(/^\(content\): /);
  });

  it('check returns the parsed value, the issues, or what a throwing schema said, and never throws', () => {
    expect(check(Order, { item: 'a', lines: [] })).toEqual({ ok: true, value: { item: 'a', lines: [] } });
    expect(check(Order, { item: 'a' })).toMatchObject({ ok: false, issues: expect.stringMatching(/^lines: /) });
    const throwing = z.string().refine(() => {
      throw new Error('boom');
    });
    expect(check(throwing, 'x')).toEqual({ ok: false, issues: '(content): the schema threw: boom' });
  });
});
