/**
 * A supervisor: the node of the supervision tree that starts its children, watches them and
 * restarts them, after Erlang/OTP's `supervisor` behaviour. This comment is its contract;
 * test/conformance (OTP's supervisor_SUITE, case by case) and test/supervision hold it to it.
 *
 * Start. `supervisor(options)` checks the options and every child spec at once (a bad one
 * throws SupervisorSpecError and nothing starts) and returns a NodeSpec, which createSystem
 * (at `/`) or the parent supervisor starts. The children start synchronously, one after
 * another, in the order of `children`. When one fails to start, the later ones never start,
 * the ones already started are killed in reverse order, the supervisor's path is free again,
 * and the start throws that child's error (OTP: `{error, {shutdown, ...}}`). Otherwise the
 * supervisor emits `started` and runs.
 *
 * One thing at a time. The exits of children and the runtime calls are handled one at a time,
 * in arrival order, as OTP's supervisor reads its mailbox. A stop waits in line too, but its
 * shutdown time counts from the call; a kill does not wait.
 *
 * Exits. An exit is matched with the incarnation that exited: the exit of an incarnation
 * already replaced (a bystander of a group restart that exited too) is ignored. The restart
 * type decides: `permanent` is always restarted, `transient` only after an abnormal exit (not
 * `normal` or `shutdown`), `temporary` never, and its spec is dropped. A child not restarted
 * keeps its spec, stopped (see restartChild, deleteChild).
 *
 * Restart intensity and escalation. Every restart is counted: more than `maxRestarts` within
 * `withinMs` (default 1 in 5,000 ms, the intensity of all children together) and the
 * supervisor gives up: it logs at `error`, emits `escalated`, stops all its children in
 * reverse start order (they hear `restart-limit`), and exits to its parent with
 * `restart-limit`, an abnormal exit its parent handles like any other. At the root, the
 * system stops.
 *
 * Strategies. The group that restarts with a failed child is, under `one-for-one`, that
 * child; under `one-for-all`, every child; under `rest-for-one`, that child and those started
 * after it. The running bystanders stop in reverse start order, each within its shutdown time
 * (an agent keeps its path and mailbox; its open requests fail); a temporary bystander ends
 * for good and its spec is dropped. Then every kept spec of the group starts, in start order,
 * also one stopped before (by terminateChild, or a transient child's normal exit), as OTP's
 * start_children. If a member fails to start, the members after it wait, and the failed one
 * is restarted with the strategy again, counted against the intensity. Restarts keep the
 * start order; children added by startChild come last.
 *
 * Backoff (optional). The group waits before it starts: the failed child's n-th restart in a
 * row waits `min(maxMs, minMs × factorⁿ) × (1 + jitter × random)`; a child up longer than
 * `resetAfterMs` starts a new series. Waiting children are `restarting`: counted as specs but
 * not active, and expected at their path (a watch waits for them). A child terminated while
 * it waits leaves its group; the others still start; a newer group restart takes a child over
 * from an older one.
 *
 * Significant children and `autoShutdown`. With `any-significant` (`all-significant`), when a
 * significant child exits and is not restarted (and no other significant child is alive or
 * waiting to restart), the supervisor stops its children in reverse start order and exits
 * with `shutdown` (a normal exit) to its parent. A bystander of a group restart and a child
 * ended by terminateChild do not trigger it; a significant child past the intensity
 * escalates instead.
 *
 * Heartbeats. An agent child with `heartbeat` is checked every `everyMs` from its start until
 * it is stopped (restarts keep the checks going); a hung one exits with `hung`, handled like a
 * crash.
 *
 * Stop. `stop(shutdown, reason)` stops the children for good in reverse start order, each
 * given its own shutdown time (milliseconds: killed when it runs out; `'infinity'`: waited
 * for; `'brutal'`: killed at once). When the supervisor's own shutdown time runs out first,
 * its whole subtree is killed (reason `killed`). Then its path is free, it emits `stopped`,
 * and the watchers of its path hear `terminated`, once. `stopForRestart` does the same for a
 * group restart of its parent, without telling the watchers (a new supervisor takes the
 * path); `kill(reason)` does it at once and synchronously. A supervisor that gave up (or
 * stopped for a restart) tells its watchers when its parent then stops it for good.
 *
 * Runtime calls (OTP's start_child and friends), each in its turn. startChild and
 * restartChild need a running supervisor; terminateChild and deleteChild one not yet stopped
 * (calls queued before a stop still run while it is under way); otherwise they fail with
 * SupervisorError `supervisor-stopped`.
 * - `startChild(spec | { id, input })` → ChildInfo. Starts a new child (from the `template`
 *   with `{ id, input }`) and puts it last. `already-started`, `already-present` (its spec is
 *   kept, stopped); a bad spec throws SupervisorSpecError; a child that fails to start
 *   rejects with its error and leaves nothing behind.
 * - `terminateChild(id)`: stops the child for good within its shutdown time; it is not
 *   restarted; a temporary child's spec is dropped, others are kept, stopped. `not-found`.
 * - `restartChild(id)` → ChildInfo: starts a stopped child again (counted in its `restarts`,
 *   not against the intensity). `not-found`, `running`, `restarting`; a failed start rejects
 *   with its error and the child stays stopped.
 * - `deleteChild(id)`: drops a stopped child's spec. `not-found`, `running`, `restarting`.
 * - `whichChildren()`: every child in start order: id, path, kind, incarnation (while
 *   running), status (`running` | `restarting` | `stopped`), restarts.
 * - `countChildren()`: specs, active (running), supervisors, workers.
 * While startChild or restartChild waits in line, a watch of the child's path waits for it
 * instead of hearing `noproc`.
 *
 * The kernel. A supervisor drives its children through the interfaces of src/runtime/tree.ts
 * (AgentNode, SupervisorControl, ParentLink) and reaches the kernel only through
 * SupervisorHost, defined there too.
 *
 * The parts. This file handles exits, restarts, stops and runtime calls, one at a time. Its
 * life is an explicit phase (phase.ts); its children list is children.ts; starting a child,
 * child-start.ts; the restart decisions (restart type, intensity, strategy, backoff),
 * restart-decisions.ts; stopping children, shutdown.ts; its options, options.ts.
 */
