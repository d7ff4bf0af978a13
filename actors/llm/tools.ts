/**
 * Tools an LLM agent offers its model: a typed function (zod parameters) or another agent,
 * asked with `request` (so it is supervised like any agent). Whatever goes wrong in a tool
 * (unknown name, arguments that are not JSON or fail the schema, a throw, a failure answer,
 * a deadline) becomes the tool's result for the model to read, never a crash of the agent.
 */
import type { ChatCompletionFunctionTool, ChatCompletionMessageFunctionToolCall, ChatCompletionToolMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { AskInput } from '../../src/agent/ask.js';
import type { AclMessage } from '../../src/acl/message.js';
import { describeIssues } from '../../src/acl/schema-check.js';
import { ConfigurationError } from '../../src/runtime/errors.js';
import { isTimerDelay, MAX_TIMER_MS } from '../../src/runtime/timeouts.js';

export interface ToolContext {
  /** Fires when the agent stops, restarts or gives up on the turn, or the tool's `timeoutMs` passes. */
  readonly signal: AbortSignal;
}

export interface FunctionTool<P extends z.ZodType = z.ZodType> {
  readonly kind: 'function';
  readonly name: string;
  readonly description: string;
  readonly parameters: P;
  readonly run: (args: z.output<P>, context: ToolContext) => unknown;
  /** Default 30,000 ms; past it the model gets an error as the tool's result and `signal` fires. */
  readonly timeoutMs: number;
}

export interface AgentTool {
  readonly kind: 'agent';
  readonly name: string;
  readonly description: string;
  /** Path of the agent asked with `request`; its `inform` content is the tool result. */
  readonly path: string;
  readonly parameters: z.ZodType;
  /** Default 30,000 ms. */
  readonly timeoutMs: number;
}

export type Tool = FunctionTool | AgentTool;

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function checkName(name: string): void {
  if (typeof name !== 'string' || !TOOL_NAME.test(name)) throw new ConfigurationError('invalid-tool', `tool name ${JSON.stringify(name)} must be 1-64 letters, digits, _ or - (OpenAI's rule)`);
}

/** A function tool: the model's arguments are checked with `parameters` before `run` sees them. */
export function tool<P extends z.ZodType>(options: { name: string; description: string; parameters: P; run: (args: z.output<P>, context: ToolContext) => unknown; timeoutMs?: number }): FunctionTool<P> {
  checkName(options.name);
  if (typeof options.run !== 'function') throw new ConfigurationError('invalid-tool', `tool ${options.name}: \`run\` must be a function`);
  if (typeof (options.parameters as { safeParse?: unknown } | undefined)?.safeParse !== 'function') throw new ConfigurationError('invalid-tool', `tool ${options.name}: \`parameters\` must be a zod schema`);
  const timeoutMs = checkTimeout(options.name, options.timeoutMs);
  return Object.freeze({ kind: 'function', name: options.name, description: options.description, parameters: options.parameters, run: options.run, timeoutMs });
}

function checkTimeout(name: string, value: number | undefined): number {
  const timeoutMs = value ?? 30_000;
  if (!isTimerDelay(timeoutMs)) throw new ConfigurationError('invalid-tool', `tool ${name}: timeoutMs must be a number of ms > 0 and ≤ ${MAX_TIMER_MS}, got ${String(value)}`);
  return timeoutMs;
}

/** Another agent as a tool: asked with `request` and the model's arguments as content. */
export function agentTool(options: { name: string; description: string; path: string; parameters?: z.ZodType; timeoutMs?: number }): AgentTool {
  checkName(options.name);
  if (typeof options.path !== 'string' || !options.path.startsWith('/')) throw new ConfigurationError('invalid-tool', `tool ${options.name}: \`path\` must be an agent path starting with /, got ${String(options.path)}`);
  const timeoutMs = checkTimeout(options.name, options.timeoutMs);
  return Object.freeze({ kind: 'agent', name: options.name, description: options.description, path: options.path, parameters: options.parameters ?? z.object({}).loose(), timeoutMs });
}

/** The tool list sent to the model. */
export function toolDefinitions(tools: readonly Tool[]): ChatCompletionFunctionTool[] {
  return tools.map((entry) => ({
    type: 'function',
    function: { name: entry.name, description: entry.description, parameters: z.toJSONSchema(entry.parameters, { io: 'input' }) as Record<string, unknown> },
  }));
}

export type Ask = (input: AskInput, signal: AbortSignal) => Promise<AclMessage>;

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? 'null';
}

/** Runs a function tool; past its `timeoutMs` it rejects and its signal fires (the agent's signal fires it too). */
async function runWithTimeout(entry: FunctionTool, args: unknown, signal: AbortSignal): Promise<unknown> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`it took longer than its timeoutMs of ${entry.timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, entry.timeoutMs);
  });
  try {
    // A tool that ignores its signal may still settle later; race() has handled its outcome.
    return await Promise.race([Promise.resolve().then(() => entry.run(args, { signal: controller.signal })), timedOut]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** Runs one tool call; always resolves with the tool message for the model. */
export async function runToolCall(tools: readonly Tool[], call: ChatCompletionMessageFunctionToolCall, ask: Ask, signal: AbortSignal): Promise<ChatCompletionToolMessageParam> {
  const answer = (content: string): ChatCompletionToolMessageParam => ({ role: 'tool', tool_call_id: call.id, content });
  const entry = tools.find((candidate) => candidate.name === call.function.name);
  if (entry === undefined) return answer(asText({ error: `unknown tool ${JSON.stringify(call.function.name)}; available: ${tools.map((t) => t.name).join(', ') || 'none'}` }));
  let raw: unknown;
  try {
    raw = call.function.arguments.trim() === '' ? {} : JSON.parse(call.function.arguments);
  } catch (error) {
    return answer(asText({ error: `arguments for ${entry.name} are not JSON: ${describeError(error)}` }));
  }
  const parsed = entry.parameters.safeParse(raw);
  if (!parsed.success) return answer(asText({ error: `invalid arguments for ${entry.name}: ${describeIssues(parsed.error.issues, '(arguments)')}` }));
  try {
    if (entry.kind === 'function') return answer(asText(await runWithTimeout(entry, parsed.data, signal)));
    const reply = await ask({ to: entry.path, content: parsed.data, timeoutMs: entry.timeoutMs }, signal);
    return answer(asText(reply.content));
  } catch (error) {
    if (signal.aborted) throw error; // the turn is over: nobody reads this result
    return answer(asText({ error: `${entry.name} failed: ${describeError(error)}` }));
  }
}
