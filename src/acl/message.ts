import { ConfigurationError } from '../runtime/errors.js';
import type { Performative } from './performatives.js';

/**
 * A FIPA-ACL message. `type` repeats the performative so that the message itself is the
 * XState event the receiving machine sees: `on: { request: ... }` and `event.content`.
 *
 * Addresses are tree paths. `senderIncarnation`/`receiverIncarnation` pin a message to one
 * incarnation of an agent: a reply meant for an agent that has since restarted is a dead
 * letter, never a surprise for the new incarnation.
 */
export interface AclMessage<P extends Performative = Performative, C = unknown> {
  readonly type: P;
  readonly performative: P;
  readonly sender: string;
  readonly senderIncarnation: string | undefined;
  readonly receiver: string;
  readonly receiverIncarnation: string | undefined;
  /** Where answers go instead of the sender (FIPA reply-to). */
  readonly replyTo: string | undefined;
  readonly content: C;
  readonly language: string | undefined;
  readonly encoding: string | undefined;
  readonly ontology: string | undefined;
  readonly protocol: string | undefined;
  readonly conversationId: string;
  /** Set when the sender expects an answer; the answer carries it as `inReplyTo`. */
  readonly replyWith: string | undefined;
  readonly inReplyTo: string | undefined;
  /** Deadline for the answer, epoch milliseconds. */
  readonly replyBy: number | undefined;
  /** Lamport timestamp of the send. */
  readonly lamport: number;
}

/** The optional FIPA parameters a sender may set. */
export interface MessageOptions {
  readonly conversationId?: string;
  readonly replyWith?: string;
  readonly inReplyTo?: string;
  readonly replyTo?: string;
  readonly replyBy?: number;
  readonly protocol?: string;
  readonly ontology?: string;
  readonly language?: string;
  readonly encoding?: string;
}

export interface MessageFields extends MessageOptions {
  readonly performative: Performative;
  readonly sender: string;
  readonly senderIncarnation?: string;
  readonly receiver: string;
  readonly receiverIncarnation?: string;
  readonly content: unknown;
  readonly conversationId: string;
  readonly lamport: number;
}

/**
 * Builds a frozen message with every field present, so all messages share one shape.
 * `options` supplies the optional FIPA parameters that `fields` leaves undefined; taking
 * them apart instead of spreading them keeps the hot send path free of an extra object.
 */
export function createMessage(fields: MessageFields, options?: MessageOptions): AclMessage {
  return Object.freeze({
    type: fields.performative,
    performative: fields.performative,
    sender: fields.sender,
    senderIncarnation: fields.senderIncarnation,
    receiver: fields.receiver,
    receiverIncarnation: fields.receiverIncarnation,
    replyTo: fields.replyTo ?? options?.replyTo,
    content: fields.content,
    language: fields.language ?? options?.language,
    encoding: fields.encoding ?? options?.encoding,
    ontology: fields.ontology ?? options?.ontology,
    protocol: fields.protocol ?? options?.protocol,
    conversationId: fields.conversationId,
    replyWith: fields.replyWith ?? options?.replyWith,
    inReplyTo: fields.inReplyTo ?? options?.inReplyTo,
    replyBy: fields.replyBy ?? options?.replyBy,
    lamport: fields.lamport,
  });
}

/** `message` with other content (checked content replacing what was sent), without an intermediate copy. */
export function withContent(message: AclMessage, content: unknown): AclMessage {
  return Object.freeze({
    type: message.type,
    performative: message.performative,
    sender: message.sender,
    senderIncarnation: message.senderIncarnation,
    receiver: message.receiver,
    receiverIncarnation: message.receiverIncarnation,
    replyTo: message.replyTo,
    content,
    language: message.language,
    encoding: message.encoding,
    ontology: message.ontology,
    protocol: message.protocol,
    conversationId: message.conversationId,
    replyWith: message.replyWith,
    inReplyTo: message.inReplyTo,
    replyBy: message.replyBy,
    lamport: message.lamport,
  });
}

const STRING_OPTIONS = ['conversationId', 'replyWith', 'inReplyTo', 'protocol', 'ontology', 'language', 'encoding'] as const;

/**
 * Checks the FIPA parameters a sender set (plain JavaScript callers and `tell` option
 * functions are not held to the types): a reply-by that is not a number would never expire,
 * a reply-to that is not an address would send the answer nowhere. Returns them unchanged.
 */
export function checkMessageOptions(options: MessageOptions | undefined): MessageOptions | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('invalid-message-option', `message options must be an object, got ${String(options)}`);
  for (const key of STRING_OPTIONS) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'string') throw new ConfigurationError('invalid-message-option', `${key} must be a string, got ${String(value)}`);
  }
  if (options.replyTo !== undefined && (typeof options.replyTo !== 'string' || !options.replyTo.startsWith('/'))) {
    throw new ConfigurationError('invalid-message-option', `replyTo must be an address such as /team/planner, got ${String(options.replyTo)}`);
  }
  if (options.replyBy !== undefined && !Number.isFinite(options.replyBy)) {
    throw new ConfigurationError('invalid-message-option', `replyBy must be a time in epoch milliseconds, got ${String(options.replyBy)}`);
  }
  return options;
}

/** Where the answer to `message` goes. */
export function answerAddress(message: AclMessage): string {
  return message.replyTo ?? message.sender;
}

/**
 * The incarnation an answer to `message` is pinned to: the sender's when the answer goes back
 * to the sender, none when it goes to a reply-to (a forwarded request's asker).
 */
export function answerIncarnation(message: AclMessage): string | undefined {
  return message.replyTo === undefined || message.replyTo === message.sender ? message.senderIncarnation : undefined;
}

export function isAclMessage(value: unknown): value is AclMessage {
  return typeof value === 'object' && value !== null && 'performative' in value && 'conversationId' in value && 'lamport' in value;
}
