/**
 * The main demo (`npm start`): a research team of LLM agents.
 *
 *   /                   one-for-one
 *   ├─ /tools           one-for-one: search (a tool agent answering lookups)
 *   ├─ /planner         LLM agent, structured output: splits the question into three
 *   ├─ /research        one-for-one, heartbeats: researcher-1..3, LLM agents with the search tool
 *   └─ /evaluator       LLM agent: merges the findings into the final answer
 *
 * The three researchers work in parallel (`fanOut`, settle 'all'). Researcher-2 carries a
 * planted bug: the first model answer it reads makes one of its actions throw. That is a
 * crash: the runtime answers its open request `failure` (agent-failed), /research restarts
 * it at once (one-for-one, the others untouched), and the fan-out's asker sends the same
 * sub-question again to the new incarnation: its work is redone while the others' answers
 * are kept. All model calls share one limiter. It prints live progress, the final answer,
 * and the wall time against the sum of the individual model calls (the sequential time).
 *
 * Without OPENAI_API_KEY or OPENAI_BASE_URL it runs on the built-in offline model (a local
 * OpenAI-compatible server with scripted answers) and says so on its first line.
 */
import OpenAI from 'openai';
import { pino } from 'pino';
import { setup } from 'xstate';
import { z } from 'zod';
import {
  agentTool,
  createLimiter,
  createSystem,
  defineAgent,
  fanOut,
  FailureError,
  lastText,
  llmAgent,
  reply,
  startOfflineModel,
  supervisor,
  toolResults,
  type InboundEvents,
  type LlmAgentEvent,
  type OfflineModel,
  type Asker,
  type OfflineScript,
  type InspectorOptions,
  type SystemOptions,
} from '../src/index.js';
import { announceInspector, inspectorOptions, untilInterrupted } from './inspect-option.js';

export const RESEARCHERS = ['researcher-1', 'researcher-2', 'researcher-3'] as const;
/** The researcher with the planted bug: it crashes on the first model answer it reads. */
export const CRASHING = 'researcher-2';
/**
 * Liveness backstop for real endpoints: a call still held after its own 60 s deadline should
 * have ended means the agent is hung, and it is restarted like a crash.
 */
export const HEARTBEAT = { everyMs: 1_000, timeoutMs: 75_000 };
/** What the runtime answers for a request whose agent crashed, hung or was restarted meanwhile. */
const LOST_TO_A_RESTART = new Set(['agent-failed', 'hung', 'agent-restarting']);
export const DEFAULT_QUESTION = 'Why do actor systems suit teams of LLM agents?';

// No length constraint: not every OpenAI-compatible server enforces minItems/maxItems in
// structured output; main() takes the first three and fills up with the question itself.
const Plan = z.object({ subquestions: z.array(z.string()) });

// ---- the tool agent -----------------------------------------------------------------------

const FACTS: readonly (readonly [string, string])[] = [
  ['state', 'each actor owns its state and changes it only by handling one message at a time'],
  ['fail', 'a supervisor restarts a failed agent by its address; callers get a failure at once, not a hang'],
  ['parallel', 'independent calls fanned out at once take as long as the slowest one, not their sum'],
  ['rate', 'a shared limiter keeps concurrent calls and requests per minute under the provider limits'],
];

const searchContent = { request: z.object({ query: z.string() }) };

/** Answers a lookup from a small fact table (a stand-in for a search API). */
const search = defineAgent({
  name: 'search',
  content: searchContent,
  machine: setup({ types: { events: {} as InboundEvents<typeof searchContent> } }).createMachine({
    on: {
      request: {
        actions: reply('inform', ({ event }) => {
          const query = event.content.query.toLowerCase();
          const hits = FACTS.filter(([keyword]) => query.includes(keyword)).map(([, fact]) => fact);
          return { query: event.content.query, facts: hits.length > 0 ? hits : ['no fact found'] };
        }),
      },
    },
  }),
});

// ---- the offline model's script ------------------------------------------------------------

const OFFLINE_PLAN = ['How do actors keep state safe?', 'What happens when an agent fails?', 'Why does parallel fan-out cut latency?'];

