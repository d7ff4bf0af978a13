/**
 * The tap: every message routed, every message a machine takes, every dead letter and every
 * lifecycle event passes it, in order, with a Lamport time that only grows.
 */
import { describe, expect, it } from 'vitest';
import type { TapEvent } from '../../src/runtime/tap.js';
import type { System } from '../../src/index.js';
import { echo, startSystem } from './helpers.js';

interface Passed {
  readonly what: string;
  readonly lamport: number;
}

function tapOf(system: System): { attach(listener: (event: TapEvent, lamport: number) => void): () => void } {
  return (system as unknown as { runtime: { tap: { attach(listener: (event: TapEvent, lamport: number) => void): () => void } } }).runtime.tap;
}

function describeEvent(event: TapEvent): string {
  switch (event.kind) {
    case 'sent':
    case 'delivered':
      return `${event.kind} ${event.message.performative} ${event.message.sender} -> ${event.message.receiver}`;
    case 'dead-letter':
      return `dead-letter ${event.letter.reason} ${event.letter.message.receiver}`;
    case 'lifecycle':
      return `${event.event.type} ${event.event.path}`;
  }
}

describe('the tap', () => {
  it('passes a request, its delivery and its answer in order, with growing Lamport times', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const passed: Passed[] = [];
    const detach = tapOf(system).attach((event, lamport) => passed.push({ what: describeEvent(event), lamport }));
    await system.request('/e', { hello: 1 });
    detach();
    const whats = passed.map((entry) => entry.what.replace(/\/\$ask\/\S+/, '/$ask'));
    expect(whats).toEqual(['sent request /$system -> /e', 'delivered request /$system -> /e', 'sent inform /e -> /$ask']);
    const times = passed.map((entry) => entry.lamport);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(times.length);
  });

  it('passes dead letters and lifecycle events (a stop) too, and nothing once detached', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const passed: string[] = [];
    const detach = tapOf(system).attach((event) => passed.push(describeEvent(event)));
    await system.tell('/nobody', 'inform', {});
    await system.terminateChild('/', 'e');
    expect(passed).toEqual(['sent inform /$system -> /nobody', 'dead-letter no-such-agent /nobody', 'stopped /e']);
    detach();
    await system.tell('/nobody', 'inform', {});
    expect(passed).toHaveLength(3);
  });

  it('keeps passing to the other listeners when one throws', async () => {
    const system = await startSystem([{ id: 'e', agent: echo() }]);
    const heard: string[] = [];
    tapOf(system).attach(() => {
      throw new Error('a broken listener');
    });
    tapOf(system).attach((event) => heard.push(event.kind));
    await system.request('/e', {});
    expect(heard).toEqual(['sent', 'delivered', 'sent']);
  });
});
