/**
 * The inspector attacks of issue 13, against the real server with real `ws` clients on
 * 127.0.0.1: snapshot bombs (memory that shares references, a huge statechart or tree), a
 * client that never reads its replies, snapshots without the token, token guessing, slot
 * exhaustion, and one address opening many connections. Each test failed before the defence
 * it names. Clocks are faked where a rate is measured; nothing sleeps.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setup } from 'xstate';
import { defineAgent, supervisor, type ServerMessage, type TreeEntry } from '../../src/index.js';
import { greeter, inspectedSystem, TOKEN, wsUrl } from './agents.js';
import { TestClient } from './client.js';
import { bombAgent, sharedReferences, workerBomb } from './hostile.js';

const MIB = 1 << 20;

afterEach(() => {
  vi.useRealTimers();
});

/** A machine of `count` states with long names: its statechart is large on the wire, small in memory. */
function wideAgent(count: number) {
  const states = Object.fromEntries(Array.from({ length: count }, (_, i) => [`state-${i}-${'w'.repeat(300)}`, {}]));
  return defineAgent({ name: 'wide', machine: setup({}).createMachine({ id: 'wide', initial: Object.keys(states)[0] as string, states }) });
}

/** 400 KB of memory (an LLM history, say), all of it distinct. */
const remembering = defineAgent({
  name: 'remembering',
  machine: setup({ types: { context: {} as { history: string[] } } }).createMachine({
    id: 'remembering',
    context: () => ({ history: Array.from({ length: 200 }, (_, i) => `${i}:${'h'.repeat(1_990)}`) }),
  }),
});

type Answer = Extract<ServerMessage, { type: 'reply' | 'error' }>;

function resultOf<T>(answer: Answer): T {
  if (answer.type !== 'reply') throw new Error(`${answer.code}: ${answer.message}`);
  return answer.result as T;
}

function answers(client: TestClient): Answer[] {
  return client.frames.filter((frame): frame is Answer => frame.type === 'reply' || frame.type === 'error');
}

describe('inspector attack: snapshot bombs', () => {
  it('memory sharing references is copied under the reply budget, counted in output bytes: the reply stays bounded and says it was cut', async () => {
    const system = await inspectedSystem({ token: TOKEN }, [
      { id: 'bomb', agent: bombAgent(3) },
      { id: 'bigger', agent: bombAgent(4) },
      { id: 'greeter', agent: greeter },
    ]);
    const client = await TestClient.open(wsUrl(system), { token: TOKEN });

    // 200³ paths (a 104 MB reply, 2.6 s of blocked event loop, when each path was expanded).
    const snapshot = await client.call({ type: 'snapshot', path: '/bomb', token: TOKEN });
    expect(client.sizeOf(snapshot)).toBeLessThanOrEqual(MIB);
    const shown = resultOf<{ truncated?: string; context: { bomb: unknown[] } }>(snapshot);
    expect(shown.truncated).toMatch(/the reply reached its budget of 1048576 bytes/);
    expect(JSON.stringify(shown.context)).toMatch(/\[truncated\] \d+ more items/);
    expect(shown.context.bomb.length).toBeGreaterThan(0);

    // 200⁴ paths (an out-of-memory crash before): the same bound.
    const bigger = await client.call({ type: 'snapshot', path: '/bigger', token: TOKEN });
    expect(client.sizeOf(bigger)).toBeLessThanOrEqual(MIB);

    // The same bomb as a queued message's content, and as the answer to a request sent from the inspector.
    system.suspend('/greeter');
    await system.tell('/greeter', 'inform', { payload: sharedReferences(4) });
    const head = await client.call({ type: 'snapshot', path: '/greeter', token: TOKEN });
    expect(client.sizeOf(head)).toBeLessThanOrEqual(MIB);
    expect(resultOf<{ truncated?: string }>(head).truncated).toMatch(/budget/);
    const answered = await client.call({ type: 'send', path: '/bomb', performative: 'request', content: {}, token: TOKEN });
    expect(client.sizeOf(answered)).toBeLessThanOrEqual(MIB);
    expect(resultOf<{ outcome: string }>(answered).outcome).toBe('answered');

    expect(await client.call({ type: 'ping' })).toMatchObject({ type: 'reply' });
    await client.close();
  });

  it('a worker agent\'s memory is copied under the same budget on its thread, and again here', { timeout: 60_000 }, async () => {
    const system = await inspectedSystem({ token: TOKEN }, [{ id: 'bomb', agent: workerBomb }]);
    const client = await TestClient.open(wsUrl(system), { token: TOKEN });
    const snapshot = await client.call({ type: 'snapshot', path: '/bomb' });
    expect(client.sizeOf(snapshot)).toBeLessThanOrEqual(MIB);
    expect(resultOf<{ truncated?: string; agent: string }>(snapshot)).toMatchObject({ agent: 'bomb-on-worker', truncated: expect.stringMatching(/budget of 1048576 bytes/) });
    await client.close();
  });

  it('a statechart larger than the budget is cut with a marker of what it leaves out', async () => {
    const budget = 64 * 1024;
    const system = await inspectedSystem({ token: TOKEN, maxReplyBytes: budget }, [{ id: 'wide', agent: wideAgent(400) }]);
    const client = await TestClient.open(wsUrl(system), { token: TOKEN });
    const chart = await client.call({ type: 'statechart', path: '/wide' });
    expect(client.sizeOf(chart)).toBeLessThanOrEqual(budget);
    const root = resultOf<{ truncated?: string; states: unknown[] }>(chart);
    expect(root.states.length).toBeGreaterThan(0);
    expect(root.states.length).toBeLessThan(400);
    expect(root.truncated).toBe(`${400 - root.states.length} states not shown: the reply reached its budget of ${budget} bytes`);
    await client.close();
  });

  it('the tree in the hello and in a tree reply is cut at the budget too', async () => {
    const budget = 16 * 1024;
    const children = Array.from({ length: 200 }, (_, i) => ({ id: `g${i}`, agent: greeter }));
    const system = await inspectedSystem({ token: TOKEN, maxReplyBytes: budget }, [{ id: 'many', agent: supervisor({ children }) }]);
    const client = await TestClient.open(wsUrl(system));
    const hello = client.frames[0] as ServerMessage;
    expect(client.sizeOf(hello)).toBeLessThanOrEqual(budget);
    const many = (hello as { tree: TreeEntry }).tree.children?.[0] as TreeEntry & { truncated?: string };
    expect(many.truncated).toMatch(/^\d+ children not shown: the reply reached its budget of 16384 bytes$/);
    const tree = await client.call({ type: 'tree' });
    expect(client.sizeOf(tree)).toBeLessThanOrEqual(budget);
    await client.close();
  });
});

