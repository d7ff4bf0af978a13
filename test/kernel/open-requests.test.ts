import { describe, expect, it } from 'vitest';
import { createMessage, type AclMessage } from '../../src/index.js';
import { OpenRequests } from '../../src/runtime/open-requests.js';

const request = (tag: string, sender = '/a', replyTo?: string): AclMessage =>
  createMessage({ performative: 'request', sender, receiver: '/b', replyTo, content: tag, conversationId: `c-${tag}`, replyWith: tag, lamport: 1 });

describe('OpenRequests', () => {
  it('keeps every accepted request until it is answered', () => {
    const open = new OpenRequests();
    for (const tag of ['t1', 't2', 't3']) open.add(request(tag));
    expect(open.delete('/a', 't2')).toBe(true);
    expect(open.takeAll().map((message) => message.replyWith)).toEqual(['t1', 't3']);
    expect(open.takeAll()).toEqual([]);
  });

  it('forgets the first one when it is answered, and the others stay', () => {
    const open = new OpenRequests();
    open.add(request('t1'));
    open.add(request('t2'));
    expect(open.delete('/a', 't1')).toBe(true);
    expect(open.delete('/a', 'unknown')).toBe(false);
    expect(open.takeAll().map((message) => message.replyWith)).toEqual(['t2']);
  });

  it('clear() drops everything without answering', () => {
    const open = new OpenRequests();
    open.add(request('t1'));
    open.add(request('t2'));
    open.clear();
    expect(open.takeAll()).toEqual([]);
  });

  it('keeps apart two askers that chose the same reply-with tag, keyed by where the answer goes', () => {
    const open = new OpenRequests();
    const fromA = request('same', '/a');
    const fromB = request('same', '/b');
    const viaReplyTo = request('same', '/a', '/c');
    open.add(fromA);
    open.add(fromB);
    open.add(viaReplyTo);
    expect(open.delete('/b', 'same')).toBe(true);
    expect(open.delete('/b', 'same')).toBe(false);
    expect(open.takeAll()).toEqual([fromA, viaReplyTo]);
    open.add(fromB);
    open.add(fromA);
    expect(open.delete('/a', 'same')).toBe(true);
    expect(open.delete('/c', 'same')).toBe(false);
    expect(open.takeAll()).toEqual([fromB]);
  });
});
