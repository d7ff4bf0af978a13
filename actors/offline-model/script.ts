/**
 * What the offline model answers: a script maps each chat-completions request to a reply,
 * a tool call, or a fault. Deterministic by construction: the same requests give the same replies.
 */

export interface OfflineMessage {
  readonly role: string;
  readonly content?: unknown;
  readonly name?: string;
  readonly tool_call_id?: string;
  readonly tool_calls?: readonly { readonly id: string; readonly function: { readonly name: string; readonly arguments: string } }[];
}

/** One chat-completions request as the server received it. */
export interface OfflineRequest {
  /** 1 for the first request this server received. */
  readonly index: number;
  readonly model: string;
  readonly messages: readonly OfflineMessage[];
  readonly tools: readonly { readonly function: { readonly name: string } }[];
  /** The `response_format` the client asked for, if any (`json_schema` for structured output). */
  readonly responseFormat: unknown;
}

export interface OfflineToolCall {
  readonly name: string;
  readonly arguments: unknown;
}

export type OfflineFault =
  /** HTTP 429 with `retry-after` (seconds, rounded up) and `retry-after-ms`. */
  | { readonly fault: 'rate-limit'; readonly retryAfterMs: number }
  | { readonly fault: 'server-error'; readonly status?: number }
  /** Never answers; the connection stays open until the client closes it. */
  | { readonly fault: 'hang' }
  /** HTTP 200 with a body that is not JSON. */
  | { readonly fault: 'malformed' }
  /** HTTP 200 with this JSON body as it is: valid JSON, not necessarily a chat completion. */
  | { readonly fault: 'wrong-shape'; readonly body: unknown };

export type OfflineReply =
  | { readonly content: string; readonly latencyMs?: number }
  | { readonly toolCalls: readonly OfflineToolCall[]; readonly latencyMs?: number }
  | (OfflineFault & { readonly latencyMs?: number });

export type OfflineScript = (request: OfflineRequest) => OfflineReply | Promise<OfflineReply>;

/** The text of the last message with `role`, or '' (content parts are joined). */
export function lastText(request: OfflineRequest, role = 'user'): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i] as OfflineMessage;
    if (message.role === role) return textOf(message.content);
  }
  return '';
}

export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part === 'object' && part !== null && 'text' in part ? String((part as { text: unknown }).text) : '')).join('');
  return content === undefined || content === null ? '' : JSON.stringify(content);
}

/** Tool results the client sent back since the last assistant message, oldest first. */
export function toolResults(request: OfflineRequest): string[] {
  const results: string[] = [];
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i] as OfflineMessage;
    if (message.role !== 'tool') break;
    results.unshift(textOf(message.content));
  }
  return results;
}

/** The default script: answers `offline answer: <last user message>`, or the tool results it was given. */
export const echoScript: OfflineScript = (request) => {
  const results = toolResults(request);
  if (results.length > 0) return { content: `offline answer from tools: ${results.join(' | ')}` };
  return { content: `offline answer: ${lastText(request)}` };
};

/** A rough token count (4 characters a token), the same the LLM agent's memory uses. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