describe('inspector attack: agents’ memory without the token', () => {
  it('a snapshot needs the token; with it, secrets are redacted by default patterns (keys and values)', async () => {
    const system = await inspectedSystem({ token: TOKEN });
    const owner = await TestClient.open(wsUrl(system), { token: TOKEN });
    const anonymous = await TestClient.open(wsUrl(system));
    expect(await anonymous.call({ type: 'snapshot', path: '/greeter' })).toMatchObject({ type: 'error', code: 'unauthorized', message: expect.stringMatching(/^snapshot needs the inspector token/) });
    expect(await anonymous.call({ type: 'snapshot', path: '/greeter', token: 'a-wrong-token' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    const seen = JSON.stringify(anonymous.frames);
    expect(seen).not.toContain('hunter2');
    expect(seen).not.toContain('sk-secret');

    system.suspend('/greeter');
    await system.tell('/greeter', 'inform', {
      headers: { Authorization: 'Bearer abcdefghijklmnopqrstuvwxyz012345' },
      note: 'the key sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA leaked into a prompt',
      clientSecret: 'shh',
      tokensUsed: 12,
    });
    const shown = resultOf<{ context: unknown; mailbox: { head: { content: unknown } } }>(await owner.call({ type: 'snapshot', path: '/greeter' }));
    expect(shown.context).toEqual({ greeted: 0, apiKey: '[redacted]', auth: { user: 'ada', password: '[redacted]' } });
    expect(shown.mailbox.head.content).toEqual({ headers: { Authorization: '[redacted]' }, note: 'the key [redacted] leaked into a prompt', clientSecret: '[redacted]', tokensUsed: 12 });
    await Promise.all([anonymous.close(), owner.close()]);
  });

  it('an inspector without a token shows no agent memory at all, and says how to turn it on', async () => {
    const system = await inspectedSystem({});
    const client = await TestClient.open(wsUrl(system));
    expect(await client.call({ type: 'snapshot', path: '/greeter' })).toMatchObject({ type: 'error', code: 'control-disabled', message: expect.stringContaining('inspector: { token }') });
    await client.close();
  });
});

describe('inspector attack: a client that never reads', { timeout: 30_000 }, () => {
  it('asking for a 400 KB snapshot 100 times holds a bounded amount for it: replies share the bounded queue, the rest are refused as busy', async () => {
    const system = await inspectedSystem({ token: TOKEN, requestsPerSecond: 10_000, burst: 10_000 }, [{ id: 'remembering', agent: remembering }]);
    const bystander = await TestClient.open(wsUrl(system), { token: TOKEN });
    const reader = await TestClient.open(wsUrl(system), { token: TOKEN });
    const socket = (reader.socket as unknown as { _socket: Socket })._socket;
    socket.pause();
    const asked = 100;
    for (let id = 0; id < asked; id++) reader.sendRaw(JSON.stringify({ id, type: 'snapshot', path: '/remembering' }));
    const stats = () => system.inspector?.clients() ?? [];
    await expect.poll(() => stats().reduce((sum, client) => sum + client.answered, 0), { timeout: 20_000 }).toBe(asked);
    // Before: 100 × 400 KB = 40 MB held for this one client, and growing with every request.
    const held = Math.max(...stats().map((client) => client.bufferedBytes));
    expect(held).toBeLessThanOrEqual(4 * MIB);

    // Each request got one answer (in the order they were ready, not asked), none lost.
    socket.resume();
    await reader.next(() => answers(reader).length === asked);
    const got = answers(reader);
    expect(new Set(got.map((answer) => answer.id)).size).toBe(asked);
    // The kernel's socket buffers (a few MB on loopback, not the server's memory) took some
    // replies before the bound applied; most requests were refused without being worked on.
    const full = got.filter((answer) => answer.type === 'reply');
    const busy = got.filter((answer) => answer.type === 'error' && answer.code === 'busy');
    expect(full.length).toBeGreaterThan(0);
    expect(full.length + busy.length).toBe(asked);
    expect(busy.length).toBeGreaterThanOrEqual(60);
    expect(await bystander.call({ type: 'snapshot', path: '/remembering' })).toMatchObject({ type: 'reply' });
    await Promise.all([reader.close(), bystander.close()]);
  });
});

describe('inspector attack: token guessing', () => {
  async function guess(url: string, token: string): Promise<Answer> {
    const client = await TestClient.open(url);
    const answer = await client.call({ type: 'suspend', path: '/greeter', token });
    await client.close();
    return answer;
  }

  it('each wrong token doubles the wait before the next from its address is checked, whatever the connection: at most 20 guesses a minute instead of hundreds a second', { timeout: 30_000 }, async () => {
    vi.useFakeTimers({ toFake: ['performance', 'Date'] });
    const system = await inspectedSystem({ token: TOKEN });
    const url = wsUrl(system);
    // As fast as the server answers, each guess on a fresh connection, the clock standing still.
    const burst: Answer[] = [];
    for (let i = 0; i < 30; i++) burst.push(await guess(url, `wrong-guess-${i}`));
    expect(burst.filter((answer) => answer.type === 'error' && answer.code === 'unauthorized')).toHaveLength(1);
    for (const answer of burst.slice(1)) expect(answer).toMatchObject({ type: 'error', code: 'rate-limited', message: expect.stringMatching(/too many wrong tokens .* not checked; try again in \d+ ms/) });

    // A minute of guessing as fast as allowed.
    let checked = 1;
    for (let step = 0; step < 240; step++) {
      vi.advanceTimersByTime(250);
      const answer = await guess(url, `wrong-${step}`);
      if (answer.type === 'error' && answer.code === 'unauthorized') checked++;
    }
    expect(checked).toBeLessThanOrEqual(20);
    expect(checked).toBeGreaterThanOrEqual(10); // slowed down, never shut

    // The right token is checked once the wait is over, and clears it.
    vi.advanceTimersByTime(5_000);
    expect(await guess(url, TOKEN)).toMatchObject({ type: 'reply', result: { changed: true } });
    expect(await guess(url, 'wrong-again')).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(system.lookup('/greeter')?.status).toBe('running');
  });

  it('a token in the handshake shares the wait: inside it the connection is refused (1013) unchecked; after it the right token gets in', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'Date'] });
    const system = await inspectedSystem({ token: TOKEN });
    const wrong = await TestClient.open(wsUrl(system), { token: 'not-the-token' });
    expect(wrong.frames[0]).toMatchObject({ type: 'hello', authenticated: false });
    await wrong.next((frame) => frame.type === 'error' && frame.code === 'unauthorized');
    const early = new TestClient(wsUrl(system), { token: TOKEN });
    expect(await early.closed).toMatchObject({ code: 1013, reason: expect.stringMatching(/too many wrong inspector tokens .*; retry in \d+ ms/) });
    // Another address (127.0.0.2 is loopback too, but not the same client address) has a wait of its own.
    const elsewhere = await TestClient.open(wsUrl(system), { token: TOKEN, localAddress: '127.0.0.2' });
    expect(elsewhere.frames[0]).toMatchObject({ type: 'hello', authenticated: true });
    vi.advanceTimersByTime(1_000);
    const owner = await TestClient.open(wsUrl(system), { token: TOKEN });
    expect(owner.frames[0]).toMatchObject({ type: 'hello', authenticated: true });
    await Promise.all([wrong.close(), elsewhere.close(), owner.close()]);
  });
});

