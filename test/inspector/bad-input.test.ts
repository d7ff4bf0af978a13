/**
 * Every bad input the inspector can get, over real connections: each gets a clear error or a
 * close with a code, and the server keeps serving the other clients. Also the slow client,
 * which loses its oldest events with a `dropped` notice instead of growing memory.
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { InspectorEvent } from '../../src/index.js';
import { inspectedSystem, wsUrl } from './agents.js';
import { TestClient } from './client.js';

/** The other client is still served: it gets an answer. */
async function stillServes(client: TestClient): Promise<void> {
  expect(await client.call({ type: 'ping' })).toMatchObject({ type: 'reply', result: { pong: expect.any(Number) } });
}

describe('inspector: malformed requests get an error reply and the connection stays', () => {
  const CASES: readonly (readonly [string, string, { id: number | null; code: string; message: RegExp }])[] = [
    ['invalid JSON', '{"type": "tree",', { id: null, code: 'invalid-json', message: /not JSON/ }],
    ['a JSON array', '[1,2]', { id: null, code: 'invalid-request', message: /JSON object/ }],
    ['a request without an id', '{"type":"tree"}', { id: null, code: 'invalid-request', message: /"id"/ }],
    ['a request without a type', '{"id":7}', { id: 7, code: 'invalid-request', message: /"type"/ }],
    ['an unknown type', '{"id":8,"type":"eval","code":"process.exit()"}', { id: 8, code: 'unknown-type', message: /unknown request type "eval"/ }],
    ['a snapshot without a path', '{"id":9,"type":"snapshot"}', { id: 9, code: 'invalid-request', message: /"path"/ }],
    ['a snapshot with a bad redact', '{"id":10,"type":"snapshot","path":"/greeter","redact":"apiKey"}', { id: 10, code: 'invalid-request', message: /"redact"/ }],
    ['a send with a bad timeout', '{"id":11,"type":"send","path":"/greeter","performative":"request","timeoutMs":-1}', { id: 11, code: 'invalid-request', message: /timeoutMs/ }],
  ];

  it.each(CASES)('%s', async (_name, frame, expected) => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    client.sendRaw(frame);
    const error = await client.next((received) => received.type === 'error');
    expect(error).toMatchObject({ type: 'error', id: expected.id, code: expected.code, message: expect.stringMatching(expected.message) });
    await stillServes(client);
    expect(system.lookup('/greeter')?.status).toBe('running');
    await client.close();
  });

  it('a binary frame', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    client.sendRaw(Buffer.from('{"id":1,"type":"tree"}'), true);
    expect(await client.next((frame) => frame.type === 'error')).toMatchObject({ code: 'binary-frame' });
    await stillServes(client);
    await client.close();
  });
});

describe('inspector: abusive clients are closed with a code; everyone else is still served', () => {
  it('an oversize frame closes its connection with 1009', async () => {
    const system = await inspectedSystem({ token: 'inspector-test-token', maxFrameBytes: 1_024 });
    const bystander = await TestClient.open(wsUrl(system));
    const client = await TestClient.open(wsUrl(system));
    client.sendRaw(JSON.stringify({ id: 1, type: 'send', path: '/greeter', performative: 'inform', content: 'x'.repeat(2_000) }));
    expect((await client.closed).code).toBe(1009);
    await stillServes(bystander);
    expect(system.metrics('/greeter')?.processed).toBe(0);
    await bystander.close();
  });

  it('past its burst, a client gets rate-limited errors and stays connected', async () => {
    const system = await inspectedSystem({ token: 'inspector-test-token', requestsPerSecond: 1, burst: 10 });
    const client = await TestClient.open(wsUrl(system));
    const answers = await Promise.all(Array.from({ length: 10 }, () => client.call({ type: 'ping' })));
    expect(answers.every((answer) => answer.type === 'reply')).toBe(true);
    client.sendRaw(JSON.stringify({ id: 'over', type: 'ping' }));
    // One token per second: the eleventh request within the same second is refused (a second of stall would let it pass).
    const refused = await client.next((frame) => frame.type === 'error' || (frame.type === 'reply' && frame.id === 'over'));
    expect(refused).toMatchObject({ type: 'error', id: null, code: 'rate-limited', message: expect.stringContaining('more than 1 requests per second') });
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    await client.close();
  });

  it('a flood gets rate-limited errors, then a close with 1008', async () => {
    const system = await inspectedSystem({ token: 'inspector-test-token', requestsPerSecond: 5, burst: 10 });
    // With the token: its requests are not drawn from the budget the flooder shares with every client without it.
    const bystander = await TestClient.open(wsUrl(system), { token: 'inspector-test-token' });
    const flooder = await TestClient.open(wsUrl(system));
    for (let i = 0; i < 200; i++) flooder.sendRaw(JSON.stringify({ id: i, type: 'ping' }));
    const closed = await flooder.closed;
    expect(closed).toEqual({ code: 1008, reason: 'rate limit exceeded: too many requests' });
    // At most the burst was served (replies still on their way when the flood closed the
    // connection are lost with it); the requests past it were refused with a reason.
    expect(flooder.frames.filter((frame) => frame.type === 'reply').length).toBeLessThanOrEqual(11);
    expect(flooder.frames.filter((frame) => frame.type === 'error' && frame.code === 'rate-limited').length).toBeGreaterThan(0);
    await stillServes(bystander);
    await bystander.close();
  });

  it('a page from a foreign origin is closed with 1008', async () => {
    const system = await inspectedSystem();
    const foreign = new TestClient(wsUrl(system), { origin: 'http://evil.example' });
    expect(await foreign.closed).toEqual({ code: 1008, reason: 'origin http://evil.example is not allowed' });
    expect(foreign.frames).toEqual([]); // not even the hello: nothing about the system leaks
    const own = await TestClient.open(wsUrl(system), { origin: new URL(system.inspector?.url as string).origin });
    await stillServes(own);
    await own.close();
  });

  it('an allowed extra origin may connect', async () => {
    const system = await inspectedSystem({ allowedOrigins: ['https://dashboard.example'] });
    const client = await TestClient.open(wsUrl(system), { origin: 'https://dashboard.example' });
    await stillServes(client);
    await client.close();
  });

  it('clients past the maximum are closed with 1013', async () => {
    const system = await inspectedSystem({ maxClients: 1 });
    const first = await TestClient.open(wsUrl(system));
    const second = new TestClient(wsUrl(system));
    expect((await second.closed).code).toBe(1013);
    await stillServes(first);
    await first.close();
  });
});

