/**
 * The inspector's wire protocol (version 1): JSON text frames. The server speaks first with
 * `hello`; then it streams `events` batches and answers each request with a `reply` or an
 * `error` carrying the request's `id`. Requests are plain data, checked field by field here;
 * nothing received is ever evaluated.
 */
import { isPerformative, type Performative } from '../acl/performatives.js';
import { DEFAULT_ASK_TIMEOUT_MS } from '../runtime/timeouts.js';

export const PROTOCOL_VERSION = 1;

/** One node of the supervision tree as the inspector shows it. */
export interface TreeEntry {
  readonly id: string;
  readonly path: string;
  readonly kind: 'agent' | 'supervisor';
  readonly status: string;
  readonly incarnation: string | null;
  readonly restarts: number;
  /** Agents only. */
  readonly mailbox?: number;
  readonly suspended?: boolean;
  readonly children?: readonly TreeEntry[];
  /** Present when the reply's budget left out some of `children` (the first ones are shown). */
  readonly truncated?: string;
}

/** A message as the sequence diagram needs it (content left out: query a snapshot for it). */
export interface MessageSummary {
  readonly performative: string;
  readonly sender: string;
  readonly receiver: string;
  readonly conversationId: string;
  readonly lamport: number;
  readonly inReplyTo?: string;
  /** Where answers go when not to the sender: a conversation port (`/$port/...`) of protocol logic the sender runs. */
  readonly replyTo?: string;
  readonly replyWith?: string;
}

/** What the server streams, in `events` batches, oldest first. */
export type InspectorEvent =
  | { readonly type: 'started' | 'stopped' | 'failed' | 'restarted' | 'hung' | 'escalated' | 'suspended' | 'resumed'; readonly path: string; readonly at: number; readonly [field: string]: unknown }
  | ({ readonly type: 'sent' | 'delivered'; readonly at: number } & MessageSummary)
  | ({ readonly type: 'dead-letter'; readonly reason: string; readonly at: number } & MessageSummary)
  | { readonly type: 'state'; readonly path: string; readonly incarnation: string | null; readonly value: unknown; readonly event: string; readonly at: number }
  | { readonly type: 'mailbox'; readonly path: string; readonly depth: number; readonly at: number }
  | OverBudgetEvent;

/**
 * The system sent more message, dead-letter and state events than the inspector's
 * `maxEventsPerSecond`: `skipped` counts, by kind, those between `since` and `at` that were
 * counted but not recorded (the events recorded in that time are in the stream as usual).
 */
export interface OverBudgetEvent {
  readonly type: 'over-budget';
  readonly at: number;
  readonly since: number;
  readonly maxEventsPerSecond: number;
  readonly skipped: { readonly sent: number; readonly delivered: number; readonly state: number; readonly 'dead-letter': number };
}

export type ServerMessage =
  /** `control`: the inspector has a token (control and snapshots are on); `authenticated`: this connection gave it. */
  | { readonly type: 'hello'; readonly protocol: number; readonly system: string; readonly control: boolean; readonly authenticated: boolean; readonly tree: TreeEntry }
  | { readonly type: 'events'; readonly events: readonly InspectorEvent[] }
  | { readonly type: 'dropped'; readonly count: number }
  | { readonly type: 'reply'; readonly id: RequestId; readonly result: unknown }
  | { readonly type: 'error'; readonly id: RequestId | null; readonly code: ErrorCode; readonly message: string };

export type RequestId = string | number;

export type ErrorCode =
  | 'invalid-json'
  | 'binary-frame'
  | 'invalid-request'
  | 'unknown-type'
  | 'rate-limited'
  | 'busy'
  | 'unauthorized'
  | 'control-disabled'
  | 'not-found'
  | 'failed';

/** Requests a client may send; control requests and `snapshot` need the token (given in the handshake, or in `token`). */
export type ClientRequest =
  | { readonly type: 'ping'; readonly id: RequestId }
  | { readonly type: 'tree'; readonly id: RequestId }
  | { readonly type: 'snapshot'; readonly id: RequestId; readonly path: string; readonly redact: readonly string[]; readonly token: string | undefined }
  | { readonly type: 'statechart'; readonly id: RequestId; readonly path: string }
  | { readonly type: 'stop' | 'restart' | 'suspend' | 'resume'; readonly id: RequestId; readonly path: string; readonly token: string | undefined }
  | {
      readonly type: 'send';
      readonly id: RequestId;
      readonly path: string;
      readonly token: string | undefined;
      readonly performative: Performative;
      readonly content: unknown;
      readonly timeoutMs: number;
    };

