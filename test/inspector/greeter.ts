/**
 * The inspected greeter, in a module without test-runner imports: a worker thread imports
 * it to run the same machine there.
 */
import { assign, setup } from 'xstate';
import { defineAgent, reply, type AclMessage } from '../../src/index.js';

/** Answers `request` with a greeting; flips between `idle` and `warm` on each one; keeps secrets in its context. */
export const greeter = defineAgent({
  name: 'greeter',
  machine: setup({ types: { context: {} as { greeted: number; apiKey: string; auth: { user: string; password: string } }, events: {} as AclMessage } }).createMachine({
    id: 'greeter',
    context: { greeted: 0, apiKey: 'sk-secret', auth: { user: 'ada', password: 'hunter2' } },
    initial: 'idle',
    states: {
      idle: { on: { request: { target: 'warm', actions: [assign({ greeted: ({ context }) => context.greeted + 1 }), reply('inform', ({ event }) => ({ text: `Hello, ${String((event.content as { name?: unknown }).name)}` }))] } } },
      warm: { on: { request: { target: 'idle', actions: [assign({ greeted: ({ context }) => context.greeted + 1 }), reply('inform', ({ event }) => ({ text: `Hello again, ${String((event.content as { name?: unknown }).name)}` }))] } } },
    },
    on: { inform: { actions: assign({ greeted: ({ context }) => context.greeted + 100 }) } },
  }),
});

/** The greeter's machine on a worker thread (its own name: a module exports one definition per name). */
export const workerGreeter = defineAgent({ ...greeter, name: 'greeter-on-worker', module: import.meta.url, placement: 'worker' });
