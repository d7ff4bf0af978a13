/**
 * The contract between the kernel and supervision. The kernel runs agents (agent processes)
 * and knows nothing about strategies; a supervisor (in supervisors/) is a TreeNode that owns
 * children and is told, through ParentLink, when one of them exits.
 */
import type { Logger } from 'pino';
import type { AgentDefinition, Heartbeat, Placement } from '../agent/define-agent.js';
import type { Clock } from './clock.js';
import type { SystemEvent } from './system-events.js';

export type { Heartbeat, Placement } from '../agent/define-agent.js';

/**
 * Why a node exited. `normal` and `shutdown` are normal exits in the OTP sense. `noproc` is
 * what a watch of a path where nothing lives hears (Erlang's `'DOWN'` with `noproc`).
 */
export type ExitReason =
  | { readonly kind: 'normal' }
  | { readonly kind: 'shutdown' }
  | { readonly kind: 'noproc' }
  | { readonly kind: 'crash'; readonly error: unknown }
  | { readonly kind: 'hung'; readonly detail: string }
  | { readonly kind: 'restart-limit'; readonly detail: string }
  | { readonly kind: 'killed'; readonly detail: string };

export function isNormalExit(reason: ExitReason): boolean {
  return reason.kind === 'normal' || reason.kind === 'shutdown';
}

export function describeExit(reason: ExitReason): string {
  switch (reason.kind) {
    case 'normal':
    case 'shutdown':
    case 'noproc':
      return reason.kind;
    case 'crash':
      return reason.error instanceof Error ? reason.error.message : String(reason.error);
    default:
      return `${reason.kind}: ${reason.detail}`;
  }
}

/** How long a node gets to stop: milliseconds, `'brutal'` (at once) or `'infinity'`. */
export type Shutdown = number | 'brutal' | 'infinity';

export type NodeStatus = 'running' | 'restarting' | 'stopping' | 'stopped';

export interface ChildInfo {
  readonly id: string;
  readonly path: string;
  readonly kind: 'agent' | 'supervisor';
  /** Undefined while the child is not running (waiting to restart, or a stopped spec kept by its supervisor). */
  readonly incarnation: string | undefined;
  readonly status: NodeStatus;
  readonly restarts: number;
}

/** Something that lives at a path in the tree: an agent or a supervisor. */
export interface TreeNode {
  readonly id: string;
  readonly path: string;
  readonly kind: 'agent' | 'supervisor';
  readonly incarnation: string | undefined;
  readonly status: NodeStatus;
  /** Stops the node for good, within `shutdown`; resolves when it has stopped. */
  stop(shutdown: Shutdown, reason: ExitReason): Promise<void>;
  /**
   * A stop for good is coming: take no new work. An agent answers what waits in its mailbox
   * with `failure` (reason `agent-stopping`), refuses what comes, and tells its machine
   * (event `troupe.stopping`) so that work it queued itself ends too; a supervisor drains its
   * children. Work in flight goes on, so the stop that follows waits only for that.
   */
  drain(): void;
}

/** What a parent is told about its children. */
export interface ParentLink {
  /** The child exited on its own (crash, hang, final state). It is no longer running. */
  childExited(child: TreeNode, reason: ExitReason): void;
}

/** A node with children, such as a supervisor. */
export interface ContainerNode extends TreeNode {
  whichChildren(): ChildInfo[];
  /**
   * Whether a child at `path` is expected to run although nothing may be registered there
   * now: a child between a stop for a restart and its new start (backoff included), or one a
   * call waiting in line (startChild, restartChild) is about to start.
   */
  expectsChild(path: string): boolean;
}

/** A node that stops for a restart keeps its address; an agent keeps its mailbox too. */
export interface RestartableNode extends TreeNode {
  /** Stops the running incarnation so that it can be started again (bystander of a group restart). */
  halt(shutdown: Shutdown, reason: ExitReason): Promise<void>;
  restart(): void;
  readonly restarts: number;
}

/**
 * What a supervisor drives for an agent child: an AgentCell on the main thread, or the
 * stand-in of an agent placed on a worker thread.
 */
export interface AgentNode extends RestartableNode {
  readonly kind: 'agent';
  onRestart: 'reset' | 'resume';
  input: unknown;
  start(): void;
  markRestarting(): void;
  /** Why the agent is hung, or undefined while it is alive (see ChildSpec.heartbeat). */
  checkLiveness(now: number, timeoutMs: number): string | undefined;
  hang(detail: string): void;
}

/** OTP restart types: permanent always, transient after abnormal exits, temporary never. */
export type RestartType = 'permanent' | 'transient' | 'temporary';

export interface ChildSpec {
  /** Unique among its siblings; the child's path is `<supervisor path>/<id>`. */
  readonly id: string;
  /** An agent definition or a nested supervisor. */
  readonly agent: AgentDefinition | NodeSpec;
  /** Default `permanent`. */
  readonly restart?: RestartType;
  /** Time to stop: milliseconds, `'brutal'` or `'infinity'`. Default 5,000 for agents, `'infinity'` for supervisors. */
  readonly shutdownMs?: Shutdown;
  /** With the supervisor's `autoShutdown`, a significant child's exit may end the supervisor. */
  readonly significant?: boolean;
  /** Liveness checks of an agent child; a child without progress while it has work is hung and restarted. */
  readonly heartbeat?: Heartbeat;
  /** On restart, start fresh (`reset`, default) or from the last good state (`resume`). */
  readonly onRestart?: 'reset' | 'resume';
  /** Input for this child's machine, instead of the definition's. */
  readonly input?: unknown;
  /** Main thread or worker thread; default the agent's `placement`, else `inline`. */
  readonly placement?: Placement;
}

/** A child started from its supervisor's template: an id and, optionally, its machine's input. */
export interface DynamicChild {
  readonly id: string;
  readonly input?: unknown;
}

/** The OTP runtime calls a supervisor answers (start_child, terminate_child, ...). */
export interface SupervisorControl extends ContainerNode {
  startChild(spec: ChildSpec | DynamicChild): Promise<ChildInfo>;
  terminateChild(id: string): Promise<void>;
  restartChild(id: string): Promise<ChildInfo>;
  deleteChild(id: string): Promise<void>;
  countChildren(): { specs: number; active: number; supervisors: number; workers: number };
  /** Stops as the bystander of a group restart: a new supervisor takes the path, so its watchers hear nothing. */
  stopForRestart(shutdown: Shutdown, reason: ExitReason): Promise<void>;
  /** Ends the supervisor and its whole subtree at once and synchronously. */
  kill(reason: ExitReason): void;
}

/** What the kernel starts at a path: implemented by supervisors (in supervisors/). */
export interface NodeSpec {
  readonly kind: 'supervisor';
  start(host: SupervisorHost, path: string, id: string, parent: ParentLink): SupervisorControl;
}

/** What a supervisor uses of its system's kernel. */
export interface SupervisorHost {
  readonly logger: Logger;
  /** Every timer and clock reading (intensity, backoff, shutdown times, heartbeats). */
  readonly time: Clock;
  /** Creates the process of an agent at `path`, its machine run where `placement` says; `start()` starts it. */
  createAgent(path: string, id: string, definition: AgentDefinition, parent: ParentLink, placement?: Placement): AgentNode;
  register(node: TreeNode): void;
  unregister(node: TreeNode): void;
  emit(event: SystemEvent): void;
  newIncarnation(): string;
  /** A start that was expected at `path` is over: if nothing lives there after all, its watchers hear `noproc`. */
  settleWatchers(path: string): void;
  notifyTerminated(path: string, incarnation: string, reason: ExitReason): void;
}
