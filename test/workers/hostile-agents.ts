/**
 * Agents for the hostile-thread tests. `hostile` runs on a worker thread and, asked to,
 * posts raw messages straight to its thread's parent port, past the kernel on the thread:
 * what any agent code can do. Each is exported and carries `module: import.meta.url`.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { Content } from '../../src/agent/actions.js';
import { defineAgent, reply, tell, type AclMessage, type InboundEvents } from '../../src/index.js';

/**
 * What cannot be sent as plain content is made on the thread: `{ $make: 'string', length, prefix }`
 * is a string of that many characters (after the prefix), `{ $make: 'map' }` a Map.
 */
function made(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(made);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (record.$make === 'string') return `${(record.prefix as string | undefined) ?? ''}${'x'.repeat(record.length as number)}`;
  if (record.$make === 'map') return new Map([['a', 1]]);
  return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, made(item)]));
}

const orders = { request: z.object({ op: z.enum(['echo', 'post', 'throw']), post: z.array(z.unknown()).optional() }) };

/** Echoes its thread, or posts `post` (each item made, see `made`) to its parent port and then answers `inform`, or throws a plain object (`throw`). */
export const hostile = defineAgent({
  name: 'hostile',
  module: import.meta.url,
  placement: 'worker',
  content: orders,
  machine: setup({ types: { events: {} as InboundEvents<typeof orders> } }).createMachine({
    on: {
      request: {
        actions: [
          ({ event }) => {
            // Agent code may throw any value, not only an Error.
            if (event.content.op === 'throw') throw { code: 7 };
            for (const raw of event.content.post ?? []) parentPort?.postMessage(made(raw));
          },
          reply('inform', () => ({ thread: threadId })),
        ],
      },
    },
  }),
});

const mateOrders = { request: z.object({ op: z.enum(['echo', 'hold']) }) };

/** A worker agent that echoes its thread, or accepts a request and holds it unanswered (`hold`). */
export const mate = defineAgent({
  name: 'mate',
  module: import.meta.url,
  placement: 'worker',
  content: mateOrders,
  machine: setup({ types: { events: {} as InboundEvents<typeof mateOrders> } }).createMachine({
    initial: 'idle',
    on: { request: { guard: ({ event }) => event.content.op === 'echo', actions: reply('inform', () => ({ thread: threadId })) } },
    states: { idle: { on: { request: { guard: ({ event }) => event.content.op === 'hold', target: 'holding' } } }, holding: {} },
  }),
});

/** Inline: keeps every message it receives (sender, performative, content); answers `query-ref` with them. */
export const recorder = defineAgent({
  name: 'recorder',
  machine: setup({ types: { events: {} as AclMessage, context: {} as { received: { sender: string; performative: string; content: unknown }[] } } }).createMachine({
    context: { received: [] },
    on: {
      'query-ref': { actions: reply('inform', ({ context }) => ({ received: context.received })) },
      '*': { actions: assign({ received: ({ context, event }) => [...context.received, { sender: event.sender, performative: event.performative, content: event.content }] }) },
    },
  }),
});

/** Inline: holds a request until told (`inform { release: true }`) to answer it, with `{ genuine: true }`. */
export const keeper = defineAgent({
  name: 'keeper',
  machine: setup({ types: { events: {} as AclMessage, context: {} as { held: AclMessage | undefined } } }).createMachine({
    context: { held: undefined },
    on: {
      request: { actions: assign({ held: ({ event }) => event }) },
      inform: { actions: reply('inform', { genuine: true }, { to: ({ context }) => context.held as AclMessage }) },
    },
  }),
});

const forwardOrders = { request: z.object({ to: z.string(), content: z.unknown() }) };

/** A worker agent that forwards a request to `to`, handing over its asker: the answer goes straight to whoever asked. */
export const forwarder = defineAgent({
  name: 'forwarder',
  module: import.meta.url,
  placement: 'worker',
  content: forwardOrders,
  machine: setup({ types: { events: {} as InboundEvents<typeof forwardOrders> } }).createMachine({
    on: {
      request: {
        actions: tell(
          ({ event }) => event.content.to,
          'request',
          ({ event }) => event.content.content as Content,
          ({ event }) => ({ conversationId: event.conversationId, replyWith: event.replyWith, replyTo: event.replyTo ?? event.sender }),
        ),
      },
    },
  }),
});
