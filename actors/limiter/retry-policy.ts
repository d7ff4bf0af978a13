import { APIConnectionError } from 'openai';

/**
 * When a failed model call is tried again: 429 after the provider's `retry-after`, 5xx and
 * network errors after exponential backoff with jitter, anything else never.
 */

export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  readonly maxRetries?: number;
  /** First backoff (default 250 ms), doubled per retry up to `maxMs` (default 8,000 ms). */
  readonly baseMs?: number;
  readonly maxMs?: number;
  /** Random extra delay as a fraction of the backoff (default 0.2). */
  readonly jitter?: number;
  /** A 429 without `retry-after` waits this long (default 1,000 ms). */
  readonly rateLimitFallbackMs?: number;
  /**
   * The longest a 429's `retry-after` is followed (default 60,000 ms, as the OpenAI SDK does):
   * a longer one pauses the limiter, and retries the call, after this long instead, so that one
   * answer (a misconfigured proxy, a hostile server) cannot stop every caller for an hour.
   */
  readonly maxRetryAfterMs?: number;
}

export type RetryDecision = { readonly retry: false } | { readonly retry: true; readonly afterMs: number; readonly rateLimited: boolean };

export interface RetryPolicy {
  readonly maxRetries: number;
  /** Whether to try again after `error` on retry number `retry` (1 for the first retry). */
  decide(error: unknown, retry: number): RetryDecision;
}

interface HttpLikeError {
  readonly status?: unknown;
  readonly headers?: unknown;
  readonly name?: unknown;
}

function header(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** `retry-after-ms`, else `retry-after` (seconds or an HTTP date), in ms; undefined when absent or unreadable. */
export function retryAfterMs(headers: unknown, now = Date.now()): number | undefined {
  const ms = Number(header(headers, 'retry-after-ms'));
  if (header(headers, 'retry-after-ms') !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const value = header(headers, 'retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

function isNetworkError(error: HttpLikeError): boolean {
  // The SDK wraps network failures in APIConnectionError (an abort is APIUserAbortError, not one).
  if (error instanceof APIConnectionError) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

export function createRetryPolicy(options: RetryOptions = {}, random: () => number = Math.random): RetryPolicy {
  const maxRetries = options.maxRetries ?? 3;
  const baseMs = options.baseMs ?? 250;
  const maxMs = options.maxMs ?? 8_000;
  const jitter = options.jitter ?? 0.2;
  const fallbackMs = options.rateLimitFallbackMs ?? 1_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  for (const [name, value] of Object.entries({ maxRetries, baseMs, maxMs, jitter, rateLimitFallbackMs: fallbackMs, maxRetryAfterMs })) {
    if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`retry.${name} must be a finite number ≥ 0, got ${String(value)}`);
  }
  const backoff = (retry: number): number => Math.min(maxMs, baseMs * 2 ** (retry - 1)) * (1 + jitter * random());
  return {
    maxRetries,
    decide(error, retry) {
      if (retry > maxRetries || typeof error !== 'object' || error === null) return { retry: false };
      const httpError = error as HttpLikeError;
      if (httpError.status === 429) return { retry: true, afterMs: Math.min(maxRetryAfterMs, retryAfterMs(httpError.headers) ?? fallbackMs), rateLimited: true };
      if (typeof httpError.status === 'number' && httpError.status >= 500) return { retry: true, afterMs: backoff(retry), rateLimited: false };
      if (isNetworkError(httpError)) return { retry: true, afterMs: backoff(retry), rateLimited: false };
      return { retry: false };
    },
  };
}
