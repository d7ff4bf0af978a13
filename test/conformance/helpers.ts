/**
 * Test agents and small utilities shared by the conformance, supervision and chaos suites.
 * No sleeps: tests wait on latches, system events or fake timers.
 */
import { assign, fromCallback, fromPromise, setup } from 'xstate';
import { afterEach, vi } from 'vitest';
import { createSystem, defineAgent, reply, type AclMessage, type AgentDefinition, type Heartbeat, type MailboxOptions, type NodeSpec, type System } from '../../src/index.js';
import { EventLog } from '../support/event-log.js';

export { EventLog };
export { latch, type Latch } from '../support/latch.js';

/** What the test worker does with a `request` (content `{ op }`). */
export type Op = 'ok' | 'crash' | 'stop' | 'hang' | 'slow';

export interface WorkerHooks {
  /** Called on every start (entry of the machine); throwing here fails the start. */
  readonly onStart?: (input: unknown) => void;
  /** Called when an incarnation's actor stops (halt, stop, crash, final state). */
  readonly onStop?: () => void;
  /** Called when invoked work (op `hang` / `slow`) is aborted by its AbortSignal. */
  readonly onAbort?: () => void;
  /** Op `slow` finishes when this resolves. */
  readonly gate?: Promise<void>;
  readonly heartbeat?: Heartbeat;
  readonly mailbox?: MailboxOptions;
  readonly input?: unknown;
}

interface WorkerContext {
  count: number;
  input: unknown;
  pending: AclMessage | undefined;
}

function opOf(event: { content?: unknown }): Op {
  const content = event.content as { op?: Op } | undefined;
  return content?.op ?? 'ok';
}

/**
 * A worker agent. `request {op:'ok'}` increments a counter and answers `inform {count, input}`;
 * `crash` throws in an action; `stop` answers and reaches a final state (a normal exit);
 * `hang` enters a `busy` state whose invoked work never ends; `slow` is busy until `gate`.
 * A `tell('inform', {op})` does the same without an answer expected.
 */
export function worker(name = 'worker', hooks: WorkerHooks = {}): AgentDefinition {
  const machine = setup({
    types: { context: {} as WorkerContext, events: {} as AclMessage, input: {} as unknown },
    actors: {
      life: fromCallback(() => () => hooks.onStop?.()),
      work: fromPromise<void, { op: Op }>(
        ({ input, signal }) =>
          new Promise<void>((resolve) => {
            signal.addEventListener('abort', () => hooks.onAbort?.(), { once: true });
            if (input.op === 'slow') void (hooks.gate ?? Promise.resolve()).then(resolve);
          }),
      ),
    },
  }).createMachine({
    id: name,
    context: ({ input }) => ({ count: 0, input, pending: undefined }),
    entry: ({ context }) => hooks.onStart?.(context.input),
    invoke: { src: 'life' },
    initial: 'idle',
    states: {
      idle: {
        on: {
          request: [
            {
              guard: ({ event }) => opOf(event) === 'crash',
              actions: () => {
                throw new Error('boom');
              },
            },
            { guard: ({ event }) => opOf(event) === 'stop', target: 'done', actions: reply('inform', { stopping: true }) },
            { guard: ({ event }) => opOf(event) === 'hang' || opOf(event) === 'slow', target: 'working', actions: assign({ pending: ({ event }) => event }) },
            {
              actions: [assign({ count: ({ context }) => context.count + 1 }), reply('inform', ({ context }) => ({ count: context.count, input: context.input as never }))],
            },
          ],
          inform: [
            {
              guard: ({ event }) => opOf(event) === 'crash',
              actions: () => {
                throw new Error('boom');
              },
            },
            { guard: ({ event }) => opOf(event) === 'stop', target: 'done' },
            { guard: ({ event }) => opOf(event) === 'hang' || opOf(event) === 'slow', target: 'working' },
            { actions: assign({ count: ({ context }) => context.count + 1 }) },
          ],
        },
      },
      working: {
        tags: ['busy'],
        invoke: {
          src: 'work',
          input: ({ event }) => ({ op: opOf(event) }),
          onDone: [
            {
              guard: ({ context }) => context.pending !== undefined,
              target: 'idle',
              actions: [reply('inform', { done: true }, { to: ({ context }) => context.pending as AclMessage }), assign({ pending: undefined })],
            },
            { target: 'idle' },
          ],
        },
      },
      done: { type: 'final' },
    },
  });
  return defineAgent({ name, machine, heartbeat: hooks.heartbeat, mailbox: hooks.mailbox, input: hooks.input });
}

const systems: System[] = [];

/** Starts a system that is stopped after the test. */
export async function start(root: NodeSpec): Promise<{ system: System; log: EventLog }> {
  const system = await createSystem({ root });
  systems.push(system);
  return { system, log: new EventLog(system) };
}

/** Registers a system made elsewhere to be stopped after the test. */
export function tracked(system: System): System {
  systems.push(system);
  return system;
}

afterEach(async () => {
  const stopping = Promise.all(systems.splice(0).map((system) => system.stop()));
  if (vi.isFakeTimers()) {
    // shutdown deadlines were set on the fake clock: let it run (bounded) until every system is down
    let done = false;
    void stopping.then(() => (done = true));
    for (let step = 0; step < 600 && !done; step++) await vi.advanceTimersByTimeAsync(1_000);
  }
  vi.useRealTimers();
  await stopping;
});

/** Fake timers for deadlines; setImmediate (the scheduler) and microtasks stay real. */
export function useFakeDeadlines(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
}

/**
 * Waits until the supervisor at `path` has handled everything queued before this call
 * (exits and runtime calls are handled one at a time, in arrival order).
 */
export async function settled(system: System, path = '/'): Promise<void> {
  await system.deleteChild(path, 'no-such-child').catch(() => undefined);
}

export const op = (value: Op) => ({ op: value });
