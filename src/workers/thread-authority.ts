/**
 * What a worker thread may say beyond being well-formed (see wire-check.ts): who answers
 * what. An agent on a thread answers at an ask address (someone's waiting request) only what
 * it was asked, and names another's ask address as the reply-to of what it sends only when it
 * forwards a request it accepted (that hands its asker over); a port there answers at an ask
 * address only a request sent to the thread's ports. A correct thread can break these in a
 * race (a second answer, an answer to a request withdrawn meanwhile), so a breach is refused,
 * as a dead letter, and the thread goes on.
 */
import { answerAddress, type AclMessage } from '../acl/message.js';
import { ASK_PREFIX } from '../runtime/addresses.js';
import { RecentSet } from './recent-set.js';

/** How many requests sent to a thread's conversation ports are remembered, so that a port there may answer them. */
const REMEMBERED_PORT_REQUESTS = 1_024;

/** An agent on the thread as far as its authority goes: the requests it owes an answer. */
export interface Answerer {
  readonly path: string;
  readonly process: {
    /** The requests its incarnation accepted and has not answered: all it may answer from its thread. */
    readonly open: { has(address: string, tag: string): boolean };
  };
}

export class ThreadAuthority {
  /** Requests sent to conversation ports on the thread, by answer address and tag. */
  private readonly portRequests = new RecentSet<string>(REMEMBERED_PORT_REQUESTS);

  constructor(private readonly threadId: number) {}

  /** A message on its way to a port on the thread: if it expects an answer, the port may give it. */
  sentToPort(message: AclMessage): void {
    if (message.replyWith !== undefined) this.portRequests.add(answerKey(answerAddress(message), message.replyWith));
  }

  /**
   * Why `agent` may not send `message` from its thread, or undefined when it may. Judged before
   * the agent's process notes the send, which closes the request an answer answers.
   */
  refusal(agent: Answerer, message: AclMessage): string | undefined {
    const inReplyTo = message.inReplyTo;
    if (message.receiver.startsWith(ASK_PREFIX) && (inReplyTo === undefined || !agent.process.open.has(message.receiver, inReplyTo))) {
      return `${agent.path} sent a ${message.performative} to the ask ${message.receiver}, which it was not asked`;
    }
    const replyTo = message.replyTo;
    if (replyTo !== undefined && replyTo.startsWith(ASK_PREFIX) && replyTo.includes('.') && !forwards(agent, message)) {
      return `${agent.path} sent a ${message.performative} whose answers go to the ask ${replyTo}, which it was not handed`;
    }
    return undefined;
  }

  /** Why a port of the thread may not send `message` (an answer at an ask address that no port there was asked); one it may send uses its request up. */
  portRefusal(message: AclMessage): string | undefined {
    const inReplyTo = message.inReplyTo;
    if (!message.receiver.startsWith(ASK_PREFIX) || (inReplyTo !== undefined && this.portRequests.delete(answerKey(message.receiver, inReplyTo)))) return undefined;
    return `its port ${message.sender} sent a ${message.performative} to the ask ${message.receiver}, which no port there was asked`;
  }

  /**
   * `message` as routed: a reply-to naming an ask made on the thread (`/$ask/<n>`, as its
   * runtime names it) is made to name the thread, so that answers find their way back; a
   * forwarded asker's address is kept.
   */
  routed(agent: Answerer, message: AclMessage): AclMessage {
    const replyTo = message.replyTo;
    if (replyTo === undefined || !replyTo.startsWith(ASK_PREFIX) || replyTo.includes('.') || forwards(agent, message)) return message;
    return Object.freeze({ ...message, replyTo: `${ASK_PREFIX}w${this.threadId}.${replyTo.slice(ASK_PREFIX.length)}` });
  }
}

/** Whether `message` forwards a request `agent` accepted, with the asker's reply-to and tag. */
function forwards(agent: Answerer, message: AclMessage): boolean {
  return message.replyTo !== undefined && message.replyWith !== undefined && agent.process.open.has(message.replyTo, message.replyWith);
}

/** The key of a request by where its answer goes and its tag (the address's length first, so that no two pairs run together). */
function answerKey(address: string, tag: string): string {
  return `${address.length}:${address}${tag}`;
}

/** Whether the thread's copy of a message is the one it was handed (their content aside). */
export function sameMessage(original: AclMessage, copy: AclMessage): boolean {
  return (
    original.performative === copy.performative &&
    original.sender === copy.sender &&
    original.senderIncarnation === copy.senderIncarnation &&
    original.receiver === copy.receiver &&
    original.conversationId === copy.conversationId &&
    original.replyWith === copy.replyWith &&
    original.replyTo === copy.replyTo &&
    original.lamport === copy.lamport
  );
}
