import { fromCallback, type AnyActorRef } from 'xstate';
import { findProtocolHost, type ProtocolHost } from '../agent/protocol-host.js';
import type { SystemEvent } from '../runtime/system-events.js';

/** The event `systemEvents` sends its invoking machine for each lifecycle event of an agent. */
export interface LifecycleEvent {
  readonly type: 'troupe.lifecycle';
  readonly event: SystemEvent;
}

/**
 * Invoked logic that tells the invoking agent's machine about the lifecycle of every agent of
 * the system (started, failed, restarted, stopped): how an agent such as the directory
 * facilitator keeps what it knows about others in step with supervision. Its input may name a
 * host; inside an agent it finds its own. Supervisor events are left out.
 */
export const systemEvents = fromCallback<LifecycleEvent, { host?: ProtocolHost } | undefined>(({ input, sendBack, self }) => {
  const host = input?.host ?? findProtocolHost(self as AnyActorRef);
  return host.onSystemEvent((event) => {
    if ('kind' in event && event.kind === 'supervisor') return;
    // Events are emitted in the middle of another agent's start or exit: handle them after it.
    queueMicrotask(() => sendBack({ type: 'troupe.lifecycle', event }));
  });
});
