/**
 * The same small agent in each framework, for spawn and heap-per-agent: it counts `inform`s
 * (XState `inc`) and, in Troupe, answers a `request` with the count. Idle while measured.
 */
import { assign, setup } from 'xstate';
import { defineAgent, reply, type AclMessage } from '../../../src/index.js';

export const troupeAgent = defineAgent({
  name: 'agent',
  machine: setup({ types: { context: {} as { count: number }, events: {} as AclMessage } }).createMachine({
    context: { count: 0 },
    on: {
      inform: { actions: assign({ count: ({ context }) => context.count + 1 }) },
      request: { actions: reply('inform', ({ context }) => context.count) },
    },
  }),
});

export const xstateAgent = setup({ types: { context: {} as { count: number }, events: {} as { type: 'inc' } } }).createMachine({
  context: { count: 0 },
  on: { inc: { actions: assign({ count: ({ context }) => context.count + 1 }) } },
});

export function nactAgent(count: number, _msg: { readonly type: 'inc' }): number {
  return count + 1;
}

