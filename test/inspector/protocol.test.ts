/**
 * The inspector protocol over a real `ws` client: hello and tree, the event stream in order,
 * queries, and control with and without the token.
 */
import { describe, expect, it } from 'vitest';
import { fromCallback, setup } from 'xstate';
import { createSystem, defineAgent, InspectorError, PROTOCOL_VERSION, supervisor, type InspectorEvent, type TreeEntry } from '../../src/index.js';
import { silentLogger } from '../bench/support.js';
import { EventLog } from '../support/event-log.js';
import { CHILDREN, inspectedSystem, TOKEN, workerGreeter, wsUrl } from './agents.js';
import { TestClient } from './client.js';
import { worker } from '../workers/agents.js';

function childOf(tree: TreeEntry, path: string): TreeEntry {
  const found = tree.children?.find((child) => child.path === path);
  if (found === undefined) throw new Error(`no ${path} in the tree`);
  return found;
}

describe('inspector: connection', () => {
  it('greets with the protocol version, the system name, and the current tree', async () => {
    const system = await inspectedSystem();
    expect(system.inspector?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const client = await TestClient.open(wsUrl(system));
    const hello = client.frames[0];
    if (hello?.type !== 'hello') throw new Error('the first frame is not hello');
    expect(hello).toMatchObject({ protocol: PROTOCOL_VERSION, system: 'inspected', control: true, authenticated: false });
    expect(hello.tree).toMatchObject({ path: '/', kind: 'supervisor', status: 'running' });
    expect(childOf(hello.tree, '/greeter')).toMatchObject({ kind: 'agent', status: 'running', incarnation: system.lookup('/greeter')?.incarnation, restarts: 0, mailbox: 0, suspended: false });
    expect(childOf(hello.tree, '/caller')).toMatchObject({ kind: 'agent', status: 'running' });
    await client.close();
  });

  it('starts once: a second root or inspector on the same system is refused, the first keeps serving', async () => {
    const system = await inspectedSystem();
    const url = system.inspector?.url;
    await expect(system.startInspector({ token: TOKEN })).rejects.toMatchObject({ code: 'already-started' });
    expect(() => system.startRoot(supervisor({ children: CHILDREN }))).toThrow(expect.objectContaining({ code: 'already-started' }));
    expect(system.inspector?.url).toBe(url);
    const client = await TestClient.open(wsUrl(system));
    expect(client.frames[0]?.type).toBe('hello');
    await client.close();
  });

  it('starts nothing without the option', async () => {
    const system = await createSystem({ root: supervisor({ children: CHILDREN }), logger: silentLogger });
    expect(system.inspector).toBeUndefined();
    await system.stop();
  });

  it('rejects bad options with a clear error and leaves no agent running', async () => {
    let started = 0;
    let stopped = 0;
    // Its invoked callback is cleaned up when the agent stops.
    const counted = defineAgent({
      name: 'counted',
      machine: setup({
        actors: {
          watcher: fromCallback(() => {
            started++;
            return () => stopped++;
          }),
        },
      }).createMachine({ invoke: { src: 'watcher' } }),
    });
    await expect(inspectedSystem({ token: 'short' }, [{ id: 'counted', agent: counted }])).rejects.toThrow(InspectorError);
    expect({ started, stopped }).toEqual({ started: 1, stopped: 1 });
    await expect(inspectedSystem({ port: 70_000 })).rejects.toThrow(/inspector port must be 0\.\.65535/);
    await expect(inspectedSystem({ token: 'short' })).rejects.toThrow(/at least 8 characters/);
    await expect(inspectedSystem({ maxFrameBytes: -1 })).rejects.toThrow(/maxFrameBytes/);
    await expect(inspectedSystem({ host: '' })).rejects.toThrow(/inspector host/);
    await expect(inspectedSystem({ allowedOrigins: 'http://x' as unknown as string[] })).rejects.toThrow(InspectorError);
  });

  it('reports a port that is taken, and stops the system it could not inspect', async () => {
    const first = await inspectedSystem();
    const port = first.inspector?.port as number;
    await expect(inspectedSystem({ port })).rejects.toThrow(/could not listen on 127\.0\.0\.1:\d+/);
  });

  it('closes clients with 1001 when the system stops, after they saw the agents stop', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    await system.stop();
    expect((await client.closed).code).toBe(1001);
    expect(client.events().filter((event) => event.type === 'stopped').map((event) => (event as { path: string }).path)).toEqual(['/caller', '/greeter', '/']);
  });
});