import type { CodeOf } from '../src/runtime/error-catalogue.js';
import { TroupeError } from '../src/runtime/errors.js';
import { childPath, isPathSegment } from '../src/runtime/path.js';
import { describeExit, type ChildInfo, type ChildSpec, type DynamicChild, type ExitReason, type NodeSpec, type NodeStatus, type ParentLink, type Shutdown, type SupervisorControl, type SupervisorHost, type TreeNode } from '../src/runtime/tree.js';
import { resolveChildSpec, SupervisorSpecError } from './child-spec.js';
import { ChildStarter, discardFailedStart, startOrDiscard } from './child-start.js';
import { Children, infoOf, leaveGroup, markStopped, newSlot, RESTARTING, type GroupStart, type Slot } from './children.js';
import { resolveOptions, type ResolvedOptions, type SupervisorOptions } from './options.js';
import { SupervisorPhase } from './phase.js';
import { RestartDecisions } from './restart-decisions.js';
import { haltForRestart, killEach, reasonForChildren, stopChild, stopInTurn } from './shutdown.js';

export type { AutoShutdown, Strategy, SupervisorOptions } from './options.js';

/** A runtime call on a supervisor that OTP would answer with an error tuple. */
export class SupervisorError extends TroupeError {
  declare readonly code: CodeOf<'SupervisorError'>;

  constructor(code: CodeOf<'SupervisorError'>, message: string) {
    super(code, message);
  }
}

/** Describes a supervisor; validated here, started by createSystem or its own supervisor. */
export function supervisor(options: SupervisorOptions): NodeSpec {
  const resolved = resolveOptions(options);
  return Object.freeze({
    kind: 'supervisor' as const,
    start(host: SupervisorHost, path: string, id: string, parent: ParentLink): SupervisorNode {
      const node = new SupervisorNode(host, path, id, resolved, parent);
      node.start();
      return node;
    },
  });
}

