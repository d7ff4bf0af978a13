/**
 * A hostile agent on a worker thread posts raw messages straight to its thread's parent port,
 * past the kernel on the thread, as any agent code can. Whatever it posts, the main process
 * survives. A thread that breaks the worker protocol is terminated and its agents restarted
 * as after a crash: every request open on it is answered `failure` once, the other agents
 * keep answering, and what it forged reaches nobody. A forgery within the protocol (an answer
 * to a request it was not asked, a log line claiming another agent) is refused, and the
 * thread goes on.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSystem, supervisor, type System, type SystemEvent } from '../../src/index.js';
import { greeter, worker } from './agents.js';
import { forwarder, hostile, keeper, mate, recorder } from './hostile-agents.js';
import { failureOf } from '../support/failures.js';
import { stoppedAfterEach } from '../support/systems.js';

/** Bounds waits that include a thread's boot, which a loaded machine can make slow (nothing is timed). */
const POLL = { timeout: 30_000 };
const SLOW = { timeout: 120_000 };
const ThreadAnswer = z.object({ thread: z.number() });
const track = stoppedAfterEach();

interface Scene {
  readonly system: System;
  readonly events: SystemEvent[];
  readonly lines: Record<string, unknown>[];
  /** The thread of each worker agent: the hostile one shares its thread with `/mate`, `/other` has its own. */
  readonly threads: { readonly hostile: number; readonly mate: number; readonly other: number };
}

/** A system with the hostile agent and a mate on one thread, another worker agent on a second, and inline agents. */
async function scene(): Promise<Scene> {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const system = track(
    await createSystem({
      root: supervisor({
        intensity: { maxRestarts: 10, withinMs: 60_000 },
        // Placed in this order on a pool of two: hostile and mate on one thread, other on the second.
        children: [
          { id: 'hostile', agent: hostile },
          { id: 'other', agent: worker },
          { id: 'mate', agent: mate },
          { id: 'recorder', agent: recorder },
          { id: 'keeper', agent: keeper },
        ],
      }),
      logger: pino({ level: 'info' }, stream),
      workers: { size: 2 },
    }),
  );
  const events: SystemEvent[] = [];
  system.subscribe((event) => events.push(event));
  const threads = await threadsOf(system);
  expect(threads.mate).toBe(threads.hostile);
  expect(threads.other).not.toBe(threads.hostile);
  return { system, events, lines, threads };
}

async function threadOf(system: System, path: string): Promise<number> {
  const answer = await system.request(path, { op: 'echo' }, { expect: ThreadAnswer, timeoutMs: 60_000 });
  return answer.content.thread;
}

async function threadsOf(system: System): Promise<Scene['threads']> {
  const [hostileThread, mateThread, otherThread] = await Promise.all(['/hostile', '/mate', '/other'].map((path) => threadOf(system, path)));
  return { hostile: hostileThread as number, mate: mateThread as number, other: otherThread as number };
}

/** Has the hostile agent post `post` (see `made` in hostile-agents.ts) to its parent port, then answer. */
function attack(system: System, post: unknown[], tag: string): Promise<unknown> {
  return system.request('/hostile', { op: 'post', post }, { timeoutMs: 60_000, options: { replyWith: tag } });
}

/** An ACL message as it crosses a thread, every field present; `content` says it was forged. */
function wire(fields: { readonly sender: unknown; readonly receiver: string; readonly performative?: string; readonly [key: string]: unknown }): Record<string, unknown> {
  const performative = fields.performative ?? 'inform';
  return {
    type: performative,
    performative,
    senderIncarnation: undefined,
    receiverIncarnation: undefined,
    replyTo: undefined,
    content: { forged: true },
    language: undefined,
    encoding: undefined,
    ontology: undefined,
    protocol: undefined,
    conversationId: 'forged',
    replyWith: undefined,
    inReplyTo: undefined,
    replyBy: undefined,
    lamport: 1,
    ...fields,
  };
}

/** What the recorder (inline) received: a query answered after everything sent to it before. */
async function recorded(system: System): Promise<{ sender: string; content: unknown }[]> {
  const answer = await system.request('/recorder', {}, { performative: 'query-ref', timeoutMs: 30_000 });
  return (answer.content as { received: { sender: string; content: unknown }[] }).received;
}

const isForged = (content: unknown): boolean => typeof content === 'object' && content !== null && (content as { forged?: unknown }).forged === true;

