import type { AnyStateMachine } from 'xstate';
import type { ContentSchemas } from '../acl/content-schemas.js';
import { isPerformative } from '../acl/performatives.js';
import { ConfigurationError } from '../runtime/errors.js';
import { resolveMailboxOptions, type MailboxOptions } from '../runtime/mailbox.js';
import type { Heartbeat } from '../runtime/tree.js';

export interface AgentOptions<M extends AnyStateMachine> {
  /** A name for logs and the inspector; the agent's address comes from its place in the tree. */
  readonly name: string;
  /** A plain XState v5 machine; ACL messages arrive as events whose type is the performative. */
  readonly machine: M;
  /** Zod schemas for inbound content, per performative; content that fails is answered `not-understood`. */
  readonly content?: ContentSchemas;
  readonly mailbox?: MailboxOptions;
  /** Input given to the machine at every start. */
  readonly input?: unknown;
  /** Default liveness checks for this agent wherever it is supervised (a child spec may override). */
  readonly heartbeat?: Heartbeat;
}

export interface AgentDefinition<M extends AnyStateMachine = AnyStateMachine> {
  readonly kind: 'agent';
  readonly name: string;
  readonly machine: M;
  readonly content: ContentSchemas | undefined;
  readonly mailbox: Required<MailboxOptions>;
  readonly input: unknown;
  readonly heartbeat: Heartbeat | undefined;
}

/** Checks an agent's options once, up front, and freezes them into a definition. */
export function defineAgent<M extends AnyStateMachine>(options: AgentOptions<M>): AgentDefinition<M> {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('invalid-agent', 'defineAgent needs an options object');
  if (typeof options.name !== 'string' || options.name.length === 0) {
    throw new ConfigurationError('invalid-agent', 'defineAgent: `name` must be a non-empty string');
  }
  if (!isMachine(options.machine)) {
    throw new ConfigurationError('invalid-agent', `defineAgent(${options.name}): \`machine\` must be an XState v5 machine (from createMachine or setup().createMachine)`);
  }
  checkSchemas(options.name, options.content);
  return Object.freeze({
    kind: 'agent',
    name: options.name,
    machine: options.machine,
    content: options.content,
    mailbox: resolveMailboxOptions(options.mailbox),
    input: options.input,
    heartbeat: options.heartbeat,
  });
}

function isMachine(value: unknown): value is AnyStateMachine {
  return typeof value === 'object' && value !== null && typeof (value as AnyStateMachine).getInitialSnapshot === 'function' && typeof (value as AnyStateMachine).transition === 'function' && 'root' in value;
}

function checkSchemas(name: string, schemas: ContentSchemas | undefined): void {
  if (schemas === undefined) return;
  for (const [key, schema] of Object.entries(schemas)) {
    if (!isPerformative(key)) throw new ConfigurationError('invalid-agent', `defineAgent(${name}): content key ${JSON.stringify(key)} is not a FIPA performative`);
    if (typeof (schema as { safeParse?: unknown } | undefined)?.safeParse !== 'function') {
      throw new ConfigurationError('invalid-agent', `defineAgent(${name}): content.${key} must be a zod schema`);
    }
  }
}
