import { fromPromise, type AnyActorRef } from 'xstate';
import type { AclMessage, MessageOptions } from '../acl/message.js';
import type { Performative } from '../acl/performatives.js';
import { ConfigurationError } from '../runtime/errors.js';
import { findUp } from '../runtime/xstate-adapter.js';

export interface AskInput {
  /** Path of the agent to ask. */
  readonly to: string;
  readonly content?: unknown;
  /** Default `request`. */
  readonly performative?: Performative;
  /** Default 5,000 ms; the answer must come before this or the invocation fails with DeadlineError. */
  readonly timeoutMs?: number;
  /** Resolve on `agree` instead of waiting for the final answer. */
  readonly acceptAgree?: boolean;
  readonly options?: MessageOptions;
}

/** Implemented by the runtime's agent cell; found by walking up from the invoked actor. */
export interface AskHost {
  askFromAgent(input: AskInput, signal: AbortSignal): Promise<AclMessage>;
}

export const ASK_HOST: unique symbol = Symbol.for('troupe.askHost');

function findHost(self: AnyActorRef): AskHost {
  const host = findUp<AskHost>(self, ASK_HOST);
  if (host !== undefined) return host;
  throw new ConfigurationError('no-runtime', 'ask runs only inside a Troupe agent; in a plain XState test, provide a stand-in with machine.provide({ actors: { ask: fromPromise(...) } })');
}

/**
 * Asks from inside any logic an agent invoked (a `fromPromise` given `self` and `signal`):
 * the same request, deadline and abort as the `ask` actor, for logic that asks several agents.
 */
export function askFromActor(self: AnyActorRef, input: AskInput, signal: AbortSignal): Promise<AclMessage> {
  return findHost(self).askFromAgent(input, signal);
}

/**
 * Invoked logic that asks another agent and resolves with its answer (the FIPA request
 * protocol from inside a machine). A `refuse`, `failure` or `not-understood` answer, or no
 * answer in time, rejects with the matching named error (see `onError`). Stopping the
 * invoking state or the agent aborts the wait.
 */
export const ask = fromPromise<AclMessage, AskInput>(({ input, self, signal }) => askFromActor(self, input, signal));
