import type { AclMessage } from '../acl/message.js';

/** Base of every error Troupe throws; `code` is stable and safe to switch on. */
export class TroupeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Content that is not plain data (a Map, a Date, a function, a class instance, a Proxy, a cycle). */
export class InvalidContentError extends TroupeError {
  constructor(message: string, cause?: unknown) {
    super('invalid-content', message, cause === undefined ? undefined : { cause });
  }
}

/** A path that is not of the form `/a/b` with non-empty segments of [A-Za-z0-9_.-]. */
export class InvalidPathError extends TroupeError {
  constructor(path: string, why: string) {
    super('invalid-path', `invalid path ${JSON.stringify(path)}: ${why}`);
  }
}

/** A bad `defineAgent` or `createSystem` option. */
export class ConfigurationError extends TroupeError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** The system was stopped (or is stopping) and cannot take this call. */
export class SystemStoppedError extends TroupeError {
  constructor(what: string) {
    super('system-stopped', `${what}: the system is stopped; create a new system to go on`);
  }
}

/** Content of the `failure` and `not-understood` answers the runtime itself sends. */
export interface RuntimeReason {
  readonly reason: string;
  readonly detail: string;
}

function describeReply(reply: AclMessage): string {
  const content = reply.content as Partial<RuntimeReason> | undefined;
  const detail = typeof content === 'object' && content !== null && typeof content.detail === 'string' ? content.detail : JSON.stringify(reply.content);
  return `${reply.sender} answered ${reply.performative}: ${detail}`;
}

/** A request was answered with something other than a positive answer; `reply` is that answer. */
export class ReplyError extends TroupeError {
  constructor(
    code: string,
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

/** No answer came before the request's deadline (`replyBy`). */
export class DeadlineError extends TroupeError {
  constructor(
    readonly receiver: string,
    readonly conversationId: string,
    readonly timeoutMs: number,
  ) {
    super('deadline', `no answer from ${receiver} within ${timeoutMs} ms (conversation ${conversationId}); raise timeoutMs or check that the agent answers`);
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
