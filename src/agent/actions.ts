import { emit, type EventObject, type MachineContext } from 'xstate';
import type { AclMessage, MessageOptions } from '../acl/message.js';
import type { Performative } from '../acl/performatives.js';

/** The event an agent emits to send a message; the runtime routes it. */
export const OUTBOUND = 'troupe.send';
/**
 * The event an agent's machine gets when a stop for good is coming: work it queued itself
 * (tasks kept in context) should be answered and dropped; work in flight may finish.
 */
export const STOPPING = 'troupe.stopping';

export interface OutboundEvent {
  readonly type: typeof OUTBOUND;
  readonly performative: Performative;
  readonly content: unknown;
  /** Receiver path, for a new message. */
  readonly to: string | undefined;
  /** The message being answered, for a reply. */
  readonly inReplyTo: AclMessage | undefined;
  readonly options: MessageOptions | undefined;
}

interface ActionArgs<TContext extends MachineContext, TEvent extends EventObject> {
  readonly context: TContext;
  readonly event: TEvent;
}

/**
 * Plain data a message can carry (checked and deep-frozen at send). `object` lets content
 * typed by an `interface` (which has no index signature) through; the plain-data check is at run time.
 */
export type Content = string | number | boolean | null | undefined | readonly unknown[] | { readonly [key: string]: unknown } | object;

/** A value, or a function of the machine's context and current event. */
export type Expr<TContext extends MachineContext, TEvent extends EventObject, T> = T | ((args: ActionArgs<TContext, TEvent>) => T);

export interface ReplyOptions<TContext extends MachineContext, TEvent extends EventObject> extends Omit<MessageOptions, 'conversationId' | 'inReplyTo'> {
  /** The message to answer; defaults to the event being handled (which must then be an ACL message). */
  readonly to?: (args: ActionArgs<TContext, TEvent>) => AclMessage;
}

function resolve<TContext extends MachineContext, TEvent extends EventObject, T>(expr: Expr<TContext, TEvent, T>, args: ActionArgs<TContext, TEvent>): T {
  return typeof expr === 'function' ? (expr as (a: ActionArgs<TContext, TEvent>) => T)(args) : expr;
}

function messageBeingAnswered(event: EventObject): AclMessage {
  if ('conversationId' in event && 'performative' in event) return event as unknown as AclMessage;
  throw new TypeError(`reply() was used while handling "${event.type}", which is not an ACL message; pass { to: ({ context }) => context.request } to say which message to answer`);
}

function sendOptions(options: MessageOptions | undefined): MessageOptions | undefined {
  if (options === undefined) return undefined;
  const { to: _ignored, ...rest } = options as MessageOptions & { to?: unknown };
  return rest;
}

/**
 * Answers the message being handled (or `options.to`): receiver, conversation id,
 * in-reply-to and the receiver's incarnation are filled in from it.
 */
export function reply<TContext extends MachineContext, TExpressionEvent extends EventObject, TEvent extends EventObject = TExpressionEvent>(
  performative: Performative,
  content?: Expr<TContext, TExpressionEvent, Content>,
  options?: ReplyOptions<TContext, TExpressionEvent>,
) {
  const messageOptions = sendOptions(options);
  return emit<TContext, TExpressionEvent, undefined, TEvent, OutboundEvent>((args) => ({
    type: OUTBOUND,
    performative,
    content: resolve(content, args),
    to: undefined,
    inReplyTo: options?.to !== undefined ? options.to(args) : messageBeingAnswered(args.event),
    options: messageOptions,
  }));
}

/** Sends a new message to the agent at path `to` (a new conversation unless `conversationId` is given). */
export function tell<TContext extends MachineContext, TExpressionEvent extends EventObject, TEvent extends EventObject = TExpressionEvent>(
  to: Expr<TContext, TExpressionEvent, string>,
  performative: Performative,
  content?: Expr<TContext, TExpressionEvent, Content>,
  options?: Expr<TContext, TExpressionEvent, MessageOptions | undefined>,
) {
  return emit<TContext, TExpressionEvent, undefined, TEvent, OutboundEvent>((args) => ({
    type: OUTBOUND,
    performative,
    content: resolve(content, args),
    to: resolve(to, args),
    inReplyTo: undefined,
    options: resolve(options, args),
  }));
}
