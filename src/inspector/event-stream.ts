/**
 * Collects what happens in a runtime into one batch per tick while a client listens: messages
 * sent (the runtime's observer hook), delivered and state transitions (XState's inspection
 * API on the runtime's shared actor system), dead letters, lifecycle and supervision events,
 * and the mailbox depths those touched. Detached, it leaves nothing hooked in the runtime.
 *
 * Attached, it runs for every message, so the hot path only records the (immutable) message
 * and a time in a flat array; a batch is written as JSON once, on first send, by hand for
 * messages, and that text is shared by every client. XState's own inspection API copies every
 * inspection event (each action, microstep, snapshot) for its observers; the stream takes
 * them from the system's dispatch point instead, where all but two types leave at one check.
 */
import { isAclMessage, type AclMessage } from '../acl/message.js';
import type { DeadLetter } from '../runtime/dead-letters.js';
import type { MessageObserver, Runtime } from '../runtime/runtime.js';
import type { SystemEvent } from '../runtime/system-events.js';
import { summarize, toJsonSafe } from './describe.js';

interface InspectionEvent {
  readonly type: string;
  readonly actorRef: { readonly id: string };
  readonly event?: unknown;
  readonly snapshot?: { readonly value?: unknown; readonly _nodes?: unknown };
}

/** XState 5's actor system: `_sendInspectionEvent` is where every actor reports (pinned xstate 5.33). */
interface InspectableSystem {
  inspect(observer: (event: InspectionEvent) => void): { unsubscribe(): void };
  _sendInspectionEvent?: (event: InspectionEvent) => void;
}

const SYSTEM_ADDRESS = '/$';
const SLASH = 47;

/** What a recorded slot holds: a message sent or delivered, a mailbox depth, or an event object written with JSON.stringify. */
const SENT = 0;
const DELIVERED = 1;
const MAILBOX = 2;
const OTHER = 3;
/** Slots per event: kind, item (message, event or path), time (or depth). */
const WIDTH = 3;

/** Events per `events` frame at most. */
const FRAME_EVENTS = 256;

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

/** An event some future kernel emits with a field JSON cannot take (a bigint, a cycle) is shown, not thrown. */
function eventJson(event: unknown): string {
  try {
    return JSON.stringify(event);
  } catch {
    return JSON.stringify(toJsonSafe(event));
  }
}

const FRAME_HEAD = '{"type":"events","events":[';

/**
 * One tick's events, shared by every client: kept as recorded until first sent, then as the
 * `events` frame's text alone (a lagging client's queue holds text, not messages and their
 * content). Messages and events are immutable, so writing late shows what was.
 */
export class EventBatch {
  private size: number;
  private slots: readonly unknown[] | undefined;
  private text: string | undefined;
  /** Where each event starts in `text`: lets a lagging client drop its oldest events exactly. */
  private starts: number[] = [];

  constructor(slots: readonly unknown[], private readonly at: number) {
    this.slots = slots;
    this.size = slots.length / WIDTH;
  }

  get count(): number {
    return this.size;
  }

  /** Written now: from here on the batch holds text only. */
  seal(): this {
    void this.json;
    return this;
  }

  /** The same batch without its `dropped` oldest events (0 < dropped < count). */
  withoutOldest(dropped: number): EventBatch {
    const text = this.json;
    const cut = this.starts[dropped] as number;
    const rest = new EventBatch([], this.at);
    rest.size = this.size - dropped;
    rest.text = FRAME_HEAD + text.slice(cut);
    rest.starts = this.starts.slice(dropped).map((start) => start - cut + FRAME_HEAD.length);
    return rest;
  }

