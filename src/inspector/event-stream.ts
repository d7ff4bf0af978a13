/**
 * Collects what happens in a runtime into batches while a client listens: messages sent and
 * delivered, dead letters, lifecycle and supervision events (all from the kernel's tap), state
 * transitions (XState's inspection of the runtime's shared actor system), and the mailbox
 * depths those touched. Detached, it leaves nothing hooked in the runtime.
 *
 * Attached, it runs for every message, so the hot path is kept to a budget check and two
 * writes into a preallocated array: the clock is read once per event-loop turn (and per
 * frame), not per event, and a batch is written as JSON once, by hand for messages, and
 * shared by every client. A system sending more than `maxEventsPerSecond` message and state
 * events (more than anyone can read) has the excess counted instead of recorded, and clients
 * are told how many of each kind went unrecorded; lifecycle and supervision events are never
 * held back. XState's own inspection API copies every inspection event (each action,
 * microstep, snapshot) for its observers; the stream takes them from the system's dispatch
 * point instead, where all but one type leave at one check.
 */
import type { AclMessage } from '../acl/message.js';
import type { DeadLetter } from '../runtime/dead-letters.js';
import type { Runtime } from '../runtime/runtime.js';
import type { TapEvent } from '../runtime/tap.js';
import type { SystemEvent } from '../runtime/system-events.js';
import { TokenBucket } from '../runtime/token-bucket.js';
import { hookInspection, inspectedNodes, type InspectionEvent } from '../runtime/xstate-adapter.js';
import { summarize } from './describe.js';
import { toJsonSafe } from './json-safe.js';

const SYSTEM_ADDRESS = '/$';
const SLASH = 47;

/** What a recorded slot holds: a message sent or delivered, a mailbox depth, or an event object written with JSON.stringify. */
const SENT = 0;
const DELIVERED = 1;
const MAILBOX = 2;
const OTHER = 3;
/** Slots per event: kind, item (message, event or path), depth (mailbox only). */
const WIDTH = 3;

/** Events per `events` frame at most. */
export const FRAME_EVENTS = 256;

/** The default of the inspector's `maxEventsPerSecond`. */
export const DEFAULT_MAX_EVENTS_PER_SECOND = 20_000;
/** While events go unrecorded, clients hear of it at most this often (and once more when it ends). */
export const OVER_BUDGET_NOTICE_MS = 1_000;
/** In a long turn over budget, the clock (and so the budget) is read again after this many unrecorded events. */
const SKIPS_PER_CLOCK_READ = 4_096;

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
  if (message.replyTo !== undefined) json += `,"replyTo":${quote(message.replyTo)}`;
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
 * One frame's events, shared by every client: read from the stream's array until first
 * written, then kept as the `events` frame's text alone (a lagging client's queue holds text,
 * not messages and their content). Messages and events are immutable, so writing late shows
 * what was; the stream reuses its array, so a batch is written (or sealed) before its
 * `onBatch` call returns.
 */
export class EventBatch {
  private size: number;
  private slots: readonly unknown[] | undefined;
  private text: string | undefined;
  /** Where each event starts in `text`: lets a lagging client drop its oldest events exactly. */
  private starts: number[] = [];

  constructor(
    slots: readonly unknown[],
    private readonly from: number,
    private readonly to: number,
    /** When the frame's events happened (epoch ms, read once per turn or frame). */
    private readonly at: number,
  ) {
    this.slots = slots;
    this.size = (to - from) / WIDTH;
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
    const rest = new EventBatch([], 0, 0, this.at);
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
    const at = this.at;
    let json = FRAME_HEAD;
    for (let i = this.from; i < this.to; i += WIDTH) {
      if (i > this.from) json += ',';
      starts.push(json.length);
      const kind = slots[i];
      const item = slots[i + 1];
      if (kind === SENT) json += messageJson('sent', item as AclMessage, at);
      else if (kind === DELIVERED) json += messageJson('delivered', item as AclMessage, at);
      else if (kind === MAILBOX) json += `{"type":"mailbox","path":${quote(item as string)},"depth":${slots[i + 2] as number},"at":${at}}`;
      else json += eventJson(item);
    }
    this.slots = undefined;
    return (this.text = `${json}]}`);
  }
}

