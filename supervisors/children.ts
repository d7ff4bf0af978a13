import { childPath } from '../src/runtime/path.js';
import type { AgentNode, ChildInfo, SupervisorControl } from '../src/runtime/tree.js';
import type { ResolvedAgentSpec, ResolvedChildSpec, ResolvedSupervisorSpec } from './child-spec.js';
import type { HeartbeatMonitor } from './heartbeat.js';

/**
 * Where one child is, as its supervisor sees it. A child waiting for its group's backoff is
 * `restarting` with the group start it waits for.
 */
export type ChildState = { readonly kind: 'running' } | { readonly kind: 'restarting'; readonly waiting: GroupStart | undefined } | { readonly kind: 'stopped' };

/** The members of one group restart waiting for their (shared) backoff; a member restarted by a newer group leaves it. */
export interface GroupStart {
  /** Cancels the group's start (its backoff timer). */
  readonly cancel: () => void;
  readonly members: Slot[];
}

interface SlotBase {
  readonly path: string;
  state: ChildState;
  restarts: number;
  /** Consecutive restarts, for backoff; reset when the child stays up long enough. */
  attempt: number;
  startedAt: number;
}

/** An agent child: one AgentNode for its whole life, started again on each restart. */
export interface AgentSlot extends SlotBase {
  readonly kind: 'agent';
  readonly spec: ResolvedAgentSpec;
  node: AgentNode | undefined;
  /** Runs from the start until the child is stopped (restarts keep it). */
  monitor: HeartbeatMonitor | undefined;
}

/** A nested supervisor: each start makes a new node. */
export interface SupervisorSlot extends SlotBase {
  readonly kind: 'supervisor';
  readonly spec: ResolvedSupervisorSpec;
  node: SupervisorControl | undefined;
}

export type Slot = AgentSlot | SupervisorSlot;

export const RUNNING: ChildState = Object.freeze({ kind: 'running' });
export const STOPPED: ChildState = Object.freeze({ kind: 'stopped' });
/** Restarting, and not (or no longer) waiting for a backoff. */
export const RESTARTING: ChildState = Object.freeze({ kind: 'restarting', waiting: undefined });

export function newSlot(parentPath: string, spec: ResolvedChildSpec): Slot {
  const path = childPath(parentPath, spec.id);
  if (spec.kind === 'supervisor') return { kind: 'supervisor', spec, path, node: undefined, state: STOPPED, restarts: 0, attempt: 0, startedAt: 0 };
  return { kind: 'agent', spec, path, node: undefined, state: STOPPED, restarts: 0, attempt: 0, startedAt: 0, monitor: undefined };
}

/** Takes the slot out of the group start it waits for (it stays restarting); the timer ends with the group's last member. */
export function leaveGroup(slot: Slot): void {
  if (slot.state.kind !== 'restarting' || slot.state.waiting === undefined) return;
  const group = slot.state.waiting;
  slot.state = RESTARTING;
  group.members.splice(group.members.indexOf(slot), 1);
  if (group.members.length === 0) group.cancel();
}

/** The child is not running and will not be unless asked: it leaves its group start and its heartbeat ends. */
export function markStopped(slot: Slot): void {
  leaveGroup(slot);
  slot.state = STOPPED;
  if (slot.kind === 'agent') {
    slot.monitor?.stop();
    slot.monitor = undefined;
  }
}

export function infoOf(slot: Slot): ChildInfo {
  return {
    id: slot.spec.id,
    path: slot.path,
    kind: slot.kind,
    incarnation: slot.state.kind === 'running' ? slot.node?.incarnation : undefined,
    status: slot.state.kind,
    restarts: slot.restarts,
  };
}

/**
 * A supervisor's children: their slots in start order (the order restarts keep and stops
 * reverse) and by id (runtime calls and exits must not scan thousands of children), plus the
 * ids that a call waiting in line (startChild, restartChild) is about to start.
 */
export class Children {
  private readonly slots: Slot[];
  private readonly byId = new Map<string, Slot>();
  /** Child ids a startChild or restartChild waiting in line is about to start, with how many such calls. */
  private readonly starting = new Map<string, number>();

  constructor(parentPath: string, specs: readonly ResolvedChildSpec[]) {
    this.slots = specs.map((spec) => newSlot(parentPath, spec));
    for (const slot of this.slots) this.byId.set(slot.spec.id, slot);
  }

  /** In start order. */
  inStartOrder(): readonly Slot[] {
    return this.slots;
  }

  get(id: string): Slot | undefined {
    return this.byId.get(id);
  }

  /** The slot of this exact node, if it still holds it (not replaced by a restart, not removed). */
  holding(id: string, node: unknown): Slot | undefined {
    const slot = this.byId.get(id);
    return slot?.node === node ? slot : undefined;
  }

  /** A new child goes last in start order. */
  append(slot: Slot): void {
    this.slots.push(slot);
    this.byId.set(slot.spec.id, slot);
  }

  /** The child's spec is dropped (a temporary child that ended, deleteChild). */
  remove(slot: Slot): void {
    markStopped(slot);
    if (this.byId.get(slot.spec.id) !== slot) return;
    this.byId.delete(slot.spec.id);
    this.slots.splice(this.slots.indexOf(slot), 1);
  }

  /** Every child in reverse start order, each marked stopped with its restart timer and heartbeat ended. */
  stopAll(): Slot[] {
    const slots = [...this.slots].reverse();
    for (const slot of slots) markStopped(slot);
    return slots;
  }

  /** OTP counts a child waiting to restart as alive. */
  anySignificantAlive(): boolean {
    return this.slots.some((slot) => slot.spec.significant && slot.state.kind !== 'stopped');
  }

  whichChildren(): ChildInfo[] {
    return this.slots.map(infoOf);
  }

  count(): { specs: number; active: number; supervisors: number; workers: number } {
    const supervisors = this.slots.filter((slot) => slot.kind === 'supervisor').length;
    const active = this.slots.filter((slot) => slot.state.kind === 'running').length;
    return { specs: this.slots.length, active, supervisors, workers: this.slots.length - supervisors };
  }

  /** A start call for `id` waits in line. */
  startAhead(id: string): void {
    this.starting.set(id, (this.starting.get(id) ?? 0) + 1);
  }

  /** That start call has run (started the child or not). */
  startDone(id: string): void {
    const left = (this.starting.get(id) ?? 1) - 1;
    if (left > 0) this.starting.set(id, left);
    else this.starting.delete(id);
  }

  /** See ContainerNode.expectsChild: a child about to start, running, or waiting to restart. */
  expects(path: string): boolean {
    const id = path.slice(path.lastIndexOf('/') + 1);
    if (this.starting.has(id)) return true;
    const slot = this.byId.get(id);
    return slot !== undefined && slot.path === path && slot.state.kind !== 'stopped';
  }
}
