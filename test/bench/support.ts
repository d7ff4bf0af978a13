/** Setup shared by the scenarios' implementations: quiet Troupe systems, nact systems, ids. */
import { start, stop, type ActorSystemRef } from 'nact';
import { pino } from 'pino';
import { createSystem, supervisor, type ChildSpec, type SupervisorOptions, type System } from '../../src/index.js';

/** Benchmarks measure messaging, not logging: crashes in `restart` would otherwise print. */
export const silentLogger = pino({ level: 'silent' });

/** A Troupe system whose root supervisor starts `children`, logging nothing. */
export function troupeSystem(children: readonly ChildSpec[], options: Omit<SupervisorOptions, 'children'> = {}): Promise<System> {
  return createSystem({ root: supervisor({ ...options, children }), logger: silentLogger });
}

/** A nact system; nact logs nothing unless a logging plugin is configured. */
export function nactSystem(): ActorSystemRef {
  return start();
}

export function stopNact(system: ActorSystemRef): void {
  stop(system);
}

/** `count` child ids such as w0, w1, ... (ids are also nact actor names, which must be unique). */
export function ids(count: number, prefix = 'w'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Throws when a run did less work than it should have: a fast but broken run is no result. */
export function expectWork(what: string, done: number, expected: number): void {
  if (done !== expected) throw new Error(`${what}: completed ${done} of ${expected} work units`);
}
