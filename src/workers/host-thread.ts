import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { AclMessage } from '../acl/message.js';
import { ASK_PREFIX, PORT_PREFIX } from '../runtime/addresses.js';
import type { MachineView, ViewRules } from '../inspector/describe.js';
import type { Kernel } from '../runtime/kernel.js';
import type { ExitReason } from '../runtime/tree.js';
import type { DeadLetterReason } from '../runtime/dead-letters.js';
import { FINISHED, fromWire, STARTED, type FromWorker, type ToWorker } from './protocol.js';
import type { WorkerData } from './worker-host.js';
import { WorkerBusyError, WorkerCrashError } from './worker-errors.js';

export interface HostThreadOptions {
  readonly entry: URL;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly onExit: (host: HostThread) => void;
}

/** An agent placed on a thread, as the thread's host sees it (the thread executor). */
export interface HostedAgent {
  readonly path: string;
  readonly process: { reportHung(detail: string): void };
  /** A message from the thread about this agent. */
  onWorker(event: FromWorker): void;
  /** The thread died (or was terminated) with this agent on it. */
  hostDied(reason: ExitReason, failureReason: string): void;
  /** A message the agent sent on its thread: whether it speaks for the agent (see ThreadExecutor.sent). */
  sent(message: AclMessage): 'deliver' | 'stale' | 'answered';
}

/** How long an inspector query about an agent waits for its thread. */
const QUERY_TIMEOUT_MS = 5_000;

const LEVELS: Readonly<Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * One worker thread as the main thread sees it: the agents placed on it, the messages to
 * and from it, and its death, which fails every agent it hosted.
 */
export class HostThread {
  readonly worker: Worker;
  readonly threadId: number;
  /** Hosted agents by path. */
  readonly agents = new Map<string, HostedAgent>();
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
    this.worker.on('message', (message: FromWorker) => this.onMessage(message));
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
    if (this.alive) this.worker.postMessage(command);
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


  private failAgents(code: number): void {
    if (this.closing && this.hung === undefined) return;
    const hung = this.hung;
    const crash =
      hung !== undefined
        ? new WorkerCrashError(this.threadId, `was terminated because ${hung.agent.path} on it was hung (${hung.detail})`)
        : new WorkerCrashError(this.threadId, this.lastError === undefined ? `exited with code ${code}` : `crashed: ${this.lastError instanceof Error ? this.lastError.message : String(this.lastError)}`, { cause: this.lastError });
    if (hung === undefined) this.runtime.logger.error({ thread: this.threadId, err: this.lastError, agents: [...this.agents.keys()] }, crash.message);
    const agents = [...this.agents.values()];
    this.agents.clear();
    this.delivered.clear();
    for (const agent of agents) {
      if (agent === hung?.agent) agent.hostDied({ kind: 'hung', detail: hung.detail }, 'hung');
      else agent.hostDied({ kind: 'crash', error: crash }, 'agent-failed');
    }
  }

  private onMessage(message: FromWorker): void {
    this.lastHeard = Date.now();
    switch (message.t) {
      case 'handled':
      case 'returned':
        this.prune();
        this.agents.get(message.path)?.onWorker(message);
        return;
      case 'send':
        this.route(fromWire(message.message));
        return;
      case 'log':
        this.replayLog(message.line);
        return;
      case 'described':
        this.answerQuery(message.id, message.view, message.error);
        return;
      case 'dead-letter':
        this.runtime.deadLetters.record(fromWire(message.message), message.reason as DeadLetterReason);
        return;
      default:
        this.agents.get(message.path)?.onWorker(message);
    }
  }

  /**
   * A message an agent here sent. It speaks only for the agents this thread hosts; its ask
   * addresses name this thread, so answers find their way back.
   */
  private route(message: AclMessage): void {
    let routed = message;
    const replyTo = message.replyTo;
    if (replyTo !== undefined && replyTo.startsWith(ASK_PREFIX) && !replyTo.includes('.')) {
      routed = Object.freeze({ ...message, replyTo: `${ASK_PREFIX}w${this.threadId}.${replyTo.slice(ASK_PREFIX.length)}` });
    }
    // A port's answers (a closed or unknown port there) come from the thread's runtime, not an agent.
    if (!message.sender.startsWith(PORT_PREFIX)) {
      // An agent no longer here (stopped, or given up on in a halt) had its requests answered then.
      const verdict = this.agents.get(message.sender)?.sent(routed) ?? 'stale';
      if (verdict !== 'deliver') {
        this.runtime.deadLetters.record(routed, verdict === 'stale' ? 'stale-incarnation' : 'no-waiting-request');
        return;
      }
    }
    this.runtime.deliver(routed);
  }

  private replayLog(line: string): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.runtime.logger.warn({ thread: this.threadId, line }, 'a worker thread wrote a log line that is not JSON');
      return;
    }
    const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = record;
    const label = LEVELS[level as number] ?? 'info';
    this.runtime.logger[label](fields, typeof msg === 'string' ? msg : '');
  }
}
