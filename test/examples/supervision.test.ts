import { describe, expect, it, vi } from 'vitest';
import { HEARTBEAT, main, SLOW_URL } from '../../examples/supervision.js';

describe('examples/supervision', () => {
  // The hang is found by a real heartbeat (300 ms); the generous timeout is for loaded machines.
  it('restarts a crashing and a hung agent while answers keep coming, then escalates to the root', { timeout: 60_000 }, async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const summary = await main();
      expect(summary).toEqual({
        informs: 5,
        failures: 3,
        hung: 1,
        aborted: 1,
        escalated: ['/workers', '/workers', '/'],
        terminated: 'restart-limit',
        afterStop: 'system-stopped',
      });

      const lines = log.mock.calls.map((call) => String(call[0]));
      // Part 1: the crashed requests fail, the rest are answered, by the same address.
      expect(lines).toContain('  100 / 4 → inform {"result":25}');
      expect(lines).toContain('  100 / 8 → inform {"result":12.5}');
      expect(lines.filter((line) => line === '  100 / 0 → failure (agent-failed)')).toHaveLength(2);
      expect(lines).toContain(`    event  hung       /workers/fetcher: busy for longer than ${HEARTBEAT.timeoutMs} ms`);
      expect(lines).toContain(`    fetcher: the fetch of ${SLOW_URL} was aborted (its AbortSignal fired)`);
      expect(lines).toContain(`  ${SLOW_URL} → failure (hung)`);
      expect(lines).toContain('  /workers now: divider running (restarts: 2), fetcher running (restarts: 1)');
      // Part 2: /workers gives up twice (the root restarts it once), then the root gives up.
      expect(lines.filter((line) => line.startsWith('    event  escalated  /workers gives up: more than 3 restarts within 60000 ms'))).toHaveLength(2);
      expect(lines).toContain('    event  started    /workers (a fresh supervisor with fresh children)');
      expect(lines.some((line) => line.startsWith('    watch  terminated /workers/divider: restart-limit'))).toBe(true);
      expect(lines.some((line) => line.startsWith('    event  escalated  / gives up: more than 1 restart within 60000 ms'))).toBe(true);
      expect(lines.filter((line) => line.startsWith('  pill '))).toHaveLength(5);
      expect(lines.some((line) => line.startsWith('  system terminated: restart-limit'))).toBe(true);
      expect(lines).toContain('  a request now is rejected at once: SystemStoppedError (system-stopped)');
    } finally {
      log.mockRestore();
    }
  });
});
