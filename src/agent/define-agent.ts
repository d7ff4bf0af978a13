import type { AnyStateMachine } from 'xstate';
import type { ContentSchemas } from '../acl/content-schemas.js';
import { isPerformative } from '../acl/performatives.js';
import { ConfigurationError } from '../runtime/errors.js';
import { resolveMailboxOptions, type MailboxOptions } from '../runtime/mailbox.js';

/** Where an agent runs: on the main thread (`inline`, default) or on a worker thread of the system's pool. */
export type Placement = 'inline' | 'worker';

export interface Heartbeat {
  /** How often the supervisor reaches the child, ms. */
  readonly everyMs: number;
  /** How long the child may go without progress while it has work before it counts as hung, ms. */
  readonly timeoutMs: number;
}

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
  /**
   * The URL of the module that defines and exports this agent (`import.meta.url`): a worker
   * thread imports it to run the agent. Needed for `placement: 'worker'`.
   */
  readonly module?: string | URL;
  /** Default placement wherever it is supervised (a child spec may override); default `inline`. */
  readonly placement?: Placement;
}

export interface AgentDefinition<M extends AnyStateMachine = AnyStateMachine> {
  readonly kind: 'agent';
  readonly name: string;
  readonly machine: M;
  readonly content: ContentSchemas | undefined;
  readonly mailbox: Required<MailboxOptions>;
  readonly input: unknown;
  readonly heartbeat: Heartbeat | undefined;
  readonly module: string | undefined;
  readonly placement: Placement;
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
  const placement = options.placement ?? 'inline';
  if (placement !== 'inline' && placement !== 'worker') throw new ConfigurationError('invalid-agent', `defineAgent(${options.name}): placement must be 'inline' or 'worker', got ${String(placement)}`);
  const module = moduleUrl(options.name, options.module);
  if (placement === 'worker' && module === undefined) throw new ConfigurationError('invalid-agent', workerNeedsModule(options.name));
  return Object.freeze({
    kind: 'agent',
    name: options.name,
    machine: options.machine,
    content: options.content,
    mailbox: resolveMailboxOptions(options.mailbox),
    input: options.input,
    heartbeat: options.heartbeat,
    module,
    placement,
  });
}

/** The rule for agents on worker threads, said wherever it is broken. */
export function workerNeedsModule(name: string): string {
  return `agent ${JSON.stringify(name)} cannot run on a worker thread: a worker loads its definition by module URL. Define it with defineAgent({ name: ${JSON.stringify(name)}, module: import.meta.url, ... }) and export it from that module. The ready-made agents (llmAgent, contractor, manager, directory) run inline: their clients, limiters and lifecycle subscriptions live on the main thread`;
}

function moduleUrl(name: string, module: string | URL | undefined): string | undefined {
  if (module === undefined) return undefined;
  const text = module instanceof URL ? module.href : module;
  if (typeof text !== 'string' || !URL.canParse(text)) {
    throw new ConfigurationError('invalid-agent', `defineAgent(${name}): \`module\` must be the URL of the module that exports the agent (import.meta.url), got ${String(module)}`);
  }
  return text;
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
