/**
 * The messages between the main thread and a worker thread. They cross as structured clones,
 * so they hold plain data only: ACL messages, paths, and errors (cloned as Error objects).
 */
import { freezeContent } from '../acl/content.js';
import { createMessage, type AclMessage } from '../acl/message.js';
import type { MachineView, ViewRules } from '../inspector/describe.js';
import type { DeadLetterReason } from '../runtime/dead-letters.js';
import type { ExitReason, Shutdown } from '../runtime/tree.js';

/**
 * Shared between the threads: the sequence number of the delivery a thread last began and
 * last finished. When a thread stops answering, the main thread reads them to know which
 * message it is stuck in and which handed-over messages it never reached.
 */
export const STARTED = 0;
export const FINISHED = 1;

/** An exit reason as sent across: a crash's error made cloneable (see toWireError). */
export type WireExit = ExitReason;

export interface StartCommand {
  readonly t: 'start';
  readonly path: string;
  readonly id: string;
  readonly module: string;
  readonly name: string;
  readonly incarnation: string;
  readonly onRestart: 'reset' | 'resume';
  readonly hasInput: boolean;
  readonly input: unknown;
}

export type ToWorker =
  | StartCommand
  | { readonly t: 'deliver'; readonly seq: number; readonly path: string; readonly incarnation: string; readonly message: AclMessage }
  | { readonly t: 'halt'; readonly path: string; readonly shutdown: Shutdown; readonly reason: WireExit }
  | { readonly t: 'stop'; readonly path: string; readonly shutdown: Shutdown; readonly reason: WireExit }
  | { readonly t: 'ping'; readonly path: string; readonly seq: number; readonly timeoutMs: number }
  | { readonly t: 'hang'; readonly path: string; readonly detail: string }
  | { readonly t: 'drain'; readonly path: string }
  | { readonly t: 'answer'; readonly message: AclMessage }
  | { readonly t: 'handover'; readonly message: AclMessage }
  | { readonly t: 'port'; readonly message: AclMessage }
  | { readonly t: 'describe'; readonly id: number; readonly path: string; readonly redact: ViewRules };

export type FromWorker =
  | { readonly t: 'started'; readonly path: string; readonly incarnation: string }
  | { readonly t: 'start-failed'; readonly path: string; readonly incarnation: string; readonly error: unknown }
  | { readonly t: 'send'; readonly message: AclMessage }
  | { readonly t: 'handled'; readonly path: string; readonly incarnation: string; readonly ms: number }
  | { readonly t: 'returned'; readonly path: string; readonly incarnation: string; readonly messages: readonly AclMessage[] }
  | { readonly t: 'exited'; readonly path: string; readonly incarnation: string; readonly reason: WireExit }
  | { readonly t: 'halted'; readonly path: string }
  | { readonly t: 'stopped'; readonly path: string }
  | { readonly t: 'pong'; readonly path: string; readonly seq: number; readonly hung: string | undefined }
  | { readonly t: 'dead-letter'; readonly message: AclMessage; readonly reason: DeadLetterReason }
  | { readonly t: 'log'; readonly line: string }
  | { readonly t: 'described'; readonly id: number; readonly view: MachineView | undefined; readonly error: unknown };

/** An error as data a structured clone keeps (its class is lost across threads; name, message and stack stay). */
export function toWireError(error: unknown): unknown {
  if (error instanceof Error) {
    const copy = new Error(error.message);
    copy.name = error.name;
    copy.stack = error.stack;
    return copy;
  }
  try {
    return structuredClone(error);
  } catch {
    return String(error);
  }
}

/** A message that crossed a thread: the clone is thawed, so it is frozen again like every message. */
export function fromWire(message: AclMessage): AclMessage {
  return createMessage({ ...message, content: freezeContent(message.content) }, message);
}

export function toWireExit(reason: ExitReason): WireExit {
  return reason.kind === 'crash' ? { kind: 'crash', error: toWireError(reason.error) } : reason;
}
