import type { AgentDefinition } from '../src/agent/define-agent.js';
import type { CodeOf } from '../src/runtime/error-catalogue.js';
import { TroupeError } from '../src/runtime/errors.js';
import { childPath, isPathSegment } from '../src/runtime/path.js';
import type { Runtime } from '../src/runtime/runtime.js';
import {
  describeExit,
  isNormalExit,
  type ChildInfo,
  type AgentNode,
  type ChildSpec,
  type DynamicChild,
  type ExitReason,
  type NodeSpec,
  type NodeStatus,
  type ParentLink,
  type RestartableNode,
  type Shutdown,
  type SupervisorControl,
  type TreeNode,
} from '../src/runtime/tree.js';
import { backoffDelay, resolveBackoff, type Backoff } from './backoff.js';
import { HeartbeatMonitor } from './heartbeat.js';
import { isSupervisorSpec, resolveChildSpec, resolveChildSpecs, SupervisorSpecError, type ResolvedChildSpec } from './child-spec.js';
import { RestartIntensity, resolveIntensity, type Intensity } from './restart-intensity.js';
import { oneForAll } from './strategies/one-for-all.js';
import { oneForOne } from './strategies/one-for-one.js';
import { restForOne } from './strategies/rest-for-one.js';

export type Strategy = 'one-for-one' | 'one-for-all' | 'rest-for-one';
export type AutoShutdown = 'never' | 'any-significant' | 'all-significant';

export interface SupervisorOptions {
  /** Default `one-for-one`. */
  readonly strategy?: Strategy;
  /** Default `{ maxRestarts: 1, withinMs: 5_000 }`, as OTP. */
  readonly intensity?: Intensity;
  /** Optional delay before restarts, growing with consecutive restarts of a child. */
  readonly backoff?: Backoff;
  /** Default `never`. */
  readonly autoShutdown?: AutoShutdown;
  readonly children?: readonly ChildSpec[];
  /**
   * A spec for children started on demand (OTP's simple_one_for_one pools):
   * `system.startChild(path, { id, input })` starts one from it.
   */
  readonly template?: Omit<ChildSpec, 'id'>;
}

interface ResolvedOptions {
  readonly strategy: Strategy;
  readonly intensity: Intensity;
  readonly backoff: Required<Backoff> | undefined;
  readonly autoShutdown: AutoShutdown;
  readonly children: readonly ResolvedChildSpec[];
  readonly template: Omit<ChildSpec, 'id'> | undefined;
}

/** A runtime call on a supervisor that OTP would answer with an error tuple. */
export class SupervisorError extends TroupeError {
  declare readonly code: CodeOf<'SupervisorError'>;

  constructor(code: CodeOf<'SupervisorError'>, message: string) {
    super(code, message);
  }
}

const STRATEGIES = { 'one-for-one': oneForOne, 'one-for-all': oneForAll, 'rest-for-one': restForOne } as const;
const AUTO_SHUTDOWN: ReadonlySet<string> = new Set(['never', 'any-significant', 'all-significant']);

/** Describes a supervisor; validated here, started by createSystem or its own supervisor. */
export function supervisor(options: SupervisorOptions): NodeSpec {
  const resolved = resolveOptions(options);
  return Object.freeze({
    kind: 'supervisor' as const,
    start(runtime: Runtime, path: string, id: string, parent: ParentLink): SupervisorControl {
      const node = new SupervisorNode(runtime, path, id, resolved, parent);
      node.start();
      return node;
    },
  });
}

function checkTemplate(template: Omit<ChildSpec, 'id'>): Omit<ChildSpec, 'id'> {
  resolveChildSpec({ ...template, id: 'template' });
  return template;
}

function resolveOptions(options: SupervisorOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new SupervisorSpecError('invalid-supervisor', 'supervisor() needs an options object');
  const strategy = options.strategy ?? 'one-for-one';
  if (!(strategy in STRATEGIES)) throw new SupervisorSpecError('invalid-strategy', `strategy must be one-for-one, one-for-all or rest-for-one, got ${String(strategy)}`);
  const autoShutdown = options.autoShutdown ?? 'never';
  if (!AUTO_SHUTDOWN.has(autoShutdown)) throw new SupervisorSpecError('invalid-auto-shutdown', `autoShutdown must be never, any-significant or all-significant, got ${String(autoShutdown)}`);
  return {
    strategy,
    intensity: resolveIntensity(options.intensity),
    backoff: resolveBackoff(options.backoff),
    autoShutdown,
    children: resolveChildSpecs(options.children ?? []),
    template: options.template === undefined ? undefined : checkTemplate(options.template),
  };
}

