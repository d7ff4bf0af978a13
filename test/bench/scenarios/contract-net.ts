/**
 * contract-net: one contract-net round with `size` contractors answering the cfp at once, in
 * milliseconds per round: cfp to all, every proposal back, the evaluation, one award and its
 * result, reject-proposal to the rest. Each sample is the mean of ROUNDS rounds. Troupe only:
 * neither raw XState nor nact has a contract-net protocol to compare with.
 */
import { z } from 'zod';
import { contractNet, contractNetOntology, contractor, type Bid } from '../../../src/index.js';
import { now } from '../measure.js';
import type { Bench, Sample, Scenario } from '../scenario.js';
import { ids, troupeSystem } from '../support.js';

const ROUNDS = 5;

const work = contractNetOntology({ name: 'bench', task: z.object({ n: z.number() }), proposal: z.object({ cost: z.number() }), result: z.object({ n: z.number() }) });

const cheapest = (bids: readonly Bid<{ cost: number }>[]): Bid<{ cost: number }>[] => {
  let best = bids[0];
  for (const bid of bids) if (best === undefined || bid.proposal.cost < best.proposal.cost) best = bid;
  return best === undefined ? [] : [best];
};

async function troupe(size: number): Promise<Bench> {
  const paths = ids(size).map((id) => `/${id}`);
  const system = await troupeSystem(ids(size).map((id, i) => ({ id, agent: contractor({ ontology: work, bid: (task) => ({ cost: (task.n * 7919 + i * 104_729) % 1_000 }), perform: (task) => ({ n: task.n }) }) })));
  let round = 0;
  const oneRound = async (): Promise<number> => {
    const outcome = await contractNet(system, { ontology: work, task: { n: round++ }, participants: paths, evaluate: cheapest, replyByMs: 60_000, resultTimeoutMs: 60_000 });
    // A round counts only when every contractor proposed and the winner delivered.
    return outcome.results.length === 1 ? outcome.proposals.length : 0;
  };
  return {
    async sample(): Promise<Sample> {
      const started = now();
      let done = 0;
      for (let i = 0; i < ROUNDS; i++) done = await oneRound();
      return { value: (now() - started) / ROUNDS, work: done };
    },
    close: () => system.stop(),
  };
}

export const contractNetRound: Scenario = {
  name: 'contract-net',
  unit: 'ms/round',
  higherIsBetter: false,
  describe: (size) => `mean of ${ROUNDS} rounds per sample; one contract-net round (cfp, ${size.toLocaleString('en-US')} proposals, evaluation, award, result, rejections) with ${size.toLocaleString('en-US')} contractors`,
  size: 1_000,
  quickSize: 50,
  warmups: 2,
  repetitions: 5,
  expectedWork: (size) => size,
  implementations: { troupe, xstate: undefined, nact: undefined },
  note: 'Troupe only: raw XState and nact have no contract-net protocol to compare with (target: 30 ms per round or less).',
};
