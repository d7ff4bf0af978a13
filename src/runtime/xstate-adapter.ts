/**
 * The one module that touches XState's private members (pinned xstate 5.33). Troupe hosts
 * actors as their parent, holds their own events while suspended, stops them with their
 * children, reads a snapshot's active state nodes, walks from an invoked actor up to its
 * agent, and hooks the actor system's inspection. test/kernel/xstate-adapter.test.ts checks
 * every member named here, so an XState upgrade that changes one fails there, loudly.
 */
import { createActor, fromCallback, type AnyActorRef, type AnyStateMachine, type AnyStateNode, type EventObject } from 'xstate';

/**
 * The XState parent of the actors a host starts (an agent's executor extends it): XState reads
 * `system` when it creates an actor and relays the actor's own done and error events (and
 * `sendParent`) to `_send`, which hands them to the three methods below. One object per host,
 * no closures: it is part of every idle agent's footprint.
 */
export abstract class ActorHost {
  /** The actor system the hosted actors join (one per Troupe system). */
  abstract get system(): unknown;
  /** The machine threw (an action, a guard) or an invoked promise rejected unhandled. */
  protected abstract actorFailed(error: unknown): void;
  /** The machine reached a final state. */
  protected abstract actorFinished(): void;
  /** Anything else sent to the parent (`sendParent`), which is not Troupe messaging. */
  protected abstract actorSentParent(type: string): void;

  _send(event: EventObject): void {
    if (event.type.startsWith('xstate.error.actor')) this.actorFailed((event as { error?: unknown }).error);
    else if (event.type.startsWith('xstate.done.actor')) this.actorFinished();
    else this.actorSentParent(event.type);
  }
}

/** The parts of a hosted XState actor Troupe uses, public and private. */
export interface HostedActor {
  send(event: EventObject): void;
  start(): void;
  on(type: string, handler: (event: never) => void): unknown;
  getSnapshot(): HostedSnapshot;
  subscribe(observer: { next: () => void; error: () => void; complete: () => void }): { unsubscribe(): void };
  _stop(): void;
  /** Where XState hands the actor every event from outside its own handling (timers, children, sendTo). */
  _send(event: EventObject): void;
}

export interface HostedSnapshot {
  readonly status: string;
  readonly value: unknown;
  readonly children: Record<string, unknown>;
  readonly _nodes: AnyStateNode[];
  hasTag?(tag: string): boolean;
  can(event: EventObject): boolean;
}

/** A new actor system (one per Troupe system: an actor system per agent costs ~1.6 KB) whose delays run on `clock`. */
export function newActorSystem(clock?: { setTimeout(callback: () => void, ms: number): unknown; clearTimeout(handle: never): void }): unknown {
  return createActor(fromCallback(() => undefined), clock === undefined ? undefined : { clock: clock as never }).system;
}

/** Creates (not starts) an actor whose XState parent is `parent`. */
export function hostActor(machine: AnyStateMachine, parent: ActorHost, options: { readonly id: string; readonly input: unknown; readonly resumeFrom: unknown }): HostedActor {
  return createActor(machine, {
    parent: parent as unknown as AnyActorRef,
    input: options.input,
    id: options.id,
    snapshot: options.resumeFrom === undefined ? undefined : machine.getPersistedSnapshot(options.resumeFrom as ReturnType<typeof machine.getInitialSnapshot>),
  }) as unknown as HostedActor;
}

/** From now on the actor's own events (delayed events, children finishing, sendTo) go to `hold` instead. */
export function holdOwnEvents(actor: HostedActor, hold: (event: EventObject) => void): void {
  // An own property over the prototype's method, removed by releaseOwnEvents: no cost otherwise.
  actor._send = hold;
}

/** Undoes holdOwnEvents. */
export function releaseOwnEvents(actor: HostedActor): void {
  Reflect.deleteProperty(actor, '_send');
}

/** Hands the actor one of its own events (one held while suspended). */
export function sendOwnEvent(actor: HostedActor, event: EventObject): void {
  actor._send(event);
}

/** Stops the actor and whatever it invoked or spawned, which fires their AbortSignals. */
export function stopActor(actor: HostedActor): void {
  const snapshot = actor.getSnapshot();
  if (snapshot.status === 'active') actor._stop();
  // A machine in error status has stopped itself but not its children.
  else for (const child of Object.values(snapshot.children ?? {})) stopChild(child);
}

/** Stops an invoked or spawned child actor. */
export function stopChild(child: unknown): void {
  (child as { _stop?: () => void } | undefined)?._stop?.();
}

/** The state nodes a machine snapshot is in, leaves and their ancestors. */
export function activeNodes(snapshot: HostedSnapshot): readonly AnyStateNode[] {
  return snapshot._nodes;
}

/** The actor (or Troupe host) that invoked or spawned `ref`. */
export function parentOf(ref: unknown): unknown {
  return (ref as { _parent?: unknown })._parent;
}

/** Walks from `ref` up its parents to the first that carries `key`. */
export function findUp<T>(ref: unknown, key: symbol): T | undefined {
  let current: unknown = ref;
  while (typeof current === 'object' && current !== null) {
    const found = (current as Record<symbol, T | undefined>)[key];
    if (found !== undefined) return found;
    current = parentOf(current);
  }
  return undefined;
}

/** An inspection event as XState's actor system reports it. */
export interface InspectionEvent {
  readonly type: string;
  readonly actorRef: { readonly id: string };
  readonly event?: { readonly type?: unknown };
  readonly snapshot?: { readonly value?: unknown; readonly _nodes?: unknown };
}

/** The active state nodes of the snapshot an inspection event carries (an identity that changes with them). */
export function inspectedNodes(event: InspectionEvent): unknown {
  return event.snapshot?._nodes;
}

/**
 * Calls `listener` with every inspection event of the actor system (transitions, events,
 * snapshots), handing each on to whatever listened before; returns the unhook. Falls back to
 * the public `inspect` (slower: it copies each event) if XState no longer has the dispatch point.
 */
export function hookInspection(system: unknown, listener: (event: InspectionEvent) => void): () => void {
  const inspectable = system as { _sendInspectionEvent?: (event: InspectionEvent) => void; inspect(observer: (event: InspectionEvent) => void): { unsubscribe(): void } };
  const original = inspectable._sendInspectionEvent;
  if (typeof original !== 'function') {
    const subscription = inspectable.inspect(listener);
    return () => subscription.unsubscribe();
  }
  const hooked = (event: InspectionEvent): void => {
    listener(event);
    original(event);
  };
  inspectable._sendInspectionEvent = hooked;
  return () => {
    if (inspectable._sendInspectionEvent === hooked) inspectable._sendInspectionEvent = original;
  };
}
