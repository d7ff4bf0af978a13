import type { AnyStateNode, EventObject } from 'xstate';
import { validateContent } from '../acl/content-schemas.js';
import { freezeContent } from '../acl/content.js';
import { answerAddress, answerIncarnation, checkMessageOptions, createMessage, withContent, type AclMessage, type MessageOptions } from '../acl/message.js';
import { expectsReply, type Performative } from '../acl/performatives.js';
import { acceptanceOf, handlingOf, type Acceptance } from '../agent/accepted-events.js';
import { OUTBOUND, STOPPING, type OutboundEvent } from '../agent/actions.js';
import { ASK_HOST, type AskHost, type AskInput } from '../agent/ask.js';
import { PROTOCOL_HOST, type ProtocolHost } from '../agent/protocol-host.js';
import type { AgentProcess } from './agent-process.js';
import { StartError } from './agent-process.js';
import { ReplyError } from '../acl/reply-errors.js';
import { ConfigurationError } from './errors.js';
import { DEFAULT_ASK_TIMEOUT_MS } from './timeouts.js';
import type { TimerHandle } from './clock.js';
import type { Executor } from './executor.js';
import type { Port, PortListener } from './ports.js';
import type { Terminated } from './watchers.js';
import type { Runnable } from './scheduler.js';
import type { SystemEvent } from './system-events.js';
import type { ExitReason, Shutdown } from './tree.js';
import { activeNodes, ActorHost, holdOwnEvents, hostActor, releaseOwnEvents, sendOwnEvent, stopActor, type HostedActor, type HostedSnapshot } from './xstate-adapter.js';

const KILLED: ExitReason = Object.freeze({ kind: 'killed', detail: 'shutdown time ran out' });

/**
 * Runs an agent's machine on this thread: the XState host. It creates an actor per
 * incarnation (standing as its XState parent, which is how it hears of crashes and final
 * states without an observer per agent), hands it the process's messages in scheduler turns
 * after checking what the current state accepts and the content, routes what the machine
 * emits, and answers `ask` and protocol logic invoked inside the machine.
 */
export class InlineExecutor extends ActorHost implements Executor, Runnable, AskHost, ProtocolHost {
  readonly placement = 'inline';
  readonly where = 'this thread';
  queued = false;
  private actor: HostedActor | undefined;
  /** Conversation ports this incarnation opened (see openPort). */
  private ports: Set<Port> | undefined;
  private lamport = 0;
  private inTurn = false;
  private failure: { error: unknown; conversationId: string | undefined } | undefined;
  /** The message the machine is handling right now (for logs). */
  private current: AclMessage | undefined;
  private acceptNodes: readonly AnyStateNode[] | undefined;
  private acceptance: Acceptance | undefined;
  /** XState events (delayed events, invoked children finishing, sendTo) held while suspended; undefined when not suspended. */
  private held: EventObject[] | undefined;
  /** Snapshot before the message being handled: what `onRestart: 'resume'` restarts from. */
  private lastGoodSnapshot: unknown;
  /** Ends a graceful end's wait at once: undefined when the process was killed, a reason when cut short. */
  private endWait: ((killed?: ExitReason) => void) | undefined;
  // Liveness of a busy state. Progress is what shows real work: the machine moving to other
  // states, or anything but a message changing it (a timer, invoked work finishing); a message
  // merely taken in (a targetless transition) is not, or a hung agent that keeps accepting
  // requests would never be found hung while traffic flows.
  private progress = 0;
  /** The snapshot the last message left (changes from it that no message made are progress). */
  private afterMessage: unknown;
  private progressSeen: unknown;
  private busyProgress = -1;
  private busySince = 0;

  constructor(private readonly process: AgentProcess) {
    super();
  }

  // ---- the XState parent of the agent's actor (see ActorHost) ---------------------------

  /** Found by `ask` and protocol logic walking up from an invoked actor (on the prototype: no field per agent). */
  get [ASK_HOST](): AskHost {
    return this;
  }

  get [PROTOCOL_HOST](): ProtocolHost {
    return this;
  }

  get system(): unknown {
    return this.process.runtime.xsystem;
  }

  protected actorFailed(error: unknown): void {
    this.noteFailure(error);
  }

  protected actorFinished(): void {
    this.noteFinalState();
  }

  protected actorSentParent(type: string): void {
    this.process.log.warn({ event: type }, 'sendParent is not part of Troupe messaging; use tell() or reply()');
  }