describe('inspector attack: slot exhaustion', () => {
  it('connections without the token cannot take the slots kept for the token: the real page still gets in', async () => {
    const system = await inspectedSystem({ token: TOKEN });
    const squatters: TestClient[] = [];
    let refused: { code: number; reason: string } | undefined;
    while (refused === undefined) {
      if (squatters.length > 40) throw new Error('no connection was ever refused');
      const client = new TestClient(wsUrl(system));
      const outcome = await Promise.race([client.next((frame) => frame.type === 'hello').then(() => undefined), client.closed]);
      if (outcome === undefined) squatters.push(client);
      else refused = outcome;
    }
    expect(squatters).toHaveLength(24);
    expect(refused).toEqual({ code: 1013, reason: 'too many inspector clients without the token (24); the other 8 slots are kept for clients with it' });

    const owners = await Promise.all(Array.from({ length: 8 }, () => TestClient.open(wsUrl(system), { token: TOKEN })));
    expect(owners[0]?.frames[0]).toMatchObject({ type: 'hello', authenticated: true });
    expect(await owners[0]?.call({ type: 'snapshot', path: '/greeter' })).toMatchObject({ type: 'reply' });
    const oneTooMany = new TestClient(wsUrl(system), { token: TOKEN });
    expect((await oneTooMany.closed).code).toBe(1013);
    await Promise.all([...squatters, ...owners].map((client) => client.close()));
  });
});

