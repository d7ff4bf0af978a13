/**
 * Small shared pieces for the kernel tests: latches, an event recorder, a tracked
 * createSystem (every system started here is stopped after each test) and a few agents.
 * No sleeps: tests wait on latches, promises, system events or fake timers.
 */
import { afterEach, vi } from 'vitest';
import { assign, setup } from 'xstate';
import { createSystem, defineAgent, reply, supervisor, type AclMessage, type AgentDefinition, type ChildSpec, type MailboxOptions, type System, type SystemOptions } from '../../src/index.js';

export { EventLog } from '../support/event-log.js';
export { latch, type Latch } from '../support/latch.js';

const running: System[] = [];

/** Registers a system to be stopped after the test (in addition to the test's own stop). */
export function track(system: System): System {
  running.push(system);
  return system;
}

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await Promise.all(running.splice(0).map((system) => system.stop()));
});

/** A root supervisor with these children, generous restart intensity. */
export function rootOf(children: readonly ChildSpec[], intensity = { maxRestarts: 1_000, withinMs: 60_000 }) {
  return supervisor({ strategy: 'one-for-one', intensity, children });
}

/** createSystem, tracked. */
export async function startSystem(children: readonly ChildSpec[], options: Omit<SystemOptions, 'root'> = {}): Promise<System> {
  return track(await createSystem({ ...options, root: rootOf(children) }));
}

/** Answers every `request` with `inform` carrying the request's content back. */
export function echo(name = 'echo', mailbox?: MailboxOptions): AgentDefinition {
  return defineAgent({
    name,
    mailbox,
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      on: { request: { actions: reply('inform', ({ event }) => event.content as never) } },
    }),
  });
}

/**
 * Handles `request` and `inform`; calls `seen` with every message it handles, in order.
 * A request is answered `inform { n }` with the running count.
 */
export function recorder(seen: (message: AclMessage) => void, name = 'recorder', mailbox?: MailboxOptions): AgentDefinition {
  return defineAgent({
    name,
    mailbox,
    machine: setup({ types: { context: {} as { n: number }, events: {} as AclMessage } }).createMachine({
      context: { n: 0 },
      on: {
        request: { actions: [({ event }) => seen(event), assign({ n: ({ context }) => context.n + 1 }), reply('inform', ({ context }) => ({ n: context.n }))] },
        inform: { actions: [({ event }) => seen(event), assign({ n: ({ context }) => context.n + 1 })] },
      },
    }),
  });
}

/** Waits for the next turn of the event loop's check phase (after the scheduler's pending drain). */
export function nextImmediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
