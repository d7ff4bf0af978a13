import type { CodeUnder, TroupeErrorCode } from './error-catalogue.js';

/**
 * Base of every error Troupe throws; `code` is stable and safe to switch on. The codes, the
 * class each belongs to, what they mean and what to do are in error-catalogue.ts. This module
 * imports nothing else of the project, so any module may import it; the errors that carry an
 * ACL message (ReplyError and its kin) live beside the message, in acl/reply-errors.ts.
 */
export class TroupeError extends Error {
  constructor(
    readonly code: TroupeErrorCode,
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
  declare readonly code: CodeUnder<'ConfigurationError'>;

  constructor(code: CodeUnder<'ConfigurationError'>, message: string) {
    super(code, message);
  }
}

/** The system was stopped (or is stopping) and cannot take this call. */
export class SystemStoppedError extends TroupeError {
  constructor(what: string) {
    super('system-stopped', `${what}: the system is stopped; create a new system to go on`);
  }
}

/** Content of the `failure` and `not-understood` answers the runtime itself sends (reasons: `RuntimeReasonCode`). */
export interface RuntimeReason {
  readonly reason: string;
  readonly detail: string;
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
