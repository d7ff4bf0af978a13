import { assign, enqueueActions, fromCallback, setup, spawnChild, stopChild } from 'xstate';
import type { InboundEvents } from '../../src/acl/content-schemas.js';
import type { AclMessage } from '../../src/acl/message.js';
import { reply } from '../../src/agent/actions.js';
import { defineAgent, type AgentDefinition, type Heartbeat } from '../../src/agent/define-agent.js';
import { ConfigurationError } from '../../src/runtime/errors.js';
import type { MailboxOptions } from '../../src/runtime/mailbox.js';
import { participantContent, type ContractNetOntology } from '../../src/protocols/contract-net-ontology.js';
import { perOntology } from '../../src/protocols/per-ontology.js';
import type { ReasonFrom } from '../../src/runtime/error-catalogue.js';

/** A contractor's "no" to a cfp; `bid` returns `refuse(reason)`. */
export class Refusal {
  constructor(readonly reason: string) {}
}

export function refuse(reason: string): Refusal {
  return new Refusal(reason);
}

/**
 * Thrown by `perform` for a task that failed in an expected way: the initiator gets `failure`
 * with this reason. Any other error is a crash of the contractor agent (let it crash): its
 * supervisor restarts it, and the initiator hears of it through supervision.
 */
export class TaskFailure extends Error {
  constructor(
    readonly reason: string,
    readonly detail?: string,
  ) {
    super(detail === undefined ? reason : `${reason}: ${detail}`);
    this.name = 'TaskFailure';
  }
}

export interface BidInfo {
  readonly conversationId: string;
  readonly initiator: string;
  readonly round: number;
  /** Tasks this contractor is performing, and its other bids still open (proposed or being made), right now. */
  readonly load: { readonly performing: number; readonly proposed: number };
}

export interface PerformInfo {
  readonly conversationId: string;
  readonly initiator: string;
  /** Fires when the initiator cancels, or the contractor agent stops, crashes or restarts. */
  readonly signal: AbortSignal;
}

export interface ContractorOptions<T, P, R> {
  readonly ontology: ContractNetOntology<T, P, R>;
  readonly name?: string;
  /** A proposal for the task, or `refuse(reason)`; may be async. */
  readonly bid: (task: T, info: BidInfo) => P | Refusal | Promise<P | Refusal>;
  /** Does the awarded task and returns its result; throw TaskFailure to answer `failure`. */
  readonly perform: (task: T, proposal: P, info: PerformInfo) => R | Promise<R>;
  readonly mailbox?: MailboxOptions;
  readonly heartbeat?: Heartbeat;
}

interface Conversation<T, P> {
  readonly phase: 'bidding' | 'proposed' | 'performing';
  /** Who sent the cfp: only it may accept, reject or cancel (a conversation id is no secret). */
  readonly initiator: string;
  /** The message being answered next: the cfp while bidding, the accept-proposal while performing. */
  readonly answering: AclMessage;
  readonly task: T;
  readonly proposal: P | undefined;
}

type BidOutcome<P> = { readonly kind: 'propose'; readonly proposal: P } | { readonly kind: 'refuse'; readonly reason: string };

function outcomeOf<P>(answer: P | Refusal): BidOutcome<P> {
  return answer instanceof Refusal ? { kind: 'refuse', reason: answer.reason } : { kind: 'propose', proposal: answer };
}

type Internal<P, R> =
  | { readonly type: 'contractor.bid'; readonly conversationId: string; readonly tag: string | undefined; readonly outcome: BidOutcome<P> }
  | { readonly type: 'contractor.done'; readonly conversationId: string; readonly result: R }
  | { readonly type: 'contractor.failed'; readonly conversationId: string; readonly reason: string; readonly detail: string | undefined }
  | { readonly type: 'contractor.crashed'; readonly error: unknown };

const bidId = (conversationId: string): string => `bid:${conversationId}`;

function isThenable<V>(value: V | PromiseLike<V>): value is PromiseLike<V> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
const performId = (conversationId: string): string => `perform:${conversationId}`;

/**
 * The contract-net participant (FIPA SC00029) as an agent: it answers each cfp with `propose`
 * or `refuse` from `bid`, performs an accepted proposal with `perform` and answers `inform`
 * (the result) or `failure`. It takes part in many conversations at once. A `cancel` aborts
 * the work; a message that does not fit a conversation is answered `not-understood` by the
 * runtime and changes nothing.
 */
export function contractor<T, P, R>(options: ContractorOptions<T, P, R>): AgentDefinition {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('invalid-agent', 'contractor needs { ontology, bid, perform }');
  if (typeof options.ontology?.task?.safeParse !== 'function') throw new ConfigurationError('invalid-agent', 'contractor: `ontology` must come from contractNetOntology({...})');
  for (const key of ['bid', 'perform'] as const) {
    if (typeof options[key] !== 'function') throw new ConfigurationError('invalid-agent', `contractor(${options.ontology.name}): \`${key}\` must be a function`);
  }
  const role: Role<T, P, R> = { bid: options.bid, perform: options.perform };
  return defineAgent({
    name: options.name ?? `contractor(${options.ontology.name})`,
    machine: contractorMachine(options.ontology),
    content: participantContent(options.ontology),
    input: role,
    mailbox: options.mailbox,
    heartbeat: options.heartbeat,
  });
}

