/** The typed result of one contract net: what happened to every participant, and when. */

/** A proposal as the initiator's evaluation sees it. */
export interface Bid<P> {
  readonly participant: string;
  readonly proposal: P;
  readonly round: number;
  /** When it arrived, epoch ms. */
  readonly at: number;
}

/**
 * What the evaluation decides: the accepted bids (an array, or `{ accept, reserve }` where
 * `reserve` lists, best first, who gets a failed winner's task under `reaward`; with the array
 * form, the reserve is every other bid in the order given to the evaluation), or a new round
 * with a revised task for some or all of this round's bidders (iterated contract net, FIPA SC00030).
 */
export type Decision<T, P> =
  | readonly Bid<P>[]
  | { readonly accept: readonly Bid<P>[]; readonly reserve?: readonly Bid<P>[] }
  | { readonly nextRound: { readonly task: T; readonly participants?: readonly string[] } };

/**
 * How a participant's part ended:
 * - `completed`: won and sent its result; `failed`: won, then failed, crashed, hung, stopped or ran out of time
 * - `rejected`: proposed and was not chosen (or stayed in reserve); `late`: proposed after bidding closed
 * - `refused`, `not-understood`: answered the cfp so; `silent`: no answer before bidding closed
 * - `unreachable`: the cfp could not be delivered or its receiver failed before answering
 * - `cancelled`: the contract net was cancelled while it was in play
 */
export type Fate = 'completed' | 'failed' | 'rejected' | 'late' | 'refused' | 'not-understood' | 'silent' | 'unreachable' | 'cancelled';

export interface ParticipantOutcome<P, R> {
  readonly participant: string;
  readonly fate: Fate;
  /** The last round it was called in. */
  readonly round: number;
  readonly proposal: P | undefined;
  readonly result: R | undefined;
  /** The refusal or failure reason, when there is one. */
  readonly detail: string | undefined;
}

/** Why a winner did not deliver: its own `failure`, or what supervision or the deadline saw. */
export type WinnerFailureKind = 'failure' | 'crashed' | 'hung' | 'stopped' | 'restarted' | 'timeout' | 'invalid-result' | 'cancelled';

export interface WinnerFailure<P> {
  readonly participant: string;
  readonly proposal: P;
  readonly kind: WinnerFailureKind;
  readonly detail: string;
  /** Who got the task instead (with `reaward`). */
  readonly reawardedTo: string | undefined;
}

export interface TaskResult<P, R> {
  readonly participant: string;
  readonly proposal: P;
  readonly result: R;
  /** The failed winner this one replaced, with `reaward`. */
  readonly replacing: string | undefined;
}

export interface Refusal {
  readonly participant: string;
  readonly reason: string;
  readonly round: number;
}

/** A message that did not fit the conversation: answered `not-understood` and otherwise ignored. */
export interface OutOfSequence {
  readonly sender: string;
  readonly performative: string;
  readonly detail: string;
  readonly at: number;
}

export interface ContractNetOutcome<T, P, R> {
  readonly conversationId: string;
  /** The task of the last round. */
  readonly task: T;
  readonly rounds: number;
  /** Every participant ever called, in call order, each exactly once. */
  readonly participants: readonly ParticipantOutcome<P, R>[];
  /** Every valid proposal, all rounds. */
  readonly proposals: readonly Bid<P>[];
  readonly refusals: readonly Refusal[];
  readonly notUnderstood: readonly Refusal[];
  readonly unreachable: readonly Refusal[];
  /** Participants with no answer when bidding closed in their last round. */
  readonly silent: readonly string[];
  /** Proposals after bidding closed, answered `reject-proposal` with reason `late`. */
  readonly late: readonly Bid<P>[];
  /** Every accepted bid, replacements included, in award order. */
  readonly winners: readonly Bid<P>[];
  readonly results: readonly TaskResult<P, R>[];
  readonly failures: readonly WinnerFailure<P>[];
  readonly outOfSequence: readonly OutOfSequence[];
  readonly timings: {
    readonly startedAt: number;
    /** When bidding closed, per round. */
    readonly biddingClosedAt: readonly number[];
    readonly finishedAt: number;
    readonly durationMs: number;
  };
  /** True when the contract net was cancelled before it ended. */
  readonly cancelled: boolean;
}