describe('inspector: event stream', () => {
  it('streams a request between two agents in order: sent, delivered, state transition, the answer', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    await system.tell('/caller', 'inform', { name: 'Ada' });
    await client.event((event) => event.type === 'delivered' && event.receiver === '/caller' && event.sender === '/greeter');

    const messages = client.events().filter((event): event is Extract<InspectorEvent, { type: 'sent' | 'delivered' }> => event.type === 'sent' || event.type === 'delivered');
    const trace = messages.map((event) => `${event.type} ${event.performative} ${event.sender}→${event.receiver}`);
    expect(trace).toEqual([
      'sent inform /$system→/caller',
      'delivered inform /$system→/caller',
      'sent request /caller→/greeter',
      'delivered request /caller→/greeter',
      'sent inform /greeter→/caller',
      'delivered inform /greeter→/caller',
    ]);
    // One conversation from the caller's request on; Lamport times grow along the causal chain.
    const request = messages[2] as (typeof messages)[number];
    const answer = messages[4] as (typeof messages)[number];
    expect(answer.conversationId).toBe(request.conversationId);
    expect(answer.inReplyTo).toBe(request.replyWith);
    expect(answer.lamport).toBeGreaterThan(request.lamport);

    const transition = client.events().find((event) => event.type === 'state' && event.path === '/greeter' && event.event === 'request');
    expect(transition).toMatchObject({ value: 'warm', incarnation: system.lookup('/greeter')?.incarnation });
    // The transition comes after the delivery that caused it.
    const all = client.events();
    expect(all.indexOf(transition as InspectorEvent)).toBeGreaterThan(all.indexOf(messages[3] as InspectorEvent));
    await client.close();
  });

  it('streams where answers go when the sender names a reply-to (a conversation port, say)', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    await system.tell('/greeter', 'inform', {}, { conversationId: 'with-reply-to', replyTo: '/caller' });
    const sent = await client.event((event) => event.type === 'sent' && event.conversationId === 'with-reply-to');
    expect(sent).toMatchObject({ sender: '/$system', receiver: '/greeter', replyTo: '/caller' });
    await client.close();
  });

  it('streams dead letters with their reason', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    await system.tell('/nobody', 'inform', { x: 1 }, { conversationId: 'lost-1' });
    const dead = await client.event((event) => event.type === 'dead-letter');
    expect(dead).toMatchObject({ performative: 'inform', receiver: '/nobody', conversationId: 'lost-1', reason: 'no-such-agent' });
    await client.close();
  });

  it('streams lifecycle events, suspension and mailbox depths', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    expect(system.suspend('/greeter')).toBe(true);
    for (let i = 0; i < 3; i++) await system.tell('/greeter', 'inform', {});
    await client.event((event) => event.type === 'mailbox' && event.path === '/greeter' && event.depth === 3);
    expect(system.resume('/greeter')).toBe(true);
    await client.event((event) => event.type === 'mailbox' && event.path === '/greeter' && event.depth === 0);
    await system.terminateChild('/', 'greeter');
    await system.restartChild('/', 'greeter');
    await client.event((event) => event.type === 'started' && event.path === '/greeter');
    const lifecycle = client.events().filter((event) => ['suspended', 'resumed', 'stopped', 'started'].includes(event.type));
    expect(lifecycle.map((event) => `${event.type} ${(event as { path: string }).path}`)).toEqual(['suspended /greeter', 'resumed /greeter', 'stopped /greeter', 'started /greeter']);
    await client.close();
  });

  it('detaches from the runtime when the last client leaves, and attaches again for the next', async () => {
    const system = await inspectedSystem();
    const runtime = (system as unknown as { runtime: { tap: { active: boolean } } }).runtime;
    expect(runtime.tap.active).toBe(false); // no client yet: sends pay one empty check
    const first = await TestClient.open(wsUrl(system));
    expect(runtime.tap.active).toBe(true);
    await first.close();
    await new Promise<void>((resolve) => {
      const check = (): void => (!runtime.tap.active ? resolve() : void setImmediate(check));
      check();
    });
    await system.tell('/greeter', 'inform', {});
    await system.whenIdle();
    const second = await TestClient.open(wsUrl(system));
    await system.tell('/greeter', 'inform', {}, { conversationId: 'second' });
    const sent = await second.event((event) => event.type === 'sent');
    // Nothing from the detached stretch was kept for the next client.
    expect(sent).toMatchObject({ conversationId: 'second' });
    await second.close();
  });
});

