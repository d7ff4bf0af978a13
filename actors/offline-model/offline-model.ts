/**
 * The built-in offline model: a real OpenAI-compatible HTTP server on 127.0.0.1 (node:http)
 * serving POST /v1/chat/completions with scripted, deterministic answers, tool calls, usage
 * counts, latency and faults. Point the `openai` SDK at `model.baseURL`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TroupeError } from '../../src/runtime/errors.js';
import { echoScript, estimateTokens, textOf, type OfflineMessage, type OfflineReply, type OfflineRequest, type OfflineScript } from './script.js';

export interface OfflineModelOptions {
  /** Default 0: a free port. */
  readonly port?: number;
  /** Default latency of every answer, in ms (a reply's own `latencyMs` wins). Default 0. */
  readonly latencyMs?: number;
  /** Default: `echoScript`. */
  readonly script?: OfflineScript;
}

/** What happened to one request, as the server saw it. */
export interface OfflineRequestEvent {
  readonly type: 'request' | 'answered' | 'client-closed';
  readonly index: number;
  /** performance.now() on the server. */
  readonly at: number;
  readonly status?: number;
}

export interface OfflineModelStats {
  readonly requests: number;
  readonly answered: number;
  /** Requests whose client closed the connection before the answer was sent (aborts). */
  readonly clientClosed: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
}

export interface OfflineModel {
  /** `http://127.0.0.1:<port>/v1`, for `new OpenAI({ baseURL, apiKey })`. */
  readonly baseURL: string;
  readonly port: number;
  readonly stats: OfflineModelStats;
  /** Every request, answer and client close, in order. */
  readonly log: readonly OfflineRequestEvent[];
  on(listener: (event: OfflineRequestEvent) => void): () => void;
  /** Resolves when `count` requests in all have seen their client close the connection early. */
  whenClientClosed(count?: number): Promise<void>;
  /** Stops listening and ends open connections (hanging requests included). */
  close(): Promise<void>;
}

export class OfflineModelError extends TroupeError {
  constructor(message: string, cause?: unknown) {
    super('offline-model', message, cause === undefined ? undefined : { cause });
  }
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

export async function startOfflineModel(options: OfflineModelOptions = {}): Promise<OfflineModel> {
  const latencyMs = options.latencyMs ?? 0;
  if (!(Number.isFinite(latencyMs) && latencyMs >= 0)) throw new OfflineModelError(`latencyMs must be a number ≥ 0, got ${String(options.latencyMs)}`);
  const script = options.script ?? echoScript;
  const listeners = new Set<(event: OfflineRequestEvent) => void>();
  const log: OfflineRequestEvent[] = [];
  const stats = { requests: 0, answered: 0, clientClosed: 0, inFlight: 0, maxInFlight: 0 };
  const record = (event: OfflineRequestEvent): void => {
    log.push(event);
    for (const listener of listeners) listener(event);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, 500, `offline model script failed: ${error instanceof Error ? error.message : String(error)}`, 'server_error'));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const route = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && route === '/v1/models') return sendJson(res, 200, { object: 'list', data: [{ id: 'offline', object: 'model', created: 0, owned_by: 'troupe' }] });
    if (route !== '/v1/chat/completions') return sendError(res, 404, `no route ${req.method ?? ''} ${route ?? ''}; the offline model serves POST /v1/chat/completions`, 'invalid_request_error');
    if (req.method !== 'POST') return sendError(res, 405, `use POST for ${route}`, 'invalid_request_error');
    const body = await readJson(req);
    if (!body.ok) return sendError(res, 400, body.error, 'invalid_request_error');
    const request = parseRequest(body.value, stats.requests + 1);
    if (typeof request === 'string') return sendError(res, 400, request, 'invalid_request_error');
    stats.requests++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    record({ type: 'request', index: request.index, at: performance.now() });
    let closedEarly = false;
    const clientGone = new AbortController();
    res.on('close', () => {
      stats.inFlight--;
      if (res.writableFinished) return;
      closedEarly = true;
      clientGone.abort();
      stats.clientClosed++;
      record({ type: 'client-closed', index: request.index, at: performance.now() });
    });
    const reply = await script(request);
    await delay(reply.latencyMs ?? latencyMs, clientGone.signal);
    if (closedEarly) return undefined;
    const status = answer(res, request, reply);
    if (status !== undefined) {
      stats.answered++;
      record({ type: 'answered', index: request.index, at: performance.now(), status });
    }
    return undefined;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new OfflineModelError(`offline model could not listen on 127.0.0.1:${options.port ?? 0}: ${error.message}`, error)));
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    get stats() {
      return { ...stats };
    },
    log,
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    whenClientClosed(count = 1) {
      return new Promise((resolve) => {
        if (stats.clientClosed >= count) return resolve();
        const listener = (): void => {
          if (stats.clientClosed < count) return;
          listeners.delete(listener);
          resolve();
        };
        listeners.add(listener);
      });
    },
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Waits `ms`, ending early when the client goes away. */
function delay(ms: number, clientGone: AbortSignal): Promise<void> {
  if (ms <= 0 || clientGone.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      clientGone.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    clientGone.addEventListener('abort', done);
  });
}

