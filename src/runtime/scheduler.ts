import { ConfigurationError } from './errors.js';
import { RingQueue } from './ring-queue.js';

/** Something with a mailbox the scheduler can drain. */
export interface Runnable {
  /** True while the runnable sits in the ready queue; owned by the scheduler. */
  queued: boolean;
  /** Handles at most `max` queued items and returns how many it handled. */
  runTurn(max: number): number;
  /** True when it has queued items it can handle now. */
  hasWork(): boolean;
}

export interface SchedulerOptions {
  /** Most messages one agent handles per turn before the next ready agent goes (default 16). */
  readonly throughput?: number;
  /** Most messages handled per macrotask before yielding to I/O and timers (default 4,096). */
  readonly budget?: number;
}

/**
 * Drains ready mailboxes round-robin: each ready agent gets a turn of at most `throughput`
 * messages, then goes to the back of the queue; after `budget` messages the scheduler
 * yields to the event loop with setImmediate. The order depends only on what was sent and
 * when, never on randomness or wall-clock time, so runs are reproducible.
 */
export class Scheduler {
  readonly throughput: number;
  readonly budget: number;
  private readonly ready = new RingQueue<Runnable>();
  private pending = false;
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    options: SchedulerOptions = {},
    /** Told when a runnable's turn throws (a bug: a runnable handles its own failures); the drain goes on. */
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.throughput = wholeAtLeastOne('throughput', options.throughput ?? 16);
    this.budget = wholeAtLeastOne('budget', options.budget ?? 4_096);
  }

  /** Puts a runnable in the ready queue (once) and makes sure a drain is coming. */
  schedule(runnable: Runnable): void {
    if (runnable.queued) return;
    runnable.queued = true;
    this.ready.push(runnable);
    if (!this.pending && !this.draining) {
      this.pending = true;
      setImmediate(this.drain);
    }
  }

  /** Resolves once no agent has work left (messages still arriving may start a new drain). */
  whenIdle(): Promise<void> {
    if (!this.pending && !this.draining && this.ready.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly drain = (): void => {
    this.pending = false;
    this.draining = true;
    let left = this.budget;
    try {
      while (left > 0 && this.ready.length > 0) {
        const runnable = this.ready.shift() as Runnable;
        runnable.queued = false;
        try {
          left -= runnable.runTurn(Math.min(this.throughput, left));
          if (runnable.hasWork()) this.schedule(runnable);
        } catch (error) {
          // A safety net: one runnable throwing must not stop every other agent's turns.
          left--;
          this.onError(error);
        }
      }
    } finally {
      this.draining = false;
    }
    if (this.ready.length > 0) {
      this.pending = true;
      setImmediate(this.drain);
    } else {
      this.notifyIdle();
    }
  };

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function wholeAtLeastOne(option: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 1)) throw new ConfigurationError('invalid-scheduler', `scheduler ${option} must be a whole number ≥ 1, got ${String(value)}`);
  return value;
}
