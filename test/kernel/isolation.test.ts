import { describe, expect, it } from 'vitest';
import { assign, fromCallback, setup } from 'xstate';
import { ask, createSystem, defineAgent, FailureError, reply, type AclMessage, type System } from '../../src/index.js';
import { EventLog, rootOf, track } from './helpers.js';

/** Answers with its system's label; `query-ref` asks `/only-in-b` from inside the machine. */
function labelled(label: string, helper = true) {
  return defineAgent({
    name: 'labelled',
    machine: setup({
      types: { events: {} as AclMessage, context: {} as { pending: AclMessage | undefined } },
      actors: { ask, helper: fromCallback(() => undefined) },
    }).createMachine({
      context: { pending: undefined },
      // The same XState systemId in every Troupe system: one shared XState system would refuse the second.
      invoke: helper ? { src: 'helper', systemId: 'helper' } : [],
      initial: 'idle',
      states: {
        idle: {
          on: {
            request: { actions: reply('inform', ({ event }) => ({ label, got: event.content as never })) },
            'query-ref': { target: 'asking', actions: assign({ pending: ({ event }) => event }) },
          },
        },
        asking: {
          invoke: {
            src: 'ask',
            input: { to: '/only-in-b' },
            onDone: { target: 'idle', actions: reply('inform', 'reached', { to: ({ context }) => context.pending as AclMessage }) },
            onError: { target: 'idle', actions: reply('failure', ({ event }) => ({ reason: (event.error as FailureError).reason ?? 'none' }), { to: ({ context }) => context.pending as AclMessage }) },
          },
        },
      },
    }),
  });
}

async function pair(): Promise<[System, System]> {
  const a = track(await createSystem({ name: 'a', root: rootOf([{ id: 'agent', agent: labelled('A') }]) }));
  const b = track(await createSystem({ name: 'b', root: rootOf([{ id: 'agent', agent: labelled('B') }, { id: 'only-in-b', agent: labelled('B2', false) }]) }));
  return [a, b];
}

describe('several systems in one process', () => {
  it('start side by side with the same paths and XState system ids, and each answers for itself', async () => {
    const [a, b] = await pair();
    await expect(a.request('/agent', 1)).resolves.toMatchObject({ content: { label: 'A', got: 1 } });
    await expect(b.request('/agent', 2)).resolves.toMatchObject({ content: { label: 'B', got: 2 } });
    expect(a.lookup('/agent')?.incarnation).not.toBe(b.lookup('/agent')?.incarnation);
    expect(a.metrics('/agent')?.processed).toBe(1);
    expect(b.metrics('/agent')?.processed).toBe(1);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a path that exists only in another system names nobody, from outside or from inside an agent', async () => {
    const [a, b] = await pair();
    await expect(b.request('/only-in-b', 'x')).resolves.toMatchObject({ content: { label: 'B2' } });
    const outside = await a.request('/only-in-b', 'x').catch((e: unknown) => e);
    expect(outside).toBeInstanceOf(FailureError);
    expect((outside as FailureError).reason).toBe('no-such-agent');
    const inside = await a.request('/agent', null, { performative: 'query-ref' }).catch((e: unknown) => e);
    expect((inside as FailureError).reply.content).toEqual({ reason: 'no-such-agent' });
    await expect(b.request('/agent', null, { performative: 'query-ref' })).resolves.toMatchObject({ content: 'reached' });
    expect(a.deadLetters.count).toBe(2);
    expect(b.deadLetters.count).toBe(0);
    expect(b.metrics('/only-in-b')?.processed).toBe(2);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('keep their events, dead letters and conversation ids apart, and stop independently', async () => {
    const [a, b] = await pair();
    const logA = new EventLog(a);
    const logB = new EventLog(b);
    const ca = (await a.request('/agent', 0)).conversationId;
    const cb = (await b.request('/agent', 0)).conversationId;
    expect(ca).not.toBe(cb);
    await a.tell('/nowhere', 'inform', 'lost');
    expect(a.deadLetters.count).toBe(1);
    expect(b.deadLetters.count).toBe(0);
    await a.stop();
    expect(logA.trace(['stopped'])).toEqual(['stopped /agent', 'stopped /']);
    expect(logB.events).toHaveLength(0);
    await expect(b.request('/agent', 'still here')).resolves.toMatchObject({ content: { label: 'B', got: 'still here' } });
    expect(b.lookup('/agent')?.status).toBe('running');
    await b.stop();
  });
});
