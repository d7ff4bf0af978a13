import type { Logger } from 'pino';
import type { z } from 'zod';
import { freezeContent } from '../acl/content.js';
import { createMessage, type AclMessage, type MessageOptions } from '../acl/message.js';
import type { Performative } from '../acl/performatives.js';
import { describeIssues, schemaThrew } from '../acl/schema-check.js';
import type { AgentMetrics, AgentProcess } from '../runtime/agent-process.js';
import type { DeadLetter } from '../runtime/dead-letters.js';
import type { ProtocolHost } from '../agent/protocol-host.js';
import { ConfigurationError, InvalidContentError, SystemStoppedError, TroupeError } from '../runtime/errors.js';
import { SYSTEM_ADDRESS as EXTERNAL_SENDER } from '../runtime/addresses.js';
import { resolveLogger } from '../runtime/logger.js';
import { normalizePath } from '../runtime/path.js';
import { Runtime } from '../runtime/runtime.js';
import type { Clock } from '../runtime/clock.js';
import type { IdSource } from '../runtime/ids.js';
import type { Terminated } from '../runtime/watchers.js';
import { DEFAULT_ASK_TIMEOUT_MS } from '../runtime/timeouts.js';
import type { SchedulerOptions } from '../runtime/scheduler.js';
import type { WorkerPoolOptions } from '../workers/pool.js';
import '../workers/worker-placement.js';
import type { SystemEvent } from '../runtime/system-events.js';
import type { Inspector, InspectorOptions } from '../inspector/server.js';
import { describeExit, isNormalExit, type ChildInfo, type ChildSpec, type DynamicChild, type ExitReason, type NodeSpec, type SupervisorControl } from '../runtime/tree.js';

export interface SystemOptions {
  /** The root supervisor, from `supervisor({...})`; it lives at path `/`. */
  readonly root: NodeSpec;
  /** A name for logs (default `troupe`). */
  readonly name?: string;
  readonly logger?: Logger;
  readonly scheduler?: SchedulerOptions;
  /** How many recent dead letters `system.deadLetters.recent()` keeps (default 1,000). */
  readonly keepDeadLetters?: number;
  /** Starts the live inspector (a WebSocket and its page on one port); see `system.inspector`. */
  readonly inspector?: InspectorOptions;
  /** The worker threads for agents with `placement: 'worker'` (size default `os.availableParallelism()`). */
  readonly workers?: WorkerPoolOptions;
  /** The system's time: every timer and clock reading of the kernel and of XState's delays (default real time; `new VirtualClock()` in tests). */
  readonly clock?: Clock;
  /** The system's ids: incarnations, conversations, reply tags, ask addresses (default its nanoid and counters). */
  readonly ids?: IdSource;
}

export interface RequestOptions<R> {
  /** Deadline for the answer (default 5,000 ms; `Infinity` waits for ever). Sets the message's reply-by. */
  readonly timeoutMs?: number;
  /** Default `request`; `query-if`, `query-ref`, `cfp`, ... also wait for an answer. */
  readonly performative?: Performative;
  /** Resolve on `agree` instead of waiting for the final `inform`. */
  readonly acceptAgree?: boolean;
  /** A zod schema the answer's content must match; the answer is typed by it. */
  readonly expect?: z.ZodType<R>;
  readonly signal?: AbortSignal;
  readonly options?: MessageOptions;
}

export interface TellOptions extends MessageOptions {
  /** Sender path to show the receiver (default `/$system`). */
  readonly sender?: string;
}

/** What happened to a told message: in a mailbox, or a dead letter (see `system.deadLetters`). */
export type TellOutcome = 'queued' | 'refused';

/** The content an answer must match (from `expect`) did not match. */
export class UnexpectedReplyError extends TroupeError {
  constructor(
    readonly reply: AclMessage,
    issues: string,
  ) {
    super('unexpected-reply', `${reply.sender} answered ${reply.performative} with content that does not match \`expect\`: ${issues}`);
  }
}


/**
 * Zod's output is the caller's own copy: frozen like all content when it is plain data, left
 * as the schema made it otherwise (`z.coerce.date()` gives a Date).
 */