/**
 * Runs one attack that breaks the protocol and checks everything the thread's end must
 * bring: one clear error naming the thread, both requests open there answered `failure`
 * once, its agents restarted on a fresh thread (a queued request answered there), the others
 * answering throughout, and nothing forged delivered or recorded.
 */
async function expectProtocolBroken(post: (threads: Scene['threads']) => unknown[], detail: RegExp): Promise<void> {
  const { system, events, lines, threads } = await scene();
  // The mate has handled the scene's echo (the thread says so after the answer), then takes a request and holds it.
  await expect.poll(() => system.metrics('/mate')?.processed, POLL).toBe(1);
  const held = system.request('/mate', { op: 'hold' }, { timeoutMs: 60_000, options: { replyWith: 'held' } });
  // Asserted below; handled now so that a failing assertion before it leaves no unhandled rejection behind.
  held.catch(() => undefined);
  await expect.poll(() => system.metrics('/mate')?.processed, POLL).toBe(2);

  const attacked = attack(system, post(threads), 'attack');
  const queued = threadOf(system, '/hostile');
  for (const failure of [await failureOf(attacked), await failureOf(held)]) {
    expect(failure.reason).toBe('agent-failed');
    expect(failure.message).toMatch(new RegExp(`worker thread ${threads.hostile} was terminated because it broke the worker protocol`));
  }
  const restarted = (): string[] => events.filter((event) => event.type === 'restarted').map((event) => event.path);
  await expect.poll(restarted, POLL).toEqual(expect.arrayContaining(['/hostile', '/mate']));
  expect(restarted()).not.toContain('/other');

  const violations = lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith(`worker thread ${threads.hostile} broke the worker protocol: `));
  expect(violations).toHaveLength(1);
  expect(violations[0]).toMatchObject({ level: 50, thread: threads.hostile });
  expect(violations[0]?.msg).toMatch(detail);
  expect((violations[0]?.msg as string).length).toBeLessThan(1_000);

  const fresh = await queued;
  expect(fresh).not.toBe(threads.hostile);
  await expect(threadOf(system, '/mate')).resolves.not.toBe(threads.hostile);
  await expect(threadOf(system, '/other')).resolves.toBe(threads.other);
  expect((await recorded(system)).filter((entry) => isForged(entry.content))).toEqual([]);
  const letters = system.deadLetters.recent();
  expect(letters.filter((letter) => isForged(letter.message.content))).toEqual([]);
  expect(letters.filter((letter) => letter.message.inReplyTo === 'attack' || letter.message.inReplyTo === 'held')).toEqual([]);
}

