import { describe, expect, it } from 'vitest';
import { createMessage, type AclMessage } from '../../src/index.js';
import { OpenRequests } from '../../src/runtime/open-requests.js';

const request = (tag: string): AclMessage =>
  createMessage({ performative: 'request', sender: '/a', receiver: '/b', content: tag, conversationId: `c-${tag}`, replyWith: tag, lamport: 1 });

describe('OpenRequests', () => {
  it('keeps every accepted request until it is answered', () => {
    const open = new OpenRequests();
    for (const tag of ['t1', 't2', 't3']) open.add(tag, request(tag));
    open.delete('t2');
    expect(open.takeAll().map((message) => message.replyWith)).toEqual(['t1', 't3']);
    expect(open.takeAll()).toEqual([]);
  });

  it('forgets the first one when it is answered, and the others stay', () => {
    const open = new OpenRequests();
    open.add('t1', request('t1'));
    open.add('t2', request('t2'));
    open.delete('t1');
    open.delete('unknown');
    expect(open.takeAll().map((message) => message.replyWith)).toEqual(['t2']);
  });

  it('clear() drops everything without answering', () => {
    const open = new OpenRequests();
    open.add('t1', request('t1'));
    open.add('t2', request('t2'));
    open.clear();
    expect(open.takeAll()).toEqual([]);
  });
});
