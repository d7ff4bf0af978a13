import { afterEach, describe, expect, it, vi } from 'vitest';
import { main, RESEARCHERS, researchScript } from '../../examples/research-team.js';
import { startOfflineModel } from '../../src/index.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('examples/research-team', () => {
  // Real offline model server, real SDK; the timeout is for loaded machines.
  it('plans, researches in parallel, survives a crashing researcher by restarting it and redoing its work, and merges', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const summary = await main({ offline: true, offlineLatencyMs: 20, print: (line) => lines.push(line) });

    expect(lines[0]).toMatch(/^Using the built-in offline model \(no OPENAI_API_KEY or OPENAI_BASE_URL set\)/);
    expect(summary.mode).toBe('offline');
    expect(summary.subquestions).toHaveLength(3);
    // The researchers worked at once: all three were in their first model call together.
    expect(summary.maxParallelCalls).toBe(3);
    // researcher-2 crashed once: it alone was restarted and its request sent again; nothing was lost.
    expect(summary.crashed).toEqual(['/research/researcher-2']);
    expect(summary.redone).toEqual(['researcher-2']);
    expect(summary.restarts).toEqual({ 'researcher-1': 0, 'researcher-2': 1, 'researcher-3': 0 });
    expect(summary.findings).toHaveLength(3);
    expect(summary.answer).toBe(
      'Actor systems suit LLM agent teams because each actor owns its state and changes it only by handling one message at a time; and a supervisor restarts a failed agent by its address; callers get a failure at once, not a hang; and independent calls fanned out at once take as long as the slowest one, not their sum.',
    );
    // planner 1 + three researchers × 2 (tool round, answer) + the call researcher-2 crashed on + evaluator 1.
    expect(summary.modelCalls).toBe(9);

    for (const id of RESEARCHERS) expect(lines.some((line) => line.includes(`${id} calling the model`))).toBe(true);
    expect(lines.some((line) => line.includes('/research/researcher-2 crashed (researcher-2 choked on its first model answer (a planted bug))'))).toBe(true);
    expect(lines.some((line) => line.includes('researcher-2 request answered failure (agent-failed); sending it again'))).toBe(true);
    expect(lines.some((line) => line.includes('/research/researcher-2 restarted at once (one-for-one)'))).toBe(true);
    expect(lines.some((line) => line.includes('is hung'))).toBe(false);
    expect(lines).toContain('Answer: ' + summary.answer);
    const timing = lines.find((line) => line.startsWith('Wall time '));
    expect(timing).toMatch(/^Wall time \d+ ms for 9 model calls; one after another they take \d+ ms: \d+\.\dx faster in parallel\.$/);
    expect(lines.some((line) => /^Research alone: \d+ ms for model calls that take \d+ ms one after another/.test(line))).toBe(true);
  });

  it('with OPENAI_BASE_URL set, runs the same demo on that endpoint and says which', { timeout: 60_000 }, async () => {
    const endpoint = await startOfflineModel({ script: researchScript, latencyMs: 20 });
    try {
      vi.stubEnv('OPENAI_BASE_URL', endpoint.baseURL);
      vi.stubEnv('OPENAI_API_KEY', undefined);
      vi.stubEnv('TROUPE_MODEL', 'local-model');
      const lines: string[] = [];
      const summary = await main({ print: (line) => lines.push(line) });
      expect(lines[0]).toBe(`Using the model local-model at ${endpoint.baseURL} (from OPENAI_API_KEY / OPENAI_BASE_URL; set TROUPE_MODEL to change it).`);
      expect(summary.mode).toBe('online');
      expect(summary.redone).toEqual(['researcher-2']);
      expect(summary.findings).toHaveLength(3);
      // planner + 3 × 2 researcher calls + the one researcher-2 crashed on + evaluator.
      expect(endpoint.stats.requests).toBe(9);
    } finally {
      await endpoint.close();
    }
  });
});
