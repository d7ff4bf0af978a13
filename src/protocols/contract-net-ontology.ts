import { z } from 'zod';
import { ConfigurationError } from '../runtime/errors.js';
import { perOntology } from './per-ontology.js';

export const CONTRACT_NET_PROTOCOL = 'fipa-contract-net';

/**
 * The types of one contract-net domain: what a task, a proposal and a result are. Every
 * message of the protocol is checked against them where it arrives, and the initiator's
 * evaluation and the contractor's functions are typed by them.
 */
export interface ContractNetOntology<T, P, R> {
  readonly name: string;
  readonly task: z.ZodType<T>;
  readonly proposal: z.ZodType<P>;
  readonly result: z.ZodType<R>;
}

export type TaskOf<O> = O extends ContractNetOntology<infer T, unknown, unknown> ? T : never;
export type ProposalOf<O> = O extends ContractNetOntology<unknown, infer P, unknown> ? P : never;
export type ResultOf<O> = O extends ContractNetOntology<unknown, unknown, infer R> ? R : never;

/** Declares a contract-net ontology from zod schemas for the task, the proposal and the result. */
export function contractNetOntology<TS extends z.ZodType, PS extends z.ZodType, RS extends z.ZodType>(definition: {
  readonly name: string;
  readonly task: TS;
  readonly proposal: PS;
  readonly result: RS;
}): ContractNetOntology<z.output<TS>, z.output<PS>, z.output<RS>> {
  if (typeof definition !== 'object' || definition === null) throw new ConfigurationError('invalid-ontology', 'contractNetOntology needs { name, task, proposal, result }');
  if (typeof definition.name !== 'string' || definition.name.length === 0) throw new ConfigurationError('invalid-ontology', 'contractNetOntology: `name` must be a non-empty string');
  for (const key of ['task', 'proposal', 'result'] as const) {
    if (typeof (definition[key] as { safeParse?: unknown } | undefined)?.safeParse !== 'function') {
      throw new ConfigurationError('invalid-ontology', `contractNetOntology(${definition.name}): \`${key}\` must be a zod schema`);
    }
  }
  return Object.freeze({ name: definition.name, task: definition.task, proposal: definition.proposal, result: definition.result }) as ContractNetOntology<z.output<TS>, z.output<PS>, z.output<RS>>;
}

/** Why a proposal was rejected: not chosen by the evaluation, after bidding closed, or the contract net was cancelled. */
export const RejectReason = z.enum(['not-chosen', 'late', 'cancelled']);
export type RejectReason = z.output<typeof RejectReason>;

const Reason = z.object({ reason: z.string(), detail: z.string().optional() });

function makeParticipantContent<T, P, R>(ontology: ContractNetOntology<T, P, R>) {
  return {
    cfp: z.object({ task: ontology.task, round: z.number().int().positive() }),
    'accept-proposal': z.object({ task: ontology.task, proposal: ontology.proposal }),
    'reject-proposal': z.object({ reason: RejectReason, detail: z.string().optional() }),
    cancel: Reason,
  } as const;
}

export type ParticipantContent<T, P, R> = ReturnType<typeof makeParticipantContent<T, P, R>>;

const participantContents = new WeakMap<object, unknown>();

/**
 * The content a participant receives, per performative (use as `defineAgent({ content })`).
 * Made once per ontology: zod compiles each object schema on first use, so a thousand
 * contractors with schemas of their own would each pay that, and parse more slowly besides.
 */
export function participantContent<T, P, R>(ontology: ContractNetOntology<T, P, R>): ParticipantContent<T, P, R> {
  return perOntology(participantContents, ontology, () => makeParticipantContent(ontology));
}
