/**
 * Many seeded interleavings of requests, crashes and thread deaths across three worker
 * agents on two threads: every request gets its one right answer, and each agent's messages
 * are handled in the order they were sent, across restarts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSystem, FailureError, supervisor, type System } from '../../src/index.js';
import { worker } from './agents.js';
import { prng } from '../support/prng.js';
import { stoppedAfterEach } from '../support/systems.js';

/** Bounds waits that include a thread's boot, which a loaded machine can make slow (nothing is timed). */
const POLL = { timeout: 20_000 };
const Answer = z.object({ thread: z.number(), handled: z.number(), text: z.string().optional() });
const AGENTS = ['a', 'b', 'c'];
const track = stoppedAfterEach();

type Op = 'echo' | 'throw' | 'exit';
type Outcome = { op: Op; agent: string; text: string; result: { kind: 'inform'; incarnation: string; handled: number; text: string | undefined } | { kind: 'failure'; reason: string | undefined } };

async function run(seed: number): Promise<{ outcomes: Outcome[]; system: System }> {
  const next = prng(seed);
  const system = await createSystem({ root: supervisor({ intensity: { maxRestarts: 1_000, withinMs: 60_000 }, children: AGENTS.map((id) => ({ id, agent: worker })) }), workers: { size: 2 } });
  track(system);
  const outcomes: Outcome[] = [];
  let sent = 0;
  for (let batch = 0; batch < 6; batch++) {
    const pending: Promise<void>[] = [];
    const size = 1 + Math.floor(next() * 8);
    for (let i = 0; i < size; i++) {
      const agent = AGENTS[Math.floor(next() * AGENTS.length)] as string;
      const roll = next();
      const op: Op = roll < 0.8 ? 'echo' : roll < 0.95 ? 'throw' : 'exit';
      const text = `${seed}-${sent++}`;
      const outcome: Outcome = { op, agent, text, result: { kind: 'failure', reason: 'unsettled' } };
      outcomes.push(outcome);
      pending.push(
        system.request(`/${agent}`, { op, text }, { expect: Answer, timeoutMs: 30_000 }).then(
          (answer) => void (outcome.result = { kind: 'inform', incarnation: answer.senderIncarnation ?? '', handled: answer.content.handled, text: answer.content.text }),
          (error: unknown) => void (outcome.result = { kind: 'failure', reason: error instanceof FailureError ? error.reason : String(error) }),
        ),
      );
    }
    await Promise.all(pending);
  }
  return { outcomes, system };
}

describe('worker agents under seeded interleavings', () => {
  it.each([1, 2, 3, 4, 5, 6])('seed %i: right answers, per-agent order kept across restarts', { timeout: 60_000 }, async (seed) => {
    const { outcomes, system } = await run(seed);
    for (const outcome of outcomes) {
      if (outcome.op === 'echo') expect(outcome.result).toMatchObject({ kind: 'inform', text: outcome.text });
      else expect(outcome.result).toEqual({ kind: 'failure', reason: 'agent-failed' });
    }
    for (const agent of AGENTS) {
      // Within one incarnation, the count of handled messages grows in send order.
      const answers = outcomes.filter((outcome) => outcome.agent === agent && outcome.result.kind === 'inform').map((outcome) => outcome.result as { incarnation: string; handled: number });
      for (let index = 1; index < answers.length; index++) {
        const previous = answers[index - 1] as { incarnation: string; handled: number };
        const current = answers[index] as { incarnation: string; handled: number };
        if (previous.incarnation === current.incarnation) expect(current.handled).toBeGreaterThan(previous.handled);
      }
    }
    await expect.poll(() => system.whichChildren('/').every((child) => child.status === 'running'), POLL).toBe(true);
  });
});
