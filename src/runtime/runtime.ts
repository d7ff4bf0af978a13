import type { Logger } from 'pino';
import { freezeContent } from '../acl/content.js';
import { answerAddress, answerIncarnation, checkMessageOptions, createMessage, type AclMessage, type MessageOptions } from '../acl/message.js';
import { isPerformative, type Performative } from '../acl/performatives.js';
import type { AskInput } from '../agent/ask.js';
import type { AgentDefinition } from '../agent/define-agent.js';
import { AgentProcess } from './agent-process.js';
import { REAL_CLOCK, type Clock } from './clock.js';
import { systemIds, type IdSource } from './ids.js';
import { newActorSystem } from './xstate-adapter.js';
import { DeadLetters, type DeadLetterReason } from './dead-letters.js';
import { ConfigurationError, type RuntimeReason } from './errors.js';
import { InlineExecutor } from './inline-executor.js';
import type { Kernel, SendOrigin, Sender } from './kernel.js';
import { Listeners } from './listeners.js';
import { refusalOf, type Mailbox, type Settle } from './mailbox.js';
import { normalizePath } from './path.js';
import { Registry } from './registry.js';
import { abortReason, PendingAsks } from './pending-asks.js';
import { placementKind, type PlacementSite } from './placement.js';
import { Ports } from './ports.js';
import { ASK_PREFIX, PORT_PREFIX } from './addresses.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { Tap } from './tap.js';
import { logSystemEvent, type SystemEvent } from './system-events.js';
import { Watchers, type Terminated } from './watchers.js';
import type { ExitReason, ParentLink, Placement, TreeNode } from './tree.js';

// Settled outcomes are shared: a resolved promise is immutable, and a send should not allocate one.
const QUEUED: Promise<'queued'> = Promise.resolve('queued');
const REFUSED: Promise<'refused'> = Promise.resolve('refused');


export interface RuntimeOptions {
  readonly name: string;
  readonly logger: Logger;
  readonly scheduler?: SchedulerOptions;
  /** How many recent dead letters to keep for inspection (default 1,000). */
  readonly keepDeadLetters?: number;
  /** Options of each placement by name (`worker`: the worker-thread pool); those given are opened at once. */
  readonly placements?: Readonly<Record<string, unknown>>;
  /** The system's time (default real time); see clock.ts. */
  readonly clock?: Clock;
  /** The system's ids (default its nanoid and counters); see ids.ts. */
  readonly ids?: IdSource;
}



/**
 * One system's kernel: the registry of paths, delivery, dead letters, waiting requests,
 * the scheduler and the lifecycle event stream. Several runtimes in one process share nothing.
 */
export class Runtime implements Kernel {
  readonly name: string;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
  readonly deadLetters: DeadLetters;
  readonly asks: PendingAsks;
  /** Every timer and clock reading of this system (see clock.ts). */
  readonly time: Clock;
  private readonly ids: IdSource;
  readonly events = new Listeners<SystemEvent>();
  /** Every message and lifecycle event passes here, in order (see tap.ts). */
  readonly tap: Tap;
  /** Conversation ports of protocol logic (see ports.ts). */
  readonly ports: Ports;
  /** One XState actor system shared by every agent of this runtime (an actor system per agent costs ~1.6 KB). */
  readonly xsystem: unknown;
  private readonly registry = new Registry();
  private readonly watchers = new Watchers((path) => this.livesAt(path), (error) => this.reportListenerError(error));
  /** The Lamport clock of messages sent from outside any agent. */
  clock = 0;
  stopped = false;
  private readonly placementOptions: Readonly<Record<string, unknown>>;
  /** The placements agents of this system run on besides inline, opened at first use. */
  private readonly sites = new Map<string, PlacementSite>();

  constructor(options: RuntimeOptions) {
    this.name = options.name;
    this.logger = options.logger;
    this.time = options.clock ?? REAL_CLOCK;
    this.ids = options.ids ?? systemIds();
    this.asks = new PendingAsks(this.time, this.ids);
    this.scheduler = new Scheduler(options.scheduler, (error) => this.logger.error({ err: error }, 'a scheduler turn threw; the scheduler carried on with the other agents'));
    this.deadLetters = new DeadLetters(options.keepDeadLetters ?? 1_000, this.reportListenerError, this.time);
    this.tap = new Tap(this.reportListenerError);
    this.deadLetters.subscribe((letter) => {
      if (this.tap.active) this.tap.pass({ kind: 'dead-letter', letter });
    });
    this.xsystem = newActorSystem(this.time);
    this.ports = new Ports((error) => this.reportListenerError(error), (message) => this.toClosedPort(message), this.portNamespace());
    this.placementOptions = options.placements ?? {};
    // Bad placement options fail createSystem, not the first placement.
    for (const [name, given] of Object.entries(this.placementOptions)) if (given !== undefined) this.site(name);
  }

