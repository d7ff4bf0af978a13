/** Turns measurements into the JSON lines and the comparison table. */
import type { Measurement, RunOptions } from './runner.js';
import { FRAMEWORKS, type Framework, type Scenario } from './scenario.js';

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly options: RunOptions;
  /** `undefined` for a framework without an implementation of the scenario. */
  readonly measurements: { readonly [F in Framework]: Measurement | undefined };
  /** For a scenario with variants: their measurements instead of the frameworks'. */
  readonly variants?: Readonly<Record<string, Measurement>>;
}

export interface JsonLine {
  readonly scenario: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly results: { readonly [F in Framework]: number | null } | Readonly<Record<string, number | null>>;
  /** Present only when a framework failed (error, hang, missing work). */
  readonly errors?: { readonly [F in Framework]?: string } | Readonly<Record<string, string>>;
  /** A variant scenario's ratio (`scenario.ratio.name`, e.g. speedup) and extras by name, each by variant. */
  readonly [figure: string]: unknown;
}

function valueOf(measurement: Measurement | undefined): number | null {
  return measurement?.ok === true ? measurement.median : null;
}

function variantJsonLine(result: ScenarioResult, variants: Readonly<Record<string, Measurement>>): JsonLine {
  const { scenario } = result;
  const results: Record<string, number | null> = {};
  const errors: Record<string, string> = {};
  const extras: Record<string, Record<string, number | null>> = {};
  for (const [key, measurement] of Object.entries(variants)) {
    results[key] = valueOf(measurement);
    if (!measurement.ok) errors[key] = measurement.error;
    for (const [name, value] of Object.entries(measurement.ok ? (measurement.extras ?? {}) : {})) (extras[name] ??= {})[key] = value;
  }
  const line: Record<string, unknown> = { scenario: scenario.name, unit: scenario.unit, higherIsBetter: scenario.higherIsBetter, results };
  if (scenario.ratio !== undefined) {
    const numerator = results[scenario.ratio.numerator];
    const denominator = results[scenario.ratio.denominator];
    line[scenario.ratio.name] = typeof numerator === 'number' && typeof denominator === 'number' && denominator > 0 ? numerator / denominator : null;
  }
  Object.assign(line, extras);
  if (Object.keys(errors).length > 0) line.errors = errors;
  return line as JsonLine;
}

export function toJsonLine(result: ScenarioResult): JsonLine {
  if (result.variants !== undefined) return variantJsonLine(result, result.variants);
  const results = { troupe: valueOf(result.measurements.troupe), xstate: valueOf(result.measurements.xstate), nact: valueOf(result.measurements.nact) };
  const errors: { [F in Framework]?: string } = {};
  for (const framework of FRAMEWORKS) {
    const measurement = result.measurements[framework];
    if (measurement !== undefined && !measurement.ok) errors[framework] = measurement.error;
  }
  const base = { scenario: result.scenario.name, unit: result.scenario.unit, higherIsBetter: result.scenario.higherIsBetter, results };
  return Object.keys(errors).length === 0 ? base : { ...base, errors };
}

function formatNumber(value: number): string {
  if (value >= 1_000) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  if (value >= 0.1) return value.toFixed(3);
  return value.toPrecision(3);
}

function cell(measurement: Measurement | undefined): string {
  if (measurement === undefined) return 'n/a';
  return measurement.ok ? formatNumber(measurement.median) : 'FAILED';
}

function ratio(troupe: Measurement | undefined, other: Measurement | undefined): string {
  if (troupe?.ok !== true || other?.ok !== true || other.median === 0) return '-';
  return `${(troupe.median / other.median).toFixed(2)}x`;
}

const HEADER = ['scenario', 'unit', 'troupe', 'xstate', 'nact', 'troupe/xstate', 'troupe/nact', 'better'] as const;

function row(result: ScenarioResult): string[] {
  const { troupe, xstate, nact } = result.measurements;
  return [result.scenario.name, result.scenario.unit, cell(troupe), cell(xstate), cell(nact), ratio(troupe, xstate), ratio(troupe, nact), result.scenario.higherIsBetter ? 'higher' : 'lower'];
}

/** A fixed-width table (medians; ratios are troupe divided by the other), then notes and failures. */
export function formatTable(all: readonly ScenarioResult[]): string {
  const results = all.filter((result) => result.variants === undefined);
  const variantLines = all.filter((result) => result.variants !== undefined).map(variantLine);
  const rows = [[...HEADER], ...results.map(row)];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((cells) => (cells[column] as string).length)));
  const lines = rows.map((cells) => cells.map((text, column) => (column < 2 ? text.padEnd(widths[column] as number) : text.padStart(widths[column] as number))).join('  '));
  lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('  '));
  return [...(results.length > 0 ? lines : []), ...variantLines, '', ...footnotes(all)].join('\n');
}

/** `cpu-fanout (ms, lower is better): inline 1,640  worker 850  speedup 1.93x  roundTripUs: inline 12.3, worker 95.1` */
function variantLine(result: ScenarioResult): string {
  const line = variantJsonLine(result, result.variants ?? {});
  const measured = Object.entries(result.variants ?? {}).map(([key, measurement]) => `${key} ${cell(measurement)}`);
  const ratioName = result.scenario.ratio?.name;
  const headline = ratioName === undefined ? [] : [`${ratioName} ${typeof line[ratioName] === 'number' ? `${(line[ratioName] as number).toFixed(2)}x` : '-'}`];
  const extras = Object.entries(line)
    .filter(([name, value]) => !['scenario', 'unit', 'higherIsBetter', 'results', 'errors', ratioName].includes(name) && typeof value === 'object' && value !== null)
    .map(([name, byVariant]) => `${name}: ${Object.entries(byVariant as Record<string, number>).map(([key, value]) => `${key} ${formatNumber(value)}`).join(', ')}`);
  return [`${result.scenario.name} (${result.scenario.unit}, ${result.scenario.higherIsBetter ? 'higher' : 'lower'} is better):`, ...measured, ...headline, ...extras].join('  ');
}

function footnotes(results: readonly ScenarioResult[]): string[] {
  const notes = ['Medians of the measured repetitions; ratio = troupe / other (for "higher" scenarios > 1 means Troupe is faster, for "lower" < 1 does).'];
  for (const { scenario, options, measurements, variants } of results) {
    notes.push(`${scenario.name}: ${scenario.describe(options.size)}; ${options.warmups} warm-up + ${options.repetitions} measured repetitions.`);
    if (scenario.note !== undefined) notes.push(`  note: ${scenario.note}`);
    const measured: [string, Measurement | undefined][] = variants !== undefined ? Object.entries(variants) : FRAMEWORKS.map((framework) => [framework, measurements[framework]]);
    for (const [key, measurement] of measured) {
      if (measurement !== undefined && !measurement.ok) notes.push(`  FAILED ${key}: ${measurement.error}`);
    }
  }
  return notes;
}
