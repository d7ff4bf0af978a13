import { assign, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  contractNetInitiator,
  contractor,
  createSystem,
  defineAgent,
  FailureError,
  manager,
  reply,
  supervisor,
  type AclMessage,
  type Bid,
  type ChildSpec,
  type ContractNetOutcome,
  type System,
} from '../../src/index.js';
import { latch } from '../support/latch.js';
import { jobs } from '../protocols/participants.js';
import { stoppedAfterEach } from '../support/systems.js';

type Outcome = ContractNetOutcome<{ size: number }, { cost: number }, { done: number }>;

const track = stoppedAfterEach();
async function start(children: ChildSpec[]): Promise<System> {
  const system = await createSystem({ root: supervisor({ children }) });
  track(system);
  return system;
}

const cheapest = (bids: readonly Bid<{ cost: number }>[]) => [...bids].sort((a, b) => a.proposal.cost - b.proposal.cost).slice(0, 1);
const bidder = (cost: number) => contractor({ ontology: jobs, bid: (task) => ({ cost: cost * task.size }), perform: (task) => ({ done: task.size }) });

describe('manager agent (the initiator role inside an agent)', () => {
  it('runs a contract net per request, several at once, and answers each with its outcome', async () => {
    const system = await start([
      { id: 'a', agent: bidder(2) },
      { id: 'b', agent: bidder(1) },
      { id: 'boss', agent: manager({ ontology: jobs, participants: ['/a', '/b'], evaluate: cheapest }) },
    ]);
    const answers = await Promise.all([1, 2, 3].map((size) => system.request<Outcome>('/boss', { size })));
    for (const [i, answer] of answers.entries()) {
      expect(answer.performative).toBe('inform');
      expect(answer.content.results).toEqual([expect.objectContaining({ participant: '/b', result: { done: i + 1 } })]);
      expect(answer.content.participants.map((entry) => entry.fate)).toEqual(['rejected', 'completed']);
    }
    // Each request had its own conversation.
    expect(new Set(answers.map((answer) => answer.content.conversationId)).size).toBe(3);
  });

  it('answers failure when the contract net fails, and a bad task not-understood', async () => {
    const system = await start([
      { id: 'a', agent: bidder(1) },
      {
        id: 'boss',
        agent: manager({
          ontology: jobs,
          participants: ['/a'],
          evaluate: () => {
            throw new Error('over budget');
          },
        }),
      },
    ]);
    await expect(system.request('/boss', { size: 1 })).rejects.toBeInstanceOf(FailureError);
    await expect(system.request('/boss', { size: 1 })).rejects.toMatchObject({ reason: 'evaluation-failed' });
    await expect(system.request('/boss', { size: 'x' })).rejects.toMatchObject({ code: 'not-understood' });
  });

  it('invoked in a state of any agent; leaving the state cancels it and the winner gets cancel', async () => {
    const aborted = latch<string>();
    const working = latch();
    const slow = contractor({
      ontology: jobs,
      bid: () => ({ cost: 1 }),
      perform: (_task, _proposal, { signal }) => {
        working.open();
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => (aborted.open('aborted'), reject(signal.reason))));
      },
    });
    const outcomes: Outcome[] = [];
    const host = defineAgent({
      name: 'host',
      machine: setup({ types: { events: {} as AclMessage, context: {} as { request: AclMessage | undefined } }, actors: { cnet: contractNetInitiator(jobs) } }).createMachine({
        context: { request: undefined },
        initial: 'idle',
        states: {
          idle: { on: { request: { target: 'allocating', actions: assign({ request: ({ event }) => event }) } } },
          allocating: {
            invoke: {
              src: 'cnet',
              input: { task: { size: 1 }, participants: ['/slow'], evaluate: cheapest },
              onDone: { target: 'idle', actions: [({ event }) => outcomes.push(event.output), reply('inform', ({ event }) => event.output, { to: ({ context }) => context.request as AclMessage })] },
            },
            on: { cancel: { target: 'idle', actions: reply('inform', { cancelled: true }, { to: ({ context }) => context.request as AclMessage }) } },
          },
        },
      }),
    });
    const system = await start([
      { id: 'slow', agent: slow },
      { id: 'host', agent: host },
    ]);
    const pending = system.request('/host', {});
    await working.promise;
    await system.tell('/host', 'cancel');
    await expect(pending).resolves.toMatchObject({ content: { cancelled: true } });
    await expect(aborted.promise).resolves.toBe('aborted');
    expect(outcomes).toEqual([]);
    expect(system.lookup('/slow')?.restarts).toBe(0);
  });
});

describe('ready-made contract-net roles: bad options', () => {
  it('contractor and manager throw ConfigurationError (invalid-agent) for missing pieces', () => {
    expect(() => contractor({ ontology: jobs, bid: undefined as never, perform: () => ({ done: 1 }) })).toThrow(expect.objectContaining({ code: 'invalid-agent', message: expect.stringContaining('bid') }));
    expect(() => contractor({ ontology: {} as never, bid: () => ({ cost: 1 }), perform: () => ({ done: 1 }) })).toThrow(/contractNetOntology/);
    expect(() => manager({ ontology: jobs, participants: [], evaluate: 'cheapest' as never })).toThrow(expect.objectContaining({ code: 'invalid-agent' }));
  });
});
