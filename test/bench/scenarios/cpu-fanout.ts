/**
 * cpu-fanout: Troupe against itself. Eight agents each do about `size` ms of CPU work (a
 * fixed amount of work, calibrated once on the main thread, not a timed spin), all requested
 * at once; the same definitions run inline (one thread) and placed on worker threads (the
 * pool sized to the cores). Reports wall ms for each; inline / worker is the speedup. Each
 * sample also times sequential request/reply round trips to an agent of the same placement,
 * which is what the hop across a thread costs.
 */
import { threadId } from 'node:worker_threads';
import { setup } from 'xstate';
import { z } from 'zod';
import { defineAgent, reply, type ChildSpec, type InboundEvents, type Placement, type System } from '../../../src/index.js';
import { now } from '../measure.js';
import type { Bench, Sample, Scenario } from '../scenario.js';
import { troupeSystem } from '../support.js';

export const AGENTS = 8;
const Work = { request: z.object({ iterations: z.number().int().nonnegative() }) };

/** Pure integer work: the same amount on any thread, and nothing for the JIT to skip. */
export function crunch(iterations: number): number {
  let x = 1;
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 1_103_515_245) + 12_345 + (x >>> 7)) | 0;
  return x;
}

/** Iterations of `crunch` for about `ms` milliseconds on this machine. */
export function calibrate(ms: number): number {
  let iterations = 100_000;
  crunch(iterations); // warm the JIT first
  for (;;) {
    const started = now();
    crunch(iterations);
    const took = now() - started;
    if (took >= 20) return Math.max(1, Math.round((iterations * ms) / took));
    iterations *= 4;
  }
}

export const cruncher = defineAgent({
  name: 'cpu-fanout-cruncher',
  module: import.meta.url,
  content: Work,
  machine: setup({ types: { events: {} as InboundEvents<typeof Work> } }).createMachine({
    on: { request: { actions: reply('inform', ({ event }) => ({ result: crunch(event.content.iterations), thread: threadId })) } },
  }),
});

const placedOn = (placement: Placement): ChildSpec[] => Array.from({ length: AGENTS }, (_, index) => ({ id: `c${index}`, agent: cruncher, placement }));

/** Mean microseconds per request/reply to one agent, `count` of them one after the other. */
async function roundTripUs(system: System, count: number): Promise<number> {
  const started = now();
  for (let i = 0; i < count; i++) await system.request('/c0', { iterations: 0 });
  return ((now() - started) * 1_000) / count;
}

const roundTrips = (size: number): number => (size >= 100 ? 2_000 : 50);

function variant(placement: Placement) {
  return async (size: number): Promise<Bench> => {
    const iterations = calibrate(size);
    const system = await troupeSystem(placedOn(placement), { intensity: { maxRestarts: 0, withinMs: 1_000 } });
    // Workers start with the system; the first answers come once each thread has loaded the agents.
    await Promise.all(placedOn(placement).map(({ id }) => system.request(`/${id}`, { iterations: 0 }, { timeoutMs: 60_000 })));
    return {
      async sample(): Promise<Sample> {
        const started = now();
        const answers = await Promise.all(placedOn(placement).map(({ id }) => system.request(`/${id}`, { iterations }, { timeoutMs: 600_000 })));
        const value = now() - started;
        return { value, work: answers.filter((answer) => answer.performative === 'inform').length, extras: { roundTripUs: await roundTripUs(system, roundTrips(size)) } };
      },
      close: () => system.stop(),
    };
  };
}

export const cpuFanout: Scenario = {
  name: 'cpu-fanout',
  unit: 'ms',
  higherIsBetter: false,
  describe: (size) => `${AGENTS} agents each doing ~${size} ms of CPU work, requested at once; inline vs placement 'worker' (pool of os.availableParallelism() threads); round trip: mean of ${roundTrips(size).toLocaleString('en-US')} sequential request/replies to one agent`,
  size: 200,
  quickSize: 5,
  warmups: 1,
  repetitions: 5,
  expectedWork: () => AGENTS,
  implementations: { troupe: undefined, xstate: undefined, nact: undefined },
  variants: { inline: variant('inline'), worker: variant('worker') },
  ratio: { name: 'speedup', numerator: 'inline', denominator: 'worker' },
  note: 'Troupe against itself: the speedup is inline / worker. Peers (XState, nact in memory) have no parallel placement.',
};
