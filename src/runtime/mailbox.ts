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

const QUEUED = { kind: 'queued' } as const;
const REFUSED = { kind: 'refused' } as const;
const WAITING = { kind: 'waiting' } as const;

/**
 * A bounded FIFO on a growable ring buffer. A mailbox that never held a message holds no
 * buffer at all, so a hundred thousand quiet agents cost little.
 */
export class Mailbox<T> {
  private queue: RingQueue<T> | undefined;
  /** Messages waiting for room under `backpressure`, with the callback that admits each. */
  private waiting: { item: T; admitted: () => void }[] | undefined;

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

  /** Offers a message; under `backpressure` a full mailbox parks it until `admitted` is called. */
  offer(item: T, admitted?: () => void): OfferOutcome<T> {
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
        (this.waiting ??= []).push({ item, admitted: admitted ?? noop });
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

  /** Removes and returns everything, waiting messages last, in arrival order. */
  takeAll(): T[] {
    const out: T[] = [];
    while (this.length > 0) out.push(this.shift() as T);
    return out;
  }

  private admitOne(): void {
    const next = (this.waiting as { item: T; admitted: () => void }[]).shift() as { item: T; admitted: () => void };
    this.push(next.item);
    next.admitted();
  }

  private push(item: T): void {
    (this.queue ??= new RingQueue()).push(item);
  }
}

function noop(): void {}
