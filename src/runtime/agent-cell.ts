import { createActor, type AnyActorRef, type AnyStateNode, type EventObject } from 'xstate';
import type { Logger } from 'pino';
import { validateContent } from '../acl/content-schemas.js';
import { freezeContent } from '../acl/content.js';
import { answerAddress, answerIncarnation, checkMessageOptions, createMessage, withContent, type AclMessage, type MessageOptions } from '../acl/message.js';
import { closesConversation, expectsReply, type Performative } from '../acl/performatives.js';
import { acceptanceOf, handlingOf, type Acceptance } from '../agent/accepted-events.js';
import { OUTBOUND, type OutboundEvent } from '../agent/actions.js';
import { ASK_HOST, type AskHost, type AskInput } from '../agent/ask.js';
import type { AgentDefinition } from '../agent/define-agent.js';
import { PROTOCOL_HOST, type ProtocolHost } from '../agent/protocol-host.js';
import type { Port, PortListener } from './ports.js';
import type { Terminated } from './runtime.js';
import type { SystemEvent } from './system-events.js';
import { ConfigurationError, ReplyError, TroupeError } from './errors.js';
import { Mailbox, type Settle } from './mailbox.js';
import { OpenRequests } from './open-requests.js';
import type { Runtime } from './runtime.js';
import type { Runnable } from './scheduler.js';
import { describeExit, type ExitReason, type NodeStatus, type ParentLink, type RestartableNode, type Shutdown } from './tree.js';

/** The parts of an XState actor the cell uses beyond the public API (pinned xstate 5.33). */
interface HostedActor {
  send(event: EventObject): void;
  start(): void;
  on(type: string, handler: (event: OutboundEvent) => void): unknown;
  getSnapshot(): { status: string; _nodes: AnyStateNode[]; children: Record<string, unknown>; hasTag?(tag: string): boolean; can(event: EventObject): boolean; value: unknown };
  subscribe(observer: { next: () => void; error: () => void; complete: () => void }): { unsubscribe(): void };
  _stop(): void;
  /** Where XState hands the actor every event from outside its own handling (timers, children, sendTo). */
  _send(event: EventObject): void;
}

export interface AgentMetrics {
  readonly queueDepth: number;
  readonly processed: number;
  /** Milliseconds spent handling messages, all incarnations together. */
  readonly processingMs: number;
  readonly restarts: number;
}