const SHUTDOWN: ExitReason = { kind: 'shutdown' };

/** A supervisor at a path; see the contract above. */
export class SupervisorNode implements SupervisorControl, ParentLink {
  readonly kind = 'supervisor';
  readonly incarnation: string;
  private readonly kernel: SupervisorHost;
  private readonly phase = new SupervisorPhase();
  private readonly children: Children;
  private readonly starter: ChildStarter;
  private readonly decisions: RestartDecisions;
  private work: Promise<void> = Promise.resolve();
  /** Resolves when the subtree is killed: a stop waiting in line behind busy work ends then too. */
  private readonly killed: Promise<void>;
  private markKilled!: () => void;

  constructor(
    kernel: SupervisorHost,
    readonly path: string,
    readonly id: string,
    private readonly options: ResolvedOptions,
    private readonly parent: ParentLink,
  ) {
    this.kernel = kernel;
    this.incarnation = this.kernel.newIncarnation();
    this.killed = new Promise((resolve) => {
      this.markKilled = resolve;
    });
    this.decisions = new RestartDecisions(options.strategy, options.intensity, options.backoff);
    this.children = new Children(path, options.children);
    this.starter = new ChildStarter(kernel, this);
  }

  get status(): NodeStatus {
    return this.phase.status;
  }

  /** Starts the children in order; if one fails, the started ones are killed and the error thrown. */
  start(): void {
    this.kernel.register(this);
    for (const slot of this.children.inStartOrder()) {
      try {
        this.starter.start(slot);
      } catch (error) {
        discardFailedStart(slot, error);
        // stopAll also ends the heartbeats of the children already started
        killEach(this.children.stopAll(), SHUTDOWN);
        this.phase.startFailed();
        this.kernel.unregister(this);
        throw error;
      }
    }
    this.phase.started();
    this.kernel.emit({ type: 'started', path: this.path, kind: 'supervisor', incarnation: this.incarnation, at: this.kernel.time.now() });
  }

  /** Runs supervisor work one item at a time; a failing item is logged and never blocks the next. */
  private serially<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.work.then(task);
    this.work = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  // ---- exits (ParentLink) --------------------------------------------------------------------

  childExited(child: TreeNode, reason: ExitReason): void {
    // Which incarnation exited: by the time this exit is handled, a group restart may have replaced it.
    const incarnation = child.incarnation;
    void this.serially(() => this.onChildExit(child, reason, incarnation)).catch((error: unknown) => {
      this.kernel.logger.error({ err: error, path: this.path }, 'supervisor failed while handling a child exit');
    });
  }

  private async onChildExit(child: TreeNode, reason: ExitReason, incarnation: string | undefined): Promise<void> {
    const slot = this.children.holding(child.id, child);
    // OTP ignores an EXIT from a pid that is no longer the child's: the incarnation was already replaced.
    // Whatever this supervisor is doing: a stop under way stops the new incarnation in its turn.
    if (slot !== undefined && child.incarnation !== incarnation) return;
    if (slot === undefined || slot.state.kind !== 'running' || !this.phase.isRunning) {
      // A supervisor node no longer in its slot was replaced (or retired) already: stopping it
      // again would tell the watchers of its path, where a new node may run.
      const replaced = slot === undefined && child.kind === 'supervisor';
      if ((!this.phase.isRunning || slot === undefined) && !replaced) await child.stop(0, reason);
      return;
    }
    const decision = this.decisions.onExit(slot, reason, this.kernel.time.now());
    switch (decision.kind) {
      case 'retire':
        await this.retire(slot, reason);
        return this.checkAutoShutdown(slot);
      case 'give-up':
        return this.escalate(decision.detail);
      case 'restart':
        return this.restartGroup(slot, reason);
    }
  }