function frozenIfPlain<T>(data: T): T {
  try {
    return freezeContent(data);
  } catch (error) {
    if (error instanceof InvalidContentError) return data; // checked before anything is frozen
    throw error;
  }
}

/** The handle on a running system. */
export class System {
  private readonly runtime: Runtime;
  private root: SupervisorControl | undefined;
  private externalHost: ProtocolHost | undefined;
  private stopping: Promise<void> | undefined;
  private readonly terminated: Promise<ExitReason>;
  private settleTerminated!: (reason: ExitReason) => void;
  private inspectorHandle: Inspector | undefined;

  constructor(options: SystemOptions) {
    const name = options.name ?? 'troupe';
    this.runtime = new Runtime({ name, logger: resolveLogger(options.logger, name), scheduler: options.scheduler, keepDeadLetters: options.keepDeadLetters, placements: { worker: options.workers }, clock: options.clock, ids: options.ids });
    this.terminated = new Promise((resolve) => {
      this.settleTerminated = resolve;
    });
  }

  /** @internal Started by createSystem. */
  startRoot(spec: NodeSpec): void {
    if (this.root !== undefined) throw new ConfigurationError('already-started', `system ${this.name} already has its root; createSystem starts it once`);
    this.root = spec.start(this.runtime, '/', 'root', {
      childExited: (_child, reason) => this.onRootExit(reason),
    });
  }

  get name(): string {
    return this.runtime.name;
  }

  /** The live inspector (its `url`, `close()`), when the system was created with `inspector` options. */
  get inspector(): Inspector | undefined {
    return this.inspectorHandle;
  }

  /**
   * @internal createSystem waits until every agent placed on a worker thread has started there,
   * as an inline agent has when its supervisor's start returns: a first start that fails rejects.
   */
  async whenWorkerAgentsStarted(): Promise<void> {
    await Promise.all(this.runtime.firstStarts());
  }

  /** @internal Started by createSystem; the server module is loaded only then. */
  async startInspector(options: InspectorOptions): Promise<void> {
    if (this.inspectorHandle !== undefined) throw new ConfigurationError('already-started', `system ${this.name} already has an inspector at ${this.inspectorHandle.url}`);
    const { startInspector } = await import('../inspector/server.js');
    const inspector = await startInspector(this.runtime, this, options);
    this.inspectorHandle = inspector;
    // The root may have exited while the server started, and shutdown found no inspector to close.
    if (this.runtime.stopped) await inspector.close();
  }

  get logger(): Logger {
    return this.runtime.logger;
  }

  /** Resolves with the reason when the system has stopped (by `stop()`, or because the root gave up). */
  get whenTerminated(): Promise<ExitReason> {
    return this.terminated;
  }

  /**
   * Sends `content` to the agent at `path` and resolves with its answer (`inform`, or
   * `agree` with `acceptAgree`). Rejects with RefusedError, FailureError, NotUnderstoodError
   * or DeadlineError; every request ends in exactly one of these.
   */
  request<R = unknown>(path: string, content?: unknown, options: RequestOptions<R> = {}): Promise<AclMessage<Performative, R>> {
    if (this.runtime.stopped) return Promise.reject(new SystemStoppedError(`request to ${path}`));
    let answer: Promise<AclMessage>;
    try {
      answer = this.runtime.ask(
        { to: path, content, performative: options.performative, timeoutMs: options.timeoutMs, acceptAgree: options.acceptAgree, options: options.options },
        { sender: EXTERNAL_SENDER, senderIncarnation: undefined, lamport: ++this.runtime.clock, signal: options.signal },
        undefined,
        DEFAULT_ASK_TIMEOUT_MS,
      );
    } catch (error) {
      // Bad input (path, content, performative, timeout) rejects like every other outcome.
      return Promise.reject(error as Error);
    }
    const schema = options.expect;
    if (schema === undefined) return answer as Promise<AclMessage<Performative, R>>;
    return answer.then((reply) => {
      let parsed: ReturnType<typeof schema.safeParse>;
      try {
        parsed = schema.safeParse(reply.content);
      } catch (error) {
        throw new UnexpectedReplyError(reply, schemaThrew(error));
      }
      if (!parsed.success) throw new UnexpectedReplyError(reply, describeIssues(parsed.error.issues));
      return createMessage({ ...reply, content: frozenIfPlain(parsed.data) }) as AclMessage<Performative, R>;
    });
  }