/** An agent failed to start (its initial state threw). */
export class StartError extends TroupeError {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super('start-failed', `agent ${path} failed to start: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

const DEFAULT_ASK_TIMEOUT_MS = 5_000;

/**
 * The process slot of one agent at one path. It outlives restarts: the mailbox, metrics and
 * address stay, while each start makes a new XState actor with a new incarnation id. The
 * cell is also the actor's XState parent, which is how it hears of crashes and final states
 * without subscribing an observer per agent.
 */
export class AgentCell implements RestartableNode, Runnable, AskHost, ProtocolHost {
  readonly kind = 'agent';
  readonly [ASK_HOST]: AskHost = this;
  readonly [PROTOCOL_HOST]: ProtocolHost = this;
  queued = false;
  status: NodeStatus = 'stopped';
  incarnation: string | undefined;
  restarts = 0;
  /**
   * Suspended (OTP sys:suspend): messages queue under the usual mailbox rules but none is
   * handled until `resume()`. Belongs to the incarnation: a restart starts unsuspended.
   */
  suspended = false;
  /** XState events (delayed events, invoked children finishing, sendTo) held while suspended. */
  private held: EventObject[] | undefined;
  readonly mailbox: Mailbox<AclMessage>;
  private processed = 0;
  private processingMs = 0;
  private actor: HostedActor | undefined;
  /** Conversation ports this incarnation opened (see openPort). */
  private ports: Set<Port> | undefined;
  /** Requests this incarnation accepted and has not answered yet, by reply-with tag. */
  private readonly open = new OpenRequests();
  private lamport = 0;
  private inTurn = false;
  private failure: { error: unknown; conversationId: string | undefined } | undefined;
  /** The message the machine is handling right now (for logs). */
  private current: AclMessage | undefined;
  /** Sends of this agent parked at a full `backpressure` mailbox; the agent pauses meanwhile. */
  private blockedOn = 0;
  private acceptNodes: AnyStateNode[] | undefined;
  private acceptance: Acceptance | undefined;
  private logger: Logger | undefined;
  private stopping: Promise<void> | undefined;
  /** Ends a graceful stop's wait at once (a kill). */
  private endWait: ((killed: ExitReason) => void) | undefined;
  /** Snapshot before the message being handled: what `onRestart: 'resume'` restarts from. */
  private lastGoodSnapshot: unknown;
  /** `resume` keeps the machine's last good state across restarts; `reset` (default) starts fresh. */
  onRestart: 'reset' | 'resume' = 'reset';
  /** Input given to the machine, when the child spec overrides the definition's. */
  input: unknown;
  // Liveness, as last seen by a heartbeat: progress of the mailbox and of a busy state.
  private seenProcessed = -1;
  private stalledSince = 0;
  private busySnapshot: unknown;
  private busySince = 0;

  constructor(
    private readonly runtime: Runtime,
    readonly path: string,
    readonly id: string,
    readonly definition: AgentDefinition,
    private readonly parent: ParentLink,
  ) {
    this.mailbox = new Mailbox(definition.mailbox);
    this.input = definition.input;
  }

  get log(): Logger {
    return (this.logger ??= this.runtime.logger.child({ path: this.path, agent: this.definition.name, incarnation: this.incarnation }));
  }

  get metrics(): AgentMetrics {
    return { queueDepth: this.mailbox.length, processed: this.processed, processingMs: this.processingMs, restarts: this.restarts };
  }

  /** The running actor's snapshot, for queries and tests. */
  snapshot(): unknown {
    return this.actor?.getSnapshot();
  }

  // ---- XState parent protocol -------------------------------------------------------

  /** Read by XState when it creates the actor: every agent of a system shares one XState system. */
  get system(): unknown {
    return this.runtime.xsystem;
  }

  /** XState relays the actor's own done and error events to its parent, here. */
  _send(event: EventObject): void {
    if (event.type.startsWith('xstate.error.actor')) this.noteFailure((event as { error?: unknown }).error);
    else if (event.type.startsWith('xstate.done.actor')) this.noteFinalState();
    else this.log.warn({ event: event.type }, 'sendParent is not part of Troupe messaging; use tell() or reply()');
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /** Starts a new incarnation. Throws StartError when the machine fails in its initial state. */
  start(resumeFrom?: unknown): void {
    this.incarnation = this.runtime.newIncarnation();
    this.logger = undefined; // a child logger per incarnation
    this.stopping = undefined;
    this.failure = undefined;
    this.acceptNodes = undefined;
    this.open.clear();
    this.busySnapshot = undefined;
    this.seenProcessed = -1;
    this.blockedOn = 0;
    this.suspended = false;
    this.held = undefined;
    const machine = this.definition.machine;
    const actor = createActor(machine, {
      parent: this as unknown as AnyActorRef,
      input: this.input,
      id: this.path,
      snapshot: resumeFrom === undefined ? undefined : machine.getPersistedSnapshot(resumeFrom as ReturnType<typeof machine.getInitialSnapshot>),
    }) as unknown as HostedActor;
    actor.on(OUTBOUND, this.onOutbound);
    this.actor = actor;
    this.status = 'running';
    this.runtime.register(this);
    this.inTurn = true;
    try {
      actor.start();
    } finally {
      this.inTurn = false;
    }
    if (this.failure !== undefined) {
      const { error } = this.failure;
      this.failure = undefined;
      this.stopActor();
      this.status = 'restarting';
      throw new StartError(this.path, error);
    }
    this.runtime.emit({ type: 'started', path: this.path, kind: 'agent', incarnation: this.incarnation, at: Date.now() });
    if (this.mailbox.length > 0) this.runtime.scheduler.schedule(this);
  }

  /** Starts again after an exit; the mailbox carries over to the new incarnation. */
  restart(): void {
    this.restarts++;
    const resumeFrom = this.onRestart === 'resume' ? this.lastGoodSnapshot : undefined;
    this.lastGoodSnapshot = undefined;
    this.start(resumeFrom);
    this.runtime.emit({ type: 'restarted', path: this.path, kind: 'agent', incarnation: this.incarnation as string, restarts: this.restarts, at: Date.now() });
  }

  /** Stops handling messages until `resume()`; false when the agent is not running or already suspended. */
  suspend(): boolean {
    if (this.status !== 'running' || this.suspended) return false;
    this.suspended = true;
    // As in OTP, a timer firing or a child finishing waits too: the actor's own inbox is held
    // (an own property over the prototype's method, removed on resume: no cost otherwise).
    const held: EventObject[] = [];
    this.held = held;
    if (this.actor !== undefined) this.actor._send = (event) => void held.push(event);
    this.runtime.emit({ type: 'suspended', path: this.path, incarnation: this.incarnation ?? '', at: Date.now() });
    return true;
  }

  /** Handles messages again; false when it was not suspended. */
  resume(): boolean {
    if (!this.suspended) return false;
    this.suspended = false;
    // Liveness counts from now: the time spent suspended was not a stall.
    this.seenProcessed = -1;
    this.busySnapshot = undefined;
    this.runtime.emit({ type: 'resumed', path: this.path, incarnation: this.incarnation ?? '', at: Date.now() });
    const held = this.held ?? [];
    this.held = undefined;
    const actor = this.actor;
    if (actor !== undefined) {
      Reflect.deleteProperty(actor, '_send');
      // What was held first (it came first), then the mailbox; a crash or final state ends it.
      for (const event of held) {
        if (actor.getSnapshot().status !== 'active' || this.status !== 'running') break;
        actor._send(event);
      }
    }
    if (this.hasWork()) this.runtime.scheduler.schedule(this);
    return true;
  }

  /** Marks the cell as waiting for its supervisor to restart it (messages keep queueing). */
  markRestarting(): void {
    if (this.status === 'stopped') this.status = 'restarting';
  }

  /**
   * Stops for good. With time to spare, an agent in a state tagged `busy` may finish first;
   * then the actor stops (aborting its invoked work), open requests and queued messages are
   * answered with `failure`, and watchers hear `terminated`.
   */
  stop(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    if (this.stopping !== undefined) {
      // A kill (its supervisor ran out of time) cuts a graceful stop short, at once.
      if ((shutdown === 'brutal' || shutdown === 0) && this.status !== 'stopped') {
        this.endWait?.(reason);
        this.finish(reason);
      }
      return this.stopping;
    }
    // A suspended agent cannot leave a busy state (its events are held): it stops at once, as OTP's does.
    if (this.status === 'running' && shutdown !== 'brutal' && shutdown !== 0 && !this.suspended && this.isBusy()) {
      this.status = 'stopping';
      this.stopping = this.waitUntilIdle(shutdown).then((killed) => {
        if (this.status !== 'stopped') this.finish(killed ?? reason);
      });
    } else {
      this.finish(reason);
      this.stopping = Promise.resolve();
    }
    return this.stopping;
  }

  private finish(reason: ExitReason): void {
    const incarnation = this.incarnation ?? '';
    this.stopActor();
    this.status = 'stopped';
    this.lastGoodSnapshot = undefined; // stopped for good: a restartChild starts fresh, as in OTP
    this.answerOpen('agent-stopped', `agent ${this.path} stopped (${describeExit(reason)})`, incarnation);
    for (const message of this.mailbox.takeAll()) this.runtime.reject(message, 'agent-stopped', 'agent-stopped', `agent ${this.path} stopped before handling the message`);
    this.runtime.unregister(this);
    this.runtime.emit({ type: 'stopped', path: this.path, kind: 'agent', incarnation, reason: describeExit(reason), at: Date.now() });
    this.runtime.notifyTerminated(this.path, incarnation, reason);
  }

  /**
   * Stops this incarnation for a restart (a bystander of a group restart): open requests
   * are answered with `failure`, queued messages stay for the next incarnation.
   */
  async halt(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    if (this.status !== 'running') return;
    if (shutdown !== 'brutal' && shutdown !== 0 && !this.suspended && this.isBusy()) {
      this.status = 'stopping';
      await this.waitUntilIdle(shutdown);
      if (this.status !== 'stopping') return; // stopped for good meanwhile: nothing to restart
    }
    const incarnation = this.incarnation ?? '';
    // A bystander did nothing wrong: 'resume' restarts it from where it is now (unless still busy).
    if (this.onRestart === 'resume' && this.actor !== undefined && !this.isBusy()) this.lastGoodSnapshot = this.actor.getSnapshot();
    this.stopActor();
    this.status = 'restarting';
    this.answerOpen('agent-restarting', `agent ${this.path} was restarted (${describeExit(reason)})`, incarnation);
  }

  /**
   * A heartbeat: returns why the agent is hung, or undefined while it is alive. Hung means
   * no progress for `timeoutMs` while it had work: messages waiting and none handled, or
   * the same state tagged `busy` held (no transition at all) the whole time.
   */
  checkLiveness(now: number, timeoutMs: number): string | undefined {
    if (this.status !== 'running' || this.actor === undefined || this.suspended) return undefined;
    if (this.mailbox.length === 0 || this.processed !== this.seenProcessed) {
      this.seenProcessed = this.processed;
      this.stalledSince = now;
    } else if (now - this.stalledSince >= timeoutMs) {
      return `no message handled for ${now - this.stalledSince} ms while ${this.mailbox.length} waited`;
    }
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status !== 'active' || snapshot.hasTag?.('busy') !== true) {
      this.busySnapshot = undefined;
    } else if (snapshot !== this.busySnapshot) {
      this.busySnapshot = snapshot;
      this.busySince = now;
    } else if (now - this.busySince >= timeoutMs) {
      return `state ${JSON.stringify(snapshot.value)} tagged busy held for ${now - this.busySince} ms`;
    }
    return undefined;
  }

  /** The agent is hung: its work is aborted, its open requests fail with `hung`, its supervisor decides. */
  hang(detail: string): void {
    if (this.status !== 'running') return;
    this.runtime.emit({ type: 'hung', path: this.path, incarnation: this.incarnation ?? '', detail, at: Date.now() });
    this.exit({ kind: 'hung', detail }, 'hung');
  }

  private isBusy(): boolean {
    const snapshot = this.actor?.getSnapshot();
    return snapshot !== undefined && snapshot.status === 'active' && snapshot.hasTag?.('busy') === true;
  }

  /** Resolves when the agent leaves its busy state or `shutdown` runs out; with the reason if it was killed first. */
  private waitUntilIdle(shutdown: Shutdown): Promise<ExitReason | undefined> {
    return new Promise((resolve) => {
      const actor = this.actor as HostedActor;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (killed?: ExitReason): void => {
        this.endWait = undefined;
        subscription.unsubscribe();
        if (timer !== undefined) clearTimeout(timer);
        resolve(killed);
      };
      const subscription = actor.subscribe({ next: () => (this.isBusy() ? undefined : done()), error: () => done(), complete: () => done() });
      if (typeof shutdown === 'number') timer = setTimeout(() => done({ kind: 'killed', detail: 'shutdown time ran out' }), shutdown);
      this.endWait = done;
    });
  }

  /** Stops the XState actor and whatever it invoked, which fires their AbortSignals. */
  private stopActor(): void {
    const actor = this.actor;
    if (actor === undefined) return;
    this.actor = undefined;
    const snapshot = actor.getSnapshot();
    if (snapshot.status === 'active') actor._stop();
    // A machine in error status has stopped itself but not its children.
    else for (const child of Object.values(snapshot.children ?? {})) (child as HostedActor | undefined)?._stop();
    this.closePorts();
  }

  private closePorts(): void {
    const ports = this.ports;
    if (ports === undefined || ports.size === 0) return;
    this.ports = undefined;
    for (const port of ports) port.close();
  }

  private noteFailure(error: unknown): void {
    if (this.status !== 'running' && this.status !== 'stopping') return;
    this.failure ??= { error, conversationId: this.current?.conversationId };
    if (!this.inTurn) queueMicrotask(() => this.settleFailure());
  }

  private settleFailure(): void {
    const failure = this.failure;
    if (failure === undefined) return;
    this.failure = undefined;
    this.exit({ kind: 'crash', error: failure.error }, 'agent-failed', failure.conversationId);
  }

  private noteFinalState(): void {
    if (this.status !== 'running') return;
    queueMicrotask(() => this.exit({ kind: 'normal' }, 'agent-stopped'));
  }

  /**
   * The agent ended on its own: crash, hang or final state. Every request it had accepted is
   * answered with `failure` now, and its supervisor decides what comes next; queued
   * messages wait in the mailbox for the next incarnation.
   */
  exit(reason: ExitReason, failureReason: string, conversationId?: string): void {
    if (this.status !== 'running' && this.status !== 'stopping') return;
    const incarnation = this.incarnation ?? '';
    this.stopActor();
    this.status = 'restarting';
    const detail = `agent ${this.path} ${reason.kind === 'normal' ? 'reached a final state' : `failed: ${describeExit(reason)}`}`;
    this.answerOpen(failureReason, detail, incarnation);
    if (reason.kind !== 'normal') {
      this.log.error({ incarnation, conversationId, err: reason.kind === 'crash' ? reason.error : undefined }, detail);
      this.runtime.emit({ type: 'failed', path: this.path, kind: 'agent', incarnation, reason: describeExit(reason), at: Date.now() });
    }
    if (this.stopping === undefined) this.parent.childExited(this, reason);
  }

  private answerOpen(reason: string, detail: string, incarnation: string): void {
    for (const request of this.open.takeAll(this.onRestart === 'resume')) this.runtime.answerFailure(request, reason, detail, this.path, incarnation);
  }

  // ---- message handling ------------------------------------------------------------------

  /** Takes a message into the mailbox, applying the overflow policy. */
  enqueue(message: AclMessage, settle?: Settle): 'queued' | 'waiting' | 'refused' {
    const outcome = this.runtime.admit(this.mailbox, this.path, message, settle);
    if (outcome === 'queued' && this.status === 'running') this.runtime.scheduler.schedule(this);
    return outcome;
  }

  hasWork(): boolean {
    return this.status === 'running' && !this.suspended && this.blockedOn === 0 && this.mailbox.length > 0 && this.actor?.getSnapshot().status === 'active';
  }

  runTurn(max: number): number {
    if (!this.hasWork()) return 0;
    const started = performance.now();
    let handled = 0;
    this.inTurn = true;
    try {
      while (handled < max && this.status === 'running' && !this.suspended && this.blockedOn === 0) {
        const message = this.mailbox.shift();
        if (message === undefined) break;
        handled++;
        this.handle(message);
        // A crash or a final state ends the turn: the rest of the mailbox waits for the next
        // incarnation (or is dead-lettered if there is none), never sent to a finished actor.
        if (this.failure !== undefined || this.actor?.getSnapshot().status !== 'active') break;
      }
    } finally {
      this.inTurn = false;
      this.processingMs += performance.now() - started;
    }
    if (this.failure !== undefined) this.settleFailure();
    return handled;
  }

  private handle(message: AclMessage): void {
    if (message.receiverIncarnation !== undefined && message.receiverIncarnation !== this.incarnation) {
      this.runtime.reject(message, 'stale-incarnation', 'stale-incarnation', `${this.path} has restarted since incarnation ${message.receiverIncarnation}`);
      return;
    }
    if (message.replyBy !== undefined && message.replyBy < Date.now()) {
      this.runtime.reject(message, 'expired', 'deadline', `the reply-by deadline passed before ${this.path} could handle the message`);
      return;
    }
    const actor = this.actor as HostedActor;
    const handling = handlingOf(this.acceptanceNow(actor), message.type);
    if (handling === undefined) {
      this.runtime.notUnderstood(message, 'unhandled-performative', `${this.path} does not handle ${message.type} in state ${JSON.stringify(actor.getSnapshot().value)}`);
      return;
    }
    let event = message;
    if (this.definition.content !== undefined) {
      const checked = validateContent(this.definition.content, message);
      if (!checked.ok) {
        this.runtime.notUnderstood(message, 'invalid-content', `content of ${message.type} to ${this.path} is invalid: ${checked.issues}`);
        return;
      }
      if (checked.content !== message.content) event = withContent(message, checked.content);
    }
    // The state before this message: what 'resume' restarts from if handling it crashes (guards included).
    // Not a state in the middle of busy work: resuming there would start that work (a hung call) again.
    if (this.onRestart === 'resume' && !this.isBusy()) this.lastGoodSnapshot = actor.getSnapshot();
    // Only when every transition for it is guarded: guards run twice then (XState wants them pure).
    if (handling === 'guarded' && !this.allows(actor, event, message)) return;
    this.lamport = (this.lamport > message.lamport ? this.lamport : message.lamport) + 1;
    if (message.replyWith !== undefined) this.open.add(message);
    // The asker withdrew its request (FIPA cancel): no answer is owed, nor a failure when this incarnation ends.
    if (message.performative === 'cancel' && message.inReplyTo !== undefined) this.open.delete(answerAddress(message), message.inReplyTo);
    this.processed++;
    this.current = message;
    actor.send(event);
    this.current = undefined;
  }

  /**
   * Asks the machine's guards whether it takes `event`; answers not-understood when not. A
   * guard that throws is a crash while handling the message, which is answered `failure`.
   */
  private allows(actor: HostedActor, event: AclMessage, message: AclMessage): boolean {
    let allowed: boolean;
    try {
      allowed = actor.getSnapshot().can(event);
    } catch (error) {
      this.processed++;
      if (message.replyWith !== undefined) this.open.add(message);
      this.current = message;
      this.noteFailure(error);
      this.current = undefined;
      return false;
    }
    if (!allowed) this.runtime.notUnderstood(message, 'unhandled-performative', `${this.path} has no transition for ${message.type} whose guard allows it in state ${JSON.stringify(actor.getSnapshot().value)}`);
    return allowed;
  }

  private acceptanceNow(actor: HostedActor): Acceptance {
    const nodes = actor.getSnapshot()._nodes;
    if (nodes !== this.acceptNodes || this.acceptance === undefined) {
      this.acceptNodes = nodes;
      this.acceptance = acceptanceOf(nodes);
    }
    return this.acceptance;
  }

  /** Routes what the machine emitted. A bad send is a crash of this agent, never a silent loss. */
  private readonly onOutbound = (event: OutboundEvent): void => {
    try {
      const message = this.buildOutbound(event);
      // A resumed machine answering a request the runtime already failed for it: one answer only.
      if (message.inReplyTo !== undefined && this.open.wasAnsweredOnExit(message.receiver, message.inReplyTo)) this.runtime.deadLetters.record(message, 'no-waiting-request');
      else this.runtime.deliver(message, this);
    } catch (error) {
      this.noteFailure(error);
    }
  };

  private buildOutbound(event: OutboundEvent): AclMessage {
    const options = event.options;
    const performative: Performative = event.performative;
    const original = event.inReplyTo;
    let receiver: string;
    let conversationId: string;
    let receiverIncarnation: string | undefined;
    let inReplyTo = options?.inReplyTo;
    if (original !== undefined) {
      receiver = answerAddress(original);
      receiverIncarnation = answerIncarnation(original);
      conversationId = original.conversationId;
      inReplyTo = original.replyWith;
    } else {
      if (typeof event.to !== 'string') throw new ConfigurationError('invalid-receiver', `tell() from ${this.path} needs a receiver path, got ${String(event.to)}`);
      receiver = this.runtime.resolvePath(event.to);
      conversationId = options?.conversationId ?? this.runtime.newConversationId();
    }
    // Built (content checked) before any open request is closed: a send that fails is a crash,
    // and the request it would have answered must still be answered `failure` then.
    const message = createMessage(
      {
        performative,
        sender: this.path,
        senderIncarnation: this.incarnation,
        receiver,
        receiverIncarnation,
        content: freezeContent(event.content),
        conversationId,
        inReplyTo,
        replyWith: options?.replyWith ?? (expectsReply(performative) ? this.runtime.newReplyTag() : undefined),
        lamport: ++this.lamport,
      },
      checkMessageOptions(options),
    );
    if (original !== undefined) {
      if (inReplyTo !== undefined && closesConversation(performative)) this.open.delete(receiver, inReplyTo);
    } else if (options?.replyWith !== undefined && options.replyTo !== undefined) {
      // Forwarding an accepted request with its reply-with and reply-to (the asker) hands the
      // answer over to the new receiver.
      this.open.delete(options.replyTo, options.replyWith);
    }
    return message;
  }

  /** Called by the runtime when a send of this agent waits for room / gets it. */
  blockSender(): () => void {
    this.blockedOn++;
    const incarnation = this.incarnation;
    return () => {
      // A pause belongs to the incarnation that sent; a restart has already lifted it.
      if (this.incarnation !== incarnation) return;
      this.blockedOn--;
      if (this.hasWork()) this.runtime.scheduler.schedule(this);
    };
  }

  askFromAgent(input: AskInput, signal: AbortSignal): Promise<AclMessage> {
    // Receiving the answer advances this agent's Lamport clock, as handling a message does.
    const received = (answer: AclMessage): void => {
      if (answer.lamport > this.lamport) this.lamport = answer.lamport;
    };
    return this.runtime.ask(input, { sender: this.path, senderIncarnation: this.incarnation, lamport: ++this.lamport, signal }, this, DEFAULT_ASK_TIMEOUT_MS).then(
      (answer) => {
        received(answer);
        return answer;
      },
      (error: unknown) => {
        if (error instanceof ReplyError) received(error.reply);
        throw error;
      },
    );
  }

  // ---- ProtocolHost: protocol logic invoked inside this agent's machine -------------------

  get self(): string {
    return this.path;
  }

  /** The port belongs to this incarnation: it closes when the incarnation ends, whatever its opener forgot. */
  openPort(listener: PortListener): Port {
    const port = this.runtime.ports.openPort(listener);
    const ports = (this.ports ??= new Set());
    ports.add(port);
    return {
      address: port.address,
      close: () => {
        ports.delete(port);
        port.close();
      },
    };
  }

  post(to: string, performative: Performative, content: unknown, options?: MessageOptions, receiverIncarnation?: string): void {
    this.runtime.post({ sender: this.path, senderIncarnation: this.incarnation, lamport: ++this.lamport }, to, performative, content, options, receiverIncarnation, this);
  }

  newConversationId(): string {
    return this.runtime.newConversationId();
  }

  newReplyTag(): string {
    return this.runtime.newReplyTag();
  }

  onSystemEvent(listener: (event: SystemEvent) => void): () => void {
    return this.runtime.events.add(listener);
  }

  watch(path: string, listener: (signal: Terminated) => void): () => void {
    return this.runtime.watch(this.runtime.resolvePath(path), listener);
  }
}
