/**
 * A conversation port's address, its reply tags and conversation ids are no secret: any agent
 * that saw one message of a conversation can write to it. Each protocol must take only what
 * comes from the party it expects.
 */
import { setup } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import {
  contractNet,
  contractor,
  createSystem,
  defineAgent,
  reply,
  subscribe,
  supervisor,
  tell,
  type AclMessage,
  type ChildSpec,
  type System,
} from '../../src/index.js';
import { latch } from '../support/latch.js';
import { jobs } from './participants.js';
import { stoppedAfterEach } from '../support/systems.js';

const track = stoppedAfterEach();
async function start(children: ChildSpec[]): Promise<System> {
  const system = await createSystem({ root: supervisor({ children }) });
  track(system);
  return system;
}

interface Leak {
  readonly port: string;
  readonly tag: string;
  readonly conversationId: string;
}

/** Tells /intruder where the conversation of every message it gets answers to, and answers nothing itself. */
const leaky = (also?: (event: AclMessage) => void) =>
  defineAgent({
    name: 'leaky',
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      on: {
        '*': {
          actions: [
            ({ event }) => also?.(event),
            tell('/intruder', 'inform', ({ event }) => ({ port: event.replyTo ?? event.sender, tag: event.replyWith ?? '', conversationId: event.conversationId })),
          ],
        },
      },
    }),
  });

/** Writes `performative` with `content` into whatever conversation it is told about, as itself. */
const intruder = (performative: AclMessage['performative'], content: object, sent: () => void, answered?: (answer: AclMessage) => void) =>
  defineAgent({
    name: 'intruder',
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      on: {
        '*': { actions: ({ event }) => answered?.(event) },
        inform: {
          actions: [
            tell(
              ({ event }) => (event.content as Leak).port,
              performative,
              content,
              ({ event }) => ({ conversationId: (event.content as Leak).conversationId, inReplyTo: (event.content as Leak).tag }),
            ),
            () => sent(),
          ],
        },
      },
    }),
  });

describe('conversation ports take only what the expected sender says', () => {
  it('a contract net ignores a directory answer that does not come from the directory', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const evil: AclMessage[] = [];
    const injected = latch();
    const system = await start([
      { id: 'df', agent: leaky() },
      { id: 'intruder', agent: intruder('inform-ref', [{ agent: '/evil', service: { name: 'haul' } }], () => injected.open()) },
      { id: 'evil', agent: leaky((event) => evil.push(event)) },
    ]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: { service: 'haul' }, evaluate: () => [], replyByMs: 300 });
    const failed = expect(pending).rejects.toMatchObject({ code: 'discovery-failed', message: expect.stringContaining('did not answer') });
    await injected.promise;
    await vi.advanceTimersByTimeAsync(300);
    await failed;
    expect(evil).toEqual([]); // no cfp went to the agent the intruder listed
  });

  it('a subscription ignores an inform that does not come from its publisher', async () => {
    const injected = latch();
    const system = await start([
      {
        id: 'publisher',
        agent: defineAgent({
          name: 'publisher',
          machine: setup({ types: { events: {} as AclMessage } }).createMachine({
            on: { subscribe: { actions: [reply('agree', undefined), tell('/intruder', 'inform', ({ event }) => ({ port: event.replyTo ?? '', tag: event.replyWith ?? '', conversationId: event.conversationId }))] } },
          }),
        }),
      },
      { id: 'intruder', agent: intruder('inform', { price: 0 }, () => injected.open()) },
    ]);
    const seen: unknown[] = [];
    const warn = vi.spyOn(system.logger, 'warn').mockImplementation(() => undefined);
    const subscription = await subscribe(system, '/publisher', { topic: 'prices' }, { onInform: (content) => seen.push(content) });
    await injected.promise;
    await system.whenIdle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([]);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ sender: '/intruder' }), expect.stringContaining('does not come from its publisher'));
    expect(subscription.active).toBe(true);
    subscription.cancel();
  });

  it('a contractor takes cancel and accept-proposal only from the initiator of the conversation', async () => {
    const working = latch();
    const finish = latch();
    let aborted = false;
    const injected = latch();
    const system = await start([
      {
        id: 'worker',
        agent: contractor({
          ontology: jobs,
          bid: () => ({ cost: 1 }),
          perform: async (_task, _proposal, { signal }) => {
            signal.addEventListener('abort', () => (aborted = true));
            working.open();
            await finish.promise;
            return { done: 7 };
          },
        }),
      },
      { id: 'intruder', agent: intruder('cancel', { reason: 'sabotage' }, () => injected.open()) },
    ]);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: ['/worker'], evaluate: (bids) => bids, conversationId: 'job-1' });
    await working.promise;
    await system.tell('/intruder', 'inform', { port: '/worker', tag: '', conversationId: 'job-1' });
    await injected.promise;
    await system.whenIdle();
    expect(aborted).toBe(false);
    finish.open();
    const outcome = await pending;
    expect(outcome.results).toEqual([expect.objectContaining({ participant: '/worker', result: { done: 7 } })]);
  });

  it('a contractor answers a cfp of another initiator for a conversation it holds not-understood', async () => {
    const answer = latch<AclMessage>();
    const system = await start([
      { id: 'worker', agent: contractor({ ontology: jobs, bid: (task) => ({ cost: task.size }), perform: (task) => ({ done: task.size }) }) },
      { id: 'intruder', agent: intruder('cfp', { task: { size: 99 }, round: 1 }, () => undefined, (message) => answer.open(message)) },
    ]);
    const outcome = await contractNet(system, {
      ontology: jobs,
      task: { size: 1 },
      participants: ['/worker'],
      conversationId: 'job-2',
      evaluate: async (bids) => {
        // While the proposal is open, another agent sends a cfp in the same conversation.
        await system.tell('/intruder', 'inform', { port: '/worker', tag: '', conversationId: 'job-2' });
        const got = await answer.promise;
        expect([got.performative, (got.content as { reason?: string }).reason]).toEqual(['not-understood', 'out-of-sequence']);
        return bids;
      },
    });
    expect(outcome.results).toEqual([expect.objectContaining({ participant: '/worker', result: { done: 1 } })]);
  });
});

describe('out of sequence, even from the right sender', () => {
  it('a contractor answers a second cfp for a task it is performing not-understood, and still delivers the task', async () => {
    const working = latch();
    const finish = latch();
    const system = await start([
      { id: 'worker', agent: contractor({ ontology: jobs, bid: () => ({ cost: 1 }), perform: async () => (working.open(), await finish.promise, { done: 3 }) }) },
    ]);
    const cfp = { task: { size: 1 }, round: 1 };
    const proposal = await system.request('/worker', cfp, { performative: 'cfp', options: { conversationId: 'own' } });
    expect(proposal.performative).toBe('propose');
    const result = system.request('/worker', { task: { size: 1 }, proposal: proposal.content }, { performative: 'accept-proposal', options: { conversationId: 'own' } });
    await working.promise;
    await expect(system.request('/worker', cfp, { performative: 'cfp', options: { conversationId: 'own' } })).rejects.toMatchObject({ name: 'NotUnderstoodError' });
    finish.open();
    await expect(result).resolves.toMatchObject({ performative: 'inform', content: { done: 3 } });
  });
});
