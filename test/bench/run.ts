/**
 * `npm run bench`: measures every scenario for Troupe, raw XState 5 and nact, each in its
 * own child process, and prints a table of medians and ratios (or JSON lines with --json).
 * Progress goes to stderr so that stdout stays machine-readable.
 */
import { buildForBench } from './build.js';
import { measureInChild, workerCommand } from './child.js';
import { parseCli, USAGE, UsageError, type CliOptions } from './cli.js';
import { formatTable, toJsonLine, type ScenarioResult } from './report.js';
import { defaultOptions, measure, type Measurement, type RunOptions } from './runner.js';
import { FRAMEWORKS, implementationOf, measuredKeys, type Framework, type Scenario } from './scenario.js';
import { findScenario, SCENARIOS } from './scenarios/index.js';

function selectScenarios(name: string | undefined): readonly Scenario[] {
  if (name === undefined) return SCENARIOS;
  const scenario = findScenario(name);
  if (scenario === undefined) throw new UsageError(`unknown scenario ${JSON.stringify(name)}`);
  return [scenario];
}

/** How measurements run: here, or in child processes started with `worker` arguments. */
type Mode = { readonly inProcess: true } | { readonly inProcess: false; readonly worker: readonly string[]; readonly timeoutMs: number };

async function measureOne(scenario: Scenario, framework: string, options: RunOptions, mode: Mode): Promise<Measurement | undefined> {
  if (implementationOf(scenario, framework) === undefined) return undefined;
  const started = performance.now();
  const measurement = mode.inProcess ? await measure(scenario, framework, options) : await measureInChild(mode.worker, scenario.name, framework, options, mode.timeoutMs);
  const seconds = ((performance.now() - started) / 1_000).toFixed(1);
  process.stderr.write(`  ${scenario.name} / ${framework}: ${measurement.ok ? 'ok' : `FAILED (${measurement.error})`} in ${seconds} s\n`);
  return measurement;
}

async function runScenario(scenario: Scenario, cli: CliOptions, mode: Mode): Promise<ScenarioResult> {
  const options = defaultOptions(scenario, cli.quick, cli.size);
  const measurements: Partial<Record<Framework, Measurement | undefined>> = {};
  const variants: Record<string, Measurement> = {};
  if (scenario.variants !== undefined) {
    for (const key of measuredKeys(scenario)) variants[key] = (await measureOne(scenario, key, options, mode)) as Measurement;
  } else {
    for (const framework of FRAMEWORKS) measurements[framework] = await measureOne(scenario, framework, options, mode);
  }
  return { scenario, options, measurements: { troupe: measurements.troupe, xstate: measurements.xstate, nact: measurements.nact }, variants: scenario.variants === undefined ? undefined : variants };
}

function warn(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  const cli = parseCli(argv);
  const scenarios = selectScenarios(cli.scenario);
  const build = cli.inProcess || cli.tsx ? undefined : await buildForBench(warn);
  const mode: Mode = cli.inProcess ? { inProcess: true } : { inProcess: false, worker: workerCommand(build?.worker), timeoutMs: cli.timeoutSeconds * 1_000 };
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of scenarios) {
      const result = await runScenario(scenario, cli, mode);
      results.push(result);
      if (cli.json) process.stdout.write(`${JSON.stringify(toJsonLine(result))}\n`);
    }
  } finally {
    await build?.remove();
  }
  if (!cli.json) process.stdout.write(`${formatTable(results)}\n`);
  // A failed measurement is reported in the output and in the exit code.
  const failed = (result: ScenarioResult): boolean => FRAMEWORKS.some((framework) => result.measurements[framework]?.ok === false) || Object.values(result.variants ?? {}).some((measurement) => !measurement.ok);
  return results.some(failed) ? 1 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message ? `${error.message}\n` : ''}${USAGE}\n`);
  process.exitCode = 2;
}