  /** Put in the address of every port opened here (see Ports); a worker thread's runtime names its thread. */
  protected portNamespace(): string {
    return '';
  }

  private site(name: string): PlacementSite {
    let site = this.sites.get(name);
    if (site === undefined) {
      site = placementKind(name).open(this, this.placementOptions[name]);
      this.sites.set(name, site);
    }
    return site;
  }

  /** Ends every placement site (worker threads); resolves when all have. */
  async closePlacements(): Promise<void> {
    await Promise.all([...this.sites.values()].map((site) => site.close()));
  }

  /** Offers a message for a reserved address to the placements; false when none owns it. */
  private routeReserved(message: AclMessage, kind: 'answer' | 'port' | 'handover'): boolean {
    for (const site of this.sites.values()) if (site.routeReserved(message, kind)) return true;
    return false;
  }

  readonly reportListenerError = (error: unknown): void => {
    this.logger.error({ err: error }, 'a Troupe event listener threw; the event was still delivered to the others');
  };

  emit(event: SystemEvent): void {
    logSystemEvent(this.logger, event);
    if (this.tap.active) this.tap.pass({ kind: 'lifecycle', event });
    if (this.events.active) this.events.emit(event, this.reportListenerError);
  }

  newConversationId(): string {
    return this.ids.conversation();
  }

  /** A new incarnation id for each start of an agent. */
  newIncarnation(): string {
    return this.ids.incarnation();
  }

  newReplyTag(): string {
    return this.ids.replyTag();
  }

  /** A path as given when it names a registered node (already normal), else checked and normalised. */
  resolvePath(path: string): string {
    // A conversation port's address is not a tree path, and a sender may well reach one directly.
    return this.registry.has(path) || path.startsWith(PORT_PREFIX) ? path : normalizePath(path);
  }

  // ---- registry --------------------------------------------------------------------------

  /** Creates the process of an agent at `path`, its machine run where `placement` says; `start()` starts it. */
  createAgent(path: string, id: string, definition: AgentDefinition, parent: ParentLink, placement: Placement = 'inline'): AgentProcess {
    const site = placement === 'inline' ? undefined : this.site(placement);
    return new AgentProcess(this, path, id, definition, parent, (process) => (site === undefined ? new InlineExecutor(process) : site.createExecutor(process)));
  }

  /** The first starts of every agent (see AgentProcess.firstStart). */
  firstStarts(): Promise<void>[] {
    return this.registry.firstStarts();
  }

  register(node: TreeNode): void {
    this.registry.register(node);
  }

  unregister(node: TreeNode): void {
    this.registry.unregister(node);
  }

  lookup(path: string): TreeNode | undefined {
    return this.registry.lookup(path);
  }

  agentAt(path: string): AgentProcess | undefined {
    return this.registry.agentAt(path);
  }

  // ---- delivery --------------------------------------------------------------------------

  /**
   * Delivers a message to its receiver's mailbox, or records it as a dead letter (and
   * answers its sender with `failure` if it expected an answer). `settle` hears what became
   * of a message parked by backpressure: `queued` when it enters the mailbox, or `refused`.
   */
  deliver(message: AclMessage, from?: Sender, settle?: Settle): 'queued' | 'waiting' | 'refused' {
    if (this.tap.active) this.tap.pass({ kind: 'sent', message });
    const receiver = message.receiver;
    if (receiver.startsWith(ASK_PREFIX)) {
      if (message.lamport > this.clock) this.clock = message.lamport; // Lamport: receiving advances the clock
      this.settleAsk(message);
      return 'queued';
    }
    // The agent asked hands its request over (a forward with the asker as reply-to).
    const replyTo = message.replyTo;
    if (replyTo !== undefined && message.replyWith !== undefined && replyTo.startsWith(ASK_PREFIX) && !this.asks.handOver(message)) this.routeReserved(message, 'handover');
    if (receiver.startsWith(PORT_PREFIX)) return this.deliverToPort(message);
    if (this.stopped) {
      this.reject(message, 'system-stopped', 'system-stopped', `system ${this.name} is stopped`);
      return 'refused';
    }
    const cell = this.registry.lookup(receiver);
    if (!(cell instanceof AgentProcess)) {
      const node = cell;
      const reason = node === undefined ? 'no-such-agent' : 'not-an-agent';
      this.reject(message, reason, reason, node === undefined ? `no agent at ${receiver}` : `${receiver} is a ${node.kind}, which does not take messages`);
      return 'refused';
    }
    if (from === undefined || cell.mailbox.overflow !== 'backpressure') return cell.enqueue(message, settle);
    // An agent sending into a full backpressure mailbox pauses until its message gets in.
    let release: (() => void) | undefined;
    const outcome = cell.enqueue(message, () => release?.());
    if (outcome === 'waiting') release = from.blockSender();
    return outcome;
  }

