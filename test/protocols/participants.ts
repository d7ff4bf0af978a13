/**
 * Scripted contract-net participants for the protocol tests: each records every message it
 * gets and answers as its script says, including the misbehaviour a real contractor never shows
 * (answering out of sequence, crashing, hanging).
 */
import { enqueueActions, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { contractNetOntology, defineAgent, reply, type AclMessage, type ChildSpec } from '../../src/index.js';

export const jobs = contractNetOntology({
  name: 'jobs',
  task: z.object({ size: z.number() }),
  proposal: z.object({ cost: z.number() }),
  result: z.object({ done: z.number() }),
});

export interface Script {
  /** What to answer a cfp with (default propose with `cost`). */
  readonly cfp?: 'propose' | 'refuse' | 'not-understood' | 'silent' | 'bad-proposal';
  readonly cost?: number;
  /** What to do with an accept-proposal (default inform). */
  readonly accept?: 'inform' | 'failure' | 'crash' | 'hang' | 'silent' | 'bad-result' | 'not-understood';
  /** Answer a reject-proposal with an (out-of-sequence) inform. */
  readonly informOnReject?: boolean;
}

/** A participant whose every received message lands in `log`. */
export function scripted(log: AclMessage[], script: Script = {}) {
  const machineSetup = setup({
    types: { events: {} as AclMessage },
    actors: { never: fromPromise(() => new Promise<never>(() => undefined)) },
    actions: { answer: enqueueActions(({ event, enqueue }) => {
    log.push(event);
    if (event.performative === 'cfp') {
      const cfp = script.cfp ?? 'propose';
      if (cfp === 'propose') enqueue(reply('propose', { cost: script.cost ?? 1 }));
      else if (cfp === 'bad-proposal') enqueue(reply('propose', { cost: 'cheap' }));
      else if (cfp === 'refuse') enqueue(reply('refuse', { reason: 'busy' }));
      else if (cfp === 'not-understood') enqueue(reply('not-understood', { reason: 'what?' }));
    } else if (event.performative === 'accept-proposal') {
      const accept = script.accept ?? 'inform';
      if (accept === 'inform') enqueue(reply('inform', { done: script.cost ?? 1 }));
      else if (accept === 'bad-result') enqueue(reply('inform', { done: 'yes' }));
      else if (accept === 'failure') enqueue(reply('failure', { reason: 'broken', detail: 'the tool broke' }));
      else if (accept === 'not-understood') enqueue(reply('not-understood', { reason: 'what task?' }));
      else if (accept === 'crash') throw new Error(`crashed on ${event.conversationId}`);
    } else if (event.performative === 'reject-proposal' && script.informOnReject === true) {
      enqueue(reply('inform', { done: 0 }));
    }
  }) },
  });
  return defineAgent({
    name: 'scripted',
    machine: machineSetup.createMachine({
      initial: 'serving',
      states: {
        serving: {
          on: {
            'accept-proposal': [{ guard: () => script.accept === 'hang', target: 'hung', actions: ({ event }) => log.push(event) }, { actions: 'answer' }],
            '*': { actions: 'answer' },
          },
        },
        hung: { tags: ['busy'], invoke: { src: 'never' } },
      },
    }),
  });
}

/** A child spec for a scripted participant. */
export function scriptedChild(id: string, log: AclMessage[], script: Script = {}, extra: Partial<ChildSpec> = {}): ChildSpec {
  return { ...extra, id, agent: scripted(log, script) };
}

/** The performatives `log` got, in order. */
export function performatives(log: readonly AclMessage[]): string[] {
  return log.map((message) => message.performative);
}
