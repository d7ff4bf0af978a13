import { assign, fromCallback, fromPromise, setup, type AnyActorRef } from 'xstate';
import type { AclMessage } from '../acl/message.js';
import { check } from '../acl/schema-check.js';
import { findProtocolHost, type ProtocolHost } from '../agent/protocol-host.js';
import { ConfigurationError } from '../runtime/errors.js';
import { normalizePath } from '../runtime/path.js';
import { timerDelay } from '../runtime/timeouts.js';
import type { ContractNetOntology } from './contract-net-ontology.js';
import { ContractNetError, ContractNetLedger } from './contract-net-ledger.js';
import type { Bid, ContractNetOutcome, Decision } from './contract-net-outcome.js';
import { DIRECTORY_PATH, DirectoryAnswer } from './directory-protocol.js';
import { perOntology } from './per-ontology.js';

/** Who is called: paths, or every agent the directory facilitator lists for a service. */
export type Participants = readonly string[] | { readonly service: string; readonly directory?: string };

export interface ContractNetInput<T, P> {
  readonly task: T;
  readonly participants: Participants;
  /** Chooses among the round's proposals (in arrival order); may be async. */
  readonly evaluate: (bids: readonly Bid<P>[], round: { readonly round: number; readonly task: T }) => Decision<T, P> | Promise<Decision<T, P>>;
  /** Bidding closes this long after the cfp, or when everyone has answered (default 1,000 ms). */
  readonly replyByMs?: number;
  /** How long a winner has for its result (default 30,000 ms), counted from its award. */
  readonly resultTimeoutMs?: number;
  /** Give a failed winner's task to the next bid in reserve (default false). */
  readonly reaward?: boolean;
  /** Most rounds an iterated contract net may take (default 5). */
  readonly maxRounds?: number;
  readonly conversationId?: string;
  /** Where to send the cfp from; found by walking up to the invoking agent when left out. */
  readonly host?: ProtocolHost;
}

/** Cancels a running contract net: winners get `cancel`, open proposals are rejected, the outcome says `cancelled`. */
export interface ContractNetCancel {
  readonly type: 'cnet.cancel';
  readonly reason?: string;
}

/** The initiator machine's context: its input and the conversation's ledger. */
export interface ContractNetInitiatorContext<T, P, R> {
  readonly input: ContractNetInput<T, P>;
  readonly ledger: ContractNetLedger<T, P, R> | undefined;
  readonly discovery: { readonly directory: string; readonly tag: string } | undefined;
  readonly next: { readonly task: T; readonly participants: readonly string[] } | undefined;
  readonly error: Error | undefined;
}

export type ContractNetInitiatorEvent<T, P, R> = Opened<T, P, R> | Inbound | ContractNetCancel;

export interface Opened<T, P, R> {
  readonly type: 'cnet.opened';
  readonly ledger: ContractNetLedger<T, P, R>;
  readonly discovery: { readonly directory: string; readonly tag: string } | undefined;
}
/** Messages that reached the conversation port, in arrival order (batched: one event per microtask). */
export interface Inbound {
  readonly type: 'cnet.messages';
  readonly messages: readonly AclMessage[];
}

/** How long participants have to bid, and the directory to answer, when `replyByMs` is left out. */
const DEFAULT_REPLY_BY_MS = 1_000;

/** The directory's answer to the search: the port's address and the tag are no secret, so the sender is checked too. */
function answersDiscovery(message: AclMessage, discovery: { readonly directory: string; readonly tag: string } | undefined): boolean {
  return discovery !== undefined && message.inReplyTo === discovery.tag && message.sender === discovery.directory;
}

