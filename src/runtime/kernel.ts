import type { Logger } from 'pino';
import type { AclMessage, MessageOptions } from '../acl/message.js';
import type { Performative } from '../acl/performatives.js';
import type { AskInput } from '../agent/ask.js';
import type { Clock } from './clock.js';
import type { DeadLetterReason, DeadLetters } from './dead-letters.js';
import type { Listeners } from './listeners.js';
import type { Mailbox, Settle } from './mailbox.js';
import type { Ports } from './ports.js';
import type { Scheduler } from './scheduler.js';
import type { SystemEvent } from './system-events.js';
import type { ExitReason, TreeNode } from './tree.js';
import type { Tap } from './tap.js';
import type { Terminated } from './watchers.js';

/** Who sends a message from outside an agent's machine. */
export interface SendOrigin {
  readonly sender: string;
  readonly senderIncarnation: string | undefined;
  readonly lamport: number;
  readonly signal?: AbortSignal;
}

/** A sending agent: it pauses while its message waits at a full `backpressure` mailbox. */
export interface Sender {
  /** Pauses the sender; returns the release. */
  blockSender(): () => void;
}

/**
 * What agent processes, executors and placements see of their system's kernel (the Runtime
 * implements it): one message path, the lifecycle events, ids, and the registry of paths.
 */
export interface Kernel {
  readonly name: string;
  readonly logger: Logger;
  /** Every timer and clock reading (see clock.ts). */
  readonly time: Clock;
  readonly scheduler: Scheduler;
  readonly deadLetters: DeadLetters;
  readonly events: Listeners<SystemEvent>;
  readonly tap: Tap;
  /** Conversation ports of protocol logic (see ports.ts). */
  readonly ports: Ports;
  /** The XState actor system every inline agent of this system joins. */
  readonly xsystem: unknown;
  emit(event: SystemEvent): void;
  newIncarnation(): string;
  newConversationId(): string;
  newReplyTag(): string;
  resolvePath(path: string): string;
  register(node: TreeNode): void;
  unregister(node: TreeNode): void;
  /** Offers a message to a mailbox under its overflow policy (see Runtime.admit). */
  admit(mailbox: Mailbox<AclMessage>, path: string, message: AclMessage, settle: Settle | undefined): 'queued' | 'waiting' | 'refused';
  deliver(message: AclMessage, from?: Sender, settle?: Settle): 'queued' | 'waiting' | 'refused';
  post(origin: SendOrigin, to: string, performative: Performative, content: unknown, options: MessageOptions | undefined, receiverIncarnation: string | undefined, from?: Sender): void;
  ask(input: AskInput, origin: SendOrigin, from: Sender | undefined, defaultTimeoutMs: number): Promise<AclMessage>;
  reject(message: AclMessage, deadReason: DeadLetterReason, reason: string, detail: string): void;
  answerFailure(message: AclMessage, reason: string, detail: string, from: string, fromIncarnation: string | undefined): void;
  notUnderstood(message: AclMessage, reason: string, detail: string): void;
  watch(path: string, listener: (signal: Terminated) => void): () => void;
  notifyTerminated(path: string, incarnation: string, reason: ExitReason): void;
}
