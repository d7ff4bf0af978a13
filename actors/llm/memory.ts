/**
 * An LLM agent's private conversation history: what earlier tasks said, bounded by messages
 * and by (estimated) tokens. Trimming drops whole exchanges from the oldest end, so a tool
 * result is never kept without the assistant message that asked for it.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ConfigurationError } from '../../src/runtime/errors.js';

export interface MemoryOptions {
  /** Most messages kept across tasks (default 40; 0 keeps no history). */
  readonly maxMessages?: number;
  /** Most estimated tokens kept (4 characters a token; default Infinity). */
  readonly maxTokens?: number;
}

export interface MemoryLimits {
  readonly maxMessages: number;
  readonly maxTokens: number;
}

export function resolveMemory(options: MemoryOptions | undefined): MemoryLimits {
  const maxMessages = options?.maxMessages ?? 40;
  const maxTokens = options?.maxTokens ?? Number.POSITIVE_INFINITY;
  for (const [name, value] of [['maxMessages', maxMessages], ['maxTokens', maxTokens]] as const) {
    if (!(value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= 0))) {
      throw new ConfigurationError('invalid-agent', `llmAgent memory.${name} must be a whole number ≥ 0 or Infinity, got ${String(value)}`);
    }
  }
  return { maxMessages, maxTokens };
}

export function messageTokens(message: ChatCompletionMessageParam): number {
  const content = 'content' in message && message.content !== undefined && message.content !== null ? message.content : '';
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  const calls = 'tool_calls' in message && message.tool_calls !== undefined ? JSON.stringify(message.tool_calls) : '';
  return Math.ceil((text.length + calls.length) / 4) + 1;
}

/** `history` plus `added`, trimmed from the oldest end to the limits, starting at a user message. */
export function remember(history: readonly ChatCompletionMessageParam[], added: readonly ChatCompletionMessageParam[], limits: MemoryLimits): ChatCompletionMessageParam[] {
  const all = [...history, ...added];
  let start = Math.max(0, all.length - limits.maxMessages);
  if (limits.maxTokens !== Number.POSITIVE_INFINITY) {
    let tokens = all.slice(start).reduce((sum, message) => sum + messageTokens(message), 0);
    while (start < all.length && tokens > limits.maxTokens) tokens -= messageTokens(all[start++] as ChatCompletionMessageParam);
  }
  while (start < all.length && (all[start] as ChatCompletionMessageParam).role !== 'user') start++;
  return all.slice(start);
}
