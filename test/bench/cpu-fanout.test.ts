/**
 * Smoke test of the cpu-fanout scenario (Troupe inline vs worker placement): both variants
 * do all their work at the quick size and report in the documented JSON shape. No timing
 * is asserted.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toJsonLine } from './report.js';
import { defaultOptions, measure, type Measurement } from './runner.js';
import { findScenario } from './scenarios/index.js';
import type { Scenario } from './scenario.js';

const scenario = findScenario('cpu-fanout') as Scenario;

function expectCpuFanoutLine(line: Record<string, unknown>): void {
  expect(Object.keys(line).sort()).toEqual(['higherIsBetter', 'results', 'roundTripUs', 'scenario', 'speedup', 'unit']);
  expect(line).toMatchObject({ scenario: 'cpu-fanout', unit: 'ms', higherIsBetter: false, results: { inline: expect.any(Number), worker: expect.any(Number) }, speedup: expect.any(Number) });
  expect(Object.keys(line.results as object).sort()).toEqual(['inline', 'worker']);
  expect(line.roundTripUs).toEqual({ inline: expect.any(Number), worker: expect.any(Number) });
}

describe('bench scenario cpu-fanout', () => {
  it('runs both placements with all their work and reports results {inline, worker}, the speedup and the round trips', { timeout: 60_000 }, async () => {
    const options = defaultOptions(scenario, true);
    const variants: Record<string, Measurement> = {};
    for (const key of ['inline', 'worker']) variants[key] = await measure(scenario, key, options);
    expect(variants.inline).toMatchObject({ ok: true, extras: { roundTripUs: expect.any(Number) } });
    expect(variants.worker).toMatchObject({ ok: true, extras: { roundTripUs: expect.any(Number) } });
    const line = JSON.parse(JSON.stringify(toJsonLine({ scenario, options, measurements: variants }))) as Record<string, unknown>;
    expectCpuFanoutLine(line);
  });

  it('npm run bench -- --quick --json --scenario cpu-fanout prints one JSON line from compiled child processes', { timeout: 120_000 }, () => {
    const run = fileURLToPath(new URL('./run.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', run, '--quick', '--json', '--scenario', 'cpu-fanout'], { encoding: 'utf8', timeout: 110_000 });
    expect(child.stderr).not.toMatch(/FAILED/);
    expect(child.status).toBe(0);
    const lines = child.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expectCpuFanoutLine(JSON.parse(lines[0] as string) as Record<string, unknown>);
  });
});
