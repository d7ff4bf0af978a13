/**
 * Collects what happens in a runtime into one batch per tick while a client listens: messages
 * sent (the runtime's observer hook), delivered and state transitions (XState's inspection
 * API on the runtime's shared actor system), dead letters, lifecycle and supervision events,
 * and the mailbox depths those touched. Detached, it leaves nothing hooked in the runtime.
 */
import { isAclMessage, type AclMessage } from '../acl/message.js';
import type { DeadLetter } from '../runtime/dead-letters.js';
import type { MessageObserver, Runtime } from '../runtime/runtime.js';
import type { SystemEvent } from '../runtime/system-events.js';
import { summarize, toJsonSafe } from './describe.js';
import type { InspectorEvent } from './protocol.js';

interface InspectionEvent {
  readonly type: string;
  readonly actorRef: { readonly id: string };
  readonly event?: unknown;
  readonly snapshot?: { readonly value?: unknown; readonly status?: string };
}

interface InspectableSystem {
  inspect(observer: (event: InspectionEvent) => void): { unsubscribe(): void };
}

const ASK_PREFIX = '/$';

/** One object per event, built in one go: this runs for every message while a client listens. */
function messageEvent(type: 'sent' | 'delivered', message: AclMessage): InspectorEvent {
  return {
    type,
    at: Date.now(),
    performative: message.performative,
    sender: message.sender,
    receiver: message.receiver,
    conversationId: message.conversationId,
    lamport: message.lamport,
    inReplyTo: message.inReplyTo,
    replyWith: message.replyWith,
  };
}

export class EventStream implements MessageObserver {
  private batch: InspectorEvent[] = [];
  private flushing = false;
  /** Agents whose mailbox may have changed in this batch. */
  private readonly touched = new Set<string>();
  private readonly lastDepth = new Map<string, number>();
  /** Last state value per agent path, as a string key, so only real transitions are reported. */
  private readonly lastState = new Map<string, string>();
  private unhook: (() => void) | undefined;

  constructor(
    private readonly runtime: Runtime,
    private readonly onBatch: (events: readonly InspectorEvent[]) => void,
  ) {}

  get attached(): boolean {
    return this.unhook !== undefined;
  }

  attach(): void {
    if (this.unhook !== undefined) return;
    const runtime = this.runtime;
    runtime.observer = this;
    const offEvents = runtime.events.add(this.onSystemEvent);
    const offDead = runtime.deadLetters.subscribe(this.onDeadLetter);
    const inspection = (runtime.xsystem as InspectableSystem).inspect(this.onInspection);
    this.unhook = () => {
      if (runtime.observer === this) runtime.observer = undefined;
      offEvents();
      offDead();
      inspection.unsubscribe();
    };
  }

  detach(): void {
    this.unhook?.();
    this.unhook = undefined;
    this.batch = [];
    this.touched.clear();
    this.lastDepth.clear();
    this.lastState.clear();
  }

  sent(message: AclMessage): void {
    this.push(messageEvent('sent', message));
    if (!message.receiver.startsWith(ASK_PREFIX)) this.touched.add(message.receiver);
  }

  private readonly onSystemEvent = (event: SystemEvent): void => {
    this.push(event as InspectorEvent);
    if (event.type === 'started' || event.type === 'stopped') this.lastState.delete(event.path);
  };

  private readonly onDeadLetter = (letter: DeadLetter): void => {
    this.push({ type: 'dead-letter', reason: letter.reason, at: letter.at, ...summarize(letter.message) });
  };

  private readonly onInspection = (inspection: InspectionEvent): void => {
    // XState also reports every action and microstep: dropped before any lookup.
    const type = inspection.type;
    if (type !== '@xstate.event' && type !== '@xstate.snapshot') return;
    const path = inspection.actorRef.id;
    // Only the agents' own actors: invoked children and the runtime's helper have other ids.
    const cell = this.runtime.agentAt(path);
    if (cell === undefined) return;
    if (type === '@xstate.event') {
      const event = inspection.event;
      if (isAclMessage(event) && event.receiver === path) {
        this.push(messageEvent('delivered', event));
        this.touched.add(path);
      }
    } else if (inspection.snapshot !== undefined) {
      const value = inspection.snapshot.value;
      const key = typeof value === 'string' ? value : JSON.stringify(value);
      if (this.lastState.get(path) === key) return;
      this.lastState.set(path, key);
      const cause = inspection.event as { type?: unknown } | undefined;
      this.push({ type: 'state', path, incarnation: cell.incarnation ?? null, value: toJsonSafe(value), event: typeof cause?.type === 'string' ? cause.type : '', at: Date.now() });
    }
  };

  private push(event: InspectorEvent): void {
    this.batch.push(event);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(this.flush);
    }
  }

  /** Hands over the batch being collected at once (before a close). */
  flushNow(): void {
    if (this.flushing) this.flush();
  }

  private readonly flush = (): void => {
    if (!this.flushing) return; // flushed early by flushNow; this is its stale setImmediate
    this.flushing = false;
    if (this.unhook === undefined) return;
    const events = this.batch;
    this.batch = [];
    const at = Date.now();
    for (const path of this.touched) {
      const cell = this.runtime.agentAt(path);
      if (cell === undefined) continue; // no agent there: the message became a dead letter
      const depth = cell.mailbox.length;
      if (this.lastDepth.get(path) === depth) continue;
      this.lastDepth.set(path, depth);
      events.push({ type: 'mailbox', path, depth, at });
    }
    this.touched.clear();
    if (events.length > 0) this.onBatch(events);
  };
}
