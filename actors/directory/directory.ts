import { assign, enqueueActions, setup } from 'xstate';
import { z } from 'zod';
import type { InboundEvents } from '../../src/acl/content-schemas.js';
import type { AclMessage } from '../../src/acl/message.js';
import { reply } from '../../src/agent/actions.js';
import { defineAgent, type AgentDefinition } from '../../src/agent/define-agent.js';
import type { MailboxOptions } from '../../src/runtime/mailbox.js';
import type { ChildSpec, RestartType } from '../../src/runtime/tree.js';
import { DIRECTORY_PATH, DIRECTORY_PROTOCOL, DirectoryRequest, matches, ServiceQuery, type DirectoryEntry, type ServiceDescription } from '../../src/protocols/directory-protocol.js';
import { systemEvents, type LifecycleEvent } from '../../src/protocols/lifecycle.js';

const content = {
  request: DirectoryRequest,
  'query-ref': ServiceQuery,
  'query-if': ServiceQuery,
  subscribe: ServiceQuery,
  cancel: z.unknown(),
  'not-understood': z.unknown(),
} as const;

type Inbound = InboundEvents<typeof content>;

interface Registration {
  readonly services: readonly ServiceDescription[];
  /** False while the agent is down between a crash and its restart: hidden from searches. */
  readonly live: boolean;
}

interface Subscription {
  readonly message: AclMessage<'subscribe', ServiceQuery>;
  /** The last answer sent, to send an inform only when it changes. */
  readonly last: string;
}

interface Context {
  readonly registrations: Readonly<Record<string, Registration>>;
  readonly subscriptions: readonly Subscription[];
}

function search(registrations: Context['registrations'], query: ServiceQuery): DirectoryEntry[] {
  const found: DirectoryEntry[] = [];
  for (const [agent, registration] of Object.entries(registrations)) {
    if (!registration.live) continue;
    for (const service of registration.services) {
      const entry = { agent, service };
      if (matches(entry, query)) found.push(entry);
    }
  }
  return found;
}

function subscriberOf(message: AclMessage): string {
  return message.replyTo ?? message.sender;
}

const sameSubscription = (subscription: Subscription, event: AclMessage): boolean =>
  subscription.message.conversationId === event.conversationId && (subscriberOf(subscription.message) === event.sender || subscription.message.sender === event.sender);

/** Registration changes per request: the new table, or why the request is refused. */
function applyRequest(registrations: Context['registrations'], request: AclMessage<'request', DirectoryRequest>): Context['registrations'] {
  const body = request.content;
  const agent = body.agent ?? request.sender;
  if (body.action === 'register') {
    const existing = registrations[agent];
    const names = new Set(body.services.map((service) => service.name));
    const kept = (existing?.services ?? []).filter((service) => !names.has(service.name));
    return { ...registrations, [agent]: { services: [...kept, ...body.services], live: existing?.live ?? true } };
  }
  const existing = registrations[agent];
  if (existing === undefined) return registrations;
  const services = body.services === undefined ? [] : existing.services.filter((service) => !body.services?.includes(service.name));
  const { [agent]: _gone, ...rest } = registrations;
  return services.length === 0 ? rest : { ...rest, [agent]: { ...existing, services } };
}

/**
 * The directory facilitator (FIPA DF) as an agent, to be started at the well-known path `/df`
 * (see directoryChild). Agents `request` `{ action: 'register' | 'deregister', ... }`; anyone
 * searches with `query-ref` (answered `inform-ref` with the matching entries) or `query-if`
 * (`inform-if` `{ holds }`), or `subscribe`s with a query (answered `agree`, then an `inform`
 * with the matching entries now and on every change, until `cancel` or the subscriber stops).
 * It follows supervision: an agent's registrations are hidden while it is down after a crash,
 * shown again when it restarts, and dropped when it stops for good.
 */
