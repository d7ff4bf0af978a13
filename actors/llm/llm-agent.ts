/**
 * An LLM agent: a plain XState machine over the `openai` SDK's chat completions.
 *
 *   idle → callingModel (busy) ⇄ runningTools (busy) → idle (answering on the way)
 *
 * A `request` is a task (a string, or `{ task }`, or any content, sent as JSON). It is
 * answered `inform` with the final text (or the structured output, checked with the `output`
 * zod schema), or `failure` with `{ reason, detail }`. Requests that arrive while it works
 * wait in its context, in order.
 */
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletion, ChatCompletionAssistantMessageParam, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageFunctionToolCall, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { and, assign, enqueueActions, fromPromise, setup, type AnyActorRef } from 'xstate';
import type { z } from 'zod';
import { parentOf } from '../../src/runtime/xstate-adapter.js';
import { askFromActor } from '../../src/agent/ask.js';
import { reply, STOPPING } from '../../src/agent/actions.js';
import { defineAgent, type AgentDefinition } from '../../src/agent/define-agent.js';
import type { AclMessage } from '../../src/acl/message.js';
import { freezeContent } from '../../src/acl/content.js';
import { describeIssues } from '../../src/acl/schema-check.js';
import type { ReasonFrom } from '../../src/runtime/error-catalogue.js';
import { ConfigurationError } from '../../src/runtime/errors.js';
import { isTimerDelay, MAX_TIMER_MS } from '../../src/runtime/timeouts.js';
import type { Heartbeat } from '../../src/runtime/tree.js';
import { resolveMailboxOptions, type MailboxOptions } from '../../src/runtime/mailbox.js';
import { createLimiter, type Limiter } from '../limiter/limiter.js';
import { remember, resolveMemory, type MemoryOptions } from './memory.js';
import { callModel, ModelCallError, type ModelFailureReason } from './model-call.js';
import { runToolCall, toolDefinitions, type Tool } from './tools.js';

export interface LlmAgentOptions {
  /** For logs and progress events (default `llm-agent`); the address comes from the tree. */
  readonly name?: string;
  readonly model: string;
  /** The system message of every call. */
  readonly instructions: string;
  readonly tools?: readonly Tool[];
  /** Default: an OpenAI client from OPENAI_API_KEY / OPENAI_BASE_URL (a base URL alone needs no key), built at first use. */
  readonly client?: OpenAI;
  /** Share one limiter across agents to bound a provider's load; default: a private one (retries only). */
  readonly limiter?: Limiter;
  readonly memory?: MemoryOptions;
  /** Structured output: the answer is JSON checked with this schema (sent with the SDK's `zodResponseFormat`). */
  readonly output?: z.ZodType;
  /** Deadline of each model call, queue wait and retries included (default 60,000 ms; a request's reply-by shortens it). */
  readonly deadlineMs?: number;
  /** Most tool rounds in one task (default 8); a model asking for more is answered `failure`. */
  readonly maxToolRounds?: number;
  readonly temperature?: number;
  readonly heartbeat?: Heartbeat;
  /** Its capacity also bounds the tasks waiting while it works; one more is answered `failure` `mailbox-full`. */
  readonly mailbox?: MailboxOptions;
  /** Progress of this agent (model calls, tool calls, answers), e.g. for live output. */
  readonly observe?: (event: LlmAgentEvent) => void;
}

export type LlmAgentEvent =
  | { readonly type: 'task'; readonly agent: string; readonly task: string }
  | { readonly type: 'model-call'; readonly agent: string; readonly round: number }
  | { readonly type: 'model-answer'; readonly agent: string; readonly ms: number; readonly toolCalls: readonly string[]; readonly totalTokens: number | undefined }
  /**
   * The call failed or ran out of time (`reason` as in the `failure` answer). A call aborted
   * because the agent stopped, crashed or hung is not reported here (the agent is gone): the
   * system's `stopped`, `failed` and `hung` events tell.
   */
  | { readonly type: 'model-failed'; readonly agent: string; readonly ms: number; readonly reason: ModelFailureReason }
  | { readonly type: 'tool-calls'; readonly agent: string; readonly tools: readonly string[] }
  | { readonly type: 'answered'; readonly agent: string; readonly content: unknown }
  | { readonly type: 'failed'; readonly agent: string; readonly reason: LlmFailureReason; readonly detail: string };

/** The reasons of the `failure` answers an LLM agent sends. */
type LlmFailureReason = ReasonFrom<'llm-agent'>;

/** The content of an LLM agent's `failure` answer. */
interface Failure {
  readonly reason: LlmFailureReason;
  readonly detail: string;
}