describe('inspector attack: many connections from one address', () => {
  it('connections without the token share one request budget per address; a client with the token keeps its own', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const system = await inspectedSystem({ token: TOKEN, requestsPerSecond: 1, burst: 10 });
    const anonymous = await Promise.all(Array.from({ length: 5 }, () => TestClient.open(wsUrl(system))));
    for (const client of anonymous) for (let i = 0; i < 10; i++) client.sendRaw(JSON.stringify({ id: i, type: 'ping' }));
    await Promise.all(anonymous.map((client) => client.next(() => answers(client).length >= 10)));
    const served = anonymous.reduce((sum, client) => sum + answers(client).filter((answer) => answer.type === 'reply').length, 0);
    expect(served).toBe(10);
    const owner = await TestClient.open(wsUrl(system), { token: TOKEN });
    const own = await Promise.all(Array.from({ length: 10 }, () => owner.call({ type: 'ping' })));
    expect(own.every((answer) => answer.type === 'reply')).toBe(true);
    await Promise.all([...anonymous, owner].map((client) => client.close()));
  });

  it('new connections without the token are limited per address: past the burst they are refused with 1013', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const system = await inspectedSystem({ token: TOKEN, maxClients: 4 });
    let opened = 0;
    let refusal: { code: number; reason: string } | undefined;
    while (refusal === undefined) {
      if (opened > 100) throw new Error('never refused');
      const client = new TestClient(wsUrl(system));
      const outcome = await Promise.race([client.next((frame) => frame.type === 'hello').then(() => undefined), client.closed]);
      if (outcome !== undefined) refusal = outcome;
      else {
        opened++;
        await client.close();
      }
    }
    expect(opened).toBe(4);
    expect(refusal).toEqual({ code: 1013, reason: 'too many new inspector connections from 127.0.0.1; try again in a second' });
    const owner = await TestClient.open(wsUrl(system), { token: TOKEN });
    expect(owner.frames[0]).toMatchObject({ type: 'hello', authenticated: true });
    await owner.close();
  });
});
