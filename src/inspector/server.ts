/**
 * The live inspector: one HTTP server on one port serves the page and upgrades `/` to a
 * WebSocket speaking the protocol in protocol.ts. Loaded only when a system is created with
 * `inspector` options, so a system without one pays nothing for it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { AclMessage } from '../acl/message.js';
import { expectsReply, type Performative } from '../acl/performatives.js';
import { ReplyError } from '../acl/reply-errors.js';
import type { CodeOf } from '../runtime/error-catalogue.js';
import { ConfigurationError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { TokenBucket } from '../runtime/token-bucket.js';
import type { ChildInfo } from '../runtime/tree.js';
import { describeAgent, describeStatechart, describeTree, summarize, toJsonSafe } from './describe.js';
import { DEFAULT_MAX_EVENTS_PER_SECOND, EventStream, type EventBatch } from './event-stream.js';
import { CLOSE, CONTROL_TYPES, parseRequest, PROTOCOL_VERSION, type ClientRequest, type ErrorCode, type ServerMessage } from './protocol.js';

export interface InspectorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number;
  /** Default 127.0.0.1: only this machine can connect. */
  readonly host?: string;
  /** Needed by control requests (stop, restart, suspend, resume, send). Without it, control is off. */
  readonly token?: string;
  /** Largest frame a client may send, bytes (default 64 KiB); larger closes the connection with 1009. */
  readonly maxFrameBytes?: number;
  /** Events held per client that reads too slowly (default 10,000); beyond, the oldest are dropped with a `dropped` notice. */
  readonly bufferEvents?: number;
  /** Requests per second a client may send on average (default 50), in bursts of up to `burst` (default 100). */
  readonly requestsPerSecond?: number;
  readonly burst?: number;
  /** Browser origins allowed besides the inspector's own page (default none). */
  readonly allowedOrigins?: readonly string[];
  /** Context fields always redacted in snapshots (dotted for nested), on top of each query's own. */
  readonly redact?: readonly string[];
  /** Most clients at once (default 32); more are closed with 1013. */
  readonly maxClients?: number;
  /**
   * Message, dead-letter and state events recorded and sent per second at most, for the whole
   * system (default 20,000, in bursts of as many; `Infinity` for all). Beyond it they are only
   * counted, and clients get an `over-budget` event with the counts; lifecycle and supervision
   * events are never held back.
   */
  readonly maxEventsPerSecond?: number;
}

/** The parts of a System the inspector drives (System implements it). */
export interface InspectorHost {
  readonly name: string;
  terminateChild(path: string, id: string): Promise<void>;
  restartChild(path: string, id: string): Promise<ChildInfo>;
  whichChildren(path: string): ChildInfo[];
  suspend(path: string): boolean;
  resume(path: string): boolean;
  tell(path: string, performative: Performative, content?: unknown): Promise<'queued' | 'refused'>;
  request(path: string, content: unknown, options: { performative: Performative; timeoutMs: number }): Promise<AclMessage>;
}

/** The running inspector, as `system.inspector`. */
export interface Inspector {
  /** `http://host:port/`: the page; the WebSocket is the same address with `ws:`. */
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  /** Connected clients, with the events each still holds and has lost. */
  clients(): readonly { readonly queuedEvents: number; readonly dropped: number }[];
  close(): Promise<void>;
}

export class InspectorError extends ConfigurationError {
  declare readonly code: CodeOf<'InspectorError'>;

  constructor(code: CodeOf<'InspectorError'>, message: string) {
    super(code, message);
  }
}

/** Bytes a socket may hold unsent before a client counts as slow and its events wait in its own bounded buffer. */
const HIGH_WATER_BYTES = 1 << 20;
const RETRY_MS = 25;
/** How long a client has to answer the close handshake before its connection is cut (ws alone waits 30 s). */
const CLOSE_GRACE_MS = 1_000;
const PAGE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/inspector.js': { file: 'inspector.js', type: 'text/javascript; charset=utf-8' },
  '/inspector.css': { file: 'inspector.css', type: 'text/css; charset=utf-8' },
};
/** Next to this module in src/ and in dist/ (the build copies the page). */
const PAGE_DIR = new URL('./page/', import.meta.url);

function positive(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!(Number.isInteger(result) && result > 0)) throw new InspectorError('invalid-inspector', `inspector ${name} must be a whole number > 0, got ${String(value)}`);
  return result;
}

function eventBudget(value: number | undefined): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  return positive('maxEventsPerSecond', value, DEFAULT_MAX_EVENTS_PER_SECOND);
}

