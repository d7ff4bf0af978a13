/**
 * The inspector's event budget (`maxEventsPerSecond`): under it every event reaches clients in
 * order; over it, message, dead-letter and state events are counted instead of recorded,
 * clients get `over-budget` notices whose counts add up with what was recorded, lifecycle
 * events still arrive, and agents whose state changes went unrecorded get their current state
 * sent once the budget allows. The clock is Date's alone, faked so that the budget refills
 * only when a test moves time on.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setup } from 'xstate';
import { defineAgent, InspectorError, type AclMessage, type InspectorEvent, type OverBudgetEvent } from '../../src/index.js';
import { inspectedSystem, TOKEN, wsUrl } from './agents.js';
import { TestClient } from './client.js';

/** Flips between `off` and `on` on each `inform`; answers nothing. */
const toggler = defineAgent({
  name: 'toggler',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({
    id: 'toggler',
    initial: 'off',
    states: { off: { on: { inform: 'on' } }, on: { on: { inform: 'off' } } },
  }),
});

const TOGGLER = [{ id: 'toggler', agent: toggler }] as const;

type MessageEvent = Extract<InspectorEvent, { type: 'sent' | 'delivered' }>;

function messages(client: TestClient, type: 'sent' | 'delivered', prefix: string): string[] {
  return client
    .events()
    .filter((event): event is MessageEvent => event.type === type && event.conversationId.startsWith(prefix))
    .map((event) => event.conversationId);
}

function notices(client: TestClient): OverBudgetEvent[] {
  return client.events().filter((event): event is OverBudgetEvent => event.type === 'over-budget');
}