  /** The child is not restarted: it stops for good; a temporary child's spec is dropped. */
  private async retire(slot: Slot, reason: ExitReason): Promise<void> {
    markStopped(slot);
    await slot.node?.stop(0, reason);
    if (slot.spec.restart === 'temporary') this.children.remove(slot);
  }

  private async checkAutoShutdown(slot: Slot): Promise<void> {
    const { autoShutdown } = this.options;
    if (!slot.spec.significant || autoShutdown === 'never') return;
    if (autoShutdown === 'all-significant' && this.children.anySignificantAlive()) return;
    await this.endOnItsOwn(SHUTDOWN);
  }

  private async escalate(detail: string): Promise<void> {
    this.kernel.logger.error({ path: this.path }, `supervisor ${this.path} gives up: ${detail}`);
    this.kernel.emit({ type: 'escalated', path: this.path, reason: detail, at: this.kernel.time.now() });
    await this.endOnItsOwn({ kind: 'restart-limit', detail });
  }

  /** Gives up (escalation, auto shutdown): the children stop in reverse order, then the parent decides what comes next. */
  private async endOnItsOwn(exit: ExitReason): Promise<void> {
    if (!this.phase.giveUp(exit)) return; // killed meanwhile: its parent is stopping it
    await stopInTurn(this.children.stopAll(), reasonForChildren(exit));
    if (this.phase.isStopped) return; // killed meanwhile: its parent is stopping it
    this.finishStop(exit, false);
    this.parent.childExited(this, exit);
  }

  // ---- restarts ------------------------------------------------------------------------------

  /** Applies the strategy: bystanders stop in reverse order, then the group starts in order. */
  private async restartGroup(failed: Slot, reason: ExitReason): Promise<void> {
    failed.state = RESTARTING;
    if (failed.kind === 'agent') failed.node?.markRestarting();
    const group = this.decisions.groupOf(this.children.inStartOrder(), failed);
    for (const slot of [...group].reverse()) {
      if (slot === failed || slot.state.kind !== 'running') continue;
      slot.state = RESTARTING;
      await haltForRestart(slot, reason);
    }
    if (!this.phase.isRunning) return; // stopped meanwhile: its stop ends the group
    const members: Slot[] = [];
    for (const slot of group) {
      if (slot !== failed && slot.spec.restart === 'temporary') {
        this.children.remove(slot); // OTP: a temporary bystander is not restarted
        continue;
      }
      // OTP's start_children starts every kept spec of the group, also one that was already
      // stopped (terminateChild, a transient child's normal exit).
      if (slot.state.kind === 'stopped') slot.state = RESTARTING;
      if (slot.state.kind === 'restarting') members.push(slot);
    }
    // One delay for the whole group (the failed child's backoff), then the group starts in order.
    const delay = this.decisions.delayBefore(failed, this.kernel.time.now());
    for (const slot of members) leaveGroup(slot); // a newer group restart takes over from an older one
    if (delay === 0) return this.startGroup(members);
    const clock = this.kernel.time;
    const timer = clock.setTimeout(() => {
      this.serially(() => this.startGroup(waiting.members)).catch((error: unknown) => {
        this.kernel.logger.error({ err: error, path: this.path }, 'supervisor failed while restarting children');
      });
    }, delay);
    const waiting: GroupStart = { members, cancel: () => clock.clearTimeout(timer) };
    for (const slot of members) slot.state = { kind: 'restarting', waiting };
  }

  /**
   * Starts the members of a group restart in order, as OTP's start_children: members no longer
   * waiting (terminated meanwhile) are skipped; at the first that fails to start, the rest wait
   * and the failed one is restarted with the strategy again, counted against the intensity.
   */
  private async startGroup(members: readonly Slot[]): Promise<void> {
    const slots = [...members];
    for (const slot of slots) if (slot.state.kind === 'restarting') slot.state = RESTARTING; // the wait is over
    for (const slot of slots) {
      if (slot.state.kind !== 'restarting' || !this.phase.isRunning) continue;
      try {
        this.starter.restart(slot);
      } catch (error) {
        // A failed start counts as a start for the backoff's reset rule: the series keeps growing.
        slot.startedAt = this.kernel.time.now();
        const reason: ExitReason = { kind: 'crash', error };
        const decision = this.decisions.restartOrGiveUp(slot, reason, this.kernel.time.now());
        return decision.kind === 'give-up' ? this.escalate(decision.detail) : this.restartGroup(slot, reason);
      }
    }
  }