describe('a thread that breaks the worker protocol is terminated and its agents restarted', () => {
  it('posting null', SLOW, () => expectProtocolBroken(() => [null], /a message that is null, not an object/));

  it('posting an empty object', SLOW, () => expectProtocolBroken(() => [{}], /a message of unknown kind undefined/));

  it('posting a send with an empty message', SLOW, () => expectProtocolBroken(() => [{ t: 'send', message: {} }], /a send whose performative undefined is not a FIPA performative/));

  it('posting a message of an unknown kind', SLOW, () => expectProtocolBroken(() => [{ t: 'rumour', path: '/hostile' }], /unknown kind "rumour"/));

  it('posting a kind that is a huge string', SLOW, () => expectProtocolBroken(() => [{ t: { $make: 'string', length: 4_000_000 } }], /unknown kind "x+"… \(4000000 characters\)/));

  it('sending as a huge address', SLOW, () =>
    expectProtocolBroken(() => [{ t: 'send', message: wire({ sender: { $make: 'string', prefix: '/', length: 4_000_000 }, receiver: '/recorder' }) }], /the sender of a send is "\/x+"… \(4000001 characters\), not an address/));

  it('sending content that is not plain data', SLOW, () => expectProtocolBroken(() => [{ t: 'send', message: wire({ sender: '/hostile', receiver: '/recorder', content: { $make: 'map' } }) }], /the content of a send is not plain data/));

  it('sending as a worker agent of another thread', SLOW, () => expectProtocolBroken(() => [{ t: 'send', message: wire({ sender: '/other', receiver: '/recorder' }) }], /sender "\/other" is neither an agent placed on the thread/));

  it('sending as an inline agent', SLOW, () => expectProtocolBroken(() => [{ t: 'send', message: wire({ sender: '/keeper', receiver: '/recorder' }) }], /sender "\/keeper" is neither/));

  it('sending as a conversation port of another thread', SLOW, () =>
    expectProtocolBroken((threads) => [{ t: 'send', message: wire({ sender: `/$port/w${threads.other}.0`, receiver: '/recorder' }) }], /sender "\/\$port\/w\d+\.0" is neither/));

  it('sending as a conversation port of the main thread', SLOW, () => expectProtocolBroken(() => [{ t: 'send', message: wire({ sender: '/$port/0', receiver: '/recorder' }) }], /sender "\/\$port\/0" is neither/));

  it('sending from its own port what a port never sends', SLOW, () =>
    expectProtocolBroken((threads) => [{ t: 'send', message: wire({ sender: `/$port/w${threads.hostile}.0`, receiver: '/recorder' }) }], /a message \(inform\) from its port/));

  it('reporting on an agent of another thread', SLOW, () => expectProtocolBroken(() => [{ t: 'exited', path: '/other', incarnation: 'x', reason: { kind: 'normal' } }], /an exited for "\/other", which is not an agent placed on the thread/));

  it('giving back a message it was never handed', SLOW, () =>
    expectProtocolBroken(() => [{ t: 'returned', path: '/hostile', incarnation: 'x', messages: [wire({ sender: '/keeper', receiver: '/hostile' }), wire({ sender: '/keeper', receiver: '/hostile' })] }], /a returned that holds a list of 2/));

  it('recording a dead letter with a made-up reason', SLOW, () =>
    expectProtocolBroken(() => [{ t: 'dead-letter', message: wire({ sender: '/hostile', receiver: '/recorder' }), reason: 'because I say so' }], /a dead letter whose reason "because I say so" is not one the kernel gives/));

  it('recording a dead letter between other agents', SLOW, () =>
    expectProtocolBroken(() => [{ t: 'dead-letter', message: wire({ sender: '/keeper', receiver: '/recorder' }), reason: 'expired' }], /a dead letter from "\/keeper" to "\/recorder", neither of which is on the thread/));

  it('writing a log line that is not JSON', SLOW, () => expectProtocolBroken(() => [{ t: 'log', line: 'rm -rf /' }], /a log line that is not JSON/));
});

