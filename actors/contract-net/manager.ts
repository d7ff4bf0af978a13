import { assign, enqueueActions, setup, spawnChild, type DoneActorEvent, type ErrorActorEvent } from 'xstate';
import { z } from 'zod';
import type { InboundEvents } from '../../src/acl/content-schemas.js';
import type { AclMessage } from '../../src/acl/message.js';
import { reply } from '../../src/agent/actions.js';
import { defineAgent, type AgentDefinition } from '../../src/agent/define-agent.js';
import { ConfigurationError } from '../../src/runtime/errors.js';
import type { MailboxOptions } from '../../src/runtime/mailbox.js';
import { contractNetInitiator, type ContractNetInput } from '../../src/protocols/contract-net-initiator.js';
import type { ContractNetOntology } from '../../src/protocols/contract-net-ontology.js';
import type { ContractNetOutcome } from '../../src/protocols/contract-net-outcome.js';

export interface ManagerOptions<T, P, R> extends Omit<ContractNetInput<T, P>, 'task' | 'host' | 'conversationId'> {
  readonly ontology: ContractNetOntology<T, P, R>;
  readonly name?: string;
  readonly mailbox?: MailboxOptions;
}

const CNET_PREFIX = 'cnet:';

/**
 * The contract-net initiator role as an agent: each `request` whose content is a task starts a
 * contract net (the initiator machine, spawned inside this agent, many at once) and is answered
 * `inform` with its ContractNetOutcome, or `failure` when the contract net fails. If the
 * manager stops or crashes, its running contract nets are cancelled and the requests answered
 * `failure` by the runtime.
 */
export function manager<T, P, R>(options: ManagerOptions<T, P, R>): AgentDefinition {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('invalid-agent', 'manager needs { ontology, participants, evaluate }');
  if (typeof options.ontology?.task?.safeParse !== 'function') throw new ConfigurationError('invalid-agent', 'manager: `ontology` must come from contractNetOntology({...})');
  if (typeof options.evaluate !== 'function') throw new ConfigurationError('invalid-agent', `manager(${options.ontology.name}): \`evaluate\` must be a function of the proposals`);
  const { ontology, name, mailbox, ...settings } = options;
  const content = { request: ontology.task as z.ZodType<T> } as const;
  const initiator = contractNetInitiator(ontology);
  type Done = DoneActorEvent<ContractNetOutcome<T, P, R>>;
  type Failed = ErrorActorEvent<unknown>;
  interface Context {
    /** The request each running contract net answers, by child id. */
    readonly requests: Readonly<Record<string, AclMessage>>;
  }
  const idOf = (request: AclMessage): string => `${CNET_PREFIX}${request.conversationId}:${request.replyWith ?? ''}`;
  const machine = setup({
    types: { context: {} as Context, events: {} as InboundEvents<typeof content> | Done | Failed },
    actors: { initiator },
  }).createMachine({
    id: 'manager',
    context: { requests: {} },
    on: {
      request: {
        actions: [
          assign(({ context, event }) => ({ requests: { ...context.requests, [idOf(event)]: event } })),
          spawnChild('initiator', { id: ({ event }) => idOf(event as AclMessage), input: ({ event }) => ({ ...settings, task: (event as AclMessage<'request', T>).content }) }),
        ],
      },
      'xstate.done.actor.*': {
        guard: ({ context, event }) => (event as Done).actorId in context.requests,
        actions: enqueueActions(({ context, event, enqueue }) => {
          const done = event as Done;
          const request = context.requests[done.actorId] as AclMessage;
          enqueue(reply('inform', done.output, { to: () => request }));
          const { [done.actorId]: _answered, ...rest } = context.requests;
          enqueue.assign({ requests: rest });
        }),
      },
      'xstate.error.actor.*': {
        guard: ({ context, event }) => (event as Failed).actorId in context.requests,
        actions: enqueueActions(({ context, event, enqueue }) => {
          const failed = event as Failed;
          const request = context.requests[failed.actorId] as AclMessage;
          const error = failed.error as { code?: unknown; message?: unknown } | undefined;
          const reason = typeof error?.code === 'string' ? error.code : 'contract-net-failed';
          enqueue(reply('failure', { reason, detail: typeof error?.message === 'string' ? error.message : String(failed.error) }, { to: () => request }));
          const { [failed.actorId]: _answered, ...rest } = context.requests;
          enqueue.assign({ requests: rest });
        }),
      },
    },
  });
  return defineAgent({ name: name ?? `manager(${ontology.name})`, machine, content, mailbox });
}
