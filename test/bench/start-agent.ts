/**
 * The agent of the worker-start scenario, written as a user would: its own module, importing
 * Troupe's public entry, with a content schema. A worker thread loads this module, and Troupe
 * with it, on its first start.
 */
import { setup } from 'xstate';
import { z } from 'zod';
import { defineAgent, reply, type InboundEvents } from '../../src/index.js';

const Echo = { request: z.object({ text: z.string() }) };

export const echo = defineAgent({
  name: 'echo',
  module: import.meta.url,
  content: Echo,
  machine: setup({ types: { events: {} as InboundEvents<typeof Echo> } }).createMachine({
    on: { request: { actions: reply('inform', ({ event }) => ({ text: event.content.text })) } },
  }),
});
