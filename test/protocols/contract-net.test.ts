import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  ConfigurationError,
  ContractNetError,
  contractNet,
  contractNetOntology,
  contractor,
  createSystem,
  refuse,
  supervisor,
  TaskFailure,
  type AclMessage,
  type Bid,
  type ChildSpec,
  type System,
} from '../../src/index.js';
import { latch } from '../support/latch.js';
import { jobs, performatives, scriptedChild } from './participants.js';
import { stoppedAfterEach } from '../support/systems.js';

const track = stoppedAfterEach();

async function start(children: ChildSpec[], intensity = { maxRestarts: 10, withinMs: 60_000 }): Promise<System> {
  const system = await createSystem({ root: supervisor({ intensity, children }) });
  track(system);
  return system;
}

const cheapest = (bids: readonly Bid<{ cost: number }>[]) => [...bids].sort((a, b) => a.proposal.cost - b.proposal.cost).slice(0, 1);
const byCost = (bids: readonly Bid<{ cost: number }>[]) => {
  const sorted = [...bids].sort((a, b) => a.proposal.cost - b.proposal.cost);
  return { accept: sorted.slice(0, 1), reserve: sorted.slice(1) };
};

function fakeTime(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
}

/** Lets deliveries, port microtasks and agent turns run to quiet (fake timers do not move). */
async function settle(system: System): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await system.whenIdle();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function fateOf(outcome: { participants: readonly { participant: string; fate: string }[] }): Record<string, string> {
  return Object.fromEntries(outcome.participants.map((entry) => [entry.participant, entry.fate]));
}

