/**
 * Hardening found in review: a redact list cannot reach Object.prototype, a context or
 * content with an own "__proto__" key is shown as it is, a client that never answers the
 * close handshake cannot hold the system's stop, an event JSON cannot take does not crash the
 * system, per-path memory goes with agents that stop, and the terminal never receives
 * control sequences from the stream.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { createSystem, defineAgent, supervisor, type InspectorEvent } from '../../src/index.js';
import { silentLogger } from '../bench/support.js';
import { formatEvent, formatTree } from '../../src/inspector/terminal-client.js';
import { EventStream, type EventBatch } from '../../src/inspector/event-stream.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { CHILDREN, greeter, inspectedSystem, TOKEN, wsUrl } from './agents.js';
import { TestClient } from './client.js';

function runtimeOf(system: object): Runtime {
  return (system as { runtime: Runtime }).runtime;
}

describe('inspector: no prototype pollution from what clients send', () => {
  it('a redact list walks own fields only: "__proto__.toString" changes nothing outside the copy', async () => {
    // No default secret patterns: only the listed fields are redacted.
    const system = await inspectedSystem({ token: TOKEN, redact: ['__proto__.valueOf'], secretKeys: [] });
    const client = await TestClient.open(wsUrl(system), { token: TOKEN });
    const toString = Object.prototype.toString;
    const valueOf = Object.prototype.valueOf;
    const reply = await client.call({ type: 'snapshot', path: '/greeter', redact: ['__proto__.toString', 'constructor.prototype.toString', 'auth.__proto__.hasOwnProperty', 'apiKey'] });
    expect(Object.prototype.toString).toBe(toString);
    expect(Object.prototype.valueOf).toBe(valueOf);
    expect(Object.prototype.hasOwnProperty).toBeTypeOf('function');
    expect(reply).toMatchObject({ type: 'reply', result: { context: { apiKey: '[redacted]', auth: { user: 'ada', password: 'hunter2' } } } });
    await client.close();
  });

  it('content with an own "__proto__" key is shown as a field, and can be redacted', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system), { token: TOKEN });
    system.suspend('/greeter');
    // JSON.parse makes "__proto__" an own data field, as any message from outside may carry.
    const content = JSON.parse('{"__proto__":{"admin":true,"role":"s","secret":"x"},"plain":1}') as unknown;
    await system.tell('/greeter', 'inform', content);
    const shown = await client.call({ type: 'snapshot', path: '/greeter' });
    expect(shown).toMatchObject({ type: 'reply' });
    const head = (shown as { result: { mailbox: { head: { content: Record<string, unknown> } } } }).result.mailbox.head.content;
    expect(Object.hasOwn(head, '__proto__')).toBe(true);
    // A field named like a secret is redacted by default, under "__proto__" as anywhere.
    expect(JSON.stringify(head)).toBe('{"__proto__":{"admin":true,"role":"s","secret":"[redacted]"},"plain":1}');
    const redacted = await client.call({ type: 'snapshot', path: '/greeter', redact: ['__proto__.role'] });
    const redactedHead = (redacted as { result: { mailbox: { head: { content: unknown } } } }).result.mailbox.head.content;
    expect(JSON.stringify(redactedHead)).toBe('{"__proto__":{"admin":true,"role":"[redacted]","secret":"[redacted]"},"plain":1}');
    expect(({} as { admin?: unknown }).admin).toBeUndefined();
    await client.close();
  });
});

/** A WebSocket client by hand that reads but never answers the close handshake. */
async function deafClient(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.on('data', () => undefined);
  return { socket, closed };
}

describe('inspector: closing', () => {
  // ws alone waits 30 s for a close answer: past this test's timeout.
  it('a client that never answers the close handshake does not hold the system stop; its connection is cut', { timeout: 15_000 }, async () => {
    const system = await inspectedSystem();
    const deaf = await deafClient(system.inspector?.port as number);
    const polite = await TestClient.open(wsUrl(system));
    await system.stop();
    expect((await polite.closed).code).toBe(1001);
    await deaf.closed;
    expect(deaf.socket.destroyed).toBe(true);
  });
});

describe('inspector: events JSON cannot take', () => {
  it('an event with a bigint or a cycle is streamed made safe; the system and the stream go on', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    // A future kernel event (the LLM limiter's, say) carrying what JSON.stringify throws on.
    runtimeOf(system).emit({ type: 'limiter', path: '/greeter', at: 1, tokens: 10n, detail: cyclic } as never);
    const odd = (await client.event((event) => event.type === ('limiter' as string))) as unknown as Record<string, unknown>;
    expect(odd).toMatchObject({ path: '/greeter', tokens: '10n', detail: { name: 'loop', self: '[circular]' } });
    await system.request('/greeter', { name: 'Ada' });
    await client.event((event) => event.type === 'delivered' && event.receiver === '/greeter');
    await client.close();
  });
});

