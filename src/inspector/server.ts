/**
 * The live inspector: one HTTP server on one port serves the page and upgrades `/` to a
 * WebSocket speaking the protocol in protocol.ts. Loaded only when a system is created with
 * `inspector` options, so a system without one pays nothing for it.
 *
 * Who gets in, and how far: any local process may connect and watch (the tree, the stream of
 * messages and states, statecharts), within per-address budgets for connecting and asking,
 * and never into the slots kept for clients with the token. The token (offered in the
 * handshake as a subprotocol, never in the URL) opens agents' memory and control; a wrong one
 * slows every further guess from its address (token-guard.ts). Every reply is built within
 * `maxReplyBytes` and waits in the client's one bounded queue (connection.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Runtime } from '../runtime/runtime.js';
import { Connection } from './connection.js';
import { describeTree } from './describe.js';
import { EventStream } from './event-stream.js';
import { checkOptions, InspectorError, type InspectorOptions } from './options.js';
import { servePage } from './page-server.js';
import { CLOSE, parseRequest, PROTOCOL_VERSION, SUBPROTOCOL, tokenOffered, type ErrorCode, type ServerMessage } from './protocol.js';
import { TokenBucket } from '../runtime/token-bucket.js';
import { addressOf, PerAddress } from './rate-limit.js';
import { RequestFailure, Requests, type InspectorHost } from './requests.js';
import { TokenGuard } from './token-guard.js';

export { InspectorError, type InspectorOptions } from './options.js';
export type { InspectorHost } from './requests.js';

/** One connected client, as `inspector.clients()` shows it. */
export interface InspectorClient {
  /** It gave the token in its handshake. */
  readonly authenticated: boolean;
  /** Events waiting for it, and lost because it read too slowly. */
  readonly queuedEvents: number;
  readonly dropped: number;
  /** Bytes held for it: unsent in its socket, and waiting in its queue. */
  readonly bufferedBytes: number;
  /** Its requests answered with a reply or an error (frames refused before being read as a request, such as rate-limited ones, not counted). */
  readonly answered: number;
}

/** The running inspector, as `system.inspector`. */
export interface Inspector {
  /** `http://host:port/`: the page; the WebSocket is the same address with `ws:`. */
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  clients(): readonly InspectorClient[];
  close(): Promise<void>;
}

