/**
 * throughput: `size` one-way messages sent from outside to one agent, timed until the
 * agent has handled them all. Reports messages per second.
 *
 * Troupe's mailbox here is unbounded (capacity Infinity): the default 1,000 with `reject`
 * would refuse most of a burst, and XState's and nact's mailboxes are unbounded too.
 */
import { dispatch, query, spawn, type Ref } from 'nact';
import { assign, createActor, setup } from 'xstate';
import { defineAgent, reply, type AclMessage } from '../../../src/index.js';
import { now, perSecond } from '../measure.js';
import type { Bench, Sample, Scenario } from '../scenario.js';
import { nactSystem, stopNact, troupeSystem } from '../support.js';

// ---- Troupe: system.tell per message, then a query-ref answered after the burst (FIFO) ----

const troupeCounter = defineAgent({
  name: 'counter',
  mailbox: { capacity: Number.POSITIVE_INFINITY },
  machine: setup({ types: { context: {} as { count: number }, events: {} as AclMessage } }).createMachine({
    context: { count: 0 },
    on: {
      inform: { actions: assign({ count: ({ context }) => context.count + 1 }) },
      // Answers the count so far and starts counting again for the next repetition.
      'query-ref': { actions: [reply('inform', ({ context }) => context.count), assign({ count: 0 })] },
    },
  }),
});

async function troupe(size: number): Promise<Bench> {
  const system = await troupeSystem([{ id: 'counter', agent: troupeCounter }]);
  return {
    async sample(): Promise<Sample> {
      const started = now();
      for (let i = 0; i < size; i++) void system.tell('/counter', 'inform', i);
      const answer = await system.request('/counter', undefined, { performative: 'query-ref', timeoutMs: Number.POSITIVE_INFINITY });
      return { value: perSecond(size, now() - started), work: answer.content as number };
    },
    close: () => system.stop(),
  };
}

// ---- XState: actor.send per message; XState handles each event synchronously ----

const xstateCounter = setup({ types: { context: {} as { count: number }, events: {} as { type: 'inc'; n: number } | { type: 'reset' } } }).createMachine({
  context: { count: 0 },
  on: {
    inc: { actions: assign({ count: ({ context }) => context.count + 1 }) },
    reset: { actions: assign({ count: 0 }) },
  },
});

async function xstate(size: number): Promise<Bench> {
  const counter = createActor(xstateCounter).start();
  return {
    async sample(): Promise<Sample> {
      counter.send({ type: 'reset' });
      const started = now();
      for (let i = 0; i < size; i++) counter.send({ type: 'inc', n: i });
      const count = counter.getSnapshot().context.count;
      return { value: perSecond(size, now() - started), work: count };
    },
    close: async () => void counter.stop(),
  };
}

// ---- nact: dispatch per message, then a query answered after the burst (FIFO) ----

type CounterMessage = { readonly type: 'inc'; readonly n: number } | { readonly type: 'get'; readonly replyTo: Ref<number> };

async function nact(size: number): Promise<Bench> {
  const system = nactSystem();
  const counter = spawn(
    system,
    (count: number, msg: CounterMessage): number => {
      if (msg.type === 'inc') return count + 1;
      dispatch(msg.replyTo, count);
      return 0;
    },
    'counter',
    { initialState: 0 },
  );
  return {
    async sample(): Promise<Sample> {
      const started = now();
      for (let i = 0; i < size; i++) dispatch(counter, { type: 'inc', n: i });
      const count = await query(counter, (replyTo: Ref<number>): CounterMessage => ({ type: 'get', replyTo }), 600_000);
      return { value: perSecond(size, now() - started), work: count };
    },
    close: async () => stopNact(system),
  };
}

export const throughput: Scenario = {
  name: 'throughput',
  unit: 'msg/s',
  higherIsBetter: true,
  describe: (size) => `${size.toLocaleString('en-US')} one-way messages to one agent (Troupe mailbox: capacity Infinity)`,
  size: 1_000_000,
  quickSize: 500,
  warmups: 1,
  repetitions: 5,
  expectedWork: (size) => size,
  implementations: { troupe, xstate, nact },
};