function answer(res: ServerResponse, request: OfflineRequest, reply: OfflineReply): number | undefined {
  if ('fault' in reply) {
    switch (reply.fault) {
      case 'rate-limit': {
        const headers = { 'retry-after': String(Math.ceil(reply.retryAfterMs / 1_000)), 'retry-after-ms': String(reply.retryAfterMs), 'x-should-retry': 'false' };
        return sendError(res, 429, 'rate limit reached (offline model fault)', 'rate_limit_exceeded', headers);
      }
      case 'server-error':
        return sendError(res, reply.status ?? 500, 'internal error (offline model fault)', 'server_error', { 'x-should-retry': 'false' });
      case 'hang':
        return undefined; // the response stays open until the client gives up
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id": "chatcmpl-offline", "choices": [ this is not json');
        return 200;
      case 'wrong-shape':
        return sendJson(res, 200, reply.body);
    }
  }
  const promptTokens = request.messages.reduce((sum, message) => sum + estimateTokens(textOf(message.content)), 0);
  if ('toolCalls' in reply) {
    const toolCalls = reply.toolCalls.map((call, i) => ({
      id: `call_${request.index}_${i}`,
      type: 'function',
      function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments) },
    }));
    const completionTokens = toolCalls.reduce((sum, call) => sum + estimateTokens(call.function.arguments), 0);
    return sendJson(res, 200, completion(request, { role: 'assistant', content: null, tool_calls: toolCalls }, 'tool_calls', promptTokens, completionTokens));
  }
  return sendJson(res, 200, completion(request, { role: 'assistant', content: reply.content, refusal: null }, 'stop', promptTokens, estimateTokens(reply.content)));
}

function completion(request: OfflineRequest, message: object, finishReason: string, promptTokens: number, completionTokens: number): object {
  return {
    id: `chatcmpl-offline-${request.index}`,
    object: 'chat.completion',
    created: 0,
    model: request.model,
    choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
  return status;
}

function sendError(res: ServerResponse, status: number, message: string, type: string, headers: Record<string, string> = {}): number {
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  return sendJson(res, status, { error: { message, type, code: type, param: null } }, headers);
}

function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', (error) => resolve({ ok: false, error: `could not read the request body: ${error.message}` }));
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return resolve({ ok: false, error: `request body over ${MAX_BODY_BYTES} bytes` });
      try {
        resolve({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch (error) {
        resolve({ ok: false, error: `request body is not JSON: ${error instanceof Error ? error.message : String(error)}` });
      }
    });
  });
}

/** The request, or what is wrong with it. */
function parseRequest(body: unknown, index: number): OfflineRequest | string {
  if (typeof body !== 'object' || body === null) return 'request body must be a JSON object';
  const { model, messages, tools, response_format: responseFormat, stream } = body as Record<string, unknown>;
  if (typeof model !== 'string' || model.length === 0) return '`model` must be a non-empty string';
  if (!Array.isArray(messages) || messages.length === 0) return '`messages` must be a non-empty array';
  if (messages.some((message) => typeof message !== 'object' || message === null || typeof (message as { role?: unknown }).role !== 'string')) return 'every message needs a string `role`';
  if (stream === true) return 'the offline model does not stream; send `stream: false`';
  if (tools !== undefined && !Array.isArray(tools)) return '`tools` must be an array';
  return { index, model, messages: messages as OfflineMessage[], tools: (tools ?? []) as OfflineRequest['tools'], responseFormat };
}