/** What the model's answer came to. */
type Outcome = { readonly ok: true; readonly content: unknown } | ({ readonly ok: false } & Failure);

interface LlmContext {
  /** Earlier tasks' exchanges, bounded (private memory). */
  readonly history: readonly ChatCompletionMessageParam[];
  /** Requests that arrived while working, oldest first. */
  readonly waiting: readonly AclMessage[];
  readonly task: AclMessage | undefined;
  /** This task's messages so far (user, assistant, tool). */
  readonly turn: readonly ChatCompletionMessageParam[];
  readonly rounds: number;
  readonly pendingCalls: readonly ChatCompletionMessageFunctionToolCall[];
  readonly outcome: Outcome | undefined;
  /** performance.now() when the current model call started. */
  readonly callStartedAt: number;
}

const EMPTY: LlmContext = { history: [], waiting: [], task: undefined, turn: [], rounds: 0, pendingCalls: [], outcome: undefined, callStartedAt: 0 };

/** How long a task's model calls may take when `deadlineMs` is left out. */
const DEFAULT_DEADLINE_MS = 60_000;

function taskText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (typeof content === 'object' && content !== null && typeof (content as { task?: unknown }).task === 'string') return (content as { task: string }).task;
  return JSON.stringify(content) ?? '';
}

/** The path of the agent running this invoked logic (the runtime names each agent's actor by its path). */
function agentPath(self: AnyActorRef): string | undefined {
  const id = (parentOf(self) as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' && id.startsWith('/') ? id : undefined;
}

function sameTask(task: AclMessage, cancel: AclMessage): boolean {
  return task.conversationId === cancel.conversationId && task.sender === cancel.sender;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkOptions(options: LlmAgentOptions): void {
  const where = `llmAgent(${String(options?.name)})`;
  if (typeof options.model !== 'string' || options.model.length === 0) throw new ConfigurationError('invalid-agent', `${where}: \`model\` must be a non-empty string`);
  if (typeof options.instructions !== 'string') throw new ConfigurationError('invalid-agent', `${where}: \`instructions\` must be a string`);
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  if (!isTimerDelay(deadlineMs)) throw new ConfigurationError('invalid-agent', `${where}: deadlineMs must be a number of ms > 0 and ≤ ${MAX_TIMER_MS} (a timer's longest delay), got ${String(deadlineMs)}`);
  const rounds = options.maxToolRounds ?? 8;
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new ConfigurationError('invalid-agent', `${where}: maxToolRounds must be a whole number ≥ 1`);
  const names = new Set<string>();
  for (const entry of options.tools ?? []) {
    if (entry?.kind !== 'function' && entry?.kind !== 'agent') throw new ConfigurationError('invalid-agent', `${where}: every tool must come from tool() or agentTool()`);
    if (names.has(entry.name)) throw new ConfigurationError('invalid-agent', `${where}: two tools are named ${entry.name}`);
    names.add(entry.name);
  }
}

/** Reads the final answer: the text, or the structured output checked with `output`. */
function readAnswer(message: ChatCompletion['choices'][number]['message'], output: z.ZodType | undefined): Outcome {
  if (typeof message.refusal === 'string' && message.refusal.length > 0) return { ok: false, reason: 'model-refused', detail: message.refusal };
  const text = message.content;
  if (typeof text !== 'string') return { ok: false, reason: 'malformed-output', detail: 'the model answered with neither text nor tool calls' };
  if (output === undefined) return { ok: true, content: text };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: 'malformed-output', detail: `structured output is not JSON: ${describe(error)}` };
  }
  let parsed: ReturnType<z.ZodType['safeParse']>;
  try {
    parsed = output.safeParse(json);
  } catch (error) {
    // A refine or transform that throws on what the model wrote: the answer is not accepted, and
    // the agent must not crash on it (a model repeating it would crash it past its restart intensity).
    return { ok: false, reason: 'malformed-output', detail: `the output schema threw on the model's answer: ${describe(error)}` };
  }
  if (!parsed.success) return { ok: false, reason: 'malformed-output', detail: `structured output does not match the schema: ${describeIssues(parsed.error.issues, '(output)')}` };
  try {
    return { ok: true, content: freezeContent(parsed.data) };
  } catch (error) {
    return { ok: false, reason: 'malformed-output', detail: `structured output is not plain data: ${describe(error)}` };
  }
}

function functionCalls(message: ChatCompletion['choices'][number]['message']): ChatCompletionMessageFunctionToolCall[] {
  return (message.tool_calls ?? []).filter((call): call is ChatCompletionMessageFunctionToolCall => call.type === 'function');
}

