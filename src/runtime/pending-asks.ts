import type { AclMessage } from '../acl/message.js';
import { errorForReply } from '../acl/reply-errors.js';
import { ASK_PREFIX } from './addresses.js';
import { REAL_CLOCK, type Clock, type TimerHandle } from './clock.js';
import { systemIds, type IdSource } from './ids.js';
import { DeadlineError } from './errors.js';
import { MAX_TIMER_MS } from './timeouts.js';

interface Pending {
  readonly resolve: (reply: AclMessage) => void;
  readonly reject: (error: Error) => void;
  readonly acceptAgree: boolean;
  /** Who may answer: the agent asked, or the one it handed the request over to (see handOver). */
  receiver: string;
  /** The request's reply-with tag, which the answer's in-reply-to must name. */
  readonly replyWith: string;
  readonly conversationId: string;
  readonly timeoutMs: number;
  timer: TimerHandle | undefined;
  cleanup: (() => void) | undefined;
}

export interface AskRegistration {
  readonly address: string;
  readonly promise: Promise<AclMessage>;
}

/** What became of an answer offered to the waiting requests. */
export type SettleOutcome = 'settled' | 'nobody-waits' | 'not-from-the-asked';

/**
 * The requests waiting for an answer. Each gets a temporary address (`/$ask/<id>`, the id
 * unguessable) used as the message's reply-to, so the answer settles the waiting promise
 * directly instead of passing through anybody's mailbox. An answer is taken only from the
 * agent asked (or the one it handed the request over to) and only for the request's reply-with
 * tag: knowing the address is not enough to answer someone else's request.
 */
export class PendingAsks {
  private readonly waiting = new Map<string, Pending>();

  constructor(
    private readonly clock: Clock = REAL_CLOCK,
    private readonly ids: Pick<IdSource, 'ask'> = systemIds(),
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Registers a waiter; it fails with DeadlineError if no answer comes within `timeoutMs`, or with the reason when `signal` aborts (the caller checks a signal aborted already). */
  register(receiver: string, conversationId: string, replyWith: string, timeoutMs: number, acceptAgree: boolean, signal?: AbortSignal): AskRegistration {
    const id = this.ids.ask();
    const address = ASK_PREFIX + id;
    const promise = new Promise<AclMessage>((resolve, reject) => {
      const pending: Pending = { resolve, reject, acceptAgree, receiver, replyWith, conversationId, timeoutMs, timer: undefined, cleanup: undefined };
      if (Number.isFinite(timeoutMs)) {
        // Longer deadlines than one timer can hold are waited out in chunks.
        const arm = (left: number): void => {
          pending.timer = left > MAX_TIMER_MS ? this.clock.setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS) : this.clock.setTimeout(() => this.fail(id, deadlineOf(pending)), left);
        };
        arm(timeoutMs);
      }
      if (signal !== undefined) {
        const onAbort = (): void => this.fail(id, abortReason(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        pending.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiting.set(id, pending);
    });
    return { address, promise };
  }

  /**
   * Settles the waiter an answer is addressed to, when the answer comes from the agent asked
   * and names the request's reply-with tag.
   */
  settle(reply: AclMessage): SettleOutcome {
    const id = reply.receiver.slice(ASK_PREFIX.length);
    const pending = this.waiting.get(id);
    if (pending === undefined) return 'nobody-waits';
    if (reply.sender !== pending.receiver || reply.inReplyTo !== pending.replyWith) return 'not-from-the-asked';
    switch (reply.performative) {
      case 'refuse':
      case 'failure':
      case 'not-understood':
        this.finish(id, pending);
        // The receiver found the reply-by already past: the same DeadlineError as the timer's,
        // whichever of the two comes first.
        pending.reject(isExpiredAnswer(reply) ? deadlineOf(pending) : errorForReply(reply));
        return 'settled';
      case 'agree':
        if (!pending.acceptAgree) return 'settled'; // FIPA: agree is followed by the result
        break;
    }
    this.finish(id, pending);
    pending.resolve(reply);
    return 'settled';
  }

  /**
   * The agent asked forwards the request (same reply-with tag, this reply-to) to another:
   * that one may answer now instead. True when the forward names a request waiting here.
   */
  handOver(forward: AclMessage): boolean {
    const pending = this.waiting.get((forward.replyTo as string).slice(ASK_PREFIX.length));
    if (pending === undefined) return false;
    if (forward.sender === pending.receiver && forward.replyWith === pending.replyWith) pending.receiver = forward.receiver;
    return true;
  }

  /** Rejects every waiter (the system is stopping). */
  failAll(error: Error): void {
    for (const id of [...this.waiting.keys()]) this.fail(id, error);
  }

  private fail(id: string, error: Error): void {
    const pending = this.waiting.get(id);
    if (pending === undefined) return;
    this.finish(id, pending);
    pending.reject(error);
  }

  private finish(id: string, pending: Pending): void {
    this.waiting.delete(id);
    if (pending.timer !== undefined) this.clock.clearTimeout(pending.timer);
    pending.cleanup?.();
  }
}

/** The DeadlineError of a request: the timer's, or the receiver's `expired` answer. */
function deadlineOf(pending: Pending): DeadlineError {
  return new DeadlineError(pending.receiver, pending.conversationId, pending.timeoutMs);
}

/** Why an aborted request ends: the signal's reason when it is an Error. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('request aborted');
}

function isExpiredAnswer(reply: AclMessage): boolean {
  const content = reply.content as { reason?: unknown } | undefined;
  return reply.performative === 'failure' && typeof content === 'object' && content !== null && content.reason === 'deadline';
}
