import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { AclMessage } from '../acl/message.js';
import { PORT_PREFIX } from '../runtime/addresses.js';
import type { MachineView, ViewRules } from '../inspector/describe.js';
import type { Kernel } from '../runtime/kernel.js';
import type { ExitReason } from '../runtime/tree.js';
import { PlacedAgents } from './placed-agents.js';
import { FINISHED, STARTED, type FromWorker, type ToWorker } from './protocol.js';
import { sameMessage, ThreadAuthority, type Answerer } from './thread-authority.js';
import { readThreadLog } from './thread-log.js';
import { checkFromWorker, type WireThread } from './wire-check.js';
import type { WorkerData } from './worker-host.js';
import { WorkerBusyError, WorkerCrashError, WorkerProtocolError } from './worker-errors.js';

export interface HostThreadOptions {
  readonly entry: URL;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly onExit: (host: HostThread) => void;
}

/** An agent placed on a thread, as the thread's host sees it (the thread executor). */
export interface HostedAgent extends Answerer {
  readonly process: Answerer['process'] & { reportHung(detail: string): void };
  /** The message handed to the thread and not yet handled or given back. */
  readonly handedOver: AclMessage | undefined;
  /** A message from the thread about this agent. */
  onWorker(event: FromWorker): void;
  /** The thread died (or was terminated) with this agent on it. */
  hostDied(reason: ExitReason, failureReason: string): void;
  /** A message the agent sent on its thread: whether it speaks for the agent (see ThreadExecutor.sent). */
  sent(message: AclMessage): 'deliver' | 'stale' | 'answered';
}

/** How long an inspector query about an agent waits for its thread. */
const QUERY_TIMEOUT_MS = 5_000;

/**
 * One worker thread as the main thread sees it: the agents placed on it, the messages to
 * and from it, and its death, which fails every agent it hosted.
 */
export class HostThread implements WireThread {
  readonly worker: Worker;
  readonly threadId: number;
  /** Hosted agents by path. */
  readonly agents = new PlacedAgents<HostedAgent>();
  /** Delivery sequence numbers the thread began / finished, written by the thread (see protocol.ts). */
  private readonly progress = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  private seq = 0;
  /** The agent of each delivery not known to be finished, and of the last finished one. */
  private readonly delivered = new Map<number, HostedAgent>();
  alive = true;
  /** When the thread last sent anything: a thread working through long messages still shows life between them. */
  lastHeard = Date.now();
  private closing = false;
  private lastError: unknown;
  /** Set when the thread is terminated because an agent on it hung. */
  private hung: { readonly agent: HostedAgent; readonly detail: string } | undefined;
  /** Set when the thread is terminated because it broke the worker protocol: nothing it sends is heard since. */
  private violation: WorkerProtocolError | undefined;
  /** Who on the thread may answer what (see thread-authority.ts). */
  private readonly authority: ThreadAuthority;
  private readonly exited: Promise<void>;
  /** Inspector queries waiting for the thread, by id. */
  private readonly queries = new Map<number, { readonly resolve: (view: MachineView) => void; readonly reject: (error: unknown) => void; readonly timer: ReturnType<typeof setTimeout> }>();
  private nextQuery = 0;