/** Checks the input; returns the participant paths normalised (undefined when found by service). */
function checkInput<T, P>(ontology: ContractNetOntology<T, P, unknown>, input: ContractNetInput<T, P>): readonly string[] | undefined {
  const bad = (why: string): never => {
    throw new ConfigurationError('invalid-contract-net', `contract net (${ontology.name}): ${why}`);
  };
  if (typeof input !== 'object' || input === null) bad('input must be { task, participants, evaluate, ... }');
  const task = check(ontology.task, input.task);
  if (!task.ok) bad(`the task does not match the ontology: ${task.issues}`);
  if (typeof input.evaluate !== 'function') bad('`evaluate` must be a function of the proposals');
  for (const key of ['replyByMs', 'resultTimeoutMs'] as const) {
    const value = input[key];
    if (value !== undefined && !(typeof value === 'number' && value > 0)) bad(`\`${key}\` must be a number of milliseconds > 0, got ${String(value)}`);
  }
  if (input.maxRounds !== undefined && !(Number.isInteger(input.maxRounds) && input.maxRounds >= 1)) bad(`\`maxRounds\` must be a whole number >= 1, got ${String(input.maxRounds)}`);
  const participants = input.participants;
  if (Array.isArray(participants)) {
    const seen = new Set<string>();
    for (const path of participants as readonly string[]) {
      const normal = normalizePath(path);
      if (seen.has(normal)) bad(`participant ${normal} is listed twice`);
      seen.add(normal);
    }
    return [...seen];
  }
  if (typeof participants !== 'object' || participants === null || typeof (participants as { service?: unknown }).service !== 'string') {
    bad('`participants` must be an array of paths or { service, directory? }');
  }
  return undefined;
}

/**
 * The contract-net initiator (FIPA SC00029, iterated SC00030) as an XState machine, typed by
 * its ontology. Invoke it from any agent's machine (`invoke: { src: contractNetInitiator(o),
 * input: {...}, onDone }`: `event.output` is the ContractNetOutcome), or run it with
 * `contractNet(system, ...)`. Its answers come through a conversation port, so the invoking
 * machine needs no handlers for them. Leaving the invoking state cancels it.
 */
