import type { Logger } from 'pino';
import { answerAddress, type AclMessage } from '../acl/message.js';
import { closesConversation } from '../acl/performatives.js';
import type { AgentDefinition } from '../agent/define-agent.js';
import type { MachineView } from '../inspector/describe.js';
import { StartError, type AgentMetrics } from '../runtime/agent-cell.js';
import { Mailbox, type Settle } from '../runtime/mailbox.js';
import { OpenRequests } from '../runtime/open-requests.js';
import type { Runtime } from '../runtime/runtime.js';
import { describeExit, type AgentNode, type ExitReason, type NodeStatus, type ParentLink, type Shutdown } from '../runtime/tree.js';
import type { HostThread } from './host-thread.js';
import type { WorkerPool } from './pool.js';
import { fromWire, toWireExit, type FromWorker, type WireExit } from './protocol.js';

/** How long a killed agent's thread gets to confirm before it counts as stuck and is terminated. */
const KILL_GRACE_MS = 1_000;

/**
 * The main thread's stand-in for an agent placed on a worker thread. It keeps what the
 * address owns, exactly as an inline cell does: the mailbox (with its capacity and overflow
 * policy), the incarnation, the requests the agent owes an answer (so that a dying thread
 * still gets them answered `failure`) and the lifecycle events. The machine runs in a real
 * AgentCell on the thread, handed one message at a time; the next goes when it is handled.
 */
export class RemoteAgent implements AgentNode {
  readonly kind = 'agent';
  status: NodeStatus = 'stopped';
  incarnation: string | undefined;
  restarts = 0;
  onRestart: 'reset' | 'resume' = 'reset';
  input: unknown;
  readonly mailbox: Mailbox<AclMessage>;
  /** Messages the thread gave back unhandled (it was stopping), ahead of the mailbox. */
  private readonly returned: AclMessage[] = [];
  private host: HostThread | undefined;
  private ready = false;
  private inFlight: { readonly message: AclMessage; readonly incarnation: string; readonly seq: number } | undefined;
  private readonly open = new OpenRequests();
  private processed = 0;
  private processingMs = 0;
  private seenProcessed = -1;
  private stalledSince = 0;
  private pingSeq = 0;
  private ping: { readonly seq: number; readonly sentAt: number } | undefined;
  private reportedHung: string | undefined;
  private unresponsive = false;
  private isRestart = false;
  private stopping: Promise<void> | undefined;
  private stopReason: ExitReason = { kind: 'shutdown' };
  private stopDone: (() => void) | undefined;
  private haltDone: (() => void) | undefined;
  private logger: Logger | undefined;
  /**
   * How its first start ended, for createSystem to wait on as it waits on an inline agent's:
   * rejected with the StartError of a first start that failed on its thread, resolved once it
   * started there or ended in any other way (then its supervisor has it in hand).
   */
  readonly firstStart: Promise<void>;
  private settleFirstStart: ((error?: StartError) => void) | undefined;

