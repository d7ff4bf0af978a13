/** Agents and systems the inspector tests watch. */
import { afterEach } from 'vitest';
import { assign, setup } from 'xstate';
import { createSystem, defineAgent, supervisor, tell, type AclMessage, type ChildSpec, type InspectorOptions, type System } from '../../src/index.js';
import { silentLogger } from '../bench/support.js';

export const TOKEN = 'inspector-test-token';

import { greeter } from './greeter.js';

export { greeter, workerGreeter } from './greeter.js';

/** On `inform {name}` from outside, requests a greeting from /greeter; keeps the last answer. */
export const caller = defineAgent({
  name: 'caller',
  machine: setup({ types: { context: {} as { last: unknown }, events: {} as AclMessage } }).createMachine({
    id: 'caller',
    context: { last: undefined },
    on: {
      inform: [
        { guard: ({ event }) => event.sender === '/greeter', actions: assign({ last: ({ event }) => event.content }) },
        { actions: tell('/greeter', 'request', ({ event }) => event.content as { name: string }) },
      ],
    },
  }),
});

const running: System[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((system) => system.stop()));
});

export const CHILDREN: readonly ChildSpec[] = [
  { id: 'greeter', agent: greeter },
  { id: 'caller', agent: caller },
];

/** A system of the greeter and the caller with an inspector; stopped after each test. */
export async function inspectedSystem(inspector: InspectorOptions = { token: TOKEN }, children: readonly ChildSpec[] = CHILDREN): Promise<System> {
  const system = await createSystem({ name: 'inspected', root: supervisor({ intensity: { maxRestarts: 100, withinMs: 60_000 }, children }), logger: silentLogger, inspector });
  running.push(system);
  return system;
}

export function wsUrl(system: System): string {
  const inspector = system.inspector;
  if (inspector === undefined) throw new Error('the system has no inspector');
  return inspector.wsUrl;
}
