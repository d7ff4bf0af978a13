/**
 * worker-start: what placing an agent on a worker thread adds to a system's start. Each
 * repetition starts two fresh processes (start-probe.ts): one times createSystem to the first
 * answer of an agent on a worker thread, the other the same with the agent inline; the value
 * is the difference, which is the thread's boot and its loading of Troupe and the agent's
 * module. Target ≤ 300 ms.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { siblingCommand } from '../child.js';
import type { Bench, Sample, Scenario } from '../scenario.js';

const run = promisify(execFile);

interface FirstStart {
  readonly ms: number;
  readonly performative: string;
}

async function firstStart(placement: 'inline' | 'worker'): Promise<FirstStart> {
  const { stdout } = await run(process.execPath, [...siblingCommand('../start-probe', import.meta.url), placement], { timeout: 120_000 });
  const last = stdout.trim().split('\n').pop() ?? '';
  const parsed = JSON.parse(last) as Partial<FirstStart>;
  if (typeof parsed.ms !== 'number' || typeof parsed.performative !== 'string') throw new Error(`start-probe ${placement} printed ${last}`);
  return parsed as FirstStart;
}

async function troupe(): Promise<Bench> {
  return {
    async sample(): Promise<Sample> {
      const inline = await firstStart('inline');
      const worker = await firstStart('worker');
      const answered = [inline, worker].filter((start) => start.performative === 'inform').length;
      return { value: worker.ms - inline.ms, work: answered === 2 ? 1 : 0 };
    },
    close: async () => undefined,
  };
}

export const workerStart: Scenario = {
  name: 'worker-start',
  unit: 'ms',
  higherIsBetter: false,
  describe: () => 'createSystem to the first answer of one agent on a worker thread, minus the same with the agent inline; each repetition a fresh process per placement',
  size: 1,
  quickSize: 1,
  warmups: 1,
  repetitions: 7,
  expectedWork: () => 1,
  implementations: { troupe, xstate: undefined, nact: undefined },
  note: 'Troupe only: the cost of a worker thread\'s first start (its boot, and loading Troupe and the agent module there). Target ≤ 300 ms.',
};
