/**
 * `troupe inspect <url>`: connects to an inspector, prints the tree and then a readable live
 * stream (coloured on a terminal), or JSON lines with `--json`. Filters keep the events of
 * one conversation or of the agents under one path.
 */
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import type { InspectorEvent, ServerMessage, TreeEntry } from './protocol.js';
import { inspectorSubprotocols, PROTOCOL_VERSION } from './protocol.js';

export interface InspectOptions {
  readonly url: string;
  /** Opens snapshots and control; else the one the URL carries (`#token=...`), if any. */
  readonly token?: string;
  /** Conversation ids, or paths (starting with `/`): an event passes when it matches any. */
  readonly filters: readonly string[];
  readonly json: boolean;
  readonly color: boolean;
  readonly write: (line: string) => void;
  /** Commands, one per line (see COMMANDS); the replies are printed like the stream. */
  readonly input?: NodeJS.ReadableStream;
}

export const COMMANDS = `commands: tree | snapshot PATH [FIELD,...to redact] | statechart PATH | stop PATH | restart PATH | suspend PATH | resume PATH | send PATH PERFORMATIVE [JSON content] | help`;

/** A command line typed into the client, as a protocol request (without its id), or why it is not one. */
export function parseCommand(line: string): { readonly request: Record<string, unknown> } | { readonly error: string } | undefined {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  const [verb = '', path, ...rest] = trimmed.split(/\s+/);
  switch (verb) {
    case 'tree':
      return { request: { type: 'tree' } };
    case 'help':
      return { error: COMMANDS };
    case 'snapshot':
    case 'statechart':
    case 'stop':
    case 'restart':
    case 'suspend':
    case 'resume':
      if (path === undefined) return { error: `${verb} needs an agent path, such as ${verb} /greeter` };
      if (verb === 'snapshot') return { request: { type: verb, path, redact: rest.length > 0 ? rest.join(',').split(',').filter((field) => field !== '') : [] } };
      if (rest.length > 0) return { error: `${verb} takes one path, got also: ${rest.join(' ')}` };
      return { request: { type: verb, path } };
    case 'send': {
      const parts = /^send\s+(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(trimmed);
      if (parts === null) return { error: 'send needs a path and a performative: send /greeter request {"name":"Ada"}' };
      const [, target, performative, text] = parts;
      if (text === undefined) return { request: { type: 'send', path: target, performative } };
      try {
        return { request: { type: 'send', path: target, performative, content: JSON.parse(text) as unknown } };
      } catch (error) {
        return { error: `the content is not JSON (${error instanceof Error ? error.message : String(error)})` };
      }
    }
    default:
      return { error: `unknown command ${JSON.stringify(verb)}; ${COMMANDS}` };
  }
}

/** Something wrong with the command line or the address: exit code 2. */
export class InspectUsageError extends Error {}

/**
 * `http://host:port/` (the page's address) or `ws://...`: the WebSocket address, and the
 * token it carries, if any (`#token=...` as the demo prints it, or `?token=...`). The token is
 * taken out of the URL: it travels in the handshake, never in the request line.
 */
export function inspectorAddress(given: string): { readonly url: URL; readonly token: string | undefined } {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new InspectUsageError(`${JSON.stringify(given)} is not a URL; give the inspector's address, such as http://127.0.0.1:7400/`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new InspectUsageError(`unsupported scheme ${url.protocol} in ${given}; use http(s):// or ws(s)://`);
  const token = new URLSearchParams(url.hash.slice(1)).get('token') ?? url.searchParams.get('token') ?? undefined;
  url.hash = '';
  url.searchParams.delete('token');
  return { url, token };
}

const COLORS = { dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;
type Color = keyof typeof COLORS;

function paint(enabled: boolean, color: Color, text: string): string {
  return enabled ? `\u001b[${COLORS[color]}m${text}\u001b[0m` : text;
}

/** C0 and C1 controls and DEL: a terminal would act on them (clear, retitle, move the cursor). */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

function escapeControl(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Text from the stream, made safe to print: any control character is shown escaped, never sent to the terminal. */
export function printable<T>(value: T): T {
  if (typeof value === 'string') return value.replace(CONTROLS, escapeControl) as T;
  if (Array.isArray(value)) return value.map(printable) as T;
  if (typeof value === 'object' && value !== null) {
    const out = Object.create(null) as Record<string, unknown>;
    for (const [key, field] of Object.entries(value)) out[printable(key)] = printable(field);
    return out as T;
  }
  return value;
}

/** A JSON line for a terminal: JSON already escapes C0 controls; C1 controls and DEL are escaped too. */
function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f]/g, escapeControl);
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

export function matchesFilters(event: InspectorEvent, filters: readonly string[]): boolean {
  // A notice about the whole stream concerns every filter.
  if (filters.length === 0 || event.type === 'over-budget') return true;
  const fields = event as { path?: unknown; sender?: unknown; receiver?: unknown; conversationId?: unknown };
  return filters.some((filter) => {
    if (!filter.startsWith('/')) return fields.conversationId === filter;
    return [fields.path, fields.sender, fields.receiver].some((path) => typeof path === 'string' && under(path, filter));
  });
}

function time(at: number): string {
  return new Date(at).toISOString().slice(11, 23);
}

export function formatTree(given: TreeEntry, color: boolean, depth = 0): string[] {
  const entry = depth === 0 ? printable(given) : given;
  const status = paint(color, entry.status === 'running' ? 'green' : entry.status === 'stopped' ? 'red' : 'yellow', entry.status);
  const details = [`${entry.kind}`, status, `incarnation ${entry.incarnation ?? '-'}`, `restarts ${entry.restarts}`];
  if (entry.kind === 'agent') details.push(`mailbox ${entry.mailbox ?? 0}`);
  if (entry.suspended === true) details.push(paint(color, 'magenta', 'suspended'));
  const line = `${'  '.repeat(depth)}${entry.path}  ${details.join('  ')}`;
  return [line, ...(entry.children ?? []).flatMap((child) => formatTree(child, color, depth + 1))];
}

export function formatEvent(given: InspectorEvent, color: boolean): string {
  const event = printable(given);
  // A column of 11, and a space after the longest types (dead-letter, over-budget).
  const head = `${paint(color, 'dim', time(event.at))}  ${event.type.length >= 11 ? `${event.type} ` : event.type.padEnd(11)}`;
  switch (event.type) {
    case 'sent':
    case 'delivered':
    case 'dead-letter': {
      const arrow = `${event.sender} → ${event.receiver}`;
      const reason = event.type === 'dead-letter' ? paint(color, 'red', `  (${event.reason})`) : '';
      const kind = event.type === 'dead-letter' ? paint(color, 'red', head) : event.type === 'sent' ? paint(color, 'cyan', head) : head;
      return `${kind}${event.performative.padEnd(15)} ${arrow}  conversation ${event.conversationId}  t${event.lamport}${reason}`;
    }
    case 'state':
      return `${paint(color, 'blue', head)}${event.path} → ${JSON.stringify(event.value)}${event.event === '' ? '' : ` on ${event.event}`}`;
    case 'mailbox':
      return `${paint(color, 'dim', head)}${event.path} depth ${event.depth}`;
    case 'over-budget': {
      const counts = Object.entries(event.skipped)
        .filter(([, count]) => count > 0)
        .map(([kind, count]) => `${count} ${kind}`)
        .join(', ');
      return `${paint(color, 'yellow', head)}not recorded since ${time(event.since)}: ${counts} (over the inspector's ${event.maxEventsPerSecond} events/s)`;
    }
    default: {
      const { type: _type, at: _at, path, ...rest } = event;
      const level: Color = event.type === 'failed' || event.type === 'hung' || event.type === 'escalated' ? 'red' : event.type === 'restarted' ? 'yellow' : 'green';
      const extra = Object.entries(rest)
        .map(([key, value]) => `${key} ${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join('  ');
      return `${paint(color, level, head)}${String(path)}  ${extra}`;
    }
  }
}

/** What this connection may do, as the hello says. */
function access(hello: Extract<ServerMessage, { type: 'hello' }>): string {
  if (!hello.control) return 'the inspector has no token: watching only';
  return hello.authenticated === true ? 'token accepted: snapshots and control on' : 'no token: watching only (snapshots and control need --token)';
}

function isTree(value: unknown): value is TreeEntry {
  return typeof value === 'object' && value !== null && 'path' in value && 'kind' in value && 'restarts' in value && 'status' in value && !('agent' in value);
}

/** A command's answer: a tree as a tree, anything else as indented JSON. */
function formatResult(result: unknown, color: boolean): string[] {
  if (isTree(result)) return formatTree(result, color);
  return JSON.stringify(printable(result), null, 2).split('\n');
}

/**
 * Runs until the connection closes (or `signal` aborts). Resolves with the process exit
 * code: 0 when the server closed normally or we were told to stop, 1 when the connection
 * failed or was refused.
 */
export function inspect(options: InspectOptions, signal?: AbortSignal): Promise<number> {
  const address = inspectorAddress(options.url);
  const url = address.url;
  const { write, json, color, filters } = options;
  return new Promise((resolve) => {
    const socket = new WebSocket(url, inspectorSubprotocols(options.token ?? address.token));
    let failed: string | undefined;
    const stop = (): void => socket.close(1000, 'client done');
    signal?.addEventListener('abort', stop, { once: true });
    let nextId = 1;
    const commands = options.input === undefined ? undefined : createInterface({ input: options.input, terminal: false });
    commands?.on('line', (line) => {
      const command = parseCommand(line);
      if (command === undefined) return;
      if ('error' in command) write(json ? jsonLine({ type: 'command-error', message: command.error }) : printable(command.error));
      else if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ id: nextId++, ...command.request }));
      else write(json ? JSON.stringify({ type: 'command-error', message: 'not connected' }) : 'not connected yet; try again');
    });
    socket.on('error', (error) => {
      failed = error.message;
    });
    socket.on('message', (data) => {
      try {
        show(JSON.parse(data.toString()) as ServerMessage);
      } catch {
        // A server that is not an inspector (or a newer one gone wrong): say so, keep listening.
        write(json ? jsonLine({ type: 'client-error', message: 'not an inspector frame' }) : paint(color, 'red', printable(`not an inspector frame: ${data.toString().slice(0, 80)}`)));
      }
    });
    const show = (frame: ServerMessage): void => {
      if (typeof frame !== 'object' || frame === null) throw new TypeError('not an object');
      if (json) {
        if (frame.type === 'events') for (const event of frame.events) if (matchesFilters(event, filters)) write(jsonLine(event));
        if (frame.type !== 'events') write(jsonLine(frame));
        return;
      }
      switch (frame.type) {
        case 'hello':
          if (frame.protocol !== PROTOCOL_VERSION) write(paint(color, 'yellow', `warning: the server speaks inspector protocol ${frame.protocol}, this client ${PROTOCOL_VERSION}`));
          write(printable(`connected to ${frame.system} at ${url.origin}${url.pathname} (protocol ${frame.protocol}, ${access(frame)})`));
          for (const line of formatTree(frame.tree, color)) write(line);
          return;
        case 'events':
          for (const event of frame.events) if (matchesFilters(event, filters)) write(formatEvent(event, color));
          return;
        case 'dropped':
          write(paint(color, 'yellow', `… ${frame.count} events dropped: this terminal read too slowly`));
          return;
        case 'error':
          write(paint(color, 'red', printable(`error ${frame.code}: ${frame.message}`)));
          return;
        case 'reply':
          for (const line of formatResult(frame.result, color)) write(line);
          return;
      }
    };
    socket.on('close', (code, reason) => {
      signal?.removeEventListener('abort', stop);
      commands?.close();
      if (failed !== undefined) {
        write(printable(`troupe inspect: cannot connect to ${url.origin}${url.pathname}: ${failed}`));
        resolve(1);
        return;
      }
      const normal = code === 1000 || code === 1001;
      if (!json) write(printable(`connection closed (${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`));
      resolve(normal ? 0 : 1);
    });
  });
}