  // ---- stopping ------------------------------------------------------------------------------

  stop(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    return this.stopAs(shutdown, reason, true);
  }

  stopForRestart(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    return this.stopAs(shutdown, reason, false);
  }

  /**
   * Ends this supervisor and its subtree at once and synchronously: when a start fails
   * halfway, every path it took is free again before anyone retries.
   */
  kill(reason: ExitReason): void {
    this.killNow(reason, reason, true);
  }

  drain(): void {
    for (const slot of this.children.inStartOrder()) slot.node?.drain();
  }

  private stopAs(shutdown: Shutdown, reason: ExitReason, forGood: boolean): Promise<void> {
    if (this.phase.isStopped) {
      // It had given up (escalation, auto shutdown) or stopped for a restart, and its parent now retires it for good.
      if (forGood) this.tellWatchers(reason);
      return Promise.resolve();
    }
    // A kill does not wait in line behind work under way (a restart, a give-up, a graceful stop).
    if (shutdown === 'brutal') {
      this.killNow(reason, { kind: 'killed', detail: `supervisor ${this.path} was killed` }, forGood);
      return Promise.resolve();
    }
    this.phase.stopRequested(forGood);
    // Stopped for good, the whole subtree takes no new work from now on: the stops one after
    // another (OTP's order) then wait only for the work in flight.
    if (forGood) this.drain();
    // The shutdown time counts from this call, also while earlier work holds the line.
    const timer = typeof shutdown === 'number' ? this.kernel.time.setTimeout(() => this.outOfTime(forGood), shutdown) : undefined;
    const stopping = this.serially(async () => {
      try {
        if (this.phase.isStopped) {
          // Killed meanwhile (already told), or it gave up meanwhile: then this stop retires it for good.
          if (forGood) this.tellWatchers(reason);
          return;
        }
        await stopInTurn(this.children.stopAll(), reasonForChildren(reason));
        const phase = this.phase.current;
        if (phase.kind === 'stopping') this.finishStop(reason, phase.forGood); // not killed meanwhile
      } finally {
        this.kernel.time.clearTimeout(timer);
      }
    });
    return Promise.race([stopping, this.killed]);
  }

  private outOfTime(forGood: boolean): void {
    this.killNow({ kind: 'killed', detail: 'shutdown time ran out' }, { kind: 'killed', detail: `supervisor ${this.path} ran out of shutdown time` }, this.phase.endsForGood(forGood));
  }

  /** `forGood` is false when the parent decides what comes next (a restart of this supervisor). */
  private killNow(reason: ExitReason, childReason: ExitReason, forGood: boolean): void {
    if (this.phase.isStopped) {
      // Stopped already, for a restart its parent now will not make: gone for good after all.
      if (forGood) this.tellWatchers(reason);
      return;
    }
    this.phase.stopRequested(forGood);
    killEach(this.children.stopAll(), childReason);
    this.finishStop(reason, forGood);
    this.markKilled();
  }

  /** `forGood` is false when the parent decides what comes next (a give-up, a restart). */
  private finishStop(reason: ExitReason, forGood: boolean): void {
    const tell = this.phase.finished(forGood);
    this.kernel.unregister(this);
    this.kernel.emit({ type: 'stopped', path: this.path, kind: 'supervisor', incarnation: this.incarnation, reason: describeExit(reason), at: this.kernel.time.now() });
    if (tell) this.kernel.notifyTerminated(this.path, this.incarnation, reason);
  }

