/**
 * A token bucket: at most `capacity` tokens, earned back at `perSecond`; each admitted unit
 * takes one. The caller reads the clock and passes it (Date.now or performance.now, once per
 * batch of takes if it likes), so a hot path pays no clock read per take.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.refilledAt = now;
  }

  /** Adds the tokens earned since the last refill, up to the capacity. */
  refill(now: number): void {
    const elapsed = now - this.refilledAt;
    // `tokens < capacity` keeps an unlimited bucket (Infinity) from ever computing Infinity × 0.
    if (elapsed > 0 && this.tokens < this.capacity) this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.perSecond) / 1_000);
    this.refilledAt = now;
  }

  /** True when a token is left; takes nothing. */
  get hasToken(): boolean {
    return this.tokens >= 1;
  }

  /** Refills up to `now`, then takes a token when one is left. */
  takeAt(now: number): boolean {
    this.refill(now);
    return this.take();
  }

  /** Takes a token when one is left. */
  take(): boolean {
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Full again, counting from `now`. */
  reset(now: number): void {
    this.tokens = this.capacity;
    this.refilledAt = now;
  }
}
