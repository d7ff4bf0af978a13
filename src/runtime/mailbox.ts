import type { DeadLetterReason } from './dead-letters.js';
import { ConfigurationError } from './errors.js';
import { RingQueue } from './ring-queue.js';

/**
 * What happens when a message arrives at a full mailbox:
 * - `reject`: the new message is refused (its sender gets `failure`, reason `mailbox-full`);
 * - `drop-oldest`: the oldest queued message is evicted to make room;
 * - `drop-newest`: the new message is dropped;
 * - `backpressure`: the new message waits outside the mailbox until there is room, and the
 *   sender waits with it (`await system.tell(...)`, or a sending agent is paused); past
 *   `maxWaiting` waiting messages, it is refused (reason `backpressure-full`).
 */
export type OverflowPolicy = 'reject' | 'drop-oldest' | 'drop-newest' | 'backpressure';

export interface MailboxOptions {
  /** Most messages held at once (default 1,000). */
  readonly capacity?: number;
  readonly overflow?: OverflowPolicy;
  /**
   * Under `backpressure`, most messages waiting outside the full mailbox (default 10,000);
   * one more is refused. A whole number ≥ 1: an unbounded wait would let senders fill the heap.
   * Other policies never park a message and ignore it (a definition spread into a new one carries it).
   */
  readonly maxWaiting?: number;
}

export const DEFAULT_MAILBOX: Required<MailboxOptions> = { capacity: 1_000, overflow: 'reject', maxWaiting: 10_000 };

const POLICIES: ReadonlySet<string> = new Set(['reject', 'drop-oldest', 'drop-newest', 'backpressure']);

export function resolveMailboxOptions(options: MailboxOptions | undefined): Required<MailboxOptions> {
  const capacity = options?.capacity ?? DEFAULT_MAILBOX.capacity;
  const overflow = options?.overflow ?? DEFAULT_MAILBOX.overflow;
  const maxWaiting = options?.maxWaiting ?? DEFAULT_MAILBOX.maxWaiting;
  if (!(Number.isInteger(capacity) && capacity >= 1) && capacity !== Number.POSITIVE_INFINITY) {
    throw new ConfigurationError('invalid-mailbox', `mailbox capacity must be a whole number ≥ 1 or Infinity, got ${String(capacity)}`);
  }
  if (!POLICIES.has(overflow)) {
    throw new ConfigurationError('invalid-mailbox', `mailbox overflow must be one of ${[...POLICIES].join(', ')}, got ${String(overflow)}`);
  }
  if (!(Number.isInteger(maxWaiting) && maxWaiting >= 1)) {
    throw new ConfigurationError('invalid-mailbox', `mailbox maxWaiting must be a whole number ≥ 1 (it bounds the messages waiting at a full backpressure mailbox; for no bound on the mailbox, set capacity: Infinity), got ${String(maxWaiting)}`);
  }
  return { capacity, overflow, maxWaiting };
}

/** What `offer` did with a message. */
export type OfferOutcome<T> =
  | { readonly kind: 'queued' }
  | { readonly kind: 'evicted'; readonly evicted: T }
  | { readonly kind: 'refused' }
  | { readonly kind: 'waiting' };

/** Told what became of a message parked by `backpressure`. */
export type Settle = (outcome: 'queued' | 'refused') => void;

const QUEUED = { kind: 'queued' } as const;
const REFUSED = { kind: 'refused' } as const;
const WAITING = { kind: 'waiting' } as const;

/** A message parked by `backpressure`, with the callback told its fate. */
interface Parked<T> {
  readonly item: T;
  readonly settle: Settle;
}

/**
 * A bounded FIFO on a growable ring buffer. A mailbox that never held a message holds no
 * buffer at all, so a hundred thousand quiet agents cost little. Messages parked by
 * `backpressure` wait in a second ring, bounded by `maxWaiting`, so that admitting one is
 * O(1) however many wait.
 */
export class Mailbox<T> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly maxWaiting: number;
  private queue: RingQueue<T> | undefined;
  private waiting: RingQueue<Parked<T>> | undefined;

  constructor(options: Required<MailboxOptions>) {
    this.capacity = options.capacity;
    this.overflow = options.overflow;
    this.maxWaiting = options.maxWaiting;
  }

  get length(): number {
    return this.queue === undefined ? 0 : this.queue.length;
  }

  get waitingCount(): number {
    return this.waiting === undefined ? 0 : this.waiting.length;
  }

  /**
   * Offers a message; under `backpressure` a full mailbox parks it (or refuses it when
   * `maxWaiting` already wait), and `settle` hears `queued` when it gets in, or `refused`
   * when the mailbox is emptied for good first.
   */
  offer(item: T, settle?: Settle): OfferOutcome<T> {
    if (this.length < this.capacity) {
      this.push(item);
      return QUEUED;
    }
    switch (this.overflow) {
      case 'drop-oldest': {
        const evicted = this.shift() as T;
        this.push(item);
        return { kind: 'evicted', evicted };
      }
      case 'backpressure':
        if (this.waitingCount >= this.maxWaiting) return REFUSED;
        (this.waiting ??= new RingQueue()).push({ item, settle: settle ?? noop });
        return WAITING;
      default:
        return REFUSED;
    }
  }

  shift(): T | undefined {
    if (this.queue === undefined || this.queue.length === 0) return undefined;
    const item = this.queue.shift();
    const next = this.waiting?.shift();
    if (next !== undefined) {
      this.push(next.item);
      next.settle('queued');
    }
    return item;
  }

  peek(): T | undefined {
    return this.queue?.peek();
  }

  /** Removes and returns everything, waiting messages last, in arrival order; the waiting ones are refused. */
  takeAll(): T[] {
    const out: T[] = [];
    while (this.queue !== undefined && this.queue.length > 0) out.push(this.queue.shift() as T);
    const waiting = this.waiting;
    this.waiting = undefined;
    for (let parked = waiting?.shift(); parked !== undefined; parked = waiting?.shift()) {
      out.push(parked.item);
      parked.settle('refused');
    }
    return out;
  }

  private push(item: T): void {
    (this.queue ??= new RingQueue()).push(item);
  }
}

/** How the runtime records and answers a message `offer` refused: why, in words that say what to do. */
export function refusalOf(mailbox: Mailbox<unknown>, path: string): { readonly deadReason: DeadLetterReason; readonly reason: string; readonly detail: string } {
  if (mailbox.overflow === 'backpressure') {
    return {
      deadReason: 'backpressure-full',
      reason: 'backpressure-full',
      detail: `mailbox of ${path} is full (capacity ${mailbox.capacity}) and so is its backpressure queue (maxWaiting ${mailbox.maxWaiting} messages waiting for room); wait for the sends already waiting (await system.tell) before sending more, or raise the receiver's mailbox capacity or maxWaiting`,
    };
  }
  return { deadReason: mailbox.overflow === 'drop-newest' ? 'dropped-newest' : 'mailbox-full', reason: 'mailbox-full', detail: `mailbox of ${path} is full (capacity ${mailbox.capacity})` };
}

function noop(): void {}
