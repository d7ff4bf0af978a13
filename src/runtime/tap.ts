import type { AclMessage } from '../acl/message.js';
import type { DeadLetter } from './dead-letters.js';
import type { SystemEvent } from './system-events.js';

/**
 * What passes the tap: every message routed (sent; answers are messages too), every message a
 * machine takes (delivered), every dead letter, and every lifecycle event (start, stop, crash,
 * restart, hang, supervision).
 */
export type TapEvent =
  | { readonly kind: 'sent'; readonly message: AclMessage }
  | { readonly kind: 'delivered'; readonly message: AclMessage; readonly incarnation: string }
  | { readonly kind: 'dead-letter'; readonly letter: DeadLetter }
  | { readonly kind: 'lifecycle'; readonly event: SystemEvent };

/**
 * Hears every tap event, in the order they happen, with the tap's Lamport time: later than
 * the event before it and than the message it carries (a total order that respects causality).
 */
export type TapListener = (event: TapEvent, lamport: number) => void;

/**
 * The one place every message and lifecycle event of a system passes: the inspector, a journal
 * and tracing attach here; the kernel imports none of them. With nobody attached a kernel
 * call site pays one property check (`active`).
 */
export class Tap {
  private listeners: readonly TapListener[] = [];
  private clock = 0;

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  get active(): boolean {
    return this.listeners.length > 0;
  }

  /** Attaches `listener`; returns the detach. */
  attach(listener: TapListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((attached) => attached !== listener);
    };
  }

  /** Passes `event` to every listener; a listener that throws is reported and the others still hear it. */
  pass(event: TapEvent): void {
    const carried = event.kind === 'sent' || event.kind === 'delivered' ? event.message.lamport : 0;
    const lamport = (this.clock = (this.clock > carried ? this.clock : carried) + 1);
    for (const listener of this.listeners) {
      try {
        listener(event, lamport);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
