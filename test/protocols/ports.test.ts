import { fromCallback, setup, type AnyActorRef } from 'xstate';
import { z } from 'zod';
import { describe, expect, it, vi } from 'vitest';
import {
  createSystem,
  defineAgent,
  DeadlineError,
  queryIf,
  queryRef,
  RefusedError,
  reply,
  subscribe,
  supervisor,
  UnexpectedReplyError,
  type AclMessage,
  type ChildSpec,
  type System,
} from '../../src/index.js';
import { findProtocolHost } from '../../src/agent/protocol-host.js';
import { Ports } from '../../src/runtime/ports.js';
import { latch } from '../support/latch.js';
import { stoppedAfterEach } from '../support/systems.js';

const track = stoppedAfterEach();
async function start(children: ChildSpec[] = []): Promise<System> {
  const system = await createSystem({ root: supervisor({ children }) });
  track(system);
  return system;
}

/** Answers `request` by telling the asker's reply-to address `count` informs, then records everything. */
const echo = (log: AclMessage[]) =>
  defineAgent({
    name: 'echo',
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      on: {
        '*': { actions: ({ event }) => log.push(event) },
        'query-ref': { actions: reply('inform', { not: 'a ref' }) },
        'query-if': { actions: reply('inform-if', { holds: true }) },
        subscribe: { actions: reply('refuse', { reason: 'no subscriptions here' }) },
      },
    }),
  });

describe('conversation ports (kernel)', () => {
  it('hands messages to the listener in a microtask, never during the send', async () => {
    const system = await start([{ id: 'echo', agent: echo([]) }]);
    const host = system.protocolHost;
    const got: AclMessage[] = [];
    const port = host.openPort((message) => got.push(message));
    host.post('/echo', 'inform', { hello: 1 }, { replyTo: port.address });
    // A message straight to the port (as an answer would come):
    host.post(port.address, 'inform', { direct: true });
    expect(got).toEqual([]);
    await Promise.resolve();
    expect(got.map((message) => message.content)).toEqual([{ direct: true }]);
    port.close();
  });

  it('a message to a closed port is recorded and answered not-understood (conversation-ended), never an answer of that kind', async () => {
    const log: AclMessage[] = [];
    const system = await start([{ id: 'echo', agent: echo(log) }]);
    const host = system.protocolHost;
    const port = host.openPort(() => undefined);
    port.close();
    const letters: string[] = [];
    system.deadLetters.subscribe((letter) => letters.push(`${letter.reason}:${letter.message.performative}`));
    await system.tell(port.address, 'propose', { late: true }, { sender: '/echo', replyWith: 'r1' });
    await system.tell(port.address, 'failure', { reason: 'x' }, { sender: '/echo' });
    await system.whenIdle();
    expect(letters).toEqual(['no-waiting-request:propose', 'no-waiting-request:failure']);
    expect(log.map((message) => [message.performative, message.inReplyTo, (message.content as { reason: string }).reason])).toEqual([['not-understood', 'r1', 'conversation-ended']]);
  });

  it('a port nobody opened is no-such-agent; closing with messages queued answers them as closed', async () => {
    const log: AclMessage[] = [];
    const system = await start([{ id: 'echo', agent: echo(log) }]);
    const host = system.protocolHost;
    const letters: string[] = [];
    system.deadLetters.subscribe((letter) => letters.push(`${letter.reason}:${letter.message.performative}`));
    await system.tell('/$port/zzz', 'inform', {}, { sender: '/echo' });
    const got: AclMessage[] = [];
    const port = host.openPort((message) => got.push(message));
    host.post(port.address, 'inform', { queued: true }, { replyWith: 'q' });
    port.close(); // before the microtask that would hand it over
    await system.whenIdle();
    expect(got).toEqual([]);
    // The queued inform is recorded; its not-understood goes to its sender, /$system, which is nobody.
    expect(letters).toEqual(['no-such-agent:inform', 'no-waiting-request:inform', 'no-such-agent:not-understood']);
  });

  it('a listener that throws is reported and the next message is still delivered', async () => {
    const system = await start();
    const host = system.protocolHost;
    const error = vi.spyOn(system.logger, 'error').mockImplementation(() => undefined);
    const got: unknown[] = [];
    const port = host.openPort((message) => {
      if ((message.content as { n: number }).n === 1) throw new Error('listener bug');
      got.push(message.content);
    });
    host.post(port.address, 'inform', { n: 1 });
    host.post(port.address, 'inform', { n: 2 });
    await Promise.resolve();
    expect(got).toEqual([{ n: 2 }]);
    expect(error).toHaveBeenCalled();
    port.close();
  });

  it('refuses to open a port or send once the system is stopped', async () => {
    const system = await start();
    const host = system.protocolHost;
    await system.stop();
    expect(() => host.openPort(() => undefined)).toThrow(/stopped/);
    expect(() => host.post('/x', 'inform', {})).toThrow(/stopped/);
  });
});

