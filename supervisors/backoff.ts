import { SupervisorSpecError } from './child-spec.js';

export interface Backoff {
  /** Delay before the first restart in a row, ms. */
  readonly minMs: number;
  /** Longest delay, ms. */
  readonly maxMs: number;
  /** Growth per consecutive restart (default 2). */
  readonly factor?: number;
  /** Random extra fraction of the delay, 0..1 (default 0.2), so restarts of many children spread out. */
  readonly jitter?: number;
  /** A child that stays up this long resets the series (default 10 × maxMs, at most 60 s). */
  readonly resetAfterMs?: number;
}

export function resolveBackoff(backoff: Backoff | undefined): Required<Backoff> | undefined {
  if (backoff === undefined) return undefined;
  const factor = backoff.factor ?? 2;
  const jitter = backoff.jitter ?? 0.2;
  const ok = backoff.minMs >= 0 && backoff.maxMs >= backoff.minMs && factor >= 1 && jitter >= 0 && jitter <= 1;
  if (!ok) throw new SupervisorSpecError('invalid-backoff', `backoff needs 0 ≤ minMs ≤ maxMs, factor ≥ 1 and 0 ≤ jitter ≤ 1, got ${JSON.stringify(backoff)}`);
  return { minMs: backoff.minMs, maxMs: backoff.maxMs, factor, jitter, resetAfterMs: backoff.resetAfterMs ?? Math.min(backoff.maxMs * 10, 60_000) };
}

/** The delay before restart number `attempt` (0-based) in a series, with jitter. */
export function backoffDelay(backoff: Required<Backoff>, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.minMs * backoff.factor ** attempt);
  return Math.round(base * (1 + backoff.jitter * random()));
}