export function contractNetInitiator<T, P, R>(ontology: ContractNetOntology<T, P, R>) {
  type Ledger = ContractNetLedger<T, P, R>;
  type Context = ContractNetInitiatorContext<T, P, R>;
  type Events = ContractNetInitiatorEvent<T, P, R>;

  const conversation = fromCallback<Inbound, ContractNetInput<T, P>>(({ input, sendBack, self }) => {
    const host = input.host ?? findProtocolHost(self as AnyActorRef);
    let ledger: Ledger | undefined;
    // One event per batch: with a thousand bidders answering at once, a machine step per
    // proposal would cost more than the rest of the round.
    let batch: AclMessage[] = [];
    const flush = (): void => {
      const messages = batch;
      batch = [];
      sendBack({ type: 'cnet.messages', messages });
    };
    const port = host.openPort((message) => {
      if (batch.push(message) === 1) queueMicrotask(flush);
    });
    try {
      const conversationId = input.conversationId ?? host.newConversationId();
      ledger = new ContractNetLedger({ host, port: port.address, conversationId, close: () => port.close() }, {
        ontology,
        task: input.task,
        replyByMs: input.replyByMs ?? DEFAULT_REPLY_BY_MS,
        resultTimeoutMs: input.resultTimeoutMs ?? 30_000,
        reaward: input.reaward === true,
        maxRounds: input.maxRounds ?? 5,
      });
      let discovery: Opened<T, P, R>['discovery'];
      if (!Array.isArray(input.participants)) {
        const { service, directory = DIRECTORY_PATH } = input.participants as { service: string; directory?: string };
        discovery = { directory: normalizePath(directory), tag: host.newReplyTag() };
        host.post(directory, 'query-ref', { service }, { conversationId, replyWith: discovery.tag, replyTo: port.address, replyBy: Date.now() + (input.replyByMs ?? DEFAULT_REPLY_BY_MS) });
      }
      sendBack({ type: 'cnet.opened', ledger, discovery } as unknown as Inbound);
    } catch (error) {
      port.close();
      throw error;
    }
    return () => {
      // Stopped before the outcome (the invoking state was left, the agent stopped): nobody
      // is left holding a task for an initiator that is gone.
      if (ledger !== undefined && !ledger.finished) ledger.cancel('the initiator stopped');
      port.close();
    };
  });

  const evaluation = fromPromise<Decision<T, P>, { bids: readonly Bid<P>[]; round: number; task: T; evaluate: ContractNetInput<T, P>['evaluate'] }>(async ({ input }) =>
    input.evaluate(input.bids, { round: input.round, task: input.task }),
  );

  const ledgerOf = (context: Context): Ledger => {
    if (context.ledger === undefined) throw new Error('contract net: no ledger before the conversation opened');
    return context.ledger;
  };

  return setup({
    types: {
      context: {} as Context,
      events: {} as Events,
      input: {} as ContractNetInput<T, P>,
      output: {} as ContractNetOutcome<T, P, R>,
    },
    actors: { conversation, evaluation },
    delays: {
      biddingDeadline: ({ context }) => context.input.replyByMs ?? DEFAULT_REPLY_BY_MS,
      resultDeadline: ({ context }) => timerDelay(ledgerOf(context).nextResultDeadline - Date.now()),
    },
    guards: {
      allAnswered: ({ context }) => ledgerOf(context).allAnswered,
      allSettled: ({ context }) => ledgerOf(context).allSettled,
      failed: ({ context }) => context.error !== undefined,
      anotherRound: ({ context }) => context.next !== undefined,
      isDiscoveryAnswer: ({ context, event }) => event.type === 'cnet.messages' && event.messages.some((message) => answersDiscovery(message, context.discovery)),
    },
    actions: {
      receiveOpen: ({ context, event }) => {
        if (event.type === 'cnet.messages') for (const message of event.messages) ledgerOf(context).receive(message, true);
      },
      receiveClosed: ({ context, event }) => {
        if (event.type === 'cnet.messages') for (const message of event.messages) ledgerOf(context).receive(message, false);
      },
      closeBidding: ({ context }) => ledgerOf(context).closeBidding(),
      expireResults: ({ context }) => ledgerOf(context).expireResults(Date.now()),
      cancel: ({ context, event }) => {
        if (context.ledger !== undefined && !context.ledger.finished) context.ledger.cancel(event.type === 'cnet.cancel' ? (event.reason ?? 'cancelled by the initiator') : 'cancelled');
      },
      finish: ({ context }) => {
        context.ledger?.end();
      },
      raise: ({ context }) => {
        throw context.error;
      },
    },
  }).createMachine({
    id: 'contractNetInitiator',
    context: ({ input }) => {
      const paths = checkInput(ontology, input);
      return { input, ledger: undefined, discovery: undefined, next: paths === undefined ? undefined : { task: input.task, participants: paths }, error: undefined };
    },
    invoke: { id: 'conversation', src: 'conversation', input: ({ context }) => context.input },
    on: { 'cnet.cancel': { actions: 'cancel', target: '.done' } },
    initial: 'opening',
    states: {
      opening: {
        on: {
          'cnet.opened': [
            { guard: ({ event }) => event.discovery !== undefined, target: 'discovering', actions: assign(({ event }) => ({ ledger: event.ledger, discovery: event.discovery })) },
            {
              target: 'bidding',
              actions: assign(({ event }) => ({ ledger: event.ledger })),
            },
          ],
        },
      },
      discovering: {
        after: {
          biddingDeadline: {
            target: 'failed',
            actions: assign(({ context }) => ({ error: new ContractNetError('discovery-failed', `the directory ${context.discovery?.directory} did not answer within ${context.input.replyByMs ?? DEFAULT_REPLY_BY_MS} ms`) })),
          },
        },
        on: {
          'cnet.messages': [
            {
              guard: 'isDiscoveryAnswer',
              target: 'choosing',
              actions: [
                // Nobody else knows the port yet; whatever else came is out of sequence.
                ({ context, event }) => {
                  for (const message of (event as Inbound).messages) if (!answersDiscovery(message, context.discovery)) ledgerOf(context).receive(message, false);
                },
                assign(({ context, event }) => {
                const message = (event as Inbound).messages.find((candidate) => answersDiscovery(candidate, context.discovery)) as AclMessage;
                const found = message.performative === 'inform-ref' ? check(DirectoryAnswer, message.content) : undefined;
                if (found === undefined || !found.ok) {
                  const detail = found === undefined ? `${message.performative} ${JSON.stringify(message.content)}` : found.issues;
                  return { error: new ContractNetError('discovery-failed', `the directory ${context.discovery?.directory} did not list the service: ${detail}`) };
                }
                const paths = new Set<string>();
                for (const entry of found.value) {
                  try {
                    paths.add(normalizePath(entry.agent));
                  } catch (error) {
                    return { error: new ContractNetError('discovery-failed', `the directory listed ${JSON.stringify(entry.agent)}, which is not an agent path: ${(error as Error).message}`) };
                  }
                }
                return { next: { task: context.input.task, participants: [...paths] } };
              }),
              ],
            },
            { actions: 'receiveClosed' },
          ],
        },
      },
      bidding: {
        entry: [
          ({ context }) => {
            const next = context.next as NonNullable<Context['next']>;
            ledgerOf(context).callForProposals(next.participants, next.task);
          },
          assign({ next: undefined }),
        ],
        // Closed on the way to the evaluation only: a cancel must still find the called participants in play, to tell them.
        always: { guard: 'allAnswered', target: 'evaluating', actions: 'closeBidding' },
        after: { biddingDeadline: { target: 'evaluating', actions: 'closeBidding' } },
        on: { 'cnet.messages': { actions: 'receiveOpen' } },
      },
      evaluating: {
        invoke: {
          src: 'evaluation',
          input: ({ context }) => {
            const ledger = ledgerOf(context);
            return { bids: Object.freeze([...ledger.bidsOfRound]), round: ledger.currentRound, task: ledger.task, evaluate: context.input.evaluate };
          },
          onDone: {
            target: 'choosing',
            actions: assign(({ context, event }) => {
              try {
                return { next: ledgerOf(context).decide(event.output) };
              } catch (error) {
                return { error: error as Error };
              }
            }),
          },
          onError: {
            target: 'choosing',
            actions: assign(({ event }) => ({ error: new ContractNetError('evaluation-failed', `the evaluation threw: ${event.error instanceof Error ? event.error.message : String(event.error)}`, { cause: event.error }) })),
          },
        },
        on: { 'cnet.messages': { actions: 'receiveClosed' } },
      },
      choosing: {
        always: [{ guard: 'failed', target: 'failed' }, { guard: 'anotherRound', target: 'bidding' }, { target: 'awaitingResults' }],
      },
      awaitingResults: {
        always: { guard: 'allSettled', target: 'done' },
        after: { resultDeadline: { target: 'awaitingResults', reenter: true, actions: 'expireResults' } },
        on: { 'cnet.messages': { actions: 'receiveClosed' } },
      },
      failed: {
        // Whoever still holds a proposal or a task hears that it is off before the error surfaces.
        entry: [
          ({ context }) => {
            try {
              context.ledger?.cancel(context.error?.message ?? 'the contract net failed');
            } finally {
              context.ledger?.end(); // the port closes even when telling the participants failed (a stopped system)
            }
          },
          'raise',
        ],
      },
      done: { type: 'final', entry: 'finish' },
    },
    output: ({ context }) => ledgerOf(context).outcome(),
  });
}

const machines = new WeakMap<object, unknown>();

/** The initiator machine of `ontology`, made once: a machine definition is costly to build per call. */
export function initiatorFor<T, P, R>(ontology: ContractNetOntology<T, P, R>): ContractNetInitiatorMachine<T, P, R> {
  return perOntology(machines, ontology, () => contractNetInitiator(ontology));
}

/** The machine type of an initiator for one ontology. */
export type ContractNetInitiatorMachine<T, P, R> = ReturnType<typeof contractNetInitiator<T, P, R>>;
