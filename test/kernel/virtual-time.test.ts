/**
 * Time and ids through one seam: a system given a virtual clock and its own ids uses them for
 * every deadline, delay, shutdown time, event time and id, so time moves only when told.
 */
import { setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createSystem, DeadlineError, defineAgent, reply, supervisor, VirtualClock, type AclMessage, type IdSource } from '../../src/index.js';
import { echo, track } from './helpers.js';

/** Answers `request` 500 ms (of its system's clock) after it came, from an XState `after` delay. */
const later = defineAgent({
  name: 'later',
  machine: setup({ types: { events: {} as AclMessage, context: {} as { request: AclMessage | undefined } } }).createMachine({
    context: { request: undefined },
    initial: 'idle',
    states: {
      idle: { on: { request: { target: 'waiting', actions: ({ context, event }) => void (context.request = event) } } },
      waiting: { tags: ['busy'], after: { 500: { target: 'idle', actions: reply('inform', () => ({ late: true }), { to: ({ context }) => context.request as AclMessage }) } } },
    },
  }),
});

function countingIds(): IdSource {
  let n = 0;
  return { incarnation: () => `inc-${n++}`, conversation: () => `conv-${n++}`, replyTag: () => `tag-${n++}`, ask: () => `ask${n++}xxxxxxxxxxxxxxxx` };
}

async function virtualSystem(clock: VirtualClock, children: Parameters<typeof supervisor>[0]['children'], ids?: IdSource) {
  return track(await createSystem({ root: supervisor({ children }), clock, ids }));
}

describe('time and ids through the system', () => {
  it('a request deadline runs on the system clock: nothing fails until the clock has moved past it', async () => {
    const clock = new VirtualClock(1_000_000);
    // Left busy by the test: stopped at once after it (its shutdown time would never pass on this clock).
    const system = await virtualSystem(clock, [{ id: 'later', agent: later, shutdownMs: 'brutal' }]);
    let outcome: unknown;
    const answer = system.request('/later', {}, { timeoutMs: 100 }).then(
      (value) => (outcome = value),
      (error: unknown) => (outcome = error),
    );
    await system.whenIdle();
    clock.advance(99);
    await Promise.resolve();
    expect(outcome).toBeUndefined();
    clock.advance(1);
    await answer;
    expect(outcome).toBeInstanceOf(DeadlineError);
  });

  it('XState delays (`after`) run on the system clock', async () => {
    const clock = new VirtualClock();
    const system = await virtualSystem(clock, [{ id: 'later', agent: later }]);
    let answered = false;
    const answer = system.request('/later', {}, { timeoutMs: 10_000 }).then((value) => {
      answered = true;
      return value;
    });
    await system.whenIdle();
    clock.advance(499);
    await system.whenIdle();
    expect(answered).toBe(false);
    clock.advance(1);
    await expect(answer).resolves.toMatchObject({ content: { late: true } });
  });

  it('a busy agent stopped gracefully is killed when its shutdown time has passed on the system clock', async () => {
    const clock = new VirtualClock();
    const system = await virtualSystem(clock, [{ id: 'later', agent: later, shutdownMs: 200 }]);
    void system.request('/later', {}, { timeoutMs: 10_000 }).catch(() => undefined);
    await system.whenIdle();
    const reasons: string[] = [];
    system.watch('/later', (signal) => reasons.push(signal.reason.kind));
    const stopping = system.terminateChild('/', 'later');
    await Promise.resolve();
    expect(reasons).toEqual([]);
    clock.advance(200);
    await stopping;
    expect(reasons).toEqual(['killed']);
  });

  it('heartbeats and restart backoff run on the system clock', async () => {
    const clock = new VirtualClock();
    const system = await virtualSystem(clock, [{ id: 'later', agent: later, heartbeat: { everyMs: 100, timeoutMs: 300 }, shutdownMs: 'brutal' }]);
    const hung: string[] = [];
    system.subscribe((event) => (event.type === 'hung' ? hung.push(event.path) : undefined));
    // Busy for 500 ms on its clock: past the heartbeat's 300 ms without progress.
    const answer = system.request('/later', {}, { timeoutMs: 10_000 }).catch((error: unknown) => error);
    await system.whenIdle();
    clock.advance(300);
    expect(hung).toEqual([]);
    clock.advance(100);
    expect(hung).toEqual(['/later']);
    await expect(answer).resolves.toMatchObject({ reason: 'hung' });
  });

  it('ids and event times come from the system: incarnations, conversations, reply tags, dead letters', async () => {
    const clock = new VirtualClock(5_000);
    const events: { type: string; at: number; incarnation?: string }[] = [];
    const system = await virtualSystem(clock, [{ id: 'e', agent: echo() }], countingIds());
    system.subscribe((event) => events.push(event as never));
    expect(system.lookup('/e')?.incarnation).toMatch(/^inc-\d+$/);
    const answer = await system.request('/e', { x: 1 });
    expect(answer.conversationId).toMatch(/^conv-\d+$/);
    expect(answer.inReplyTo).toMatch(/^tag-\d+$/);
    await system.tell('/nobody', 'inform', {});
    expect(system.deadLetters.recent().at(-1)?.at).toBe(5_000);
    clock.advance(7);
    await system.terminateChild('/', 'e');
    expect(events.find((event) => event.type === 'stopped')?.at).toBe(5_007);
  });
});