describe('inspector: a slow client', { timeout: 30_000 }, () => {
  it('loses its oldest events with a dropped notice; its buffer stays bounded and the system is not slowed', async () => {
    const bufferEvents = 200;
    const system = await inspectedSystem({ token: 'inspector-test-token', bufferEvents });
    const slow = await TestClient.open(wsUrl(system));
    const fast = await TestClient.open(wsUrl(system));
    // Stop reading: the kernel's buffers fill, then the server must hold or drop.
    (slow.socket as unknown as { _socket: Socket })._socket.pause();
    const padding = 'c'.repeat(400);
    let rounds = 0;
    while ((system.inspector?.clients().find((client) => client.dropped > 0) ?? undefined) === undefined) {
      if (++rounds > 400) throw new Error('the slow client never lost an event');
      for (let i = 0; i < 500; i++) await system.tell('/nobody', 'inform', {}, { conversationId: `${padding}-${rounds}-${i}` });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    for (const client of system.inspector?.clients() ?? []) expect(client.queuedEvents).toBeLessThanOrEqual(bufferEvents);
    await system.tell('/nobody', 'inform', {}, { conversationId: 'the-last-one' });
    const isLast = (event: InspectorEvent): boolean => event.type === 'dead-letter' && event.conversationId === 'the-last-one';
    await fast.event(isLast);
    (slow.socket as unknown as { _socket: Socket })._socket.resume();
    await slow.event(isLast);
    const dropped = slow.frames.filter((frame) => frame.type === 'dropped').reduce((sum, frame) => sum + (frame.type === 'dropped' ? frame.count : 0), 0);
    expect(dropped).toBeGreaterThan(0);
    // Everything sent is either received or counted as dropped; the fast client lost nothing.
    const sent = 1 + 500 * rounds;
    expect(slow.events().filter((event) => event.type === 'sent').length + slow.events().filter((event) => event.type === 'dead-letter').length + dropped).toBe(2 * sent);
    expect(fast.events().filter((event) => event.type === 'dead-letter').length).toBe(sent);
    expect(fast.frames.some((frame) => frame.type === 'dropped')).toBe(false);
    await Promise.all([slow.close(), fast.close()]);
  });
});

describe('inspector: HTTP', () => {
  it('serves the page, its script and style; 404 elsewhere; 405 for other methods', async () => {
    const system = await inspectedSystem();
    const base = system.inspector?.url as string;
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/inspector.js">');
    expect((await fetch(new URL('/inspector.js', base))).headers.get('content-type')).toContain('text/javascript');
    expect((await fetch(new URL('/inspector.css', base))).status).toBe(200);
    expect((await fetch(new URL('/../../package.json', base))).status).toBe(404);
    expect((await fetch(new URL('/secrets', base))).status).toBe(404);
    expect((await fetch(base, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});
