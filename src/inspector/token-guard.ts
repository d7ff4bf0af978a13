/**
 * Slows token guessing. Each wrong token doubles the wait before the next token is checked
 * (from 100 ms up to 5 s), both for the address it came from and for the connection it came
 * on; a token arriving inside a wait is not checked at all and gets the time left, so guessing
 * gains nothing from being fast, from parallel connections or from fresh ones (every client
 * on loopback shares one address). A right token clears both waits.
 */
import { PerAddress } from './rate-limit.js';

export const FIRST_WAIT_MS = 100;
export const MAX_WAIT_MS = 5_000;

/** Consecutive wrong tokens from one source, and until when its next token waits. */
export class Backoff {
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

  /** Checks `token` unless its address or connection must still wait; records the outcome. */
  check(token: string, address: string, connection: Backoff | undefined): TokenCheck {
    const now = performance.now();
    const source = this.addresses.get(address);
    const waitMs = Math.max(source.waitMs(now), connection?.waitMs(now) ?? 0);
    if (waitMs > 0) return { outcome: 'wait', waitMs };
    if (this.matches(token)) {
      source.clear();
      connection?.clear();
      return { outcome: 'right' };
    }
    source.failed(now);
    connection?.failed(now);
    return { outcome: 'wrong' };
  }
}