  get live(): boolean {
    return this.actor !== undefined;
  }

  get handedOver(): undefined {
    return undefined;
  }

  snapshot(): unknown {
    return this.actor?.getSnapshot();
  }

  // ---- lifecycle -----------------------------------------------------------------------

  start(_incarnation: string, isRestart: boolean): boolean {
    const process = this.process;
    const resumeFrom = isRestart && process.onRestart === 'resume' ? this.lastGoodSnapshot : undefined;
    this.lastGoodSnapshot = undefined;
    this.failure = undefined;
    this.acceptNodes = undefined;
    this.busyProgress = -1;
    this.afterMessage = undefined;
    this.held = undefined;
    const actor = hostActor(process.definition.machine, this, { id: process.path, input: process.input, resumeFrom });
    actor.on(OUTBOUND, this.onOutbound);
    this.actor = actor;
    this.inTurn = true;
    try {
      actor.start();
    } finally {
      this.inTurn = false;
    }
    if (this.failure !== undefined) {
      const { error } = this.failure;
      this.failure = undefined;
      this.stopMachine();
      throw new StartError(process.path, error);
    }
    return true;
  }

  end(mode: 'stop' | 'halt', shutdown: Shutdown): 'ended' | Promise<ExitReason | undefined> {
    // A suspended agent cannot leave a busy state (its events are held): it ends at once, as OTP's does.
    if (shutdown === 'brutal' || shutdown === 0 || this.held !== undefined || !this.isBusy()) {
      this.endNow(mode);
      return 'ended';
    }
    return this.waitUntilIdle(shutdown).then((killed) => {
      this.endNow(mode);
      return killed;
    });
  }

  private endNow(mode: 'stop' | 'halt'): void {
    // A bystander did nothing wrong: 'resume' restarts it from where it is now (unless still busy).
    if (mode === 'halt' && this.process.onRestart === 'resume' && this.actor !== undefined && !this.isBusy()) this.lastGoodSnapshot = this.actor.getSnapshot();
    this.stopMachine();
  }

  drain(): void {
    const actor = this.actor;
    if (actor === undefined || actor.getSnapshot().status !== 'active') return;
    this.inTurn = true;
    try {
      actor.send({ type: STOPPING });
    } finally {
      this.inTurn = false;
    }
    if (this.failure !== undefined) this.settleFailure();
  }

  cutShort(reason: ExitReason): void {
    this.endWait?.(reason);
  }

  kill(): void {
    this.endWait?.();
    this.stopMachine();
    this.lastGoodSnapshot = undefined; // stopped for good: a restartChild starts fresh, as in OTP
  }

  get suspension(): { suspend(): void; resume(): void } {
    return this;
  }

  /** As in OTP, a timer firing or a child finishing waits too: the actor's own inbox is held. */
  suspend(): void {
    const held: EventObject[] = [];
    this.held = held;
    if (this.actor !== undefined) holdOwnEvents(this.actor, (event) => void held.push(event));
  }

  resume(): void {
    this.busyProgress = -1;
    const held = this.held ?? [];
    this.held = undefined;
    const actor = this.actor;
    if (actor === undefined) return;
    releaseOwnEvents(actor);
    // What was held first (it came first), then the mailbox; a crash or final state ends it.
    for (const event of held) {
      if (actor.getSnapshot().status !== 'active' || this.process.lifecycle.kind !== 'running') break;
      sendOwnEvent(actor, event);
    }
  }

  /** A state tagged `busy` held without progress (see `progress`) for `timeoutMs` is a hang. */
  liveness(now: number, timeoutMs: number): string | undefined {
    const snapshot = (this.actor as HostedActor).getSnapshot();
    if (snapshot.status !== 'active' || snapshot.hasTag?.('busy') !== true) {
      this.busyProgress = -1;
      return undefined;
    }
    if (snapshot !== this.afterMessage && snapshot !== this.progressSeen) {
      this.progressSeen = snapshot;
      this.progress++;
    }
    if (this.progress !== this.busyProgress) {
      this.busyProgress = this.progress;
      this.busySince = now;
    } else if (now - this.busySince >= timeoutMs) {
      return `state ${JSON.stringify(snapshot.value)} tagged busy held for ${now - this.busySince} ms without progress`;
    }
    return undefined;
  }

  hang(detail: string): void {
    this.process.reportHung(detail);
    this.exit({ kind: 'hung', detail }, 'hung');
  }

