import type { Clock, TimerHandle } from './clock.js';
import { ConfigurationError } from './errors.js';

interface VirtualTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * Time that moves only when told (`advance`): timers fire in due order, each at its time, and
 * readings show the time reached. For deterministic tests and for replaying a journal.
 */
export class VirtualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, VirtualTimer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  monotonic(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, Number.isFinite(ms) ? ms : 0), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time on by `ms`, firing every timer due on the way in order (one set by a callback too, if due). */
  advance(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new ConfigurationError('invalid-timeout', `VirtualClock.advance needs a finite number of milliseconds ≥ 0, got ${String(ms)}`);
    const until = this.time + ms;
    for (let next = this.due(until); next !== undefined; next = this.due(until)) {
      this.timers.delete(next.id);
      this.time = next.at;
      next.callback();
    }
    this.time = until;
  }

  private due(until: number): VirtualTimer | undefined {
    let first: VirtualTimer | undefined;
    for (const timer of this.timers.values()) if (timer.at <= until && (first === undefined || timer.at < first.at || (timer.at === first.at && timer.id < first.id))) first = timer;
    return first;
  }
}