/** Deterministic answers for each role, recognised by its instructions. */
export const researchScript: OfflineScript = (request) => {
  const instructions = lastText(request, 'system');
  if (instructions.startsWith('You are the planner')) return { content: JSON.stringify({ subquestions: OFFLINE_PLAN }) };
  if (instructions.startsWith('You are a researcher')) {
    const results = toolResults(request);
    if (results.length === 0) return { toolCalls: [{ name: 'search', arguments: { query: lastText(request) } }] };
    const facts = (JSON.parse(results[0] as string) as { facts: string[] }).facts;
    return { content: `${lastText(request)} ${facts.join('; ')}.` };
  }
  if (instructions.startsWith('You are the evaluator')) {
    const findings = lastText(request).split('\n').filter((line) => line.startsWith('- '));
    return { content: `Actor systems suit LLM agent teams because ${findings.map((line) => line.slice(2).replace(/^[^?]*\?\s*/, '').replace(/\.$/, '')).join('; and ')}.` };
  }
  return { content: 'offline model: unknown role' };
};

// ---- plumbing -------------------------------------------------------------------------------

/** The planted bug: the first model answer this agent reads makes its (progress) action throw. */
function crashOnFirstAnswer(name: string, observe: (event: LlmAgentEvent) => void): (event: LlmAgentEvent) => void {
  let crashed = false;
  return (event) => {
    observe(event);
    if (event.type !== 'model-answer' || crashed) return;
    crashed = true;
    throw new Error(`${name} choked on its first model answer (a planted bug)`);
  };
}

export interface DemoOptions {
  readonly question?: string;
  /** Where the output goes (default console.log). */
  readonly print?: (line: string) => void;
  /** Run on the offline model even if OPENAI_API_KEY / OPENAI_BASE_URL are set. */
  readonly offline?: boolean;
  /** Latency of each offline model answer (default 150 ms). */
  readonly offlineLatencyMs?: number;
  /** Extra system options (a logger, say). */
  readonly system?: Partial<Omit<SystemOptions, 'root'>>;
  /** The live inspector (see inspect-option.ts); its address is printed after the first line. */
  readonly inspector?: InspectorOptions;
  /** Runs after the answer, while the inspector is up (npm start waits for Ctrl-C). */
  readonly beforeStop?: () => Promise<void>;
}

export interface DemoSummary {
  readonly mode: 'offline' | 'online';
  readonly subquestions: readonly string[];
  /** Researchers whose request was answered `failure` by the runtime (crash) and sent again. */
  readonly redone: readonly string[];
  /** Agents that crashed (the system's `failed` events). */
  readonly crashed: readonly string[];
  readonly restarts: Readonly<Record<string, number>>;
  readonly findings: readonly string[];
  readonly answer: string;
  readonly wallMs: number;
  /** Sum of every model call's duration: the time the same calls take one after another. */
  readonly sequentialMs: number;
  /** The research fan-out alone: its wall time and the sum of the researchers' model calls. */
  readonly researchWallMs: number;
  readonly researchSequentialMs: number;
  readonly modelCalls: number;
  /** Most researcher model calls in flight at once. */
  readonly maxParallelCalls: number;
}

interface Endpoint {
  readonly mode: 'offline' | 'online';
  readonly model: string;
  readonly makeClient: () => OpenAI;
  readonly server: OfflineModel | undefined;
  readonly describe: string;
}

async function endpoint(options: DemoOptions): Promise<Endpoint> {
  const online = options.offline !== true && (process.env.OPENAI_API_KEY !== undefined || process.env.OPENAI_BASE_URL !== undefined);
  if (online) {
    const model = process.env.TROUPE_MODEL ?? 'gpt-4o-mini';
    const baseURL = process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1';
    return { mode: 'online', model, server: undefined, makeClient: () => new OpenAI({ apiKey: process.env.OPENAI_API_KEY ?? 'none', baseURL }), describe: `Using the model ${model} at ${baseURL} (from OPENAI_API_KEY / OPENAI_BASE_URL; set TROUPE_MODEL to change it).` };
  }
  const server = await startOfflineModel({ script: researchScript, latencyMs: options.offlineLatencyMs ?? 150 });
  return {
    mode: 'offline',
    model: 'troupe-offline',
    server,
    makeClient: () => new OpenAI({ apiKey: 'offline', baseURL: server.baseURL }),
    describe: `Using the built-in offline model (no OPENAI_API_KEY or OPENAI_BASE_URL set): scripted answers from a local OpenAI-compatible server at ${server.baseURL}.`,
  };
}