export function directory(options: { readonly mailbox?: MailboxOptions } = {}): AgentDefinition {
  const machine = setup({
    types: { context: {} as Context, events: {} as Inbound | LifecycleEvent },
    actors: { systemEvents },
    actions: {
      // After a change: every subscription whose answer changed gets an `inform` with the new one.
      notify: enqueueActions(({ context, enqueue }) => {
        let changed = false;
        const subscriptions = context.subscriptions.map((subscription) => {
          const found = search(context.registrations, subscription.message.content);
          const now = JSON.stringify(found);
          if (now === subscription.last) return subscription;
          changed = true;
          enqueue(reply('inform', found, { to: () => subscription.message, protocol: DIRECTORY_PROTOCOL }));
          return { ...subscription, last: now };
        });
        if (changed) enqueue.assign({ subscriptions });
      }),
    },
  }).createMachine({
    id: 'directory',
    context: { registrations: {}, subscriptions: [] },
    invoke: { src: 'systemEvents' },
    on: {
      request: {
        actions: [
          assign(({ context, event }) => ({ registrations: applyRequest(context.registrations, event) })),
          reply('inform', ({ context, event }) => ({ agent: event.content.agent ?? event.sender, services: (context.registrations[event.content.agent ?? event.sender]?.services ?? []).map((service) => service.name) })),
          'notify',
        ],
      },
      'query-ref': { actions: reply('inform-ref', ({ context, event }) => search(context.registrations, event.content)) },
      'query-if': { actions: reply('inform-if', ({ context, event }) => ({ holds: search(context.registrations, event.content).length > 0 })) },
      subscribe: {
        actions: [
          reply('agree', undefined),
          enqueueActions(({ context, event, enqueue }) => {
            const found = search(context.registrations, event.content);
            enqueue(reply('inform', found, { to: () => event, protocol: DIRECTORY_PROTOCOL }));
            enqueue.assign({ subscriptions: [...context.subscriptions, { message: event, last: JSON.stringify(found) }] });
          }),
        ],
      },
      cancel: {
        guard: ({ context, event }) => context.subscriptions.some((subscription) => sameSubscription(subscription, event)),
        actions: [
          assign(({ context, event }) => ({ subscriptions: context.subscriptions.filter((subscription) => !sameSubscription(subscription, event)) })),
          enqueueActions(({ event, enqueue }) => {
            if (event.replyWith !== undefined) enqueue(reply('inform', { cancelled: true }));
          }),
        ],
      },
      // A subscription inform that reached a subscriber gone since (a closed conversation): drop it.
      'not-understood': {
        guard: ({ context, event }) => context.subscriptions.some((subscription) => sameSubscription(subscription, event)),
        actions: assign(({ context, event }) => ({ subscriptions: context.subscriptions.filter((subscription) => !sameSubscription(subscription, event)) })),
      },
      // Every agent's start and stop comes here: most change nothing the directory knows.
      'troupe.lifecycle': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const next = followLifecycle(context, event.event);
          if (next.subscriptions !== context.subscriptions || next.registrations !== undefined) enqueue.assign(next);
          if (next.registrations !== undefined) enqueue('notify');
        }),
      },
    },
  });
  return defineAgent({ name: 'directory', machine, content, mailbox: options.mailbox });
}

function followLifecycle(context: Context, event: LifecycleEvent['event']): Partial<Context> {
  const path = event.path;
  // A subscriber's incarnation that failed, stopped or was replaced (a restart) will never read another inform.
  const gone = (subscription: Subscription): boolean =>
    subscriberOf(subscription.message) === path && (event.type === 'failed' || event.type === 'stopped' || ((event.type === 'started' || event.type === 'restarted') && subscription.message.sender === path && subscription.message.senderIncarnation !== event.incarnation));
  const subscriptions = context.subscriptions.some(gone) ? context.subscriptions.filter((subscription) => !gone(subscription)) : context.subscriptions;
  const registration = context.registrations[path];
  if (registration === undefined) return { subscriptions };
  switch (event.type) {
    case 'failed':
      return { subscriptions, registrations: { ...context.registrations, [path]: { ...registration, live: false } } };
    case 'started':
    case 'restarted':
      return { subscriptions, registrations: { ...context.registrations, [path]: { ...registration, live: true } } };
    case 'stopped': {
      const { [path]: _gone, ...rest } = context.registrations;
      return { subscriptions, registrations: rest };
    }
    default:
      return { subscriptions };
  }
}

/** The directory as a root child at the well-known path `/df`. */
export function directoryChild(options: { readonly restart?: RestartType; readonly mailbox?: MailboxOptions } = {}): ChildSpec {
  if (DIRECTORY_PATH !== '/df') throw new Error('directoryChild assumes the well-known path /df');
  return { id: 'df', agent: directory({ mailbox: options.mailbox }), restart: options.restart ?? 'permanent' };
}
