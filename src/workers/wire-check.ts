/**
 * The messages a worker thread sends the main thread, checked at the boundary like input from
 * outside the process: a thread runs agent code, and agent code can post anything to its
 * parent port. Each kind of message has its check, which returns a fresh copy holding only
 * the checked fields (ACL messages rebuilt and frozen, errors and views bounded). A message
 * that fails is a WorkerProtocolError, and its thread is terminated (see HostThread).
 *
 * Checked here is what a correct thread never gets wrong: shape, types, lengths, known kinds
 * and reasons, and that every path and sender is the thread's own (an agent placed on it, or
 * a conversation port opened there). What a correct thread may get wrong in a race (an answer
 * nobody waits for any more, a message of an incarnation that has ended) is judged where the
 * message is routed, and becomes a dead letter.
 */
import { freezeContent } from '../acl/content.js';
import { createMessage, type AclMessage } from '../acl/message.js';
import { isPerformative } from '../acl/performatives.js';
import type { MachineView } from '../inspector/describe.js';
import { ASK_PREFIX, PORT_PREFIX } from '../runtime/addresses.js';
import { toJsonSafe } from '../inspector/json-safe.js';
import type { DeadLetterReason } from '../runtime/dead-letters.js';
import type { FromWorker, WireExit } from './protocol.js';
import { WorkerProtocolError } from './worker-errors.js';

/** The thread a message came from, as the checks need it. */
export interface WireThread {
  readonly threadId: number;
  /** Whether an agent at `path` is placed on the thread, or was (see PlacedAgents). */
  wasPlaced(path: string): boolean;
}

/** Longest address (an agent path, an ask or port address) a thread may name. */
export const MAX_ADDRESS = 1_024;
/** Longest id or FIPA parameter (incarnation, conversation id, reply tag, ontology, ...). */
const MAX_FIELD = 1_024;
/** Longest text kept of a detail or an error message (longer ones are cut, not refused: agent code writes them). */
const MAX_TEXT = 16_384;
/** Most tags or active state ids in a machine view. */
const MAX_LIST = 1_000;

const DEAD_LETTER_REASONS: Readonly<Record<DeadLetterReason, true>> = {
  'no-such-agent': true,
  'not-an-agent': true,
  'mailbox-full': true,
  'backpressure-full': true,
  'dropped-oldest': true,
  'dropped-newest': true,
  'agent-stopped': true,
  'stale-incarnation': true,
  expired: true,
  unhandled: true,
  'invalid-content': true,
  'no-waiting-request': true,
  'not-from-the-asked': true,
  'system-stopped': true,
};

type Fields = Readonly<Record<string, unknown>>;

/** Checks one message from `thread`; throws WorkerProtocolError when it breaks the protocol. */
export function checkFromWorker(value: unknown, thread: WireThread): FromWorker {
  const fields = plainObject(value, thread, 'a message');
  const kind = fields.t;
  switch (kind) {
    case 'started':
      return { t: kind, path: placedPath(fields.path, thread, kind), incarnation: field(fields.incarnation, thread, 'incarnation', kind) };
    case 'start-failed':
      return { t: kind, path: placedPath(fields.path, thread, kind), incarnation: field(fields.incarnation, thread, 'incarnation', kind), error: wireError(fields.error) };
    case 'send':
      return checkSend(fields, thread);
    case 'handled':
      return checkHandled(fields, thread);
    case 'returned':
      return checkReturned(fields, thread);
    case 'exited':
      return { t: kind, path: placedPath(fields.path, thread, kind), incarnation: field(fields.incarnation, thread, 'incarnation', kind), reason: exitReason(fields.reason, thread) };
    case 'halted':
    case 'stopped':
      return { t: kind, path: placedPath(fields.path, thread, kind) };
    case 'pong':
      return checkPong(fields, thread);
    case 'dead-letter':
      return checkDeadLetter(fields, thread);
    case 'log':
      // The line itself is read by thread-log.ts, which bounds it.
      if (typeof fields.line !== 'string') throw violation(thread, `a log line that is ${preview(fields.line)}, not a string`);
      return { t: kind, line: fields.line };
    case 'described':
      return checkDescribed(fields, thread);
    default:
      throw violation(thread, `a message of unknown kind ${preview(kind)}`);
  }
}

/**
 * A message an agent of the thread sends: from an agent placed there, or a port's answer (a
 * `failure` or `not-understood` of the thread's runtime for a closed or unknown port there).
 */
function checkSend(fields: Fields, thread: WireThread): FromWorker {
  const message = aclMessage(fields.message, thread, 'send');
  const sender = message.sender;
  if (isOwnPort(sender, thread)) {
    const portAnswer = (message.performative === 'failure' || message.performative === 'not-understood') && message.replyWith === undefined && message.replyTo === undefined;
    if (!portAnswer) throw violation(thread, `a message (${message.performative}) from its port ${sender}, which only answers failure or not-understood, expecting no answer`);
  } else if (!thread.wasPlaced(sender)) {
    throw violation(thread, `a send whose sender ${preview(sender)} is neither an agent placed on the thread nor a port opened there`);
  }
  return { t: 'send', message };
}

