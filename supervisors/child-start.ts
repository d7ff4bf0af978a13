import type { AgentNode, ParentLink, SupervisorHost } from '../src/runtime/tree.js';
import { RUNNING, type AgentSlot, type Slot } from './children.js';
import { HeartbeatMonitor } from './heartbeat.js';

/**
 * How a supervisor starts its children. An agent child has one AgentNode for its whole life
 * (its address and mailbox outlive restarts), started again on each restart, and its heartbeat
 * runs from its first start; a nested supervisor is a new node on each start. A start that
 * throws leaves nothing behind.
 */
export class ChildStarter {
  constructor(
    private readonly kernel: SupervisorHost,
    private readonly parent: ParentLink,
  ) {}

  /** Starts the child (throws when the start fails). */
  start(slot: Slot): void {
    if (slot.kind === 'supervisor') {
      slot.node = slot.spec.agent.start(this.kernel, slot.path, slot.spec.id, this.parent);
    } else {
      const agent = slot.node ?? this.createAgent(slot);
      slot.node = agent;
      if (agent.incarnation === undefined) agent.start();
      else agent.restart();
      if (slot.spec.heartbeat !== undefined) slot.monitor ??= new HeartbeatMonitor(agent, slot.spec.heartbeat, this.kernel.time);
    }
    slot.state = RUNNING;
    slot.startedAt = this.kernel.time.now();
  }

  /** Starts the child again, counted as a restart (throws when the start fails). */
  restart(slot: Slot): void {
    slot.restarts++;
    this.start(slot);
    // An agent reports its own restart; a nested supervisor is a new node, reported here.
    if (slot.kind === 'supervisor') this.kernel.emit({ type: 'restarted', path: slot.path, kind: 'supervisor', incarnation: slot.node?.incarnation ?? '', restarts: slot.restarts, at: this.kernel.time.now() });
  }

  private createAgent(slot: AgentSlot): AgentNode {
    const agent = this.kernel.createAgent(slot.path, slot.spec.id, slot.spec.agent, this.parent, slot.spec.placement);
    agent.onRestart = slot.spec.onRestart;
    if (slot.spec.input !== undefined) agent.input = slot.spec.input;
    return agent;
  }
}

/** A child that failed to start leaves nothing behind: its agent gives up its path and answers its queue. */
export function discardFailedStart(slot: Slot, error: unknown): void {
  if (slot.node !== undefined && slot.node.status !== 'stopped') void slot.node.stop('brutal', { kind: 'crash', error });
}

/** Runs a start; when it fails, the child is discarded and the error goes to the caller. */
export function startOrDiscard(slot: Slot, start: () => void): void {
  try {
    start();
  } catch (error) {
    discardFailedStart(slot, error);
    throw error;
  }
}
