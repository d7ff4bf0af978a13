import type { z } from 'zod';
import type { AclMessage } from './message.js';
import type { Performative } from './performatives.js';
import { describeIssues, schemaThrew } from './schema-check.js';

/** Zod schemas for inbound content, one per performative the agent accepts. */
export type ContentSchemas = { readonly [P in Performative]?: z.ZodType };

/** The content type an agent receives for performative P. */
export type ContentOf<S extends ContentSchemas, P extends Performative> = S[P] extends z.ZodType ? z.output<S[P]> : unknown;

/**
 * The XState events an agent with these schemas receives: one ACL message type per
 * performative with typed content. Use it in `setup({ types: { events: {} as InboundEvents<typeof schemas> } })`.
 */
export type InboundEvents<S extends ContentSchemas> = {
  [P in keyof S & Performative]: AclMessage<P, ContentOf<S, P>>;
}[keyof S & Performative];

export interface ValidationOutcome {
  readonly ok: boolean;
  readonly content: unknown;
  readonly issues: string;
}

/** Checks inbound content against the schema for its performative, if there is one. */
export function validateContent(schemas: ContentSchemas | undefined, message: AclMessage): ValidationOutcome {
  const schema = schemas?.[message.performative];
  if (schema === undefined) return { ok: true, content: message.content, issues: '' };
  let parsed: ReturnType<z.ZodType['safeParse']>;
  try {
    parsed = schema.safeParse(message.content);
  } catch (error) {
    // A refine or transform that throws is a failed check too, never an exception in the scheduler.
    return { ok: false, content: message.content, issues: schemaThrew(error) };
  }
  if (parsed.success) return { ok: true, content: parsed.data, issues: '' };
  return { ok: false, content: message.content, issues: describeIssues(parsed.error.issues) };
}
