/**
 * The contract between Troupe and XState's private members (src/runtime/xstate-adapter.ts).
 * An XState upgrade that renames or changes one of them fails here, by name, before anything
 * else breaks in a way that is hard to trace.
 */
import { assign, createActor, createMachine, fromCallback, fromPromise, sendParent, setup, type AnyActorRef } from 'xstate';
import { describe, expect, it } from 'vitest';
import { activeNodes, ActorHost, findUp, holdOwnEvents, hookInspection, hostActor, newActorSystem, parentOf, releaseOwnEvents, sendOwnEvent, stopActor, stopChild, type InspectionEvent } from '../../src/runtime/xstate-adapter.js';
import { latch } from '../support/latch.js';

const CARRIED = Symbol('carried');

class RecordingHost extends ActorHost {
  readonly [CARRIED] = 'the host';
  readonly failed: unknown[] = [];
  finished = 0;
  readonly other: string[] = [];
  private readonly actorSystem = newActorSystem();

  get system(): unknown {
    return this.actorSystem;
  }

  protected actorFailed(error: unknown): void {
    this.failed.push(error);
  }

  protected actorFinished(): void {
    this.finished++;
  }

  protected actorSentParent(type: string): void {
    this.other.push(type);
  }
}

function host() {
  const parent = new RecordingHost();
  return { parent, reports: parent };
}

describe('XState private members Troupe relies on (pinned xstate 5.33)', () => {
  it('an actor has _send and _stop, its snapshot _nodes, its system _sendInspectionEvent', () => {
    const actor = createActor(createMachine({ initial: 'a', states: { a: {} } })).start();
    expect(typeof (actor as unknown as { _send: unknown })._send).toBe('function');
    expect(typeof (actor as unknown as { _stop: unknown })._stop).toBe('function');
    expect(Array.isArray((actor.getSnapshot() as unknown as { _nodes: unknown })._nodes)).toBe(true);
    expect(typeof (actor.system as unknown as { _sendInspectionEvent: unknown })._sendInspectionEvent).toBe('function');
    actor.stop();
  });

  it('a hosted actor joins the given system and reports a crash, a final state and sendParent to its parent', () => {
    const { parent, reports } = host();
    const crashing = hostActor(
      setup({}).createMachine({ on: { boom: { actions: () => { throw new Error('boom'); } } } }),
      parent,
      { id: '/a', input: undefined, resumeFrom: undefined },
    );
    crashing.start();
    crashing.send({ type: 'boom' });
    expect(reports.failed).toEqual([expect.objectContaining({ message: 'boom' })]);
    const finishing = hostActor(createMachine({ initial: 'a', states: { a: { on: { end: 'done' } }, done: { type: 'final' } } }), parent, { id: '/b', input: undefined, resumeFrom: undefined });
    finishing.start();
    finishing.send({ type: 'end' });
    expect(reports.finished).toBe(1);
    const telling = hostActor(createMachine({ on: { tell: { actions: sendParent({ type: 'hello' }) } } }), parent, { id: '/c', input: undefined, resumeFrom: undefined });
    telling.start();
    telling.send({ type: 'tell' });
    expect(reports.other).toEqual(['hello']);
  });

  it('restores a persisted snapshot given as resumeFrom', () => {
    const { parent } = host();
    const machine = setup({ types: { context: {} as { count: number } } }).createMachine({ context: { count: 0 }, on: { add: { actions: assign({ count: ({ context }) => context.count + 1 }) } } });
    const first = hostActor(machine, parent, { id: '/r', input: undefined, resumeFrom: undefined });
    first.start();
    first.send({ type: 'add' });
    const resumed = hostActor(machine, parent, { id: '/r', input: undefined, resumeFrom: first.getSnapshot() });
    resumed.start();
    expect((resumed.getSnapshot() as unknown as { context: { count: number } }).context.count).toBe(1);
  });

  it('holds an actor’s own events (an invoked promise finishing) and hands them over when released', async () => {
    const { parent } = host();
    const settled = latch();
    const machine = setup({ actors: { work: fromPromise(async () => 'done') } }).createMachine({
      initial: 'working',
      states: { working: { invoke: { src: 'work', onDone: 'idle' } }, idle: {} },
    });
    const actor = hostActor(machine, parent, { id: '/h', input: undefined, resumeFrom: undefined });
    const held: { type: string }[] = [];
    holdOwnEvents(actor, (event) => {
      held.push(event);
      settled.open();
    });
    actor.start();
    await settled.promise;
    expect(actor.getSnapshot().value).toBe('working');
    releaseOwnEvents(actor);
    for (const event of held) sendOwnEvent(actor, event);
    expect(actor.getSnapshot().value).toBe('idle');
  });

  it('stops an actor with its children, and the children of a machine that errored', () => {
    const { parent } = host();
    const stopped: string[] = [];
    const machine = setup({ actors: { child: fromCallback(() => () => void stopped.push('child')) } }).createMachine({
      invoke: { src: 'child', id: 'c' },
      on: { boom: { actions: () => { throw new Error('boom'); } } },
    });
    const running = hostActor(machine, parent, { id: '/s', input: undefined, resumeFrom: undefined });
    running.start();
    stopActor(running);
    expect(stopped).toEqual(['child']);
    const errored = hostActor(machine, parent, { id: '/e', input: undefined, resumeFrom: undefined });
    errored.start();
    errored.send({ type: 'boom' });
    expect(errored.getSnapshot().status).toBe('error');
    stopActor(errored);
    expect(stopped).toEqual(['child', 'child']);
    stopChild(undefined); // nothing there: no throw
  });

  it('reads the active state nodes of a snapshot', () => {
    const actor = createActor(createMachine({ id: 'm', initial: 'a', states: { a: { initial: 'x', states: { x: {} } } } })).start();
    expect(activeNodes(actor.getSnapshot() as never).map((node) => node.id)).toEqual(['m', 'm.a', 'm.a.x']);
  });

  it('walks from an invoked actor up to its host', () => {
    const { parent } = host();
    let self: AnyActorRef | undefined;
    const machine = setup({ actors: { child: fromCallback(({ self: child }) => void (self = child)) } }).createMachine({ invoke: { src: 'child' } });
    const actor = hostActor(machine, parent, { id: '/w', input: undefined, resumeFrom: undefined });
    actor.start();
    expect(parentOf(self)).toBe(actor);
    expect(findUp<string>(self, CARRIED)).toBe('the host');
    expect(findUp<string>(self, Symbol('absent'))).toBeUndefined();
  });

  it('hooks the actor system’s inspection, hands events on to what listened before, and unhooks', () => {
    const machine = createMachine({ on: { ping: {} } });
    const before: string[] = [];
    const actor = createActor(machine, { inspect: (event) => void before.push(event.type) }).start();
    const seen: InspectionEvent[] = [];
    const unhook = hookInspection(actor.system, (event) => void seen.push(event));
    before.length = 0;
    actor.send({ type: 'ping' });
    expect(seen.some((event) => event.type === '@xstate.event' && event.event?.type === 'ping')).toBe(true);
    expect(before).toContain('@xstate.event');
    unhook();
    const count = seen.length;
    actor.send({ type: 'ping' });
    expect(seen.length).toBe(count);
  });
});
