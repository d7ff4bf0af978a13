/**
 * Slows token guessing. Each wrong token doubles the wait before the next token from the same
 * address is checked (from 100 ms up to 5 s); a token arriving inside the wait is not checked
 * at all and is told the time left. Keyed by address, not by connection: guessing gains
 * nothing from parallel or fresh connections (every client on loopback shares 127.0.0.1, so
 * all local guessers share one wait). A right token clears the wait.
 */
import { PerAddress } from './rate-limit.js';

export const FIRST_WAIT_MS = 100;
export const MAX_WAIT_MS = 5_000;

/** Consecutive wrong tokens from one address, and until when its next token waits. */
class Backoff {
  private failures = 0;
  private until = 0;

  /** Milliseconds until a token from here may be checked (0: now). */
  waitMs(now: number): number {
    return Math.max(0, Math.ceil(this.until - now));
  }

  failed(now: number): void {
    this.failures++;
    this.until = now + Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** Math.min(this.failures - 1, 16));
  }

  clear(): void {
    this.failures = 0;
    this.until = 0;
  }
}

export type TokenCheck = { readonly outcome: 'right' | 'wrong' } | { readonly outcome: 'wait'; readonly waitMs: number };

export class TokenGuard {
  private readonly addresses = new PerAddress(() => new Backoff());

  constructor(private readonly matches: (token: string) => boolean) {}

  /** Checks `token` unless its address must still wait; records the outcome. */
  check(token: string, address: string): TokenCheck {
    const now = performance.now();
    const source = this.addresses.get(address);
    const waitMs = source.waitMs(now);
    if (waitMs > 0) return { outcome: 'wait', waitMs };
    if (this.matches(token)) {
      source.clear();
      return { outcome: 'right' };
    }
    source.failed(now);
    return { outcome: 'wrong' };
  }
}
