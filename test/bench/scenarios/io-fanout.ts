/**
 * io-fanout and io-fanout-limited: `size` LLM agents each make one chat-completions call that
 * the offline model answers after 200 ms, through the real `openai` SDK over real HTTP;
 * `parallel` asks them all at once. The value is the end-to-end time of the whole fan-out.
 * Unlimited, the physical floor is one call (200 ms); with the shared limiter at 10 concurrent
 * calls it is ⌈size / 10⌉ × 200 ms (2,000 ms for 100 agents).
 *
 * The offline model runs in a child process (offline-model-host.ts), as a remote provider
 * would: only the client side, Troupe's part, runs on the measured event loop.
 *
 * The 200 ms floor is not reachable over real HTTP: the 100 calls start in one event-loop
 * turn and advance in lockstep, so the client's CPU for all of them (request building,
 * undici, response parsing) adds to the 200 ms. Measured on the 2-core dev machine, the
 * same 100 calls without Troupe take ≈218 ms with node:http, ≈225 ms with fetch and
 * ≈240 ms with the openai SDK; Troupe's agents, limiter and replies add ≈25-30 ms on top.
 *
 * Troupe only: the LLM agent, the limiter and the offline model are Troupe parts that raw
 * XState and nact do not have, so there is nothing to compare them with.
 */
import { spawn } from 'node:child_process';
import OpenAI from 'openai';
import { createLimiter, llmAgent, parallel, supervisor, type Limiter } from '../../../src/index.js';
import { siblingCommand } from '../child.js';
import { now } from '../measure.js';
import type { Bench, Scenario } from '../scenario.js';
import { ids, troupeSystem } from '../support.js';

export const CALL_MS = 200;
const LIMIT = 10;
/** Every repetition sends the same one-message task: a growing history would make later ones heavier. */
const NO_HISTORY = { maxMessages: 0 };

interface RemoteModel {
  readonly baseURL: string;
  close(): Promise<void>;
}

/** Starts offline-model-host in a child process: compiled next to this file, or from source through tsx. */
async function startRemoteModel(latencyMs: number): Promise<RemoteModel> {
  const child = spawn(process.execPath, [...siblingCommand('../offline-model-host', import.meta.url), String(latencyMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseURL = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.once('error', reject);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (!output.includes('\n')) return;
      const line = output.slice(0, output.indexOf('\n'));
      let baseURL: unknown;
      try {
        baseURL = (JSON.parse(line) as { baseURL?: unknown }).baseURL;
      } catch (error) {
        reject(error as Error);
        return;
      }
      if (typeof baseURL === 'string') resolve(baseURL);
      else reject(new Error(`the offline model process said ${line}, not its baseURL`));
    });
    void exited.then(() => reject(new Error(`the offline model process exited (code ${String(child.exitCode)}) before it listened`)));
  });
  return {
    baseURL,
    close: async () => {
      child.stdin.end(); // the host stops when its stdin ends
      await exited;
    },
  };
}

function fanoutBench(limit: number | undefined) {
  return async (size: number): Promise<Bench> => {
    const server = await startRemoteModel(CALL_MS);
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'offline' });
    const limiter: Limiter = createLimiter({ maxConcurrent: limit ?? Number.POSITIVE_INFINITY });
    const agentIds = ids(size, 'agent');
    const system = await troupeSystem([
      {
        id: 'agents',
        agent: supervisor({ children: agentIds.map((id) => ({ id, agent: llmAgent({ name: id, model: 'offline', instructions: 'Answer briefly.', client, limiter, memory: NO_HISTORY }) })) }),
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
