/**
 * What the inspector answers queries with: the tree, an agent's snapshot (context made
 * JSON-safe and redacted), and an agent's statechart drawn from its machine's own definition.
 * Each is built under the reply's budget of output bytes (json-safe.ts), so none can grow
 * past it whatever the tree, the memory or the machine holds.
 */
import type { AclMessage } from '../acl/message.js';
import { AgentProcess } from '../runtime/agent-process.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ChildInfo, ContainerNode, TreeNode } from '../runtime/tree.js';
import { OutputBudget, redactFields, toJsonSafe, type ViewRules } from './json-safe.js';
import type { MessageSummary, TreeEntry } from './protocol.js';

export type { ViewRules };

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

/** Bytes of JSON an object's own fields take (without the commas and brackets around it). */
function fieldsBytes(fields: object): number {
  return Buffer.byteLength(JSON.stringify(fields), 'utf8');
}

function entryOf(runtime: Runtime, node: TreeNode | undefined, info: ChildInfo, budget: OutputBudget): TreeEntry {
  const base = { id: info.id, path: info.path, kind: info.kind, status: info.status, incarnation: info.incarnation ?? null, restarts: info.restarts };
  let entry: TreeEntry = base;
  if (node instanceof AgentProcess) entry = { ...base, mailbox: node.metrics.queueDepth, suspended: node.lifecycle.kind === 'suspended' };
  budget.take(fieldsBytes(entry) + 1);
  if (node === undefined || !isContainer(node)) return entry;
  const infos = node.whichChildren();
  const children: TreeEntry[] = [];
  for (const child of infos) {
    if (budget.exhausted) return { ...entry, children, truncated: `${infos.length - children.length} children not shown: ${budget.reason}` };
    children.push(entryOf(runtime, runtime.lookup(child.path), child, budget));
  }
  return { ...entry, children };
}

/** The whole tree from the root supervisor (an empty root while the system is stopping), within `maxBytes` of JSON. */
export function describeTree(runtime: Runtime, maxBytes: number): TreeEntry {
  const root = runtime.lookup('/');
  const restarts = root !== undefined && 'restarts' in root ? Number((root as { restarts: unknown }).restarts) : 0;
  const info: ChildInfo = { id: 'root', path: '/', kind: 'supervisor', incarnation: root?.incarnation, status: root?.status ?? 'stopped', restarts };
  return entryOf(runtime, root, info, OutputBudget.forReply(maxBytes));
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
  /** Present when the reply's budget left parts out (each cut is marked "[truncated] N more ..." where it happened). */
  readonly truncated?: string;
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

/** The machine's state and context within `budget`, redacted by `rules`. */
function viewOf(xstateSnapshot: unknown, rules: ViewRules, budget: OutputBudget): MachineView {
  const snapshot = xstateSnapshot as XStateSnapshotLike | undefined;
  if (snapshot === undefined) return { state: null, context: null };
  const state = { status: snapshot.status, value: toJsonSafe(snapshot.value, budget, rules), tags: [...(snapshot.tags ?? [])], active: (snapshot._nodes ?? []).map((node) => node.id) };
  budget.take(fieldsBytes({ status: state.status, tags: state.tags, active: state.active }));
  return { state, context: redactFields(toJsonSafe(snapshot.context, budget, rules), rules.fields) };
}

/** On a worker thread: the view a snapshot there sends back, within the reply's budget. */
export function describeMachine(xstateSnapshot: unknown, rules: ViewRules): MachineView {
  return viewOf(xstateSnapshot, rules, OutputBudget.forReply(rules.maxBytes));
}

/** Runs elsewhere (a worker thread) and describes its machine there. */
interface DescribedElsewhere {
  describeMachine(rules: ViewRules): Promise<MachineView>;
}

function describedElsewhere(executor: object): executor is DescribedElsewhere {
  return typeof (executor as Partial<DescribedElsewhere>).describeMachine === 'function';
}

/**
 * An agent's snapshot: its machine described where it runs, the rest (mailbox, metrics) here
 * where they live. What a thread sends back is copied again here, under this reply's own
 * budget: a thread is across a trust boundary, and a structured clone can carry shared references.
 */
export async function describeAgent(cell: AgentProcess, rules: ViewRules): Promise<AgentSnapshot> {
  const executor = cell.executor;
  const budget = OutputBudget.forReply(rules.maxBytes);
  const suspended = cell.lifecycle.kind === 'suspended';
  if (!describedElsewhere(executor)) return describeAgentWith(cell, suspended, viewOf(cell.snapshot(), rules, budget), rules, budget);
  const view = (await executor.describeMachine(rules)) as Partial<MachineView> | undefined;
  const machine: MachineView = { state: toJsonSafe(view?.state ?? null, budget, rules) as MachineView['state'], context: redactFields(toJsonSafe(view?.context ?? null, budget, rules), rules.fields) };
  return describeAgentWith(cell, suspended, machine, rules, budget);
}

function describeAgentWith(cell: AgentProcess, suspended: boolean, machine: MachineView, rules: ViewRules, budget: OutputBudget): AgentSnapshot {
  const head = cell.mailbox.peek();
  const metrics = cell.metrics;
  const snapshot: AgentSnapshot = {
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
      head: head === undefined ? null : headOf(head, rules, budget),
    },
    processed: metrics.processed,
    processingMs: metrics.processingMs,
  };
  const notice = budget.notice;
  return notice === undefined ? snapshot : { ...snapshot, truncated: notice };
}