// ---- the demo -------------------------------------------------------------------------------

export async function main(options: DemoOptions = {}): Promise<DemoSummary> {
  const print = options.print ?? ((line: string) => console.log(line));
  const question = options.question ?? DEFAULT_QUESTION;
  const target = await endpoint(options);
  print(target.describe);
  const started = performance.now();
  const stamp = (): string => `[${String(Math.round(performance.now() - started)).padStart(5)} ms]`;
  let sequentialMs = 0;
  let researchSequentialMs = 0;
  let modelCalls = 0;
  let inFlight = 0;
  let maxParallelCalls = 0;
  const observe = (event: LlmAgentEvent): void => {
    switch (event.type) {
      case 'task':
        print(`${stamp()} ${event.agent.padEnd(12)} working on: ${event.task.split('\n')[0]}`);
        break;
      case 'model-call':
        if (event.agent.startsWith('researcher')) maxParallelCalls = Math.max(maxParallelCalls, ++inFlight);
        print(`${stamp()} ${event.agent.padEnd(12)} calling the model${event.round > 0 ? ` (after ${event.round} tool round)` : ''}`);
        break;
      case 'model-answer':
        if (event.agent.startsWith('researcher')) inFlight--;
        sequentialMs += event.ms;
        if (event.agent.startsWith('researcher')) researchSequentialMs += event.ms;
        modelCalls++;
        print(`${stamp()} ${event.agent.padEnd(12)} model answered in ${Math.round(event.ms)} ms${event.toolCalls.length > 0 ? `, asking for ${event.toolCalls.join(', ')}` : ''}`);
        break;
      case 'model-failed':
        if (event.agent.startsWith('researcher')) inFlight--;
        print(`${stamp()} ${event.agent.padEnd(12)} model call ${event.reason} after ${Math.round(event.ms)} ms`);
        break;
      case 'tool-calls':
        print(`${stamp()} ${event.agent.padEnd(12)} running tools: ${event.tools.join(', ')}`);
        break;
      case 'answered':
        break;
      case 'failed':
        print(`${stamp()} ${event.agent.padEnd(12)} failed: ${event.reason}`);
        break;
    }
  };

  const limiter = createLimiter({ maxConcurrent: 4, requestsPerMinute: 500 });
  const common = { model: target.model, limiter, observe, deadlineMs: 60_000 };
  const client = target.makeClient();
  const researcher = (name: string) =>
    llmAgent({
      ...common,
      name,
      client,
      observe: name === CRASHING ? crashOnFirstAnswer(name, observe) : observe,
      instructions: `You are a researcher (${name}). Look the question up with the search tool, then answer it in one sentence that starts with the question.`,
      tools: [agentTool({ name: 'search', description: 'Looks facts up; give it keywords.', path: '/tools/search', parameters: z.object({ query: z.string() }), timeoutMs: 5_000 })],
    });

  // A system that fails to start (a busy inspector port, say) must not leave the model server running.
  const system = await createSystem({
    // The demo prints supervision events itself; pino's lines would interleave with them.
    logger: pino({ level: process.env.TROUPE_LOG_LEVEL ?? 'silent' }),
    ...options.system,
    inspector: options.inspector,
    root: supervisor({
      strategy: 'one-for-one',
      intensity: { maxRestarts: 3, withinMs: 60_000 },
      children: [
        { id: 'tools', agent: supervisor({ children: [{ id: 'search', agent: search }] }) },
        { id: 'planner', agent: llmAgent({ ...common, name: 'planner', client, output: Plan, instructions: 'You are the planner. Split the question into exactly three short, independent sub-questions; answer as JSON { "subquestions": [...] }.' }) },
        {
          id: 'research',
          agent: supervisor({
            strategy: 'one-for-one',
            intensity: { maxRestarts: 3, withinMs: 60_000 },
            children: RESEARCHERS.map((id) => ({ id, agent: researcher(id), heartbeat: HEARTBEAT })),
          }),
        },
        { id: 'evaluator', agent: llmAgent({ ...common, name: 'evaluator', client, instructions: 'You are the evaluator. Merge the findings into one short answer to the question.' }) },
      ],
    }),
  }).catch(async (error: unknown) => {
    await target.server?.close();
    throw error;
  });
  const restarted: string[] = [];
  const crashed: string[] = [];
  system.subscribe((event) => {
    if (event.type === 'hung') print(`${stamp()} supervisor    ${event.path} is hung (${event.detail}); its model call is aborted`);
    if (event.type === 'failed') {
      crashed.push(event.path);
      print(`${stamp()} supervisor    ${event.path} crashed (${event.reason}); the runtime answers its open request failure`);
    }
    if (event.type === 'restarted') {
      restarted.push(event.path);
      print(`${stamp()} supervisor    ${event.path} restarted at once (one-for-one); the others keep working`);
    }
  });

  announceInspector(system, options.inspector, print);

  try {
    const plan = await system.request('/planner', question, { timeoutMs: 60_000, expect: Plan });
    const subquestions = [...plan.content.subquestions, question, question, question].slice(0, RESEARCHERS.length);
    print(`${stamp()} plan: ${subquestions.map((sub, i) => `${i + 1}. ${sub}`).join('  ')}`);

    // A request lost to a crash is sent once more, to the restarted incarnation at the same
    // path: only that researcher's work is redone, as soon as it failed.
    const redone: string[] = [];
    const askRedoingOnce: Asker = async (input, signal) => {
      const ask = () => system.request(input.to, input.content, { timeoutMs: input.timeoutMs, signal });
      try {
        return await ask();
      } catch (error) {
        if (!(error instanceof FailureError && LOST_TO_A_RESTART.has(error.reason ?? ''))) throw error;
        const name = input.to.slice(input.to.lastIndexOf('/') + 1);
        redone.push(name);
        print(`${stamp()} ${name.padEnd(12)} request answered failure (${error.reason}); sending it again to its new incarnation`);
        return ask();
      }
    };
    const researchStarted = performance.now();
    const research = await fanOut(askRedoingOnce, RESEARCHERS.map((id, i) => ({ to: `/research/${id}`, content: subquestions[i] })), { deadlineMs: 60_000 });
    const researchWallMs = performance.now() - researchStarted;
    print(`${stamp()} research: ${research.outcomes.map((outcome, i) => `${RESEARCHERS[i]} ${outcome.status === 'failure' ? `failure (${outcome.reason})` : outcome.status}`).join(', ')}`);
    const findings = research.outcomes.map((outcome) => (outcome.status === 'inform' ? (outcome.message.content as string) : undefined));
    const kept = findings.filter((finding): finding is string => finding !== undefined);
    const merged = await system.request('/evaluator', `Question: ${question}\nFindings:\n${kept.map((finding) => `- ${finding}`).join('\n')}`, { timeoutMs: 60_000 });
    const answer = merged.content as string;
    const wallMs = performance.now() - started;
    print('');
    print(`Answer: ${answer}`);
    print('');
    print(`Wall time ${Math.round(wallMs)} ms for ${modelCalls} model calls; one after another they take ${Math.round(sequentialMs)} ms: ${(sequentialMs / wallMs).toFixed(1)}x faster in parallel.`);
    print(`Research alone: ${Math.round(researchWallMs)} ms for model calls that take ${Math.round(researchSequentialMs)} ms one after another (${(researchSequentialMs / researchWallMs).toFixed(1)}x); the slowest researcher (crash and redo included) sets the pace, not the sum.`);
    print(`Researchers ran up to ${maxParallelCalls} model calls at once; crashes: ${crashed.join(', ') || 'none'}; restarts: ${restarted.join(', ') || 'none'}; work redone: ${redone.join(', ') || 'none'}.`);
    print(`Limiter: at most ${limiter.metrics.maxActive} calls at once (limit ${limiter.maxConcurrent}), longest queue wait ${Math.round(limiter.metrics.waitMs.max)} ms.`);
    if (system.inspector !== undefined) await options.beforeStop?.();
    return {
      mode: target.mode,
      subquestions,
      redone,
      crashed,
      restarts: Object.fromEntries(RESEARCHERS.map((id) => [id, system.lookup(`/research/${id}`)?.restarts ?? 0])),
      findings: kept,
      answer,
      wallMs,
      sequentialMs,
      researchWallMs,
      researchSequentialMs,
      modelCalls,
      maxParallelCalls,
    };
  } finally {
    await system.stop();
    await target.server?.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main({ inspector: inspectorOptions(process.argv.slice(2)), beforeStop: () => untilInterrupted() });
