/**
 * A graceful stop of busy LLM agents (issue 13, item 6): the moment the stop is called no agent
 * takes new work (tasks waiting are answered `failure`, reason `agent-stopping`, at once and
 * no new model call starts), and the stop ends when the calls in flight end, not after each
 * agent's whole shutdown time.
 */
import { describe, expect, it } from 'vitest';
import { createSystem, echoScript, FailureError, llmAgent, supervisor, type OfflineRequest } from '../../src/index.js';
import { latch, offline, track, whenRequests } from './helpers.js';

const AGENTS = 10;
const TASKS_EACH = 3;

function outcomeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    (answer) => (answer as { performative: string }).performative,
    (error: unknown) => (error instanceof FailureError ? `failure ${error.reason}` : String(error)),
  );
}

describe('stopping busy LLM agents', () => {
  it('answers waiting tasks at once, starts no new model call, and ends when the calls in flight end', { timeout: 120_000 }, async () => {
    const gate = latch();
    const { server, client } = await offline({ script: async (request: OfflineRequest) => (await gate.promise, echoScript(request)) });
    const children = Array.from({ length: AGENTS }, (_, index) => ({ id: `a${index}`, agent: llmAgent({ name: `a${index}`, model: 'offline-test', instructions: 'x', client }), shutdownMs: 60_000 }));
    const system = track(await createSystem({ root: supervisor({ children }) }));
    const outcomes = children.flatMap((child) => Array.from({ length: TASKS_EACH }, (_, task) => outcomeOf(system.request(`/${child.id}`, `task ${task}`, { timeoutMs: 60_000 }))));
    await whenRequests(server, AGENTS); // each agent has one call in flight, two tasks waiting
    await system.whenIdle();
    const reasons: string[] = [];
    for (const child of children) system.watch(`/${child.id}`, (signal) => reasons.push(signal.reason.kind));
    const stopping = system.stop();
    // Before any call in flight ends, every waiting task is answered.
    const waiting = outcomes.filter((_, index) => index % TASKS_EACH !== 0);
    expect(await Promise.all(waiting)).toEqual(new Array(AGENTS * (TASKS_EACH - 1)).fill('failure agent-stopping'));
    gate.open();
    await stopping;
    expect(await Promise.all(outcomes.filter((_, index) => index % TASKS_EACH === 0))).toEqual(new Array(AGENTS).fill('inform'));
    expect(server.stats.requests).toBe(AGENTS); // no model call started after stop()
    expect(reasons).toEqual(new Array(AGENTS).fill('shutdown')); // none killed at its shutdown time
  });
});
