import { nanoid } from 'nanoid';
import { createActor, fromCallback } from 'xstate';
import type { Logger } from 'pino';
import { freezeContent } from '../acl/content.js';
import { answerAddress, answerIncarnation, checkMessageOptions, createMessage, type AclMessage, type MessageOptions } from '../acl/message.js';
import { isPerformative, type Performative } from '../acl/performatives.js';
import type { AskInput } from '../agent/ask.js';
import type { AgentDefinition } from '../agent/define-agent.js';
import { AgentCell } from './agent-cell.js';
import { DeadLetters, type DeadLetterReason } from './dead-letters.js';
import { ConfigurationError, type RuntimeReason } from './errors.js';
import { Listeners } from './listeners.js';
import { refusalOf, type Mailbox, type Settle } from './mailbox.js';
import { normalizePath, parentPath } from './path.js';
import { abortReason, ASK_PREFIX, PendingAsks } from './pending-asks.js';
import { PORT_PREFIX, Ports } from './ports.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { logSystemEvent, type SystemEvent } from './system-events.js';
import type { AgentNode, ContainerNode, ExitReason, ParentLink, Placement, TreeNode } from './tree.js';
import { WorkerPool, type WorkerPoolOptions } from '../workers/pool.js';
import { RemoteAgent } from '../workers/remote-agent.js';

// Settled outcomes are shared: a resolved promise is immutable, and a send should not allocate one.
const QUEUED: Promise<'queued'> = Promise.resolve('queued');
const REFUSED: Promise<'refused'> = Promise.resolve('refused');
const NOPROC: ExitReason = Object.freeze({ kind: 'noproc' });

/** The signal a watcher gets when the agent at a path stops for good, or at once (`noproc`) when nothing lives there. */
export interface Terminated {
  readonly type: 'terminated';
  readonly path: string;
  /** Empty with `noproc`: no incarnation ran. */
  readonly incarnation: string;
  readonly reason: ExitReason;
}

export interface RuntimeOptions {
  readonly name: string;
  readonly logger: Logger;
  readonly scheduler?: SchedulerOptions;
  /** How many recent dead letters to keep for inspection (default 1,000). */
  readonly keepDeadLetters?: number;
  /** The worker-thread pool for agents placed on workers. */
  readonly workers?: WorkerPoolOptions;
}

/** Told of every message routed (sent); set only while an inspector listens, so a send pays one check otherwise. */
export interface MessageObserver {
  sent(message: AclMessage): void;
}

/** Who sends a message from outside an agent's machine. */
export interface SendOrigin {
  readonly sender: string;
  readonly senderIncarnation: string | undefined;
  readonly lamport: number;
  readonly signal?: AbortSignal;
}

/**
 * One system's kernel: the registry of paths, delivery, dead letters, waiting requests,
 * the scheduler and the lifecycle event stream. Several runtimes in one process share nothing.
 */
export class Runtime {
  readonly name: string;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
  readonly deadLetters: DeadLetters;
  readonly asks = new PendingAsks();
  readonly events = new Listeners<SystemEvent>();
  /** Conversation ports of protocol logic (see ports.ts). */
  readonly ports: Ports;
  /** One XState actor system shared by every agent of this runtime (an actor system per agent costs ~1.6 KB). */
  readonly xsystem: unknown;
  private readonly nodes = new Map<string, TreeNode>();
  private readonly watchers = new Map<string, Listeners<Terminated>>();
  /**
   * Ids made here (incarnations, conversations, reply tags) are this system's nanoid and a
   * counter: unique like a nanoid, and short. V8 stores a string of up to 12 characters flat
   * and a longer concatenation as a chain of pieces; every message carries two such ids, so
   * six random characters (36 bits) keep ids flat up to tens of millions per system, which
   * measurably lightens GC when a million messages wait in mailboxes.
   */
  private readonly idPrefix = nanoid(6);
  private conversations = 0;
  private replyTags = 0;
  private incarnations = 0;
  /** The Lamport clock of messages sent from outside any agent. */
  clock = 0;
  stopped = false;
  /** The inspector's hook while a client is connected; undefined otherwise. */
  observer: MessageObserver | undefined = undefined;
  private readonly workerOptions: WorkerPoolOptions | undefined;
  /** Started with the first agent placed on a worker thread. */
  private pool: WorkerPool | undefined;