export const CONTROL_TYPES: ReadonlySet<string> = new Set(['stop', 'restart', 'suspend', 'resume', 'send']);
const QUERY_TYPES: ReadonlySet<string> = new Set(['ping', 'tree', 'snapshot', 'statechart']);

/** Close codes the server uses besides ws's own (1009 for an oversize frame). */
export const CLOSE = { policy: 1008, tooBig: 1009, goingAway: 1001, tryAgainLater: 1013 } as const;

/**
 * The WebSocket subprotocol every client offers. The token travels as a second one,
 * `troupe-token.<token in base64url>`: in the handshake, never in the URL (URLs end up in
 * logs, browser history and shell history), and the server never echoes it back.
 */
export const SUBPROTOCOL = 'troupe-inspector';
export const TOKEN_SUBPROTOCOL_PREFIX = 'troupe-token.';

/** The subprotocols a client offers to connect with `token` (or without one). */
export function inspectorSubprotocols(token: string | undefined): string[] {
  return token === undefined ? [SUBPROTOCOL] : [SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + Buffer.from(token, 'utf8').toString('base64url')];
}

/** The token a client offered in its handshake (the first, if several), or undefined. */
export function tokenOffered(header: string | undefined): string | undefined {
  const offered = header?.split(',').map((part) => part.trim()).find((part) => part.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
  return offered === undefined ? undefined : Buffer.from(offered.slice(TOKEN_SUBPROTOCOL_PREFIX.length), 'base64url').toString('utf8');
}

export type Parsed = { readonly ok: true; readonly request: ClientRequest } | { readonly ok: false; readonly id: RequestId | null; readonly code: ErrorCode; readonly message: string };

const MAX_SEND_TIMEOUT_MS = 60_000;

function fail(id: RequestId | null, code: ErrorCode, message: string): Parsed {
  return { ok: false, id, code, message };
}

function isId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length > 0 && value.length <= 64) || (typeof value === 'number' && Number.isSafeInteger(value));
}

/** Checks one text frame; every failure says what was wrong. */
export function parseRequest(text: string): Parsed {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return fail(null, 'invalid-json', `the frame is not JSON (${error instanceof Error ? error.message : String(error)}); send one JSON object per frame`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail(null, 'invalid-request', 'a request is a JSON object such as {"type":"tree","id":1}');
  const fields = data as Record<string, unknown>;
  const id = isId(fields.id) ? fields.id : null;
  if (id === null) return fail(null, 'invalid-request', 'every request needs an "id": a non-empty string (≤ 64 characters) or a whole number');
  const type = fields.type;
  if (typeof type !== 'string') return fail(id, 'invalid-request', 'the request has no "type" string');
  if (!QUERY_TYPES.has(type) && !CONTROL_TYPES.has(type)) {
    return fail(id, 'unknown-type', `unknown request type ${JSON.stringify(type.slice(0, 40))}; known: ${[...QUERY_TYPES, ...CONTROL_TYPES].join(', ')}`);
  }
  if (type === 'ping' || type === 'tree') return { ok: true, request: { type, id } };
  const path = fields.path;
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > 512) return fail(id, 'invalid-request', `${type} needs "path": an agent path such as "/greeter"`);
  if (type === 'statechart') return { ok: true, request: { type, id, path } };
  const token = fields.token;
  if (token !== undefined && typeof token !== 'string') return fail(id, 'invalid-request', '"token" must be a string');
  if (type === 'snapshot') {
    const redact = fields.redact ?? [];
    if (!Array.isArray(redact) || !redact.every((field) => typeof field === 'string')) return fail(id, 'invalid-request', '"redact" must be an array of context field names (dotted for nested fields)');
    return { ok: true, request: { type, id, path, redact: redact as string[], token } };
  }
  if (type !== 'send') return { ok: true, request: { type: type as 'stop' | 'restart' | 'suspend' | 'resume', id, path, token } };
  const performative = fields.performative;
  if (typeof performative !== 'string' || !isPerformative(performative)) return fail(id, 'invalid-request', `send needs "performative": a FIPA performative such as "request" or "inform", got ${JSON.stringify(performative)}`);
  const timeoutMs = fields.timeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0 && timeoutMs <= MAX_SEND_TIMEOUT_MS)) return fail(id, 'invalid-request', `"timeoutMs" must be a number of milliseconds in (0, ${MAX_SEND_TIMEOUT_MS}]`);
  return { ok: true, request: { type, id, path, token, performative, content: fields.content, timeoutMs } };
}
