/** The inspector's options, checked once at start with an error that says what to fix. */
import { ConfigurationError } from '../runtime/errors.js';
import { DEFAULT_MAX_EVENTS_PER_SECOND } from './event-stream.js';
import { DEFAULT_MAX_REPLY_BYTES, DEFAULT_SECRET_KEYS, DEFAULT_SECRET_VALUES } from './json-safe.js';

export interface InspectorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number;
  /** Default 127.0.0.1: only this machine can connect. */
  readonly host?: string;
  /**
   * Opens agents' memory (snapshots) and control (stop, restart, suspend, resume, send) to
   * clients that give it. Without it, both are off. At least 8 characters; use a random one.
   */
  readonly token?: string;
  /** Largest frame a client may send, bytes (default 64 KiB); larger closes the connection with 1009. */
  readonly maxFrameBytes?: number;
  /** Events held per client that reads too slowly (default 10,000); beyond, the oldest are dropped with a `dropped` notice. */
  readonly bufferEvents?: number;
  /**
   * Requests per second a client may send on average (default 50), in bursts of up to `burst`
   * (default 100). Clients without the token share one such budget per address.
   */
  readonly requestsPerSecond?: number;
  readonly burst?: number;
  /** Browser origins allowed besides the inspector's own page (default none). */
  readonly allowedOrigins?: readonly string[];
  /** Context fields always redacted in snapshots (dotted for nested), on top of each query's own. */
  readonly redact?: readonly string[];
  /** Field names whose values are redacted at any depth (default DEFAULT_SECRET_KEYS; `[]` for none). */
  readonly secretKeys?: readonly RegExp[];
  /** Patterns redacted inside any string shown (default DEFAULT_SECRET_VALUES; `[]` for none). */
  readonly secretValues?: readonly RegExp[];
  /** The most bytes of JSON any reply (or the hello) takes (default 1 MiB, at least 16 KiB); beyond, it is cut with `[truncated]` markers. */
  readonly maxReplyBytes?: number;
  /** Most clients at once (default 32); more are closed with 1013. */
  readonly maxClients?: number;
  /** Of `maxClients`, the slots only clients with the token may take (default a quarter of them with a token, 0 without). */
  readonly reservedClients?: number;
  /**
   * Message, dead-letter and state events recorded and sent per second at most, for the whole
   * system (default 20,000, in bursts of as many; `Infinity` for all). Beyond it they are only
   * counted, and clients get an `over-budget` event with the counts; lifecycle and supervision
   * events are never held back.
   */
  readonly maxEventsPerSecond?: number;
}

export type CheckedOptions = Required<Omit<InspectorOptions, 'token'>> & { readonly token: string | undefined };

export class InspectorError extends ConfigurationError {}

const MIN_REPLY_BYTES = 16 * 1024;

function invalid(message: string): InspectorError {
  return new InspectorError('invalid-inspector', message);
}

function positive(name: string, value: number | undefined, fallback: number, least = 1): number {
  const result = value ?? fallback;
  if (!(Number.isInteger(result) && result >= least)) throw invalid(`inspector ${name} must be a whole number ${least === 1 ? '> 0' : `≥ ${least}`}, got ${String(value)}`);
  return result;
}

function eventBudget(value: number | undefined): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  return positive('maxEventsPerSecond', value, DEFAULT_MAX_EVENTS_PER_SECOND);
}

function list<T>(name: string, value: readonly T[] | undefined, fallback: readonly T[], item: (entry: unknown) => boolean, what: string): readonly T[] {
  if (value === undefined) return fallback;
  if (!(Array.isArray(value) && value.every(item))) throw invalid(`inspector ${name} must be an array of ${what}`);
  return value;
}

function reserved(value: number | undefined, maxClients: number, token: string | undefined): number {
  const result = value ?? (token === undefined ? 0 : Math.ceil(maxClients / 4));
  if (!(Number.isInteger(result) && result >= 0 && result <= maxClients)) throw invalid(`inspector reservedClients must be a whole number from 0 to maxClients (${maxClients}), got ${String(value)}`);
  return result;
}

export function checkOptions(options: InspectorOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('inspector options must be an object such as { port: 0, token: "..." }');
  const port = options.port ?? 0;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65_535)) throw invalid(`inspector port must be 0..65535, got ${String(options.port)}`);
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 8)) {
    throw invalid('inspector token must be a string of at least 8 characters (or left out to turn snapshots and control off)');
  }
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) throw invalid(`inspector host must be a host name or address such as "127.0.0.1", got ${String(options.host)}`);
  const isString = (entry: unknown): boolean => typeof entry === 'string';
  const isPattern = (entry: unknown): boolean => entry instanceof RegExp;
  const maxClients = positive('maxClients', options.maxClients, 32);
  return {
    port,
    host: options.host ?? '127.0.0.1',
    token: options.token,
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes, 64 * 1024),
    bufferEvents: positive('bufferEvents', options.bufferEvents, 10_000),
    requestsPerSecond: positive('requestsPerSecond', options.requestsPerSecond, 50),
    burst: positive('burst', options.burst, 100),
    allowedOrigins: list('allowedOrigins', options.allowedOrigins, [], isString, 'strings'),
    redact: list('redact', options.redact, [], isString, 'strings'),
    secretKeys: list('secretKeys', options.secretKeys, DEFAULT_SECRET_KEYS, isPattern, 'RegExps'),
    secretValues: list('secretValues', options.secretValues, DEFAULT_SECRET_VALUES, isPattern, 'RegExps'),
    maxReplyBytes: positive('maxReplyBytes', options.maxReplyBytes, DEFAULT_MAX_REPLY_BYTES, MIN_REPLY_BYTES),
    maxClients,
    reservedClients: reserved(options.reservedClients, maxClients, options.token),
    maxEventsPerSecond: eventBudget(options.maxEventsPerSecond),
  };
}