export interface EventStreamOptions {
  /** Message, dead-letter and state events recorded per second at most (bursts of as many); `Infinity` records all. */
  readonly maxEventsPerSecond?: number;
}

/** Events counted instead of recorded, by kind, as the `over-budget` notice reports them. */
export interface UnrecordedCounts {
  readonly sent: number;
  readonly delivered: number;
  readonly state: number;
  readonly 'dead-letter': number;
}

export class EventStream {
  /** Triples (kind, item, depth), reused batch after batch: recording allocates nothing. */
  private readonly slots: unknown[] = new Array<unknown>(FRAME_EVENTS * WIDTH).fill(0);
  /** Slots in use. */
  private used = 0;
  /** A turn is being recorded and its flush is scheduled. */
  private flushing = false;
  private flushImmediate: ReturnType<typeof setImmediate> | undefined;
  /** The time of this turn (epoch ms), read when it started or its last frame went. */
  private now = 0;
  private readonly maxEventsPerSecond: number;
  /** Events that may still be recorded; refilled from the clock reads. */
  private readonly budget: TokenBucket;
  private unrecordedSent = 0;
  private unrecordedDelivered = 0;
  private unrecordedStates = 0;
  private unrecordedDeadLetters = 0;
  /** Unrecorded since the last notice (0: none pending), and since when. */
  private unrecorded = 0;
  private unrecordedSince = 0;
  private skipsSinceClockRead = 0;
  private lastNoticeAt = Number.NEGATIVE_INFINITY;
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Agents whose state change went unrecorded: their current state is sent once the budget allows. */
  private readonly staleStates = new Set<string>();
  /** Agents whose mailbox may have changed in this batch. */
  private readonly touched = new Set<string>();
  private readonly lastDepth = new Map<string, number>();
  /** The active state nodes last seen per agent path: XState keeps the array while the state stays. */
  private readonly lastNodes = new Map<string, unknown>();
  private unhook: (() => void) | undefined;

  constructor(
    private readonly runtime: Runtime,
    /** Gets each batch, oldest event first; must write or seal it before returning. */
    private readonly onBatch: (batch: EventBatch) => void,
    options: EventStreamOptions = {},
  ) {
    this.maxEventsPerSecond = options.maxEventsPerSecond ?? DEFAULT_MAX_EVENTS_PER_SECOND;
    this.budget = new TokenBucket(this.maxEventsPerSecond, this.maxEventsPerSecond, 0);
  }

  get attached(): boolean {
    return this.unhook !== undefined;
  }

  attach(): void {
    if (this.unhook !== undefined) return;
    const runtime = this.runtime;
    this.budget.reset(Date.now());
    const offTap = runtime.tap.attach(this.onTap);
    const offInspection = hookInspection(runtime.xsystem, this.onInspection);
    this.unhook = () => {
      offTap();
      offInspection();
    };
  }

  private readonly onTap = (event: TapEvent): void => {
    switch (event.kind) {
      case 'sent':
        this.sent(event.message);
        return;
      case 'delivered':
        this.delivered(event.message);
        return;
      case 'dead-letter':
        this.onDeadLetter(event.letter);
        return;
      case 'lifecycle':
        this.onSystemEvent(event.event);
        return;
    }
  };

  private delivered(message: AclMessage): void {
    if (this.admit()) this.record(DELIVERED, message);
    else this.unrecordedDelivered++;
    this.touched.add(message.receiver);
  }

  detach(): void {
    this.unhook?.();
    this.unhook = undefined;
    // Attached again later, a turn starts afresh (and reads the clock).
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
    this.flushing = false;
    this.slots.fill(0, 0, this.used);
    this.used = 0;
    this.resetUnrecorded();
    this.lastNoticeAt = Number.NEGATIVE_INFINITY;
    if (this.noticeTimer !== undefined) clearTimeout(this.noticeTimer);
    this.noticeTimer = undefined;
    this.staleStates.clear();
    this.touched.clear();
    this.lastDepth.clear();
    this.lastNodes.clear();
  }

