/**
 * Collects what happens in a runtime into one batch per tick while a client listens: messages
 * sent (the runtime's observer hook), delivered and state transitions (XState's inspection
 * API on the runtime's shared actor system), dead letters, lifecycle and supervision events,
 * and the mailbox depths those touched. Detached, it leaves nothing hooked in the runtime.
 *
 * Attached, it runs for every message, so the hot path only records the (immutable) message
 * and a time in a flat array; events are written as JSON once per batch, by hand for
 * messages, and that text is shared by every client.
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
  readonly snapshot?: { readonly value?: unknown; readonly _nodes?: unknown };
}

interface InspectableSystem {
  inspect(observer: (event: InspectionEvent) => void): { unsubscribe(): void };
}

const SYSTEM_ADDRESS = '/$';
const SLASH = 47;

/** What a recorded slot holds: a message sent or delivered, or an event object written with JSON.stringify. */
const SENT = 0;
const DELIVERED = 1;
const OTHER = 2;

/** Strings that need no escaping inside JSON quotes (paths always qualify). */
const PLAIN = /^[\w.\-/$:]*$/;

function quote(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** The same JSON as JSON.stringify of the `sent`/`delivered` InspectorEvent, at a fraction of its cost. */
export function messageJson(type: 'sent' | 'delivered', message: AclMessage, at: number): string {
  let json = `{"type":"${type}","at":${at},"performative":"${message.performative}","sender":${quote(message.sender)},"receiver":${quote(message.receiver)},"conversationId":${quote(message.conversationId)},"lamport":${message.lamport}`;
  if (message.inReplyTo !== undefined) json += `,"inReplyTo":${quote(message.inReplyTo)}`;
  if (message.replyWith !== undefined) json += `,"replyWith":${quote(message.replyWith)}`;
  return `${json}}`;
}

export class EventStream implements MessageObserver {
  /** Triples: kind, message or event, time. */
  private slots: unknown[] = [];
  private flushing = false;
  /** Agents whose mailbox may have changed in this batch. */
  private readonly touched = new Set<string>();
  private readonly lastDepth = new Map<string, number>();
  /** The active state nodes last seen per agent path: XState keeps the array while the state stays. */
  private readonly lastNodes = new Map<string, unknown>();
  private unhook: (() => void) | undefined;

  constructor(
    private readonly runtime: Runtime,
    /** Gets each batch as the JSON text of its events, oldest first. */
    private readonly onBatch: (events: readonly string[]) => void,
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
    this.slots = [];
    this.touched.clear();
    this.lastDepth.clear();
    this.lastNodes.clear();
  }

  sent(message: AclMessage): void {
    this.record(SENT, message);
    if (!message.receiver.startsWith(SYSTEM_ADDRESS)) this.touched.add(message.receiver);
  }

  private readonly onSystemEvent = (event: SystemEvent): void => {
    this.record(OTHER, event);
    if (event.type === 'started' || event.type === 'stopped') this.lastNodes.delete(event.path);
  };

  private readonly onDeadLetter = (letter: DeadLetter): void => {
    this.record(OTHER, { type: 'dead-letter', reason: letter.reason, at: letter.at, ...summarize(letter.message) });
  };

  private readonly onInspection = (inspection: InspectionEvent): void => {
    // XState also reports every action and microstep: those leave at the first check.
    const type = inspection.type;
    if (type === '@xstate.event') {
      const event = inspection.event;
      // An agent's own actor has its path as id; invoked children have other ids.
      if (isAclMessage(event) && event.receiver === inspection.actorRef.id) {
        this.record(DELIVERED, event);
        this.touched.add(event.receiver);
      }
    } else if (type === '@xstate.snapshot') {
      const path = inspection.actorRef.id;
      const nodes = inspection.snapshot?._nodes;
      if (path.charCodeAt(0) !== SLASH || nodes === undefined || this.lastNodes.get(path) === nodes) return;
      const cell = this.runtime.agentAt(path);
      if (cell === undefined) return;
      this.lastNodes.set(path, nodes);
      const cause = inspection.event as { type?: unknown } | undefined;
      this.record(OTHER, { type: 'state', path, incarnation: cell.incarnation ?? null, value: toJsonSafe(inspection.snapshot?.value), event: typeof cause?.type === 'string' ? cause.type : '', at: Date.now() });
    }
  };

  private record(kind: number, item: unknown): void {
    this.slots.push(kind, item, Date.now());
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
    const slots = this.slots;
    this.slots = [];
    const events: string[] = [];
    for (let i = 0; i < slots.length; i += 3) {
      const kind = slots[i];
      const item = slots[i + 1];
      if (kind === OTHER) events.push(JSON.stringify(item));
      else events.push(messageJson(kind === SENT ? 'sent' : 'delivered', item as AclMessage, slots[i + 2] as number));
    }
    const at = Date.now();
    for (const path of this.touched) {
      const cell = this.runtime.agentAt(path);
      if (cell === undefined) continue; // no agent there: the message became a dead letter
      const depth = cell.mailbox.length;
      if (this.lastDepth.get(path) === depth) continue;
      this.lastDepth.set(path, depth);
      events.push(JSON.stringify({ type: 'mailbox', path, depth, at } satisfies InspectorEvent));
    }
    this.touched.clear();
    if (events.length > 0) this.onBatch(events);
  };
}
