/**
 * spawn: start `size` agents and time it, in milliseconds; each sample starts a fresh
 * set and tears it down afterwards (teardown not timed).
 *
 * Troupe starts them as the static children of a root supervisor (createSystem with a
 * `children` list), which is how a fixed population is declared. system.startChild from a
 * template is not used: as of this writing each call scans the supervisor's child list by
 * id, so starting n children that way takes quadratic time (seconds at 20,000).
 */
import { spawn as nactSpawn } from 'nact';
import { createActor } from 'xstate';
import { now } from '../measure.js';
import type { Bench, Sample, Scenario } from '../scenario.js';
import { ids, nactSystem, stopNact, troupeSystem } from '../support.js';
import { nactAgent, troupeAgent, xstateAgent } from './idle-agent.js';

async function troupe(size: number): Promise<Bench> {
  const children = ids(size).map((id) => ({ id, agent: troupeAgent }));
  return {
    async sample(): Promise<Sample> {
      const started = now();
      const system = await troupeSystem(children);
      const elapsed = now() - started;
      const work = system.countChildren('/').active;
      await system.stop();
      return { value: elapsed, work };
    },
    close: async () => undefined,
  };
}

async function xstate(size: number): Promise<Bench> {
  return {
    async sample(): Promise<Sample> {
      const started = now();
      const actors = new Array<ReturnType<typeof createActor<typeof xstateAgent>>>(size);
      for (let i = 0; i < size; i++) actors[i] = createActor(xstateAgent).start();
      const elapsed = now() - started;
      const work = actors.filter((actor) => actor.getSnapshot().status === 'active').length;
      for (const actor of actors) actor.stop();
      return { value: elapsed, work };
    },
    close: async () => undefined,
  };
}

async function nact(size: number): Promise<Bench> {
  const names = ids(size);
  return {
    async sample(): Promise<Sample> {
      const system = nactSystem();
      const started = now();
      const refs = names.map((name) => nactSpawn(system, nactAgent, name, { initialState: 0 }));
      const elapsed = now() - started;
      stopNact(system);
      return { value: elapsed, work: refs.length };
    },
    close: async () => undefined,
  };
}

export const spawn: Scenario = {
  name: 'spawn',
  unit: 'ms',
  higherIsBetter: false,
  describe: (size) => `start ${size.toLocaleString('en-US')} agents (Troupe: static children of the root supervisor)`,
  size: 100_000,
  quickSize: 100,
  warmups: 1,
  repetitions: 5,
  expectedWork: (size) => size,
  implementations: { troupe, xstate, nact },
};
