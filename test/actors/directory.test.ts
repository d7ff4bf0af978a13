import { setup } from 'xstate';
import { z } from 'zod';
import { describe, expect, it, vi } from 'vitest';
import {
  contractNet,
  contractor,
  createSystem,
  defineAgent,
  DirectoryAnswer,
  directoryChild,
  NotUnderstoodError,
  queryIf,
  queryRef,
  subscribe,
  supervisor,
  tell,
  type AclMessage,
  type ChildSpec,
  type DirectoryEntry,
  type System,
} from '../../src/index.js';
import { latch } from '../support/latch.js';
import { jobs } from '../protocols/participants.js';
import { stoppedAfterEach } from '../support/systems.js';

const track = stoppedAfterEach();
async function start(children: ChildSpec[], options: Parameters<typeof supervisor>[0] = {}): Promise<System> {
  const system = await createSystem({ root: supervisor({ intensity: { maxRestarts: 10, withinMs: 60_000 }, ...options, children: [directoryChild(), ...children] }) });
  track(system);
  return system;
}

/** An agent that registers itself at start and crashes on `request`. */
const worker = (service: string) =>
  defineAgent({
    name: 'worker',
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      entry: tell('/df', 'request', { action: 'register', services: [{ name: service, ontology: 'jobs', properties: { region: 'eu' } }] }),
      on: {
        request: {
          actions: () => {
            throw new Error('crash on request');
          },
        },
      },
    }),
  });

const search = async (system: System, query: object): Promise<string[]> => (await queryRef(system, '/df', query, { expect: DirectoryAnswer })).content.map((entry) => entry.agent).sort();

