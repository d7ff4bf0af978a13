/** Command-line options of `npm run bench`. */
import { parseArgs } from 'node:util';

export interface CliOptions {
  /** One JSON object per scenario per line instead of the table. */
  readonly json: boolean;
  /** Only this scenario (all when undefined). */
  readonly scenario: string | undefined;
  /** Tiny sizes, no warm-up, one repetition: checks that everything runs, measures nothing. */
  readonly quick: boolean;
  /** Overrides every selected scenario's size. */
  readonly size: number | undefined;
  /** Run all scenarios in this process instead of one child process per measurement. */
  readonly inProcess: boolean;
  /** Measure Troupe's TypeScript through tsx instead of a tsc build. */
  readonly tsx: boolean;
  /** Seconds one framework may take on one scenario before it counts as hung. */
  readonly timeoutSeconds: number;
}

export const USAGE = `usage: npm run bench -- [--json] [--scenario NAME] [--quick] [--size N] [--tsx] [--timeout S] [--in-process]
  --json         one JSON line per scenario: {"scenario","unit","higherIsBetter","results":{"troupe","xstate","nact"}}
                 ("results":{"detached","attached"} for the inspector scenario, {"inline","worker"} plus "speedup" and "roundTripUs" for cpu-fanout)
  --scenario     run one scenario (pingpong, throughput, fanout, spawn, heap-per-agent, restart, io-fanout, io-fanout-limited, contract-net, inspector, cpu-fanout, worker-start)
  --quick        tiny sizes, no warm-up, one repetition (a smoke run, not a measurement)
  --size         override the size of the selected scenarios
  --tsx          run Troupe from source through tsx instead of a tsc build (tsx's keepNames adds ~700 bytes per agent)
  --timeout      seconds one framework may take on one scenario before it is killed and reported as hung (default 120)
  --in-process   measure in this process (no --expose-gc, shared heap; for debugging only)`;

export function parseCli(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      json: { type: 'boolean', default: false },
      scenario: { type: 'string' },
      quick: { type: 'boolean', default: false },
      size: { type: 'string' },
      'in-process': { type: 'boolean', default: false },
      tsx: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '120' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageError('');
  const size = values.size === undefined ? undefined : Number(values.size);
  if (size !== undefined && !(Number.isInteger(size) && size > 0)) throw new UsageError(`--size must be a positive whole number, got ${values.size}`);
  const timeoutSeconds = Number(values.timeout);
  if (!(timeoutSeconds > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got ${values.timeout}`);
  return { timeoutSeconds, json: values.json, scenario: values.scenario, quick: values.quick, size, inProcess: values['in-process'], tsx: values.tsx };
}

/** Bad command line: run.ts prints the message and the usage, and exits with 2. */
export class UsageError extends Error {}
