/**
 * Contract-net roles for the worker-placement tests: a manager (the initiator, listening on a
 * conversation port) and two contractors, each exported with `module: import.meta.url` so a
 * worker thread can load it. Results name the thread that produced them.
 */
import { threadId } from 'node:worker_threads';
import { z } from 'zod';
import { contractNetOntology, contractor, defineAgent, manager, type AgentDefinition, type Bid } from '../../src/index.js';

export const jobs = contractNetOntology({
  name: 'jobs-on-threads',
  task: z.object({ size: z.number() }),
  proposal: z.object({ cost: z.number(), thread: z.number() }),
  result: z.object({ done: z.number(), thread: z.number() }),
});

type Proposal = z.infer<typeof jobs.proposal>;

/** The same definition, loadable on a worker thread from this module. */
function onWorkers(definition: AgentDefinition): AgentDefinition {
  return defineAgent({ ...definition, module: import.meta.url, placement: 'worker' });
}

function bidder(name: string, cost: number): AgentDefinition {
  return onWorkers(contractor({ ontology: jobs, name, bid: () => ({ cost, thread: threadId }), perform: (task) => ({ done: task.size * cost, thread: threadId }) }));
}

export const cheap = bidder('cheap-contractor', 1);
export const dear = bidder('dear-contractor', 5);

/** Awards the cheapest bid among /cheap and /dear. */
export const cnetManager = onWorkers(
  manager({
    ontology: jobs,
    name: 'cnet-manager',
    participants: ['/cheap', '/dear'],
    replyByMs: 20_000,
    evaluate: (bids: readonly Bid<Proposal>[]) => [...bids].sort((a, b) => a.proposal.cost - b.proposal.cost).slice(0, 1),
  }),
);
