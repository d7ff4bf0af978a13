/**
 * Fan-out/fan-in: many requests at once, one deadline for all, and every answer, failure and
 * timeout returned as data. Partial results are the point: the answers that arrived are
 * never thrown away because others failed or ran late.
 */
import { nanoid } from 'nanoid';
import { fromPromise, type AnyActorRef } from 'xstate';
import type { AclMessage, MessageOptions } from '../acl/message.js';
import type { Performative } from '../acl/performatives.js';
import { ReplyError } from '../acl/reply-errors.js';
import { askFromActor, type AskInput } from '../agent/ask.js';
import { ConfigurationError, DeadlineError } from '../runtime/errors.js';
import type { System } from '../system/system.js';
import { isTimerDelay, MAX_TIMER_MS } from '../runtime/timeouts.js';

export interface ParallelRequest {
  /** Path of the agent asked. */
  readonly to: string;
  readonly content?: unknown;
  /** Default `request`. */
  readonly performative?: Performative;
  /** This request's own deadline, capped by the fan-out's `deadlineMs`. */
  readonly timeoutMs?: number;
  readonly options?: MessageOptions;
}

export type Settle = 'all' | 'first' | 'quorum';

export interface ParallelOptions {
  /** One deadline for the whole fan-out; requests still open then are `timeout`. */
  readonly deadlineMs: number;
  /** `all` (default): wait for every request; `first`: the first `inform`; `quorum`: `quorum` informs. */
  readonly settle?: Settle;
  /** For `quorum`: informs needed (default a majority, ⌊n/2⌋ + 1). */
  readonly quorum?: number;
  readonly signal?: AbortSignal;
}

interface OutcomeBase {
  readonly index: number;
  readonly to: string;
}

export type ParallelOutcome =
  | (OutcomeBase & { readonly status: 'inform'; readonly message: AclMessage; readonly ms: number })
  /** A `failure`, `refuse` or `not-understood` answer, or an error before any answer (bad input). */
  | (OutcomeBase & { readonly status: 'failure'; readonly performative: Performative | undefined; readonly reason: string | undefined; readonly detail: string; readonly ms: number })
  | (OutcomeBase & { readonly status: 'timeout'; readonly ms: number })
  /** Still open when the fan-out settled (`first`/`quorum` reached, or its signal aborted); its request was withdrawn. */
  | (OutcomeBase & { readonly status: 'cancelled' });

export interface ParallelResult {
  /** One per request, in request order. */
  readonly outcomes: readonly ParallelOutcome[];
  readonly informs: readonly AclMessage[];
  /** Whether the settle condition was met (for `quorum`/`first`, false when too many failed or ran out of time). */
  readonly satisfied: boolean;
  readonly elapsedMs: number;
}

export type Asker = (input: AskInput, signal: AbortSignal) => Promise<AclMessage>;

/** How long a withdrawn request's `cancel` waits for its (ignored) answer. */
const CANCEL_TIMEOUT_MS = 5_000;

/**
 * Tells the agent that a request is withdrawn (FIPA cancel, in the request's conversation), so
 * that it can stop working on it (an LLM agent aborts its model call). Best effort by design:
 * an agent without cancel support answers not-understood, and nobody waits on the outcome.
 */
function sendCancel(ask: Asker, to: string, conversationId: string): void {
  let sent: Promise<AclMessage>;
  try {
    sent = ask({ to, performative: 'cancel', timeoutMs: CANCEL_TIMEOUT_MS, options: { conversationId } }, new AbortController().signal);
  } catch {
    return; // the system stopped meanwhile: there is nothing left to cancel
  }
  sent.then(
    () => undefined,
    () => undefined,
  );
}

function checkRequests(requests: readonly ParallelRequest[]): void {
  requests.forEach((request, index) => {
    if (typeof request !== 'object' || request === null || typeof request.to !== 'string') throw new ConfigurationError('invalid-parallel', `parallel: requests[${index}] must be { to: '/path', content? }, got ${String(request)}`);
  });
}

function checkOptions(count: number, options: ParallelOptions): number {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('invalid-parallel', 'parallel needs options { deadlineMs, settle? }');
  const { deadlineMs } = options;
  // A longer delay would fire after 1 ms and time every request out at once.
  if (!(isTimerDelay(deadlineMs) || deadlineMs === Number.POSITIVE_INFINITY)) {
    throw new ConfigurationError('invalid-parallel', `parallel: deadlineMs must be a number of ms > 0 and ≤ ${MAX_TIMER_MS} (a timer's longest delay), or Infinity, got ${String(deadlineMs)}`);
  }
  const settle = options.settle ?? 'all';
  if (settle !== 'all' && settle !== 'first' && settle !== 'quorum') throw new ConfigurationError('invalid-parallel', `parallel: settle must be 'all', 'first' or 'quorum', got ${String(settle)}`);
  if (settle === 'all') return count;
  if (settle === 'first') return Math.min(1, count);
  const quorum = options.quorum ?? Math.floor(count / 2) + 1;
  if (!(Number.isInteger(quorum) && quorum >= 1 && quorum <= count)) throw new ConfigurationError('invalid-parallel', `parallel: quorum must be a whole number from 1 to ${count} (the number of requests), got ${String(options.quorum)}`);
  return quorum;
}

