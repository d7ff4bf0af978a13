import type { AclMessage } from '../acl/message.js';
import type { AgentProcess } from './agent-process.js';
import { ConfigurationError } from './errors.js';
import type { Executor } from './executor.js';
import type { Kernel } from './kernel.js';

/**
 * Where the agents of one system run when placed by name (`placement: 'worker'`): made for
 * each system by its placement kind, the first time an agent is placed there (or at once when
 * the system has options for it).
 */
export interface PlacementSite {
  createExecutor(process: AgentProcess): Executor;
  /**
   * Takes a message for a reserved address that lives there: an answer to an `ask` made there,
   * a message to a conversation port opened there, or the hand-over of a request asked there
   * (a forward with that ask as reply-to). False when the address is not its own.
   */
  routeReserved(message: AclMessage, kind: 'answer' | 'port' | 'handover'): boolean;
  /** Ends it, with the system: its agents have been stopped already. */
  close(): Promise<void>;
}

/** A kind of placement, registered by the module that implements it (the kernel knows only `inline`). */
export interface PlacementKind {
  readonly name: string;
  /** Makes the site of one system; throws ConfigurationError for bad options (so createSystem fails). */
  open(kernel: Kernel, options: unknown): PlacementSite;
}

const kinds = new Map<string, PlacementKind>();

/** Makes a placement available to every system of this process (the entry points register theirs). */
export function registerPlacement(kind: PlacementKind): void {
  kinds.set(kind.name, kind);
}

export function placementKind(name: string): PlacementKind {
  const kind = kinds.get(name);
  if (kind === undefined) {
    const known = ['inline', ...kinds.keys()].map((known) => `'${known}'`).join(', ');
    throw new ConfigurationError('unknown-placement', `placement '${name}' is not available (known: ${known}); import Troupe from its entry point ('troupe'), which registers the worker placement`);
  }
  return kind;
}