/** What makes one contractor differ from another of the same ontology: its machine's input. */
interface Role<T, P, R> {
  readonly bid: ContractorOptions<T, P, R>['bid'];
  readonly perform: ContractorOptions<T, P, R>['perform'];
}

const machines = new WeakMap<object, unknown>();

/**
 * The contractor machine of an ontology, made once and shared by all its contractors (their
 * `bid` and `perform` come as input): XState keeps its caches per machine, so a thousand
 * contractors with a machine each would make every step of every one of them dearer.
 */
function contractorMachine<T, P, R>(ontology: ContractNetOntology<T, P, R>) {
  return perOntology(machines, ontology, () => makeContractorMachine(ontology));
}

function makeContractorMachine<T, P, R>(ontology: ContractNetOntology<T, P, R>) {
  const content = participantContent(ontology);
  type Inbound = InboundEvents<typeof content>;
  type Events = Inbound | Internal<P, R>;
  interface Context {
    readonly role: Role<T, P, R>;
    readonly conversations: Readonly<Record<string, Conversation<T, P>>>;
  }

  const performingCount = (context: Context): number => {
    let count = 0;
    for (const conversation of Object.values(context.conversations)) if (conversation.phase === 'performing') count++;
    return count;
  };

  // The conversation being bid on is left out: a revised cfp replaces its earlier proposal.
  const load = (context: Context, except: string): BidInfo['load'] => {
    let performing = 0;
    let proposed = 0;
    for (const conversationId in context.conversations) {
      if (conversationId === except) continue;
      if (context.conversations[conversationId]?.phase === 'performing') performing++;
      else proposed++;
    }
    return { performing, proposed };
  };

  /** An async bid, awaited outside the machine; its answer comes back as `contractor.bid`. */
  const bidding = fromCallback<Internal<P, R>, { pending: PromiseLike<P | Refusal>; conversationId: string; tag: string | undefined }>(({ input, sendBack }) => {
    Promise.resolve(input.pending).then(
      (answer) => sendBack({ type: 'contractor.bid', conversationId: input.conversationId, tag: input.tag, outcome: outcomeOf(answer) }),
      (error: unknown) => sendBack({ type: 'contractor.crashed', error }),
    );
  });

  const performing = fromCallback<Internal<P, R>, { perform: Role<T, P, R>['perform']; task: T; proposal: P; conversationId: string; initiator: string }>(({ input, sendBack }) => {
    const controller = new AbortController();
    Promise.resolve()
      .then(() => input.perform(input.task, input.proposal, { conversationId: input.conversationId, initiator: input.initiator, signal: controller.signal }))
      .then(
        (result) => {
          if (!controller.signal.aborted) sendBack({ type: 'contractor.done', conversationId: input.conversationId, result });
        },
        (error: unknown) => {
          if (controller.signal.aborted) return; // cancelled: nobody waits for this task any more
          if (error instanceof TaskFailure) sendBack({ type: 'contractor.failed', conversationId: input.conversationId, reason: error.reason, detail: error.detail });
          else sendBack({ type: 'contractor.crashed', error });
        },
      );
    return () => controller.abort(new Error('the task was cancelled'));
  });

  const inPhase =
    (...phases: Conversation<T, P>['phase'][]) =>
    ({ context, event }: { context: Context; event: Events }): boolean => {
      const conversation = 'conversationId' in event ? context.conversations[event.conversationId] : undefined;
      return conversation !== undefined && phases.includes(conversation.phase);
    };

  /** A message of the initiator of a conversation this contractor holds in one of `phases`. */
  const fromInitiator =
    (...phases: Conversation<T, P>['phase'][]) =>
    ({ context, event }: { context: Context; event: AclMessage }): boolean => {
      const conversation = context.conversations[event.conversationId];
      return conversation !== undefined && conversation.initiator === event.sender && phases.includes(conversation.phase);
    };

  const forget = (context: Context, conversationId: string): Context['conversations'] => {
    const { [conversationId]: _gone, ...rest } = context.conversations;
    return rest;
  };

  return setup({
    types: { context: {} as Context, events: {} as Events, input: {} as Role<T, P, R> },
    actors: { bidding, performing },
  }).createMachine({
    id: 'contractor',
    context: ({ input }) => ({ role: input, conversations: {} }),
    // `working` is tagged busy while a task is performed: a heartbeat finds a perform that is
    // stuck (no transition for its timeoutMs), and a graceful stop lets the work finish first.
    initial: 'idle',
    states: {
      // No eventless transition here: idle handles every cfp and rejection, and a check after
      // each of them would cost more than the one explicit transition an award makes.
      idle: {},
      working: { tags: ['busy'], always: { guard: ({ context }) => performingCount(context) === 0, target: 'idle' } },
    },
    on: {
      cfp: {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const held = context.conversations[event.conversationId];
          // Another initiator's cfp, or one for a task already awarded: out of sequence, and the task in hand stays.
          if (held !== undefined && (held.initiator !== event.sender || held.phase === 'performing')) {
            const detail = held.initiator !== event.sender ? `conversation ${event.conversationId} belongs to ${held.initiator}` : `conversation ${event.conversationId} is past bidding`;
            enqueue(reply('not-understood', { reason: 'out-of-sequence' satisfies ReasonFrom<'contract-net'>, detail }));
            return;
          }
          // A revised cfp (iterated contract net) replaces a bid still being made.
          if (held?.phase === 'bidding') enqueue.stopChild(bidId(event.conversationId));
          const info: BidInfo = { conversationId: event.conversationId, initiator: event.sender, round: event.content.round, load: load(context, event.conversationId) };
          // A synchronous bid is answered at once, so the next cfp already sees it in the load.
          const answer = context.role.bid(event.content.task, info);
          if (isThenable(answer)) {
            enqueue.assign({ conversations: { ...context.conversations, [event.conversationId]: { phase: 'bidding', initiator: event.sender, answering: event, task: event.content.task, proposal: undefined } } });
            enqueue.spawnChild('bidding', { id: bidId(event.conversationId), input: { pending: answer, conversationId: event.conversationId, tag: event.replyWith } });
            return;
          }
          const outcome = outcomeOf(answer);
          if (outcome.kind === 'refuse') {
            enqueue(reply('refuse', { reason: outcome.reason }));
            enqueue.assign({ conversations: forget(context, event.conversationId) });
            return;
          }
          enqueue(reply('propose', outcome.proposal as object));
          enqueue.assign({ conversations: { ...context.conversations, [event.conversationId]: { phase: 'proposed', initiator: event.sender, answering: event, task: event.content.task, proposal: outcome.proposal } } });
        }),
      },
      'contractor.bid': {
        guard: ({ context, event }) => inPhase('bidding')({ context, event }) && context.conversations[event.conversationId]?.answering.replyWith === event.tag,
        actions: enqueueActions(({ context, event, enqueue }) => {
          const conversation = context.conversations[event.conversationId] as Conversation<T, P>;
          const cfp = conversation.answering;
          if (event.outcome.kind === 'refuse') {
            enqueue(reply('refuse', { reason: event.outcome.reason }, { to: () => cfp }));
            enqueue.assign({ conversations: forget(context, event.conversationId) });
            return;
          }
          enqueue(reply('propose', event.outcome.proposal as object, { to: () => cfp }));
          enqueue.assign({ conversations: { ...context.conversations, [event.conversationId]: { ...conversation, phase: 'proposed', proposal: event.outcome.proposal } } });
        }),
      },
      'accept-proposal': {
        guard: fromInitiator('proposed'),
        target: '.working',
        actions: [
          assign(({ context, event }) => ({
            conversations: { ...context.conversations, [event.conversationId]: { phase: 'performing', initiator: event.sender, answering: event, task: event.content.task, proposal: event.content.proposal } },
          })),
          spawnChild('performing', {
            id: ({ event }) => performId((event as AclMessage).conversationId),
            input: ({ context, event }) => {
              const accept = event as Inbound & { type: 'accept-proposal' };
              return { perform: context.role.perform, task: accept.content.task, proposal: accept.content.proposal, conversationId: accept.conversationId, initiator: accept.sender };
            },
          }),
        ],
      },
      // Unguarded on purpose: a round rejects nearly every bidder, and a guarded transition costs
      // the runtime a second evaluation (can()) per message. A rejection of a proposal this
      // contractor no longer holds needs no answer and changes nothing.
      'reject-proposal': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          if (fromInitiator('proposed')({ context, event })) enqueue.assign({ conversations: forget(context, event.conversationId) });
        }),
      },
      cancel: {
        guard: fromInitiator('bidding', 'proposed', 'performing'),
        actions: [
          stopChild(({ event }) => bidId(event.conversationId)),
          stopChild(({ event }) => performId(event.conversationId)),
          assign(({ context, event }) => ({ conversations: forget(context, event.conversationId) })),
        ],
      },
      'contractor.done': {
        guard: inPhase('performing'),
        actions: enqueueActions(({ context, event, enqueue }) => {
          const accept = (context.conversations[event.conversationId] as Conversation<T, P>).answering;
          enqueue(reply('inform', event.result as object, { to: () => accept }));
          enqueue.assign({ conversations: forget(context, event.conversationId) });
        }),
      },
      'contractor.failed': {
        guard: inPhase('performing'),
        actions: enqueueActions(({ context, event, enqueue }) => {
          const accept = (context.conversations[event.conversationId] as Conversation<T, P>).answering;
          enqueue(reply('failure', event.detail === undefined ? { reason: event.reason } : { reason: event.reason, detail: event.detail }, { to: () => accept }));
          enqueue.assign({ conversations: forget(context, event.conversationId) });
        }),
      },
      // An unexpected error in bid or perform is a crash of this agent, as in OTP.
      'contractor.crashed': {
        actions: ({ event }) => {
          throw event.error;
        },
      },
    },
  });
}
