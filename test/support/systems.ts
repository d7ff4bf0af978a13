import { afterEach, vi } from 'vitest';
import type { System } from '../../src/index.js';

/**
 * Systems a test file starts, each stopped after its test. Timers are made real first, so a
 * stop never waits on fake time; stops run together (worker threads take a moment to confirm).
 */
export function stoppedAfterEach(timeoutMs = 30_000): (system: System) => System {
  const systems: System[] = [];
  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(systems.splice(0).map((system) => system.stop()));
  }, timeoutMs);
  return (system) => {
    systems.push(system);
    return system;
  };
}
