import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { assign, setup } from 'xstate';
import { ask, defineAgent, reply, tell, type AclMessage } from '../../src/index.js';
import { Scheduler, type Runnable } from '../../src/runtime/scheduler.js';
import { latch, nextImmediate, startSystem } from './helpers.js';

/** Counts what it handles and reports each message to `seen`. */
function counter(name: string, seen: (name: string, message: AclMessage) => void) {
  return defineAgent({
    name,
    mailbox: { capacity: Number.POSITIVE_INFINITY },
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      on: {
        inform: { actions: ({ event }) => seen(name, event) },
        request: { actions: [({ event }) => seen(name, event), reply('inform', ({ event }) => event.content as never)] },
      },
    }),
  });
}

describe('Scheduler (unit)', () => {
  class Fake implements Runnable {
    queued = false;
    constructor(
      readonly name: string,
      public left: number,
      readonly log: string[],
    ) {}
    runTurn(max: number): number {
      const n = Math.min(max, this.left);
      for (let i = 0; i < n; i++) this.log.push(this.name);
      this.left -= n;
      return n;
    }
    hasWork(): boolean {
      return this.left > 0;
    }
  }

  it('gives each ready runnable a turn of at most `throughput`, round-robin, and resolves whenIdle at the end', async () => {
    const log: string[] = [];
    const scheduler = new Scheduler({ throughput: 3 });
    const a = new Fake('a', 7, log);
    const b = new Fake('b', 4, log);
    scheduler.schedule(a);
    scheduler.schedule(b);
    scheduler.schedule(a); // already queued: no second slot
    await scheduler.whenIdle();
    expect(log.join('')).toBe('aaabbbaaaba');
    expect(a.left + b.left).toBe(0);
  });

  it('a runnable whose turn throws is reported, and the drain carries on with the others', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const scheduler = new Scheduler({ throughput: 2 }, (error) => errors.push(error));
    const broken: Runnable = {
      queued: false,
      runTurn: () => {
        throw new Error('turn exploded');
      },
      hasWork: () => true,
    };
    const a = new Fake('a', 3, log);
    scheduler.schedule(broken);
    scheduler.schedule(a);
    await scheduler.whenIdle();
    expect(log.join('')).toBe('aaa');
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('turn exploded');
  });

  it('yields to the event loop after `budget` messages', async () => {
    const log: string[] = [];
    const scheduler = new Scheduler({ throughput: 4, budget: 10 });
    const a = new Fake('a', 100, log);
    scheduler.schedule(a);
    const seenAtImmediate: number[] = [];
    setImmediate(() => seenAtImmediate.push(log.length));
    await scheduler.whenIdle();
    expect(seenAtImmediate).toEqual([10]); // turns of 4, 4, then 2 (the budget left), then the drain yields
    expect(log).toHaveLength(100);
  });
});

