/**
 * Checking a value against a zod schema without ever throwing, and saying what is wrong in one
 * line: the words every `not-understood` detail, UnexpectedReplyError and model-facing error
 * quote. Defined once so that they all read alike.
 */
import type { z } from 'zod';

/** The parts of a zod issue its description uses. */
interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** `path: message` per issue, joined by `; `; an issue about the value as a whole is named `whole`. */
export function describeIssues(issues: readonly Issue[], whole = '(content)'): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || whole}: ${issue.message}`).join('; ');
}

/** A schema that threw (a refine or transform), described as a failed check. */
export function schemaThrew(error: unknown, whole = '(content)'): string {
  return `${whole}: the schema threw: ${error instanceof Error ? error.message : String(error)}`;
}

/** Checks `value` against `schema`; the parsed value, or a readable list of what is wrong. */
export function check<V>(schema: z.ZodType<V>, value: unknown): { ok: true; value: V } | { ok: false; issues: string } {
  let parsed: ReturnType<z.ZodType<V>['safeParse']>;
  try {
    parsed = schema.safeParse(value);
  } catch (error) {
    return { ok: false, issues: schemaThrew(error) };
  }
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, issues: describeIssues(parsed.error.issues) };
}