  private settleAsk(answer: AclMessage): void {
    const outcome = this.asks.settle(answer);
    if (outcome === 'not-from-the-asked') this.deadLetters.record(answer, 'not-from-the-asked');
    else if (outcome === 'nobody-waits' && !this.routeReserved(answer, 'answer')) this.deadLetters.record(answer, 'no-waiting-request');
  }

  protected deliverToPort(message: AclMessage): 'queued' | 'refused' {
    if (message.lamport > this.clock) this.clock = message.lamport;
    // A port opened by an agent placed elsewhere (its address names the place).
    if (this.routeReserved(message, 'port')) return 'queued';
    const state = this.ports.deliver(message);
    if (state === 'open') return 'queued';
    if (state === 'closed') this.toClosedPort(message);
    else this.reject(message, 'no-such-agent', 'no-such-agent', `no open conversation port at ${message.receiver}`);
    return 'refused';
  }

  /**
   * A message for a conversation that has ended: out of sequence, so it is answered
   * `not-understood` (reason `conversation-ended`) when its sender waits, and recorded.
   */
  private toClosedPort(message: AclMessage): void {
    this.deadLetters.record(message, 'no-waiting-request');
    // Told even when it expects no answer (an inform to a subscription whose subscriber has
    // gone), so that the sender can stop; never for an answer of that kind, or two would loop.
    if (message.performative === 'not-understood' || message.performative === 'failure') return;
    const content: RuntimeReason = { reason: 'conversation-ended', detail: `conversation ${message.conversationId} has ended; ${message.performative} came too late` };
    this.sendAnswer(message, 'not-understood', content, message.receiver, undefined);
  }

  /**
   * Sends a message for protocol logic run by an agent or the system (see ProtocolHost).
   * Bad input throws; delivery problems become dead letters as for any send.
   */
  post(origin: SendOrigin, to: string, performative: Performative, content: unknown, options: MessageOptions | undefined, receiverIncarnation: string | undefined, from?: Sender): void {
    if (!isPerformative(performative)) throw new ConfigurationError('invalid-performative', `${String(performative)} is not a FIPA performative`);
    const receiver = this.resolvePath(to);
    const message = createMessage(
      {
        performative,
        sender: origin.sender,
        senderIncarnation: origin.senderIncarnation,
        receiver,
        receiverIncarnation,
        content: freezeContent(content),
        conversationId: checkMessageOptions(options)?.conversationId ?? this.newConversationId(),
        lamport: origin.lamport,
      },
      options,
    );
    this.deliver(message, from);
  }

  /**
   * Offers a message to an agent's mailbox under its overflow policy: an evicted or refused
   * message is dead-lettered and its sender answered. `queued` means the agent has new work.
   */
  admit(mailbox: Mailbox<AclMessage>, path: string, message: AclMessage, settle: Settle | undefined): 'queued' | 'waiting' | 'refused' {
    const outcome = mailbox.offer(message, settle);
    switch (outcome.kind) {
      case 'queued':
        return 'queued';
      case 'evicted':
        this.reject(outcome.evicted, 'dropped-oldest', 'mailbox-full', `mailbox of ${path} is full (capacity ${mailbox.capacity}); the oldest message was dropped`);
        return 'queued';
      case 'waiting':
        return 'waiting';
      case 'refused': {
        const refusal = refusalOf(mailbox, path);
        this.reject(message, refusal.deadReason, refusal.reason, refusal.detail);
        return 'refused';
      }
    }
  }

  /** Dead-letters a message and, if its sender expects an answer, answers `failure`. */
  reject(message: AclMessage, deadReason: DeadLetterReason, reason: string, detail: string): void {
    this.deadLetters.record(message, deadReason);
    this.logger.debug({ path: message.receiver, sender: message.sender, conversationId: message.conversationId, reason: deadReason }, detail);
    this.answerFailure(message, reason, detail, message.receiver, undefined);
  }

  /** Answers `message` with `failure` if its sender expects an answer. */
  answerFailure(message: AclMessage, reason: string, detail: string, from: string, fromIncarnation: string | undefined): void {
    this.answer(message, 'failure', { reason, detail }, from, fromIncarnation);
  }

