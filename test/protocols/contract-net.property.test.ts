/**
 * Properties of the contract net over many generated cases and scheduler interleavings
 * (throughput 1 to 16 messages per agent turn):
 * - for any set of bids and refusals and any choice the evaluation makes, the winners are
 *   exactly those chosen, every bidder gets exactly one accept-proposal or reject-proposal (a
 *   refuser gets neither), and the outcome accounts for every participant once;
 * - with `reaward`, whatever subset of bidders crashes on its award, the task goes down the
 *   reserve in order until a bidder delivers, each crash is reported with whom it went to, and
 *   every other bidder is rejected exactly once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contractNet, createSystem, supervisor, type AclMessage, type Bid } from '../../src/index.js';
import { jobs, scriptedChild } from './participants.js';

const answer = fc.oneof(fc.record({ kind: fc.constant('refuse' as const) }), fc.record({ kind: fc.constant('propose' as const), cost: fc.integer({ min: 0, max: 100 }), chosen: fc.boolean() }));
const throughput = fc.integer({ min: 1, max: 16 });

const verdicts = (log: readonly AclMessage[]) => log.filter((message) => message.performative === 'accept-proposal' || message.performative === 'reject-proposal').map((message) => message.performative);

describe('contract net properties', () => {
  it('winners are exactly the chosen bids; one accept or reject per bidder; everyone accounted for', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 0, maxLength: 8 }), throughput, async (answers, perTurn) => {
        const logs = answers.map(() => [] as AclMessage[]);
        const system = await createSystem({
          scheduler: { throughput: perTurn },
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
            const fate = outcome.participants[i]?.fate;
            if (entry.kind === 'refuse') {
              expect(verdicts(logs[i] as AclMessage[])).toEqual([]);
              expect(fate).toBe('refused');
            } else {
              expect(verdicts(logs[i] as AclMessage[])).toEqual([chosen.has(path) ? 'accept-proposal' : 'reject-proposal']);
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

  it('with reaward, a task goes down the reserve past every crashing winner to the first that delivers', async () => {
    const bidder = fc.record({ cost: fc.integer({ min: 0, max: 1_000 }), crashes: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(bidder, { minLength: 1, maxLength: 6, selector: (entry) => entry.cost }), throughput, async (bidders, perTurn) => {
        const logs = bidders.map(() => [] as AclMessage[]);
        const system = await createSystem({
          scheduler: { throughput: perTurn },
          root: supervisor({
            intensity: { maxRestarts: 100, withinMs: 60_000 },
            children: bidders.map((entry, i) => scriptedChild(`p${i}`, logs[i] as AclMessage[], { cost: entry.cost, accept: entry.crashes ? 'crash' : 'inform' })),
          }),
        });
        try {
          const paths = bidders.map((_, i) => `/p${i}`);
          const byCost = (bids: readonly Bid<{ cost: number }>[]) => {
            const sorted = [...bids].sort((a, b) => a.proposal.cost - b.proposal.cost);
            return { accept: sorted.slice(0, 1), reserve: sorted.slice(1) };
          };
          const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: paths, evaluate: byCost, reaward: true });
          await system.whenIdle();
          const order = bidders.map((entry, i) => ({ ...entry, path: paths[i] as string })).sort((a, b) => a.cost - b.cost);
          const firstGood = order.findIndex((entry) => !entry.crashes);
          const tried = firstGood === -1 ? order : order.slice(0, firstGood + 1);
          expect(outcome.winners.map((bid) => bid.participant)).toEqual(tried.map((entry) => entry.path));
          expect(outcome.failures).toEqual(
            tried
              .filter((entry) => entry.crashes)
              .map((entry, i) => expect.objectContaining({ participant: entry.path, kind: 'crashed', reawardedTo: tried[i + 1]?.path })),
          );
          expect(outcome.results.map((entry) => entry.participant)).toEqual(firstGood === -1 ? [] : [order[firstGood]?.path]);
          for (const entry of order) {
            const log = logs[paths.indexOf(entry.path)] as AclMessage[];
            expect(verdicts(log)).toEqual([tried.includes(entry) ? 'accept-proposal' : 'reject-proposal']);
          }
          expect(outcome.participants).toHaveLength(bidders.length);
        } finally {
          await system.stop();
        }
      }),
      { numRuns: 40 },
    );
  });
});
