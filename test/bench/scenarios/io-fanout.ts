/**
 * io-fanout and io-fanout-limited: `size` LLM agents each make one chat-completions call that
 * the offline model answers after 200 ms, through the real `openai` SDK over real HTTP;
 * `parallel` asks them all at once. The value is the end-to-end time of the whole fan-out.
 * Unlimited, the physical floor is one call (200 ms); with the shared limiter at 10 concurrent
 * calls it is ⌈size / 10⌉ × 200 ms (2,000 ms for 100 agents).
 *
 * Troupe only: the LLM agent, the limiter and the offline model are Troupe parts that raw
 * XState and nact do not have, so there is nothing to compare them with.
 */
import OpenAI from 'openai';
import { createLimiter, llmAgent, parallel, startOfflineModel, supervisor, type Limiter } from '../../../src/index.js';
import { now } from '../measure.js';
import type { Bench, Scenario } from '../scenario.js';
import { ids, troupeSystem } from '../support.js';

export const CALL_MS = 200;
const LIMIT = 10;

function fanoutBench(limit: number | undefined) {
  return async (size: number): Promise<Bench> => {
    const server = await startOfflineModel({ latencyMs: CALL_MS });
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'offline' });
    const limiter: Limiter = createLimiter({ maxConcurrent: limit ?? Number.POSITIVE_INFINITY });
    const agentIds = ids(size, 'agent');
    const system = await troupeSystem([
      {
        id: 'agents',
        agent: supervisor({ children: agentIds.map((id) => ({ id, agent: llmAgent({ name: id, model: 'offline', instructions: 'Answer briefly.', client, limiter }) })) }),
      },
    ]);
    const requests = agentIds.map((id) => ({ to: `/agents/${id}`, content: `task for ${id}` }));
    return {
      sample: async () => {
        const started = now();
        const result = await parallel(system, requests, { deadlineMs: 120_000 });
        return { value: now() - started, work: result.informs.length };
      },
      close: async () => {
        await system.stop();
        await server.close();
      },
    };
  };
}

const common = {
  unit: 'ms',
  higherIsBetter: false,
  size: 100,
  quickSize: 20,
  warmups: 1,
  expectedWork: (size: number) => size,
  note: 'Troupe only (LLM agents, limiter and offline model have no XState/nact equivalent); real openai SDK over HTTP to the offline model on 127.0.0.1.',
} as const;

export const ioFanout: Scenario = {
  ...common,
  name: 'io-fanout',
  describe: (size) => `${size} LLM agents, one ${CALL_MS} ms model call each, all at once; end-to-end (floor ${CALL_MS} ms)`,
  repetitions: 5,
  implementations: { troupe: fanoutBench(undefined), xstate: undefined, nact: undefined },
};

export const ioFanoutLimited: Scenario = {
  ...common,
  name: 'io-fanout-limited',
  describe: (size) => `${size} LLM agents, one ${CALL_MS} ms call each, shared limiter at ${LIMIT} concurrent calls; end-to-end (floor ${Math.ceil(size / LIMIT) * CALL_MS} ms)`,
  repetitions: 3,
  implementations: { troupe: fanoutBench(LIMIT), xstate: undefined, nact: undefined },
};
