/**
 * parallel(): every answer, failure and timeout comes back as data; `first` and `quorum`
 * settle early and withdraw the rest; the invoked form works inside an agent's machine.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { ConfigurationError, defineAgent, fanOut, lastText, llmAgent, parallel, parallelAsk, reply, type AclMessage, type ParallelResult } from '../../src/index.js';
import { offline, startSystem } from './helpers.js';

const informer = (text: string) =>
  defineAgent({ name: text, machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: reply('inform', () => text) } } }) });

const failing = defineAgent({
  name: 'failing',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: reply('failure', () => ({ reason: 'no-data', detail: 'nothing found' })) } } }),
});

/** Takes requests and never answers them. */
const silent = defineAgent({ name: 'silent', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { request: { actions: () => undefined } } }) });

function statuses(result: ParallelResult): string[] {
  return result.outcomes.map((outcome) => outcome.status);
}

describe('parallel', () => {
  it("settle 'all' keeps every answer, failure and timeout as data, in request order", async () => {
    const system = await startSystem([
      { id: 'a', agent: informer('alpha') },
      { id: 'f', agent: failing },
      { id: 's', agent: silent },
    ]);
    const result = await parallel(system, [{ to: '/a' }, { to: '/f' }, { to: '/s' }, { to: '/nobody' }], { deadlineMs: 100 });
    expect(statuses(result)).toEqual(['inform', 'failure', 'timeout', 'failure']);
    expect(result.informs.map((message) => message.content)).toEqual(['alpha']);
    expect(result.outcomes[1]).toMatchObject({ status: 'failure', performative: 'failure', reason: 'no-data' });
    expect(result.outcomes[3]).toMatchObject({ status: 'failure', reason: 'no-such-agent' });
    expect(result.satisfied).toBe(false);
  });

  it("settle 'first' returns at the first inform and withdraws the rest", async () => {
    const system = await startSystem([
      { id: 's1', agent: silent },
      { id: 'b', agent: informer('beta') },
      { id: 's2', agent: silent },
    ]);
    const result = await parallel(system, [{ to: '/s1' }, { to: '/b' }, { to: '/s2' }], { deadlineMs: 60_000, settle: 'first' });
    expect(statuses(result)).toEqual(['cancelled', 'inform', 'cancelled']);
    expect(result.satisfied).toBe(true);
  });

  it("settle 'quorum' returns once enough informs arrived, or as soon as the quorum cannot be reached", async () => {
    const system = await startSystem([
      { id: 'a', agent: informer('alpha') },
      { id: 'b', agent: informer('beta') },
      { id: 's', agent: silent },
      { id: 'f1', agent: failing },
      { id: 'f2', agent: failing },
    ]);
    const reached = await parallel(system, [{ to: '/a' }, { to: '/s' }, { to: '/b' }], { deadlineMs: 60_000, settle: 'quorum' });
    expect(statuses(reached)).toEqual(['inform', 'cancelled', 'inform']);
    expect(reached.satisfied).toBe(true);
    const impossible = await parallel(system, [{ to: '/f1' }, { to: '/f2' }, { to: '/s' }], { deadlineMs: 60_000, settle: 'quorum', quorum: 2 });
    expect(statuses(impossible)).toEqual(['failure', 'failure', 'cancelled']);
    expect(impossible.satisfied).toBe(false);
  });

  it('works as invoked logic inside an agent', async () => {
    const coordinator = defineAgent({
      name: 'coordinator',
      machine: setup({ types: { context: {} as { request: AclMessage | undefined }, events: {} as AclMessage }, actors: { parallel: parallelAsk } }).createMachine({
        context: { request: undefined },
        initial: 'idle',
        states: {
          idle: { on: { request: { target: 'fanning', actions: assign({ request: ({ event }) => event }) } } },
          fanning: {
            tags: ['busy'],
            invoke: {
              src: 'parallel',
              input: { requests: [{ to: '/a' }, { to: '/f' }, { to: '/b' }], deadlineMs: 5_000 },
              onDone: {
                target: 'idle',
                actions: reply('inform', ({ event }) => (event as unknown as { output: ParallelResult }).output.outcomes.map((outcome) => (outcome.status === 'inform' ? outcome.message.content : outcome.status)), { to: ({ context }) => context.request as AclMessage }),
              },
            },
          },
        },
      }),
    });
    const system = await startSystem([
      { id: 'a', agent: informer('alpha') },
      { id: 'b', agent: informer('beta') },
      { id: 'f', agent: failing },
      { id: 'c', agent: coordinator },
    ]);
    expect((await system.request('/c')).content).toEqual(['alpha', 'failure', 'beta']);
  });

  it("settling early cancels the withdrawn requests: a slow LLM agent's model call is aborted", async () => {
    const { server, client } = await offline({ script: (request) => (lastText(request) === 'slow' ? { fault: 'hang' } : { content: 'quick answer' }) });
    const events: string[] = [];
    const system = await startSystem([
      { id: 'slow', agent: llmAgent({ name: 'slow', model: 'm', instructions: 'x', client, observe: (event) => events.push(event.type === 'failed' ? `failed ${event.reason}` : event.type) }) },
      { id: 'quick', agent: llmAgent({ name: 'quick', model: 'm', instructions: 'x', client }) },
    ]);
    const result = await parallel(system, [{ to: '/slow', content: 'slow' }, { to: '/quick', content: 'quick' }], { deadlineMs: 60_000, settle: 'first' });
    expect(statuses(result)).toEqual(['cancelled', 'inform']);
    await server.whenClientClosed(1);
    await system.whenIdle();
    expect(events).toContain('failed cancelled');
  });

  it('deadlineMs Infinity waits for every answer (a timer past 2^31 - 1 ms would fire at once)', async () => {
    const { client } = await offline({ latencyMs: 30 });
    const system = await startSystem([{ id: 'slow', agent: llmAgent({ name: 'slow', model: 'm', instructions: 'x', client }) }]);
    const result = await parallel(system, [{ to: '/slow', content: 'hi' }], { deadlineMs: Number.POSITIVE_INFINITY });
    expect(statuses(result)).toEqual(['inform']);
  });

  it('rejects a malformed request before asking anyone', async () => {
    let asked = 0;
    const ask = async (): Promise<never> => {
      asked++;
      throw new Error('not reached');
    };
    await expect(fanOut(ask, [{ to: '/a' }, null as never], { deadlineMs: 1_000 })).rejects.toThrow(/requests\[1\]/);
    await expect(fanOut(ask, [{ to: 7 as never }], { deadlineMs: 1_000 })).rejects.toBeInstanceOf(ConfigurationError);
    expect(asked).toBe(0);
  });

  it('rejects bad options with ConfigurationError', async () => {
    const system = await startSystem([{ id: 'a', agent: informer('alpha') }]);
    await expect(parallel(system, [{ to: '/a' }], { deadlineMs: 1e10 })).rejects.toThrow(/deadlineMs/);
    await expect(parallel(system, [{ to: '/a' }], { deadlineMs: 0 })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(parallel(system, [{ to: '/a' }], { deadlineMs: 10, settle: 'quorum', quorum: 2 })).rejects.toThrow(/quorum/);
    await expect(parallel(system, [{ to: '/a' }], { deadlineMs: 10, settle: 'most' as never })).rejects.toThrow(/settle/);
    expect(await parallel(system, [], { deadlineMs: 10 })).toMatchObject({ outcomes: [], satisfied: true });
  });
});
