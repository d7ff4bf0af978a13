import { threadId } from 'node:worker_threads';
import { createMessage, type AclMessage } from '../acl/message.js';
import { ASK_PREFIX } from '../runtime/addresses.js';
import { Runtime, type RuntimeOptions } from '../runtime/runtime.js';
import type { SystemEvent } from '../runtime/system-events.js';
import type { FromWorker } from './protocol.js';

/**
 * The kernel inside a worker thread. It hosts real AgentCells, so mailbox, validation,
 * open-request and restart rules are the inline ones, but it owns no addresses of its own:
 * every message an agent here sends (answers included) goes to the main thread, which routes
 * it like any other. Lifecycle events are the main thread's to emit.
 */
export class WorkerRuntime extends Runtime {
  /** The incarnation the main thread chose for the next start (so both threads name it alike). */
  nextIncarnation: string | undefined;

  constructor(
    options: RuntimeOptions,
    private readonly toMain: (message: FromWorker) => void,
  ) {
    super(options);
    this.deadLetters.subscribe((letter) => this.toMain({ t: 'dead-letter', message: letter.message, reason: letter.reason }));
  }

  override newIncarnation(): string {
    const chosen = this.nextIncarnation;
    this.nextIncarnation = undefined;
    return chosen ?? super.newIncarnation();
  }

  /** Ports opened here name this thread (`/$port/w<thread>.<n>`): the main thread routes their messages back here. */
  protected override portNamespace(): string {
    return `w${threadId}.`;
  }

  /** A message for a conversation port opened by an agent here, routed back by the main thread. */
  receiveAtPort(message: AclMessage): void {
    this.deliverToPort(message);
  }

  /**
   * This thread sees only its own agents, not the tree: it never claims that nothing lives at
   * a path (a watch from here waits, as before, for an agent of this thread to stop).
   */
  protected override livesAt(): boolean {
    return true;
  }

  override emit(_event: SystemEvent): void {
    // The main thread's stand-in emits every lifecycle event of a worker agent.
  }

  override deliver(message: AclMessage): 'queued' {
    this.toMain({ t: 'send', message });
    return 'queued';
  }

  /** An answer to an `ask` of an agent here, routed back by the main thread (its address restored). */
  settleAnswer(message: AclMessage, askId: string): void {
    const answer = createMessage({ ...message, receiver: ASK_PREFIX + askId }, message);
    if (answer.lamport > this.clock) this.clock = answer.lamport;
    // Nobody waits any more (deadline or abort here), or the wrong party answered: the main thread records the dead letter.
    const outcome = this.asks.settle(answer);
    if (outcome !== 'settled') this.toMain({ t: 'dead-letter', message: answer, reason: outcome === 'nobody-waits' ? 'no-waiting-request' : 'not-from-the-asked' });
  }

  /** The agent asked by an agent here forwarded the request (routed back by the main thread): the new receiver may answer. */
  handOverAsk(forward: AclMessage): void {
    const replyTo = forward.replyTo as string;
    this.asks.handOver(createMessage({ ...forward, replyTo: ASK_PREFIX + replyTo.slice(replyTo.lastIndexOf('.') + 1) }, forward));
  }
}