  /** Answers `not-understood` (or dead-letters a message nobody waits an answer for). */
  notUnderstood(message: AclMessage, reason: string, detail: string): void {
    if (message.replyWith === undefined) {
      this.deadLetters.record(message, reason === 'invalid-content' ? 'invalid-content' : 'unhandled');
      return;
    }
    this.answer(message, 'not-understood', { reason, detail }, message.receiver, undefined);
  }

  private answer(message: AclMessage, performative: Performative, content: RuntimeReason, from: string, fromIncarnation: string | undefined): void {
    if (message.replyWith !== undefined) this.sendAnswer(message, performative, content, from, fromIncarnation);
  }

  private sendAnswer(message: AclMessage, performative: Performative, content: RuntimeReason, from: string, fromIncarnation: string | undefined): void {
    this.deliver(
      createMessage({
        performative,
        sender: from,
        senderIncarnation: fromIncarnation,
        receiver: answerAddress(message),
        receiverIncarnation: answerIncarnation(message),
        content: Object.freeze(content),
        conversationId: message.conversationId,
        inReplyTo: message.replyWith,
        protocol: message.protocol,
        ontology: message.ontology,
        // Later than the message answered, whoever sent it (Lamport: max(local, received) + 1).
        lamport: (this.clock = Math.max(this.clock, message.lamport) + 1),
      }),
    );
  }

  /**
   * Sends a message that expects an answer and waits for it (FIPA request). Used by
   * `system.request` and, through `ask`, by agents.
   */
  ask(input: AskInput, origin: SendOrigin, from: Sender | undefined, defaultTimeoutMs: number): Promise<AclMessage> {
    const receiver = this.resolvePath(input.to);
    const performative = input.performative ?? 'request';
    if (!isPerformative(performative)) throw new ConfigurationError('invalid-performative', `${String(performative)} is not a FIPA performative`);
    const timeoutMs = input.timeoutMs ?? defaultTimeoutMs;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new ConfigurationError('invalid-timeout', `timeoutMs must be a positive number of milliseconds or Infinity, got ${String(timeoutMs)}`);
    checkMessageOptions(input.options);
    const signal = origin.signal;
    // Aborted already: nothing is sent, so no agent does work nobody waits for.
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    const content = freezeContent(input.content);
    const conversationId = input.options?.conversationId ?? this.newConversationId();
    const replyWith = input.options?.replyWith ?? this.newReplyTag();
    const waiting = this.asks.register(receiver, conversationId, replyWith, timeoutMs, input.acceptAgree === true, origin.signal);
    this.deliver(
      createMessage(
        {
          performative,
          sender: origin.sender,
          senderIncarnation: origin.senderIncarnation,
          receiver,
          replyTo: waiting.address,
          content,
          conversationId,
          replyWith,
          replyBy: Number.isFinite(timeoutMs) ? this.time.now() + timeoutMs : undefined,
          lamport: origin.lamport,
        },
        input.options,
      ),
      from,
    );
    return waiting.promise;
  }

  /** Sends a message nobody waits an answer for; resolves once it is in a mailbox (or dead). */
  send(to: string, performative: Performative, content: unknown, options: MessageOptions | undefined, origin: SendOrigin): Promise<'queued' | 'refused'> {
    const receiver = this.resolvePath(to);
    if (!isPerformative(performative)) throw new ConfigurationError('invalid-performative', `${String(performative)} is not a FIPA performative`);
    const message = createMessage(
      {
        performative,
        sender: origin.sender,
        senderIncarnation: origin.senderIncarnation,
        receiver,
        content: freezeContent(content),
        conversationId: checkMessageOptions(options)?.conversationId ?? this.newConversationId(),
        lamport: origin.lamport,
      },
      options,
    );
    let settle: Settle | undefined;
    const outcome = this.deliver(message, undefined, (final) => settle?.(final));
    if (outcome === 'queued') return QUEUED;
    if (outcome === 'refused') return REFUSED;
    return new Promise((resolve) => (settle = resolve));
  }

  // ---- watching --------------------------------------------------------------------------

  watch(path: string, listener: (signal: Terminated) => void): () => void {
    return this.watchers.watch(path, listener);
  }

  /** Whether something lives at `path` or is about to (see Registry.livesAt); a thread's runtime says yes always. */
  protected livesAt(path: string): boolean {
    return this.registry.livesAt(path);
  }

  /** A start that was expected at `path` is over: if nothing lives there after all, its watchers hear `noproc`. */
  settleWatchers(path: string): void {
    this.watchers.settle(path);
  }

  notifyTerminated(path: string, incarnation: string, reason: ExitReason): void {
    this.watchers.notifyTerminated(path, incarnation, reason);
  }
}
