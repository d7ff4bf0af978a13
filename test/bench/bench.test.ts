/**
 * Smoke test of the benchmark harness: every scenario runs at a tiny size for every
 * framework, does all its work, and reports in the documented JSON shape. No timing is
 * asserted; numbers from a few hundred messages mean nothing.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toJsonLine } from './report.js';
import { defaultOptions, measure, type Measurement } from './runner.js';
import { columnsOf, implementationOf, type Scenario } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';

/** worker-start starts fresh processes (through tsx, from here); the others take a moment at their tiny sizes. */
const SMOKE_TIMEOUT_MS = 60_000;

function expectJsonLine(line: unknown, scenario: Scenario): void {
  expect(Object.keys(line as object).sort()).toEqual(['higherIsBetter', 'results', 'scenario', 'unit']);
  expect(line).toMatchObject({ scenario: scenario.name, unit: scenario.unit, higherIsBetter: scenario.higherIsBetter });
  const results = (line as { results: Record<string, unknown> }).results;
  expect(Object.keys(results).sort()).toEqual([...columnsOf(scenario)].sort());
  for (const framework of columnsOf(scenario)) {
    if (implementationOf(scenario, framework) === undefined) expect(results[framework]).toBeNull();
    else expect(results[framework]).toEqual(expect.any(Number));
  }
}

describe.each(SCENARIOS.filter((scenario) => scenario.variants === undefined).map((scenario) => [scenario.name, scenario] as const))('bench scenario %s', (_name, scenario) => {
  const size = scenario.quickSize;

  it.each(columnsOf(scenario).filter((framework) => implementationOf(scenario, framework) !== undefined))('%s does all its work at a tiny size', async (framework) => {
    const implementation = implementationOf(scenario, framework);
    if (implementation === undefined) throw new Error('filtered out above');
    const bench = await implementation(size);
    try {
      const sample = await bench.sample();
      expect(sample.work).toBe(scenario.expectedWork(size));
      expect(Number.isFinite(sample.value)).toBe(true);
    } finally {
      await bench.close();
    }
  }, SMOKE_TIMEOUT_MS);

  it('reports one JSON line of the documented shape', async () => {
    const options = defaultOptions(scenario, true);
    const measurements: Record<string, Measurement | undefined> = {};
    for (const framework of columnsOf(scenario)) measurements[framework] = implementationOf(scenario, framework) === undefined ? undefined : await measure(scenario, framework, options);
    for (const measurement of Object.values(measurements)) if (measurement !== undefined) expect(measurement).toMatchObject({ ok: true });
    const line = JSON.parse(JSON.stringify(toJsonLine({ scenario, options, measurements }))) as unknown;
    expectJsonLine(line, scenario);
  }, SMOKE_TIMEOUT_MS);
});

describe('bench harness', () => {
  it('turns missing work into a failed measurement instead of a number', async () => {
    const lazy: Scenario = {
      ...(SCENARIOS[0] as Scenario),
      implementations: { troupe: async () => ({ sample: async () => ({ value: 1, work: 1 }), close: async () => undefined }), xstate: undefined, nact: undefined },
    };
    const measurement = await measure(lazy, 'troupe', { size: 10, warmups: 0, repetitions: 1 });
    expect(measurement).toMatchObject({ ok: false, error: expect.stringContaining('completed 1 of') });
  });

  it('npm run bench -- --quick --json --scenario restart prints one JSON line from child processes', () => {
    const run = fileURLToPath(new URL('./run.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', run, '--quick', '--json', '--scenario', 'restart'], { encoding: 'utf8', timeout: 30_000 });
    expect(child.status).toBe(0);
    const lines = child.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expectJsonLine(JSON.parse(lines[0] as string) as unknown, SCENARIOS.find((scenario) => scenario.name === 'restart') as Scenario);
  }, 30_000);
});