function checkHandled(fields: Fields, thread: WireThread): FromWorker {
  const ms = fields.ms;
  if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) throw violation(thread, `a handled whose time ${preview(ms)} is not a number of milliseconds`);
  return { t: 'handled', path: placedPath(fields.path, thread, 'handled'), incarnation: field(fields.incarnation, thread, 'incarnation', 'handled'), ms };
}

/** The message the thread was handed for an agent and gives back unhandled: exactly one, addressed to that agent. */
function checkReturned(fields: Fields, thread: WireThread): FromWorker {
  const path = placedPath(fields.path, thread, 'returned');
  const messages = fields.messages;
  if (!Array.isArray(messages) || messages.length !== 1) throw violation(thread, `a returned that holds ${preview(messages)}, not the one message it was handed`);
  const message = aclMessage(messages[0], thread, 'returned');
  if (message.receiver !== path) throw violation(thread, `a returned for ${path} whose message is for ${preview(message.receiver)}`);
  return { t: 'returned', path, incarnation: field(fields.incarnation, thread, 'incarnation', 'returned'), messages: [message] };
}

function checkPong(fields: Fields, thread: WireThread): FromWorker {
  const hung = fields.hung;
  if (hung !== undefined && typeof hung !== 'string') throw violation(thread, `a pong whose hung detail is ${preview(hung)}`);
  return { t: 'pong', path: placedPath(fields.path, thread, 'pong'), seq: count(fields.seq, thread, 'sequence number', 'pong'), hung: hung === undefined ? undefined : clip(hung, MAX_TEXT) };
}

/**
 * A message the thread could not deliver, for the system's dead letters: with a reason the
 * kernel gives, and about the thread's own traffic (sent by, or to, an agent or a port of it,
 * or an answer to an ask made there).
 */
function checkDeadLetter(fields: Fields, thread: WireThread): FromWorker {
  const reason = fields.reason;
  if (typeof reason !== 'string' || !Object.hasOwn(DEAD_LETTER_REASONS, reason)) throw violation(thread, `a dead letter whose reason ${preview(reason)} is not one the kernel gives`);
  const message = aclMessage(fields.message, thread, 'dead letter');
  const own = (address: string): boolean => thread.wasPlaced(address) || isOwnPort(address, thread);
  if (!own(message.sender) && !own(message.receiver) && !isLocalAsk(message.receiver)) {
    throw violation(thread, `a dead letter from ${preview(message.sender)} to ${preview(message.receiver)}, neither of which is on the thread`);
  }
  return { t: 'dead-letter', message, reason: reason as DeadLetterReason };
}

/** The inspector's view of a machine described on the thread, bounded like any view (the context is redacted again by the host). */
function checkDescribed(fields: Fields, thread: WireThread): FromWorker {
  const id = count(fields.id, thread, 'query id', 'described');
  if (fields.view === undefined) return { t: 'described', id, view: undefined, error: wireError(fields.error) };
  const view = plainObject(fields.view, thread, 'a machine view');
  const state = view.state === null ? null : stateView(plainObject(view.state, thread, 'the state of a machine view'), thread);
  return { t: 'described', id, view: { state, context: toJsonSafe(view.context) }, error: undefined };
}

function stateView(state: Fields, thread: WireThread): MachineView['state'] {
  return { status: field(state.status, thread, 'status', 'machine view'), value: toJsonSafe(state.value), tags: fieldList(state.tags, thread, 'tags', 'machine view'), active: fieldList(state.active, thread, 'active states', 'machine view') };
}

function exitReason(value: unknown, thread: WireThread): WireExit {
  const reason = plainObject(value, thread, 'an exit reason');
  const kind = reason.kind;
  switch (kind) {
    case 'normal':
    case 'shutdown':
    case 'noproc':
      return { kind };
    case 'crash':
      return { kind, error: wireError(reason.error) };
    case 'hung':
    case 'restart-limit':
    case 'killed':
      if (typeof reason.detail !== 'string') throw violation(thread, `${a(kind)} exit whose detail is ${preview(reason.detail)}`);
      return { kind, detail: clip(reason.detail, MAX_TEXT) };
    default:
      throw violation(thread, `an exit reason of unknown kind ${preview(kind)}`);
  }
}

// ---- ACL messages ------------------------------------------------------------------------

