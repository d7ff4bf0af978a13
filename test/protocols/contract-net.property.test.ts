/**
 * Property: for any set of bids and refusals and any choice the evaluation makes, the winners
 * are exactly those chosen, every bidder gets exactly one accept-proposal or reject-proposal
 * (a refuser gets neither), and the outcome accounts for every participant once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contractNet, createSystem, supervisor, type AclMessage } from '../../src/index.js';
import { jobs, scriptedChild } from './participants.js';

const answer = fc.oneof(fc.record({ kind: fc.constant('refuse' as const) }), fc.record({ kind: fc.constant('propose' as const), cost: fc.integer({ min: 0, max: 100 }), chosen: fc.boolean() }));

describe('contract net property', () => {
  it('winners are exactly the chosen bids; one accept or reject per bidder; everyone accounted for', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 0, maxLength: 8 }), async (answers) => {
        const logs = answers.map(() => [] as AclMessage[]);
        const system = await createSystem({
          root: supervisor({ children: answers.map((entry, i) => scriptedChild(`p${i}`, logs[i] as AclMessage[], entry.kind === 'refuse' ? { cfp: 'refuse' } : { cost: entry.cost })) }),
        });
        try {
          const paths = answers.map((_, i) => `/p${i}`);
          const chosen = new Set(paths.filter((_, i) => { const entry = answers[i]; return entry?.kind === 'propose' && entry.chosen; }));
          const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: paths, evaluate: (bids) => bids.filter((bid) => chosen.has(bid.participant)) });
          await system.whenIdle();
          expect(new Set(outcome.winners.map((bid) => bid.participant))).toEqual(chosen);
          expect(outcome.participants.map((entry) => entry.participant)).toEqual(paths);
          answers.forEach((entry, i) => {
            const path = paths[i] as string;
            const log = logs[i] as AclMessage[];
            const verdicts = log.filter((message) => message.performative === 'accept-proposal' || message.performative === 'reject-proposal');
            const fate = outcome.participants[i]?.fate;
            if (entry.kind === 'refuse') {
              expect(verdicts).toEqual([]);
              expect(fate).toBe('refused');
            } else {
              expect(verdicts).toHaveLength(1);
              expect(verdicts[0]?.performative).toBe(chosen.has(path) ? 'accept-proposal' : 'reject-proposal');
              expect(fate).toBe(chosen.has(path) ? 'completed' : 'rejected');
            }
          });
          expect(outcome.refusals.length + outcome.proposals.length).toBe(answers.length);
          expect(outcome.results.map((entry) => entry.participant).sort()).toEqual([...chosen].sort());
        } finally {
          await system.stop();
        }
      }),
      { numRuns: 60 },
    );
  });
});