  constructor(options: RuntimeOptions) {
    this.name = options.name;
    this.logger = options.logger;
    this.scheduler = new Scheduler(options.scheduler, (error) => this.logger.error({ err: error }, 'a scheduler turn threw; the scheduler carried on with the other agents'));
    this.deadLetters = new DeadLetters(options.keepDeadLetters ?? 1_000, this.reportListenerError);
    this.xsystem = createActor(fromCallback(() => undefined)).system;
    this.ports = new Ports((error) => this.reportListenerError(error), (message) => this.toClosedPort(message), this.portNamespace());
    this.workerOptions = options.workers;
    // Bad pool options fail createSystem, not the first placement.
    if (options.workers !== undefined) this.pool = new WorkerPool(this, options.workers);
  }

  /** Put in the address of every port opened here (see Ports); a worker thread's runtime names its thread. */
  protected portNamespace(): string {
    return '';
  }

  /** The worker-thread pool, once an agent has been placed on it. */
  get workers(): WorkerPool | undefined {
    return this.pool;
  }

  readonly reportListenerError = (error: unknown): void => {
    this.logger.error({ err: error }, 'a Troupe event listener threw; the event was still delivered to the others');
  };

  emit(event: SystemEvent): void {
    logSystemEvent(this.logger, event);
    if (this.events.active) this.events.emit(event, this.reportListenerError);
  }

  newConversationId(): string {
    return `${this.idPrefix}-${(this.conversations++).toString(36)}`;
  }

  /** A new incarnation id for each start of an agent (see `idPrefix`). */
  newIncarnation(): string {
    return `${this.idPrefix}${(this.incarnations++).toString(36)}`;
  }

  newReplyTag(): string {
    return `${this.idPrefix}.${(this.replyTags++).toString(36)}`;
  }

  /** A path as given when it names a registered node (already normal), else checked and normalised. */
  resolvePath(path: string): string {
    // A conversation port's address is not a tree path, and a sender may well reach one directly.
    return this.nodes.has(path) || path.startsWith(PORT_PREFIX) ? path : normalizePath(path);
  }

  // ---- registry --------------------------------------------------------------------------

  /** Creates the cell of an agent at `path` (a stand-in when it runs on a worker thread); `start()` starts it. */
  createAgent(path: string, id: string, definition: AgentDefinition, parent: ParentLink, placement: Placement = 'inline'): AgentNode {
    if (placement === 'worker') return new RemoteAgent(this, (this.pool ??= new WorkerPool(this, this.workerOptions)), path, id, definition, parent);
    return new AgentCell(this, path, id, definition, parent);
  }

  /** The first starts of the agents placed on worker threads (see RemoteAgent.firstStart). */
  workerFirstStarts(): Promise<void>[] {
    const starts: Promise<void>[] = [];
    for (const node of this.nodes.values()) if (node instanceof RemoteAgent) starts.push(node.firstStart);
    return starts;
  }

  register(node: TreeNode): void {
    const existing = this.nodes.get(node.path);
    if (existing !== undefined && existing !== node) throw new ConfigurationError('path-taken', `path ${node.path} is already taken by a running ${existing.kind}`);
    this.nodes.set(node.path, node);
  }

  unregister(node: TreeNode): void {
    if (this.nodes.get(node.path) !== node) return;
    this.nodes.delete(node.path);
  }

  lookup(path: string): TreeNode | undefined {
    return this.nodes.get(path);
  }

  agentAt(path: string): AgentCell | undefined {
    const node = this.nodes.get(path);
    return node instanceof AgentCell ? node : undefined;
  }

  // ---- delivery --------------------------------------------------------------------------