async function settle(system: System): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await system.whenIdle();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('directory facilitator', () => {
  it('registers, searches by name, ontology and properties, answers query-if, deregisters', async () => {
    const system = await start([]);
    await system.request('/df', { action: 'register', agent: '/a', services: [{ name: 'haul', ontology: 'jobs', properties: { region: 'eu' } }] });
    await system.request('/df', { action: 'register', agent: '/b', services: [{ name: 'haul', properties: { region: 'us' } }, { name: 'paint' }] });
    expect(await search(system, { service: 'haul' })).toEqual(['/a', '/b']);
    expect(await search(system, { service: 'haul', properties: { region: 'us' } })).toEqual(['/b']);
    expect(await search(system, { ontology: 'jobs' })).toEqual(['/a']);
    expect(await search(system, { service: 'fly' })).toEqual([]);
    const holds = await queryIf(system, '/df', { service: 'paint' }, { expect: z.object({ holds: z.boolean() }) });
    expect(holds).toMatchObject({ performative: 'inform-if', content: { holds: true } });
    await system.request('/df', { action: 'deregister', agent: '/b', services: ['haul'] });
    expect(await search(system, { service: 'haul' })).toEqual(['/a']);
    expect(await search(system, { service: 'paint' })).toEqual(['/b']);
    await system.request('/df', { action: 'deregister', agent: '/b' });
    expect(await search(system, {})).toEqual(['/a']);
  });

  it('answers a malformed request not-understood and changes nothing', async () => {
    const system = await start([]);
    await expect(system.request('/df', { action: 'register', services: [] })).rejects.toBeInstanceOf(NotUnderstoodError);
    await expect(system.request('/df', { action: 'explode' })).rejects.toBeInstanceOf(NotUnderstoodError);
    expect(await search(system, {})).toEqual([]);
  });

  it('normalises the agent path of a registration, so that its agent stopping still removes it; a bad path is not-understood', async () => {
    const system = await start([{ id: 'w', agent: worker('haul') }]);
    await settle(system);
    await system.request('/df', { action: 'register', agent: '/w/', services: [{ name: 'weld' }] });
    expect(await search(system, { service: 'weld' })).toEqual(['/w']);
    await expect(system.request('/df', { action: 'register', agent: '/a//b', services: [{ name: 'weld' }] })).rejects.toBeInstanceOf(NotUnderstoodError);
    await expect(system.request('/df', { action: 'deregister', agent: 'w' })).rejects.toBeInstanceOf(NotUnderstoodError);
    await system.terminateChild('/', 'w');
    await settle(system);
    expect(await search(system, {})).toEqual([]);
  });

  it('hides an agent while it is down after a crash, shows it again when it restarts, drops it when it stops for good', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const system = await start([{ id: 'w', agent: worker('haul') }], { backoff: { minMs: 1_000, maxMs: 1_000, jitter: 0 } });
    await settle(system);
    expect(await search(system, { service: 'haul' })).toEqual(['/w']);
    await system.request('/w', {}).catch(() => undefined); // crashes; the restart waits 1 s of backoff
    await settle(system);
    expect(system.lookup('/w')?.status).not.toBe('running');
    expect(await search(system, { service: 'haul' })).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    await settle(system);
    expect(system.lookup('/w')?.status).toBe('running');
    expect(await search(system, { service: 'haul' })).toEqual(['/w']);
    await system.terminateChild('/', 'w');
    await settle(system);
    expect(await search(system, { service: 'haul' })).toEqual([]);
  });

  it('brings back a registration made on an agent\'s behalf when the agent restarts', async () => {
    const system = await start([{ id: 'w', agent: worker('haul') }]);
    await system.request('/df', { action: 'register', agent: '/w', services: [{ name: 'weld' }] });
    await system.request('/w', {}).catch(() => undefined);
    await settle(system);
    expect(system.lookup('/w')?.restarts).toBe(1);
    expect(await search(system, { service: 'weld' })).toEqual(['/w']);
  });

  it('subscribe: agree, the current answer, an inform on every change, nothing after cancel', async () => {
    const system = await start([]);
    const seen: string[][] = [];
    const subscription = await subscribe<DirectoryEntry[]>(system, '/df', { service: 'haul' }, { expect: DirectoryAnswer, onInform: (entries) => seen.push(entries.map((entry) => entry.agent)) });
    await system.request('/df', { action: 'register', agent: '/a', services: [{ name: 'haul' }] });
    await system.request('/df', { action: 'register', agent: '/b', services: [{ name: 'paint' }] }); // no change for this query
    await system.request('/df', { action: 'register', agent: '/c', services: [{ name: 'haul' }] });
    await settle(system);
    expect(seen).toEqual([[], ['/a'], ['/a', '/c']]);
    subscription.cancel();
    expect(subscription.active).toBe(false);
    await settle(system);
    await system.request('/df', { action: 'deregister', agent: '/a' });
    await settle(system);
    expect(seen).toHaveLength(3);
    expect((system.snapshot('/df') as { context: { subscriptions: unknown[] } }).context.subscriptions).toEqual([]);
  });

  it('drops the subscriptions of a subscriber agent that stops (no leak of dead subscribers)', async () => {
    const informed = latch();
    const subscriber = defineAgent({
      name: 'subscriber',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        entry: tell('/df', 'subscribe', { service: 'haul' }),
        on: { agree: {}, inform: { actions: () => informed.open() } },
      }),
    });
    const system = await start([{ id: 's', agent: subscriber, restart: 'temporary' }]);
    await informed.promise;
    const subscriptions = (): unknown[] => (system.snapshot('/df') as { context: { subscriptions: unknown[] } }).context.subscriptions;
    expect(subscriptions()).toHaveLength(1);
    await system.terminateChild('/', 's');
    await settle(system);
    expect(subscriptions()).toEqual([]);
  });

  it('drops the subscriptions of a subscriber restarted as a bystander (its new incarnation never subscribed)', async () => {
    const informed = latch();
    const subscriber = defineAgent({
      name: 'subscriber',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        entry: tell('/df', 'subscribe', { service: 'haul' }),
        on: { agree: {}, inform: { actions: () => informed.open() } },
      }),
    });
    const crasher = defineAgent({
      name: 'crasher',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          request: {
            actions: () => {
              throw new Error('crash');
            },
          },
        },
      }),
    });
    const group = supervisor({ strategy: 'one-for-all', intensity: { maxRestarts: 10, withinMs: 60_000 }, children: [{ id: 's', agent: subscriber }, { id: 'c', agent: crasher }] });
    const system = await start([{ id: 'team', agent: group }]);
    vi.spyOn(system.logger, 'error').mockImplementation(() => undefined);
    await informed.promise;
    const subscriptions = (): AclMessage[] => (system.snapshot('/df') as { context: { subscriptions: { message: AclMessage }[] } }).context.subscriptions.map((entry) => entry.message);
    expect(subscriptions()).toHaveLength(1);
    const first = subscriptions()[0]!.senderIncarnation;
    await system.request('/team/c', {}).catch(() => undefined); // /team/s is halted and restarted with it
    await settle(system);
    // Only the new incarnation's own subscription is left.
    expect(subscriptions().map((message) => message.senderIncarnation)).toEqual([system.lookup('/team/s')?.incarnation]);
    expect(subscriptions()[0]!.senderIncarnation).not.toBe(first);
  });

  it('a contract net finds its participants by service name through the directory', async () => {
    const bidder = (cost: number) => contractor({ ontology: jobs, bid: () => ({ cost }), perform: () => ({ done: cost }) });
    const system = await start([
      { id: 'x', agent: bidder(4) },
      { id: 'y', agent: bidder(2) },
      { id: 'z', agent: bidder(1) },
    ]);
    await system.request('/df', { action: 'register', agent: '/x', services: [{ name: 'haul' }] });
    await system.request('/df', { action: 'register', agent: '/y', services: [{ name: 'haul' }] });
    await system.request('/df', { action: 'register', agent: '/z', services: [{ name: 'paint' }] });
    const outcome = await contractNet(system, { ontology: jobs, task: { size: 1 }, participants: { service: 'haul' }, evaluate: (bids) => [...bids].sort((a, b) => a.proposal.cost - b.proposal.cost).slice(0, 1) });
    expect(outcome.participants.map((entry) => entry.participant).sort()).toEqual(['/x', '/y']);
    expect(outcome.results).toEqual([expect.objectContaining({ participant: '/y', result: { done: 2 } })]);
  });

  it('a contract net whose directory does not answer within replyByMs fails with discovery-failed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const mute = defineAgent({ name: 'mute-df', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { 'query-ref': { actions: () => undefined } } }) });
    const system = await createSystem({ root: supervisor({ children: [{ id: 'df', agent: mute }] }) });
    track(system);
    const pending = contractNet(system, { ontology: jobs, task: { size: 1 }, participants: { service: 'haul' }, evaluate: () => [], replyByMs: 300 });
    const failed = expect(pending).rejects.toMatchObject({ code: 'discovery-failed', message: expect.stringContaining('300 ms') });
    await vi.advanceTimersByTimeAsync(300);
    await failed;
  });

  it('a contract net whose directory is missing fails with ContractNetError (discovery-failed)', async () => {
    const system = await createSystem({ root: supervisor({ children: [] }) });
    track(system);
    await expect(contractNet(system, { ontology: jobs, task: { size: 1 }, participants: { service: 'haul' }, evaluate: () => [] })).rejects.toMatchObject({ code: 'discovery-failed' });
  });
});