  private isBusy(): boolean {
    const snapshot = this.actor?.getSnapshot();
    return snapshot !== undefined && snapshot.status === 'active' && snapshot.hasTag?.('busy') === true;
  }

  /** Resolves when the machine leaves its busy state or `shutdown` runs out; with the reason if it ran out. */
  private waitUntilIdle(shutdown: Shutdown): Promise<ExitReason | undefined> {
    return new Promise((resolve) => {
      const actor = this.actor as HostedActor;
      const clock = this.process.runtime.time;
      let timer: TimerHandle | undefined;
      const done = (killed?: ExitReason): void => {
        this.endWait = undefined;
        subscription.unsubscribe();
        clock.clearTimeout(timer);
        resolve(killed);
      };
      const subscription = actor.subscribe({ next: () => (this.isBusy() ? undefined : done()), error: () => done(), complete: () => done() });
      if (typeof shutdown === 'number') timer = clock.setTimeout(() => done(KILLED), shutdown);
      this.endWait = done;
    });
  }

  /** Stops the XState actor and whatever it invoked, which fires their AbortSignals; its ports close. */
  private stopMachine(): void {
    const actor = this.actor;
    if (actor === undefined) return;
    this.actor = undefined;
    stopActor(actor);
    const ports = this.ports;
    if (ports === undefined || ports.size === 0) return;
    this.ports = undefined;
    for (const port of ports) port.close();
  }

  private noteFailure(error: unknown): void {
    const state = this.process.lifecycle.kind;
    if (state === 'stopped' || state === 'restarting') return;
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
    const state = this.process.lifecycle.kind;
    if (state !== 'running' && state !== 'starting' && state !== 'suspended' && state !== 'draining') return;
    queueMicrotask(() => this.exit({ kind: 'normal' }, 'agent-stopped'));
  }

  /** The machine ended on its own (crash, hang, final state): it stops here, the process answers for it. */
  private exit(reason: ExitReason, failureReason: string, conversationId?: string): void {
    const state = this.process.lifecycle.kind;
    if (state === 'stopped' || state === 'restarting' || this.actor === undefined) return;
    this.stopMachine();
    this.process.exited(reason, { failureReason, conversationId });
  }

  // ---- message handling ------------------------------------------------------------------

  wake(): void {
    this.process.runtime.scheduler.schedule(this);
  }

  hasWork(): boolean {
    const process = this.process;
    return process.lifecycle.kind === 'running' && process.blockedOn === 0 && process.hasQueued() && this.actor?.getSnapshot().status === 'active';
  }

  runTurn(max: number): number {
    if (!this.hasWork()) return 0;
    const process = this.process;
    const clock = process.runtime.time;
    const started = clock.monotonic();
    let handled = 0;
    this.inTurn = true;
    try {
      while (handled < max && process.lifecycle.kind === 'running' && process.blockedOn === 0) {
        const message = process.take();
        if (message === undefined) break;
        handled++;
        this.handle(message);
        // A crash or a final state ends the turn: the rest of the mailbox waits for the next
        // incarnation (or is dead-lettered if there is none), never sent to a finished actor.
        if (this.failure !== undefined || this.actor?.getSnapshot().status !== 'active') break;
      }
    } finally {
      this.inTurn = false;
      process.noteProcessing(clock.monotonic() - started);
    }
    if (this.failure !== undefined) this.settleFailure();
    return handled;
  }

