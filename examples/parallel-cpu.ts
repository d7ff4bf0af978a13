/**
 * True parallelism: the same CPU-heavy agents run inline (all on the main thread) and placed
 * on worker threads (one per core), with wall times and the speedup printed. Then, on the
 * workers, one agent is sent into an endless loop: its heartbeat ping goes unanswered, its
 * thread is terminated (the only way to stop a busy loop in Node), it is restarted on a fresh
 * thread, and the other agents finish their work meanwhile.
 *
 *   npx tsx examples/parallel-cpu.ts            (about 200 ms of work per agent)
 */
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { setup } from 'xstate';
import { z } from 'zod';
import { createSystem, defineAgent, FailureError, reply, supervisor, type InboundEvents, type Placement, type SystemEvent } from '../src/index.js';

const Job = { request: z.object({ rounds: z.number().int().nonnegative(), hang: z.boolean().optional() }) };

/** Fixed integer work: `rounds` rounds cost the same on any thread. */
function score(rounds: number): number {
  let x = 1;
  for (let i = 0; i < rounds; i++) x = (Math.imul(x, 1_103_515_245) + 12_345 + (x >>> 7)) | 0;
  return x;
}

function hangForever(): never {
  for (;;) score(1_000_000);
}

/**
 * Exported, with `module: import.meta.url`: a worker thread imports this module and finds the
 * definition by its name. Nothing else about the agent knows where it runs.
 */
export const scorer = defineAgent({
  name: 'scorer',
  module: import.meta.url,
  content: Job,
  // Well above one job's time: a thread is hung when it shows no progress at all for this long.
  heartbeat: { everyMs: 250, timeoutMs: 2_000 },
  machine: setup({ types: { events: {} as InboundEvents<typeof Job> } }).createMachine({
    on: { request: { actions: reply('inform', ({ event }) => (event.content.hang === true ? hangForever() : { score: score(event.content.rounds) })) } },
  }),
});

const AGENTS = 8;
const ids = Array.from({ length: AGENTS }, (_, index) => `s${index}`);

/** Rounds of `score` for about `ms` milliseconds on this machine. */
function calibrate(ms: number): number {
  let rounds = 100_000;
  score(rounds);
  for (;;) {
    const started = performance.now();
    score(rounds);
    const took = performance.now() - started;
    if (took >= 20) return Math.max(1, Math.round((rounds * ms) / took));
    rounds *= 4;
  }
}

async function startScorers(placement: Placement) {
  const system = await createSystem({
    // Quiet unless asked (TROUPE_LOG_LEVEL=info): the events below tell the story. Log lines of
    // agents on worker threads come through this logger too.
    logger: pino({ level: process.env.TROUPE_LOG_LEVEL ?? 'silent' }),
    // A terminated thread restarts every agent it hosted: each counts against the intensity.
    root: supervisor({ strategy: 'one-for-one', intensity: { maxRestarts: 10, withinMs: 10_000 }, children: ids.map((id) => ({ id, agent: scorer, placement })) }),
  });
  // Threads start with the system; one small job each waits until every agent is ready.
  await Promise.all(ids.map((id) => system.request(`/${id}`, { rounds: 0 }, { timeoutMs: 30_000 })));
  return system;
}

async function timedRun(placement: Placement, rounds: number): Promise<{ ms: number; informs: number }> {
  const system = await startScorers(placement);
  const started = performance.now();
  const answers = await Promise.all(ids.map((id) => system.request(`/${id}`, { rounds }, { timeoutMs: 120_000 })));
  const ms = performance.now() - started;
  await system.stop();
  return { ms, informs: answers.filter((answer) => answer.performative === 'inform').length };
}

export interface Summary {
  readonly inline: { readonly ms: number; readonly informs: number };
  readonly worker: { readonly ms: number; readonly informs: number };
  readonly speedup: number;
  readonly hang: { readonly answer: string; readonly events: readonly string[]; readonly othersFinished: number; readonly afterRestart: string };
}

export async function main(workMs = 200): Promise<Summary> {
  const rounds = calibrate(workMs);
  console.log(`${AGENTS} scorers, ~${workMs} ms of CPU work each, ${availableParallelism()} cores`);
  const inline = await timedRun('inline', rounds);
  console.log(`  inline: ${inline.ms.toFixed(0)} ms (${inline.informs} answers)`);
  const worker = await timedRun('worker', rounds);
  console.log(`  worker: ${worker.ms.toFixed(0)} ms (${worker.informs} answers)`);
  const speedup = inline.ms / worker.ms;
  console.log(`  speedup inline / worker: ${speedup.toFixed(2)}x`);

  console.log('one scorer hangs in an endless loop while the others work:');
  const system = await startScorers('worker');
  const events: string[] = [];
  system.subscribe((event: SystemEvent) => {
    if (event.path !== '/s0') return;
    if (event.type === 'hung' || event.type === 'failed' || event.type === 'restarted') {
      events.push(event.type);
      console.log(`    event ${event.type.padEnd(9)} ${event.path}${event.type === 'restarted' ? ` (restarts: ${event.restarts})` : ''}`);
    }
  });
  const hung = system.request('/s0', { rounds: 0, hang: true }, { timeoutMs: 30_000 }).then(
    () => 'inform',
    (error: unknown) => (error instanceof FailureError ? `failure (${error.reason ?? 'unknown'})` : String(error)),
  );
  const others = await Promise.allSettled(ids.slice(1).map((id) => system.request(`/${id}`, { rounds }, { timeoutMs: 30_000 })));
  const othersFinished = others.filter((outcome) => outcome.status === 'fulfilled' && outcome.value.performative === 'inform').length;
  const answer = await hung;
  console.log(`  /s0 → ${answer}`);
  console.log(`  the other ${othersFinished} scorers finished`);
  const again = await system.request('/s0', { rounds: 1_000 }, { timeoutMs: 30_000 });
  const afterRestart = again.performative;
  console.log(`  /s0 after its restart → ${afterRestart}`);
  await system.stop();
  return { inline, worker, speedup, hang: { answer, events, othersFinished, afterRestart } };
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
