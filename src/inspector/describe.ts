/**
 * What the inspector answers queries with: the tree, an agent's snapshot (context made
 * JSON-safe and redacted), and an agent's statechart drawn from its machine's own definition.
 */
import type { AclMessage } from '../acl/message.js';
import { AgentProcess } from '../runtime/agent-process.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ChildInfo, ContainerNode, TreeNode } from '../runtime/tree.js';
import type { MessageSummary, TreeEntry } from './protocol.js';

export function summarize(message: AclMessage): MessageSummary {
  return {
    performative: message.performative,
    sender: message.sender,
    receiver: message.receiver,
    conversationId: message.conversationId,
    lamport: message.lamport,
    inReplyTo: message.inReplyTo,
    replyWith: message.replyWith,
  };
}

function isContainer(node: TreeNode): node is ContainerNode {
  return typeof (node as Partial<ContainerNode>).whichChildren === 'function';
}

function entryOf(runtime: Runtime, node: TreeNode | undefined, info: ChildInfo): TreeEntry {
  const base = { id: info.id, path: info.path, kind: info.kind, status: info.status, incarnation: info.incarnation ?? null, restarts: info.restarts };
  if (node instanceof AgentProcess) return { ...base, mailbox: node.metrics.queueDepth, suspended: node.lifecycle.kind === 'suspended' };
  if (node !== undefined && isContainer(node)) {
    return { ...base, children: node.whichChildren().map((child) => entryOf(runtime, runtime.lookup(child.path), child)) };
  }
  return base;
}

/** The whole tree from the root supervisor (an empty root while the system is stopping). */
export function describeTree(runtime: Runtime): TreeEntry {
  const root = runtime.lookup('/');
  const restarts = root !== undefined && 'restarts' in root ? Number((root as { restarts: unknown }).restarts) : 0;
  const info: ChildInfo = { id: 'root', path: '/', kind: 'supervisor', incarnation: root?.incarnation, status: root?.status ?? 'stopped', restarts };
  return entryOf(runtime, root, info);
}

const MAX_DEPTH = 8;
const MAX_ITEMS = 200;
const MAX_STRING = 2_000;
export const REDACTED = '[redacted]';

/**
 * A JSON-safe copy of `value`: cycles, functions, symbols, bigints, class instances and
 * oversize collections become short descriptions, so any context can be shown.
 */
