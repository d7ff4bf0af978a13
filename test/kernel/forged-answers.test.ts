/**
 * Hostile agents and callers trying to answer someone else's request (issue 13, item 1): an
 * answer is taken only from the agent asked (or the one it handed the request over to) and
 * only for the request's reply-with tag, and ask addresses cannot be guessed.
 */
import { setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { defineAgent, reply, tell, type AclMessage } from '../../src/index.js';
import { echo, latch, startSystem } from './helpers.js';

/** Holds every request it is asked (never answers on its own) and leaks its reply-to and tag to `/thief`. */
function leaky() {
  return defineAgent({
    name: 'leaky',
    machine: setup({ types: { events: {} as AclMessage, context: {} as { held: AclMessage | undefined } } }).createMachine({
      context: { held: undefined },
      on: {
        request: { actions: [({ context, event }) => void (context.held = event), tell('/thief', 'inform', ({ event }) => ({ replyTo: event.replyTo, replyWith: event.replyWith }))] },
        // Told to answer now: answers the request it holds.
        confirm: { actions: reply('inform', () => ({ from: 'the asked agent' }), { to: ({ context }) => context.held as AclMessage }) },
      },
    }),
  });
}

/** Given a leaked reply-to and tag, has `/helper` answer there (a request to it with that reply-to and tag). */
function thief() {
  return defineAgent({
    name: 'thief',
    machine: setup({ types: { events: {} as AclMessage } }).createMachine({
      on: {
        inform: {
          actions: tell('/helper', 'request', { forged: true }, ({ event }) => {
            const leaked = event.content as { replyTo: string; replyWith: string };
            return { replyTo: leaked.replyTo, replyWith: leaked.replyWith };
          }),
        },
      },
    }),
  });
}

describe('answers bound to the agent asked and the reply tag', () => {
  it('a leaked ask address answered through another agent, even with the right tag, is refused; the real answer wins', async () => {
    const system = await startSystem([
      { id: 'victim-target', agent: leaky() },
      { id: 'thief', agent: thief() },
      { id: 'helper', agent: echo('helper') },
    ]);
    const refused = latch<AclMessage>();
    system.deadLetters.subscribe((letter) => {
      if (letter.reason === 'not-from-the-asked') refused.open(letter.message);
    });
    const answer = system.request('/victim-target', { question: 1 }, { timeoutMs: 60_000 });
    const forged = await refused.promise;
    expect(forged).toMatchObject({ sender: '/helper', performative: 'inform' });
    await system.tell('/victim-target', 'confirm', {});
    await expect(answer).resolves.toMatchObject({ sender: '/victim-target', content: { from: 'the asked agent' } });
  });

  it('guessed ask addresses reach nobody: 80 requests with guessed reply-to never settle a waiting request', async () => {
    const system = await startSystem([{ id: 'slow', agent: leaky() }, { id: 'thief', agent: echo('thief') }, { id: 'helper', agent: echo('helper') }]);
    const answer = system.request('/slow', { question: 1 }, { timeoutMs: 60_000 });
    for (let guess = 0; guess < 80; guess++) await system.tell('/helper', 'request', { forged: guess }, { replyTo: `/$ask/${guess.toString(36)}`, replyWith: `tag-${guess}` });
    await system.whenIdle();
    const dead = system.deadLetters.recent().filter((letter) => letter.message.sender === '/helper');
    expect(dead).toHaveLength(80);
    expect(dead.every((letter) => letter.reason === 'no-waiting-request')).toBe(true);
    await system.tell('/slow', 'confirm', {});
    await expect(answer).resolves.toMatchObject({ sender: '/slow' });
  });

  it('ask addresses are long and random, not a counter', async () => {
    const system = await startSystem([{ id: 'slow', agent: leaky() }, { id: 'thief', agent: echo('thief') }]);
    const leaked: string[] = [];
    const first = system.request('/slow', {}, { timeoutMs: 60_000 });
    const second = system.request('/slow', {}, { timeoutMs: 60_000 });
    await system.whenIdle();
    for (const letter of system.deadLetters.recent()) leaked.push(String((letter.message.content as { replyTo?: string }).replyTo));
    // The thief here is an echo agent: the leaks came to it as informs it does not handle (dead letters).
    expect(leaked).toHaveLength(2);
    for (const address of leaked) expect(address).toMatch(/^\/\$ask\/[A-Za-z0-9_-]{21}$/);
    expect(leaked[0]).not.toBe(leaked[1]);
    void first.catch(() => undefined);
    void second.catch(() => undefined);
  });

  it('an answer from the agent asked with another reply tag is refused; forwarding hands the answer over', async () => {
    const forwarder = defineAgent({
      name: 'forwarder',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: {
          request: {
            actions: [
              // A wrong tag first (refused), then the request handed over to /helper with its tag and reply-to.
              reply('inform', () => ({ wrong: true }), { to: ({ event }) => ({ ...event, replyWith: 'not-the-tag' }) as AclMessage }),
              tell('/helper', 'request', ({ event }) => event.content, ({ event }) => ({ replyTo: event.replyTo, replyWith: event.replyWith })),
            ],
          },
        },
      }),
    });
    const system = await startSystem([{ id: 'forwarder', agent: forwarder }, { id: 'helper', agent: echo('helper') }]);
    const answer = await system.request('/forwarder', { value: 7 });
    expect(answer).toMatchObject({ sender: '/helper', content: { value: 7 } });
    expect(system.deadLetters.recent().map((letter) => [letter.reason, letter.message.sender])).toContainEqual(['not-from-the-asked', '/forwarder']);
  });
});