  /** A stopped supervisor is gone for good: the watchers of its path are told, once. */
  private tellWatchers(reason: ExitReason): void {
    if (this.phase.goneForGood()) this.kernel.notifyTerminated(this.path, this.incarnation, reason);
  }

  // ---- runtime calls (OTP's supervisor:start_child and friends) ------------------------------

  whichChildren(): ChildInfo[] {
    return this.children.whichChildren();
  }

  countChildren(): { specs: number; active: number; supervisors: number; workers: number } {
    return this.children.count();
  }

  expectsChild(path: string): boolean {
    return this.children.expects(path);
  }

  startChild(spec: ChildSpec | DynamicChild): Promise<ChildInfo> {
    const resolved = resolveChildSpec(this.fromTemplate(spec));
    return this.startingChild(resolved.id, () => {
      this.assertRunning();
      const existing = this.children.get(resolved.id);
      if (existing !== undefined) {
        throw existing.state.kind === 'stopped'
          ? new SupervisorError('already-present', `child ${resolved.id} of ${this.path} exists (stopped); restartChild or deleteChild it`)
          : new SupervisorError('already-started', `child ${resolved.id} of ${this.path} is already running`);
      }
      const slot = newSlot(this.path, resolved);
      startOrDiscard(slot, () => this.starter.start(slot));
      this.children.append(slot);
      return infoOf(slot);
    });
  }

  /**
   * Runs a start call in line; until it has run, a watch of the child's path waits for the
   * child instead of hearing `noproc`, and if the child did not start, that watch hears it then.
   */
  private startingChild(id: string, start: () => ChildInfo): Promise<ChildInfo> {
    this.children.startAhead(id);
    return this.serially(() => {
      try {
        return start();
      } finally {
        this.children.startDone(id);
        // A bad id names no path anyone could have watched.
        if (isPathSegment(id)) this.kernel.settleWatchers(childPath(this.path, id));
      }
    });
  }

  terminateChild(id: string): Promise<void> {
    return this.serially(async () => {
      this.assertNotStopped();
      const slot = this.requireSlot(id);
      markStopped(slot); // it leaves its group start; the rest of the group still starts
      await stopChild(slot, SHUTDOWN);
      if (slot.spec.restart === 'temporary') this.children.remove(slot);
    });
  }

  restartChild(id: string): Promise<ChildInfo> {
    return this.startingChild(id, () => {
      this.assertRunning();
      const slot = this.requireStopped(id);
      startOrDiscard(slot, () => this.starter.restart(slot));
      return infoOf(slot);
    });
  }

  deleteChild(id: string): Promise<void> {
    return this.serially(() => {
      this.assertNotStopped();
      this.children.remove(this.requireStopped(id));
    });
  }

  private fromTemplate(spec: ChildSpec | DynamicChild): ChildSpec {
    if ('agent' in spec && spec.agent !== undefined) return spec;
    const template = this.options.template;
    if (template === undefined) throw new SupervisorSpecError('invalid-child', `supervisor ${this.path} has no template; startChild needs a full child spec with \`agent\``);
    return { ...template, ...spec, agent: template.agent };
  }

  /** Calls queued before a stop still run while it is under way; a replaced or stopped node answers no more. */
  private assertNotStopped(): void {
    if (this.phase.isStopped) throw new SupervisorError('supervisor-stopped', `supervisor ${this.path} is stopped`);
  }

  private assertRunning(): void {
    if (!this.phase.isRunning) throw new SupervisorError('supervisor-stopped', `supervisor ${this.path} is ${this.status}`);
  }

  private requireSlot(id: string): Slot {
    const slot = this.children.get(id);
    if (slot === undefined) throw new SupervisorError('not-found', `supervisor ${this.path} has no child ${JSON.stringify(id)}`);
    return slot;
  }

  private requireStopped(id: string): Slot {
    const slot = this.requireSlot(id);
    if (slot.state.kind !== 'stopped') throw new SupervisorError(slot.state.kind, `child ${id} of ${this.path} is ${slot.state.kind}; terminateChild it first`);
    return slot;
  }
}
