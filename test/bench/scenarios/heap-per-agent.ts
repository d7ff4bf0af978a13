/**
 * heap-per-agent: bytes of JS heap per live, idle agent: heap after starting `size` agents
 * minus heap before, both after full garbage collections, divided by `size`. Needs
 * --expose-gc (run.ts passes it); without it the numbers include uncollected garbage.
 *
 * The agents are those of the spawn scenario; Troupe's count includes its supervisor's
 * bookkeeping per child, since that is part of what a live agent costs.
 */
import { spawn as nactSpawn } from 'nact';
import { createActor } from 'xstate';
import { heapUsed, settleHeap } from '../measure.js';
import type { Bench, Sample, Scenario } from '../scenario.js';
import { ids, nactSystem, stopNact, troupeSystem } from '../support.js';
import { nactAgent, troupeAgent, xstateAgent } from './idle-agent.js';

/** Heap growth per agent while `create()`'s result is alive; `release` frees it after the measurement. */
async function bytesPer<T>(size: number, create: () => Promise<T>, count: (made: T) => number, release: (made: T) => Promise<void>): Promise<Sample> {
  await settleHeap();
  const before = heapUsed();
  const made = await create();
  await settleHeap();
  const after = heapUsed();
  const work = count(made);
  await release(made);
  return { value: (after - before) / size, work };
}

function bench(sample: () => Promise<Sample>): Bench {
  return { sample, close: async () => undefined };
}

async function troupe(size: number): Promise<Bench> {
  const names = ids(size);
  return bench(() =>
    bytesPer(
      size,
      () => troupeSystem(names.map((id) => ({ id, agent: troupeAgent }))),
      (system) => system.countChildren('/').active,
      (system) => system.stop(),
    ),
  );
}

async function xstate(size: number): Promise<Bench> {
  return bench(() =>
    bytesPer(
      size,
      async () => Array.from({ length: size }, () => createActor(xstateAgent).start()),
      (actors) => actors.filter((actor) => actor.getSnapshot().status === 'active').length,
      async (actors) => {
        for (const actor of actors) actor.stop();
      },
    ),
  );
}

async function nact(size: number): Promise<Bench> {
  const names = ids(size);
  return bench(() =>
    bytesPer(
      size,
      async () => {
        const system = nactSystem();
        return { system, refs: names.map((name) => nactSpawn(system, nactAgent, name, { initialState: 0 })) };
      },
      ({ refs }) => refs.length,
      async ({ system }) => stopNact(system),
    ),
  );
}

export const heapPerAgent: Scenario = {
  name: 'heap-per-agent',
  unit: 'bytes',
  higherIsBetter: false,
  describe: (size) => `heap growth with ${size.toLocaleString('en-US')} live idle agents, after gc, per agent`,
  size: 20_000,
  quickSize: 100,
  warmups: 1,
  repetitions: 3,
  expectedWork: (size) => size,
  implementations: { troupe, xstate, nact },
};
