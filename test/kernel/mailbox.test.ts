import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { setup } from 'xstate';
import { defineAgent, FailureError, tell, type AclMessage, type OverflowPolicy } from '../../src/index.js';
import { DEFAULT_MAILBOX, Mailbox } from '../../src/runtime/mailbox.js';
import { latch, nextImmediate, recorder, startSystem } from './helpers.js';

const POLICIES: OverflowPolicy[] = ['reject', 'drop-oldest', 'drop-newest', 'backpressure'];

function mailbox<T>(capacity: number, overflow: OverflowPolicy, maxWaiting = DEFAULT_MAILBOX.maxWaiting): Mailbox<T> {
  return new Mailbox<T>({ capacity, overflow, maxWaiting });
}

describe('Mailbox (unit)', () => {
  it('is a FIFO that holds at most `capacity` messages', () => {
    const box = mailbox<number>(3, 'reject');
    expect(box.length).toBe(0);
    expect(box.shift()).toBeUndefined();
    expect(box.offer(1).kind).toBe('queued');
    expect(box.offer(2).kind).toBe('queued');
    expect(box.offer(3).kind).toBe('queued');
    expect(box.offer(4).kind).toBe('refused');
    expect(box.length).toBe(3);
    expect(box.peek()).toBe(1);
    expect(box.takeAll()).toEqual([1, 2, 3]);
    expect(box.length).toBe(0);
  });

  it('drop-oldest evicts the head to make room; drop-newest refuses the newcomer', () => {
    const oldest = mailbox<string>(2, 'drop-oldest');
    oldest.offer('a');
    oldest.offer('b');
    expect(oldest.offer('c')).toEqual({ kind: 'evicted', evicted: 'a' });
    expect(oldest.takeAll()).toEqual(['b', 'c']);
    const newest = mailbox<string>(2, 'drop-newest');
    newest.offer('a');
    newest.offer('b');
    expect(newest.offer('c').kind).toBe('refused');
    expect(newest.takeAll()).toEqual(['a', 'b']);
  });

  it('backpressure parks the newcomer, admits it (calling back) when room appears, refuses the rest when emptied', () => {
    const box = mailbox<string>(1, 'backpressure');
    const told: string[] = [];
    const settle = (item: string) => (outcome: 'queued' | 'refused') => told.push(`${item} ${outcome}`);
    box.offer('a', settle('a'));
    expect(box.offer('b', settle('b')).kind).toBe('waiting');
    expect(box.offer('c', settle('c')).kind).toBe('waiting');
    expect(box.length).toBe(1);
    expect(box.waitingCount).toBe(2);
    expect(box.shift()).toBe('a');
    expect(told).toEqual(['b queued']);
    expect(box.length).toBe(1);
    expect(box.takeAll()).toEqual(['b', 'c']);
    expect(told).toEqual(['b queued', 'c refused']);
    expect(box.waitingCount).toBe(0);
  });

  it('backpressure refuses a newcomer once maxWaiting wait, and takes newcomers again as the waiting get in', () => {
    const box = mailbox<string>(1, 'backpressure', 2);
    const told: string[] = [];
    const settle = (item: string) => (outcome: 'queued' | 'refused') => told.push(`${item} ${outcome}`);
    box.offer('a');
    expect(box.offer('b', settle('b')).kind).toBe('waiting');
    expect(box.offer('c', settle('c')).kind).toBe('waiting');
    expect(box.offer('d', settle('d')).kind).toBe('refused');
    expect(box.waitingCount).toBe(2);
    expect(told).toEqual([]); // a refused offer is answered by its outcome, not by settle
    expect(box.shift()).toBe('a');
    expect(box.offer('e', settle('e')).kind).toBe('waiting');
    expect([box.shift(), box.shift(), box.shift()]).toEqual(['b', 'c', 'e']);
    expect(told).toEqual(['b queued', 'c queued', 'e queued']);
  });

  it('admits a waiting message in O(1) with a million waiting: no admission walks or moves the waiting list (counted)', () => {
    const waiting = 1_000_000;
    const box = mailbox<number>(1, 'backpressure', waiting);
    box.offer(-1);
    let admitted = 0;
    const settle = (): void => void admitted++;
    for (let i = 0; i < waiting; i++) box.offer(i, settle);
    expect(box.waitingCount).toBe(waiting);
    // Every Array method that costs time in the length of its array, counted with the length it ran on.
    const linear = (['shift', 'unshift', 'splice', 'slice', 'indexOf', 'copyWithin'] as const).map((name) => vi.spyOn(Array.prototype, name));
    const out: number[] = [];
    try {
      for (let i = 0; i < 1_000; i++) out.push(box.shift() as number);
    } finally {
      for (const spy of linear) spy.mockRestore();
    }
    const longest = Math.max(0, ...linear.flatMap((spy) => spy.mock.contexts.map((array) => (array as unknown[]).length)));
    expect(longest).toBeLessThan(64);
    expect(out).toEqual([-1, ...Array.from({ length: 999 }, (_, i) => i)]);
    expect(admitted).toBe(1_000);
    expect(box.waitingCount).toBe(waiting - 1_000);
  });

  it('keeps order across ring-buffer growth and wrap-around', () => {
    const box = mailbox<number>(Number.POSITIVE_INFINITY, 'reject');
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) box.offer(next++);
      for (let i = 0; i < 5; i++) out.push(box.shift() as number);
    }
    out.push(...box.takeAll());
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('property: matches a reference model for every policy under random offer/shift interleavings', () => {
    const op = fc.oneof(fc.constant<'shift'>('shift'), fc.constant<'offer'>('offer'), fc.constant<'offer'>('offer'));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.constantFrom(...POLICIES), fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 200 }), (capacity, policy, maxWaiting, ops) => {
        const box = mailbox<number>(capacity, policy, maxWaiting);
        const queue: number[] = [];
        const waiting: number[] = [];
        const admitted: number[] = [];
        let next = 0;
        for (const step of ops) {
          if (step === 'offer') {
            const item = next++;
            const outcome = box.offer(item, () => admitted.push(item));
            if (queue.length < capacity) {
              expect(outcome.kind).toBe('queued');
              queue.push(item);
            } else if (policy === 'drop-oldest') {
              expect(outcome).toEqual({ kind: 'evicted', evicted: queue.shift() });
              queue.push(item);
            } else if (policy === 'backpressure' && waiting.length < maxWaiting) {
              expect(outcome.kind).toBe('waiting');
              waiting.push(item);
            } else {
              expect(outcome.kind).toBe('refused');
            }
          } else {
            expect(box.shift()).toBe(queue.shift());
            if (waiting.length > 0 && queue.length < capacity) {
              const admit = waiting.shift() as number;
              queue.push(admit);
              expect(admitted.at(-1)).toBe(admit);
            }
          }
          expect(box.length).toBe(queue.length);
          expect(box.length).toBeLessThanOrEqual(capacity);
          expect(box.waitingCount).toBe(waiting.length);
          expect(box.waitingCount).toBeLessThanOrEqual(maxWaiting);
          expect(box.peek()).toBe(queue[0]);
        }
        expect(box.takeAll()).toEqual([...queue, ...waiting]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('mailbox overflow policies (through the system)', () => {
  it('reject: the sender expecting an answer gets failure with reason mailbox-full; the message is a dead letter', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((m) => seen.push(m), 'r', { capacity: 2, overflow: 'reject' }) }]);
    // All three are enqueued before the agent's first turn (the scheduler runs on setImmediate).
    const answers = [1, 2, 3].map((n) => system.request('/r', n).then((a) => a.content, (e: unknown) => e));
    const [first, second, third] = await Promise.all(answers);
    expect(first).toEqual({ n: 1 });
    expect(second).toEqual({ n: 2 });
    expect(third).toBeInstanceOf(FailureError);
    expect((third as FailureError).reason).toBe('mailbox-full');
    expect(seen.map((m) => m.content)).toEqual([1, 2]);
    expect(system.deadLetters.recent().map((l) => [l.reason, l.message.content])).toEqual([['mailbox-full', 3]]);
    expect(await system.tell('/r', 'inform', 'x')).toBe('queued');
    await system.stop();
  });

  it('reject: a told message at a full mailbox resolves refused', async () => {
    const system = await startSystem([{ id: 'r', agent: recorder(() => undefined, 'r', { capacity: 1, overflow: 'reject' }) }]);
    expect(await system.tell('/r', 'inform', 1)).toBe('queued');
    expect(await system.tell('/r', 'inform', 2)).toBe('refused');
    await system.stop();
  });

  it('drop-oldest: the oldest queued message is dropped (dead letter dropped-oldest, its requester gets mailbox-full)', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((m) => seen.push(m), 'r', { capacity: 2, overflow: 'drop-oldest' }) }]);
    const evicted = system.request('/r', 'a');
    await system.tell('/r', 'inform', 'b');
    await system.tell('/r', 'inform', 'c');
    const error = await evicted.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).reason).toBe('mailbox-full');
    await system.whenIdle();
    expect(seen.map((m) => m.content)).toEqual(['b', 'c']);
    expect(system.deadLetters.recent().map((l) => [l.reason, l.message.content])).toEqual([['dropped-oldest', 'a']]);
    await system.stop();
  });

  it('drop-newest: the newcomer is dropped (dead letter dropped-newest)', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((m) => seen.push(m), 'r', { capacity: 2, overflow: 'drop-newest' }) }]);
    for (const x of ['a', 'b', 'c', 'd']) await system.tell('/r', 'inform', x);
    await system.whenIdle();
    expect(seen.map((m) => m.content)).toEqual(['a', 'b']);
    expect(system.deadLetters.recent().map((l) => [l.reason, l.message.content])).toEqual([
      ['dropped-newest', 'c'],
      ['dropped-newest', 'd'],
    ]);
    await system.stop();
  });

  it('backpressure: await system.tell resolves only once there is room, and nothing is lost', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((m) => seen.push(m), 'r', { capacity: 2, overflow: 'backpressure' }) }]);
    expect(await system.tell('/r', 'inform', 1)).toBe('queued');
    expect(await system.tell('/r', 'inform', 2)).toBe('queued');
    let admitted = false;
    const third = system.tell('/r', 'inform', 3).then((outcome) => {
      admitted = true;
      expect(seen.length).toBeGreaterThanOrEqual(1); // room appeared because the agent handled one
      return outcome;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(admitted).toBe(false);
    expect(system.metrics('/r')?.queueDepth).toBe(2);
    expect(await third).toBe('queued');
    await system.whenIdle();
    expect(seen.map((m) => m.content)).toEqual([1, 2, 3]);
    expect(system.deadLetters.count).toBe(0);
    await system.stop();
  });

  it('backpressure: a tell still waiting for room when the agent stops for good resolves refused, and is a dead letter', async () => {
    const system = await startSystem([{ id: 'r', agent: recorder(() => undefined, 'r', { capacity: 1, overflow: 'backpressure' }) }]);
    expect(await system.tell('/r', 'inform', 1)).toBe('queued');
    const parked = system.tell('/r', 'inform', 2);
    await system.terminateChild('/', 'r');
    expect(await parked).toBe('refused');
    expect(system.deadLetters.recent().map((letter) => [letter.message.content, letter.reason])).toEqual([
      [1, 'agent-stopped'],
      [2, 'agent-stopped'],
    ]);
    await system.stop();
  });

  it('backpressure: past maxWaiting a send is refused with reason backpressure-full, saying what to do; the waiting ones still get in', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((m) => seen.push(m), 'r', { capacity: 1, overflow: 'backpressure', maxWaiting: 2 }) }]);
    const queued = system.tell('/r', 'inform', 1);
    const waiting = [system.tell('/r', 'inform', 2), system.tell('/r', 'inform', 3)];
    expect(await system.tell('/r', 'inform', 4)).toBe('refused');
    const error = await system.request('/r', 5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).reason).toBe('backpressure-full');
    expect((error as FailureError).message).toMatch(/mailbox of \/r is full \(capacity 1\) and so is its backpressure queue \(maxWaiting 2 messages waiting for room\); wait for the sends already waiting \(await system\.tell\) before sending more, or raise the receiver's mailbox capacity or maxWaiting/);
    expect(await Promise.all([queued, ...waiting])).toEqual(['queued', 'queued', 'queued']);
    await system.whenIdle();
    expect(seen.map((m) => m.content)).toEqual([1, 2, 3]);
    expect(system.deadLetters.recent().map((l) => [l.reason, l.message.content])).toEqual([
      ['backpressure-full', 4],
      ['backpressure-full', 5],
    ]);
    await system.stop();
  });

  it('backpressure: an agent sending into a full mailbox is paused, its sends keep their order', async () => {
    const seen: AclMessage[] = [];
    const burst = defineAgent({
      name: 'burst',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: { inform: { actions: Array.from({ length: 6 }, (_, i) => tell('/slow', 'inform', ({ event }) => `${String(event.content)}${i}`)) } },
      }),
    });
    const system = await startSystem([
      { id: 'slow', agent: recorder((m) => seen.push(m), 'slow', { capacity: 1, overflow: 'backpressure' }) },
      { id: 'burst', agent: burst },
    ]);
    await system.tell('/burst', 'inform', 'a');
    await system.tell('/burst', 'inform', 'b');
    await system.whenIdle();
    expect(seen.map((m) => m.content)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
    expect(system.deadLetters.count).toBe(0);
    await system.stop();
  });

  it('system signals go before ordinary messages: a stop overtakes a queued backlog', async () => {
    const seen: AclMessage[] = [];
    const system = await startSystem([{ id: 'r', agent: recorder((m) => seen.push(m), 'r') }]);
    const requests = Array.from({ length: 20 }, (_, i) => system.request('/r', i).then(() => 'answered', (e: unknown) => e));
    expect(system.metrics('/r')?.queueDepth).toBe(20);
    await system.terminateChild('/', 'r');
    const outcomes = await Promise.all(requests);
    expect(seen).toHaveLength(0);
    for (const outcome of outcomes) {
      expect(outcome).toBeInstanceOf(FailureError);
      expect((outcome as FailureError).reason).toBe('agent-stopping');
    }
    expect(system.deadLetters.recent().every((l) => l.reason === 'agent-stopped')).toBe(true);
    await system.stop();
  });

  it('system signals go before ordinary messages: after a crash the restart comes before the next queued message', async () => {
    const handledBy: string[] = [];
    const crashy = defineAgent({
      name: 'crashy',
      machine: setup({ types: { events: {} as AclMessage, context: {} as { gen: number } } }).createMachine({
        context: () => ({ gen: Math.random() }),
        on: {
          inform: {
            actions: ({ event, context }) => {
              if (event.content === 'crash') throw new Error('boom');
              handledBy.push(`${String(event.content)}@${context.gen}`);
            },
          },
        },
      }),
    });
    const system = await startSystem([{ id: 'c', agent: crashy }]);
    for (const x of ['before', 'crash', 'after1', 'after2']) await system.tell('/c', 'inform', x);
    const restarted = latch();
    system.subscribe((event) => event.type === 'restarted' && restarted.open());
    await restarted.promise;
    await system.whenIdle();
    expect(handledBy).toHaveLength(3);
    const gens = handledBy.map((h) => h.split('@')[1]);
    expect(handledBy[0]?.startsWith('before@')).toBe(true);
    expect(handledBy.slice(1).map((h) => h.split('@')[0])).toEqual(['after1', 'after2']);
    expect(gens[1]).not.toBe(gens[0]);
    expect(gens[2]).toBe(gens[1]);
    await system.stop();
  });
});

