import { closesConversation } from '../acl/performatives.js';
import type { AclMessage } from '../acl/message.js';
import type { MachineView, ViewRules } from '../inspector/describe.js';
import { StartError, type AgentProcess } from '../runtime/agent-process.js';
import type { Executor } from '../runtime/executor.js';
import { describeExit, type ExitReason, type Shutdown } from '../runtime/tree.js';
import type { HostedAgent, HostThread } from './host-thread.js';
import type { WorkerPool } from './pool.js';
import { fromWire, toWireExit, type FromWorker, type WireExit } from './protocol.js';

/** How long a killed agent's thread gets to confirm before it counts as stuck and is terminated. */
const KILL_GRACE_MS = 1_000;
const KILLED: ExitReason = Object.freeze({ kind: 'killed', detail: 'shutdown time ran out' });

/**
 * Runs an agent's machine on a worker thread. The machine lives in an agent process on the
 * thread, handed one message at a time (the next goes when it is handled); this side keeps
 * the handover, the heartbeat pings across the thread, and the confirmations of starts,
 * halts and stops, with a watchdog that terminates a thread stuck in this agent's code.
 */
export class ThreadExecutor implements Executor, HostedAgent {
  readonly placement = 'worker';
  readonly where = 'a worker thread';
  private host: HostThread | undefined;
  /** Started on its thread (the thread said so) and not ended since. */
  private ready = false;
  /** An incarnation may be running on the thread: a start was posted and no end confirmed. */
  private running = false;
  private inFlight: { readonly message: AclMessage; readonly incarnation: string; readonly seq: number } | undefined;
  private pingSeq = 0;
  private ping: { readonly seq: number; readonly sentAt: number } | undefined;
  private reportedHung: string | undefined;
  private unresponsive = false;
  /** The end (stop or halt) the thread has not confirmed yet. */
  private ending: { readonly mode: 'stop' | 'halt'; readonly resolve: (killed: ExitReason | undefined) => void } | undefined;
  private endTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly process: AgentProcess,
    private readonly pool: WorkerPool,
  ) {}

  get path(): string {
    return this.process.path;
  }

  get live(): boolean {
    return this.ready && this.host?.alive === true;
  }

  get handedOver(): AclMessage | undefined {
    return this.inFlight?.message;
  }

  /** The thread it runs on, while it has one. */
  get threadId(): number | undefined {
    return this.host?.alive === true ? this.host.threadId : undefined;
  }

  /** Its machine runs on another thread: no snapshot here (see describeMachine). */
  snapshot(): undefined {
    return undefined;
  }

  /** For the inspector: its machine, described on its thread (none while it is not started there). */
  describeMachine(redact: ViewRules): Promise<MachineView> {
    const host = this.host;
    if (this.process.lifecycle.kind !== 'running' || !this.ready || host === undefined || !host.alive) return Promise.resolve({ state: null, context: null });
    return host.describe(this.path, redact);
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /** Posts the start; the thread answers `started` or `start-failed`. */
  start(incarnation: string): boolean {
    const process = this.process;
    const definition = process.definition;
    const module = definition.module as string;
    this.ready = false;
    this.ping = undefined;
    this.reportedHung = undefined;
    this.unresponsive = false;
    this.host = this.pool.place(this, this.host, module);
    const hasInput = process.input !== definition.input;
    // Input that cannot cross a thread (a function, a class instance) fails the start here.
    this.host.post({ t: 'start', path: process.path, id: process.id, module, name: definition.name, incarnation, onRestart: process.onRestart, hasInput, input: hasInput ? process.input : undefined });
    this.running = true;
    return false;
  }

  end(mode: 'stop' | 'halt', shutdown: Shutdown, reason: ExitReason): 'ended' | Promise<ExitReason | undefined> {
    const host = this.host;
    const ready = this.ready;
    this.ready = false;
    // A stop that does not wait (or finds nothing started to wait for) is the process's kill: see kill().
    if (mode === 'stop' && (!ready || shutdown === 'brutal' || shutdown === 0)) return 'ended';
    if (host === undefined || !host.alive) return 'ended';
    const waits = ready && shutdown !== 'brutal' && shutdown !== 0;
    host.post({ t: mode, path: this.path, shutdown: waits ? shutdown : mode === 'stop' ? 'brutal' : 0, reason: toWireExit(reason) });
    if (!waits) {
      if (ready) this.armWatchdog(host, `it did not stop within ${KILL_GRACE_MS} ms of being killed`);
      return 'ended';
    }
    return new Promise((resolve) => {
      this.ending = {
        mode,
        resolve: (killed) => {
          this.ending = undefined;
          clearTimeout(this.endTimer);
          this.endTimer = undefined;
          resolve(killed);
        },
      };
      // A thread that has not confirmed within the shutdown time (it may be stuck in a loop) does not hold up the end.
      if (typeof shutdown === 'number') {
        this.endTimer = setTimeout(() => {
          this.ending?.resolve(KILLED);
          // A given-up halt leaves the thread running the old incarnation: watch it (a stop's kill does).
          if (mode === 'halt') this.armWatchdog(host, 'it did not stop within its shutdown time');
        }, shutdown);
        this.endTimer.unref();
      }
    });
  }

  /** The thread's process drains too (its machine hears `troupe.stopping`). */
  drain(): void {
    if (this.ready) this.host?.post({ t: 'drain', path: this.path });
  }

  /** Stops waiting for the thread to confirm the end: a watchdog ends the thread if it is stuck in this agent. */
  cutShort(reason: ExitReason): void {
    const host = this.host;
    if (this.ending === undefined || host === undefined) return;
    this.ending.resolve(reason);
    this.armWatchdog(host, 'it was hung while it was being stopped');
  }

  /** Stopped for good: a thread that still runs the incarnation is told to stop now, and watched. */
  kill(): void {
    this.ending?.resolve(undefined);
    this.ready = false;
    // A handover still out is answered by the process now; the thread gives it back or finishes it.
    this.inFlight = undefined;
    const host = this.host;
    if (host?.agents.get(this.path) === this) host.agents.delete(this.path);
    if (!this.running || host === undefined || !host.alive) return;
    host.post({ t: 'stop', path: this.path, shutdown: 'brutal', reason: toWireExit({ kind: 'shutdown' }) });
    this.armWatchdog(host, `it did not stop within ${KILL_GRACE_MS} ms of being killed`);
  }

  /** Terminates the thread if it has not confirmed the end within KILL_GRACE_MS and is stuck in this agent's code. */
  private armWatchdog(host: HostThread, detail: string): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => host.terminateIfStuckIn(this, detail), KILL_GRACE_MS);
    this.watchdog.unref();
  }

  /** The thread confirmed a stop or a halt (or died): the watchdog is off, a wait for that end is over. */
  private confirmEnded(mode: 'stop' | 'halt'): void {
    if (mode === 'stop') this.running = false;
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    if (this.ending?.mode === mode) this.ending.resolve(undefined);
  }

  /**
   * Liveness across the thread: a ping the thread must answer within `timeoutMs` (a thread in
   * a CPU loop cannot) and the agent's own check there (a `busy` state held too long).
   */
  liveness(now: number, timeoutMs: number): string | undefined {
    const host = this.host as HostThread;
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
    return hung;
  }

  /**
   * Hung: a thread that stopped answering is terminated (the only way to end a busy loop),
   * and the agent it was busy with is the hung one; otherwise the agent is ended on its thread.
   */
  hang(detail: string): void {
    const host = this.host;
    if (host === undefined) return;
    if (this.unresponsive) {
      host.terminateHung(this, detail);
      return;
    }
    this.process.reportHung(detail);
    host.post({ t: 'hang', path: this.path, detail });
  }

  /**
   * Its thread died. Everything it owed is answered `failure` by the process, and its
   * supervisor decides; a message handed over that the thread never reached goes back to the
   * front of the mailbox for the next incarnation.
   */
  hostDied(reason: ExitReason, failureReason: string): void {
    const host = this.host;
    this.host = undefined;
    this.ready = false;
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    this.running = false;
    this.confirmEnded(this.ending?.mode ?? 'stop');
    if (inFlight !== undefined && host !== undefined && !host.reached(inFlight.seq)) this.process.giveBack([inFlight.message]);
    const state = this.process.lifecycle.kind;
    // Between incarnations: only a request held over from the last one can be open.
    if (state === 'restarting') this.process.answerOpen(failureReason, `agent ${this.path} failed: ${describeExit(reason)}`);
    else if (state !== 'stopped' && state !== 'halting' && state !== 'stopping') this.process.exited(reason, { failureReason });
  }

  // ---- messages --------------------------------------------------------------------------

  /** Hands the next message to the thread when the agent is started there and not busy with one. */
  wake(): void {
    const host = this.host;
    const process = this.process;
    if (!this.ready || this.inFlight !== undefined || process.lifecycle.kind !== 'running' || process.blockedOn > 0 || host === undefined) return;
    const message = process.take();
    if (message === undefined) return;
    const incarnation = process.incarnation as string;
    process.accept(message);
    this.inFlight = { message, incarnation, seq: host.deliver(this, incarnation, message) };
  }

  /**
   * A message this agent sent from its thread. It speaks for the agent while its incarnation
   * runs here; after that, only as the one answer to the request held over from it. False
   * when it speaks for nobody (the caller records it as a dead letter).
   */
  sent(message: AclMessage): 'deliver' | 'stale' | 'answered' {
    const process = this.process;
    const state = process.lifecycle.kind;
    const current = (message.senderIncarnation === undefined || message.senderIncarnation === process.incarnation) && state !== 'stopped' && state !== 'restarting';
    if (current) return process.noteSent(message) ? 'deliver' : 'answered';
    const lateAnswer = message.inReplyTo !== undefined && closesConversation(message.performative) && process.open.delete(message.receiver, message.inReplyTo);
    return lateAnswer ? 'deliver' : 'stale';
  }

  onWorker(event: FromWorker): void {
    const process = this.process;
    switch (event.t) {
      case 'started':
        if (event.incarnation !== process.incarnation || process.lifecycle.kind !== 'starting') return;
        this.ready = true;
        process.started();
        return;
      case 'start-failed':
        if (event.incarnation !== process.incarnation) return;
        this.ready = false;
        this.running = false;
        process.startFailed(new StartError(this.path, event.error));
        return;
      case 'handled':
        if (this.inFlight?.incarnation === event.incarnation) {
          this.inFlight = undefined;
          process.noteHandled(event.ms);
        }
        this.wake();
        return;
      case 'returned':
        if (this.inFlight?.incarnation === event.incarnation) this.inFlight = undefined;
        process.giveBack(event.messages.map(fromWire));
        return;
      case 'exited':
        if (event.incarnation !== process.incarnation) return;
        this.ready = false;
        this.running = false;
        // Logged on its thread already, with its conversation.
        process.exited(event.reason, { failureReason: failureReasonOf(event.reason), logged: true });
        return;
      case 'halted':
        this.confirmEnded('halt');
        return;
      case 'stopped':
        this.confirmEnded('stop');
        return;
      case 'pong':
        if (this.ping?.seq !== event.seq) return;
        this.ping = undefined;
        if (event.hung !== undefined) this.reportedHung = event.hung;
        return;
    }
  }
}

function failureReasonOf(reason: WireExit): string {
  return reason.kind === 'hung' ? 'hung' : reason.kind === 'normal' ? 'agent-stopped' : 'agent-failed';
}