/** The head message's summary and content, copied like the context: both come from whoever sent it. */
function headOf(message: AclMessage, rules: ViewRules, budget: OutputBudget): AgentSnapshot['mailbox']['head'] {
  const summary = toJsonSafe(summarize(message), budget, rules) as MessageSummary;
  return { ...summary, content: redactFields(toJsonSafe(message.content, budget, rules), rules.fields) };
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
  /** Present when the reply's budget left out some of this node's transitions or states. */
  readonly truncated?: string;
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

type Transition = StateChartNode['transitions'][number];

/** The node, or undefined when not even its own fields fit in what is left of the budget. */
function describeNode(node: StateNodeLike, budget: OutputBudget): StateChartNode | undefined {
  const own = { id: node.id, key: node.key, type: node.type, initial: node.initial?.target[0]?.id ?? null, tags: [...node.tags] };
  if (!budget.take(fieldsBytes(own) + 30)) return undefined;
  const transitions: Transition[] = [];
  let left = 0;
  for (const [event, candidates] of node.transitions) {
    for (const candidate of candidates) {
      const transition = { event, targets: (candidate.target ?? []).map((target) => target.id), guarded: candidate.guard !== undefined };
      if (left > 0 || !budget.take(fieldsBytes(transition) + 1)) left++;
      else transitions.push(transition);
    }
  }
  const children = Object.values(node.states);
  const states: StateChartNode[] = [];
  for (const child of children) {
    const described = left > 0 || budget.exhausted ? undefined : describeNode(child, budget);
    if (described === undefined) break;
    states.push(described);
  }
  const cut = [left > 0 ? `${left} transitions` : '', states.length < children.length ? `${children.length - states.length} states` : ''].filter((part) => part !== '');
  const chart = { ...own, transitions, states };
  return cut.length === 0 ? chart : { ...chart, truncated: `${cut.join(' and ')} not shown: ${budget.reason}` };
}

/** The agent's statechart: states nested as in the machine, transitions by event, ids to match `state` values; within `maxBytes` of JSON. */
export function describeStatechart(cell: Pick<AgentProcess, 'definition'>, maxBytes: number): StateChartNode {
  const budget = OutputBudget.forReply(maxBytes);
  const root = (cell.definition.machine as unknown as { root: StateNodeLike }).root;
  return describeNode(root, budget) ?? { id: root.id, key: root.key, type: root.type, initial: null, tags: [], transitions: [], states: [], truncated: `the machine's states not shown: ${budget.reason}` };
}