  /**
   * Sends a message nobody waits an answer for. Resolves `queued` once it is in the
   * receiver's mailbox (under `backpressure`, once there is room) or `refused` when it became
   * a dead letter. Never rejects for delivery problems; bad input throws at once.
   */
  tell(path: string, performative: Performative, content?: unknown, options?: TellOptions): Promise<TellOutcome> {
    if (this.runtime.stopped) throw new SystemStoppedError(`tell to ${path}`);
    const sender = options?.sender === undefined ? EXTERNAL_SENDER : normalizePath(options.sender);
    return this.runtime.send(path, performative, content, options, { sender, senderIncarnation: undefined, lamport: ++this.runtime.clock });
  }

  /** What lives at `path`: an agent or a supervisor, with its incarnation and status. */
  lookup(path: string): ChildInfo | undefined {
    const node = this.runtime.lookup(normalizePath(path));
    if (node === undefined) return undefined;
    return { id: node.id, path: node.path, kind: node.kind, incarnation: node.incarnation, status: node.status, restarts: 'restarts' in node ? (node.restarts as number) : 0 };
  }

  /** The children of the supervisor at `path` (default the root), in start order. */
  whichChildren(path = '/'): ChildInfo[] {
    return this.control(path).whichChildren();
  }

  /** Calls `listener` once when the agent at `path` stops for good (not on restarts), or with `noproc` (in a microtask) when nothing lives there. */
  watch(path: string, listener: (signal: Terminated) => void): () => void {
    return this.runtime.watch(normalizePath(path), listener);
  }

  /**
   * The system as the host of protocol logic run from outside any agent (the call forms such
   * as `contractNet(system, ...)`): what it sends comes from `/$system`.
   */
  get protocolHost(): ProtocolHost {
    return (this.externalHost ??= this.makeProtocolHost());
  }

  private makeProtocolHost(): ProtocolHost {
    const runtime = this.runtime;
    const system = this;
    return {
      self: EXTERNAL_SENDER,
      openPort: (listener) => {
        if (runtime.stopped) throw new SystemStoppedError('opening a conversation');
        return runtime.ports.openPort(listener);
      },
      post: (to, performative, content, options, receiverIncarnation) => {
        if (runtime.stopped) throw new SystemStoppedError(`${performative} to ${to}`);
        runtime.post({ sender: EXTERNAL_SENDER, senderIncarnation: undefined, lamport: ++runtime.clock }, to, performative, content, options, receiverIncarnation);
      },
      newConversationId: () => runtime.newConversationId(),
      newReplyTag: () => runtime.newReplyTag(),
      onSystemEvent: (listener) => system.subscribe(listener),
      watch: (path, listener) => system.watch(path, listener),
    };
  }

  /** Queue depth, processed count, processing time and restarts of the agent at `path`. */
  metrics(path: string): AgentMetrics | undefined {
    const node = this.runtime.lookup(normalizePath(path));
    return node !== undefined && 'metrics' in node ? (node.metrics as AgentMetrics) : undefined;
  }

  /**
   * Suspends the agent at `path` (OTP sys:suspend): its messages queue under the usual
   * mailbox rules and wait until `resume`. Returns false if it was already suspended.
   */
  suspend(path: string): boolean {
    return this.runningAgent(path, 'suspend').suspend();
  }

  /** Lets a suspended agent handle its queued messages again; false if it was not suspended. */
  resume(path: string): boolean {
    return this.runningAgent(path, 'resume').resume();
  }

  private runningAgent(path: string, what: string): AgentProcess {
    const normal = normalizePath(path);
    const cell = this.runtime.agentAt(normal);
    if (cell !== undefined && cell.executor.suspension === undefined) {
      const { where, placement } = cell.executor;
      throw new ConfigurationError('not-a-running-agent', `cannot ${what} ${path}: it runs on ${where} (placement '${placement}'); ${what} applies to inline agents only`);
    }
    if (cell === undefined || cell.status !== 'running') {
      const node = this.runtime.lookup(normal);
      const state = node === undefined ? 'not in the tree' : node.kind === 'agent' ? `${node.status}, not running` : 'a supervisor';
      throw new ConfigurationError('not-a-running-agent', `cannot ${what} ${path}: it is ${state}; ${what} needs the path of a running agent`);
    }
    return cell;
  }