describe('scheduling agents', () => {
  it('drains at most `throughput` messages per agent per turn, alternating between busy agents', async () => {
    const order: string[] = [];
    const system = await startSystem(
      [
        { id: 'a', agent: counter('a', (n) => order.push(n)) },
        { id: 'b', agent: counter('b', (n) => order.push(n)) },
      ],
      { scheduler: { throughput: 4 } },
    );
    for (let i = 0; i < 12; i++) await system.tell('/a', 'inform', i);
    for (let i = 0; i < 12; i++) await system.tell('/b', 'inform', i);
    await system.whenIdle();
    expect(order.join('')).toBe('aaaabbbbaaaabbbbaaaabbbb');
    await system.stop();
  });

  it('one busy agent cannot starve the rest', async () => {
    let floodHandled = 0;
    const atAnswer = latch<number>();
    const system = await startSystem([
      { id: 'flood', agent: counter('flood', () => void floodHandled++) },
      { id: 'quiet', agent: counter('quiet', () => atAnswer.open(floodHandled)) },
    ]);
    for (let i = 0; i < 5_000; i++) void system.tell('/flood', 'inform', i);
    const answer = system.request('/quiet', 'hello');
    expect((await answer).content).toBe('hello');
    // The quiet agent's request went right after the flood's first turn (default throughput 16).
    expect(await atAnswer.promise).toBeLessThanOrEqual(16);
    expect(system.metrics('/flood')?.queueDepth).toBeGreaterThan(0);
    await system.whenIdle();
    expect(floodHandled).toBe(5_000);
    await system.stop();
  });

  it('an agent that keeps itself busy for ever starves neither other agents nor timers', async () => {
    let spins = 0;
    const spinner = defineAgent({
      name: 'spinner',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: { inform: { actions: [() => void spins++, tell('/spinner', 'inform', 'again')] } },
      }),
    });
    const system = await startSystem([
      { id: 'spinner', agent: spinner },
      { id: 'quiet', agent: counter('quiet', () => undefined) },
    ]);
    await system.tell('/spinner', 'inform', 'go');
    const atTimer: number[] = [];
    for (let round = 1; round <= 3; round++) {
      await expect(system.request('/quiet', round)).resolves.toMatchObject({ content: round });
      await new Promise<void>((resolve) => setTimeout(resolve, 0)); // a timer still gets its turn
      atTimer.push(spins);
      expect(system.metrics('/spinner')?.queueDepth).toBe(1); // ... while the spinner still has work
    }
    expect(atTimer[0]).toBeGreaterThan(0);
    expect(atTimer[1]).toBeGreaterThan(atTimer[0] as number);
    expect(atTimer[2]).toBeGreaterThan(atTimer[1] as number);
    await system.stop();
    expect(system.deadLetters.recent().at(-1)).toMatchObject({ reason: 'agent-stopped', message: { receiver: '/spinner' } });
  });

  it('yields to I/O between turns: an immediate queued behind a long backlog runs before the backlog is done', async () => {
    let handled = 0;
    const system = await startSystem([{ id: 'flood', agent: counter('flood', () => void handled++) }], { scheduler: { throughput: 16, budget: 64 } });
    for (let i = 0; i < 2_000; i++) void system.tell('/flood', 'inform', i);
    const seenByImmediate = await new Promise<number>((resolve) => setImmediate(() => resolve(handled)));
    expect(seenByImmediate).toBe(64);
    await system.whenIdle();
    expect(handled).toBe(2_000);
    await system.stop();
  });

  it('keeps per-agent metrics: queue depth, processed count and processing time', async () => {
    let fakeNow = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => fakeNow);
    const slow = defineAgent({
      name: 'slow',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: { inform: { actions: () => void (fakeNow += 5) } },
      }),
    });
    const system = await startSystem([{ id: 's', agent: slow }]);
    expect(system.metrics('/s')).toEqual({ queueDepth: 0, processed: 0, processingMs: 0, restarts: 0 });
    for (let i = 0; i < 10; i++) await system.tell('/s', 'inform', i);
    expect(system.metrics('/s')).toMatchObject({ queueDepth: 10, processed: 0 });
    await system.whenIdle();
    expect(system.metrics('/s')).toEqual({ queueDepth: 0, processed: 10, processingMs: 50, restarts: 0 });
    expect(system.metrics('/nobody')).toBeUndefined();
    await system.stop();
  });
});

// ---- determinism -----------------------------------------------------------------------------

interface Step {
  readonly to: number;
  readonly kind: 'tell' | 'request' | 'drain';
  readonly value: number;
}

/**
 * A small society: every agent, on `inform n`, forwards `n - 1` to its neighbour while n > 0,
 * and on `request n` asks its neighbour (through `ask`) and answers with the neighbour's answer + 1.
 * The last agent answers requests at once.
 */