type SlotState = 'running' | 'restarting' | 'stopped';

interface Slot {
  readonly spec: ResolvedChildSpec;
  readonly path: string;
  node: TreeNode | undefined;
  state: SlotState;
  restarts: number;
  /** Consecutive restarts, for backoff; reset when the child stays up long enough. */
  attempt: number;
  startedAt: number;
  /** The group start this slot waits for (backoff). */
  pending: GroupStart | undefined;
  monitor: HeartbeatMonitor | undefined;
}

/** The members of one group restart waiting for their (shared) backoff; a member restarted by a newer group leaves it. */
interface GroupStart {
  readonly timer: ReturnType<typeof setTimeout>;
  readonly members: Slot[];
}

function isRestartable(node: TreeNode | undefined): node is RestartableNode {
  return node !== undefined && 'halt' in node && 'restart' in node;
}

export function shouldRestart(spec: ResolvedChildSpec, reason: ExitReason): boolean {
  switch (spec.restart) {
    case 'permanent':
      return true;
    case 'transient':
      return !isNormalExit(reason);
    default:
      return false;
  }
}

/**
 * A supervisor at a path: starts its children in order, stops them in reverse, and applies
 * its strategy, restart types and restart intensity exactly as OTP's `supervisor` does.
 * Exits and runtime calls are handled one at a time, in arrival order.
 */
export class SupervisorNode implements SupervisorControl, ParentLink {
  readonly kind = 'supervisor';
  readonly incarnation: string;
  status: NodeStatus = 'running';
  /** In start order. */
  private readonly slots: Slot[];
  /** The same slots by child id: runtime calls and exits must not scan thousands of children. */
  private readonly slotsById = new Map<string, Slot>();
  private readonly intensity: RestartIntensity;
  private work: Promise<void> = Promise.resolve();
  private stoppingForRestart = false;
  /** Child ids a startChild or restartChild waiting in line is about to start, with how many such calls. */
  private readonly starting = new Map<string, number>();
  private watchersTold = false;
  /** Resolves when the subtree is killed: a stop waiting in line behind busy work ends then too. */
  private readonly killed: Promise<void>;
  private markKilled!: () => void;

  constructor(
    private readonly runtime: Runtime,
    readonly path: string,
    readonly id: string,
    private readonly options: ResolvedOptions,
    private readonly parent: ParentLink,
  ) {
    this.incarnation = runtime.newIncarnation();
    this.killed = new Promise((resolve) => {
      this.markKilled = resolve;
    });
    this.intensity = new RestartIntensity(options.intensity);
    this.slots = options.children.map((spec) => this.newSlot(spec));
    for (const slot of this.slots) this.slotsById.set(slot.spec.id, slot);
  }

  private newSlot(spec: ResolvedChildSpec): Slot {
    return { spec, path: childPath(this.path, spec.id), node: undefined, state: 'stopped', restarts: 0, attempt: 0, startedAt: 0, pending: undefined, monitor: undefined };
  }

  /** Starts the children in order; if one fails, the started ones are killed and the error thrown. */
  start(): void {
    this.runtime.register(this);
    for (let index = 0; index < this.slots.length; index++) {
      const slot = this.slots[index] as Slot;
      try {
        this.startSlot(slot);
      } catch (error) {
        this.discardFailedStart(slot, error);
        // slotsToStop also ends the heartbeats of the children already started
        for (const started of this.slotsToStop()) killNow(started.node, { kind: 'shutdown' });
        this.status = 'stopped';
        this.runtime.unregister(this);
        throw error;
      }
    }
    this.runtime.emit({ type: 'started', path: this.path, kind: 'supervisor', incarnation: this.incarnation, at: Date.now() });
  }

  private startSlot(slot: Slot): void {
    const { agent } = slot.spec;
    if (isSupervisorSpec(agent)) {
      slot.node = agent.start(this.runtime, slot.path, slot.spec.id, this);
    } else {
      const cell = (slot.node as AgentNode | undefined) ?? this.createCell(slot, agent as AgentDefinition);
      slot.node = cell;
      if (cell.incarnation === undefined) cell.start();
      else cell.restart();
      if (slot.spec.heartbeat !== undefined) slot.monitor ??= new HeartbeatMonitor(cell, slot.spec.heartbeat);
    }
    slot.state = 'running';
    slot.startedAt = Date.now();
  }