  constructor(
    private readonly runtime: Runtime,
    private readonly pool: WorkerPool,
    readonly path: string,
    readonly id: string,
    readonly definition: AgentDefinition,
    private readonly parent: ParentLink,
  ) {
    this.mailbox = new Mailbox(definition.mailbox);
    this.input = definition.input;
    this.firstStart = new Promise<void>((resolve, reject) => {
      this.settleFirstStart = (error) => {
        this.settleFirstStart = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    // Only createSystem listens, and only while it starts the tree: later, a failed start is the supervisor's alone.
    this.firstStart.catch(() => undefined);
  }

  get log(): Logger {
    return (this.logger ??= this.runtime.logger.child({ path: this.path, agent: this.definition.name, incarnation: this.incarnation, placement: 'worker' }));
  }

  /** As an inline cell's: the queue is the mailbox here; processing time is measured on the thread. */
  get metrics(): AgentMetrics {
    return { queueDepth: this.mailbox.length + this.returned.length, processed: this.processed, processingMs: this.processingMs, restarts: this.restarts };
  }

  /** The thread it runs on, while it has one. */
  get threadId(): number | undefined {
    return this.host?.alive === true ? this.host.threadId : undefined;
  }

  /** For the inspector: its machine, described on its thread (none while it is not started there). */
  describeMachine(redact: readonly string[]): Promise<MachineView> {
    const host = this.host;
    if (this.status !== 'running' || !this.ready || host === undefined || !host.alive) return Promise.resolve({ state: null, context: null });
    return host.describe(this.path, redact);
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /** Starts a new incarnation on a thread; it takes messages once the thread has started it. */
  start(): void {
    const module = this.definition.module as string;
    this.incarnation = this.runtime.newIncarnation();
    this.logger = undefined;
    this.stopping = undefined;
    this.stopDone = undefined;
    this.ready = false;
    this.ping = undefined;
    this.reportedHung = undefined;
    this.unresponsive = false;
    this.seenProcessed = -1;
    this.openOnlyHeldOver();
    this.status = 'running';
    this.runtime.register(this);
    try {
      this.host = this.pool.place(this, this.host, module);
      const hasInput = this.input !== this.definition.input;
      this.host.post({ t: 'start', path: this.path, id: this.id, module, name: this.definition.name, incarnation: this.incarnation, onRestart: this.onRestart, hasInput, input: hasInput ? this.input : undefined });
    } catch (error) {
      // Input that cannot cross a thread (a function, a class instance) fails the start here.
      this.status = 'restarting';
      const failed = new StartError(this.path, error);
      this.settleFirstStart?.(failed);
      throw failed;
    }
  }

  /**
   * A new incarnation owes nothing, except the request its thread was handling when the last
   * one ended with the thread alive (a halt given up on): that thread still answers it, hands
   * it back, or dies with it, and until then it is open here.
   */
  private openOnlyHeldOver(): void {
    const held = this.inFlight?.message;
    const stillOpen = held?.replyWith !== undefined && this.open.delete(answerAddress(held), held.replyWith);
    this.open.clear();
    if (stillOpen) this.open.add(held);
  }

  restart(): void {
    this.restarts++;
    this.isRestart = true;
    this.start();
  }

  markRestarting(): void {
    if (this.status === 'stopped') this.status = 'restarting';
  }

  stop(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    if (this.stopping !== undefined) {
      if ((shutdown === 'brutal' || shutdown === 0) && this.status !== 'stopped') this.kill(reason);
      return this.stopping;
    }
    const host = this.host;
    // Not started on its thread yet (it may still be booting): nothing there to wait for.
    if (this.status !== 'running' || !this.ready || host === undefined || !host.alive) {
      if (host?.alive === true) host.post({ t: 'stop', path: this.path, shutdown: 'brutal', reason: toWireExit(reason) });
      this.finish(reason);
      return (this.stopping = Promise.resolve());
    }
    this.status = 'stopping';
    this.stopReason = reason;
    this.stopping = new Promise((resolve) => (this.stopDone = resolve));
    host.post({ t: 'stop', path: this.path, shutdown, reason: toWireExit(reason) });
    if (shutdown === 'brutal' || shutdown === 0) this.kill(reason);
    else if (typeof shutdown === 'number') this.killAfter(shutdown, () => this.kill({ kind: 'killed', detail: 'shutdown time ran out' }));
    return this.stopping;
  }

  /** A thread that has not confirmed within the shutdown time (it may be stuck in a loop) does not hold up the stop. */
  private killAfter(ms: number, kill: () => void): void {
    const timer = setTimeout(() => {
      if (this.status === 'stopping') kill();
    }, ms);
    timer.unref();
    const done = this.stopDone;
    this.stopDone = () => {
      clearTimeout(timer);
      done?.();
    };
  }

  /** Stops now without waiting for the thread; a thread that does not confirm soon is stuck and ends. */
  private kill(reason: ExitReason): void {
    const host = this.host;
    this.finish(reason);
    if (host === undefined || !host.alive) return;
    const stuck = setTimeout(() => host.terminateIfStuckIn(this, `it did not stop within ${KILL_GRACE_MS} ms of being killed`), KILL_GRACE_MS);
    stuck.unref();
    this.confirmKill = () => clearTimeout(stuck);
  }

  private confirmKill: (() => void) | undefined;

  halt(shutdown: Shutdown, reason: ExitReason): Promise<void> {
    const host = this.host;
    if (this.status !== 'running') return Promise.resolve();
    if (host === undefined || !host.alive || !this.ready) {
      host?.post({ t: 'halt', path: this.path, shutdown: 0, reason: toWireExit(reason) });
      this.afterHalt();
      return Promise.resolve();
    }
    this.status = 'stopping';
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.haltDone = () => {
        clearTimeout(timer);
        resolve();
      };
      host.post({ t: 'halt', path: this.path, shutdown: shutdown === 'brutal' ? 0 : shutdown, reason: toWireExit(reason) });
      // Halted here at once (brutal) or after the shutdown time; a thread that never confirms is stuck and ends.
      const giveUp = (): void => {
        if (this.haltDone === undefined) return;
        this.afterHalt();
        const stuck = setTimeout(() => host.terminateIfStuckIn(this, 'it did not stop within its shutdown time'), KILL_GRACE_MS);
        stuck.unref();
        this.confirmKill = () => clearTimeout(stuck);
      };
      if (shutdown === 'brutal' || shutdown === 0) giveUp();
      else if (typeof shutdown === 'number') timer = setTimeout(giveUp, shutdown);
    });
  }

  private afterHalt(): void {
    const incarnation = this.incarnation ?? '';
    if (this.status === 'stopping' || this.status === 'running') this.status = 'restarting';
    this.ready = false;
    this.answerOpen('agent-restarting', `agent ${this.path} was restarted`, incarnation, true);
    const done = this.haltDone;
    this.haltDone = undefined;
    done?.();
  }

  /**
   * Liveness across the thread: a ping the thread must answer within `timeoutMs` (a thread
   * in a CPU loop cannot), the agent's own check there (a `busy` state held too long), and,
   * here, messages waiting while none is handled.
   */
  checkLiveness(now: number, timeoutMs: number): string | undefined {
    const host = this.host;
    // Not before the thread has started it: booting a thread and importing modules is not a hang.
    if (this.status !== 'running' || host === undefined || !host.alive || !this.ready) return undefined;
    if (this.ping === undefined) {
      this.ping = { seq: ++this.pingSeq, sentAt: now };
      host.post({ t: 'ping', path: this.path, seq: this.ping.seq, timeoutMs });
    } else if (now - Math.max(this.ping.sentAt, host.lastHeard) >= timeoutMs) {
      // Silent for timeoutMs: no pong and no other sign of progress (a handled message) either.
      this.unresponsive = true;
      return `worker thread ${host.threadId} answered no heartbeat ping and made no progress for ${now - Math.max(this.ping.sentAt, host.lastHeard)} ms`;
    }
    const hung = this.reportedHung;
    this.reportedHung = undefined;
    if (hung !== undefined) return hung;
    if (this.mailbox.length === 0 || this.processed !== this.seenProcessed) {
      this.seenProcessed = this.processed;
      this.stalledSince = now;
    } else if (now - this.stalledSince >= timeoutMs) {
      return `no message handled for ${now - this.stalledSince} ms while ${this.mailbox.length} waited`;
    }
    return undefined;
  }

  /**
   * Hung: a thread that stopped answering is terminated (the only way to end a busy loop),
   * and the agent it was busy with is the hung one; otherwise the agent is ended on its thread.
   */
  hang(detail: string): void {
    const host = this.host;
    if (this.status !== 'running' || host === undefined) return;
    if (this.unresponsive) {
      host.terminateHung(this, detail);
      return;
    }
    this.reportHung(detail);
    host.post({ t: 'hang', path: this.path, detail });
  }

  reportHung(detail: string): void {
    this.runtime.emit({ type: 'hung', path: this.path, incarnation: this.incarnation ?? '', detail, at: Date.now() });
  }

  /**
   * Its thread died. Everything it owed is answered `failure` now, and its supervisor
   * decides; a message handed over that the thread never reached goes back to the front of
   * the mailbox for the next incarnation.
   */
  hostDied(reason: ExitReason, failureReason: string): void {
    const host = this.host;
    this.host = undefined;
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    if (inFlight !== undefined && host !== undefined && !host.reached(inFlight.seq)) {
      const message = inFlight.message;
      if (message.replyWith !== undefined) this.open.delete(answerAddress(message), message.replyWith);
      this.returned.unshift(message);
    }
    this.confirmKill?.();
    if (this.status === 'stopped') return;
    if (this.status === 'restarting') {
      // Between incarnations: only a request held over from the last one can be open.
      this.answerOpen(failureReason, `agent ${this.path} failed: ${describeExit(reason)}`, this.incarnation ?? '', false);
      return;
    }
    if (this.stopping !== undefined) {
      this.finish(this.stopReason);
      return;
    }
    if (this.haltDone !== undefined) {
      this.afterHalt();
      return;
    }
    this.exit(reason, failureReason, false);
  }

  private exit(reason: ExitReason, failureReason: string, threadAlive: boolean): void {
    if (this.status !== 'running' && this.status !== 'stopping') return;
    this.settleFirstStart?.();
    const incarnation = this.incarnation ?? '';
    this.status = 'restarting';
    this.ready = false;
    const detail = `agent ${this.path} ${reason.kind === 'normal' ? 'reached a final state' : `failed: ${describeExit(reason)}`}`;
    this.answerOpen(failureReason, detail, incarnation, threadAlive);
    if (reason.kind !== 'normal') {
      // An agent that failed on a live thread was logged there already, with its conversation.
      if (!threadAlive || reason.kind === 'crash' && reason.error instanceof StartError) this.log.error({ incarnation, err: reason.kind === 'crash' ? reason.error : undefined }, detail);
      this.runtime.emit({ type: 'failed', path: this.path, kind: 'agent', incarnation, reason: describeExit(reason), at: Date.now() });
    }
    // Ended on its own while being stopped: the stop is complete (as inline).
    if (this.stopping !== undefined) this.finish(this.stopReason);
    else this.parent.childExited(this, reason);
  }

  /**
   * Answers what this incarnation owed. With the thread alive, the message handed over last
   * is left out: the thread says next whether it handled it or gives it back.
   */
  private answerOpen(reason: string, detail: string, incarnation: string, threadAlive: boolean): void {
    const pending = threadAlive ? this.inFlight?.message : undefined;
    for (const request of this.open.takeAll()) {
      if (request === pending) this.open.add(request);
      else this.runtime.answerFailure(request, reason, detail, this.path, incarnation);
    }
  }

  private finish(reason: ExitReason): void {
    if (this.status === 'stopped') return;
    this.settleFirstStart?.();
    const incarnation = this.incarnation ?? '';
    this.status = 'stopped';
    this.ready = false;
    this.inFlight = undefined;
    if (this.host?.agents.get(this.path) === this) this.host.agents.delete(this.path);
    this.answerOpen('agent-stopped', `agent ${this.path} stopped (${describeExit(reason)})`, incarnation, false);
    for (const message of [...this.returned.splice(0), ...this.mailbox.takeAll()]) this.runtime.reject(message, 'agent-stopped', 'agent-stopped', `agent ${this.path} stopped before handling the message`);
    this.runtime.unregister(this);
    this.runtime.emit({ type: 'stopped', path: this.path, kind: 'agent', incarnation, reason: describeExit(reason), at: Date.now() });
    this.runtime.notifyTerminated(this.path, incarnation, reason);
    const done = this.stopDone;
    this.stopDone = undefined;
    done?.();
    // Stopped for good during a group restart's halt: that halt is over too.
    const halted = this.haltDone;
    this.haltDone = undefined;
    halted?.();
  }

  // ---- messages --------------------------------------------------------------------------

  /** Takes a message into the mailbox, applying the overflow policy, as an inline cell does. */
  enqueue(message: AclMessage, settle?: Settle): 'queued' | 'waiting' | 'refused' {
    const outcome = this.runtime.admit(this.mailbox, this.path, message, settle);
    if (outcome === 'queued') this.pump();
    return outcome;
  }

  /** Hands the next message to the thread when the agent is started there and not busy with one. */
  private pump(): void {
    const host = this.host;
    if (!this.ready || this.inFlight !== undefined || this.status !== 'running' || host === undefined) return;
    const message = this.returned.shift() ?? this.mailbox.shift();
    if (message === undefined) return;
    const incarnation = this.incarnation as string;
    if (message.replyWith !== undefined) this.open.add(message);
    this.inFlight = { message, incarnation, seq: host.deliver(this, incarnation, message) };
  }

  /**
   * Whether a message sent on the thread by `incarnation` still speaks for this agent: its
   * incarnation not ended here. (The runtime's own answers there, `not-understood`, name none.)
   */
  speaksFor(incarnation: string | undefined): boolean {
    return (incarnation === undefined || incarnation === this.incarnation) && (this.status === 'running' || this.status === 'stopping');
  }

  /** An answer from an ended incarnation to the request held over from it (see openOnlyHeldOver): the one answer it gets. */
  takesLateAnswer(message: AclMessage): boolean {
    return message.inReplyTo !== undefined && closesConversation(message.performative) && this.open.delete(message.receiver, message.inReplyTo);
  }

  /** A message this agent sent from its thread: an answer closes the request it owed. */
  noteOutbound(message: AclMessage): void {
    if (message.inReplyTo !== undefined && closesConversation(message.performative)) this.open.delete(message.receiver, message.inReplyTo);
    // Forwarding with the asker as reply-to hands the answer over, as inline.
    if (message.replyWith !== undefined && message.replyTo !== undefined) this.open.delete(message.replyTo, message.replyWith);
  }

  onWorker(event: FromWorker): void {
    switch (event.t) {
      case 'started':
        if (event.incarnation !== this.incarnation || this.status !== 'running') return;
        this.ready = true;
        this.settleFirstStart?.();
        this.runtime.emit({ type: 'started', path: this.path, kind: 'agent', incarnation: event.incarnation, at: Date.now() });
        if (this.isRestart) this.runtime.emit({ type: 'restarted', path: this.path, kind: 'agent', incarnation: event.incarnation, restarts: this.restarts, at: Date.now() });
        this.isRestart = false;
        this.pump();
        return;
      case 'start-failed': {
        if (event.incarnation !== this.incarnation) return;
        const failed = new StartError(this.path, event.error);
        this.settleFirstStart?.(failed);
        this.exit({ kind: 'crash', error: failed }, 'agent-failed', true);
        return;
      }
      case 'handled':
        if (this.inFlight?.incarnation === event.incarnation) {
          this.inFlight = undefined;
          this.processed++;
          this.processingMs += event.ms;
        }
        this.pump();
        return;
      case 'returned':
        this.takeBack(event.incarnation, event.messages);
        return;
      case 'exited':
        if (event.incarnation === this.incarnation) this.exit(event.reason, failureReasonOf(event.reason), true);
        return;
      case 'halted':
        this.confirmKill?.();
        this.confirmKill = undefined;
        if (this.haltDone !== undefined) this.afterHalt();
        return;
      case 'stopped':
        this.confirmKill?.();
        this.confirmKill = undefined;
        if (this.status === 'stopping' && this.haltDone === undefined) this.finish(this.stopReason);
        return;
      case 'pong':
        if (this.ping?.seq !== event.seq) return;
        this.ping = undefined;
        if (event.hung !== undefined) this.reportedHung = event.hung;
        return;
    }
  }

  /** Messages the thread did not handle go back to the front of the line, for the next incarnation. */
  private takeBack(incarnation: string, wire: readonly AclMessage[]): void {
    const inFlight = this.inFlight;
    const messages = wire.map(fromWire);
    if (inFlight?.incarnation === incarnation) {
      this.inFlight = undefined;
    }
    for (const message of messages) if (message.replyWith !== undefined) this.open.delete(answerAddress(message), message.replyWith);
    if (this.status === 'stopped') {
      // Handed over, so open when the agent stopped: answered `failure` then already.
      for (const message of messages) this.runtime.deadLetters.record(message, 'agent-stopped');
      return;
    }
    this.returned.unshift(...messages);
    this.pump();
  }
}

function failureReasonOf(reason: WireExit): string {
  return reason.kind === 'hung' ? 'hung' : reason.kind === 'normal' ? 'agent-stopped' : 'agent-failed';
}
