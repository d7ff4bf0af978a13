/**
 * The offline model is a real OpenAI-compatible server: the real SDK reads its answers,
 * tool calls, usage and faults; it sees a client close the connection; bad requests get
 * clear 4xx errors.
 */
import OpenAI, { APIUserAbortError, InternalServerError, RateLimitError } from 'openai';
import { describe, expect, it } from 'vitest';
import { lastText } from '../../src/index.js';
import { barrier, offline, whenRequests } from './helpers.js';

const ask = (client: OpenAI, text: string, options?: { signal?: AbortSignal }) =>
  client.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: text }] }, { maxRetries: 0, ...options });

describe('offline model server', () => {
  it('answers chat completions with the echo script and usage counts', async () => {
    const { client } = await offline();
    const completion = await ask(client, 'hello there');
    expect(completion.choices[0]?.message.content).toBe('offline answer: hello there');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 3, completion_tokens: 7, total_tokens: 10 });
  });

  it('returns scripted tool calls in the OpenAI shape', async () => {
    const { client } = await offline({ script: () => ({ toolCalls: [{ name: 'search', arguments: { q: 'x' } }] }) });
    const message = (await ask(client, 'find x')).choices[0]?.message;
    expect(message?.tool_calls).toEqual([{ id: 'call_1_0', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }]);
  });

  it('serves faults: 429 with retry-after, 5xx, malformed JSON', async () => {
    const { client } = await offline({
      script: (request) => [{ fault: 'rate-limit', retryAfterMs: 1_500 } as const, { fault: 'server-error', status: 502 } as const, { fault: 'malformed' } as const][request.index - 1] ?? { content: 'ok' },
    });
    const limited = await ask(client, 'a').catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers.get('retry-after')).toBe('2');
    expect((limited as RateLimitError).headers.get('retry-after-ms')).toBe('1500');
    await expect(ask(client, 'b')).rejects.toBeInstanceOf(InternalServerError);
    await expect(ask(client, 'c')).rejects.toBeInstanceOf(SyntaxError);
  });

  it('sees the client close a hanging request', async () => {
    const { server, client } = await offline({ script: () => ({ fault: 'hang' }) });
    const controller = new AbortController();
    const call = ask(client, 'wait', { signal: controller.signal });
    await whenRequests(server, 1);
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(APIUserAbortError);
    await server.whenClientClosed(1);
    expect(server.stats).toMatchObject({ requests: 1, answered: 0, clientClosed: 1, inFlight: 0 });
  });

  it('counts concurrent requests', async () => {
    // Each answer waits until all three requests are in: in flight together, whatever the machine's load.
    const meet = barrier(3);
    const { server, client } = await offline({ script: async (request) => (await meet(), { content: lastText(request) }) });
    expect((await Promise.all([ask(client, 'one'), ask(client, 'two'), ask(client, 'three')])).map((completion) => completion.choices[0]?.message.content)).toEqual(['one', 'two', 'three']);
    expect(server.stats).toMatchObject({ maxInFlight: 3, inFlight: 0, answered: 3 });
  });

  it('answers after its latency, not before', async () => {
    const { server, client } = await offline({ latencyMs: 50 });
    await ask(client, 'slow');
    const [request, answered] = server.log;
    // Timers never fire early; 1 ms for clock granularity.
    expect((answered?.at ?? 0) - (request?.at ?? Infinity)).toBeGreaterThanOrEqual(49);
  });

  it('rejects bad requests with a clear 4xx', async () => {
    const { server } = await offline();
    const post = (body: string) => fetch(`${server.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const notJson = await post('{oops');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toContain('not JSON');
    expect((await post(JSON.stringify({ model: 'm', messages: [] }))).status).toBe(400);
    expect((await post(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true }))).status).toBe(400);
    expect((await fetch(`${server.baseURL}/embeddings`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${server.baseURL}/chat/completions`)).status).toBe(405);
    expect(server.stats.requests).toBe(0);
  });
});
