import type { AclMessage } from '../acl/message.js';
import type { Performative } from '../acl/performatives.js';
import { check } from '../acl/schema-check.js';
import type { ProtocolHost } from '../agent/protocol-host.js';
import type { CodeOf, ReasonFrom, RuntimeReasonCode } from '../runtime/error-catalogue.js';
import { TroupeError } from '../runtime/errors.js';
import { CONTRACT_NET_PROTOCOL, type ContractNetOntology, type RejectReason } from './contract-net-ontology.js';
import type { Bid, ContractNetOutcome, Decision, Fate, OutOfSequence, Refusal, TaskResult, WinnerFailure, WinnerFailureKind } from './contract-net-outcome.js';

/** A contract net that cannot go on: a bad decision, a failed evaluation, too many rounds. */
export class ContractNetError extends TroupeError {
  declare readonly code: CodeOf<'ContractNetError'>;

  constructor(code: CodeOf<'ContractNetError'>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

type State = 'called' | 'proposed' | 'reserve' | 'awarded' | Fate;

interface Participant<P, R> {
  readonly path: string;
  state: State;
  round: number;
  cfpTag: string;
  acceptTag: string | undefined;
  /** The proposal message, answered by accept/reject-proposal. */
  proposeMessage: AclMessage | undefined;
  proposal: P | undefined;
  result: R | undefined;
  detail: string | undefined;
  deadline: number;
  replacing: string | undefined;
}

/** Where the ledger sends from: the host, the conversation port and the conversation id. */
export interface ConversationLink {
  readonly host: ProtocolHost;
  readonly port: string;
  readonly conversationId: string;
  /** Closes the port: later messages of the conversation are answered `not-understood` by the runtime. */
  readonly close: () => void;
}

export interface LedgerOptions<T, P, R> {
  readonly ontology: ContractNetOntology<T, P, R>;
  readonly task: T;
  readonly replyByMs: number;
  readonly resultTimeoutMs: number;
  readonly reaward: boolean;
  readonly maxRounds: number;
}

/** Runtime failure reasons (see error-catalogue.ts) and what they say about a winner. */
const RUNTIME_FAILURES: Readonly<Record<string, WinnerFailureKind>> = {
  'agent-failed': 'crashed',
  hung: 'hung',
  'agent-stopped': 'stopped',
  'no-such-agent': 'stopped',
  'system-stopped': 'stopped',
  'agent-restarting': 'restarted',
  'stale-incarnation': 'restarted',
} satisfies Partial<Record<RuntimeReasonCode, WinnerFailureKind>>;

/** Shared, frozen: a round rejects hundreds of proposals with the same words. */
const PLAIN_REJECTIONS: Readonly<Record<RejectReason, { readonly reason: RejectReason }>> = {
  'not-chosen': Object.freeze({ reason: 'not-chosen' }),
  late: Object.freeze({ reason: 'late' }),
  cancelled: Object.freeze({ reason: 'cancelled' }),
};

function reasonOf(message: AclMessage): { reason: string; detail: string } {
  const content = message.content as { reason?: unknown; detail?: unknown } | undefined;
  const reason = typeof content === 'object' && content !== null && typeof content.reason === 'string' ? content.reason : message.performative;
  const detail = typeof content === 'object' && content !== null && typeof content.detail === 'string' ? content.detail : reason;
  return { reason, detail };
}

/**
 * The bookkeeping of one contract net for the initiator: who was called, who answered what,
 * who won, and what came back. It sends the protocol's messages itself, so each rule
 * (late bids, out-of-sequence answers, re-awards) lives in one place; the initiator machine
 * decides when each phase starts and ends.
 */
export class ContractNetLedger<T, P, R> {
  private readonly participants = new Map<string, Participant<P, R>>();
  private readonly proposals: Bid<P>[] = [];
  private readonly refusals: Refusal[] = [];
  private readonly notUnderstood: Refusal[] = [];
  private readonly unreachable: Refusal[] = [];
  private readonly late: Bid<P>[] = [];
  private readonly winners: Bid<P>[] = [];
  private readonly results: TaskResult<P, R>[] = [];
  private readonly failures: WinnerFailure<P>[] = [];
  private readonly outOfSequence: OutOfSequence[] = [];
  private readonly biddingClosedAt: number[] = [];
  private reserve: Bid<P>[] = [];
  private waitingForBids = 0;
  private awarded = 0;
  private round = 0;
  private cancelled = false;
  private ended = false;
  task: T;
  readonly startedAt = Date.now();
  bidsOfRound: Bid<P>[] = [];

  constructor(
    private readonly link: ConversationLink,
    private readonly options: LedgerOptions<T, P, R>,
  ) {
    this.task = options.task;
  }

  get currentRound(): number {
    return this.round;
  }

  /** Every participant of the round has answered the cfp. */
  get allAnswered(): boolean {
    return this.waitingForBids === 0;
  }

  /** No winner is still working. */
  get allSettled(): boolean {
    return this.awarded === 0;
  }

  /** The earliest result deadline of a winner still working, epoch ms. */
  get nextResultDeadline(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const participant of this.participants.values()) if (participant.state === 'awarded' && participant.deadline < next) next = participant.deadline;
    return next;
  }

  // ---- phases ----------------------------------------------------------------------------

  /** Sends the cfp of a new round to `paths`. */
  callForProposals(paths: readonly string[], task: T): void {
    this.round++;
    this.task = task;
    this.bidsOfRound = [];
    const replyBy = Date.now() + this.options.replyByMs;
    // One frozen content for the whole round: every cfp of a round says the same.
    const content = Object.freeze({ task, round: this.round });
    for (const path of paths) {
      let participant = this.participants.get(path);
      const cfpTag = this.link.host.newReplyTag();
      if (participant === undefined) {
        participant = { path, state: 'called', round: this.round, cfpTag, acceptTag: undefined, proposeMessage: undefined, proposal: undefined, result: undefined, detail: undefined, deadline: 0, replacing: undefined };
        this.participants.set(path, participant);
      } else {
        Object.assign(participant, { state: 'called', round: this.round, cfpTag, proposeMessage: undefined, proposal: undefined, detail: undefined });
      }
      this.waitingForBids++;
      this.send(path, 'cfp', content, cfpTag, undefined, replyBy);
    }
  }

  /** Bidding is over: whoever has not answered is silent. */
  closeBidding(): void {
    this.biddingClosedAt.push(Date.now());
    for (const participant of this.participants.values()) {
      if (participant.state === 'called' && participant.round === this.round) this.settleBid(participant, 'silent', undefined);
    }
  }

  /** Applies the evaluation's decision; returns the next round's call when it asks for one. */
  decide(decision: Decision<T, P>): { readonly task: T; readonly participants: readonly string[] } | undefined {
    if (typeof decision === 'object' && decision !== null && 'nextRound' in decision) return this.nextRound(decision.nextRound);
    const accept = Array.isArray(decision) ? (decision as readonly Bid<P>[]) : (decision as { accept?: readonly Bid<P>[] }).accept;
    if (!Array.isArray(accept)) throw new ContractNetError('invalid-decision', 'the evaluation must return the accepted bids (an array), { accept, reserve? } or { nextRound: { task } }');
    const chosen = this.ownBids(accept, 'accept');
    const explicitReserve = Array.isArray(decision) ? undefined : (decision as { reserve?: readonly Bid<P>[] }).reserve;
    const reserve = explicitReserve === undefined ? this.bidsOfRound.filter((bid) => !chosen.has(bid.participant)) : [...this.ownBids(explicitReserve, 'reserve').values()];
    for (const bid of reserve) if (chosen.has(bid.participant)) throw new ContractNetError('invalid-decision', `${bid.participant} is both accepted and in reserve`);
    for (const bid of chosen.values()) this.award(this.participantOf(bid.participant), undefined);
    if (this.options.reaward) {
      this.reserve = reserve;
      for (const bid of reserve) (this.participantOf(bid.participant).state = 'reserve');
    }
    for (const participant of this.participants.values()) if (participant.state === 'proposed') this.reject(participant, 'not-chosen', 'rejected');
    if (this.allSettled) this.releaseReserve();
    return undefined;
  }

  private nextRound(next: { readonly task: T; readonly participants?: readonly string[] }): { task: T; participants: readonly string[] } {
    // Refused here, as a decision, so that the failure path rejects the open proposals.
    if (this.round >= this.options.maxRounds) throw new ContractNetError('too-many-rounds', `the evaluation asked for round ${this.round + 1}, past maxRounds (${this.options.maxRounds})`);
    const task = check(this.options.ontology.task, next.task);
    if (!task.ok) throw new ContractNetError('invalid-decision', `the next round's task does not match ontology ${this.options.ontology.name}: ${task.issues}`);
    const bidders = this.bidsOfRound.map((bid) => bid.participant);
    const called = next.participants ?? bidders;
    for (const path of called) if (!bidders.includes(path)) throw new ContractNetError('invalid-decision', `the next round may call only this round's bidders; ${path} did not propose in round ${this.round}`);
    if (called.length === 0) throw new ContractNetError('invalid-decision', 'the next round calls nobody');
    for (const participant of this.participants.values()) if (participant.state === 'proposed' && !called.includes(participant.path)) this.reject(participant, 'not-chosen', 'rejected');
    return { task: task.value, participants: called };
  }

  /** Winners past their result deadline have failed (and are sent `cancel`). */
  expireResults(now: number): void {
    for (const participant of this.participants.values()) {
      if (participant.state !== 'awarded' || participant.deadline > now) continue;
      this.send(participant.path, 'cancel', { reason: 'timeout', detail: `no result within ${this.options.resultTimeoutMs} ms` }, undefined, participant.acceptTag);
      this.winnerFailed(participant, 'timeout', `no result within ${this.options.resultTimeoutMs} ms`);
    }
  }

  /** Ends the contract net early: winners get `cancel`, open proposals `reject-proposal` (cancelled). */
  cancel(reason: string): void {
    this.cancelled = true;
    for (const participant of this.participants.values()) {
      if (participant.state === 'awarded') {
        this.send(participant.path, 'cancel', { reason: 'cancelled', detail: reason }, undefined, participant.acceptTag);
        this.awarded--;
        participant.detail = reason;
        participant.state = 'cancelled';
        this.failures.push({ participant: participant.path, proposal: participant.proposal as P, kind: 'cancelled', detail: reason, reawardedTo: undefined });
      } else if (participant.state === 'proposed' || participant.state === 'reserve') {
        this.reject(participant, 'cancelled', 'cancelled', reason);
      } else if (participant.state === 'called') {
        this.send(participant.path, 'cancel', { reason: 'cancelled', detail: reason }, undefined, participant.cfpTag);
        this.settleBid(participant, 'cancelled', reason);
      }
    }
  }

  /** The outcome is final: the port closes, and a stop after it cancels nothing. */
  end(): void {
    this.ended = true;
    this.link.close();
  }

  get finished(): boolean {
    return this.ended;
  }

  // ---- inbound -----------------------------------------------------------------------------

  /** Takes one message that reached the conversation port. */
  receive(message: AclMessage, biddingOpen: boolean): void {
    const participant = this.participants.get(message.sender);
    if (participant !== undefined && message.inReplyTo !== undefined) {
      if (message.inReplyTo === participant.cfpTag && this.answersCfp(participant, message, biddingOpen)) return;
      if (message.inReplyTo === participant.acceptTag && participant.state === 'awarded' && this.answersAward(participant, message)) return;
    }
    this.outOfSequenceMessage(message, participant === undefined ? `${message.sender} is not a participant of conversation ${this.link.conversationId}` : `${message.performative} does not fit: ${message.sender} is ${participant.state} in round ${participant.round}`);
  }

  private answersCfp(participant: Participant<P, R>, message: AclMessage, biddingOpen: boolean): boolean {
    const inPlay = participant.state === 'called' && biddingOpen;
    // Silent when its round closed, whichever round is running now: its cfp tag says which round it answers.
    const lateBid = participant.state === 'silent';
    if (!inPlay && !lateBid) return false;
    switch (message.performative) {
      case 'propose': {
        const proposal = check(this.options.ontology.proposal, message.content);
        if (!proposal.ok) {
          this.answer(message, 'not-understood', { reason: 'invalid-content' satisfies ReasonFrom<'contract-net'>, detail: `proposal does not match ontology ${this.options.ontology.name}: ${proposal.issues}` });
          if (inPlay) this.settleBid(participant, 'not-understood', `invalid proposal: ${proposal.issues}`);
          return true;
        }
        const bid: Bid<P> = { participant: participant.path, proposal: proposal.value, round: participant.round, at: Date.now() };
        participant.proposeMessage = message;
        participant.proposal = proposal.value;
        if (lateBid) {
          this.late.push(bid);
          participant.state = 'late';
          this.answer(message, 'reject-proposal', { reason: 'late' satisfies RejectReason, detail: `bidding of round ${participant.round} closed before the proposal arrived` });
          return true;
        }
        this.proposals.push(bid);
        this.bidsOfRound.push(bid);
        participant.state = 'proposed';
        this.waitingForBids--;
        return true;
      }
      case 'refuse':
      case 'not-understood':
      case 'failure': {
        // After the close the participant is already counted silent; a late no changes nothing.
        if (!inPlay) return true;
        const { reason, detail } = reasonOf(message);
        if (message.performative === 'refuse') this.settleBid(participant, 'refused', reason);
        else if (message.performative === 'not-understood') this.settleBid(participant, 'not-understood', detail);
        else if (reason === 'deadline') this.settleBid(participant, 'silent', detail);
        else this.settleBid(participant, 'unreachable', detail, reason);
        return true;
      }
      default:
        return false;
    }
  }

  private answersAward(participant: Participant<P, R>, message: AclMessage): boolean {
    if (message.performative === 'inform') {
      const result = check(this.options.ontology.result, message.content);
      if (!result.ok) {
        this.answer(message, 'not-understood', { reason: 'invalid-content' satisfies ReasonFrom<'contract-net'>, detail: `result does not match ontology ${this.options.ontology.name}: ${result.issues}` });
        this.winnerFailed(participant, 'invalid-result', result.issues);
        return true;
      }
      participant.result = result.value;
      participant.state = 'completed';
      this.awarded--;
      this.results.push({ participant: participant.path, proposal: participant.proposal as P, result: result.value, replacing: participant.replacing });
      if (this.allSettled) this.releaseReserve();
      return true;
    }
    if (message.performative === 'failure') {
      const { reason, detail } = reasonOf(message);
      this.winnerFailed(participant, RUNTIME_FAILURES[reason] ?? 'failure', detail);
      return true;
    }
    // The winner will not do a task it did not understand: waiting for its deadline would only delay a re-award.
    if (message.performative === 'not-understood') {
      this.winnerFailed(participant, 'failure', `not-understood: ${reasonOf(message).detail}`);
      return true;
    }
    return false;
  }

  private outOfSequenceMessage(message: AclMessage, detail: string): void {
    this.outOfSequence.push({ sender: message.sender, performative: message.performative, detail, at: Date.now() });
    // Never answer an answer of the same kind: two parties would trade not-understood for ever.
    if (message.performative === 'not-understood' || message.performative === 'failure') return;
    this.answer(message, 'not-understood', { reason: 'out-of-sequence' satisfies ReasonFrom<'contract-net'>, detail });
  }

  // ---- awards ------------------------------------------------------------------------------

  private award(participant: Participant<P, R>, replacing: string | undefined): void {
    const message = participant.proposeMessage as AclMessage;
    participant.state = 'awarded';
    participant.acceptTag = this.link.host.newReplyTag();
    participant.deadline = Date.now() + this.options.resultTimeoutMs;
    participant.replacing = replacing;
    this.awarded++;
    this.winners.push({ participant: participant.path, proposal: participant.proposal as P, round: participant.round, at: Date.now() });
    // The accept carries a reply-with, so the contractor holds it as an open request: if it
    // crashes, hangs or stops before answering, the runtime answers `failure` at once.
    this.answer(message, 'accept-proposal', { task: this.task, proposal: participant.proposal }, participant.acceptTag);
  }

  private winnerFailed(participant: Participant<P, R>, kind: WinnerFailureKind, detail: string): void {
    participant.state = 'failed';
    participant.detail = `${kind}: ${detail}`;
    this.awarded--;
    let reawardedTo: string | undefined;
    if (this.options.reaward) {
      const next = this.takeReserve();
      if (next !== undefined) {
        reawardedTo = next.path;
        this.award(next, participant.path);
      }
    }
    this.failures.push({ participant: participant.path, proposal: participant.proposal as P, kind, detail, reawardedTo });
    if (this.allSettled) this.releaseReserve();
  }

  private takeReserve(): Participant<P, R> | undefined {
    while (this.reserve.length > 0) {
      const bid = this.reserve.shift() as Bid<P>;
      const participant = this.participantOf(bid.participant);
      if (participant.state === 'reserve') return participant;
    }
    return undefined;
  }

  /** Everything settled: the bidders kept in reserve are rejected now. */
  private releaseReserve(): void {
    for (const bid of this.reserve.splice(0)) {
      const participant = this.participantOf(bid.participant);
      if (participant.state === 'reserve') this.reject(participant, 'not-chosen', 'rejected');
    }
  }

  private reject(participant: Participant<P, R>, reason: RejectReason, fate: Fate, detail?: string): void {
    participant.state = fate;
    participant.detail = detail;
    this.answer(participant.proposeMessage as AclMessage, 'reject-proposal', detail === undefined ? PLAIN_REJECTIONS[reason] : { reason, detail });
  }

  private settleBid(participant: Participant<P, R>, fate: Fate, detail: string | undefined, reason?: string): void {
    participant.state = fate;
    participant.detail = detail;
    this.waitingForBids--;
    const entry = { participant: participant.path, reason: reason ?? detail ?? fate, round: participant.round };
    if (fate === 'refused') this.refusals.push(entry);
    else if (fate === 'not-understood') this.notUnderstood.push(entry);
    else if (fate === 'unreachable') this.unreachable.push(entry);
  }

  private ownBids(bids: readonly Bid<P>[], what: string): Map<string, Bid<P>> {
    if (!Array.isArray(bids)) throw new ContractNetError('invalid-decision', `${what} must be an array of bids`);
    const own = new Map<string, Bid<P>>();
    for (const bid of bids) {
      const known = this.bidsOfRound.find((candidate) => candidate === bid || candidate.participant === (bid as Bid<P> | undefined)?.participant);
      if (known === undefined) throw new ContractNetError('invalid-decision', `${what} holds a bid that is not one of round ${this.round}'s proposals: ${JSON.stringify(bid)}`);
      if (own.has(known.participant)) throw new ContractNetError('invalid-decision', `${what} holds ${known.participant} twice`);
      own.set(known.participant, known);
    }
    return own;
  }

  private participantOf(path: string): Participant<P, R> {
    return this.participants.get(path) as Participant<P, R>;
  }

  // ---- sending -----------------------------------------------------------------------------

  // Options are spelled out, one shape for every message: this runs a thousand times a round.
  private send(to: string, performative: Performative, content: unknown, replyWith: string | undefined, inReplyTo: string | undefined, replyBy?: number): void {
    this.link.host.post(to, performative, content, {
      conversationId: this.link.conversationId,
      replyWith,
      inReplyTo,
      replyTo: this.link.port,
      replyBy,
      protocol: CONTRACT_NET_PROTOCOL,
      ontology: this.options.ontology.name,
    });
  }

  /** Answers `message` (to its reply-to or sender, pinned to the sender's incarnation). */
  private answer(message: AclMessage, performative: Performative, content: unknown, replyWith?: string): void {
    const pinned = message.replyTo === undefined || message.replyTo === message.sender ? message.senderIncarnation : undefined;
    this.link.host.post(
      message.replyTo ?? message.sender,
      performative,
      content,
      { conversationId: this.link.conversationId, replyWith, inReplyTo: message.replyWith, replyTo: this.link.port, replyBy: undefined, protocol: CONTRACT_NET_PROTOCOL, ontology: this.options.ontology.name },
      pinned,
    );
  }

  // ---- the outcome ---------------------------------------------------------------------------

  outcome(): ContractNetOutcome<T, P, R> {
    const finishedAt = Date.now();
    const participants = [...this.participants.values()].map((participant) => ({
      participant: participant.path,
      fate: fateOf(participant.state),
      round: participant.round,
      proposal: participant.proposal,
      result: participant.result,
      detail: participant.detail,
    }));
    return {
      conversationId: this.link.conversationId,
      task: this.task,
      rounds: this.round,
      participants,
      proposals: this.proposals,
      refusals: this.refusals,
      notUnderstood: this.notUnderstood,
      unreachable: this.unreachable,
      silent: participants.filter((participant) => participant.fate === 'silent').map((participant) => participant.participant),
      late: this.late,
      winners: this.winners,
      results: this.results,
      failures: this.failures,
      outOfSequence: this.outOfSequence,
      timings: { startedAt: this.startedAt, biddingClosedAt: this.biddingClosedAt, finishedAt, durationMs: finishedAt - this.startedAt },
      cancelled: this.cancelled,
    };
  }
}

/** States still in play when the outcome is taken (a cancel settles them all first). */
function fateOf(state: State): Fate {
  switch (state) {
    case 'called':
      return 'silent';
    case 'proposed':
    case 'reserve':
      return 'rejected';
    case 'awarded':
      return 'failed';
    default:
      return state;
  }
}
