/**
 * Agents whose memory attacks the inspector, in a module without test-runner imports: a
 * worker thread imports it to run the same machine there.
 */
import { setup } from 'xstate';
import { defineAgent, reply, type AclMessage } from '../../src/index.js';

/** k nested arrays of 200 references each to one array: a few kilobytes in memory, 200^k paths through it. */
export function sharedReferences(k: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < k; i++) {
    const inner = value;
    value = new Array<unknown>(200).fill(inner);
  }
  return value;
}

/** Keeps a shared-reference bomb of depth k in its context, and answers any request with it. */
export function bombAgent(k: number) {
  return defineAgent({
    name: `bomb-${k}`,
    machine: setup({ types: { context: {} as { bomb: unknown }, events: {} as AclMessage } }).createMachine({
      id: 'bomb',
      context: () => ({ bomb: sharedReferences(k) }),
      on: { request: { actions: reply('inform', ({ context }) => context.bomb as never) } },
    }),
  });
}

/** The depth-4 bomb on a worker thread: its snapshot is built there, under the same budget. */
export const workerBomb = defineAgent({ ...bombAgent(4), name: 'bomb-on-worker', module: import.meta.url, placement: 'worker' });
