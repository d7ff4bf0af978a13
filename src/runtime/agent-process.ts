import type { Logger } from 'pino';
import { answerAddress, type AclMessage } from '../acl/message.js';
import { closesConversation } from '../acl/performatives.js';
import type { AgentDefinition } from '../agent/define-agent.js';
import { TroupeError } from './errors.js';
import type { Executor } from './executor.js';
import type { Sender } from './kernel.js';
import { Mailbox, type Settle } from './mailbox.js';
import { OpenRequests } from './open-requests.js';
import type { Kernel } from './kernel.js';
import { describeExit, type AgentNode, type ExitReason, type NodeStatus, type ParentLink, type Shutdown } from './tree.js';

export interface AgentMetrics {
  readonly queueDepth: number;
  readonly processed: number;
  /** Milliseconds spent handling messages, all incarnations together. */
  readonly processingMs: number;
  readonly restarts: number;
}

/** An agent failed to start (its initial state threw, or its thread could not load it). */
export class StartError extends TroupeError {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super('start-failed', `agent ${path} failed to start: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Where an agent process is in its life. Each state says what the process does with a
 * message and with each call; the transitions are the methods below, and nothing else
 * stands for a state.
 * - stopped: not running (never started, or stopped for good); messages are refused.
 * - starting: an incarnation is being started where its executor runs; messages queue.
 * - running: messages are handed to the machine.
 * - suspended: messages queue until `resume()` (OTP sys:suspend).
 * - draining: a stop for good is coming; work in flight goes on, new messages are refused.
 * - stopping / halting: the incarnation is ending for good / for a restart; messages queue.
 * - restarting: between incarnations, waiting for its supervisor; messages queue.
 */
export type Lifecycle =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'starting'; readonly isRestart: boolean }
  | { readonly kind: 'running' }
  | { readonly kind: 'suspended' }
  | { readonly kind: 'draining' }
  | { readonly kind: 'stopping'; readonly reason: ExitReason; readonly done: Promise<void>; readonly settle: () => void }
  | { readonly kind: 'halting'; readonly done: Promise<void>; readonly settle: () => void }
  | { readonly kind: 'restarting' };

const STOPPED: Lifecycle = { kind: 'stopped' };
type Starting = Extract<Lifecycle, { readonly kind: 'starting' }>;
const STARTING: Starting = { kind: 'starting', isRestart: false };
const RESTARTING_NOW: Starting = { kind: 'starting', isRestart: true };
const RUNNING: Lifecycle = { kind: 'running' };
const SUSPENDED: Lifecycle = { kind: 'suspended' };
const DRAINING: Lifecycle = { kind: 'draining' };
const RESTARTING: Lifecycle = { kind: 'restarting' };
const DONE: Promise<void> = Promise.resolve();

const STATUS: Readonly<Record<Lifecycle['kind'], NodeStatus>> = {
  stopped: 'stopped',
  starting: 'running',
  running: 'running',
  suspended: 'running',
  draining: 'stopping',
  stopping: 'stopping',
  halting: 'stopping',
  restarting: 'restarting',
};

function isKill(shutdown: Shutdown): boolean {
  return shutdown === 'brutal' || shutdown === 0;
}

/** How an executor reports that its machine ended on its own. */
export interface ExitReport {
  /** The failure reason the open requests are answered with (`agent-failed`, `hung`, ...). */
  readonly failureReason: string;
  /** The conversation being handled when it failed, for the log line. */
  readonly conversationId?: string;
  /** The failure was logged where the machine ran (a live worker thread logs its own). */
  readonly logged?: boolean;
}

/**
 * One agent at one path: the process slot that outlives restarts. It owns the mailbox, the
 * requests the running incarnation owes an answer (every one is answered exactly once), the
 * incarnation id, the metrics and the lifecycle; where the machine runs is its executor's
 * business. A restart keeps the address and the mailbox and starts a new incarnation.
 */
export class AgentProcess implements AgentNode, Sender {
  readonly kind = 'agent';
  lifecycle: Lifecycle = STOPPED;
  incarnation: string | undefined;
  restarts = 0;
  /** `resume` keeps the machine's last good state across restarts; `reset` (default) starts fresh. */
  onRestart: 'reset' | 'resume' = 'reset';
  /** Input given to the machine, when the child spec overrides the definition's. */
  input: unknown;
  readonly mailbox: Mailbox<AclMessage>;
  /** Requests this incarnation accepted and has not answered yet. */
  readonly open = new OpenRequests();
  readonly executor: Executor;
  /** Messages the executor handed back unhandled (it was ending), ahead of the mailbox. */
  private readonly returned: AclMessage[] = [];
  /** Sends of this agent parked at a full `backpressure` mailbox; it takes no message meanwhile. */
  blockedOn = 0;
  private processed = 0;
  private processingMs = 0;
  private seenProcessed = -1;
  private stalledSince = 0;
  private logger: Logger | undefined;
  /**
   * How its first start ended, for createSystem to wait on (see `firstStart`): pending, done
   * (started, or ended in any way that leaves its supervisor in charge), or the StartError of a
   * first start that failed after `start()` returned (on a thread). Only a pending first start
   * that someone waits on holds a promise: an idle agent carries none.
   */
  private firstStartOutcome: 'pending' | 'done' | StartError = 'pending';
  private firstStartWaiters: { readonly promise: Promise<void>; readonly resolve: () => void; readonly reject: (error: StartError) => void } | undefined;

  constructor(
    readonly runtime: Kernel,
    readonly path: string,
    readonly id: string,
    readonly definition: AgentDefinition,
    private readonly parent: ParentLink,
    makeExecutor: (process: AgentProcess) => Executor,
  ) {
    this.mailbox = new Mailbox(definition.mailbox);
    this.input = definition.input;
    this.executor = makeExecutor(this);
  }

  /** Resolves once the first start is over (rejects with the StartError of one that failed on its thread). */
  get firstStart(): Promise<void> {
    const outcome = this.firstStartOutcome;
    if (outcome === 'done') return DONE;
    if (outcome !== 'pending') return Promise.reject(outcome);
    if (this.firstStartWaiters === undefined) {
      let resolve!: () => void;
      let reject!: (error: StartError) => void;
      const promise = new Promise<void>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      this.firstStartWaiters = { promise, resolve, reject };
    }
    return this.firstStartWaiters.promise;
  }

  private settleFirstStart(error?: StartError): void {
    if (this.firstStartOutcome !== 'pending') return;
    this.firstStartOutcome = error ?? 'done';
    const waiters = this.firstStartWaiters;
    this.firstStartWaiters = undefined;
    if (waiters === undefined) return;
    if (error === undefined) waiters.resolve();
    else waiters.reject(error);
  }

  get status(): NodeStatus {
    return STATUS[this.lifecycle.kind];
  }

  get log(): Logger {
    const placement = this.executor.placement;
    return (this.logger ??= this.runtime.logger.child(
      placement === 'inline' ? { path: this.path, agent: this.definition.name, incarnation: this.incarnation } : { path: this.path, agent: this.definition.name, incarnation: this.incarnation, placement },
    ));
  }

  get metrics(): AgentMetrics {
    return { queueDepth: this.mailbox.length + this.returned.length, processed: this.processed, processingMs: this.processingMs, restarts: this.restarts };
  }

  /** The running machine's snapshot (where it runs on this thread), for queries and tests. */
  snapshot(): unknown {
    return this.executor.snapshot();
  }

  // ---- lifecycle transitions ---------------------------------------------------------------

  /** Starts a new incarnation. Throws StartError when it fails here and now. */
  start(): void {
    this.begin(STARTING);
  }

  /** Starts again after an exit; the mailbox carries over to the new incarnation. */
  restart(): void {
    this.restarts++;
    this.begin(RESTARTING_NOW);
  }

  private begin(starting: Starting): void {
    this.incarnation = this.runtime.newIncarnation();
    this.logger = undefined; // a child logger per incarnation
    this.seenProcessed = -1;
    this.blockedOn = 0;
    this.keepOnlyHandedOver();
    this.lifecycle = starting;
    this.runtime.register(this);
    let runs: boolean;
    try {
      runs = this.executor.start(this.incarnation, starting.isRestart);
    } catch (error) {
      this.lifecycle = RESTARTING;
      // Failed in this call: the supervisor hears it from the throw, createSystem need not wait.
      this.settleFirstStart();
      throw error instanceof StartError ? error : new StartError(this.path, error);
    }
    if (runs) this.started();
  }

  /** The executor started the incarnation: messages flow. */
  started(): void {
    const starting = this.lifecycle;
    if (starting.kind !== 'starting') return;
    this.lifecycle = RUNNING;
    this.settleFirstStart();
    const incarnation = this.incarnation as string;
    this.runtime.emit({ type: 'started', path: this.path, kind: 'agent', incarnation, at: this.runtime.time.now() });
    if (starting.isRestart) this.runtime.emit({ type: 'restarted', path: this.path, kind: 'agent', incarnation, restarts: this.restarts, at: this.runtime.time.now() });
    if (this.hasQueued()) this.executor.wake();
  }

  /** The executor could not start the incarnation (after `start()` returned). */
  startFailed(error: unknown): void {
    const failed = error instanceof StartError ? error : new StartError(this.path, error);
    this.settleFirstStart(failed);
    this.exited({ kind: 'crash', error: failed }, { failureReason: 'agent-failed' });
  }

  /** Marks the process as waiting for its supervisor to restart it (messages keep queueing). */
  markRestarting(): void {
    if (this.lifecycle === STOPPED) this.lifecycle = RESTARTING;
  }

  /** Stops handling messages until `resume()`; false when it is not running or already suspended. */
  suspend(): boolean {
    const suspension = this.executor.suspension;
    if (this.lifecycle !== RUNNING || suspension === undefined) return false;
    this.lifecycle = SUSPENDED;
    suspension.suspend();
    this.runtime.emit({ type: 'suspended', path: this.path, incarnation: this.incarnation ?? '', at: this.runtime.time.now() });
    return true;
  }

  /** Handles messages again; false when it was not suspended. */
  resume(): boolean {
    if (this.lifecycle !== SUSPENDED) return false;
    this.lifecycle = RUNNING;
    // Liveness counts from now: the time spent suspended was not a stall.
    this.seenProcessed = -1;
    this.runtime.emit({ type: 'resumed', path: this.path, incarnation: this.incarnation ?? '', at: this.runtime.time.now() });
    this.executor.suspension?.resume();
    if (this.lifecycle === RUNNING && this.hasQueued()) this.executor.wake();
    return true;
  }

  /**
   * A stop for good is coming (see TreeNode.drain): queued messages are answered `failure`
   * (`agent-stopping`) now, new ones are refused, and the machine hears `troupe.stopping`.
   */
  drain(): void {
    if (this.lifecycle !== RUNNING && this.lifecycle !== SUSPENDED) return;
    this.lifecycle = DRAINING;
    this.refuseQueued();
    this.executor.drain();
  }

  private refuseQueued(): void {
    for (const message of [...this.returned.splice(0), ...this.mailbox.takeAll()]) this.refuseStopping(message);
  }

  private refuseStopping(message: AclMessage): void {
    this.runtime.reject(message, 'agent-stopped', 'agent-stopping', `agent ${this.path} is stopping and takes no new work`);
  }

  /**
   * Stops for good. With time to spare, a machine in a state tagged `busy` may finish first;
   * then open requests and queued messages are answered `failure`, and watchers hear `terminated`.
   */
  stop(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    const state = this.lifecycle;
    if (state.kind === 'stopping') {
      // A kill (its supervisor ran out of time) cuts a graceful stop short, at once.
      if (isKill(shutdown)) this.finish(reason);
      return state.done;
    }
    if (state.kind !== 'running' && state.kind !== 'suspended' && state.kind !== 'draining') {
      this.finish(reason);
      return DONE;
    }
    // It takes no new work from now on (its supervisor may have said so already).
    this.drain();
    const stopping = this.ending((done, settle) => ({ kind: 'stopping', reason, done, settle }));
    const ended = this.executor.end('stop', shutdown, reason);
    if (ended === 'ended') this.finish(reason);
    else void ended.then((killed) => this.finish(killed ?? reason));
    return stopping.done;
  }

  /**
   * Stops this incarnation for a restart (a bystander of a group restart): open requests are
   * answered `failure`, queued messages stay for the next incarnation.
   */
  halt(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    const state = this.lifecycle;
    if (state.kind !== 'running' && state.kind !== 'suspended' && state.kind !== 'starting' && state.kind !== 'draining') return DONE;
    const halting = this.ending((done, settle) => ({ kind: 'halting', done, settle }));
    const halted = (): void => {
      if (this.lifecycle !== halting) return; // stopped or exited meanwhile
      this.lifecycle = RESTARTING;
      this.answerOpen('agent-restarting', `agent ${this.path} was restarted (${describeExit(reason)})`);
      halting.settle();
    };
    const ended = this.executor.end('halt', state.kind === 'starting' ? 0 : shutdown, reason);
    if (ended === 'ended') halted();
    else void ended.then(halted);
    return halting.done;
  }

  private ending<T extends Lifecycle & { readonly done: Promise<void>; readonly settle: () => void }>(make: (done: Promise<void>, settle: () => void) => T): T {
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    const state = make(done, settle);
    this.lifecycle = state;
    return state;
  }

  private finish(reason: ExitReason): void {
    const state = this.lifecycle;
    if (state === STOPPED) return;
    const incarnation = this.incarnation ?? '';
    this.lifecycle = STOPPED;
    this.executor.kill();
    this.settleFirstStart();
    this.answerOpen('agent-stopped', `agent ${this.path} stopped (${describeExit(reason)})`);
    for (const message of [...this.returned.splice(0), ...this.mailbox.takeAll()]) this.runtime.reject(message, 'agent-stopped', 'agent-stopped', `agent ${this.path} stopped before handling the message`);
    this.runtime.unregister(this);
    this.runtime.emit({ type: 'stopped', path: this.path, kind: 'agent', incarnation, reason: describeExit(reason), at: this.runtime.time.now() });
    this.runtime.notifyTerminated(this.path, incarnation, reason);
    if (state.kind === 'stopping' || state.kind === 'halting') state.settle();
  }

  /**
   * The machine ended on its own: crash, hang or final state. Every request the incarnation
   * had accepted is answered `failure` now, and its supervisor decides what comes next;
   * queued messages wait in the mailbox for the next incarnation.
   */
  exited(reason: ExitReason, report: ExitReport): void {
    const state = this.lifecycle;
    if (state === STOPPED || state === RESTARTING) return;
    this.settleFirstStart();
    const incarnation = this.incarnation ?? '';
    this.lifecycle = RESTARTING;
    const detail = `agent ${this.path} ${reason.kind === 'normal' ? 'reached a final state' : `failed: ${describeExit(reason)}`}`;
    this.answerOpen(report.failureReason, detail);
    if (reason.kind !== 'normal') {
      if (report.logged !== true) this.log.error({ incarnation, conversationId: report.conversationId, err: reason.kind === 'crash' ? reason.error : undefined }, detail);
      this.runtime.emit({ type: 'failed', path: this.path, kind: 'agent', incarnation, reason: describeExit(reason), at: this.runtime.time.now() });
    }
    // Ended on its own while being stopped: the stop is complete.
    if (state.kind === 'stopping') {
      this.finish(state.reason);
      state.settle();
    } else {
      if (state.kind === 'halting') state.settle();
      this.parent.childExited(this, reason);
    }
  }

  /**
   * A heartbeat: returns why the agent is hung, or undefined while it is alive. Hung means no
   * progress for `timeoutMs` while it had work (messages waiting and none handled), or what
   * the executor sees where the machine runs (a busy state held, a thread that stopped answering).
   */
  checkLiveness(now: number, timeoutMs: number): string | undefined {
    const state = this.lifecycle.kind;
    if (!this.executor.live || (state !== 'running' && state !== 'draining' && state !== 'stopping' && state !== 'halting')) return undefined;
    const there = this.executor.liveness(now, timeoutMs);
    // Ending, it takes no messages: only what runs (a busy state waited for) can be hung.
    if (there !== undefined || state !== 'running') return there;
    if (this.mailbox.length === 0 || this.processed !== this.seenProcessed) {
      this.seenProcessed = this.processed;
      this.stalledSince = now;
    } else if (now - this.stalledSince >= timeoutMs) {
      return `no message handled for ${now - this.stalledSince} ms while ${this.mailbox.length} waited`;
    }
    return undefined;
  }

  /**
   * The agent is hung: its executor ends the machine, its open requests fail with `hung`, its
   * supervisor decides. Hung while a stop or a halt waits for its busy state to end, the wait
   * is cut short: a hung agent does not hold up a stop or a group restart for its whole
   * shutdown time.
   */
  hang(detail: string): void {
    const state = this.lifecycle.kind;
    if (state === 'running' || state === 'draining') this.executor.hang(detail);
    else if (state === 'stopping' || state === 'halting') {
      this.reportHung(detail);
      this.executor.cutShort({ kind: 'hung', detail });
    }
  }

  /** Told by the executor when it finds the machine hung, before it ends it. */
  reportHung(detail: string): void {
    this.runtime.emit({ type: 'hung', path: this.path, incarnation: this.incarnation ?? '', detail, at: this.runtime.time.now() });
  }

  // ---- messages ------------------------------------------------------------------------------

  /** Takes a message into the mailbox, applying the overflow policy. */
  enqueue(message: AclMessage, settle?: Settle): 'queued' | 'waiting' | 'refused' {
    if (this.lifecycle === DRAINING) {
      this.refuseStopping(message);
      return 'refused';
    }
    const outcome = this.runtime.admit(this.mailbox, this.path, message, settle);
    if (outcome === 'queued' && this.lifecycle === RUNNING) this.executor.wake();
    return outcome;
  }

  /** Whether messages wait for the machine. */
  hasQueued(): boolean {
    return this.mailbox.length > 0 || this.returned.length > 0;
  }

  /** The next message for the machine: those handed back first, then the mailbox. */
  take(): AclMessage | undefined {
    return this.returned.length > 0 ? this.returned.shift() : this.mailbox.shift();
  }

  /** Messages the executor could not hand to the machine go back to the front of the line. */
  giveBack(messages: readonly AclMessage[]): void {
    for (const message of messages) if (message.replyWith !== undefined) this.open.delete(answerAddress(message), message.replyWith);
    if (this.lifecycle === STOPPED) {
      // Handed over, so open when the agent stopped: answered `failure` then already.
      for (const message of messages) this.runtime.deadLetters.record(message, 'agent-stopped');
      return;
    }
    this.returned.unshift(...messages);
    if (this.lifecycle === RUNNING) this.executor.wake();
  }

  /** The machine takes `message`: it owes an answer if the sender waits for one. */
  accept(message: AclMessage): void {
    const tap = this.runtime.tap;
    if (tap.active) tap.pass({ kind: 'delivered', message, incarnation: this.incarnation as string });
    if (message.replyWith !== undefined) this.open.add(message);
    // The asker withdrew its request (FIPA cancel): no answer is owed, nor a failure when this incarnation ends.
    if (message.performative === 'cancel' && message.inReplyTo !== undefined) this.open.delete(answerAddress(message), message.inReplyTo);
  }

  /** Counts a message handled (and, when known, the time it took). */
  noteHandled(ms: number): void {
    this.processed++;
    this.processingMs += ms;
  }

  /** Counts time spent handling messages (an inline turn). */
  noteProcessing(ms: number): void {
    this.processingMs += ms;
  }

  /**
   * A message the machine sent: an answer closes the request it owed, and forwarding an
   * accepted request with its reply-with and reply-to (the asker) hands the answer over.
   * False when the request was already answered `failure` as an earlier incarnation ended
   * (a resumed machine answering again): an asker gets one answer only.
   */
  noteSent(message: AclMessage): boolean {
    const inReplyTo = message.inReplyTo;
    if (inReplyTo !== undefined && closesConversation(message.performative)) this.open.delete(message.receiver, inReplyTo);
    if (message.replyWith !== undefined && message.replyTo !== undefined) this.open.delete(message.replyTo, message.replyWith);
    return inReplyTo === undefined || !this.open.wasAnsweredOnExit(message.receiver, inReplyTo);
  }

  /** Pauses the machine until a send of it parked at a full `backpressure` mailbox gets in; returns the release. */
  blockSender(): () => void {
    this.blockedOn++;
    const incarnation = this.incarnation;
    return () => {
      // A pause belongs to the incarnation that sent; a restart has already lifted it.
      if (this.incarnation !== incarnation) return;
      this.blockedOn--;
      if (this.blockedOn === 0 && this.lifecycle === RUNNING && this.hasQueued()) this.executor.wake();
    };
  }

  /**
   * Answers what the ending incarnation owed, all but the message its executor handed over
   * and may still answer (a busy thread answers it, gives it back, or dies with it).
   */
  answerOpen(reason: string, detail: string): void {
    const incarnation = this.incarnation ?? '';
    const pending = this.executor.handedOver;
    for (const request of this.open.takeAll(this.onRestart === 'resume')) {
      if (request === pending) this.open.add(request);
      else this.runtime.answerFailure(request, reason, detail, this.path, incarnation);
    }
  }

  /** A new incarnation owes nothing, except the request held over from the last (see answerOpen). */
  private keepOnlyHandedOver(): void {
    const held = this.executor.handedOver;
    const stillOpen = held?.replyWith !== undefined && this.open.delete(answerAddress(held), held.replyWith);
    this.open.clear();
    if (stillOpen) this.open.add(held);
  }
}
