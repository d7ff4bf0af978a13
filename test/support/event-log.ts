import type { System, SystemEvent } from '../../src/index.js';

/** Records every system event; `wait` resolves on a matching one (already seen ones count). */
export class EventLog {
  readonly events: SystemEvent[] = [];
  private waiters: { match: (event: SystemEvent) => boolean; resolve: (event: SystemEvent) => void }[] = [];
  readonly unsubscribe: () => void;

  constructor(system: System) {
    this.unsubscribe = system.subscribe((event) => {
      this.events.push(event);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(event)) return true;
        waiter.resolve(event);
        return false;
      });
    });
  }

  /** Resolves with the `nth` (1-based) event matching, counting ones already seen. */
  wait(match: Partial<SystemEvent> | ((event: SystemEvent) => boolean), nth = 1): Promise<SystemEvent> {
    const predicate = typeof match === 'function' ? match : (event: SystemEvent) => Object.entries(match).every(([key, value]) => (event as unknown as Record<string, unknown>)[key] === value);
    const seen = this.events.filter(predicate);
    if (seen.length >= nth) return Promise.resolve(seen[nth - 1] as SystemEvent);
    let remaining = nth - seen.length;
    return new Promise((resolve) => {
      this.waiters.push({
        match: (event) => predicate(event) && --remaining === 0,
        resolve,
      });
    });
  }

  of(type: SystemEvent['type'], path?: string): SystemEvent[] {
    return this.events.filter((event) => event.type === type && (path === undefined || event.path === path));
  }

  /** `type path` strings, for order checks. */
  trace(types: readonly SystemEvent['type'][]): string[] {
    return this.events.filter((event) => types.includes(event.type)).map((event) => `${event.type} ${event.path}`);
  }
}