  /** The XState snapshot of the agent at `path`, for inspection and tests. */
  snapshot(path: string): unknown {
    return this.runtime.agentAt(normalizePath(path))?.snapshot();
  }

  get deadLetters(): { readonly count: number; recent(): readonly DeadLetter[]; subscribe(listener: (letter: DeadLetter) => void): () => void } {
    return this.runtime.deadLetters;
  }

  /** Lifecycle and supervision events; returns the unsubscribe function. */
  subscribe(listener: (event: SystemEvent) => void): () => void {
    return this.runtime.events.add(listener);
  }

  /** Resolves when no agent has queued work left. */
  whenIdle(): Promise<void> {
    return this.runtime.scheduler.whenIdle();
  }

  /** Starts a child under the supervisor at `path` (OTP start_child); `{ id, input }` uses its template. */
  startChild(path: string, spec: ChildSpec | DynamicChild): Promise<ChildInfo> {
    return this.control(path).startChild(spec);
  }

  /** Stops a child for good; its spec stays (unless temporary) for restartChild (OTP terminate_child). */
  terminateChild(path: string, id: string): Promise<void> {
    return this.control(path).terminateChild(id);
  }

  /** Starts a terminated child again (OTP restart_child). */
  restartChild(path: string, id: string): Promise<ChildInfo> {
    return this.control(path).restartChild(id);
  }

  /** Removes a terminated child's spec (OTP delete_child). */
  deleteChild(path: string, id: string): Promise<void> {
    return this.control(path).deleteChild(id);
  }

  countChildren(path = '/'): { specs: number; active: number; supervisors: number; workers: number } {
    return this.control(path).countChildren();
  }

  private control(path: string): SupervisorControl {
    const node = this.runtime.lookup(normalizePath(path));
    if (node === undefined || !('startChild' in node)) {
      throw new ConfigurationError('not-a-supervisor', `${path} is ${node === undefined ? 'not in the tree' : `an ${node.kind}`}; this call needs a supervisor path`);
    }
    return node as SupervisorControl;
  }

  /**
   * Stops the system gracefully: the root stops its children in reverse start order, each
   * within its shutdown time; requests still waiting then fail with SystemStoppedError.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown({ kind: 'shutdown' });
    return this.stopping;
  }

  private async shutdown(reason: ExitReason): Promise<void> {
    try {
      await this.root?.stop('infinity', reason);
      this.runtime.stopped = true;
      await this.runtime.closePlacements();
      // After the root: clients see every agent stop before the connection closes.
      await this.inspectorHandle?.close();
    } finally {
      // Whatever failed above, nobody is left waiting: pending requests fail, whenTerminated settles.
      this.runtime.stopped = true;
      this.runtime.asks.failAll(new SystemStoppedError('request'));
      this.settleTerminated(reason);
    }
  }

  private onRootExit(reason: ExitReason): void {
    // An auto-shutdown (significant children done) is a normal end, not an error.
    const level = isNormalExit(reason) ? 'info' : 'error';
    this.runtime.logger[level]({ reason: describeExit(reason) }, `the root supervisor exited (${describeExit(reason)}); the system stops`);
    this.stopping ??= this.shutdown(reason);
  }
}

/** Starts a system: the root supervisor and its children, in order. */
export async function createSystem(options: SystemOptions): Promise<System> {
  if (typeof options !== 'object' || options === null || options.root === undefined || options.root.kind !== 'supervisor') {
    throw new ConfigurationError('invalid-root', 'createSystem needs { root: supervisor({...}) }');
  }
  const system = new System(options);
  try {
    system.startRoot(options.root);
    await system.whenWorkerAgentsStarted();
    if (options.inspector !== undefined) await system.startInspector(options.inspector);
  } catch (error) {
    // No half-started system: its agents, worker threads and inspector stop, then the caller hears why.
    await system.stop();
    throw error;
  }
  return system;
}
