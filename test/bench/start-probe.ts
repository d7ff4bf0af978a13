/**
 * One first start in a fresh process, for the worker-start scenario: from createSystem with
 * one agent (placed `inline` or on a `worker`) to its first answer. Prints {"ms","performative"}.
 *
 *   node test/bench/start-probe.js inline|worker
 */
import { pino } from 'pino';
import { createSystem, supervisor } from '../../src/index.js';
import { now } from './measure.js';
import { echo } from './start-agent.js';

const placement = process.argv[2];
if (placement !== 'inline' && placement !== 'worker') throw new Error(`expected inline or worker, got ${String(placement)}`);
const started = now();
const system = await createSystem({ root: supervisor({ children: [{ id: 'echo', agent: echo, placement }] }), logger: pino({ level: 'silent' }) });
const answer = await system.request('/echo', { text: 'first' }, { timeoutMs: 60_000 });
const ms = now() - started;
await system.stop();
process.stdout.write(`${JSON.stringify({ ms, performative: answer.performative })}\n`);