/** How long a client has to answer the close handshake before its connection is cut (ws alone waits 30 s). */
const CLOSE_GRACE_MS = 1_000;
/** New connections without the token one address may open per second (in bursts of `maxClients`). */
const NEW_CONNECTIONS_PER_SECOND = 10;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export async function startInspector(runtime: Runtime, host: InspectorHost, given: InspectorOptions): Promise<Inspector> {
  const options = checkOptions(given);
  const tokenDigest = options.token === undefined ? undefined : digest(options.token);
  const guard = tokenDigest === undefined ? undefined : new TokenGuard((token) => timingSafeEqual(digest(token), tokenDigest));
  const requests = new Requests(runtime, host, options, guard);
  const clients = new Set<Connection>();
  // Budgets of clients without the token, per address: fresh connections gain them nothing.
  const newConnections = new PerAddress(() => new TokenBucket(options.maxClients, NEW_CONNECTIONS_PER_SECOND, performance.now()));
  const anonymousRequests = new PerAddress(() => new TokenBucket(options.burst, options.requestsPerSecond, performance.now()));
  const stream = new EventStream(
    runtime,
    (batch) => {
      for (const client of clients) client.enqueue(batch);
    },
    { maxEventsPerSecond: options.maxEventsPerSecond },
  );

  let closing: Promise<void> | undefined;
  const http: Server = createServer((request, response) => void servePage(runtime.logger)(request, response));
  // The token's subprotocol is never echoed back: the server answers with the inspector's own.
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false) });
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

  /** Who the client is (its token, if it gave one), or why it is turned away (closed with the code and reason). */
  function admit(request: IncomingMessage, address: string): { authenticated: boolean; notices: { code: ErrorCode; message: string }[] } | { close: number; reason: string } {
    if (closing !== undefined) return { close: CLOSE.goingAway, reason: 'the system stopped' };
    const origin = request.headers.origin;
    // Browsers always send Origin; a page from elsewhere must not drive this system.
    if (origin !== undefined && !ownOrigins.has(origin)) return { close: CLOSE.policy, reason: `origin ${origin.slice(0, 60)} is not allowed` };
    const notices: { code: ErrorCode; message: string }[] = [];
    if (new URL(request.url ?? '/', 'http://inspector').searchParams.has('token')) {
      notices.push({ code: 'invalid-request', message: `a token in the connection URL is not read (URLs end up in logs and histories): offer it as the WebSocket subprotocol "troupe-token.<token in base64url>" next to "${SUBPROTOCOL}", as the page and troupe inspect do` });
    }
    let authenticated = false;
    const offered = tokenOffered(request.headers['sec-websocket-protocol']);
    if (offered !== undefined && guard === undefined) notices.push({ code: 'control-disabled', message: "this inspector has no token: the one given was not needed; agents' memory and control are off" });
    if (offered !== undefined && guard !== undefined) {
      const check = guard.check(offered, address);
      if (check.outcome === 'wait') return { close: CLOSE.tryAgainLater, reason: `too many wrong inspector tokens from ${address}: this one was not checked; retry in ${check.waitMs} ms` };
      authenticated = check.outcome === 'right';
      if (!authenticated) notices.push({ code: 'unauthorized', message: "the token in the handshake is wrong: this connection can watch (tree, messages, statecharts) but not see agents' memory or control them" });
    }
    if (clients.size >= options.maxClients) return { close: CLOSE.tryAgainLater, reason: `too many inspector clients (${options.maxClients}); try again later` };
    if (authenticated) return { authenticated, notices };
    const anonymous = [...clients].filter((client) => !client.authenticated).length;
    if (anonymous >= options.maxClients - options.reservedClients) {
      return { close: CLOSE.tryAgainLater, reason: `too many inspector clients without the token (${anonymous}); the other ${options.reservedClients} slots are kept for clients with it` };
    }
    if (!newConnections.get(address).takeAt(performance.now())) return { close: CLOSE.tryAgainLater, reason: `too many new inspector connections from ${address}; try again in a second` };
    return { authenticated, notices };
  }

  function accept(socket: WebSocket, request: IncomingMessage): void {
    const address = addressOf(request.socket.remoteAddress);
    const admitted = admit(request, address);
    if ('close' in admitted) {
      socket.close(admitted.close, admitted.reason);
      return;
    }
    const client = new Connection(socket, admitted.authenticated, address, options);
    clients.add(client);
    socket.on('error', (error) => runtime.logger.debug({ err: error }, 'an inspector client connection failed'));
    socket.on('close', () => {
      client.dispose();
      clients.delete(client);
      if (clients.size === 0) stream.detach();
    });
    socket.on('message', (data, isBinary) => void onFrame(client, data, isBinary));
    stream.attach();
    client.greet({ type: 'hello', protocol: PROTOCOL_VERSION, system: host.name, control: guard !== undefined, authenticated: client.authenticated, tree: describeTree(runtime, options.maxReplyBytes) });
    for (const notice of admitted.notices) client.answer({ type: 'error', id: null, ...notice });
  }

  async function onFrame(client: Connection, data: RawData, isBinary: boolean): Promise<void> {
    if (client.closed) return;
    const admitted = client.admit(client.authenticated ? undefined : anonymousRequests.get(client.address));
    if (admitted === 'flood') {
      client.close(CLOSE.policy, 'rate limit exceeded: too many requests');
      return;
    }
    if (admitted === 'limited') {
      const whose = client.authenticated ? '' : ` from ${client.address} without the token`;
      client.answer({ type: 'error', id: null, code: 'rate-limited', message: `more than ${options.requestsPerSecond} requests per second${whose} (bursts of ${options.burst}); this request was ignored` });
      return;
    }
    if (isBinary) {
      client.answer({ type: 'error', id: null, code: 'binary-frame', message: 'binary frames are not part of the protocol; send JSON text frames' });
      return;
    }
    const parsed = parseRequest(data.toString());
    if (!parsed.ok) {
      client.answer({ type: 'error', id: parsed.id, code: parsed.code, message: parsed.message });
      return;
    }
    const request = parsed.request;
    if (client.busy) {
      client.answered++;
      client.answer({ type: 'error', id: request.id, code: 'busy', message: 'this connection has not read the answers before this request, which was not worked on; read them, then ask again' });
      return;
    }
    client.inFlight++;
    let answer: ServerMessage;
    try {
      answer = { type: 'reply', id: request.id, result: await requests.answer(client, request) };
    } catch (error) {
      answer = { type: 'error', id: request.id, code: error instanceof RequestFailure ? error.code : 'failed', message: error instanceof Error ? error.message : String(error) };
    } finally {
      client.inFlight--;
    }
    client.answered++;
    const text = JSON.stringify(answer);
    const bytes = Buffer.byteLength(text, 'utf8');
    // The builders keep every reply within the budget; this holds it for any reply added later too.
    if (bytes > options.maxReplyBytes) {
      client.answer({ type: 'error', id: request.id, code: 'failed', message: `the reply would take ${bytes} bytes, over the inspector's maxReplyBytes (${options.maxReplyBytes})` });
      return;
    }
    client.answer(answer, text);
  }

  return {
    url: `http://${shownHost}:${port}/`,
    wsUrl: `ws://${shownHost}:${port}/`,
    port,
    clients: () =>
      [...clients].map((client) => ({ authenticated: client.authenticated, queuedEvents: client.queuedEvents, dropped: client.dropped, bufferedBytes: client.bufferedBytes, answered: client.answered })),
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        // What happened last (the agents stopping) still reaches the clients, then the close.
        stream.flushNow();
        stream.detach();
        const sockets = [...clients].map((client) => client.socket);
        for (const client of clients) client.close(CLOSE.goingAway, 'the system stopped');
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
