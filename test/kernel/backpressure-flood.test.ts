/**
 * A flood of a million sends into a full `backpressure` mailbox (issue 13, item 5): the
 * waiting queue is bounded by `maxWaiting`, so the heap stays flat and the rest is refused
 * (`backpressure-full`); every send that waited gets in once the receiver drains.
 */
import { describe, expect, it } from 'vitest';
import { forceGc } from '../support/gc.js';
import { nextImmediate, recorder, startSystem } from './helpers.js';

const FLOOD = 1_000_000;
const CAPACITY = 100;
const MAX_WAITING = 1_000;
/** Sends between yields, so that each send's outcome callback runs before the next batch. */
const BATCH = 10_000;

describe('backpressure under a flood', () => {
  it('a million sends into a suspended backpressure mailbox: flat heap, the bound refuses the rest, every waiting send gets in', { timeout: 120_000 }, async () => {
    const gc = forceGc();
    expect(gc, 'a GC is needed to read the heap').toBeDefined();
    const collect = gc as () => void;
    let handled = 0;
    const system = await startSystem([{ id: 'sink', agent: recorder(() => void handled++, 'sink', { capacity: CAPACITY, overflow: 'backpressure', maxWaiting: MAX_WAITING }) }], { keepDeadLetters: 10 });
    const deadReasons = new Map<string, number>();
    system.deadLetters.subscribe((letter) => deadReasons.set(letter.reason, (deadReasons.get(letter.reason) ?? 0) + 1));
    const outcomes = { queued: 0, refused: 0 };
    const count = (outcome: 'queued' | 'refused'): void => void outcomes[outcome]++;
    // Suspended, the sink handles nothing: the mailbox fills, then its waiting queue.
    expect(system.suspend('/sink')).toBe(true);
    let sent = 0;
    const flood = async (until: number): Promise<void> => {
      for (; sent < until; sent++) {
        void system.tell('/sink', 'inform', sent).then(count);
        if (sent % BATCH === BATCH - 1) await nextImmediate();
      }
      await nextImmediate();
    };
    const heapNow = (): number => {
      collect();
      collect();
      return process.memoryUsage().heapUsed;
    };

    await flood(FLOOD / 10); // fills the mailbox and the waiting queue, warms up
    const heapAfterTenth = heapNow();
    await flood(FLOOD);
    const heapAfterAll = heapNow();

    // 900,000 more sends left nothing behind: a parked message costs ~600 bytes, so parking
    // them all would have added ~500 MB.
    expect(heapAfterAll - heapAfterTenth).toBeLessThan(8 * 1_048_576);
    expect(system.metrics('/sink')?.queueDepth).toBe(CAPACITY);
    expect(outcomes).toEqual({ queued: CAPACITY, refused: FLOOD - CAPACITY - MAX_WAITING });
    expect(deadReasons).toEqual(new Map([['backpressure-full', FLOOD - CAPACITY - MAX_WAITING]]));

    // Resumed, the sink drains: every waiting send gets in and is handled, in order.
    expect(system.resume('/sink')).toBe(true);
    await system.whenIdle();
    await nextImmediate();
    expect(handled).toBe(CAPACITY + MAX_WAITING);
    expect(outcomes).toEqual({ queued: CAPACITY + MAX_WAITING, refused: FLOOD - CAPACITY - MAX_WAITING });
    expect(system.metrics('/sink')?.queueDepth).toBe(0);
    await system.stop();
  });
});
