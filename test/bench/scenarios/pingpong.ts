/**
 * pingpong: two agents exchange request/reply pairs until `size` messages have been sent
 * (size / 2 round trips, counting both directions). Reports messages per second.
 */
import { dispatch, query, spawn, spawnStateless, type Ref } from 'nact';
import { assign, createActor, emit, sendParent, sendTo, setup } from 'xstate';
import { defineAgent, reply, tell, type AclMessage } from '../../../src/index.js';
import { now, perSecond } from '../measure.js';
import type { Bench, Sample, Scenario } from '../scenario.js';
import { nactSystem, stopNact, troupeSystem } from '../support.js';

export const roundTrips = (size: number): number => Math.floor(size / 2);

// ---- Troupe: the pinger tells `request`, the ponger replies `inform`, through the runtime ----

interface PingerContext {
  readonly count: number;
  readonly goal: number;
  /** The request that started the run, answered with the count when done. */
  readonly start: AclMessage | undefined;
}

export const troupePinger = defineAgent({
  name: 'pinger',
  machine: setup({ types: { context: {} as PingerContext, events: {} as AclMessage } }).createMachine({
    context: { count: 0, goal: 0, start: undefined },
    on: {
      request: { actions: [assign(({ event }) => ({ count: 0, goal: event.content as number, start: event })), tell('/ponger', 'request')] },
      inform: [
        { guard: ({ context }) => context.count + 1 < context.goal, actions: [assign({ count: ({ context }) => context.count + 1 }), tell('/ponger', 'request')] },
        { actions: [assign({ count: ({ context }) => context.count + 1 }), reply('inform', ({ context }) => context.count, { to: ({ context }) => context.start as AclMessage })] },
      ],
    },
  }),
});

export const troupePonger = defineAgent({
  name: 'ponger',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: reply('inform') } } }),
});

async function troupe(size: number): Promise<Bench> {
  const system = await troupeSystem([
    { id: 'pinger', agent: troupePinger },
    { id: 'ponger', agent: troupePonger },
  ]);
  return {
    async sample(): Promise<Sample> {
      const started = now();
      const answer = await system.request('/pinger', roundTrips(size), { timeoutMs: Number.POSITIVE_INFINITY });
      return { value: perSecond(size, now() - started), work: 2 * (answer.content as number) };
    },
    close: () => system.stop(),
  };
}

// ---- XState: the pinger spawns the ponger; sendTo one way, sendParent back ----

const xstatePonger = setup({ types: { events: {} as { type: 'ping' } } }).createMachine({
  on: { ping: { actions: sendParent({ type: 'pong' }) } },
});

const xstatePinger = setup({
  types: {
    context: {} as { count: number; goal: number },
    events: {} as { type: 'go'; goal: number } | { type: 'pong' },
    emitted: {} as { type: 'done'; count: number },
  },
  actors: { ponger: xstatePonger },
}).createMachine({
  context: { count: 0, goal: 0 },
  invoke: { id: 'ponger', src: 'ponger' },
  on: {
    go: { actions: [assign(({ event }) => ({ count: 0, goal: event.goal })), sendTo('ponger', { type: 'ping' })] },
    pong: [
      { guard: ({ context }) => context.count + 1 < context.goal, actions: [assign({ count: ({ context }) => context.count + 1 }), sendTo('ponger', { type: 'ping' })] },
      { actions: [assign({ count: ({ context }) => context.count + 1 }), emit(({ context }) => ({ type: 'done' as const, count: context.count }))] },
    ],
  },
});

async function xstate(size: number): Promise<Bench> {
  const pinger = createActor(xstatePinger).start();
  return {
    async sample(): Promise<Sample> {
      const started = now();
      const done = new Promise<number>((resolve) => {
        const subscription = pinger.on('done', (event) => {
          subscription.unsubscribe();
          resolve(event.count);
        });
      });
      pinger.send({ type: 'go', goal: roundTrips(size) });
      const count = await done;
      return { value: perSecond(size, now() - started), work: 2 * count };
    },
    close: async () => void pinger.stop(),
  };
}

// ---- nact: a stateful pinger and a stateless ponger that answers whoever pinged ----

type PongerMessage = { readonly from: Ref<PingerMessage> };
type PingerMessage = { readonly type: 'go'; readonly goal: number; readonly replyTo: Ref<number> } | { readonly type: 'pong' };
interface PingerState {
  readonly count: number;
  readonly goal: number;
  readonly replyTo: Ref<number> | undefined;
}

async function nact(size: number): Promise<Bench> {
  const system = nactSystem();
  const ponger = spawnStateless(system, (msg: PongerMessage) => dispatch(msg.from, { type: 'pong' }), 'ponger');
  const pinger = spawn(
    system,
    (state: PingerState, msg: PingerMessage, ctx): PingerState => {
      if (msg.type === 'go') {
        dispatch(ponger, { from: ctx.self });
        return { count: 0, goal: msg.goal, replyTo: msg.replyTo };
      }
      const count = state.count + 1;
      if (count < state.goal) dispatch(ponger, { from: ctx.self });
      else if (state.replyTo !== undefined) dispatch(state.replyTo, count);
      return { count, goal: state.goal, replyTo: state.replyTo };
    },
    'pinger',
    { initialState: { count: 0, goal: 0, replyTo: undefined } },
  );
  return {
    async sample(): Promise<Sample> {
      const started = now();
      const count = await query(pinger, (replyTo: Ref<number>): PingerMessage => ({ type: 'go', goal: roundTrips(size), replyTo }), 600_000);
      return { value: perSecond(size, now() - started), work: 2 * count };
    },
    close: async () => stopNact(system),
  };
}

export const pingpong: Scenario = {
  name: 'pingpong',
  unit: 'msg/s',
  higherIsBetter: true,
  describe: (size) => `${size.toLocaleString('en-US')} messages (${roundTrips(size).toLocaleString('en-US')} request/reply round trips)`,
  size: 200_000,
  quickSize: 200,
  warmups: 2,
  repetitions: 5,
  expectedWork: (size) => 2 * roundTrips(size),
  implementations: { troupe, xstate, nact },
};