  private handle(message: AclMessage): void {
    const process = this.process;
    const runtime = process.runtime;
    if (message.receiverIncarnation !== undefined && message.receiverIncarnation !== process.incarnation) {
      runtime.reject(message, 'stale-incarnation', 'stale-incarnation', `${process.path} has restarted since incarnation ${message.receiverIncarnation}`);
      return;
    }
    if (message.replyBy !== undefined && message.replyBy < runtime.time.now()) {
      runtime.reject(message, 'expired', 'deadline', `the reply-by deadline passed before ${process.path} could handle the message`);
      return;
    }
    const actor = this.actor as HostedActor;
    // The state the message finds: read once (checks, guards and the resume point do not change it).
    const before = actor.getSnapshot();
    const handling = handlingOf(this.acceptanceOf(before), message.type);
    if (handling === undefined) {
      runtime.notUnderstood(message, 'unhandled-performative', `${process.path} does not handle ${message.type} in state ${JSON.stringify(before.value)}`);
      return;
    }
    let event = message;
    const schemas = process.definition.content;
    if (schemas !== undefined) {
      const checked = validateContent(schemas, message);
      if (!checked.ok) {
        runtime.notUnderstood(message, 'invalid-content', `content of ${message.type} to ${process.path} is invalid: ${checked.issues}`);
        return;
      }
      if (checked.content !== message.content) event = withContent(message, checked.content);
    }
    // The state before this message: what 'resume' restarts from if handling it crashes (guards included).
    // Not a state in the middle of busy work: resuming there would start that work (a hung call) again.
    if (process.onRestart === 'resume' && !this.isBusy()) this.lastGoodSnapshot = before;
    // Only when every transition for it is guarded: guards run twice then (XState wants them pure).
    if (handling === 'guarded' && !this.allows(actor, event, message)) return;
    this.lamport = (this.lamport > message.lamport ? this.lamport : message.lamport) + 1;
    process.accept(message);
    process.noteHandled(0);
    if (before !== this.afterMessage) this.progress++; // something besides messages moved it since the last
    this.current = message;
    actor.send(event);
    this.current = undefined;
    const after = actor.getSnapshot();
    if (activeNodes(after) !== this.acceptNodes) this.progress++; // the message moved it to other states
    this.afterMessage = after;
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
      this.process.noteHandled(0);
      if (message.replyWith !== undefined) this.process.open.add(message);
      this.current = message;
      this.noteFailure(error);
      this.current = undefined;
      return false;
    }
    if (!allowed) this.process.runtime.notUnderstood(message, 'unhandled-performative', `${this.process.path} has no transition for ${message.type} whose guard allows it in state ${JSON.stringify(actor.getSnapshot().value)}`);
    return allowed;
  }

  private acceptanceOf(snapshot: HostedSnapshot): Acceptance {
    const nodes = activeNodes(snapshot);
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
      if (this.process.noteSent(message)) this.process.runtime.deliver(message, this.process);
      else this.process.runtime.deadLetters.record(message, 'no-waiting-request');
    } catch (error) {
      this.noteFailure(error);
    }
  };

  private buildOutbound(event: OutboundEvent): AclMessage {
    const process = this.process;
    const runtime = process.runtime;
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
      if (typeof event.to !== 'string') throw new ConfigurationError('invalid-receiver', `tell() from ${process.path} needs a receiver path, got ${String(event.to)}`);
      receiver = runtime.resolvePath(event.to);
      conversationId = options?.conversationId ?? runtime.newConversationId();
    }
    // Built (content checked) before any open request is closed: a send that fails is a crash,
    // and the request it would have answered must still be answered `failure` then.
    return createMessage(
      {
        performative,
        sender: process.path,
        senderIncarnation: process.incarnation,
        receiver,
        receiverIncarnation,
        content: freezeContent(event.content),
        conversationId,
        inReplyTo,
        replyWith: options?.replyWith ?? (expectsReply(performative) ? runtime.newReplyTag() : undefined),
        lamport: ++this.lamport,
      },
      checkMessageOptions(options),
    );
  }

  // ---- AskHost: `ask` invoked inside this agent's machine ---------------------------------

  askFromAgent(input: AskInput, signal: AbortSignal): Promise<AclMessage> {
    // Receiving the answer advances this agent's Lamport clock, as handling a message does.
    const received = (answer: AclMessage): void => {
      if (answer.lamport > this.lamport) this.lamport = answer.lamport;
    };
    const process = this.process;
    return process.runtime.ask(input, { sender: process.path, senderIncarnation: process.incarnation, lamport: ++this.lamport, signal }, process, DEFAULT_ASK_TIMEOUT_MS).then(
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
    return this.process.path;
  }

  /** The port belongs to this incarnation: it closes when the incarnation ends, whatever its opener forgot. */
  openPort(listener: PortListener): Port {
    const port = this.process.runtime.ports.openPort(listener);
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
    const process = this.process;
    process.runtime.post({ sender: process.path, senderIncarnation: process.incarnation, lamport: ++this.lamport }, to, performative, content, options, receiverIncarnation, process);
  }

  newConversationId(): string {
    return this.process.runtime.newConversationId();
  }

  newReplyTag(): string {
    return this.process.runtime.newReplyTag();
  }

  onSystemEvent(listener: (event: SystemEvent) => void): () => void {
    return this.process.runtime.events.add(listener);
  }

  watch(path: string, listener: (signal: Terminated) => void): () => void {
    const runtime = this.process.runtime;
    return runtime.watch(runtime.resolvePath(path), listener);
  }
}