function checkOptions(options: InspectorOptions): Required<Omit<InspectorOptions, 'token'>> & { token: string | undefined } {
  if (typeof options !== 'object' || options === null) throw new InspectorError('invalid-inspector', 'inspector options must be an object such as { port: 0, token: "..." }');
  const port = options.port ?? 0;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65_535)) throw new InspectorError('invalid-inspector', `inspector port must be 0..65535, got ${String(options.port)}`);
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 8)) {
    throw new InspectorError('invalid-inspector', 'inspector token must be a string of at least 8 characters (or left out to turn control off)');
  }
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) throw new InspectorError('invalid-inspector', `inspector host must be a host name or address such as "127.0.0.1", got ${String(options.host)}`);
  for (const [name, list] of [['allowedOrigins', options.allowedOrigins], ['redact', options.redact]] as const) {
    if (list !== undefined && !(Array.isArray(list) && list.every((item) => typeof item === 'string'))) throw new InspectorError('invalid-inspector', `inspector ${name} must be an array of strings`);
  }
  return {
    port,
    host: options.host ?? '127.0.0.1',
    token: options.token,
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes, 64 * 1024),
    bufferEvents: positive('bufferEvents', options.bufferEvents, 10_000),
    requestsPerSecond: positive('requestsPerSecond', options.requestsPerSecond, 50),
    burst: positive('burst', options.burst, 100),
    allowedOrigins: options.allowedOrigins ?? [],
    redact: options.redact ?? [],
    maxClients: positive('maxClients', options.maxClients, 32),
    maxEventsPerSecond: eventBudget(options.maxEventsPerSecond),
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

class Client {
  private readonly queue: EventBatch[] = [];
  queuedEvents = 0;
  /** Events lost and not yet announced, and lost in total. */
  private unannounced = 0;
  dropped = 0;
  private readonly requests: TokenBucket;
  private overLimit = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  closed = false;

  constructor(
    readonly socket: WebSocket,
    readonly authorized: boolean,
    private readonly limits: { bufferEvents: number; requestsPerSecond: number; burst: number },
  ) {
    this.requests = new TokenBucket(limits.burst, limits.requestsPerSecond, performance.now());
  }

  send(message: ServerMessage): void {
    if (!this.closed) this.socket.send(JSON.stringify(message));
  }

  /** Queues a batch, dropping the oldest events beyond the buffer, and sends what the socket takes. */
  enqueue(batch: EventBatch): void {
    if (this.closed) return;
    // A client keeping up gets every batch whole, however large; only a lagging one is bounded.
    if (this.queue.length === 0 && this.socket.bufferedAmount < HIGH_WATER_BYTES) {
      this.socket.send(batch.json);
      return;
    }
    this.queue.push(batch.seal());
    this.queuedEvents += batch.count;
    while (this.queuedEvents > this.limits.bufferEvents) {
      const oldest = this.queue[0] as EventBatch;
      const excess = this.queuedEvents - this.limits.bufferEvents;
      if (oldest.count <= excess) {
        this.queue.shift();
        this.lose(oldest.count);
      } else {
        this.queue[0] = oldest.withoutOldest(excess);
        this.lose(excess);
      }
    }
    this.pump();
  }

  private lose(count: number): void {
    this.queuedEvents -= count;
    this.unannounced += count;
    this.dropped += count;
  }

  private readonly pump = (): void => {
    this.retry = undefined;
    if (this.closed) return;
    while (this.queue.length > 0 && this.socket.bufferedAmount < HIGH_WATER_BYTES) {
      if (this.unannounced > 0) {
        this.send({ type: 'dropped', count: this.unannounced });
        this.unannounced = 0;
      }
      const batch = this.queue.shift() as EventBatch;
      this.queuedEvents -= batch.count;
      this.socket.send(batch.json);
    }
    if (this.queue.length > 0 && this.retry === undefined) {
      this.retry = setTimeout(this.pump, RETRY_MS);
      this.retry.unref();
    }
  };

  /** Token bucket: true when the request may go on. */
  admit(): 'ok' | 'limited' | 'flood' {
    this.requests.refill(performance.now());
    if (this.requests.take()) {
      this.overLimit = 0;
      return 'ok';
    }
    this.overLimit++;
    // Past the limit for as long again as a whole burst: not a busy page but a flood.
    return this.overLimit > this.limits.burst ? 'flood' : 'limited';
  }

  dispose(): void {
    this.closed = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.queue.length = 0;
    this.queuedEvents = 0;
  }
}

class RequestFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function parentAndId(path: string): { parent: string; id: string } {
  const cut = path.lastIndexOf('/');
  if (path === '/' || cut < 0) throw new RequestFailure('invalid-request', 'the root supervisor cannot be stopped or restarted from the inspector; stop the system instead');
  return { parent: cut === 0 ? '/' : path.slice(0, cut), id: path.slice(cut + 1) };
}

export async function startInspector(runtime: Runtime, host: InspectorHost, given: InspectorOptions): Promise<Inspector> {
  const options = checkOptions(given);
  const tokenDigest = options.token === undefined ? undefined : digest(options.token);
  const clients = new Set<Client>();
  const stream = new EventStream(
    runtime,
    (batch) => {
      for (const client of clients) client.enqueue(batch);
    },
    { maxEventsPerSecond: options.maxEventsPerSecond },
  );

  const tokenMatches = (token: string | undefined): boolean => token !== undefined && tokenDigest !== undefined && timingSafeEqual(digest(token), tokenDigest);

  let closing: Promise<void> | undefined;
  const http: Server = createServer((request, response) => void servePage(request, response));
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes });
  let ownOrigins: Set<string> = new Set();

  http.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, request));
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    throw new InspectorError('inspector-listen', `the inspector could not listen on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`);
  });
  const port = (http.address() as AddressInfo).port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  ownOrigins = new Set([`http://${shownHost}:${port}`, `http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`, ...options.allowedOrigins]);

  async function servePage(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://inspector').pathname;
    const page = PAGE_FILES[path];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (page === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`no page at ${path}; the inspector page is at /\n`);
      return;
    }
    try {
      const body = await readFile(new URL(page.file, PAGE_DIR));
      response.writeHead(200, {
        'content-type': page.type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    } catch (error) {
      runtime.logger.error({ err: error }, `the inspector page file ${page.file} could not be read (was the page copied by the build?)`);
      response.writeHead(500, { 'content-type': 'text/plain' }).end('the inspector page is missing from this installation\n');
    }
  }

  function accept(socket: WebSocket, request: IncomingMessage): void {
    if (closing !== undefined) {
      socket.close(CLOSE.goingAway, 'the system stopped');
      return;
    }
    const origin = request.headers.origin;
    // Browsers always send Origin; a page from elsewhere must not drive this system.
    if (origin !== undefined && !ownOrigins.has(origin)) {
      socket.close(CLOSE.policy, `origin ${origin.slice(0, 60)} is not allowed`);
      return;
    }
    if (clients.size >= options.maxClients) {
      socket.close(1013, `too many inspector clients (${options.maxClients}); try again later`);
      return;
    }
    const queryToken = new URL(request.url ?? '/', 'http://inspector').searchParams.get('token') ?? undefined;
    const client = new Client(socket, tokenMatches(queryToken), options);
    clients.add(client);
    socket.on('error', (error) => runtime.logger.debug({ err: error }, 'an inspector client connection failed'));
    socket.on('close', () => {
      client.dispose();
      clients.delete(client);
      if (clients.size === 0) stream.detach();
    });
    socket.on('message', (data, isBinary) => void onFrame(client, data, isBinary));
    stream.attach();
    client.send({ type: 'hello', protocol: PROTOCOL_VERSION, system: host.name, control: tokenDigest !== undefined, tree: describeTree(runtime) });
    if (queryToken !== undefined && !client.authorized) client.send({ type: 'error', id: null, code: 'unauthorized', message: 'the token in the connection URL is wrong; this connection can watch but not control' });
  }

  async function onFrame(client: Client, data: RawData, isBinary: boolean): Promise<void> {
    if (client.closed) return;
    const admitted = client.admit();
    if (admitted === 'flood') {
      client.socket.close(CLOSE.policy, 'rate limit exceeded: too many requests');
      client.dispose();
      return;
    }
    if (admitted === 'limited') {
      client.send({ type: 'error', id: null, code: 'rate-limited', message: `more than ${options.requestsPerSecond} requests per second (bursts of ${options.burst}); this request was ignored` });
      return;
    }
    if (isBinary) {
      client.send({ type: 'error', id: null, code: 'binary-frame', message: 'binary frames are not part of the protocol; send JSON text frames' });
      return;
    }
    const parsed = parseRequest(data.toString());
    if (!parsed.ok) {
      client.send({ type: 'error', id: parsed.id, code: parsed.code, message: parsed.message });
      return;
    }
    const request = parsed.request;
    try {
      const result = await answer(client, request);
      client.send({ type: 'reply', id: request.id, result });
    } catch (error) {
      const code = error instanceof RequestFailure ? error.code : 'failed';
      client.send({ type: 'error', id: request.id, code, message: error instanceof Error ? error.message : String(error) });
    }
  }

  function checkControl(client: Client, request: ClientRequest): void {
    if (!CONTROL_TYPES.has(request.type)) return;
    if (tokenDigest === undefined) throw new RequestFailure('control-disabled', 'control is off: start the inspector with a token (inspector: { token }) to stop, restart, suspend, resume or send');
    const token = 'token' in request ? request.token : undefined;
    if (!client.authorized && !tokenMatches(token)) throw new RequestFailure('unauthorized', `${request.type} needs the inspector token: ${token === undefined ? 'none was given' : 'the token given is wrong'}; nothing was changed`);
  }

  function agentAt(path: string): NonNullable<ReturnType<Runtime['agentAt']>> {
    const cell = runtime.agentAt(path);
    if (cell === undefined) throw new RequestFailure('not-found', `no agent at ${path}`);
    return cell;
  }

  function suspendableAt(path: string): NonNullable<ReturnType<Runtime['agentAt']>> {
    const cell = agentAt(path);
    const { where, placement, suspension } = cell.executor;
    if (suspension === undefined) throw new RequestFailure('failed', `${path} runs on ${where} (placement '${placement}'); suspend and resume apply to inline agents only`);
    return cell;
  }

  async function answer(client: Client, request: ClientRequest): Promise<unknown> {
    checkControl(client, request);
    switch (request.type) {
      case 'ping':
        return { pong: Date.now() };
      case 'tree':
        return describeTree(runtime);
      case 'snapshot':
        return describeAgent(agentAt(request.path), [...options.redact, ...request.redact]);
      case 'statechart':
        return describeStatechart(agentAt(request.path));
      case 'stop': {
        const { parent, id } = parentAndId(request.path);
        if (runtime.lookup(request.path) === undefined) throw new RequestFailure('not-found', `nothing runs at ${request.path}`);
        await host.terminateChild(parent, id);
        return { stopped: request.path };
      }
      case 'restart': {
        const { parent, id } = parentAndId(request.path);
        if (runtime.lookup(request.path) !== undefined) await host.terminateChild(parent, id);
        if (!host.whichChildren(parent).some((child) => child.id === id)) {
          throw new RequestFailure('failed', `${request.path} is a temporary child (or no child of ${parent}): OTP never restarts a temporary child, and stopping it dropped its spec; it is stopped`);
        }
        const info = await host.restartChild(parent, id);
        return { restarted: request.path, incarnation: info.incarnation ?? null };
      }
      case 'suspend':
        suspendableAt(request.path);
        return { path: request.path, changed: host.suspend(request.path) };
      case 'resume':
        suspendableAt(request.path);
        return { path: request.path, changed: host.resume(request.path) };
      case 'send':
        return send(request);
    }
  }

  async function send(request: Extract<ClientRequest, { type: 'send' }>): Promise<unknown> {
    if (!expectsReply(request.performative)) {
      return { outcome: await host.tell(request.path, request.performative, request.content) };
    }
    try {
      const reply = await host.request(request.path, request.content, { performative: request.performative, timeoutMs: request.timeoutMs });
      return { outcome: 'answered', answer: { ...summarize(reply), content: toJsonSafe(reply.content) } };
    } catch (error) {
      if (error instanceof ReplyError) return { outcome: 'answered', answer: { ...summarize(error.reply), content: toJsonSafe(error.reply.content) } };
      throw error;
    }
  }

  return {
    url: `http://${shownHost}:${port}/`,
    wsUrl: `ws://${shownHost}:${port}/`,
    port,
    clients: () => [...clients].map((client) => ({ queuedEvents: client.queuedEvents, dropped: client.dropped })),
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        // What happened last (the agents stopping) still reaches the clients, then the close.
        stream.flushNow();
        stream.detach();
        const sockets = [...clients].map((client) => client.socket);
        for (const client of clients) {
          client.socket.close(CLOSE.goingAway, 'the system stopped');
          client.dispose();
        }
        clients.clear();
        // A client that never answers the close handshake must not hold the system's stop.
        const cut = setTimeout(() => {
          for (const socket of sockets) socket.terminate();
        }, CLOSE_GRACE_MS);
        wss.close();
        // Waits for every connection, upgraded ones included.
        http.close(() => {
          clearTimeout(cut);
          resolve();
        });
        http.closeAllConnections();
      });
      return closing;
    },
  };
}