describe('mailbox ordering and capacity through the system (property)', () => {
  it('keeps per-sender FIFO order and accounts for every message, for every policy and interleaving', async () => {
    const senders = ['/ext/a', '/ext/b', '/ext/c'];
    const step = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant<'tell'>('tell'), from: fc.integer({ min: 0, max: senders.length + 1 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant<'drain'>('drain'), from: fc.constant(0) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...POLICIES), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.array(step, { minLength: 1, maxLength: 60 }), async (overflow, capacity, throughput, steps) => {
        const seen: AclMessage[] = [];
        // Two relays forward what they get: agent senders are covered as well as outside ones.
        const relay = (name: string) =>
          defineAgent({
            name,
            machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { inform: { actions: tell('/sink', 'inform', ({ event }) => event.content as never) } } }),
          });
        const system = await startSystem(
          [
            { id: 'sink', agent: recorder((m) => seen.push(m), 'sink', { capacity, overflow }) },
            { id: 'relay0', agent: relay('relay0') },
            { id: 'relay1', agent: relay('relay1') },
          ],
          { scheduler: { throughput } },
        );
        const counters = new Map<string, number>();
        const tells: Promise<unknown>[] = [];
        let sent = 0;
        for (const { kind, from } of steps) {
          if (kind === 'drain') {
            await nextImmediate();
            continue;
          }
          const sender = from < senders.length ? (senders[from] as string) : `/relay${from - senders.length}`;
          const seq = counters.get(sender) ?? 0;
          counters.set(sender, seq + 1);
          sent++;
          if (sender.startsWith('/relay')) tells.push(system.tell(sender, 'inform', { sender, seq }));
          else tells.push(system.tell('/sink', 'inform', { sender, seq }, { sender }));
        }
        await Promise.all(tells);
        await system.whenIdle();
        // Per sender: what arrived is in send order (a subsequence of it when messages were dropped).
        const bySender = new Map<string, number[]>();
        for (const message of seen) {
          const { sender, seq } = message.content as { sender: string; seq: number };
          expect(message.sender).toBe(sender);
          (bySender.get(sender) ?? bySender.set(sender, []).get(sender))?.push(seq);
        }
        for (const seqs of bySender.values()) for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
        const dropped = system.deadLetters.recent().filter((l) => l.message.receiver === '/sink');
        expect(seen.length + dropped.length).toBe(sent);
        if (overflow === 'backpressure') {
          expect(dropped).toHaveLength(0);
          for (const seqs of bySender.values()) expect(seqs).toEqual(seqs.map((_, i) => i));
        }
        await system.stop();
      }),
      { numRuns: 120 },
    );
  });
});