describe('contract net: bidding, awarding, results', () => {
  it('awards the cheapest proposal, rejects the others and accounts for every participant', async () => {
    const logs = { a: [] as AclMessage[], b: [] as AclMessage[], c: [] as AclMessage[], d: [] as AclMessage[] };
    const system = await start([
      scriptedChild('a', logs.a, { cost: 5 }),
      scriptedChild('b', logs.b, { cost: 2 }),
      scriptedChild('c', logs.c, { cfp: 'refuse' }),
      scriptedChild('d', logs.d, { cfp: 'not-understood' }),
    ]);
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/a', '/b', '/c', '/d'], evaluate: cheapest });
    expect(fateOf(outcome)).toEqual({ '/a': 'rejected', '/b': 'completed', '/c': 'refused', '/d': 'not-understood' });
    expect(outcome.winners.map((bid) => bid.participant)).toEqual(['/b']);
    expect(outcome.results).toEqual([{ participant: '/b', proposal: { cost: 2 }, result: { done: 2 }, replacing: undefined }]);
    expect(outcome.refusals).toEqual([{ participant: '/c', reason: 'busy', round: 1 }]);
    expect(outcome.notUnderstood.map((entry) => entry.participant)).toEqual(['/d']);
    expect(outcome.proposals.map((bid) => bid.participant).sort()).toEqual(['/a', '/b']);
    expect(outcome.rounds).toBe(1);
    expect(outcome.timings.biddingClosedAt).toHaveLength(1);
    expect(outcome.timings.finishedAt).toBeGreaterThanOrEqual(outcome.timings.startedAt);
    await settle(system);
    expect(performatives(logs.a)).toEqual(['cfp', 'reject-proposal']);
    expect(logs.a[1]?.content).toEqual({ reason: 'not-chosen' });
    expect(performatives(logs.b)).toEqual(['cfp', 'accept-proposal']);
    expect(logs.b[1]?.content).toEqual({ task: { size: 1 }, proposal: { cost: 2 } });
    expect(performatives(logs.c)).toEqual(['cfp']);
    // Every message of the conversation carries its protocol, ontology and conversation id.
    for (const message of [...logs.a, ...logs.b]) expect(message).toMatchObject({ protocol: 'fipa-contract-net', ontology: 'jobs', conversationId: outcome.conversationId });
  });

  it('splits a task among several winners', async () => {
    const logs = [[], [], []] as AclMessage[][];
    const system = await start(logs.map((log, i) => scriptedChild(`w${i}`, log, { cost: i + 1 })));
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 3 }, participants: ['/w0', '/w1', '/w2'], evaluate: (bids) => bids.filter((bid) => bid.proposal.cost <= 2) });
    expect(outcome.results.map((entry) => entry.participant).sort()).toEqual(['/w0', '/w1']);
    expect(fateOf(outcome)).toEqual({ '/w0': 'completed', '/w1': 'completed', '/w2': 'rejected' });
  });

  it('closes bidding at replyBy: the silent are reported, a late proposal gets reject-proposal (late)', async () => {
    fakeTime();
    const late: AclMessage[] = [];
    const fast: AclMessage[] = [];
    const system = await start([scriptedChild('fast', fast, { cost: 3 }), scriptedChild('late', late, { cfp: 'silent' })]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/fast', '/late'], evaluate: cheapest, replyByMs: 500 });
    await settle(system);
    expect(performatives(fast)).toEqual(['cfp']); // bidding still open: /late has not answered
    await vi.advanceTimersByTimeAsync(500);
    const outcome = await pending;
    expect(outcome.silent).toEqual(['/late']);
    expect(fateOf(outcome)).toEqual({ '/fast': 'completed', '/late': 'silent' });
    expect(outcome.timings.biddingClosedAt[0]! - outcome.timings.startedAt).toBeGreaterThanOrEqual(500);
  });

  it('rejects a proposal that arrives after bidding closed with reason late', async () => {
    fakeTime();
    const log: AclMessage[] = [];
    const slowBid = latch<{ cost: number }>();
    const system = await start([
      { id: 'slow', agent: contractor({ ontology: jobs, bid: () => slowBid.promise, perform: () => ({ done: 1 }) }) },
      scriptedChild('quick', log, { cost: 9, accept: 'silent' }),
    ]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/slow', '/quick'], evaluate: cheapest, replyByMs: 100, resultTimeoutMs: 1_000 });
    await settle(system);
    await vi.advanceTimersByTimeAsync(100);
    // /quick won (the only bid) and is working; /slow bids now, too late.
    slowBid.open({ cost: 1 });
    await settle(system);
    await vi.advanceTimersByTimeAsync(1_000);
    const outcome = await pending;
    expect(outcome.late).toEqual([expect.objectContaining({ participant: '/slow', proposal: { cost: 1 } })]);
    expect(fateOf(outcome)['/slow']).toBe('late');
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/quick', kind: 'timeout' })]);
    await settle(system);
    expect(performatives(log)).toEqual(['cfp', 'accept-proposal', 'cancel']);
  });

  it('reports a winner that answers failure, or no result before the result deadline', async () => {
    fakeTime();
    const failing: AclMessage[] = [];
    const mute: AclMessage[] = [];
    const system = await start([scriptedChild('failing', failing, { cost: 1, accept: 'failure' }), scriptedChild('mute', mute, { cost: 1, accept: 'silent' })]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/failing', '/mute'], evaluate: (bids) => bids, resultTimeoutMs: 2_000 });
    await settle(system);
    await vi.advanceTimersByTimeAsync(2_000);
    const outcome = await pending;
    expect(outcome.failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ participant: '/failing', kind: 'failure', detail: 'the tool broke' }),
        expect.objectContaining({ participant: '/mute', kind: 'timeout' }),
      ]),
    );
    expect(fateOf(outcome)).toEqual({ '/failing': 'failed', '/mute': 'failed' });
    expect(outcome.results).toEqual([]);
  });

  it('treats unknown participants as unreachable and invalid proposals and results as not-understood', async () => {
    const bad: AclMessage[] = [];
    const liar: AclMessage[] = [];
    const system = await start([scriptedChild('bad', bad, { cfp: 'bad-proposal' }), scriptedChild('liar', liar, { cost: 1, accept: 'bad-result' })]);
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/nobody', '/bad', '/liar'], evaluate: cheapest });
    expect(fateOf(outcome)).toEqual({ '/nobody': 'unreachable', '/bad': 'not-understood', '/liar': 'failed' });
    expect(outcome.unreachable).toEqual([expect.objectContaining({ participant: '/nobody', reason: 'no-such-agent' })]);
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/liar', kind: 'invalid-result' })]);
    await settle(system);
    expect(bad.at(-1)).toMatchObject({ performative: 'not-understood', content: { reason: 'invalid-content' } });
    expect(liar.at(-1)).toMatchObject({ performative: 'not-understood', content: { reason: 'invalid-content' } });
  });
});