  /** The `events` frame, written once whoever sends it first. */
  get json(): string {
    if (this.text !== undefined) return this.text;
    const slots = this.slots ?? [];
    const starts = this.starts;
    let json = FRAME_HEAD;
    for (let i = 0; i < slots.length; i += WIDTH) {
      if (i > 0) json += ',';
      starts.push(json.length);
      const kind = slots[i];
      const item = slots[i + 1];
      if (kind === SENT) json += messageJson('sent', item as AclMessage, slots[i + 2] as number);
      else if (kind === DELIVERED) json += messageJson('delivered', item as AclMessage, slots[i + 2] as number);
      else if (kind === MAILBOX) json += `{"type":"mailbox","path":${quote(item as string)},"depth":${slots[i + 2] as number},"at":${this.at}}`;
      else json += eventJson(item);
    }
    this.slots = undefined;
    return (this.text = `${json}]}`);
  }
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
    /** Gets each batch, oldest event first. */
    private readonly onBatch: (batch: EventBatch) => void,
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
    const offInspection = this.hookInspection(runtime.xsystem as InspectableSystem);
    this.unhook = () => {
      if (runtime.observer === this) runtime.observer = undefined;
      offEvents();
      offDead();
      offInspection();
    };
  }

  /**
   * Wraps the XState system's dispatch point, handing on to it so that other inspectors still
   * see everything; falls back to the public `inspect` (slower: it copies each event) if
   * XState no longer has that point.
   */
  private hookInspection(xsystem: InspectableSystem): () => void {
    const original = xsystem._sendInspectionEvent;
    if (typeof original !== 'function') {
      const subscription = xsystem.inspect(this.onInspection);
      return () => subscription.unsubscribe();
    }
    const onInspection = this.onInspection;
    const hooked = (event: InspectionEvent): void => {
      onInspection(event);
      original(event);
    };
    xsystem._sendInspectionEvent = hooked;
    return () => {
      if (xsystem._sendInspectionEvent === hooked) xsystem._sendInspectionEvent = original;
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
    this.record(SENT, message, Date.now());
    if (!message.receiver.startsWith(SYSTEM_ADDRESS)) this.touched.add(message.receiver);
  }

  private readonly onSystemEvent = (event: SystemEvent): void => {
    this.record(OTHER, event, 0);
    if (event.type === 'stopped') {
      // Stopped for good: what is kept per path goes (dynamic children come and go).
      this.lastNodes.delete(event.path);
      this.lastDepth.delete(event.path);
    } else if (event.type === 'started') {
      this.lastNodes.delete(event.path);
    }
  };

  private readonly onDeadLetter = (letter: DeadLetter): void => {
    this.record(OTHER, { type: 'dead-letter', reason: letter.reason, at: letter.at, ...summarize(letter.message) }, 0);
  };

  private readonly onInspection = (inspection: InspectionEvent): void => {
    // XState also reports every action and microstep: those leave at the first check.
    const type = inspection.type;
    if (type === '@xstate.event') {
      const event = inspection.event;
      // An agent's own actor has its path as id; invoked children have other ids.
      if (isAclMessage(event) && event.receiver === inspection.actorRef.id) {
        this.record(DELIVERED, event, Date.now());
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
      this.record(OTHER, { type: 'state', path, incarnation: cell.incarnation ?? null, value: toJsonSafe(inspection.snapshot?.value), event: typeof cause?.type === 'string' ? cause.type : '', at: Date.now() }, 0);
    }
  };

  private record(kind: number, item: unknown, at: number): void {
    const slots = this.slots;
    slots.push(kind, item, at);
    // A full frame goes at once: under a message flood the recorded messages are let go while
    // still young (held for a whole turn, they would outlive scavenges and fill the old
    // generation), and each frame's text stays small enough to die young too.
    if (slots.length >= FRAME_EVENTS * WIDTH) this.emit();
    else if (!this.flushing) {
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
    if (this.unhook !== undefined) this.emit();
  };

  /** The events recorded so far, and the mailbox depths they changed, as one batch. */
  private emit(): void {
    const slots = this.slots;
    this.slots = [];
    for (const path of this.touched) {
      const cell = this.runtime.agentAt(path);
      if (cell === undefined) continue; // no agent there: the message became a dead letter
      const depth = cell.mailbox.length;
      if (this.lastDepth.get(path) === depth) continue;
      this.lastDepth.set(path, depth);
      slots.push(MAILBOX, path, depth);
    }
    this.touched.clear();
    if (slots.length === 0) return;
    try {
      this.onBatch(new EventBatch(slots, Date.now()));
    } catch (error) {
      // Called from inside an agent's send: the inspector's trouble must never become the agent's.
      this.runtime.logger.error({ err: error }, 'the inspector could not hand out a batch of events');
    }
  }
}
