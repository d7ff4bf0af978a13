import { ConfigurationError } from './errors.js';
import { RingQueue } from './ring-queue.js';

/**
 * What happens when a message arrives at a full mailbox:
 * - `reject`: the new message is refused (its sender gets `failure`, reason `mailbox-full`);
 * - `drop-oldest`: the oldest queued message is evicted to make room;
 * - `drop-newest`: the new message is dropped;
 * - `backpressure`: the new message waits outside the mailbox until there is room, and the
 *   sender waits with it (`await system.tell(...)`, or a sending agent is paused).
 */
export type OverflowPolicy = 'reject' | 'drop-oldest' | 'drop-newest' | 'backpressure';

export interface MailboxOptions {
  /** Most messages held at once (default 1,000). */
  readonly capacity?: number;
  readonly overflow?: OverflowPolicy;
}

export const DEFAULT_MAILBOX: Required<MailboxOptions> = { capacity: 1_000, overflow: 'reject' };

const POLICIES: ReadonlySet<string> = new Set(['reject', 'drop-oldest', 'drop-newest', 'backpressure']);

export function resolveMailboxOptions(options: MailboxOptions | undefined): Required<MailboxOptions> {
  const capacity = options?.capacity ?? DEFAULT_MAILBOX.capacity;
  const overflow = options?.overflow ?? DEFAULT_MAILBOX.overflow;
  if (!(Number.isInteger(capacity) && capacity >= 1) && capacity !== Number.POSITIVE_INFINITY) {
    throw new ConfigurationError('invalid-mailbox', `mailbox capacity must be a whole number ≥ 1 or Infinity, got ${String(capacity)}`);
  }
  if (!POLICIES.has(overflow)) {
    throw new ConfigurationError('invalid-mailbox', `mailbox overflow must be one of ${[...POLICIES].join(', ')}, got ${String(overflow)}`);
  }
  return { capacity, overflow };
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

/**
 * A bounded FIFO on a growable ring buffer. A mailbox that never held a message holds no
 * buffer at all, so a hundred thousand quiet agents cost little.
 */
export class Mailbox<T> {
  private queue: RingQueue<T> | undefined;
  /** Messages waiting for room under `backpressure`, each with the callback told its fate. */
  private waiting: { item: T; settle: Settle }[] | undefined;

  constructor(
    readonly capacity: number,
    readonly overflow: OverflowPolicy,
  ) {}

  get length(): number {
    return this.queue === undefined ? 0 : this.queue.length;
  }

  get waitingCount(): number {
    return this.waiting?.length ?? 0;
  }

  /**
   * Offers a message; under `backpressure` a full mailbox parks it, and `settle` hears
   * `queued` when it gets in, or `refused` when the mailbox is emptied for good first.
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
        (this.waiting ??= []).push({ item, settle: settle ?? noop });
        return WAITING;
      default:
        return REFUSED;
    }
  }

  shift(): T | undefined {
    if (this.queue === undefined || this.queue.length === 0) return undefined;
    const item = this.queue.shift();
    if (this.waiting !== undefined && this.waiting.length > 0) this.admitOne();
    return item;
  }

  peek(): T | undefined {
    return this.queue?.peek();
  }

  /** Removes and returns everything, waiting messages last, in arrival order; the waiting ones are refused. */
  takeAll(): T[] {
    const out: T[] = [];
    while (this.queue !== undefined && this.queue.length > 0) out.push(this.queue.shift() as T);
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    for (const { item, settle } of waiting) {
      out.push(item);
      settle('refused');
    }
    return out;
  }

  private admitOne(): void {
    const next = (this.waiting as { item: T; settle: Settle }[]).shift() as { item: T; settle: Settle };
    this.push(next.item);
    next.settle('queued');
  }

  private push(item: T): void {
    (this.queue ??= new RingQueue()).push(item);
  }
}

function noop(): void {}