  /**
   * Delivers a message to its receiver's mailbox, or records it as a dead letter (and
   * answers its sender with `failure` if it expected an answer). `settle` hears what became
   * of a message parked by backpressure: `queued` when it enters the mailbox, or `refused`.
   */
  deliver(message: AclMessage, from?: AgentCell, settle?: Settle): 'queued' | 'waiting' | 'refused' {
    this.observer?.sent(message);
    const receiver = message.receiver;
    if (receiver.startsWith(ASK_PREFIX)) {
      if (message.lamport > this.clock) this.clock = message.lamport; // Lamport: receiving advances the clock
      if (!this.asks.settle(message) && this.pool?.routeToThread(message, ASK_PREFIX, 'answer') !== true) this.deadLetters.record(message, 'no-waiting-request');
      return 'queued';
    }
    if (receiver.startsWith(PORT_PREFIX)) return this.deliverToPort(message);
    if (this.stopped) {
      this.reject(message, 'system-stopped', 'system-stopped', `system ${this.name} is stopped`);
      return 'refused';
    }
    const cell = this.nodes.get(receiver);
    if (!(cell instanceof AgentCell) && !(cell instanceof RemoteAgent)) {
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

  protected deliverToPort(message: AclMessage): 'queued' | 'refused' {
    if (message.lamport > this.clock) this.clock = message.lamport;
    // A port opened by an agent on a worker thread (its address names the thread).
    if (this.pool?.routeToThread(message, PORT_PREFIX, 'port') === true) return 'queued';
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
  post(origin: SendOrigin, to: string, performative: Performative, content: unknown, options: MessageOptions | undefined, receiverIncarnation: string | undefined, from?: AgentCell): void {
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
  ask(input: AskInput, origin: SendOrigin, from: AgentCell | undefined, defaultTimeoutMs: number): Promise<AclMessage> {
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
    const waiting = this.asks.register(receiver, conversationId, timeoutMs, input.acceptAgree === true, origin.signal);
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
          replyWith: input.options?.replyWith ?? this.newReplyTag(),
          replyBy: Number.isFinite(timeoutMs) ? Date.now() + timeoutMs : undefined,
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

  /**
   * Calls `listener` once when the node at `path` stops for good. Where nothing lives (and no
   * supervisor is about to start or restart anything), it hears `noproc` as Erlang's monitor
   * does, in a microtask: never inside this call, and not at all once unsubscribed.
   */
  watch(path: string, listener: (signal: Terminated) => void): () => void {
    if (!this.livesAt(path)) return this.tellNoproc(path, listener);
    let listeners = this.watchers.get(path);
    if (listeners === undefined) {
      listeners = new Listeners();
      this.watchers.set(path, listeners);
    }
    const remove = listeners.add(listener);
    const watched = listeners;
    return () => {
      remove();
      // The last watcher gone: drop the path's entry, or watching and unwatching many paths leaks.
      if (!watched.active && this.watchers.get(path) === watched) this.watchers.delete(path);
    };
  }

  private tellNoproc(path: string, listener: (signal: Terminated) => void): () => void {
    let unsubscribed = false;
    queueMicrotask(() => {
      if (unsubscribed) return;
      unsubscribed = true;
      try {
        listener({ type: 'terminated', path, incarnation: '', reason: NOPROC });
      } catch (error) {
        this.reportListenerError(error);
      }
    });
    return () => {
      unsubscribed = true;
    };
  }

  /**
   * Whether something lives at `path` or is about to: a registered node (an agent cell stays
   * registered while it waits to restart), or a child its supervisor expects (see
   * ContainerNode), or anything below a supervisor that is itself expected back (a bystander of
   * a group restart takes its children down with it).
   */
  protected livesAt(path: string): boolean {
    if (this.nodes.has(path)) return true;
    for (let child = path, parent = parentPath(path); parent !== undefined; child = parent, parent = parentPath(parent)) {
      const container = this.nodes.get(parent);
      if (container !== undefined) return 'expectsChild' in container && (container as ContainerNode).expectsChild(child);
    }
    return false;
  }

  /** A start that was expected at `path` is over: if nothing lives there after all, its watchers hear `noproc`. */
  settleWatchers(path: string): void {
    if (this.watchers.has(path) && !this.livesAt(path)) this.notifyTerminated(path, '', NOPROC);
  }

  notifyTerminated(path: string, incarnation: string, reason: ExitReason): void {
    const listeners = this.watchers.get(path);
    if (listeners === undefined) return;
    this.watchers.delete(path);
    listeners.emit({ type: 'terminated', path, incarnation, reason }, this.reportListenerError);
  }
}