  sent(message: AclMessage): void {
    if (this.admit()) this.record(SENT, message);
    else this.unrecordedSent++;
    if (!message.receiver.startsWith(SYSTEM_ADDRESS)) this.touched.add(message.receiver);
  }

  private readonly onSystemEvent = (event: SystemEvent): void => {
    // Lifecycle and supervision: never held back by the budget.
    if (!this.flushing) this.startTurn();
    this.record(OTHER, event);
    if (event.type === 'stopped') {
      // Stopped for good: what is kept per path goes (dynamic children come and go).
      this.lastNodes.delete(event.path);
      this.lastDepth.delete(event.path);
      this.staleStates.delete(event.path);
    } else if (event.type === 'started') {
      this.lastNodes.delete(event.path);
    }
  };

  private readonly onDeadLetter = (letter: DeadLetter): void => {
    if (this.admit()) this.record(OTHER, { type: 'dead-letter', reason: letter.reason, at: letter.at, ...summarize(letter.message) });
    else this.unrecordedDeadLetters++;
  };

  private readonly onInspection = (inspection: InspectionEvent): void => {
    // XState also reports every action and microstep: those leave at the first check.
    const type = inspection.type;
    if (type === '@xstate.snapshot') {
      const path = inspection.actorRef.id;
      const nodes = inspectedNodes(inspection);
      if (path.charCodeAt(0) !== SLASH || nodes === undefined || this.lastNodes.get(path) === nodes) return;
      const cell = this.runtime.agentAt(path);
      if (cell === undefined) return;
      this.lastNodes.set(path, nodes);
      if (!this.admit()) {
        this.unrecordedStates++;
        this.staleStates.add(path);
        return;
      }
      const cause = inspection.event;
      this.staleStates.delete(path);
      this.record(OTHER, stateEvent(path, cell.incarnation, inspection.snapshot?.value, typeof cause?.type === 'string' ? cause.type : '', this.now));
    }
  };

  /** Starts a turn if none is being recorded, and says whether one more budgeted event may be recorded. */
  private admit(): boolean {
    if (!this.flushing) this.startTurn();
    if (this.budget.take()) return true;
    if (this.unrecorded++ === 0) this.unrecordedSince = this.now;
    if (++this.skipsSinceClockRead >= SKIPS_PER_CLOCK_READ) this.emitMidTurn();
    return false;
  }

  private startTurn(): void {
    this.flushing = true;
    this.flushImmediate = setImmediate(this.flush);
    this.readClock();
  }

  /** The one clock read of a turn (or frame): dates what follows and refills the budget. */
  private readClock(): void {
    const now = Date.now();
    this.now = now;
    this.skipsSinceClockRead = 0;
    this.budget.refill(now);
  }

  private record(kind: number, item: unknown): void {
    const slots = this.slots;
    const at = this.used;
    slots[at] = kind;
    slots[at + 1] = item;
    this.used = at + WIDTH;
    // A full frame goes at once: under a message flood the recorded messages are let go while
    // still young (held for a whole turn, they would outlive scavenges and fill the old
    // generation), and each frame's text stays small enough to die young too.
    if (this.used >= FRAME_EVENTS * WIDTH) this.emitMidTurn();
  }

  /** Hands over the batch being collected at once (before a close), with any pending notice. */
  flushNow(): void {
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    if (this.flushing) this.flush();
    if (this.unhook !== undefined && this.unrecorded > 0) this.emit(true);
  }

  private readonly flush = (): void => {
    if (!this.flushing) return;
    this.flushing = false;
    this.flushImmediate = undefined;
    if (this.unhook !== undefined) this.emit(false);
  };

  private emitMidTurn(): void {
    this.emit(false);
    this.readClock();
  }

