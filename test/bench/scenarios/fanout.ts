/**
 * fanout: one coordinator asks `size` workers and waits for every answer, in milliseconds
 * per round (each sample is the mean of ROUNDS rounds, which steadies a ~100 ms measurement
 * against GC pauses). The workers are started once, before the first round.
 *
 * Troupe's coordinator mailbox holds `size` messages (all answers can arrive before it gets
 * a turn); the workers keep the default mailbox.
 */
import { dispatch, query, spawn, spawnStateless, type Ref } from 'nact';
import { assign, createActor, emit, enqueueActions, sendTo, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import { defineAgent, reply, supervisor, tell, type AclMessage } from '../../../src/index.js';
import { now } from '../measure.js';
import type { Bench, Sample, Scenario } from '../scenario.js';
import { ids, nactSystem, stopNact, troupeSystem } from '../support.js';

const ROUNDS = 5;

/** Runs `round` ROUNDS times; the mean time per round, and the answers of the last round. */
async function rounds(round: () => Promise<number>): Promise<Sample> {
  const started = now();
  let work = 0;
  for (let i = 0; i < ROUNDS; i++) work = await round();
  return { value: (now() - started) / ROUNDS, work };
}

// ---- Troupe: the coordinator tells each worker `request`; workers reply `inform` ----

interface CoordinatorContext {
  readonly workers: readonly string[];
  readonly received: number;
  readonly start: AclMessage | undefined;
}

function troupeCoordinator(workers: readonly string[]) {
  return defineAgent({
    name: 'coordinator',
    mailbox: { capacity: workers.length + 16 },
    input: workers,
    machine: setup({ types: { context: {} as CoordinatorContext, events: {} as AclMessage, input: {} as readonly string[] } }).createMachine({
      context: ({ input }) => ({ workers: input, received: 0, start: undefined }),
      on: {
        request: {
          actions: [
            assign(({ event }) => ({ received: 0, start: event })),
            enqueueActions(({ context, enqueue }) => {
              for (const path of context.workers) enqueue(tell(path, 'request'));
            }),
          ],
        },
        inform: [
          { guard: ({ context }) => context.received + 1 < context.workers.length, actions: assign({ received: ({ context }) => context.received + 1 }) },
          { actions: [assign({ received: ({ context }) => context.received + 1 }), reply('inform', ({ context }) => context.received, { to: ({ context }) => context.start as AclMessage })] },
        ],
      },
    }),
  });
}

const troupeWorker = defineAgent({
  name: 'worker',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: reply('inform') } } }),
});

async function troupe(size: number): Promise<Bench> {
  const workerIds = ids(size);
  const system = await troupeSystem([
    { id: 'workers', agent: supervisor({ children: workerIds.map((id) => ({ id, agent: troupeWorker })) }) },
    { id: 'coordinator', agent: troupeCoordinator(workerIds.map((id) => `/workers/${id}`)) },
  ]);
  return {
    sample: () => rounds(async () => (await system.request('/coordinator', undefined, { timeoutMs: Number.POSITIVE_INFINITY })).content as number),
    close: () => system.stop(),
  };
}

// ---- XState: standalone worker actors; the coordinator sendTo's each with its own ref ----

// Workers are standalone actors rather than children spawned by the coordinator: stopping a
// parent with 10,000 spawned children takes XState 5.33 several seconds (quadratic), and
// standalone actors are also faster to create.
const xstateWorker = setup({ types: { events: {} as { type: 'ping'; from: AnyActorRef } } }).createMachine({
  on: { ping: { actions: sendTo(({ event }) => event.from, { type: 'pong' }) } },
});

type XstateWorkerRef = ActorRefFrom<typeof xstateWorker>;

const xstateCoordinator = setup({
  types: {
    context: {} as { workers: readonly XstateWorkerRef[]; received: number },
    events: {} as { type: 'go' } | { type: 'pong' },
    input: {} as { workers: readonly XstateWorkerRef[] },
    emitted: {} as { type: 'done'; received: number },
  },
}).createMachine({
  context: ({ input }) => ({ workers: input.workers, received: 0 }),
  on: {
    go: {
      actions: [
        assign({ received: 0 }),
        enqueueActions(({ context, enqueue, self }) => {
          for (const worker of context.workers) enqueue.sendTo(worker, { type: 'ping', from: self });
        }),
      ],
    },
    pong: [
      { guard: ({ context }) => context.received + 1 < context.workers.length, actions: assign({ received: ({ context }) => context.received + 1 }) },
      { actions: [assign({ received: ({ context }) => context.received + 1 }), emit(({ context }) => ({ type: 'done' as const, received: context.received }))] },
    ],
  },
});

async function xstate(size: number): Promise<Bench> {
  const workers = Array.from({ length: size }, () => createActor(xstateWorker).start());
  const coordinator = createActor(xstateCoordinator, { input: { workers } }).start();
  return {
    sample: () =>
      rounds(() => {
        const done = new Promise<number>((resolve) => {
          const subscription = coordinator.on('done', (event) => {
            subscription.unsubscribe();
            resolve(event.received);
          });
        });
        coordinator.send({ type: 'go' });
        return done;
      }),
    close: async () => {
      coordinator.stop();
      for (const worker of workers) worker.stop();
    },
  };
}

// ---- nact: stateless workers under the system; the coordinator dispatches to each ----

type WorkerMessage = { readonly from: Ref<CoordinatorMessage> };
type CoordinatorMessage = { readonly type: 'go'; readonly replyTo: Ref<number> } | { readonly type: 'pong' };
interface NactCoordinatorState {
  readonly received: number;
  readonly replyTo: Ref<number> | undefined;
}

async function nact(size: number): Promise<Bench> {
  const system = nactSystem();
  const workers = ids(size).map((id) => spawnStateless(system, (msg: WorkerMessage) => dispatch(msg.from, { type: 'pong' }), id));
  const coordinator = spawn(
    system,
    (state: NactCoordinatorState, msg: CoordinatorMessage, ctx): NactCoordinatorState => {
      if (msg.type === 'go') {
        for (const worker of workers) dispatch(worker, { from: ctx.self });
        return { received: 0, replyTo: msg.replyTo };
      }
      const received = state.received + 1;
      if (received === workers.length && state.replyTo !== undefined) dispatch(state.replyTo, received);
      return { received, replyTo: state.replyTo };
    },
    'coordinator',
    { initialState: { received: 0, replyTo: undefined } },
  );
  return {
    sample: () => rounds(() => query(coordinator, (replyTo: Ref<number>): CoordinatorMessage => ({ type: 'go', replyTo }), 600_000)),
    close: async () => stopNact(system),
  };
}

export const fanout: Scenario = {
  name: 'fanout',
  unit: 'ms/round',
  higherIsBetter: false,
  describe: (size) => `mean of ${ROUNDS} rounds per sample; one agent asks ${size.toLocaleString('en-US')} agents and waits for all answers (Troupe coordinator mailbox: ${(size + 16).toLocaleString('en-US')})`,
  size: 10_000,
  quickSize: 50,
  warmups: 1,
  repetitions: 5,
  expectedWork: (size) => size,
  implementations: { troupe, xstate, nact },
};