function assistantMessage(message: ChatCompletion['choices'][number]['message']): ChatCompletionAssistantMessageParam {
  const calls = functionCalls(message);
  return calls.length > 0 ? { role: 'assistant', content: message.content ?? null, tool_calls: calls.map(({ id, type, function: fn }) => ({ id, type, function: { name: fn.name, arguments: fn.arguments } })) } : { role: 'assistant', content: message.content ?? '' };
}

function outputFormat(options: LlmAgentOptions): ReturnType<typeof zodResponseFormat> {
  try {
    return zodResponseFormat(options.output as z.ZodType, `${(options.name ?? 'llm-agent').replace(/[^a-zA-Z0-9_-]/g, '_')}_output`);
  } catch (error) {
    throw new ConfigurationError('invalid-agent', `llmAgent(${String(options.name)}): \`output\` cannot be sent as a JSON schema (${describe(error)}); use a schema without transforms`);
  }
}

/** Defines an LLM agent; supervise it like any agent (its memory resets or resumes per the child spec's `onRestart`). */
export function llmAgent(options: LlmAgentOptions): AgentDefinition {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('invalid-agent', 'llmAgent needs an options object');
  checkOptions(options);
  const memory = resolveMemory(options.memory);
  const tools = options.tools ?? [];
  const definitions = tools.length > 0 ? toolDefinitions(tools) : undefined;
  const responseFormat = options.output === undefined ? undefined : outputFormat(options);
  const limiter = options.limiter ?? createLimiter();
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const maxToolRounds = options.maxToolRounds ?? 8;
  const observe = options.observe ?? (() => undefined);
  let defaultClient: OpenAI | undefined;
  // OPENAI_BASE_URL alone (Ollama, vLLM, llama.cpp) needs no key; the SDK insists on one.
  const client = (): OpenAI => options.client ?? (defaultClient ??= new OpenAI({ apiKey: process.env.OPENAI_API_KEY ?? (process.env.OPENAI_BASE_URL === undefined ? undefined : 'none') }));
  const agent = options.name ?? 'llm-agent';
  const mailbox = resolveMailboxOptions(options.mailbox);

  const messagesFor = (context: LlmContext): ChatCompletionMessageParam[] => [{ role: 'system', content: options.instructions }, ...context.history, ...context.turn];
  const deadlineFor = (task: AclMessage | undefined): number => (task?.replyBy === undefined ? deadlineMs : Math.max(1, Math.min(deadlineMs, task.replyBy - Date.now())));

  const machine = setup({
    types: { context: {} as LlmContext, events: {} as AclMessage },
    actors: {
      // Progress is reported by actions, not here: an observer that throws is then a crash of the agent, always.
      callModel: fromPromise<ChatCompletion, { body: ChatCompletionCreateParamsNonStreaming; deadlineMs: number }>(({ input, signal, self }) =>
        callModel({ client: client(), limiter, key: agentPath(self) ?? agent, body: input.body, deadlineMs: input.deadlineMs }, signal),
      ),
      runTools: fromPromise<ChatCompletionMessageParam[], { calls: readonly ChatCompletionMessageFunctionToolCall[] }>(({ input, self, signal }) => {
        // All of one turn's calls at once: the slowest tool sets the pace, not their sum.
        return Promise.all(input.calls.map((call) => runToolCall(tools, call, (askInput, askSignal) => askFromActor(self, askInput, askSignal), signal)));
      }),
    },
    guards: {
      hasWaiting: ({ context }) => context.waiting.length > 0,
      // Waiting tasks left the mailbox, so its bound must hold here too.
      waitingFull: ({ context }) => context.waiting.length >= mailbox.capacity,
      // Its asker has given up: a model call for it would be paid for and thrown away.
      nextExpired: ({ context }) => {
        const replyBy = context.waiting[0]?.replyBy;
        return replyBy !== undefined && replyBy <= Date.now();
      },
      wantsTools: ({ event }) => {
        const message = (event as unknown as { output: ChatCompletion }).output.choices[0]?.message;
        return message !== undefined && functionCalls(message).length > 0;
      },
      tooManyRounds: ({ context }) => context.rounds >= maxToolRounds,
      // A FIPA cancel names the task by its conversation, and only its own asker may send it.
      cancelsTask: ({ context, event }) => context.task !== undefined && sameTask(context.task, event),
      cancelsWaiting: ({ context, event }) => context.waiting.some((waiting) => sameTask(waiting, event)),
    },
    actions: {
      startCall: assign(({ context }) => {
        observe({ type: 'model-call', agent, round: context.rounds });
        return { callStartedAt: performance.now() };
      }),
      reportAnswer: ({ context, event }) => {
        const completion = (event as unknown as { output: ChatCompletion }).output;
        const message = completion.choices[0]?.message;
        observe({ type: 'model-answer', agent, ms: performance.now() - context.callStartedAt, toolCalls: message === undefined ? [] : functionCalls(message).map((call) => call.function.name), totalTokens: completion.usage?.total_tokens });
      },
      reportCallFailed: ({ context, event }) => {
        const error = (event as unknown as { error: unknown }).error;
        observe({ type: 'model-failed', agent, ms: performance.now() - context.callStartedAt, reason: error instanceof ModelCallError ? error.reason : 'model-error' });
      },
      reportTools: ({ context }) => observe({ type: 'tool-calls', agent, tools: context.pendingCalls.map((call) => call.function.name) }),
      startTask: assign(({ context, event }) => {
        observe({ type: 'task', agent, task: taskText(event.content) });
        return { task: event, turn: [{ role: 'user' as const, content: taskText(event.content) }], rounds: 0, pendingCalls: [], outcome: undefined, history: context.history, waiting: context.waiting };
      }),
      startNextWaiting: assign(({ context }) => {
        const [next, ...rest] = context.waiting;
        const task = next as AclMessage;
        observe({ type: 'task', agent, task: taskText(task.content) });
        return { task, waiting: rest, turn: [{ role: 'user' as const, content: taskText(task.content) }], rounds: 0, pendingCalls: [], outcome: undefined };
      }),
      keepWaiting: assign({ waiting: ({ context, event }) => [...context.waiting, event] }),
      refuseFull: reply<LlmContext, AclMessage>('failure', (): Failure => ({ reason: 'mailbox-full', detail: `${agent} already has ${mailbox.capacity} tasks waiting (its mailbox capacity); try again later or raise mailbox.capacity` })),
      answerExpired: reply<LlmContext, AclMessage>('failure', (): Failure => ({ reason: 'deadline', detail: `the reply-by deadline passed while the task waited for ${agent}` }), { to: ({ context }) => context.waiting[0] as AclMessage }),
      dropFirstWaiting: assign({ waiting: ({ context }) => context.waiting.slice(1) }),
      confirmCancel: reply<LlmContext, AclMessage>('inform', ({ event }) => ({ cancelled: event.conversationId })),
      refuseCancel: reply<LlmContext, AclMessage>('failure', ({ event }): Failure => ({ reason: 'no-such-task', detail: `${agent} has no task of ${event.sender} in conversation ${event.conversationId} to cancel` })),
      cancelTask: assign({ outcome: (): Outcome => ({ ok: false, reason: 'cancelled', detail: `the asker cancelled the task; its model call and tools were aborted` }) }),
      answerCancelledWaiting: enqueueActions(({ context, event, enqueue }) => {
        for (const waiting of context.waiting.filter((candidate) => sameTask(candidate, event))) {
          enqueue(reply<LlmContext, AclMessage>('failure', { reason: 'cancelled', detail: 'the asker cancelled the task before it started' } satisfies Failure, { to: () => waiting }));
        }
      }),
      answerWaitingStopping: enqueueActions(({ context, enqueue }) => {
        for (const waiting of context.waiting) {
          enqueue(reply<LlmContext, AclMessage>('failure', { reason: 'agent-stopping', detail: `${agent} is stopping: the task waited and was never started` } satisfies Failure, { to: () => waiting }));
        }
      }),
      dropAllWaiting: assign({ waiting: [] }),
      dropCancelledWaiting: assign({ waiting: ({ context, event }) => context.waiting.filter((candidate) => !sameTask(candidate, event)) }),
      answerInform: reply<LlmContext, AclMessage>('inform', ({ context }) => (context.outcome as { content: unknown }).content as string, { to: ({ context }) => context.task as AclMessage }),
      answerFailure: reply<LlmContext, AclMessage>(
        'failure',
        ({ context }) => {
          const outcome = context.outcome as Exclude<Outcome, { ok: true }>;
          return { reason: outcome.reason, detail: outcome.detail };
        },
        { to: ({ context }) => context.task as AclMessage },
      ),
      report: ({ context }) => {
        const outcome = context.outcome;
        if (outcome?.ok === true) observe({ type: 'answered', agent, content: outcome.content });
        else if (outcome !== undefined) observe({ type: 'failed', agent, reason: outcome.reason, detail: outcome.detail });
      },
      rememberTask: assign(({ context }) => {
        const outcome = context.outcome;
        const final: ChatCompletionMessageParam[] = outcome?.ok === true ? [{ role: 'assistant', content: typeof outcome.content === 'string' ? outcome.content : JSON.stringify(outcome.content) }] : [];
        return { history: remember(context.history, [...context.turn.filter((message) => message.role === 'user').slice(0, 1), ...final], memory), task: undefined, turn: [], pendingCalls: [] };
      }),
      clearTask: assign({ task: undefined, turn: [], pendingCalls: [] }),
      // Done with the task, in the transition that ends it: a transient `answering` state would cost every task one more microstep.
      finishTask: enqueueActions(({ context, enqueue }) => {
        enqueue('report');
        if (context.outcome?.ok === true) {
          enqueue('answerInform');
          enqueue('rememberTask');
        } else {
          enqueue('answerFailure');
          enqueue('clearTask');
        }
      }),
    },
  }).createMachine({
    id: 'llm-agent',
    context: EMPTY,
    initial: 'idle',
    on: {
      request: [{ guard: 'waitingFull', actions: 'refuseFull' }, { actions: 'keepWaiting' }],
      cancel: [{ guard: 'cancelsWaiting', actions: ['answerCancelledWaiting', 'dropCancelledWaiting', 'confirmCancel'] }, { actions: 'refuseCancel' }],
      // A stop for good is coming: the tasks waiting are answered now, the one under way finishes.
      [STOPPING]: { actions: ['answerWaitingStopping', 'dropAllWaiting'] },
    },
    states: {
      idle: {
        always: [
          { guard: 'nextExpired', actions: ['answerExpired', 'dropFirstWaiting'] },
          { guard: 'hasWaiting', target: 'callingModel', actions: 'startNextWaiting' },
        ],
        on: { request: { target: 'callingModel', actions: 'startTask' } },
      },
      callingModel: {
        tags: ['busy'],
        entry: 'startCall',
        // Leaving the state stops the invoked call: the HTTP request is aborted.
        on: { cancel: { guard: 'cancelsTask', target: 'idle', actions: ['confirmCancel', 'cancelTask', 'finishTask'] } },
        invoke: {
          src: 'callModel',
          input: ({ context }) => ({
            body: { model: options.model, messages: messagesFor(context), ...(definitions === undefined ? {} : { tools: definitions }), ...(responseFormat === undefined ? {} : { response_format: responseFormat }), ...(options.temperature === undefined ? {} : { temperature: options.temperature }) },
            deadlineMs: deadlineFor(context.task),
          }),
          onDone: [
            { guard: and(['wantsTools', 'tooManyRounds']), target: 'idle', actions: ['reportAnswer', assign({ outcome: (): Outcome => ({ ok: false, reason: 'too-many-tool-rounds', detail: `the model asked for tools again after ${maxToolRounds} tool rounds; raise maxToolRounds or change the instructions` }) }), 'finishTask'] },
            { guard: 'wantsTools', target: 'runningTools', actions: ['reportAnswer', assign(({ context, event }) => {
              const message = event.output.choices[0]?.message as ChatCompletion['choices'][number]['message'];
              return { turn: [...context.turn, assistantMessage(message)], pendingCalls: functionCalls(message) };
            })] },
            { target: 'idle', actions: ['reportAnswer', assign({ outcome: ({ event }) => readAnswer(event.output.choices[0]?.message as ChatCompletion['choices'][number]['message'], options.output) }), 'finishTask'] },
          ],
          onError: {
            target: 'idle',
            actions: [
              'reportCallFailed',
              assign({
                outcome: ({ event }): Outcome => {
                  const error = event.error;
                  const reason: ModelFailureReason = error instanceof ModelCallError ? error.reason : 'model-error';
                  return { ok: false, reason, detail: describe(error) };
                },
              }),
              'finishTask',
            ],
          },
        },
      },
      runningTools: {
        tags: ['busy'],
        entry: 'reportTools',
        on: { cancel: { guard: 'cancelsTask', target: 'idle', actions: ['confirmCancel', 'cancelTask', 'finishTask'] } },
        invoke: {
          src: 'runTools',
          input: ({ context }) => ({ calls: context.pendingCalls }),
          onDone: { target: 'callingModel', actions: assign(({ context, event }) => ({ turn: [...context.turn, ...event.output], pendingCalls: [], rounds: context.rounds + 1 })) },
          onError: { target: 'idle', actions: [assign({ outcome: ({ event }): Outcome => ({ ok: false, reason: 'tool-error', detail: describe(event.error) }) }), 'finishTask'] },
        },
      },
    },
  });

  return defineAgent({ name: agent, machine, heartbeat: options.heartbeat, mailbox: options.mailbox });
}