/** The fan-out itself, over any way of asking (the system from outside, an agent from inside). */
export function fanOut(ask: Asker, requests: readonly ParallelRequest[], options: ParallelOptions): Promise<ParallelResult> {
  if (!Array.isArray(requests)) return Promise.reject(new ConfigurationError('invalid-parallel', 'parallel: requests must be an array of { to, content? }'));
  let needed: number;
  try {
    checkRequests(requests);
    needed = checkOptions(requests.length, options);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  const settle = options.settle ?? 'all';
  const started = performance.now();
  const outcomes: (ParallelOutcome | undefined)[] = requests.map(() => undefined);
  const controllers = requests.map(() => new AbortController());
  // Each request's own conversation, so a withdrawn one can be cancelled by it.
  const prefix = nanoid(8);
  const conversations = requests.map((request, index) => request.options?.conversationId ?? `${prefix}-parallel-${index}`);
  let asked = 0;
  let informs = 0;
  let settled = 0;
  return new Promise((resolve) => {
    let finished = false;
    const finish = (openStatus: 'timeout' | 'cancelled'): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const ms = performance.now() - started;
      requests.forEach((request, index) => {
        if (outcomes[index] !== undefined) return;
        outcomes[index] = openStatus === 'timeout' ? { index, to: request.to, status: 'timeout', ms } : { index, to: request.to, status: 'cancelled' };
        controllers[index]?.abort(new Error(`parallel: ${openStatus}`));
        if (index < asked) sendCancel(ask, request.to, conversations[index] as string);
      });
      const all = outcomes as ParallelOutcome[];
      resolve({ outcomes: all, informs: all.flatMap((outcome) => (outcome.status === 'inform' ? [outcome.message] : [])), satisfied: informs >= needed, elapsedMs: ms });
    };
    const record = (outcome: ParallelOutcome): void => {
      if (finished || outcomes[outcome.index] !== undefined) return;
      outcomes[outcome.index] = outcome;
      settled++;
      if (outcome.status === 'inform') informs++;
      const open = requests.length - settled;
      if (settled === requests.length) finish('cancelled');
      else if (settle !== 'all' && (informs >= needed || informs + open < needed)) finish('cancelled');
    };
    const onAbort = (): void => finish('cancelled');
    const timer = Number.isFinite(options.deadlineMs) ? setTimeout(() => finish('timeout'), options.deadlineMs) : undefined;
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted === true || requests.length === 0) return finish('cancelled');
    requests.forEach((request, index) => {
      const controller = controllers[index] as AbortController;
      const timeoutMs = Math.min(request.timeoutMs ?? options.deadlineMs, options.deadlineMs);
      const input: AskInput = { to: request.to, content: request.content, performative: request.performative, timeoutMs, options: { ...request.options, conversationId: conversations[index] as string } };
      let answer: Promise<AclMessage>;
      try {
        answer = ask(input, controller.signal);
      } catch (error) {
        answer = Promise.reject(error as Error);
      }
      asked = index + 1;
      answer.then(
        (message) => record({ index, to: request.to, status: 'inform', message, ms: performance.now() - started }),
        (error: unknown) => {
          if (controller.signal.aborted) return; // withdrawn by finish(), already recorded
          const ms = performance.now() - started;
          if (error instanceof DeadlineError) {
            sendCancel(ask, request.to, conversations[index] as string);
            return record({ index, to: request.to, status: 'timeout', ms });
          }
          if (error instanceof ReplyError) return record({ index, to: request.to, status: 'failure', performative: error.reply.performative, reason: error.reason, detail: error.message, ms });
          return record({ index, to: request.to, status: 'failure', performative: undefined, reason: error instanceof Error && 'code' in error ? String((error as { code: unknown }).code) : undefined, detail: error instanceof Error ? error.message : String(error), ms });
        },
      );
    });
  });
}

/** Asks every agent in `requests` at once from outside the system; never rejects for an agent's failure. */
export function parallel(system: System, requests: readonly ParallelRequest[], options: ParallelOptions): Promise<ParallelResult> {
  const ask: Asker = (input, signal) => system.request(input.to, input.content, { timeoutMs: input.timeoutMs, performative: input.performative, options: input.options, signal });
  return fanOut(ask, requests, options);
}

export interface ParallelInput extends ParallelOptions {
  readonly requests: readonly ParallelRequest[];
}

/**
 * The same fan-out as invoked logic inside an agent's machine
 * (`invoke: { src: 'parallel', input: { requests, deadlineMs, settle } }`); `onDone` gets the
 * ParallelResult. Leaving the state or stopping the agent withdraws the open requests.
 */
export const parallelAsk = fromPromise<ParallelResult, ParallelInput>(({ input, self, signal }) => {
  const ask: Asker = (askInput, askSignal) => askFromActor(self as AnyActorRef, askInput, askSignal);
  return fanOut(ask, input.requests, { ...input, signal });
});