function society(size: number, trace: string[]) {
  const ids = new Map<string, number>();
  const norm = (id: string | undefined): string => (id === undefined ? '-' : `#${ids.get(id) ?? ids.set(id, ids.size).get(id)}`);
  const record = (name: string, m: AclMessage): void => {
    trace.push(`${m.lamport} ${m.sender}->${name} ${m.performative} ${JSON.stringify(m.content)} conv=${norm(m.conversationId)} rw=${norm(m.replyWith)} irt=${norm(m.inReplyTo)}`);
  };
  return Array.from({ length: size }, (_, i) => {
    const name = `n${i}`;
    const next = `/n${(i + 1) % size}`;
    const last = i === size - 1;
    const machine = setup({ types: { events: {} as AclMessage, context: {} as { pending: AclMessage | undefined } }, actors: { ask } }).createMachine({
      context: { pending: undefined },
      initial: 'idle',
      states: {
        idle: {
          on: {
            inform: {
              actions: [({ event }) => record(name, event), tell(next, 'inform', ({ event }) => ((event.content as number) > 0 ? (event.content as number) - 1 : 0))],
              guard: ({ event }) => (event.content as number) > 0,
            },
            request: last
              ? { actions: [({ event }) => record(name, event), reply('inform', ({ event }) => event.content as number)] }
              : { target: 'asking', actions: [({ event }) => record(name, event), assign({ pending: ({ event }) => event })] },
          },
        },
        asking: {
          invoke: {
            src: 'ask',
            input: ({ context }) => ({ to: next, content: context.pending?.content }),
            onDone: {
              target: 'idle',
              actions: [
                ({ event }) => record(name, event.output),
                reply('inform', ({ event }) => (event.output.content as number) + 1, { to: ({ context }) => context.pending as AclMessage }),
              ],
            },
          },
        },
      },
    });
    return { id: name, agent: defineAgent({ name, machine, mailbox: { capacity: Number.POSITIVE_INFINITY } }) };
  });
}

async function runScenario(size: number, throughput: number, steps: readonly Step[]): Promise<string[]> {
  const trace: string[] = [];
  const system = await startSystem(society(size, trace), { scheduler: { throughput } });
  const answers: Promise<unknown>[] = [];
  for (const step of steps) {
    const to = `/n${step.to % size}`;
    if (step.kind === 'drain') await nextImmediate();
    else if (step.kind === 'tell') await system.tell(to, 'inform', step.value);
    else answers.push(system.request(to, step.value, { timeoutMs: Number.POSITIVE_INFINITY }).then((a) => `answer ${to} ${JSON.stringify(a.content)} ${a.lamport}`, (e: Error) => `error ${e.name}`));
  }
  const settled = await Promise.all(answers);
  await system.whenIdle();
  await system.stop();
  return [...trace, ...(settled as string[])];
}

describe('deterministic delivery order', () => {
  it('the same scenario run twice gives the same trace (order, content, Lamport stamps, conversations)', async () => {
    const steps: Step[] = [
      { to: 0, kind: 'tell', value: 6 },
      { to: 2, kind: 'request', value: 10 },
      { to: 1, kind: 'tell', value: 3 },
      { to: 0, kind: 'request', value: 1 },
      { to: 3, kind: 'drain', value: 0 },
      { to: 3, kind: 'tell', value: 5 },
      { to: 1, kind: 'request', value: 7 },
    ];
    const first = await runScenario(4, 2, steps);
    const second = await runScenario(4, 2, steps);
    expect(first.length).toBeGreaterThan(15);
    expect(second).toEqual(first);
  });

  it('property: for random scenarios and throughputs, two runs always give identical traces', async () => {
    const step = fc.record({ to: fc.nat(5), kind: fc.constantFrom<Step['kind']>('tell', 'tell', 'request', 'drain'), value: fc.nat(6) });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 8 }), fc.array(step, { minLength: 1, maxLength: 15 }), async (size, throughput, steps) => {
        const first = await runScenario(size, throughput, steps);
        const second = await runScenario(size, throughput, steps);
        expect(second).toEqual(first);
      }),
      { numRuns: 40 },
    );
  });
});
