import type { ExitReason, NodeStatus } from '../src/runtime/tree.js';

/**
 * Where a supervisor is in its life. Every change of phase is a method of SupervisorPhase
 * below; nothing else writes the phase.
 *
 * ```
 * starting                     ── every child started ───────► running
 * starting                     ── a child failed to start ───► stopped (parent-decides)
 * running                      ── escalation, auto shutdown ─► giving-up
 * running, giving-up, stopping ── a stop or kill asked for ──► stopping (that request's forGood)
 * giving-up, stopping          ── the children are gone ─────► stopped (parent-decides | for-good)
 * stopped (parent-decides)     ── a stop for good ───────────► stopped (for-good)
 * ```
 *
 * - `starting`: the children are being started in order (synchronously, inside `start()`).
 * - `running`: exits and runtime calls are handled, one at a time.
 * - `giving-up`: past the restart intensity, or an auto shutdown: the children are stopping;
 *   then the parent is told, and it decides what comes next (restart, or retire).
 * - `stopping`: a stop was asked for (by the parent, or the system at the root). `forGood` is
 *   the latest request's: false when the parent stops it as the bystander of a group restart
 *   (a new supervisor takes the path, so its watchers hear nothing), true otherwise. A stop for
 *   good after a stop for a restart (a failed restart, a give-up) tells the watchers.
 * - `stopped`: the children are gone and the path is free. `end` says whether the watchers of
 *   the path were told (`for-good`, exactly once), or whether that waits for the parent's word
 *   (`parent-decides`: after a give-up, a stop for a restart, or a failed start).
 */
export type Phase =
  | { readonly kind: 'starting' }
  | { readonly kind: 'running' }
  | { readonly kind: 'giving-up'; readonly exit: ExitReason }
  | { readonly kind: 'stopping'; readonly forGood: boolean }
  | { readonly kind: 'stopped'; readonly end: 'for-good' | 'parent-decides' };

/** What the kernel sees of each phase (TreeNode.status). */
const STATUS: Readonly<Record<Phase['kind'], NodeStatus>> = {
  // start() runs synchronously: nobody can observe a supervisor that is still starting
  starting: 'running',
  running: 'running',
  'giving-up': 'stopping',
  stopping: 'stopping',
  stopped: 'stopped',
};

/** The phase of one supervisor and its transitions. */
export class SupervisorPhase {
  private phase: Phase = { kind: 'starting' };

  get current(): Phase {
    return this.phase;
  }

  get status(): NodeStatus {
    return STATUS[this.phase.kind];
  }

  get isRunning(): boolean {
    return this.phase.kind === 'running';
  }

  get isStopped(): boolean {
    return this.phase.kind === 'stopped';
  }

  /** Every child started. */
  started(): void {
    if (this.phase.kind === 'starting') this.phase = { kind: 'running' };
  }

  /** A child failed to start: the supervisor never ran, and its parent has the error. */
  startFailed(): void {
    if (this.phase.kind === 'starting') this.phase = { kind: 'stopped', end: 'parent-decides' };
  }

  /**
   * The supervisor ends on its own (escalation, auto shutdown). A stop asked for meanwhile
   * stays asked for; a supervisor already stopped (killed while it handled the exit) does not
   * give up: false then.
   */
  giveUp(exit: ExitReason): boolean {
    switch (this.phase.kind) {
      case 'stopped':
        return false;
      case 'stopping':
        return true;
      default:
        this.phase = { kind: 'giving-up', exit };
        return true;
    }
  }

  /** A stop was asked for; the latest request decides whether its end is for good. Nothing changes once stopped. */
  stopRequested(forGood: boolean): void {
    if (this.phase.kind !== 'stopped') this.phase = { kind: 'stopping', forGood };
  }

  /** Whether an ongoing stop ends for good: the latest request's word, else `fallback` (the caller's own). */
  endsForGood(fallback: boolean): boolean {
    return this.phase.kind === 'stopping' ? this.phase.forGood : fallback;
  }

  /** The children are gone. Returns whether the watchers are to be told now. */
  finished(forGood: boolean): boolean {
    if (this.phase.kind === 'stopped') return false;
    this.phase = { kind: 'stopped', end: forGood ? 'for-good' : 'parent-decides' };
    return forGood;
  }

  /** A stopped supervisor is now gone for good. Returns whether the watchers are to be told (once). */
  goneForGood(): boolean {
    if (this.phase.kind !== 'stopped' || this.phase.end === 'for-good') return false;
    this.phase = { kind: 'stopped', end: 'for-good' };
    return true;
  }
}
