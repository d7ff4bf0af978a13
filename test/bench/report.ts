/** Turns measurements into the JSON lines and the comparison table. */
import type { Measurement, RunOptions } from './runner.js';
import { columnsOf, type Scenario } from './scenario.js';

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly options: RunOptions;
  /** By framework (or variant); `undefined` for one without an implementation of the scenario. */
  readonly measurements: { readonly [column: string]: Measurement | undefined };
}

export interface JsonLine {
  readonly scenario: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  /** By framework, or by variant for a scenario with variants (`{"detached","attached"}`). */
  readonly results: { readonly [column: string]: number | null };
  /** Present only when a framework failed (error, hang, missing work). */
  readonly errors?: { readonly [column: string]: string };
  /** A variant scenario's headline ratio (e.g. `speedup`) and extra figures by column (e.g. `roundTripUs`). */
  readonly [figure: string]: unknown;
}

function valueOf(measurement: Measurement | undefined): number | null {
  return measurement?.ok === true ? measurement.median : null;
}

export function toJsonLine(result: ScenarioResult): JsonLine {
  const { scenario, measurements } = result;
  const results: Record<string, number | null> = {};
  const errors: Record<string, string> = {};
  const extras: Record<string, Record<string, number>> = {};
  for (const column of columnsOf(scenario)) {
    const measurement = measurements[column];
    results[column] = valueOf(measurement);
    if (measurement !== undefined && !measurement.ok) errors[column] = measurement.error;
    for (const [name, value] of Object.entries(measurement?.ok === true ? (measurement.extras ?? {}) : {})) (extras[name] ??= {})[column] = value;
  }
  const line: Record<string, unknown> = { scenario: scenario.name, unit: scenario.unit, higherIsBetter: scenario.higherIsBetter, results };
  if (scenario.ratio !== undefined) line[scenario.ratio.name] = headlineRatio(result, scenario.ratio);
  Object.assign(line, extras);
  if (Object.keys(errors).length > 0) line.errors = errors;
  return line as JsonLine;
}

function headlineRatio({ measurements }: ScenarioResult, { numerator, denominator }: NonNullable<Scenario['ratio']>): number | null {
  const top = valueOf(measurements[numerator]);
  const bottom = valueOf(measurements[denominator]);
  return top !== null && bottom !== null && bottom > 0 ? top / bottom : null;
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
export function formatTable(results: readonly ScenarioResult[]): string {
  const rows = [[...HEADER], ...results.filter((result) => result.scenario.variants === undefined).map(row)];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((cells) => (cells[column] as string).length)));
  const lines = rows.map((cells) => cells.map((text, column) => (column < 2 ? text.padEnd(widths[column] as number) : text.padStart(widths[column] as number))).join('  '));
  lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('  '));
  const variantLines = results.filter((result) => result.scenario.variants !== undefined).map(variantLine);
  const table = rows.length > 1 ? lines : [];
  return [...table, ...(variantLines.length > 0 && table.length > 0 ? [''] : []), ...variantLines, '', ...footnotes(results)].join('\n');
}

/** A scenario comparing Troupe with itself: its variants, its headline ratio (else last/first), and its extra figures. */
function variantLine(result: ScenarioResult): string {
  const { scenario, measurements } = result;
  const columns = columnsOf(scenario);
  const cells = columns.map((column) => `${column} ${cell(measurements[column])}`);
  const first = columns[0] as string;
  const last = columns[columns.length - 1] as string;
  const headline = scenario.ratio === undefined ? `${last}/${first} ${ratio(measurements[last], measurements[first])}` : `${scenario.ratio.name} ${formatRatio(headlineRatio(result, scenario.ratio))}`;
  const line = toJsonLine(result);
  const extras = Object.keys(line)
    .filter((name) => !['scenario', 'unit', 'higherIsBetter', 'results', 'errors', scenario.ratio?.name].includes(name))
    .map((name) => `${name}: ${Object.entries(line[name] as Record<string, number>).map(([column, value]) => `${column} ${formatNumber(value)}`).join(', ')}`);
  return [`${scenario.name} (${scenario.unit}, ${scenario.higherIsBetter ? 'higher' : 'lower'} is better): ${cells.join('  ')}`, headline, ...extras].join('  ');
}

function formatRatio(value: number | null): string {
  return value === null ? '-' : `${value.toFixed(2)}x`;
}

function footnotes(results: readonly ScenarioResult[]): string[] {
  const notes = ['Medians of the measured repetitions; ratio = troupe / other (for "higher" scenarios > 1 means Troupe is faster, for "lower" < 1 does).'];
  for (const { scenario, options, measurements } of results) {
    notes.push(`${scenario.name}: ${scenario.describe(options.size)}; ${options.warmups} warm-up + ${options.repetitions} measured repetitions.`);
    if (scenario.note !== undefined) notes.push(`  note: ${scenario.note}`);
    for (const framework of columnsOf(scenario)) {
      const measurement = measurements[framework];
      if (measurement !== undefined && !measurement.ok) notes.push(`  FAILED ${framework}: ${measurement.error}`);
    }
  }
  return notes;
}