describe('inspector: memory per path', () => {
  it('forgets the mailbox depth and state of agents that stopped for good', async () => {
    const system = await inspectedSystem({ token: TOKEN }, [...CHILDREN, { id: 'pool', agent: supervisor({ children: [], template: { agent: greeter, restart: 'temporary' } }) }]);
    const batches: EventBatch[] = [];
    const stream = new EventStream(runtimeOf(system), (batch) => batches.push(batch));
    stream.attach();
    for (let i = 0; i < 20; i++) {
      const child = await system.startChild('/pool', { id: `g${i}` });
      await system.request(child.path, { name: 'Ada' });
      await new Promise<void>((resolve) => setImmediate(resolve));
      await system.terminateChild('/pool', `g${i}`);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    const kept = stream as unknown as { lastDepth: Map<string, number>; lastNodes: Map<string, unknown> };
    expect([...kept.lastDepth.keys()].filter((path) => path.startsWith('/pool/'))).toEqual([]);
    expect([...kept.lastNodes.keys()].filter((path) => path.startsWith('/pool/'))).toEqual([]);
    expect(batches.length).toBeGreaterThan(0);
    stream.detach();
  });
});

describe('troupe inspect: no control sequences reach the terminal', () => {
  it('escapes C0/C1 controls in paths, conversation ids, reasons and values', () => {
    const nasty = '\u001b]0;owned\u0007\u001b[2J\u009b31m';
    const events: InspectorEvent[] = [
      { type: 'sent', at: 0, performative: 'inform', sender: '/a', receiver: '/b', conversationId: nasty, lamport: 1 },
      { type: 'dead-letter', at: 0, performative: 'inform', sender: '/a', receiver: '/b', conversationId: 'c', lamport: 1, reason: nasty },
      { type: 'state', at: 0, path: '/a', incarnation: null, value: nasty, event: nasty },
      { type: 'failed', at: 0, path: '/a', reason: nasty },
      { type: 'over-budget', at: 0, since: 0, maxEventsPerSecond: 10, skipped: { sent: 1, delivered: 2, state: 0, [nasty]: 3 } as never },
    ];
    for (const event of events) {
      const line = formatEvent(event, false);
      expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    }
    const colored = formatEvent(events[0] as InspectorEvent, true);
    // Only the client's own colour codes remain.
    expect(colored.replace(/\u001b\[\d+m/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    const tree = formatTree({ id: nasty, path: `/${nasty}`, kind: 'agent', status: nasty, incarnation: nasty, restarts: 0 }, false);
    expect(tree.join('\n')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describe('inspector: a system that ends while its inspector starts', () => {
  it('closes the inspector too: nothing keeps listening for a system that is gone', async () => {
    const finished = defineAgent({ name: 'finished', machine: setup({}).createMachine({ initial: 'done', states: { done: { type: 'final' } } }) });
    const system = await createSystem({
      root: supervisor({ autoShutdown: 'any-significant', children: [{ id: 'once', agent: finished, restart: 'transient', significant: true }] }),
      logger: silentLogger,
      inspector: { port: 0 },
    });
    await system.whenTerminated;
    const port = system.inspector?.port as number;
    await system.stop();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});

describe('inspector: XState dispatch point', () => {
  it('another XState inspector of the system still sees everything while a client is attached; detaching restores the dispatch point', async () => {
    const system = await inspectedSystem();
    const xsystem = runtimeOf(system).xsystem as { _sendInspectionEvent: unknown; inspect(observer: (event: { type: string }) => void): { unsubscribe(): void } };
    const original = xsystem._sendInspectionEvent;
    const seen: string[] = [];
    const subscription = xsystem.inspect((event) => seen.push(event.type));
    const client = await TestClient.open(wsUrl(system));
    expect(xsystem._sendInspectionEvent).not.toBe(original);
    await system.request('/greeter', { name: 'Ada' });
    await client.event((event) => event.type === 'delivered');
    expect(seen).toEqual(expect.arrayContaining(['@xstate.event', '@xstate.snapshot', '@xstate.action', '@xstate.microstep']));
    await client.close();
    await new Promise<void>((resolve) => {
      const check = (): void => (xsystem._sendInspectionEvent === original ? resolve() : void setImmediate(check));
      check();
    });
    subscription.unsubscribe();
  });
});

describe('inspector: frames under a message flood', () => {
  it('hands a long turn out in frames of at most 256 events, every event once and in order', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    for (let i = 0; i < 1_000; i++) void system.tell('/nobody', 'inform', {}, { conversationId: `flood-${i}` });
    await client.event((event) => event.type === 'dead-letter' && event.conversationId === 'flood-999');
    const frames = client.frames.filter((frame) => frame.type === 'events');
    expect(frames.every((frame) => frame.type === 'events' && frame.events.length <= 256)).toBe(true);
    const order = client.events().filter((event) => event.type === 'sent' && event.conversationId.startsWith('flood-')).map((event) => (event as { conversationId: string }).conversationId);
    expect(order).toEqual(Array.from({ length: 1_000 }, (_, i) => `flood-${i}`));
    await client.close();
  });

  it('a batch the inspector cannot hand out is logged, never thrown into the agent that sent', async () => {
    const system = await inspectedSystem();
    const stream = new EventStream(runtimeOf(system), () => {
      throw new Error('a broken client');
    });
    stream.attach();
    for (let i = 0; i < 300; i++) await system.request('/greeter', { name: `n${i}` });
    expect(system.lookup('/greeter')?.status).toBe('running');
    expect(system.metrics('/greeter')).toMatchObject({ processed: 300, restarts: 0 });
    stream.detach();
  });
});
