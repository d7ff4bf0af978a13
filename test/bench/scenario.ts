/** The shape every benchmark scenario shares: one implementation per framework, one size knob. */

export const FRAMEWORKS = ['troupe', 'xstate', 'nact'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** One repetition's outcome: the measured value, and how much work was verifiably done. */
export interface Sample {
  /** In the scenario's unit. */
  readonly value: number;
  /** Work units actually completed (replies counted, agents alive...), checked against `expectedWork`. */
  readonly work: number;
  /** Secondary figures of the same repetition (reported as medians next to the main value). */
  readonly extras?: Readonly<Record<string, number>>;
}

/**
 * A started implementation. Setup that is not being measured (spawning fan-out workers,
 * starting a system) happens before `sample` is first called; each `sample` is one timed repetition.
 */
export interface Bench {
  sample(): Promise<Sample>;
  close(): Promise<void>;
}

export type Implementation = (size: number) => Promise<Bench>;

export interface Scenario {
  readonly name: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  /** What `size` counts, for the table's footnote. */
  readonly describe: (size: number) => string;
  /** Size of a full `npm run bench` run, and of `--quick` / the smoke test. */
  readonly size: number;
  readonly quickSize: number;
  /** Warm-up repetitions (discarded) and measured repetitions (median reported). */
  readonly warmups: number;
  readonly repetitions: number;
  readonly expectedWork: (size: number) => number;
  /** `undefined` where the library has no equivalent; `note` says why. */
  readonly implementations: { readonly [F in Framework]: Implementation | undefined };
  /**
   * For a scenario that compares Troupe with itself (the inspector detached and attached)
   * instead of with other frameworks: its variants, measured and reported in this order.
   */
  readonly variants?: { readonly [variant: string]: Implementation };
  /** With variants: a headline ratio of two of them, added to the JSON line (e.g. speedup = inline / worker). */
  readonly ratio?: { readonly name: string; readonly numerator: string; readonly denominator: string };
  readonly note?: string;
}

/** What a scenario is measured in: its variants, or the frameworks. */
export function columnsOf(scenario: Scenario): readonly string[] {
  return scenario.variants === undefined ? FRAMEWORKS : Object.keys(scenario.variants);
}

export function implementationOf(scenario: Scenario, column: string): Implementation | undefined {
  if (scenario.variants !== undefined) return scenario.variants[column];
  return (FRAMEWORKS as readonly string[]).includes(column) ? scenario.implementations[column as Framework] : undefined;
}
