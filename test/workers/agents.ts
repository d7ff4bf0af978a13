/**
 * Agents for the worker-placement tests. Each is exported and carries `module:
 * import.meta.url`, the rule for an agent a worker thread must load.
 */
import { threadId } from 'node:worker_threads';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { ask, defineAgent, reply, tell, type AclMessage, type InboundEvents } from '../../src/index.js';

/** Spins the CPU for about `ms` milliseconds and returns a number that depends on every step. */
export function spin(ms: number): number {
  const until = performance.now() + ms;
  let x = 0;
  while (performance.now() < until) for (let i = 0; i < 1_000; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

const work = { request: z.object({ op: z.enum(['echo', 'spin', 'throw', 'exit', 'oom', 'loop', 'loop-later', 'throw-later']), ms: z.number().optional(), text: z.string().optional() }) };

function perform(content: z.infer<typeof work.request>): { thread: number; text?: string; result?: number } {
  switch (content.op) {
    case 'echo':
      return { thread: threadId, text: content.text };
    case 'spin':
      return { thread: threadId, result: spin(content.ms ?? 10) };
    case 'throw':
      throw new Error('the worker agent threw on purpose');
    case 'exit':
      process.exit(3);
      break;
    case 'oom': {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array<number>(1_000_000).fill(1));
    }
    case 'loop':
    case 'loop-later':
      for (;;) spin(1_000);
    case 'throw-later':
      setTimeout(() => {
        throw new Error('an uncaught exception on the worker thread');
      }, 0);
      return { thread: threadId };
  }
}

/** Does what its request says; answers with the thread it ran on. */
export const worker = defineAgent({
  name: 'worker',
  module: import.meta.url,
  placement: 'worker',
  content: work,
  machine: setup({ types: { events: {} as InboundEvents<typeof work> | AclMessage<'query-ref'>, context: {} as { handled: number } } }).createMachine({
    context: { handled: 0 },
    on: {
      request: [
        // `agree`, then an endless loop in a microtask: the agree (XState emits after the transition's own
        // actions) has left the thread by then, and no later message can get in first.
        { guard: ({ event }) => event.content.op === 'loop-later', actions: [reply('agree'), () => queueMicrotask(() => perform({ op: 'loop' }))] },
        { actions: [assign({ handled: ({ context }) => context.handled + 1 }), reply('inform', ({ event, context }) => ({ ...perform(event.content), handled: context.handled }))] },
      ],
      'query-ref': { actions: reply('inform', ({ context }) => ({ handled: context.handled, thread: threadId })) },
    },
  }),
});

/** Asks the agent at `content.to` and answers with what it said, from a worker thread. */
export const relay = defineAgent({
  name: 'relay',
  module: import.meta.url,
  placement: 'worker',
  machine: setup({ types: { context: {} as { pending: AclMessage | undefined }, events: {} as AclMessage }, actors: { ask } }).createMachine({
    context: { pending: undefined },
    initial: 'idle',
    states: {
      idle: { on: { request: { target: 'asking', actions: assign({ pending: ({ event }) => event }) } } },
      asking: {
        invoke: {
          src: 'ask',
          input: ({ context }) => ({ to: (context.pending?.content as { to: string }).to, content: (context.pending?.content as { content: unknown }).content, timeoutMs: 5_000 }),
          onDone: { target: 'idle', actions: reply('inform', ({ event }) => ({ relayed: (event.output as AclMessage).content, thread: threadId }), { to: ({ context }) => context.pending as AclMessage }) },
          onError: { target: 'idle', actions: reply('failure', ({ event }) => ({ reason: 'relay-failed', detail: String(event.error) }), { to: ({ context }) => context.pending as AclMessage }) },
        },
      },
    },
  }),
});

/** An inline agent the worker agents can ask. */
export const greeter = defineAgent({
  name: 'greeter',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: reply('inform', ({ event }) => ({ hello: event.content, thread: threadId })) } } }),
});

/** Accepts a request and holds it unanswered (not busy: a stop does not wait for it). */
export const holder = defineAgent({
  name: 'holder',
  module: import.meta.url,
  placement: 'worker',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({ initial: 'idle', states: { idle: { on: { request: 'holding' } }, holding: {} } }),
});

/** Inline: sends a request to `content.to` with answers to its own mailbox, and keeps every answer. */
export const collector = defineAgent({
  name: 'collector',
  machine: setup({ types: { events: {} as AclMessage, context: {} as { answers: { performative: string; inReplyTo: string | undefined }[] } } }).createMachine({
    context: { answers: [] },
    on: {
      inform: [
        { guard: ({ event }) => event.inReplyTo !== undefined, actions: assign({ answers: ({ context, event }) => [...context.answers, { performative: event.performative, inReplyTo: event.inReplyTo }] }) },
        { actions: tell(({ event }) => (event.content as { to: string }).to, 'request', {}, { replyWith: 'held' }) },
      ],
      failure: { actions: assign({ answers: ({ context, event }) => [...context.answers, { performative: event.performative, inReplyTo: event.inReplyTo }] }) },
    },
  }),
});

/** Answers with the URL its thread loaded this module from (the source, or its compiled twin) and the Troupe it imports there. */
export const locator = defineAgent({
  name: 'locator',
  module: import.meta.url,
  placement: 'worker',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: reply('inform', () => ({ module: import.meta.url, troupe: import.meta.resolve('../../src/index.js'), thread: threadId })) } } }),
});