function skippedTotal(client: TestClient, kind: keyof OverBudgetEvent['skipped']): number {
  return notices(client).reduce((sum, notice) => sum + notice.skipped[kind], 0);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('inspector: event budget', () => {
  it('under the budget, every message and state event reaches the client, in order, with no notice', async () => {
    const system = await inspectedSystem({ token: TOKEN }, TOGGLER);
    const client = await TestClient.open(wsUrl(system));
    const count = 500;
    for (let i = 0; i < count; i++) void system.tell('/toggler', 'inform', {}, { conversationId: `u-${i}` });
    await client.event((event) => event.type === 'delivered' && event.conversationId === `u-${count - 1}`);
    await client.event((event) => event.type === 'state' && event.event === 'inform' && client.events().filter((e) => e.type === 'state' && e.path === '/toggler').length === count);
    const expected = Array.from({ length: count }, (_, i) => `u-${i}`);
    expect(messages(client, 'sent', 'u-')).toEqual(expected);
    expect(messages(client, 'delivered', 'u-')).toEqual(expected);
    // Each delivery is followed by the transition it caused: off, on, off, ...
    const states = client.events().filter((event) => event.type === 'state' && event.path === '/toggler' && event.event === 'inform');
    expect(states.map((event) => (event as { value: unknown }).value)).toEqual(expected.map((_, i) => (i % 2 === 0 ? 'on' : 'off')));
    expect(notices(client)).toEqual([]);
    await client.close();
  });

  it('over the budget: counts instead of recording, tells the client, keeps lifecycle events, and catches the state up', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const budget = 30;
    const system = await inspectedSystem({ token: TOKEN, maxEventsPerSecond: budget }, TOGGLER);
    const client = await TestClient.open(wsUrl(system));
    const count = 201;
    for (let i = 0; i < count; i++) void system.tell('/toggler', 'inform', {}, { conversationId: `o-${i}` });
    const first = (await client.event((event) => event.type === 'over-budget')) as OverBudgetEvent;
    expect(first).toMatchObject({ maxEventsPerSecond: budget, at: Date.now() });
    expect(first.skipped.sent).toBeGreaterThan(0);

    // The budget is spent and the clock stands still: lifecycle events get through all the same.
    expect(system.suspend('/toggler')).toBe(true);
    await client.event((event) => event.type === 'suspended' && event.path === '/toggler');
    expect(system.resume('/toggler')).toBe(true);
    await client.event((event) => event.type === 'resumed' && event.path === '/toggler');
    await system.whenIdle();

    // A second later the budget has refilled: at the next turn (a suspension starts one), the
    // state that unrecorded changes left is sent as it is now.
    vi.setSystemTime(Date.now() + 1_000);
    system.suspend('/toggler');
    const caughtUp = await client.event((event) => event.type === 'state' && event.path === '/toggler' && event.event === '');
    expect(caughtUp).toMatchObject({ value: 'on' }); // 201 toggles from off
    await system.stop();
    await client.closed;

    // Every message was either recorded or counted, never both, never neither.
    const recordedSent = messages(client, 'sent', 'o-').length;
    const recordedDelivered = messages(client, 'delivered', 'o-').length;
    const recordedStates = client.events().filter((event) => event.type === 'state' && event.path === '/toggler' && event.event === 'inform').length;
    expect(recordedSent + skippedTotal(client, 'sent')).toBe(count);
    expect(recordedDelivered + skippedTotal(client, 'delivered')).toBe(count);
    expect(recordedStates + skippedTotal(client, 'state')).toBe(count);
    // What was recorded fits the budget: its burst, plus one second's refill (the one the test made), plus the catch-up.
    expect(recordedSent + recordedDelivered + recordedStates).toBeLessThanOrEqual(2 * budget);
    // Recorded messages are the earliest ones, in order.
    expect(messages(client, 'sent', 'o-')).toEqual(Array.from({ length: recordedSent }, (_, i) => `o-${i}`));
    // The agents still stopped in front of the client.
    expect(client.events().filter((event) => event.type === 'stopped').map((event) => (event as { path: string }).path)).toEqual(['/toggler', '/']);
  });

  it('the last counts are sent on their own when the flood ends, without another event to carry them', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const system = await inspectedSystem({ token: TOKEN, maxEventsPerSecond: 10 }, TOGGLER);
    const client = await TestClient.open(wsUrl(system));
    for (let i = 0; i < 40; i++) void system.tell('/toggler', 'inform', {}, { conversationId: `t-${i}` });
    await client.event((event) => event.type === 'over-budget');
    // The deliveries come in a later turn; their counts wait for the next notice, due a second on.
    vi.setSystemTime(Date.now() + 1_000);
    await client.next(() => skippedTotal(client, 'delivered') + messages(client, 'delivered', 't-').length === 40);
    expect(skippedTotal(client, 'sent') + messages(client, 'sent', 't-').length).toBe(40);
    await client.close();
  });

  it('dead letters count against the budget, and are counted when over it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const system = await inspectedSystem({ token: TOKEN, maxEventsPerSecond: 10 }, TOGGLER);
    const client = await TestClient.open(wsUrl(system));
    for (let i = 0; i < 30; i++) void system.tell('/nobody', 'inform', {}, { conversationId: `d-${i}` });
    await system.stop();
    await client.closed;
    const recorded = client.events().filter((event) => event.type === 'dead-letter').length;
    expect(recorded + skippedTotal(client, 'dead-letter')).toBe(30);
    expect(skippedTotal(client, 'dead-letter')).toBeGreaterThan(0);
  });

  it('takes Infinity for no budget, and rejects a budget that is not a whole number > 0', async () => {
    const system = await inspectedSystem({ token: TOKEN, maxEventsPerSecond: Number.POSITIVE_INFINITY }, TOGGLER);
    const client = await TestClient.open(wsUrl(system));
    for (let i = 0; i < 300; i++) void system.tell('/toggler', 'inform', {}, { conversationId: `i-${i}` });
    await client.event((event) => event.type === 'delivered' && event.conversationId === 'i-299');
    expect(messages(client, 'sent', 'i-')).toHaveLength(300);
    expect(notices(client)).toEqual([]);
    await client.close();
    for (const bad of [0, -5, 1.5, Number.NaN, '100' as unknown as number]) {
      await expect(inspectedSystem({ maxEventsPerSecond: bad }, TOGGLER)).rejects.toThrow(InspectorError);
    }
    await expect(inspectedSystem({ maxEventsPerSecond: 0 }, TOGGLER)).rejects.toThrow(/maxEventsPerSecond must be a whole number > 0/);
  });
});
