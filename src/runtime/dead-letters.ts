import type { AclMessage } from '../acl/message.js';
import { REAL_CLOCK, type Clock } from './clock.js';
import { ConfigurationError } from './errors.js';
import { Listeners } from './listeners.js';

/** Why a message was not delivered. */
export type DeadLetterReason =
  | 'no-such-agent'
  | 'not-an-agent'
  | 'mailbox-full'
  | 'backpressure-full'
  | 'dropped-oldest'
  | 'dropped-newest'
  | 'agent-stopped'
  | 'stale-incarnation'
  | 'expired'
  | 'unhandled'
  | 'invalid-content'
  | 'no-waiting-request'
  /** An answer to a waiting request from someone other than the agent asked, or for another reply-with tag. */
  | 'not-from-the-asked'
  | 'system-stopped';

export interface DeadLetter {
  readonly message: AclMessage;
  readonly reason: DeadLetterReason;
  readonly at: number;
}

/** Every undelivered message, with its reason: counted, kept (the most recent), and streamed. */
export class DeadLetters {
  private recentLetters: DeadLetter[] = [];
  private total = 0;
  private readonly listeners = new Listeners<DeadLetter>();

  constructor(
    private readonly keep: number,
    private readonly onListenerError: (error: unknown) => void,
    private readonly clock: Pick<Clock, 'now'> = REAL_CLOCK,
  ) {
    if (!(Number.isInteger(keep) && keep >= 0)) {
      throw new ConfigurationError('invalid-dead-letters', `keepDeadLetters must be a whole number ≥ 0, got ${String(keep)}`);
    }
  }

  get count(): number {
    return this.total;
  }

  /** The most recent dead letters, oldest first. */
  recent(): readonly DeadLetter[] {
    return this.keep === 0 ? [] : this.recentLetters.slice(-this.keep);
  }

  subscribe(listener: (letter: DeadLetter) => void): () => void {
    return this.listeners.add(listener);
  }

  record(message: AclMessage, reason: DeadLetterReason): DeadLetter {
    const letter: DeadLetter = { message, reason, at: this.clock.now() };
    this.total++;
    if (this.keep > 0) {
      this.recentLetters.push(letter);
      if (this.recentLetters.length > this.keep * 2) this.recentLetters = this.recentLetters.slice(-this.keep);
    }
    this.listeners.emit(letter, this.onListenerError);
    return letter;
  }
}