describe('conversation ports: nothing lost, nothing leaked', () => {
  it('knows its closed ports in a thread namespace too, and never another namespace\'s', () => {
    const addressedTo = (receiver: string) => ({ receiver }) as AclMessage;
    const onThread = new Ports(() => undefined, () => undefined, 'w3.');
    const port = onThread.openPort(() => undefined);
    port.close();
    expect(port.address).toBe('/$port/w3.0');
    expect(onThread.deliver(addressedTo(port.address))).toBe('closed');
    expect(onThread.deliver(addressedTo('/$port/w4.0'))).toBe('unknown');
    const onMain = new Ports(() => undefined, () => undefined);
    onMain.openPort(() => undefined).close();
    expect(onMain.deliver(addressedTo('/$port/0'))).toBe('closed');
    expect(onMain.deliver(addressedTo(port.address))).toBe('unknown');
  });

  it('a port closed long ago is still known as closed (no bounded memory of closed ports)', async () => {
    const log: AclMessage[] = [];
    const system = await start([{ id: 'echo', agent: echo(log) }]);
    const host = system.protocolHost;
    const first = host.openPort(() => undefined);
    first.close();
    for (let i = 0; i < 10_001; i++) host.openPort(() => undefined).close();
    await system.tell(first.address, 'propose', {}, { sender: '/echo', replyWith: 'old' });
    await system.whenIdle();
    expect(log.map((message) => [message.performative, message.inReplyTo, (message.content as { reason: string }).reason])).toEqual([['not-understood', 'old', 'conversation-ended']]);
  });

  it('an agent\'s ports close when its incarnation ends, even those its logic forgot to close', async () => {
    const opened = latch<string>();
    const got: AclMessage[] = [];
    const forgetful = defineAgent({
      name: 'forgetful',
      machine: setup({
        actors: {
          leak: fromCallback(({ self }) => {
            // Opens a port and never closes it, not even when stopped.
            opened.open(findProtocolHost(self as AnyActorRef).openPort((message) => got.push(message)).address);
          }),
        },
      }).createMachine({ invoke: { src: 'leak' } }),
    });
    const log: AclMessage[] = [];
    const system = await start([
      { id: 'echo', agent: echo(log) },
      { id: 'forgetful', agent: forgetful, restart: 'temporary' },
    ]);
    const address = await opened.promise;
    await system.tell(address, 'inform', { n: 1 }, { sender: '/echo' });
    await system.whenIdle();
    expect(got).toHaveLength(1);
    await system.terminateChild('/', 'forgetful');
    await system.tell(address, 'inform', { n: 2 }, { sender: '/echo' });
    await system.whenIdle();
    expect(got).toHaveLength(1);
    expect(log.map((message) => (message.content as { reason: string }).reason)).toEqual(['conversation-ended']);
  });
});

describe('query and subscribe call forms', () => {
  it('queryIf resolves with inform-if; queryRef rejects an answer that is not inform-ref', async () => {
    const system = await start([{ id: 'echo', agent: echo([]) }]);
    await expect(queryIf(system, '/echo', { p: 1 }, { expect: z.object({ holds: z.boolean() }) })).resolves.toMatchObject({ performative: 'inform-if', content: { holds: true } });
    await expect(queryRef(system, '/echo', {})).rejects.toBeInstanceOf(UnexpectedReplyError);
  });

  it('subscribe rejects with RefusedError when refused, DeadlineError when nobody agrees in time', async () => {
    const silent = defineAgent({ name: 'silent', machine: setup({ types: { events: {} as AclMessage } }).createMachine({ on: { subscribe: { actions: () => undefined } } }) });
    const system = await start([
      { id: 'echo', agent: echo([]) },
      { id: 'silent', agent: silent },
    ]);
    await expect(subscribe(system, '/echo', {}, { onInform: () => undefined })).rejects.toBeInstanceOf(RefusedError);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const pending = subscribe(system, '/silent', {}, { onInform: () => undefined, timeoutMs: 100 });
    const rejected = expect(pending).rejects.toBeInstanceOf(DeadlineError);
    await vi.advanceTimersByTimeAsync(100);
    await rejected;
  });

  it('a subscription ends, and says so, when its publisher crashes or stops', async () => {
    const publisher = defineAgent({
      name: 'publisher',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          subscribe: { actions: reply('agree') },
          request: {
            actions: () => {
              throw new Error('publisher bug');
            },
          },
        },
      }),
    });
    const system = await start([{ id: 'pub', agent: publisher }]);
    vi.spyOn(system.logger, 'error').mockImplementation(() => undefined);
    const errors: Error[] = [];
    const subscription = await subscribe(system, '/pub', {}, { onInform: () => undefined, onError: (error) => errors.push(error) });
    expect(subscription.active).toBe(true);
    await system.tell('/pub', 'request', {});
    await system.whenIdle();
    expect(subscription.active).toBe(false);
    expect(errors).toEqual([expect.objectContaining({ name: 'SubscriptionEndedError', code: 'subscription-ended', message: expect.stringContaining('/pub') })]);
  });

  it('an inform that does not match expect goes to onError and cancels the subscription', async () => {
    const cancelled = latch<AclMessage>();
    const publisher = defineAgent({
      name: 'publisher',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          subscribe: { actions: [reply('agree'), reply('inform', { value: 'not a number' })] },
          cancel: { actions: ({ event }) => cancelled.open(event) },
        },
      }),
    });
    const system = await start([{ id: 'pub', agent: publisher }]);
    const errors: Error[] = [];
    const subscription = await subscribe(system, '/pub', {}, { expect: z.object({ value: z.number() }), onInform: () => undefined, onError: (error) => errors.push(error) });
    const cancel = await cancelled.promise;
    expect(cancel.conversationId).toBe(subscription.conversationId);
    expect(subscription.active).toBe(false);
    expect(errors).toEqual([expect.any(UnexpectedReplyError)]);
  });
});