  /** A child that failed to start leaves nothing behind: its cell gives up its path and answers its queue. */
  private discardFailedStart(slot: Slot, error: unknown): void {
    if (slot.node !== undefined && slot.node.status !== 'stopped') void slot.node.stop('brutal', { kind: 'crash', error });
  }

  private createCell(slot: Slot, definition: AgentDefinition): AgentNode {
    const cell = this.runtime.createAgent(slot.path, slot.spec.id, definition, this, slot.spec.placement);
    cell.onRestart = slot.spec.onRestart;
    if (slot.spec.input !== undefined) cell.input = slot.spec.input;
    return cell;
  }

  /** The child is gone for good: its heartbeat stops too. */
  private stopMonitor(slot: Slot): void {
    slot.monitor?.stop();
    slot.monitor = undefined;
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

  // ---- ParentLink ----------------------------------------------------------------------------

  childExited(child: TreeNode, reason: ExitReason): void {
    // Which incarnation exited: by the time this exit is handled, a group restart may have replaced it.
    const incarnation = child.incarnation;
    void this.serially(() => this.onChildExit(child, reason, incarnation)).catch((error: unknown) => {
      this.runtime.logger.error({ err: error, path: this.path }, 'supervisor failed while handling a child exit');
    });
  }

  private async onChildExit(child: TreeNode, reason: ExitReason, incarnation: string | undefined): Promise<void> {
    const candidate = this.slotsById.get(child.id);
    const slot = candidate?.node === child ? candidate : undefined;
    // OTP ignores an EXIT from a pid that is no longer the child's: the incarnation was already replaced.
    // Whatever this supervisor is doing: a stop under way stops the new incarnation in its turn.
    if (slot !== undefined && child.incarnation !== incarnation) return;
    if (slot === undefined || slot.state !== 'running' || this.status !== 'running') {
      // A supervisor node no longer in its slot was replaced (or retired) already: stopping it
      // again would tell the watchers of its path, where a new node may run.
      const replaced = slot === undefined && child instanceof SupervisorNode;
      if ((this.status !== 'running' || slot === undefined) && !replaced) await child.stop(0, reason);
      return;
    }
    if (!shouldRestart(slot.spec, reason)) {
      await this.retire(slot, reason);
      await this.checkAutoShutdown(slot);
      return;
    }
    if (!this.intensity.allow(Date.now())) {
      await this.escalate(slot, reason);
      return;
    }
    await this.restartGroup(slot, reason);
  }

  /** The child is not restarted: its cell stops for good; a temporary child's spec is dropped. */
  private async retire(slot: Slot, reason: ExitReason): Promise<void> {
    slot.state = 'stopped';
    this.stopMonitor(slot);
    await slot.node?.stop(0, reason);
    if (slot.spec.restart === 'temporary') this.removeSlot(slot);
  }

  private removeSlot(slot: Slot): void {
    this.unschedule(slot);
    this.stopMonitor(slot);
    if (this.slotsById.get(slot.spec.id) !== slot) return;
    this.slotsById.delete(slot.spec.id);
    this.slots.splice(this.slots.indexOf(slot), 1);
  }

  private async checkAutoShutdown(slot: Slot): Promise<void> {
    if (!slot.spec.significant || this.options.autoShutdown === 'never') return;
    // OTP counts a child waiting to restart as alive
    if (this.options.autoShutdown === 'all-significant' && this.slots.some((other) => other.spec.significant && other.state !== 'stopped')) return;
    await this.stopChildren({ kind: 'shutdown' });
    if (this.status === 'stopped') return; // killed meanwhile: its parent is stopping it
    this.finishStop({ kind: 'shutdown' }, false);
    this.parent.childExited(this, { kind: 'shutdown' });
  }

  private async escalate(slot: Slot, reason: ExitReason): Promise<void> {
    const { maxRestarts } = this.options.intensity;
    const detail = `more than ${maxRestarts} restart${maxRestarts === 1 ? '' : 's'} within ${this.options.intensity.withinMs} ms (last: ${slot.spec.id}, ${describeExit(reason)})`;
    this.runtime.logger.error({ path: this.path }, `supervisor ${this.path} gives up: ${detail}`);
    this.runtime.emit({ type: 'escalated', path: this.path, reason: detail, at: Date.now() });
    const exit: ExitReason = { kind: 'restart-limit', detail };
    slot.state = 'stopped';
    await this.stopChildren(exit);
    if (this.status === 'stopped') return; // killed meanwhile: its parent is stopping it
    this.finishStop(exit, false);
    this.parent.childExited(this, exit);
  }

  /** Applies the strategy: bystanders stop in reverse order, then the group starts in order. */
  private async restartGroup(failed: Slot, reason: ExitReason): Promise<void> {
    failed.state = 'restarting';
    if (isRestartable(failed.node) && 'markRestarting' in failed.node) (failed.node as AgentNode).markRestarting();
    const group = STRATEGIES[this.options.strategy](this.slots, failed);
    for (const slot of [...group].reverse()) {
      if (slot === failed || slot.state !== 'running') continue;
      await this.haltForRestart(slot, reason);
    }
    if (this.status !== 'running') return; // stopped meanwhile: its stop ends the group
    const members: Slot[] = [];
    for (const slot of group) {
      if (slot !== failed && slot.spec.restart === 'temporary') {
        this.removeSlot(slot); // OTP: a temporary bystander is not restarted
        continue;
      }
      // OTP's start_children starts every kept spec of the group, also one that was already
      // stopped (terminateChild, a transient child's normal exit).
      if (slot.state === 'stopped') slot.state = 'restarting';
      if (slot.state === 'restarting') members.push(slot);
    }
    // One delay for the whole group (the failed child's backoff), then the group starts in order.
    const delay = this.restartDelay(failed);
    for (const slot of members) this.unschedule(slot); // a newer group restart takes over from an older one
    if (delay === 0) return this.startGroup(members);
    const pending: GroupStart = {
      members,
      timer: setTimeout(() => {
        this.serially(() => this.startGroup(pending.members)).catch((error: unknown) => {
          this.runtime.logger.error({ err: error, path: this.path }, 'supervisor failed while restarting children');
        });
      }, delay),
    };
    for (const slot of members) slot.pending = pending;
  }

  /** Takes the slot out of the group start it waits for; the timer ends with its last member. */
  private unschedule(slot: Slot): void {
    const pending = slot.pending;
    if (pending === undefined) return;
    slot.pending = undefined;
    pending.members.splice(pending.members.indexOf(slot), 1);
    if (pending.members.length === 0) clearTimeout(pending.timer);
  }

  private async haltForRestart(slot: Slot, reason: ExitReason): Promise<void> {
    slot.state = 'restarting';
    const node = slot.node;
    if (isRestartable(node) && slot.spec.restart !== 'temporary') await node.halt(slot.spec.shutdownMs, reason);
    else if (node instanceof SupervisorNode && slot.spec.restart !== 'temporary') await node.stopForRestart(slot.spec.shutdownMs, { kind: 'shutdown' });
    else await node?.stop(slot.spec.shutdownMs, { kind: 'shutdown' });
  }

  /** The backoff before restart number `attempt` of this child in a row (0 without backoff). */
  private restartDelay(slot: Slot): number {
    const backoff = this.options.backoff;
    if (backoff === undefined) return 0;
    if (Date.now() - slot.startedAt > backoff.resetAfterMs) slot.attempt = 0;
    return backoffDelay(backoff, slot.attempt++);
  }

  /**
   * Starts the members of a group restart in order, as OTP's start_children: members no longer
   * waiting (terminated meanwhile) are skipped; at the first that fails to start, the rest wait
   * and the failed one is restarted with the strategy again, counted against the intensity.
   */
  private async startGroup(members: readonly Slot[]): Promise<void> {
    const slots = [...members];
    for (const slot of slots) slot.pending = undefined;
    for (const slot of slots) {
      if (slot.state !== 'restarting' || this.status !== 'running') continue;
      try {
        this.restartSlot(slot);
      } catch (error) {
        // A failed start counts as a start for the backoff's reset rule: the series keeps growing.
        slot.startedAt = Date.now();
        const reason: ExitReason = { kind: 'crash', error };
        if (!this.intensity.allow(Date.now())) return this.escalate(slot, reason);
        return this.restartGroup(slot, reason);
      }
    }
  }

  /** Starts a child again, counted as a restart (throws when the start fails). */
  private restartSlot(slot: Slot): void {
    slot.restarts++;
    this.startSlot(slot);
    // An agent cell reports its own restart; a nested supervisor is a new node, reported here.
    if (isSupervisorSpec(slot.spec.agent)) this.runtime.emit({ type: 'restarted', path: slot.path, kind: 'supervisor', incarnation: slot.node?.incarnation ?? '', restarts: slot.restarts, at: Date.now() });
  }

  // ---- stopping ------------------------------------------------------------------------------

  stop(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    return this.stopAs(shutdown, reason, false);
  }

  /** Stops as the bystander of a group restart: a new supervisor takes the path, so watchers hear nothing. */
  stopForRestart(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    return this.stopAs(shutdown, reason, true);
  }

  /** The latest call decides: a stop for good after a stop for a restart (a failed restart, a give-up) tells the watchers. */
  private stopAs(shutdown: Shutdown, reason: ExitReason, forRestart: boolean): Promise<void> {
    this.stoppingForRestart = forRestart;
    if (this.status === 'stopped') {
      // It had given up (escalation, auto-shutdown) and its parent now retires it for good.
      if (!this.stoppingForRestart) this.terminated(reason);
      return Promise.resolve();
    }
    // A kill does not wait in line behind work under way (a restart, a give-up, a graceful stop).
    if (shutdown === 'brutal') {
      this.killNow(reason, { kind: 'killed', detail: `supervisor ${this.path} was killed` }, !this.stoppingForRestart);
      return Promise.resolve();
    }
    this.status = 'stopping';
    // The shutdown time counts from this call, also while earlier work holds the line.
    const timer = typeof shutdown === 'number' ? setTimeout(() => this.killNow({ kind: 'killed', detail: 'shutdown time ran out' }, { kind: 'killed', detail: `supervisor ${this.path} ran out of shutdown time` }, !this.stoppingForRestart), shutdown) : undefined;
    const stopping = this.serially(async () => {
      try {
        if (this.status === 'stopped') {
          // Killed meanwhile (already told), or it gave up meanwhile: then this stop retires it for good.
          if (!this.stoppingForRestart) this.terminated(reason);
          return;
        }
        await this.stopChildren(reason);
        if (this.status === 'stopping') this.finishStop(reason, !this.stoppingForRestart); // not killed meanwhile
      } finally {
        clearTimeout(timer);
      }
    });
    return Promise.race([stopping, this.killed]);
  }

  private async stopChildren(reason: ExitReason): Promise<void> {
    this.status = 'stopping';
    for (const slot of this.slotsToStop()) await slot.node?.stop(slot.spec.shutdownMs, reason.kind === 'restart-limit' ? reason : { kind: 'shutdown' });
  }

  /** Every slot in reverse start order, each marked stopped with its restart timer and heartbeat ended. */
  private slotsToStop(): Slot[] {
    const slots = [...this.slots].reverse();
    for (const slot of slots) {
      this.unschedule(slot);
      slot.state = 'stopped';
      this.stopMonitor(slot);
    }
    return slots;
  }

  /**
   * Ends this supervisor and its subtree at once and synchronously: when a start fails
   * halfway, every path it took is free again before anyone retries.
   */
  killNow(reason: ExitReason, childReason: ExitReason = reason, forGood = true): void {
    if (this.status === 'stopped') {
      // Stopped already, for a restart its parent now will not make: gone for good after all.
      if (forGood) this.terminated(reason);
      return;
    }
    this.status = 'stopping';
    for (const slot of this.slotsToStop()) killNow(slot.node, childReason);
    this.finishStop(reason, forGood);
    this.markKilled();
  }

  /** `forGood` is false when the parent decides what comes next (a give-up, a restart). */
  private finishStop(reason: ExitReason, forGood = true): void {
    this.status = 'stopped';
    this.runtime.unregister(this);
    this.runtime.emit({ type: 'stopped', path: this.path, kind: 'supervisor', incarnation: this.incarnation, reason: describeExit(reason), at: Date.now() });
    if (forGood) this.terminated(reason);
  }

  /** Tells watchers of this path, once, that the supervisor is gone for good. */
  private terminated(reason: ExitReason): void {
    if (this.watchersTold) return;
    this.watchersTold = true;
    this.runtime.notifyTerminated(this.path, this.incarnation, reason);
  }

  // ---- runtime API (OTP's supervisor:start_child and friends) -----------------------------------

  whichChildren(): ChildInfo[] {
    return this.slots.map((slot) => this.infoOf(slot));
  }

  countChildren(): { specs: number; active: number; supervisors: number; workers: number } {
    const supervisors = this.slots.filter((slot) => isSupervisorSpec(slot.spec.agent)).length;
    return { specs: this.slots.length, active: this.slots.filter((slot) => slot.state === 'running').length, supervisors, workers: this.slots.length - supervisors };
  }

  startChild(spec: ChildSpec | DynamicChild): Promise<ChildInfo> {
    const resolved = resolveChildSpec(this.fromTemplate(spec));
    return this.startingChild(resolved.id, () => {
      this.assertRunning();
      const existing = this.slotOf(resolved.id);
      if (existing !== undefined) {
        throw existing.state === 'stopped'
          ? new SupervisorError('already-present', `child ${resolved.id} of ${this.path} exists (stopped); restartChild or deleteChild it`)
          : new SupervisorError('already-started', `child ${resolved.id} of ${this.path} is already running`);
      }
      const slot = this.newSlot(resolved);
      try {
        this.startSlot(slot);
      } catch (error) {
        this.discardFailedStart(slot, error);
        throw error;
      }
      this.slots.push(slot);
      this.slotsById.set(slot.spec.id, slot);
      return this.infoOf(slot);
    });
  }

  /**
   * Runs a start call in line; until it has run, a watch of the child's path waits for the
   * child instead of hearing `noproc`, and if the child did not start, that watch hears it then.
   */
  private startingChild(id: string, start: () => ChildInfo): Promise<ChildInfo> {
    this.starting.set(id, (this.starting.get(id) ?? 0) + 1);
    return this.serially(() => {
      try {
        return start();
      } finally {
        const left = (this.starting.get(id) ?? 1) - 1;
        if (left > 0) this.starting.set(id, left);
        else this.starting.delete(id);
        // A bad id names no path anyone could have watched.
        if (isPathSegment(id)) this.runtime.settleWatchers(childPath(this.path, id));
      }
    });
  }

  expectsChild(path: string): boolean {
    const id = path.slice(path.lastIndexOf('/') + 1);
    if (this.starting.has(id)) return true;
    const slot = this.slotsById.get(id);
    return slot !== undefined && slot.path === path && slot.state !== 'stopped';
  }

  terminateChild(id: string): Promise<void> {
    return this.serially(async () => {
      this.assertNotStopped();
      const slot = this.requireSlot(id);
      this.unschedule(slot); // the rest of its group still starts
      slot.state = 'stopped';
      this.stopMonitor(slot);
      await slot.node?.stop(slot.spec.shutdownMs, { kind: 'shutdown' });
      if (slot.spec.restart === 'temporary') this.removeSlot(slot);
    });
  }

  restartChild(id: string): Promise<ChildInfo> {
    return this.startingChild(id, () => {
      this.assertRunning();
      const slot = this.requireSlot(id);
      if (slot.state !== 'stopped') throw new SupervisorError(slot.state, `child ${id} of ${this.path} is ${slot.state}; terminateChild it first`);
      try {
        this.restartSlot(slot);
      } catch (error) {
        this.discardFailedStart(slot, error);
        throw error;
      }
      return this.infoOf(slot);
    });
  }

  deleteChild(id: string): Promise<void> {
    return this.serially(() => {
      this.assertNotStopped();
      const slot = this.requireSlot(id);
      if (slot.state !== 'stopped') throw new SupervisorError(slot.state, `child ${id} of ${this.path} is ${slot.state}; terminateChild it first`);
      this.removeSlot(slot);
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
    if (this.status === 'stopped') throw new SupervisorError('supervisor-stopped', `supervisor ${this.path} is stopped`);
  }

  private assertRunning(): void {
    if (this.status !== 'running') throw new SupervisorError('supervisor-stopped', `supervisor ${this.path} is ${this.status}`);
  }

  private slotOf(id: string): Slot | undefined {
    return this.slotsById.get(id);
  }

  private requireSlot(id: string): Slot {
    const slot = this.slotOf(id);
    if (slot === undefined) throw new SupervisorError('not-found', `supervisor ${this.path} has no child ${JSON.stringify(id)}`);
    return slot;
  }

  private infoOf(slot: Slot): ChildInfo {
    return {
      id: slot.spec.id,
      path: slot.path,
      kind: isSupervisorSpec(slot.spec.agent) ? 'supervisor' : 'agent',
      incarnation: slot.state === 'running' ? slot.node?.incarnation : undefined,
      status: slot.state === 'running' ? 'running' : slot.state === 'restarting' ? 'restarting' : 'stopped',
      restarts: slot.restarts,
    };
  }
}

/** Stops a node at once; an agent cell stops synchronously on `'brutal'`, a supervisor through killNow. */
function killNow(node: TreeNode | undefined, reason: ExitReason): void {
  if (node instanceof SupervisorNode) node.killNow(reason);
  else void node?.stop('brutal', reason);
}
