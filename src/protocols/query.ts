import type { z } from 'zod';
import type { AclMessage } from '../acl/message.js';
import type { Performative } from '../acl/performatives.js';
import type { RequestOptions, System } from '../system/system.js';
import { UnexpectedReplyError } from '../system/system.js';

export type QueryOptions<R> = Omit<RequestOptions<R>, 'performative' | 'acceptAgree'>;

async function query<R>(system: System, path: string, content: unknown, asked: Performative, answer: Performative, options: QueryOptions<R>): Promise<AclMessage<Performative, R>> {
  const reply = await system.request<R>(path, content, { ...options, performative: asked });
  if (reply.performative !== answer) throw new UnexpectedReplyError(reply, `a ${asked} is answered ${answer}, not ${reply.performative}`);
  return reply;
}

/**
 * FIPA query-ref: asks the agent at `path` for the objects matching `content`; resolves with the
 * `inform-ref` answer (typed by `expect`). Rejects like `system.request` on `refuse`, `failure`,
 * `not-understood` or deadline, and with UnexpectedReplyError on any other answer.
 */
export function queryRef<R = unknown>(system: System, path: string, content: unknown, options: QueryOptions<R> = {}): Promise<AclMessage<Performative, R>> {
  return query(system, path, content, 'query-ref', 'inform-ref', options);
}

/**
 * FIPA query-if: asks the agent at `path` whether the proposition in `content` holds; resolves
 * with the `inform-if` answer (its content typed by `expect`, e.g. `z.object({ holds: z.boolean() })`).
 */
export function queryIf<R = unknown>(system: System, path: string, content: unknown, options: QueryOptions<R> & { readonly expect?: z.ZodType<R> } = {}): Promise<AclMessage<Performative, R>> {
  return query(system, path, content, 'query-if', 'inform-if', options);
}
