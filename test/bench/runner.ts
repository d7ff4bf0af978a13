/** Runs one framework's implementation of one scenario: warm-ups, repetitions, work checks. */
import { median, settleHeap } from './measure.js';
import { implementationOf, type Scenario } from './scenario.js';
import { expectWork } from './support.js';

export interface RunOptions {
  readonly size: number;
  readonly warmups: number;
  readonly repetitions: number;
}

/** The outcome for one framework: the median and its samples, or why there is none. */
export type Measurement =
  | { readonly ok: true; readonly median: number; readonly samples: readonly number[]; readonly extras?: Readonly<Record<string, number>> }
  | { readonly ok: false; readonly error: string };

export function defaultOptions(scenario: Scenario, quick: boolean, size?: number): RunOptions {
  return {
    size: size ?? (quick ? scenario.quickSize : scenario.size),
    warmups: quick ? 0 : scenario.warmups,
    repetitions: quick ? 1 : scenario.repetitions,
  };
}

/** Measures `framework`'s implementation; any error (or missing work) becomes `{ ok: false }`. */
export async function measure(scenario: Scenario, framework: string, options: RunOptions): Promise<Measurement> {
  const implementation = implementationOf(scenario, framework);
  if (implementation === undefined) return { ok: false, error: `${framework} has no ${scenario.name} implementation` };
  try {
    const bench = await implementation(options.size);
    try {
      const samples: number[] = [];
      const extras = new Map<string, number[]>();
      for (let i = 0; i < options.warmups + options.repetitions; i++) {
        // The previous repetition's garbage is collected now, not during the next one's timing.
        await settleHeap();
        const sample = await bench.sample();
        expectWork(`${framework} ${scenario.name}`, sample.work, scenario.expectedWork(options.size));
        if (i < options.warmups) continue;
        samples.push(sample.value);
        for (const [name, value] of Object.entries(sample.extras ?? {})) extras.set(name, [...(extras.get(name) ?? []), value]);
      }
      if (extras.size === 0) return { ok: true, median: median(samples), samples };
      return { ok: true, median: median(samples), samples, extras: Object.fromEntries([...extras].map(([name, values]) => [name, median(values)])) };
    } finally {
      await bench.close();
    }
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