  constructor(
    private readonly runtime: Kernel,
    options: HostThreadOptions,
  ) {
    const workerData: WorkerData = { name: runtime.name, logLevel: runtime.logger.level, progress: this.progress };
    // No inherited execArgv: the parent's flags (a test runner's, a loader's) are not the thread's business.
    this.worker = new Worker(options.entry, { workerData, execArgv: [], resourceLimits: options.resourceLimits, stdout: false, stderr: false });
    this.threadId = this.worker.threadId;
    this.authority = new ThreadAuthority(this.threadId);
    this.worker.on('message', (message: unknown) => this.onMessage(message));
    this.worker.on('messageerror', (error) => this.protocolViolation(new WorkerProtocolError(this.threadId, `a message that could not be read (${error.message})`)));
    this.worker.on('error', (error) => {
      this.lastError = error;
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.alive = false;
        options.onExit(this);
        this.failQueries(code);
        this.failAgents(code);
        resolve();
      });
    });
  }

  get load(): number {
    return this.agents.size;
  }

  post(command: ToWorker): void {
    if (!this.alive) return;
    if (command.t === 'port') this.authority.sentToPort(command.message);
    this.worker.postMessage(command);
  }

  /** Whether an agent at `path` is placed on the thread, or was: what the thread may speak for (see wire-check.ts). */
  wasPlaced(path: string): boolean {
    return this.agents.wasPlaced(path);
  }

  /** Ends the thread (system stop): its agents have been stopped already. */
  close(): Promise<void> {
    this.closing = true;
    void this.worker.terminate();
    return this.exited;
  }

  /**
   * The machine of an agent here, described on the thread for the inspector. A thread busy
   * in one long handler answers when it is done; one that has not within QUERY_TIMEOUT_MS fails the query.
   */
  describe(path: string, redact: ViewRules): Promise<MachineView> {
    if (!this.alive) return Promise.reject(new WorkerCrashError(this.threadId, 'has exited'));
    const id = ++this.nextQuery;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.queries.delete(id);
        reject(new WorkerBusyError(this.threadId, `did not describe ${path} within ${QUERY_TIMEOUT_MS} ms: it is busy in a long handler or stuck; ask again later`));
      }, QUERY_TIMEOUT_MS);
      timer.unref();
      this.queries.set(id, { resolve, reject, timer });
      this.post({ t: 'describe', id, path, redact });
    });
  }

  private answerQuery(id: number, view: MachineView | undefined, error: unknown): void {
    const query = this.queries.get(id);
    if (query === undefined) return;
    this.queries.delete(id);
    clearTimeout(query.timer);
    // Bounded and redacted again where it is shown (describeAgent): the thread's word is not taken.
    if (view === undefined) query.reject(error);
    else query.resolve(view);
  }

  private failQueries(code: number): void {
    for (const query of this.queries.values()) {
      clearTimeout(query.timer);
      query.reject(new WorkerCrashError(this.threadId, `exited with code ${code} before it answered`));
    }
    this.queries.clear();
  }

  /** Hands a message to the thread; returns its delivery sequence number. */
  deliver(agent: HostedAgent, incarnation: string, message: AclMessage): number {
    const seq = ++this.seq;
    this.delivered.set(seq, agent);
    this.post({ t: 'deliver', seq, path: agent.path, incarnation, message });
    return seq;
  }

  /** Whether the thread began the delivery `seq` (it may be stuck in it, or done with it). */
  reached(seq: number): boolean {
    return Atomics.load(this.progress, STARTED) >= seq;
  }

  /** Forgets deliveries the thread has finished, all but the last (a loop it left behind in a timer is most likely its agent's). */
  private prune(): void {
    const finished = Atomics.load(this.progress, FINISHED);
    for (const seq of this.delivered.keys()) {
      if (seq >= finished) break;
      this.delivered.delete(seq);
    }
  }

  /**
   * The agent a stuck thread is busy with: the one whose message it began and did not finish,
   * else the one whose message it finished last (the loop is in code that message left
   * behind: a timer, a promise), else the one whose heartbeat noticed.
   */
  private culprit(noticedBy: HostedAgent): HostedAgent {
    const agent = this.busyWith();
    return agent !== undefined && this.agents.get(agent.path) === agent ? agent : noticedBy;
  }

  private busyWith(): HostedAgent | undefined {
    const started = Atomics.load(this.progress, STARTED);
    const finished = Atomics.load(this.progress, FINISHED);
    return this.delivered.get(started > finished ? started : finished);
  }

  /**
   * Ends the thread if it is stuck in `agent`'s code (a killed agent that never confirmed);
   * a thread merely busy with another agent's work gets to the stop in its turn.
   */
  terminateIfStuckIn(agent: HostedAgent, detail: string): void {
    if (this.busyWith() === agent) this.terminateHung(agent, detail);
  }

  /**
   * Ends a thread that stopped answering. The agent it is busy with (see `culprit`) is the
   * hung one; the others are failed and restarted by their supervisors elsewhere.
   */
  terminateHung(noticedBy: HostedAgent, detail: string): void {
    if (!this.alive || this.hung !== undefined || this.closing) return;
    this.hung = { agent: this.culprit(noticedBy), detail };
    this.hung.agent.process.reportHung(detail);
    this.runtime.logger.error({ thread: this.threadId, path: this.hung.agent.path }, `worker thread ${this.threadId} is terminated: ${this.hung.agent.path} is hung (${detail})`);
    void this.worker.terminate();
  }

  /**
   * The thread sent something the worker protocol does not allow (agent code can post
   * anything to its parent port): it is terminated, nothing it sends is heard any more, and
   * its agents fail as in a crash, so that their supervisors restart them on a fresh thread.
   */
  private protocolViolation(error: WorkerProtocolError): void {
    if (!this.alive || this.closing || this.hung !== undefined || this.violation !== undefined) return;
    this.violation = error;
    this.runtime.logger.error({ thread: this.threadId, agents: [...this.agents.keys()], err: error }, `${error.message}; the thread is terminated and its agents are restarted`);
    void this.worker.terminate();
  }

  private failAgents(code: number): void {
    if (this.closing && this.hung === undefined) return;
    const hung = this.hung;
    const crash = this.crashError(code);
    if (hung === undefined && this.violation === undefined) this.runtime.logger.error({ thread: this.threadId, err: this.lastError, agents: [...this.agents.keys()] }, crash.message);
    const agents = [...this.agents.values()];
    this.agents.clear();
    this.delivered.clear();
    for (const agent of agents) {
      if (agent === hung?.agent) agent.hostDied({ kind: 'hung', detail: hung.detail }, 'hung');
      else agent.hostDied({ kind: 'crash', error: crash }, 'agent-failed');
    }
  }

  /** Why the agents of the exited thread fail. */
  private crashError(code: number): WorkerCrashError {
    const hung = this.hung;
    if (hung !== undefined) return new WorkerCrashError(this.threadId, `was terminated because ${hung.agent.path} on it was hung (${hung.detail})`);
    const violation = this.violation;
    if (violation !== undefined) return new WorkerCrashError(this.threadId, `was terminated because it broke the worker protocol: ${violation.detail}`, { cause: violation });
    const error = this.lastError;
    return new WorkerCrashError(this.threadId, error === undefined ? `exited with code ${code}` : `crashed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }

  /**
   * What the thread sent, checked first like input from outside (see wire-check.ts). A thread
   * that breaks the protocol is terminated; nothing it sends ever throws here.
   */
  private onMessage(value: unknown): void {
    if (this.violation !== undefined) return;
    try {
      const message = checkFromWorker(value, this);
      this.lastHeard = Date.now();
      this.handle(message);
    } catch (error) {
      this.protocolViolation(error instanceof WorkerProtocolError ? error : new WorkerProtocolError(this.threadId, `a message that could not be handled (${error instanceof Error ? error.message : String(error)})`, { cause: error }));
    }
  }

  private handle(message: FromWorker): void {
    switch (message.t) {
      case 'handled':
        this.prune();
        this.agents.get(message.path)?.onWorker(message);
        return;
      case 'returned':
        this.prune();
        this.takeBack(message);
        return;
      case 'send':
        this.route(message.message);
        return;
      case 'log':
        this.replayLog(message.line);
        return;
      case 'described':
        this.answerQuery(message.id, message.view, message.error);
        return;
      case 'dead-letter':
        this.runtime.deadLetters.record(message.message, message.reason);
        return;
      default:
        this.agents.get(message.path)?.onWorker(message);
    }
  }

  /**
   * A message the thread gives back unhandled. What goes back into the mailbox is the
   * original that was handed over, never the thread's copy (which could carry any sender or
   * reply-to); a copy of a handover already written off (the agent was killed) is a dead letter.
   */
  private takeBack(returned: Extract<FromWorker, { t: 'returned' }>): void {
    const agent = this.agents.get(returned.path);
    const original = agent?.handedOver;
    const copy = returned.messages[0] as AclMessage;
    if (agent !== undefined && original !== undefined && sameMessage(original, copy)) {
      agent.onWorker({ ...returned, messages: [original] });
      return;
    }
    this.runtime.deadLetters.record(copy, 'stale-incarnation');
    agent?.onWorker({ ...returned, messages: [] });
  }

  /**
   * A message sent on the thread: by an agent placed there (wire-check.ts has made sure of
   * that) or a port's answer, delivered when it answers only what was asked (see
   * thread-authority.ts), else refused.
   */
  private route(message: AclMessage): void {
    if (message.sender.startsWith(PORT_PREFIX)) {
      const refusal = this.authority.portRefusal(message);
      if (refusal === undefined) this.runtime.deliver(message);
      else this.refuse(message, refusal);
      return;
    }
    const agent = this.agents.get(message.sender);
    // An agent no longer here (stopped, or given up on in a halt) had its requests answered then.
    if (agent === undefined) {
      this.runtime.deadLetters.record(message, 'stale-incarnation');
      return;
    }
    const refusal = this.authority.refusal(agent, message);
    const routed = this.authority.routed(agent, message);
    const verdict = agent.sent(routed);
    if (verdict !== 'deliver') this.runtime.deadLetters.record(routed, verdict === 'stale' ? 'stale-incarnation' : 'no-waiting-request');
    else if (refusal !== undefined) this.refuse(routed, refusal);
    else this.runtime.deliver(routed);
  }

  private refuse(message: AclMessage, why: string): void {
    this.runtime.logger.warn({ thread: this.threadId, sender: message.sender, receiver: message.receiver, conversationId: message.conversationId }, `worker thread ${this.threadId}: ${why}; it was refused (a dead letter)`);
    this.runtime.deadLetters.record(message, 'no-waiting-request');
  }

  private replayLog(line: string): void {
    const record = readThreadLog(line, this);
    this.runtime.logger[record.level](record.fields, record.msg);
  }
}