export function toJsonSafe(value: unknown, depth = 0, seen: Set<object> = new Set()): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} characters)` : value;
  if (value === undefined) return null;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) return { error: value.name, message: value.message };
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_ITEMS).map((item) => toJsonSafe(item, depth + 1, seen));
      if (value.length > MAX_ITEMS) items.push(`… ${value.length - MAX_ITEMS} more`);
      return items;
    }
    if (value instanceof Map) return { '[Map]': toJsonSafe([...value.entries()], depth + 1, seen) };
    if (value instanceof Set) return { '[Set]': toJsonSafe([...value.values()], depth + 1, seen) };
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      // Actor references and other live objects: a name, not their internals.
      if (Object.hasOwn(value, 'sessionId')) return `[actor ${String((value as { id?: unknown }).id)}]`;
      return `[${name}]`;
    }
    // No prototype: an own key "__proto__" (from parsed JSON) stays a plain field, and a
    // dotted redact path can never walk out of the copy into Object.prototype.
    const out = Object.create(null) as Record<string, unknown>;
    const keys = Object.keys(value);
    for (const key of keys.slice(0, MAX_ITEMS)) out[key] = toJsonSafe((value as Record<string, unknown>)[key], depth + 1, seen);
    if (keys.length > MAX_ITEMS) out['…'] = `${keys.length - MAX_ITEMS} more keys`;
    return out;
  } finally {
    seen.delete(value);
  }
}

function ownField(target: unknown, key: string): unknown {
  return typeof target === 'object' && target !== null && Object.hasOwn(target, key) ? (target as Record<string, unknown>)[key] : undefined;
}

/** Replaces each named field (dotted for nested: `auth.apiKey`) of a JSON-safe copy with "[redacted]". */
export function redact(value: unknown, fields: readonly string[]): unknown {
  for (const field of fields) {
    const parts = field.split('.');
    // Own fields only, at every step: a field list comes from clients ("__proto__.toString"
    // must not reach Object.prototype).
    let target: unknown = value;
    for (let i = 0; i < parts.length - 1; i++) target = ownField(target, parts[i] as string);
    const last = parts[parts.length - 1] as string;
    if (ownField(target, last) !== undefined) Object.defineProperty(target, last, { value: REDACTED, enumerable: true, writable: true, configurable: true });
  }
  return value;
}

export interface AgentSnapshot {
  readonly path: string;
  readonly agent: string;
  readonly status: string;
  readonly incarnation: string | null;
  readonly restarts: number;
  readonly suspended: boolean;
  /** `active`: the ids of the active state nodes, matching the statechart's node ids. */
  readonly state: { readonly status: string; readonly value: unknown; readonly tags: readonly string[]; readonly active: readonly string[] } | null;
  readonly context: unknown;
  readonly mailbox: { readonly depth: number; readonly capacity: number | 'Infinity'; readonly overflow: string; readonly head: (MessageSummary & { readonly content: unknown }) | null };
  readonly processed: number;
  readonly processingMs: number;
}

interface XStateSnapshotLike {
  readonly status: string;
  readonly value: unknown;
  readonly context: unknown;
  readonly tags?: ReadonlySet<string>;
  readonly _nodes?: readonly { readonly id: string }[];
}

/** An agent's machine as a snapshot shows it: JSON-safe, the context redacted. Computed where the machine runs (a worker thread's too). */
export type MachineView = Pick<AgentSnapshot, 'state' | 'context'>;

export function describeMachine(xstateSnapshot: unknown, redactFields: readonly string[]): MachineView {
  const snapshot = xstateSnapshot as XStateSnapshotLike | undefined;
  if (snapshot === undefined) return { state: null, context: null };
  return {
    state: { status: snapshot.status, value: toJsonSafe(snapshot.value), tags: [...(snapshot.tags ?? [])], active: (snapshot._nodes ?? []).map((node) => node.id) },
    context: redact(toJsonSafe(snapshot.context), redactFields),
  };
}

/** Runs elsewhere (a worker thread) and describes its machine there. */
interface DescribedElsewhere {
  describeMachine(redact: readonly string[]): Promise<MachineView>;
}

function describedElsewhere(executor: object): executor is DescribedElsewhere {
  return typeof (executor as Partial<DescribedElsewhere>).describeMachine === 'function';
}

/** An agent's snapshot: its machine described where it runs, the rest (mailbox, metrics) here where they live. */
export async function describeAgent(cell: AgentProcess, redactFields: readonly string[]): Promise<AgentSnapshot> {
  const executor = cell.executor;
  const machine = describedElsewhere(executor) ? await executor.describeMachine(redactFields) : describeMachine(cell.snapshot(), redactFields);
  return describeAgentWith(cell, cell.lifecycle.kind === 'suspended', machine, redactFields);
}

function describeAgentWith(cell: AgentProcess, suspended: boolean, machine: MachineView, redactFields: readonly string[]): AgentSnapshot {
  const head = cell.mailbox.peek();
  const metrics = cell.metrics;
  return {
    path: cell.path,
    agent: cell.definition.name,
    status: cell.status,
    incarnation: cell.incarnation ?? null,
    restarts: cell.restarts,
    suspended,
    ...machine,
    mailbox: {
      depth: cell.mailbox.length,
      capacity: Number.isFinite(cell.mailbox.capacity) ? cell.mailbox.capacity : 'Infinity',
      overflow: cell.mailbox.overflow,
      head: head === undefined ? null : { ...summarize(head), content: redactContent(head, redactFields) },
    },
    processed: metrics.processed,
    processingMs: metrics.processingMs,
  };
}

/** The head message's content is redacted by the same field names as the context. */
function redactContent(message: AclMessage, fields: readonly string[]): unknown {
  return redact(toJsonSafe(message.content), fields);
}

/** One state of a statechart, from the machine's own definition. */
export interface StateChartNode {
  readonly id: string;
  readonly key: string;
  readonly type: string;
  readonly initial: string | null;
  readonly tags: readonly string[];
  readonly transitions: readonly { readonly event: string; readonly targets: readonly string[]; readonly guarded: boolean }[];
  readonly states: readonly StateChartNode[];
}

interface StateNodeLike {
  readonly id: string;
  readonly key: string;
  readonly type: string;
  readonly tags: readonly string[];
  readonly initial?: { readonly target: readonly StateNodeLike[] } | undefined;
  readonly states: Readonly<Record<string, StateNodeLike>>;
  readonly transitions: ReadonlyMap<string, readonly { readonly target?: readonly StateNodeLike[] | undefined; readonly guard?: unknown }[]>;
}

function describeNode(node: StateNodeLike): StateChartNode {
  const transitions: { event: string; targets: string[]; guarded: boolean }[] = [];
  for (const [event, candidates] of node.transitions) {
    for (const candidate of candidates) transitions.push({ event, targets: (candidate.target ?? []).map((target) => target.id), guarded: candidate.guard !== undefined });
  }
  return {
    id: node.id,
    key: node.key,
    type: node.type,
    initial: node.initial?.target[0]?.id ?? null,
    tags: [...node.tags],
    transitions,
    states: Object.values(node.states).map(describeNode),
  };
}

/** The agent's statechart: states nested as in the machine, transitions by event, ids to match `state` values. */
export function describeStatechart(cell: Pick<AgentProcess, 'definition'>): StateChartNode {
  return describeNode((cell.definition.machine as unknown as { root: StateNodeLike }).root);
}