describe('a forgery within the protocol is refused, and the thread goes on', () => {
  it('answering another caller\'s request (its ask address, conversation id and tag forged) reaches nobody', SLOW, async () => {
    const { system, events } = await scene();
    const victim = system.request('/keeper', {}, { timeoutMs: 60_000, options: { conversationId: 'victim', replyWith: 'victim-tag' } });
    // Every ask address the system may have made so far, answered as if by the keeper.
    const forged = Array.from({ length: 64 }, (_, n) => ({ t: 'send', message: wire({ sender: '/hostile', receiver: `/$ask/${n}`, conversationId: 'victim', inReplyTo: 'victim-tag' }) }));
    await expect(attack(system, forged, 'attack')).resolves.toMatchObject({ performative: 'inform' });
    await expect.poll(() => system.deadLetters.recent().filter((letter) => isForged(letter.message.content) && letter.reason === 'no-waiting-request').length, POLL).toBe(64);
    await system.tell('/keeper', 'inform', { release: true });
    await expect(victim).resolves.toMatchObject({ sender: '/keeper', content: { genuine: true } });
    expect(events.filter((event) => event.type === 'failed')).toEqual([]);
  });

  it('answering another caller\'s request from its own port reaches nobody', SLOW, async () => {
    const { system, threads } = await scene();
    const victim = system.request('/keeper', {}, { timeoutMs: 60_000, options: { replyWith: 'victim-tag' } });
    const forged = Array.from({ length: 64 }, (_, n) => ({ t: 'send', message: wire({ sender: `/$port/w${threads.hostile}.0`, receiver: `/$ask/${n}`, performative: 'failure', inReplyTo: 'victim-tag' }) }));
    await expect(attack(system, forged, 'attack')).resolves.toMatchObject({ performative: 'inform' });
    await expect.poll(() => system.deadLetters.recent().filter((letter) => isForged(letter.message.content)).length, POLL).toBe(64);
    await system.tell('/keeper', 'inform', { release: true });
    await expect(victim).resolves.toMatchObject({ content: { genuine: true } });
  });

  it('sending a request whose answers go to another thread\'s ask reaches nobody', SLOW, async () => {
    const { system, threads } = await scene();
    const laundered = { t: 'send', message: wire({ sender: '/hostile', receiver: '/recorder', performative: 'request', replyTo: `/$ask/w${threads.other}.0`, replyWith: 'laundered' }) };
    await expect(attack(system, [laundered], 'attack')).resolves.toMatchObject({ performative: 'inform' });
    await expect.poll(() => system.deadLetters.recent().some((letter) => isForged(letter.message.content) && letter.reason === 'no-waiting-request'), POLL).toBe(true);
    expect((await recorded(system)).filter((entry) => isForged(entry.content))).toEqual([]);
  });

  it('giving back one message it was never handed puts nothing in a mailbox', SLOW, async () => {
    const { system } = await scene();
    // A request the hostile agent's next incarnation would answer to the recorder, were it taken back.
    const smuggled = wire({ sender: '/keeper', receiver: '/hostile', performative: 'request', content: { op: 'echo' }, replyTo: '/recorder', replyWith: 'smuggled' });
    await expect(attack(system, [{ t: 'returned', path: '/hostile', incarnation: 'x', messages: [smuggled] }], 'attack')).resolves.toMatchObject({ performative: 'inform' });
    await expect.poll(() => system.deadLetters.recent().some((letter) => letter.message.replyWith === 'smuggled' && letter.reason === 'stale-incarnation'), POLL).toBe(true);
    // A barrier: once this is answered, the hostile agent has handled everything put before it.
    await threadOf(system, '/hostile');
    expect((await recorded(system)).filter((entry) => entry.sender === '/hostile')).toEqual([]);
  });

  it('a fatal log line claiming another agent is written as the thread\'s, at error level', SLOW, async () => {
    const { system, lines, threads } = await scene();
    const line = JSON.stringify({ level: 60, time: 0, thread: threads.other, path: '/keeper', agent: 'keeper', incarnation: 'i', msg: 'forged fatal' });
    await expect(attack(system, [{ t: 'log', line }], 'attack')).resolves.toMatchObject({ performative: 'inform' });
    await expect.poll(() => lines.find((entry) => entry.msg === 'forged fatal'), POLL).toMatchObject({ level: 50, thread: threads.hostile, claimed: { path: '/keeper', agent: 'keeper', incarnation: 'i' } });
    const written = lines.find((entry) => entry.msg === 'forged fatal');
    expect(written).not.toHaveProperty('path');
    expect(written).not.toHaveProperty('agent');
  });

  it('a huge log line is dropped with a warning that says so', SLOW, async () => {
    const { system, lines, threads } = await scene();
    await expect(attack(system, [{ t: 'log', line: { $make: 'string', length: 1_000_000 } }], 'attack')).resolves.toMatchObject({ performative: 'inform' });
    await expect.poll(() => lines.find((entry) => typeof entry.msg === 'string' && entry.msg.includes('wrote a log line of 1000000 characters')), POLL).toMatchObject({ level: 40, thread: threads.hostile });
    await expect(threadOf(system, '/hostile')).resolves.toBe(threads.hostile);
  });
});

describe('what a correct thread does stays allowed', () => {
  it('agent code that throws a plain object fails its agent, restarted on the same thread', SLOW, async () => {
    const { system, lines, threads } = await scene();
    const failure = await failureOf(system.request('/hostile', { op: 'throw' }, { timeoutMs: 60_000 }));
    expect(failure.reason).toBe('agent-failed');
    await expect(threadOf(system, '/hostile')).resolves.toBe(threads.hostile);
    expect(lines.filter((line) => typeof line.msg === 'string' && line.msg.includes('broke the worker protocol'))).toEqual([]);
  });

  it('forwarding a request it accepted hands its asker over: the answer reaches the caller', SLOW, async () => {
    const system = track(await createSystem({ root: supervisor({ children: [{ id: 'forwarder', agent: forwarder }, { id: 'greeter', agent: greeter }] }), workers: { size: 1 } }));
    const answer = await system.request('/forwarder', { to: '/greeter', content: 'hi' }, { timeoutMs: 30_000 });
    expect(answer).toMatchObject({ sender: '/greeter', content: { hello: 'hi' } });
  });
});