  /**
   * The events recorded so far, then (when due) the notice of what went unrecorded, the
   * current state of agents whose changes went unrecorded, and the mailbox depths that
   * changed, in frames of at most FRAME_EVENTS.
   */
  private emit(final: boolean): void {
    if (this.unrecorded > 0 && (final || this.now - this.lastNoticeAt >= OVER_BUDGET_NOTICE_MS)) this.recordNotice();
    if (this.staleStates.size > 0) this.catchUpStates();
    for (const path of this.touched) {
      const depth = this.mailboxDepth(path);
      if (depth === undefined) continue; // no agent there: the message became a dead letter
      if (this.lastDepth.get(path) === depth) continue;
      this.lastDepth.set(path, depth);
      this.put(MAILBOX, path, depth);
    }
    this.touched.clear();
    const used = this.used;
    this.used = 0;
    if (this.unrecorded > 0 || this.staleStates.size > 0) this.scheduleNotice();
    if (used === 0) return;
    try {
      for (let from = 0; from < used; from += FRAME_EVENTS * WIDTH) {
        const batch = new EventBatch(this.slots, from, Math.min(used, from + FRAME_EVENTS * WIDTH), this.now);
        this.onBatch(batch);
        batch.seal();
      }
    } catch (error) {
      // Called from inside an agent's send: the inspector's trouble must never become the agent's.
      this.runtime.logger.error({ err: error }, 'the inspector could not hand out a batch of events');
    } finally {
      // Only what a lingering frame reference could keep alive: the messages go with the batch.
      this.slots.fill(0, 0, used);
      if (this.slots.length > FRAME_EVENTS * WIDTH) this.slots.length = FRAME_EVENTS * WIDTH;
    }
  }

  /** Appends without starting a frame: emit's own additions go in the frames it is writing. */
  private put(kind: number, item: unknown, depth: number): void {
    const slots = this.slots;
    const at = this.used;
    slots[at] = kind;
    slots[at + 1] = item;
    slots[at + 2] = depth;
    this.used = at + WIDTH;
  }

  private recordNotice(): void {
    const skipped: UnrecordedCounts = { sent: this.unrecordedSent, delivered: this.unrecordedDelivered, state: this.unrecordedStates, 'dead-letter': this.unrecordedDeadLetters };
    this.put(OTHER, { type: 'over-budget', at: this.now, since: this.unrecordedSince, maxEventsPerSecond: this.maxEventsPerSecond, skipped }, 0);
    this.lastNoticeAt = this.now;
    this.resetUnrecorded();
  }

  private resetUnrecorded(): void {
    this.unrecorded = 0;
    this.unrecordedSent = 0;
    this.unrecordedDelivered = 0;
    this.unrecordedStates = 0;
    this.unrecordedDeadLetters = 0;
  }

  /** The mailbox depth of the agent at `path`, inline or on a worker thread (its mailbox stays on this thread). */
  private mailboxDepth(path: string): number | undefined {
    const node = this.runtime.lookup(path);
    return node !== undefined && 'mailbox' in node ? (node.mailbox as { readonly length: number }).length : undefined;
  }

  /** Sends the state an agent is in now where its change went unrecorded, as far as the budget goes. */
  private catchUpStates(): void {
    for (const path of this.staleStates) {
      if (!this.budget.hasToken) return;
      this.staleStates.delete(path);
      const cell = this.runtime.agentAt(path);
      const snapshot = cell?.snapshot() as { value?: unknown } | undefined;
      if (cell === undefined || snapshot === undefined) continue;
      this.budget.take();
      this.put(OTHER, stateEvent(path, cell.incarnation, snapshot.value, '', this.now), 0);
    }
  }

  /** What is still to tell once the flood is over goes out on its own: no event may be needed to carry it. */
  private scheduleNotice(): void {
    if (this.noticeTimer !== undefined || this.unhook === undefined) return;
    const dueIn = this.unrecorded > 0 ? this.lastNoticeAt + OVER_BUDGET_NOTICE_MS - this.now : 1_000 / this.maxEventsPerSecond;
    this.noticeTimer = setTimeout(this.onNoticeDue, Math.max(1, Math.ceil(dueIn)));
    this.noticeTimer.unref();
  }

  private readonly onNoticeDue = (): void => {
    this.noticeTimer = undefined;
    if (this.unhook !== undefined && !this.flushing) this.startTurn();
  };
}

function stateEvent(path: string, incarnation: string | undefined, value: unknown, cause: string, at: number): object {
  // A state value is a state name, or an object of them, from the machine's definition.
  return { type: 'state', path, incarnation: incarnation ?? null, value: typeof value === 'string' ? value : toJsonSafe(value), event: cause, at };
}
