import type { AnyActorRef } from 'xstate';
import type { MessageOptions } from '../acl/message.js';
import type { Performative } from '../acl/performatives.js';
import { ConfigurationError } from '../runtime/errors.js';
import type { Port, PortListener } from '../runtime/ports.js';
import type { Terminated } from '../runtime/watchers.js';
import type { SystemEvent } from '../runtime/system-events.js';
import { findUp } from '../runtime/xstate-adapter.js';

/**
 * What interaction-protocol logic (contract net, subscriptions) needs from whoever runs it:
 * an agent (logic invoked inside its machine) or the system (the call forms). Messages sent
 * through it carry the host as sender.
 */
export interface ProtocolHost {
  /** The sender path of what the protocol sends: the agent's path, or `/$system`. */
  readonly self: string;
  /** A temporary address whose messages go to `listener` (see Port). */
  openPort(listener: PortListener): Port;
  /**
   * Sends a message as the host. `receiverIncarnation` pins it to one incarnation (an answer
   * to a message of that incarnation). Bad input throws; a delivery problem makes a dead letter
   * (and a `failure` to the reply-to when the message has a reply-with tag).
   */
  post(to: string, performative: Performative, content: unknown, options?: MessageOptions, receiverIncarnation?: string): void;
  /** A new conversation id, unique in the system. */
  newConversationId(): string;
  /** A new reply-with tag, unique in the system. */
  newReplyTag(): string;
  /** Lifecycle and supervision events of the whole system (started, failed, restarted, stopped...). */
  onSystemEvent(listener: (event: SystemEvent) => void): () => void;
  /** Calls `listener` once when the agent at `path` stops for good, or with `noproc` (in a microtask) when nothing lives there. */
  watch(path: string, listener: (signal: Terminated) => void): () => void;
}

export const PROTOCOL_HOST: unique symbol = Symbol.for('troupe.protocolHost');

/** The host of invoked logic: the agent cell found by walking up from the invoked actor. */
export function findProtocolHost(self: AnyActorRef): ProtocolHost {
  const host = findUp<ProtocolHost>(self, PROTOCOL_HOST);
  if (host !== undefined) return host;
  throw new ConfigurationError('no-runtime', 'protocol logic runs only inside a Troupe agent or through a call form such as contractNet(system, ...)');
}
