import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { defineAgent, FailureError, NotUnderstoodError, RefusedError, reply, type AclMessage } from '../../src/index.js';
import { nextImmediate, startSystem } from './helpers.js';

const AGENTS = 100;
const REQUESTS = 10_000;

type Kind = 'inform' | 'refuse' | 'crash' | 'invalid' | 'unhandled';

const content = { request: z.object({ id: z.number().int(), kind: z.string() }) };

/** Answers `inform { id, by }`, or `refuse`, or throws — as the request asks. */
function member(index: number) {
  return defineAgent({
    name: `m${index}`,
    content,
    machine: setup({ types: { events: {} as AclMessage<'request', { id: number; kind: Kind }> } }).createMachine({
      on: {
        request: [
          { guard: ({ event }) => event.content.kind === 'refuse', actions: reply('refuse', ({ event }) => ({ id: event.content.id })) },
          {
            guard: ({ event }) => event.content.kind === 'crash',
            actions: () => {
              throw new Error('crash on purpose');
            },
          },
          { actions: reply('inform', ({ event }) => ({ id: event.content.id, by: index })) },
        ],
      },
    }),
  });
}

function kindOf(i: number): Kind {
  if (i % 97 === 0) return 'crash';
  if (i % 13 === 0) return 'refuse';
  if (i % 17 === 0) return 'invalid';
  if (i % 19 === 0) return 'unhandled';
  return 'inform';
}

describe('hammer', () => {
  it(`${AGENTS} agents, ${REQUESTS.toLocaleString('en')} concurrent requests: every request gets exactly one answer`, async () => {
    const system = await startSystem(Array.from({ length: AGENTS }, (_, i) => ({ id: `m${i}`, agent: member(i) })));
    const settled = new Array<number>(REQUESTS).fill(0);
    const outcomes = new Array<string>(REQUESTS);
    const requests = Array.from({ length: REQUESTS }, (_, i) => {
      const kind = kindOf(i);
      const target = `/m${i % AGENTS}`;
      const body = kind === 'invalid' ? { id: 'not a number', kind } : { id: i, kind };
      const promise = system.request(target, body, { performative: kind === 'unhandled' ? 'query-if' : 'request', timeoutMs: 30_000 });
      return promise.then(
        (answer) => {
          settled[i] = (settled[i] ?? 0) + 1;
          const { id, by } = answer.content as { id: number; by: number };
          outcomes[i] = id === i && by === i % AGENTS ? 'inform' : `wrong ${JSON.stringify(answer.content)}`;
        },
        (error: unknown) => {
          settled[i] = (settled[i] ?? 0) + 1;
          if (error instanceof RefusedError) outcomes[i] = (error.reply.content as { id: number }).id === i ? 'refuse' : 'wrong refuse';
          else if (error instanceof NotUnderstoodError) outcomes[i] = error.reason === 'invalid-content' ? 'invalid' : error.reason === 'unhandled-performative' ? 'unhandled' : `nu ${error.reason}`;
          else if (error instanceof FailureError) outcomes[i] = error.reason === 'agent-failed' ? 'crash' : `failure ${error.reason}`;
          else outcomes[i] = `other ${String(error)}`;
        },
      );
    });
    await Promise.all(requests);
    await system.whenIdle();
    expect(settled.every((n) => n === 1)).toBe(true);
    const wrong = outcomes.map((o, i) => [i, o, kindOf(i)] as const).filter(([, o, k]) => o !== k);
    expect(wrong).toEqual([]);
    // A second answer to any request would have found nobody waiting: a dead letter.
    expect(system.deadLetters.count).toBe(0);
    const processed = Array.from({ length: AGENTS }, (_, i) => system.metrics(`/m${i}`)?.processed ?? 0).reduce((a, b) => a + b, 0);
    expect(processed).toBe(outcomes.filter((o) => o === 'inform' || o === 'refuse' || o === 'crash').length);
    await system.stop();
  }, 20_000);

  it('property: under random mixes, throughputs and interleavings, every request settles exactly once with the right outcome', async () => {
    const request = fc.record({ agent: fc.nat(9), kind: fc.constantFrom<Kind>('inform', 'inform', 'inform', 'refuse', 'crash', 'invalid', 'unhandled'), drainBefore: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 32 }), fc.array(request, { minLength: 1, maxLength: 200 }), async (throughput, plan) => {
        const system = await startSystem(Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, agent: member(i) })), { scheduler: { throughput } });
        const settled = new Array<number>(plan.length).fill(0);
        const results: Promise<string>[] = [];
        for (const [i, { agent, kind, drainBefore }] of plan.entries()) {
          if (drainBefore) await nextImmediate();
          const body = kind === 'invalid' ? { id: 'x', kind } : { id: i, kind };
          results.push(
            system.request(`/m${agent}`, body, { performative: kind === 'unhandled' ? 'query-if' : 'request', timeoutMs: 30_000 }).then(
              (answer) => {
                settled[i] = (settled[i] ?? 0) + 1;
                return (answer.content as { id: number }).id === i ? 'inform' : 'wrong';
              },
              (error: unknown) => {
                settled[i] = (settled[i] ?? 0) + 1;
                if (error instanceof RefusedError) return 'refuse';
                if (error instanceof NotUnderstoodError) return error.reason === 'invalid-content' ? 'invalid' : 'unhandled';
                if (error instanceof FailureError && error.reason === 'agent-failed') return 'crash';
                return `other ${String(error)}`;
              },
            ),
          );
        }
        expect(await Promise.all(results)).toEqual(plan.map((p) => p.kind));
        await system.whenIdle();
        expect(settled.every((n) => n === 1)).toBe(true);
        expect(system.deadLetters.count).toBe(0);
        await system.stop();
      }),
      { numRuns: 40 },
    );
  });
});
