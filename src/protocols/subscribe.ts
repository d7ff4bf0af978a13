import type { z } from 'zod';
import type { AclMessage } from '../acl/message.js';
import { errorForReply } from '../acl/reply-errors.js';
import { check } from '../acl/schema-check.js';
import { ConfigurationError, DeadlineError, TroupeError } from '../runtime/errors.js';
import { normalizePath } from '../runtime/path.js';
import type { Port } from '../runtime/ports.js';
import { DEFAULT_ASK_TIMEOUT_MS } from '../runtime/timeouts.js';
import { UnexpectedReplyError, type System } from '../system/system.js';

export interface SubscribeOptions<C> {
  /** Called with the content of every `inform` the publisher sends. */
  readonly onInform: (content: C, message: AclMessage) => void;
  /** Checks each inform's content; one that does not match goes to `onError` and ends the subscription. */
  readonly expect?: z.ZodType<C>;
  /** An inform that did not match `expect`, a listener that threw, or the publisher gone (SubscriptionEndedError). */
  readonly onError?: (error: Error) => void;
  /** How long to wait for the `agree` (default 5,000 ms). */
  readonly timeoutMs?: number;
}

export interface Subscription {
  readonly conversationId: string;
  /** True until `cancel()`, or until the publisher ends the subscription (`failure`, `cancel`, ...). */
  readonly active: boolean;
  /** Sends `cancel` to the publisher and stops listening; later informs are answered `not-understood`. */
  cancel(): void;
}

/** The publisher crashed, restarted or stopped: what it knew of the subscription is gone with it. */
export class SubscriptionEndedError extends TroupeError {
  constructor(publisher: string, conversationId: string, what: string) {
    super('subscription-ended', `subscription ${conversationId} to ${publisher} ended: the publisher ${what}; subscribe again once it is back`);
  }
}

/**
 * FIPA subscribe from outside any agent: sends `subscribe` with `content` to the agent at
 * `path` and resolves once it answers `agree`; every `inform` after that goes to `onInform`.
 * Rejects with RefusedError, FailureError, NotUnderstoodError or DeadlineError, like a request.
 * (An agent subscribes by sending `subscribe` itself and handling `agree` and `inform`.)
 */
export function subscribe<C = unknown>(system: System, path: string, content: unknown, options: SubscribeOptions<C>): Promise<Subscription> {
  if (typeof options?.onInform !== 'function') return Promise.reject(new ConfigurationError('invalid-subscription', 'subscribe needs { onInform(content) }'));
  const timeoutMs = options.timeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
  if (!(timeoutMs > 0)) return Promise.reject(new ConfigurationError('invalid-timeout', `timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`));
  const host = system.protocolHost;
  return new Promise((resolve, reject) => {
    let active = false;
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unfollow: (() => void) | undefined;
    let publisher: string;
    try {
      publisher = normalizePath(path);
    } catch (error) {
      reject(error as Error);
      return;
    }
    const conversationId = host.newConversationId();
    const tag = host.newReplyTag();
    const report = (error: Error): void => {
      if (options.onError !== undefined) options.onError(error);
      else system.logger.error({ err: error, conversationId }, 'a subscription failed');
    };
    const subscription: Subscription = {
      conversationId,
      get active() {
        return active;
      },
      cancel: () => {
        if (!active) return;
        end();
        host.post(publisher, 'cancel', { reason: 'cancelled' }, { conversationId, inReplyTo: tag });
      },
    };
    const end = (): void => {
      active = false;
      if (timer !== undefined) clearTimeout(timer);
      unfollow?.();
      port?.close();
    };
    const fail = (error: Error): void => {
      settled = true;
      end();
      reject(error);
    };
    let port: Port | undefined;
    try {
      port = host.openPort((message) => {
        // Anyone may send to the port: only the publisher's answers count.
        if (message.inReplyTo !== tag || message.sender !== publisher) {
          system.logger.warn({ conversationId, sender: message.sender, performative: message.performative }, 'a message to a subscription that does not come from its publisher was ignored');
          return;
        }
        if (!settled) {
          if (message.performative === 'agree') {
            settled = true;
            active = true;
            if (timer !== undefined) clearTimeout(timer);
            resolve(subscription);
            return;
          }
          if (message.performative !== 'inform') return fail(errorForReply(message));
          // An inform without agree first: FIPA allows it, the subscription is on.
          settled = true;
          active = true;
          if (timer !== undefined) clearTimeout(timer);
          resolve(subscription);
        }
        if (message.performative !== 'inform') {
          end(); // the publisher ended it (failure, cancel, not-understood)
          return;
        }
        let value = message.content as C;
        if (options.expect !== undefined) {
          const parsed = check(options.expect, message.content);
          if (!parsed.ok) {
            report(new UnexpectedReplyError(message, parsed.issues));
            subscription.cancel();
            return;
          }
          value = parsed.value;
        }
        try {
          options.onInform(value, message);
        } catch (error) {
          report(error instanceof Error ? error : new Error(String(error)));
        }
      });
      unfollow = host.onSystemEvent((event) => {
        // Before the agree, the subscribe itself is answered (failure) if the publisher goes.
        if (!active || event.path !== publisher || (event.type !== 'failed' && event.type !== 'stopped' && event.type !== 'restarted')) return;
        end();
        report(new SubscriptionEndedError(publisher, conversationId, event.type));
      });
      host.post(publisher, 'subscribe', content, { conversationId, replyWith: tag, replyTo: port.address });
    } catch (error) {
      // Bad input (path, content) or a stopped system: nothing is left open.
      fail(error as Error);
      return;
    }
    if (Number.isFinite(timeoutMs)) timer = setTimeout(() => settled || fail(new DeadlineError(publisher, conversationId, timeoutMs)), timeoutMs);
  });
}