describe('inspector: queries', () => {
  it('answers the tree', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    const reply = await client.call({ type: 'tree' });
    if (reply.type !== 'reply') throw new Error(reply.message);
    expect(childOf(reply.result as TreeEntry, '/greeter')).toMatchObject({ status: 'running', mailbox: 0 });
    await client.close();
  });

  it('answers a snapshot: state, context with redacted fields, mailbox depth and head, incarnation and restarts', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system), { token: TOKEN });
    await system.request('/greeter', { name: 'Ada' });
    system.suspend('/greeter');
    await system.tell('/greeter', 'inform', { note: 'queued', password: 'in-a-message' }, { conversationId: 'head-1' });
    const reply = await client.call({ type: 'snapshot', path: '/greeter', redact: ['apiKey', 'auth.password', 'password'] });
    if (reply.type !== 'reply') throw new Error(reply.message);
    expect(reply.result).toMatchObject({
      path: '/greeter',
      agent: 'greeter',
      status: 'running',
      incarnation: system.lookup('/greeter')?.incarnation,
      restarts: 0,
      suspended: true,
      state: { status: 'active', value: 'warm', active: ['greeter', 'greeter.warm'] },
      context: { greeted: 1, apiKey: '[redacted]', auth: { user: 'ada', password: '[redacted]' } },
      mailbox: { depth: 1, capacity: 1_000, overflow: 'reject', head: { performative: 'inform', conversationId: 'head-1', content: { note: 'queued', password: '[redacted]' } } },
      processed: 1,
    });
    await client.close();
  });

  it('answers the statechart from the machine definition', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    const reply = await client.call({ type: 'statechart', path: '/greeter' });
    if (reply.type !== 'reply') throw new Error(reply.message);
    expect(reply.result).toMatchObject({
      id: 'greeter',
      initial: 'greeter.idle',
      transitions: [{ event: 'inform', targets: [], guarded: false }],
      states: [
        { id: 'greeter.idle', key: 'idle', type: 'atomic', transitions: [{ event: 'request', targets: ['greeter.warm'] }] },
        { id: 'greeter.warm', key: 'warm', type: 'atomic', transitions: [{ event: 'request', targets: ['greeter.idle'] }] },
      ],
    });
    await client.close();
  });

  it('answers a snapshot and the statechart of an agent on a worker thread, its machine described there', { timeout: 60_000 }, async () => {
    const system = await inspectedSystem({ token: TOKEN }, [{ id: 'greeter', agent: workerGreeter }]);
    const client = await TestClient.open(wsUrl(system), { token: TOKEN });
    await system.request('/greeter', { name: 'Ada' }, { timeoutMs: 20_000 });
    // Its mailbox lives on this thread: its depth is streamed as an inline agent's is.
    await expect.poll(() => client.events().some((event) => event.type === 'mailbox' && event.path === '/greeter'), { timeout: 10_000 }).toBe(true);
    const reply = await client.call({ type: 'snapshot', path: '/greeter', redact: ['apiKey', 'auth.password'] });
    if (reply.type !== 'reply') throw new Error(reply.message);
    expect(reply.result).toMatchObject({
      path: '/greeter',
      agent: 'greeter-on-worker',
      status: 'running',
      incarnation: system.lookup('/greeter')?.incarnation,
      suspended: false,
      state: { status: 'active', value: 'warm', active: ['greeter', 'greeter.warm'] },
      context: { greeted: 1, apiKey: '[redacted]', auth: { user: 'ada', password: '[redacted]' } },
      mailbox: { depth: 0, head: null },
      processed: 1,
    });
    const chart = await client.call({ type: 'statechart', path: '/greeter' });
    if (chart.type !== 'reply') throw new Error(chart.message);
    expect(chart.result).toMatchObject({ id: 'greeter', initial: 'greeter.idle' });
    const tree = await client.call({ type: 'tree' });
    if (tree.type !== 'reply') throw new Error(tree.message);
    expect(childOf(tree.result as TreeEntry, '/greeter')).toMatchObject({ kind: 'agent', status: 'running', mailbox: 0, suspended: false });
    expect(await client.call({ type: 'suspend', path: '/greeter', token: TOKEN })).toMatchObject({ type: 'error', code: 'failed', message: expect.stringMatching(/runs on a worker thread .*inline agents only/) });
    await client.close();
  });

  it('fails a snapshot query about a worker agent whose thread is stuck, with what to do', { timeout: 60_000 }, async () => {
    const system = await inspectedSystem({ token: TOKEN }, [{ id: 'stuck', agent: worker, shutdownMs: 200 }]);
    const client = await TestClient.open(wsUrl(system), { token: TOKEN });
    await system.request('/stuck', { op: 'loop-later' }, { acceptAgree: true, timeoutMs: 20_000 });
    const reply = await client.call({ type: 'snapshot', path: '/stuck' });
    expect(reply).toMatchObject({ type: 'error', code: 'failed', message: expect.stringMatching(/did not describe \/stuck within 5000 ms: it is busy in a long handler or stuck; ask again later/) });
    await client.close();
  });

  it('answers not-found for a path without an agent', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system), { token: TOKEN });
    expect(await client.call({ type: 'snapshot', path: '/nobody' })).toMatchObject({ type: 'error', code: 'not-found', message: 'no agent at /nobody' });
    expect(await client.call({ type: 'statechart', path: '/' })).toMatchObject({ type: 'error', code: 'not-found' });
    await client.close();
  });
});

