import type { CodeUnder } from '../runtime/error-catalogue.js';
import { TroupeError, type RuntimeReason } from '../runtime/errors.js';
import type { AclMessage } from './message.js';

function describeReply(reply: AclMessage): string {
  const content = reply.content as Partial<RuntimeReason> | undefined;
  const detail = typeof content === 'object' && content !== null && typeof content.detail === 'string' ? content.detail : JSON.stringify(reply.content);
  return `${reply.sender} answered ${reply.performative}: ${detail}`;
}

/** A request was answered with something other than a positive answer; `reply` is that answer. */
export class ReplyError extends TroupeError {
  declare readonly code: CodeUnder<'ReplyError'>;

  constructor(
    code: CodeUnder<'ReplyError'>,
    readonly reply: AclMessage,
  ) {
    super(code, describeReply(reply));
  }

  /** The runtime reason (`mailbox-full`, `no-such-agent`, ...) when the runtime answered, else undefined. */
  get reason(): string | undefined {
    const content = this.reply.content as Partial<RuntimeReason> | undefined;
    return typeof content === 'object' && content !== null && typeof content.reason === 'string' ? content.reason : undefined;
  }
}

export class RefusedError extends ReplyError {
  constructor(reply: AclMessage) {
    super('refused', reply);
  }
}

export class FailureError extends ReplyError {
  constructor(reply: AclMessage) {
    super('failure', reply);
  }
}

export class NotUnderstoodError extends ReplyError {
  constructor(reply: AclMessage) {
    super('not-understood', reply);
  }
}

/** Turns a negative answer into its named error. */
export function errorForReply(reply: AclMessage): ReplyError {
  switch (reply.performative) {
    case 'refuse':
      return new RefusedError(reply);
    case 'not-understood':
      return new NotUnderstoodError(reply);
    default:
      return new FailureError(reply);
  }
}
