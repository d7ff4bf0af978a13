/**
 * Child-process entry point: measures one framework on one scenario and prints the
 * Measurement as one JSON line. run.ts starts one per (scenario, framework) with
 * --expose-gc, so every measurement gets a fresh heap and JIT state.
 *
 *   node --expose-gc --import tsx test/bench/worker.ts <scenario> <framework> <size> <warmups> <repetitions>
 */
import { measure, type Measurement } from './runner.js';
import { measuredKeys } from './scenario.js';
import { findScenario } from './scenarios/index.js';

function parse(argv: readonly string[]): { scenario: string; framework: string; numbers: number[] } {
  const [scenario = '', framework = '', ...rest] = argv;
  const known = findScenario(scenario);
  if (known !== undefined && !measuredKeys(known).includes(framework)) throw new Error(`unknown framework or variant ${framework} of ${scenario}`);
  const numbers = rest.map(Number);
  if (numbers.length !== 3 || numbers.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`expected <size> <warmups> <repetitions>, got ${rest.join(' ')}`);
  return { scenario, framework, numbers };
}

async function main(): Promise<Measurement> {
  const { scenario: name, framework, numbers } = parse(process.argv.slice(2));
  const scenario = findScenario(name);
  if (scenario === undefined) throw new Error(`unknown scenario ${name}`);
  const [size = 0, warmups = 0, repetitions = 0] = numbers;
  return measure(scenario, framework, { size, warmups, repetitions });
}

const result = await main().catch((error: unknown): Measurement => ({ ok: false, error: error instanceof Error ? error.message : String(error) }));
process.stdout.write(`${JSON.stringify(result)}\n`);
// Some frameworks leave timers or immediates behind after close; the measurement is done.
process.exit(0);
