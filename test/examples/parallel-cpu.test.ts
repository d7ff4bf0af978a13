import { describe, expect, it, vi } from 'vitest';
import { main } from '../../examples/parallel-cpu.js';

describe('examples/parallel-cpu', () => {
  // Outcomes only: wall times and the speedup are printed, never asserted.
  it('runs the same agents inline and on workers, and survives a scorer stuck in an endless loop', { timeout: 60_000 }, async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const summary = await main(20);
      expect(summary.inline.informs).toBe(8);
      expect(summary.worker.informs).toBe(8);
      expect(summary.speedup).toBeGreaterThan(0);
      expect(summary.hang).toEqual({ answer: 'failure (hung)', events: ['hung', 'failed', 'restarted'], othersFinished: 7, afterRestart: 'inform' });
      const lines = log.mock.calls.map((call) => String(call[0]));
      expect(lines.some((line) => /^ {2}speedup inline \/ worker: \d+\.\d\dx$/.test(line))).toBe(true);
      expect(lines).toContain('  /s0 → failure (hung)');
      expect(lines).toContain('  the other 7 scorers finished');
    } finally {
      log.mockRestore();
    }
  });
});
