/**
 * One model call: chat completions through the shared limiter, with a deadline and the
 * agent's AbortSignal (stopping or restarting the agent aborts the HTTP request). The
 * SDK's own retries are off; the limiter's retry policy decides.
 */
import type OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { CodeOf } from '../../src/runtime/error-catalogue.js';
import { TroupeError } from '../../src/runtime/errors.js';
import { RateLimitedError, type Limiter } from '../limiter/limiter.js';
import { messageTokens } from './memory.js';

export type ModelFailureReason = CodeOf<'ModelCallError'>;

/** A model call or its answer went wrong; `reason` is what the agent's `failure` answer carries. */
export class ModelCallError extends TroupeError {
  constructor(
    readonly reason: ModelFailureReason,
    message: string,
    cause?: unknown,
  ) {
    super(reason, message, cause === undefined ? undefined : { cause });
  }
}

export interface ModelCall {
  readonly client: OpenAI;
  readonly limiter: Limiter;
  /** Who calls, for the limiter's fair queue. */
  readonly key: string;
  readonly body: ChatCompletionCreateParamsNonStreaming;
  /** Covers the queue wait, every attempt and every retry wait. */
  readonly deadlineMs: number;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What is wrong with the shape of a completion, or undefined. Checked here, in the call, so
 * that the agent's guards and actions can read it without throwing (a throw there is a crash).
 */
function malformation(completion: unknown): string | undefined {
  const choices = (completion as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices) || choices.length === 0) return 'no choices';
  const message = (choices[0] as { message?: unknown } | null)?.message;
  if (typeof message !== 'object' || message === null) return 'no choices[0].message';
  const { content, tool_calls: calls } = message as { content?: unknown; tool_calls?: unknown };
  if (content !== undefined && content !== null && typeof content !== 'string') return 'content is neither text nor null';
  if (calls === undefined || calls === null) return undefined;
  if (!Array.isArray(calls)) return 'tool_calls is not an array';
  for (const entry of calls as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return 'a tool call that is not an object';
    const { id, type, function: fn } = entry as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } | null };
    if (type !== 'function') continue; // other kinds (custom tools) are not offered, so they are ignored
    if (typeof id !== 'string' || typeof fn?.name !== 'string' || typeof fn.arguments !== 'string') return 'a function tool call without a string id, name and arguments';
  }
  return undefined;
}

export async function callModel(call: ModelCall, signal: AbortSignal): Promise<ChatCompletion> {
  const controller = new AbortController();
  // Built only when the deadline passes: an error's stack capture is a real cost on every call.
  let deadline: ModelCallError | undefined;
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    deadline = new ModelCallError('model-deadline', `the model call to ${call.body.model} took longer than its deadline of ${call.deadlineMs} ms; raise deadlineMs or check the provider`);
    controller.abort(deadline);
  }, call.deadlineMs);
  if (signal.aborted) onAbort();
  try {
    const completion = await call.limiter.run(({ signal: attemptSignal }) => call.client.chat.completions.create(call.body, { signal: attemptSignal, maxRetries: 0 }), {
      key: call.key,
      signal: controller.signal,
      deadlineAt: Date.now() + call.deadlineMs,
      // Counted only where a token budget needs it: it walks the whole conversation.
      estimatedTokens: call.limiter.tokensPerMinute === Number.POSITIVE_INFINITY ? 1 : call.body.messages.reduce((sum, message) => sum + messageTokens(message), 0),
      tokensUsed: (result) => {
        const total = (result as Partial<ChatCompletion> | null)?.usage?.total_tokens;
        return typeof total === 'number' ? total : undefined;
      },
    });
    const problem = malformation(completion);
    if (problem !== undefined) throw new ModelCallError('malformed-output', `the model's answer is not a chat completion (${problem}): ${String(JSON.stringify(completion)).slice(0, 200)}`);
    return completion;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (deadline !== undefined && controller.signal.reason === deadline) throw deadline;
    if (error instanceof ModelCallError) throw error;
    if (error instanceof RateLimitedError) throw new ModelCallError('rate-limited', `the model call to ${call.body.model} was not sent: ${error.message}`, error);
    if (error instanceof SyntaxError) throw new ModelCallError('malformed-output', `the model's HTTP answer is not valid JSON: ${error.message}`, error);
    throw new ModelCallError('model-error', `the model call to ${call.body.model} failed: ${describe(error)}`, error);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