describe('inspector: control', () => {
  const CONTROLS = [
    { type: 'stop', path: '/greeter' },
    { type: 'restart', path: '/greeter' },
    { type: 'suspend', path: '/greeter' },
    { type: 'resume', path: '/greeter' },
    { type: 'send', path: '/greeter', performative: 'inform', content: {} },
  ] as const;

  it.each(CONTROLS)('$type without the token or with a wrong one: an error reply, nothing changes', async (request) => {
    const system = await inspectedSystem();
    const log = new EventLog(system);
    const client = await TestClient.open(wsUrl(system));
    const incarnation = system.lookup('/greeter')?.incarnation;
    expect(await client.call(request)).toMatchObject({ type: 'error', code: 'unauthorized', message: expect.stringContaining('none was given') });
    expect(await client.call({ ...request, token: 'not-the-token' })).toMatchObject({ type: 'error', code: 'unauthorized', message: expect.stringContaining('wrong') });
    expect(await client.call({ ...request, token: 42 })).toMatchObject({ type: 'error', code: 'invalid-request' });
    await system.whenIdle();
    expect(system.lookup('/greeter')).toMatchObject({ status: 'running', incarnation });
    expect(system.metrics('/greeter')?.processed).toBe(0);
    expect(log.events.filter((event) => event.path === '/greeter')).toEqual([]);
    await client.close();
  });

  it('refuses control when the inspector has no token', async () => {
    const system = await inspectedSystem({});
    const client = await TestClient.open(wsUrl(system));
    expect(client.frames[0]).toMatchObject({ type: 'hello', control: false });
    expect(await client.call({ type: 'stop', path: '/greeter', token: 'anything-at-all' })).toMatchObject({ type: 'error', code: 'control-disabled' });
    expect(system.lookup('/greeter')?.status).toBe('running');
    await client.close();
  });

  it('restarts an agent with the token: a new incarnation, its restart streamed', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    const before = system.lookup('/greeter')?.incarnation;
    const reply = await client.call({ type: 'restart', path: '/greeter', token: TOKEN });
    if (reply.type !== 'reply') throw new Error(reply.message);
    const after = system.lookup('/greeter')?.incarnation;
    expect(after).not.toBe(before);
    expect(reply.result).toEqual({ restarted: '/greeter', incarnation: after });
    await client.event((event) => event.type === 'started' && event.path === '/greeter' && event.incarnation === after);
    await expect(system.request('/greeter', { name: 'Ada' })).resolves.toMatchObject({ content: { text: 'Hello, Ada' } });
    await client.close();
  });

  it('restarting a temporary child stops it, as OTP would not restart it, and says so', async () => {
    const system = await inspectedSystem(undefined, [{ id: 'greeter', agent: (await import('./agents.js')).greeter, restart: 'temporary' }]);
    const client = await TestClient.open(wsUrl(system));
    expect(await client.call({ type: 'restart', path: '/greeter', token: TOKEN })).toMatchObject({ type: 'error', code: 'failed', message: expect.stringContaining('temporary child') });
    expect(system.lookup('/greeter')).toBeUndefined();
    expect(await client.call({ type: 'restart', path: '/nobody', token: TOKEN })).toMatchObject({ type: 'error', code: 'failed' });
    await client.close();
  });

  it('stops an agent with the token; its supervisor keeps the spec', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    expect(await client.call({ type: 'stop', path: '/greeter', token: TOKEN })).toMatchObject({ type: 'reply', result: { stopped: '/greeter' } });
    expect(system.whichChildren('/').find((child) => child.id === 'greeter')?.status).toBe('stopped');
    expect(await client.call({ type: 'stop', path: '/greeter', token: TOKEN })).toMatchObject({ type: 'error', code: 'not-found' });
    expect(await client.call({ type: 'stop', path: '/', token: TOKEN })).toMatchObject({ type: 'error', code: 'invalid-request' });
    await client.close();
  });

  it('suspends and resumes an agent: its messages queue meanwhile, then are all handled in order', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    expect(await client.call({ type: 'suspend', path: '/greeter', token: TOKEN })).toMatchObject({ type: 'reply', result: { changed: true } });
    expect(await client.call({ type: 'suspend', path: '/greeter', token: TOKEN })).toMatchObject({ type: 'reply', result: { changed: false } });
    const answers = [system.request('/greeter', { name: 'A' }), system.request('/greeter', { name: 'B' })];
    await system.whenIdle();
    expect(system.metrics('/greeter')).toMatchObject({ queueDepth: 2, processed: 0 });
    expect(await client.call({ type: 'resume', path: '/greeter', token: TOKEN })).toMatchObject({ type: 'reply', result: { changed: true } });
    expect((await Promise.all(answers)).map((answer) => answer.content)).toEqual([{ text: 'Hello, A' }, { text: 'Hello again, B' }]);
    await client.close();
  });

  it('sends an ACL message: a tell is queued, a request comes back with its answer', async () => {
    const system = await inspectedSystem();
    const client = await TestClient.open(wsUrl(system));
    expect(await client.call({ type: 'send', path: '/greeter', token: TOKEN, performative: 'inform', content: {} })).toMatchObject({ type: 'reply', result: { outcome: 'queued' } });
    expect(await client.call({ type: 'send', path: '/greeter', token: TOKEN, performative: 'request', content: { name: 'Ada' } })).toMatchObject({
      type: 'reply',
      result: { outcome: 'answered', answer: { performative: 'inform', sender: '/greeter', content: { text: 'Hello, Ada' } } },
    });
    expect(await client.call({ type: 'send', path: '/greeter', token: TOKEN, performative: 'cfp', content: {} })).toMatchObject({
      type: 'reply',
      result: { outcome: 'answered', answer: { performative: 'not-understood' } },
    });
    expect(await client.call({ type: 'send', path: '/nobody', token: TOKEN, performative: 'inform' })).toMatchObject({ type: 'reply', result: { outcome: 'refused' } });
    expect(await client.call({ type: 'send', path: '/greeter', token: TOKEN, performative: 'shout' })).toMatchObject({ type: 'error', code: 'invalid-request', message: expect.stringContaining('FIPA performative') });
    expect((system.snapshot('/greeter') as { context: { greeted: number } }).context.greeted).toBe(101);
    await client.close();
  });

  it('takes the token from the handshake; a wrong one there is reported and gives no control; one in the URL is never read', async () => {
    const system = await inspectedSystem();
    const authorized = await TestClient.open(wsUrl(system), { token: TOKEN });
    expect(authorized.frames[0]).toMatchObject({ type: 'hello', authenticated: true });
    expect(await authorized.call({ type: 'suspend', path: '/greeter' })).toMatchObject({ type: 'reply', result: { changed: true } });
    const inUrl = await TestClient.open(`${wsUrl(system)}?token=${TOKEN}`);
    expect(inUrl.frames[0]).toMatchObject({ type: 'hello', authenticated: false });
    await inUrl.next((frame) => frame.type === 'error' && frame.code === 'invalid-request' && frame.message.startsWith('a token in the connection URL is not read'));
    expect(await inUrl.call({ type: 'resume', path: '/greeter' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    const wrong = await TestClient.open(wsUrl(system), { token: 'nope-nope-nope' });
    expect(wrong.frames[0]).toMatchObject({ type: 'hello', authenticated: false });
    await wrong.next((frame) => frame.type === 'error' && frame.code === 'unauthorized');
    expect(await wrong.call({ type: 'resume', path: '/greeter' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(system.lookup('/greeter')).toBeDefined();
    expect((system.whichChildren('/')[0] as { status: string }).status).toBe('running');
    await Promise.all([authorized.close(), inUrl.close(), wrong.close()]);
  });
});

describe('inspector: message events written by hand', () => {
  it('are the JSON of the same event, for plain and for awkward strings', async () => {
    const { messageJson } = await import('../../src/inspector/event-stream.js');
    const { createMessage } = await import('../../src/index.js');
    for (const conversationId of ['abc-1.2', 'with "quotes" and \\ and \n and ✓', '']) {
      const message = createMessage({ performative: 'request', sender: '/a', receiver: '/$ask/3', conversationId, lamport: 7, replyWith: 'r.1', content: {} });
      expect(JSON.parse(messageJson('sent', message, 123))).toEqual({ type: 'sent', at: 123, performative: 'request', sender: '/a', receiver: '/$ask/3', conversationId, lamport: 7, replyWith: 'r.1' });
    }
  });
});