/** A well-formed ACL message, rebuilt from its checked fields and frozen (its content checked as plain data). */
function aclMessage(value: unknown, thread: WireThread, within: string): AclMessage {
  const fields = plainObject(value, thread, `the message of ${a(within)}`);
  const performative = fields.performative;
  if (!isPerformative(performative) || fields.type !== performative) throw violation(thread, `${a(within)} whose performative ${preview(performative)} is not a FIPA performative (or its type differs)`);
  const replyBy = fields.replyBy;
  if (replyBy !== undefined && (typeof replyBy !== 'number' || !Number.isFinite(replyBy))) throw violation(thread, `${named('reply-by', within)} is ${preview(replyBy)}, not a time`);
  let content: unknown;
  try {
    content = freezeContent(fields.content);
  } catch (error) {
    throw violation(thread, `${named('content', within)} is not plain data (${error instanceof Error ? error.message : String(error)})`);
  }
  return createMessage({
    performative,
    sender: address(fields.sender, thread, 'sender', within),
    senderIncarnation: optionalField(fields.senderIncarnation, thread, 'sender incarnation', within),
    receiver: address(fields.receiver, thread, 'receiver', within),
    receiverIncarnation: optionalField(fields.receiverIncarnation, thread, 'receiver incarnation', within),
    replyTo: fields.replyTo === undefined ? undefined : address(fields.replyTo, thread, 'reply-to', within),
    content,
    language: optionalField(fields.language, thread, 'language', within),
    encoding: optionalField(fields.encoding, thread, 'encoding', within),
    ontology: optionalField(fields.ontology, thread, 'ontology', within),
    protocol: optionalField(fields.protocol, thread, 'protocol', within),
    conversationId: field(fields.conversationId, thread, 'conversation id', within),
    replyWith: optionalField(fields.replyWith, thread, 'reply-with', within),
    inReplyTo: optionalField(fields.inReplyTo, thread, 'in-reply-to', within),
    replyBy,
    lamport: count(fields.lamport, thread, 'Lamport time', within),
  });
}

/** A conversation port opened on this thread: `/$port/w<thread>.<n>`. */
export function isOwnPort(address: string, thread: WireThread): boolean {
  const prefix = `${PORT_PREFIX}w${thread.threadId}.`;
  return address.startsWith(prefix) && BASE36.test(address.slice(prefix.length));
}

/** An ask made on the thread, as its runtime names it (`/$ask/<n>`, the thread not named). */
function isLocalAsk(address: string): boolean {
  return address.startsWith(ASK_PREFIX) && BASE36.test(address.slice(ASK_PREFIX.length));
}

const BASE36 = /^[0-9a-z]{1,11}$/;

// ---- values ------------------------------------------------------------------------------

/** A plain object (what a structured clone of an object literal gives), not an array, a Map or null. */
function plainObject(value: unknown, thread: WireThread, what: string): Fields {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) throw violation(thread, `${what} that is ${preview(value)}, not an object`);
  return value as Fields;
}

function placedPath(value: unknown, thread: WireThread, kind: string): string {
  const path = address(value, thread, 'path', kind);
  if (!thread.wasPlaced(path)) throw violation(thread, `${a(kind)} for ${preview(path)}, which is not an agent placed on the thread`);
  return path;
}

function address(value: unknown, thread: WireThread, name: string, within: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > MAX_ADDRESS) throw violation(thread, `${named(name, within)} is ${preview(value)}, not an address of at most ${MAX_ADDRESS} characters`);
  return value;
}

function field(value: unknown, thread: WireThread, name: string, within: string): string {
  if (typeof value !== 'string' || value.length > MAX_FIELD) throw violation(thread, `${named(name, within)} is ${preview(value)}, not a string of at most ${MAX_FIELD} characters`);
  return value;
}

function optionalField(value: unknown, thread: WireThread, name: string, within: string): string | undefined {
  return value === undefined ? undefined : field(value, thread, name, within);
}

function fieldList(value: unknown, thread: WireThread, name: string, within: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_LIST) throw violation(thread, `${named(name, within)} is ${preview(value)}, not a list of at most ${MAX_LIST} strings`);
  return value.map((item) => field(item, thread, name, within));
}

function count(value: unknown, thread: WireThread, name: string, within: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw violation(thread, `${named(name, within)} is ${preview(value)}, not a whole number`);
  return value as number;
}

/** A field of a message for an error: `the path of an exited` (built only when one is thrown: checks are per message). */
function named(name: string, within: string): string {
  return `the ${name} of ${a(within)}`;
}

/**
 * An error from the thread (a crash, a failed start or query), bounded: an Error keeps its
 * name, message and stack (cut to MAX_TEXT), anything else (agent code may throw any value)
 * is made JSON-safe, as plain objects that print like the value thrown.
 */
function wireError(value: unknown): unknown {
  if (value instanceof Error) {
    const copy = new Error(clip(String(value.message), MAX_TEXT));
    copy.name = clip(String(value.name), 100);
    copy.stack = typeof value.stack === 'string' ? clip(value.stack, MAX_TEXT) : undefined;
    return copy;
  }
  if (typeof value === 'string') return clip(value, MAX_TEXT);
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(toJsonSafe(value))) as unknown);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** A short description of a value for an error message (a thread may send a string of any size). */
export function preview(value: unknown): string {
  if (typeof value === 'string') return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}… (${value.length} characters)` : JSON.stringify(value);
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value !== 'object') return `a ${typeof value}`;
  const prototype = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return prototype === Object.prototype ? 'an object' : `a ${prototype?.constructor?.name ?? 'bare object'}`;
}

/** `word` with its indefinite article. */
function a(word: string): string {
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
}

function violation(thread: WireThread, detail: string): WorkerProtocolError {
  return new WorkerProtocolError(thread.threadId, detail);
}