describe('contract net: out-of-sequence messages', () => {
  it('answers an inform from a non-winner with not-understood, changes nothing and reports it', async () => {
    const loser: AclMessage[] = [];
    const release = latch();
    const system = await start([
      scriptedChild('loser', loser, { cost: 9, informOnReject: true }),
      { id: 'winner', agent: contractor({ ontology: jobs, bid: () => ({ cost: 1 }), perform: async () => (await release.promise, { done: 7 }) }) },
    ]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/loser', '/winner'], evaluate: cheapest });
    await settle(system);
    release.open();
    const outcome = await pending;
    expect(outcome.outOfSequence).toEqual([expect.objectContaining({ sender: '/loser', performative: 'inform' })]);
    expect(outcome.results).toEqual([expect.objectContaining({ participant: '/winner', result: { done: 7 } })]);
    expect(fateOf(outcome)).toEqual({ '/loser': 'rejected', '/winner': 'completed' });
    await settle(system);
    expect(loser.at(-1)).toMatchObject({ performative: 'not-understood', content: { reason: 'out-of-sequence' } });
  });

  it('answers a proposal to a finished conversation with not-understood and records it', async () => {
    fakeTime();
    const slowBid = latch<{ cost: number }>();
    const system = await start([
      { id: 'fast', agent: contractor({ ontology: jobs, bid: () => ({ cost: 2 }), perform: () => ({ done: 1 }) }) },
      { id: 'slow', agent: contractor({ ontology: jobs, bid: () => slowBid.promise, perform: () => ({ done: 1 }) }) },
    ]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/fast', '/slow'], evaluate: cheapest, replyByMs: 100 });
    await settle(system);
    await vi.advanceTimersByTimeAsync(100);
    const outcome = await pending;
    expect(fateOf(outcome)).toEqual({ '/fast': 'completed', '/slow': 'silent' });
    const letters: { reason: string; message: AclMessage }[] = [];
    system.deadLetters.subscribe((letter) => letters.push(letter));
    slowBid.open({ cost: 1 });
    await settle(system);
    // The proposal reached a conversation that had ended: recorded, and answered not-understood
    // (which the contractor, having nothing open, records as unhandled).
    expect(letters).toEqual([
      expect.objectContaining({ reason: 'no-waiting-request', message: expect.objectContaining({ performative: 'propose', sender: '/slow' }) }),
      expect.objectContaining({ reason: 'unhandled', message: expect.objectContaining({ performative: 'not-understood', receiver: '/slow', content: expect.objectContaining({ reason: 'conversation-ended' }) }) }),
    ]);
    expect(system.lookup('/slow')?.restarts).toBe(0);
  });
});

describe('contract net: a winner that crashes, hangs or stops (seen through supervision)', () => {
  const crashing = (cost: number) =>
    contractor({
      ontology: jobs,
      bid: () => ({ cost }),
      perform: () => {
        throw new Error('disk on fire');
      },
    });
  const working = (cost: number) => contractor({ ontology: jobs, bid: () => ({ cost }), perform: (task, proposal) => ({ done: task.size * proposal.cost }) });

  it('without reaward: the crash is reported at once (not at the deadline) and nobody else gets the task', async () => {
    const system = await start([
      { id: 'crashy', agent: crashing(1) },
      { id: 'steady', agent: working(2) },
    ]);
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 3 }, participants: ['/crashy', '/steady'], evaluate: cheapest, resultTimeoutMs: 3_600_000 });
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/crashy', kind: 'crashed', reawardedTo: undefined })]);
    expect(outcome.results).toEqual([]);
    expect(fateOf(outcome)).toEqual({ '/crashy': 'failed', '/steady': 'rejected' });
    expect(system.lookup('/crashy')?.restarts).toBe(1); // its supervisor restarted it
  });

  it('with reaward: the task goes to the next-best proposal, and the result says whom it replaced', async () => {
    const system = await start([
      { id: 'crashy', agent: crashing(1) },
      { id: 'steady', agent: working(2) },
      { id: 'dear', agent: working(5) },
    ]);
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 3 }, participants: ['/crashy', '/steady', '/dear'], evaluate: byCost, reaward: true, resultTimeoutMs: 3_600_000 });
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/crashy', kind: 'crashed', reawardedTo: '/steady' })]);
    expect(outcome.results).toEqual([{ participant: '/steady', proposal: { cost: 2 }, result: { done: 6 }, replacing: '/crashy' }]);
    expect(outcome.winners.map((bid) => bid.participant)).toEqual(['/crashy', '/steady']);
    expect(fateOf(outcome)).toEqual({ '/crashy': 'failed', '/steady': 'completed', '/dear': 'rejected' });
  });

  it('with reaward: a hung winner found by its heartbeat is replaced', async () => {
    fakeTime();
    const hung: AclMessage[] = [];
    const system = await start([scriptedChild('hung', hung, { cost: 1, accept: 'hang' }, { heartbeat: { everyMs: 50, timeoutMs: 200 } }), { id: 'steady', agent: working(2) }]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/hung', '/steady'], evaluate: byCost, reaward: true, resultTimeoutMs: 3_600_000 });
    await settle(system);
    await vi.advanceTimersByTimeAsync(400);
    await settle(system);
    const outcome = await pending;
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/hung', kind: 'hung', reawardedTo: '/steady' })]);
    expect(outcome.results.map((entry) => entry.participant)).toEqual(['/steady']);
  });

  it('a contractor whose perform is stuck is found hung by its heartbeat (busy while working) and replaced', async () => {
    fakeTime();
    const stuck = contractor({ ontology: jobs, bid: () => ({ cost: 1 }), perform: () => new Promise<never>(() => undefined), heartbeat: { everyMs: 50, timeoutMs: 200 } });
    const system = await start([
      { id: 'stuck', agent: stuck },
      { id: 'steady', agent: working(2) },
    ]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/stuck', '/steady'], evaluate: byCost, reaward: true, resultTimeoutMs: 3_600_000 });
    await settle(system);
    expect(system.snapshot('/stuck')).toMatchObject({ value: 'working' });
    await vi.advanceTimersByTimeAsync(400);
    await settle(system);
    const outcome = await pending;
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/stuck', kind: 'hung', reawardedTo: '/steady' })]);
    expect(outcome.results.map((entry) => entry.participant)).toEqual(['/steady']);
    expect(system.snapshot('/steady')).toMatchObject({ value: 'idle' });
  });

  it('with reaward: a winner stopped for good is replaced', async () => {
    const parked = latch();
    let aborted = false;
    const system = await start([
      // 'brutal': a graceful stop would let the busy contractor finish its task first.
      {
        id: 'quitter',
        shutdownMs: 'brutal',
        agent: contractor({ ontology: jobs, bid: () => ({ cost: 1 }), perform: async (_task, _proposal, { signal }) => (signal.addEventListener('abort', () => (aborted = true)), await parked.promise, { done: 1 }) }),
      },
      { id: 'steady', agent: working(2) },
    ]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/quitter', '/steady'], evaluate: byCost, reaward: true, resultTimeoutMs: 3_600_000 });
    await settle(system);
    await system.terminateChild('/', 'quitter');
    const outcome = await pending;
    expect(aborted).toBe(true); // its work was aborted when the agent stopped
    parked.open();
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/quitter', kind: 'stopped', reawardedTo: '/steady' })]);
    expect(outcome.results.map((entry) => entry.participant)).toEqual(['/steady']);
  });

  it('a graceful stop of a working contractor lets it deliver first (busy while working)', async () => {
    const parked = latch();
    const working = latch();
    const system = await start([{ id: 'finisher', agent: contractor({ ontology: jobs, bid: () => ({ cost: 1 }), perform: async () => (working.open(), await parked.promise, { done: 9 }) }) }]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/finisher'], evaluate: cheapest });
    await working.promise;
    const stopped = system.terminateChild('/', 'finisher');
    parked.open();
    const outcome = await pending;
    await stopped;
    expect(outcome.results).toEqual([expect.objectContaining({ participant: '/finisher', result: { done: 9 } })]);
    expect(system.whichChildren('/').find((child) => child.id === 'finisher')?.status).toBe('stopped');
  });

  it('with reaward: a reserve bidder that has stopped since it bid is passed over for the next', async () => {
    const system = await start([
      { id: 'crashy', agent: crashing(1) },
      { id: 'gone', agent: working(2), restart: 'temporary' },
      { id: 'steady', agent: working(3) },
    ]);
    const outcome = await contractNet(system, {
      ontology: jobs,
      task: { size: 1 },
      participants: ['/crashy', '/gone', '/steady'],
      reaward: true,
      resultTimeoutMs: 3_600_000,
      evaluate: async (bids) => {
        await system.terminateChild('/', 'gone'); // stops for good while in reserve
        return byCost(bids);
      },
    });
    expect(outcome.failures).toEqual([
      expect.objectContaining({ participant: '/crashy', kind: 'crashed', reawardedTo: '/gone' }),
      expect.objectContaining({ participant: '/gone', kind: 'stopped', reawardedTo: '/steady' }),
    ]);
    expect(outcome.results).toEqual([expect.objectContaining({ participant: '/steady', replacing: '/gone' })]);
    expect(fateOf(outcome)).toEqual({ '/crashy': 'failed', '/gone': 'failed', '/steady': 'completed' });
  });

  it('a winner that answers the award not-understood has failed at once (no wait for the deadline) and is replaced', async () => {
    const confused: AclMessage[] = [];
    const system = await start([scriptedChild('confused', confused, { cost: 1, accept: 'not-understood' }), { id: 'steady', agent: working(2) }]);
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/confused', '/steady'], evaluate: byCost, reaward: true, resultTimeoutMs: 3_600_000 });
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/confused', kind: 'failure', detail: expect.stringContaining('not-understood'), reawardedTo: '/steady' })]);
    expect(outcome.results.map((entry) => entry.participant)).toEqual(['/steady']);
    expect(outcome.outOfSequence).toEqual([]);
  });

  it('with reaward and nobody in reserve: the failure is reported and the outcome ends', async () => {
    const system = await start([{ id: 'crashy', agent: crashing(1) }]);
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/crashy'], evaluate: byCost, reaward: true });
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/crashy', kind: 'crashed', reawardedTo: undefined })]);
  });

  it('a contractor answers failure for a TaskFailure and keeps running', async () => {
    const system = await start([
      {
        id: 'picky',
        agent: contractor({
          ontology: jobs,
          bid: () => ({ cost: 1 }),
          perform: () => {
            throw new TaskFailure('out-of-stock', 'no more bolts');
          },
        }),
      },
    ]);
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/picky'], evaluate: cheapest });
    expect(outcome.failures).toEqual([expect.objectContaining({ participant: '/picky', kind: 'failure', detail: 'no more bolts' })]);
    expect(system.lookup('/picky')?.restarts).toBe(0);
  });
});

describe('contract net: iterated rounds, cancelling, bad decisions', () => {
  it('runs a new round with a revised task for some bidders (FIPA iterated contract net)', async () => {
    const bids: number[] = [];
    const pricing = (base: number) => contractor({ ontology: jobs, bid: (task) => (bids.push(task.size), { cost: base * task.size }), perform: (task) => ({ done: task.size }) });
    const system = await start([
      { id: 'a', agent: pricing(3) },
      { id: 'b', agent: pricing(2) },
      { id: 'c', agent: pricing(4) },
    ]);
    const outcome = await contractNet(system, {
      ontology: jobs,
      task: { size: 10 },
      participants: ['/a', '/b', '/c'],
      evaluate: (round, { round: n }) => (n === 1 ? { nextRound: { task: { size: 5 }, participants: ['/a', '/b'] } } : cheapest(round)),
    });
    expect(outcome.rounds).toBe(2);
    expect(outcome.task).toEqual({ size: 5 });
    expect(bids.sort()).toEqual([10, 10, 10, 5, 5].sort());
    expect(fateOf(outcome)).toEqual({ '/a': 'rejected', '/b': 'completed', '/c': 'rejected' });
    expect(outcome.results).toEqual([expect.objectContaining({ participant: '/b', proposal: { cost: 10 }, result: { done: 5 } })]);
    expect(outcome.timings.biddingClosedAt).toHaveLength(2);
  });

  it('a proposal for round 1 that arrives during round 2 is rejected as late, not misunderstood', async () => {
    fakeTime();
    const slowBid = latch<{ cost: number }>();
    const system = await start([
      { id: 'slow', agent: contractor({ ontology: jobs, bid: () => slowBid.promise, perform: () => ({ done: 1 }) }) },
      scriptedChild('quick', [], { cost: 5 }),
    ]);
    const secondRound = latch();
    const pending = contractNet(system, {
      ontology: jobs,
      task: { size: 1 },
      participants: ['/slow', '/quick'],
      replyByMs: 100,
      evaluate: async (bids, { round }) => {
        if (round === 1) return { nextRound: { task: { size: 2 } } };
        secondRound.open();
        await slowBid.promise.then(() => settle(system)); // the late round-1 bid lands while round 2 is evaluated
        return cheapest(bids);
      },
    });
    await settle(system);
    await vi.advanceTimersByTimeAsync(100);
    await settle(system);
    await secondRound.promise;
    slowBid.open({ cost: 1 });
    const outcome = await pending;
    expect(outcome.rounds).toBe(2);
    expect(outcome.late).toEqual([expect.objectContaining({ participant: '/slow', round: 1, proposal: { cost: 1 } })]);
    expect(outcome.outOfSequence).toEqual([]);
    expect(fateOf(outcome)).toEqual({ '/slow': 'late', '/quick': 'completed' });
  });

  it('stops after maxRounds with ContractNetError and rejects the open proposals', async () => {
    const log: AclMessage[] = [];
    const system = await start([scriptedChild('a', log, { cost: 1 })]);
    const failed = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/a'], evaluate: () => ({ nextRound: { task: { size: 1 } } }), maxRounds: 2 });
    await expect(failed).rejects.toMatchObject({ name: 'ContractNetError', code: 'too-many-rounds' });
    await settle(system);
    expect(performatives(log)).toEqual(['cfp', 'cfp', 'reject-proposal']);
    expect(log[2]?.content).toMatchObject({ reason: 'cancelled' });
  });

  it('a throwing evaluation rejects with ContractNetError and every bidder hears reject-proposal (cancelled)', async () => {
    const log: AclMessage[] = [];
    const system = await start([scriptedChild('a', log, { cost: 1 })]);
    const failed = contractNet(system, {
      ontology: jobs,
      task: { size: 1 },
      participants: ['/a'],
      evaluate: () => {
        throw new Error('no budget');
      },
    });
    await expect(failed).rejects.toBeInstanceOf(ContractNetError);
    await expect(failed).rejects.toMatchObject({ code: 'evaluation-failed', message: expect.stringContaining('no budget') });
    await settle(system);
    expect(log.at(-1)).toMatchObject({ performative: 'reject-proposal', content: { reason: 'cancelled' } });
  });

  it('an evaluation that accepts a bid it was not given is an invalid decision', async () => {
    const system = await start([scriptedChild('a', [], { cost: 1 })]);
    const failed = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/a'], evaluate: () => [{ participant: '/z', proposal: { cost: 0 }, round: 1, at: 0 }] });
    await expect(failed).rejects.toMatchObject({ code: 'invalid-decision' });
  });

  it('aborting the signal cancels: the winner gets cancel, its work is aborted, the outcome says cancelled', async () => {
    const aborted = latch<string>();
    const system = await start([
      {
        id: 'worker',
        agent: contractor({
          ontology: jobs,
          bid: () => ({ cost: 1 }),
          perform: (_task, _proposal, { signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => (aborted.open('aborted'), reject(signal.reason)))),
        }),
      },
    ]);
    const controller = new AbortController();
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/worker'], evaluate: cheapest, signal: controller.signal });
    await settle(system);
    controller.abort();
    const outcome = await pending;
    expect(outcome.cancelled).toBe(true);
    expect(fateOf(outcome)).toEqual({ '/worker': 'cancelled' });
    await expect(aborted.promise).resolves.toBe('aborted');
    expect(system.lookup('/worker')?.restarts).toBe(0);
    // The cancel withdrew the award: the worker owes no answer, so stopping it answers nothing.
    const letters: string[] = [];
    system.deadLetters.subscribe((letter) => letters.push(`${letter.reason}:${letter.message.performative}:${letter.message.sender}`));
    await system.terminateChild('/', 'worker');
    await settle(system);
    expect(letters).toEqual([]);
  });

  it('cancelling while bidding is open tells the called participants (cancel) and aborts their bids', async () => {
    const bidding = latch();
    const quietLog: AclMessage[] = [];
    const system = await start([
      {
        id: 'slow',
        agent: contractor({ ontology: jobs, bid: () => (bidding.open(), new Promise<{ cost: number }>(() => undefined)), perform: () => ({ done: 1 }) }),
      },
      scriptedChild('quiet', quietLog, { cfp: 'silent' }),
    ]);
    const controller = new AbortController();
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/slow', '/quiet'], evaluate: cheapest, signal: controller.signal, conversationId: 'c-1' });
    await bidding.promise;
    await settle(system);
    expect((system.snapshot('/slow') as { children: Record<string, unknown> }).children).toHaveProperty('bid:c-1');
    controller.abort();
    const outcome = await pending;
    await settle(system);
    expect(outcome.cancelled).toBe(true);
    expect(fateOf(outcome)).toEqual({ '/slow': 'cancelled', '/quiet': 'cancelled' });
    expect(outcome.timings.biddingClosedAt).toEqual([]);
    expect(performatives(quietLog)).toEqual(['cfp', 'cancel']);
    expect((system.snapshot('/slow') as { children: Record<string, unknown> }).children).not.toHaveProperty('bid:c-1'); // its bid was stopped
  });

  it('an already aborted signal sends nothing and rejects with its reason, as a request does', async () => {
    const log: AclMessage[] = [];
    const system = await start([scriptedChild('a', log, { cost: 1 })]);
    const controller = new AbortController();
    controller.abort(new Error('not today'));
    await expect(contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/a'], evaluate: cheapest, signal: controller.signal })).rejects.toThrow('not today');
    await settle(system);
    expect(log).toEqual([]);
  });

  it('rejects bad options with ConfigurationError', async () => {
    const system = await start([]);
    const base = { ontology: jobs, task: { size: 1 }, participants: ['/a'], evaluate: cheapest };
    await expect(contractNet(system, { ...base, task: { size: 'big' } as unknown as { size: number } })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(contractNet(system, { ...base, participants: ['/a', '/a'] })).rejects.toMatchObject({ code: 'invalid-contract-net' });
    await expect(contractNet(system, { ...base, participants: ['no-slash'] })).rejects.toMatchObject({ code: 'invalid-path' });
    await expect(contractNet(system, { ...base, replyByMs: -1 })).rejects.toMatchObject({ code: 'invalid-contract-net' });
    await expect(contractNet(system, { ...base, evaluate: undefined as unknown as typeof cheapest })).rejects.toMatchObject({ code: 'invalid-contract-net' });
    await expect(contractNet(system, { ...base, ontology: undefined as never })).rejects.toMatchObject({ code: 'invalid-contract-net' });
  });

  it('types flow from the ontology into the evaluation, the contractor and the outcome', async () => {
    const system = await start([{ id: 'a', agent: contractor({ ontology: jobs, bid: (task) => (expectTypeOf(task).toEqualTypeOf<{ size: number }>(), { cost: task.size }), perform: (task) => ({ done: task.size }) }) }]);
    const outcome = await contractNet(system, {
      ontology: jobs,
      task: { size: 4 },
      participants: ['/a'],
      evaluate: (bids, { task }) => {
        expectTypeOf(bids[0]!.proposal).toEqualTypeOf<{ cost: number }>();
        expectTypeOf(task).toEqualTypeOf<{ size: number }>();
        return bids;
      },
    });
    expectTypeOf(outcome.results[0]!.result).toEqualTypeOf<{ done: number }>();
    expect(outcome.results[0]?.result).toEqual({ done: 4 });
  });

  it('contractNetOntology rejects what is not a name and three zod schemas', () => {
    expect(() => contractNetOntology({ name: '', task: jobs.task, proposal: jobs.proposal, result: jobs.result })).toThrow(expect.objectContaining({ code: 'invalid-ontology' }));
    expect(() => contractNetOntology({ name: 'x', task: jobs.task, proposal: {} as never, result: jobs.result })).toThrow(/proposal/);
  });

  it('with no participants, evaluates nothing and ends', async () => {
    const system = await start([]);
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: [], evaluate: cheapest });
    expect(outcome.participants).toEqual([]);
    expect(outcome.winners).toEqual([]);
  });

  it('a contractor refuses through refuse(reason) with its load in view', async () => {
    const loads: number[] = [];
    const system = await start([{ id: 'full', agent: contractor({ ontology: jobs, bid: (_task, { load }) => (loads.push(load.performing), refuse('at capacity')), perform: () => ({ done: 0 }) }) }]);
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/full'], evaluate: cheapest });
    expect(outcome.refusals).toEqual([{ participant: '/full', reason: 'at capacity', round: 1 }]);
    expect(loads).toEqual([0]);
  });
});
