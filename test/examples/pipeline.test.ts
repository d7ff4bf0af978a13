import { describe, expect, it, vi } from 'vitest';
import { main } from '../../examples/pipeline.js';

describe('examples/pipeline', () => {
  it('passes each order along intake → pricer → shipper and answers every one exactly once', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const outcomes = await main();
      expect(outcomes).toEqual([
        { orderId: 'A-1', performative: 'inform', text: '13.50 EUR by post, tracking TRK-A-1' },
        { orderId: 'A-2', performative: 'inform', text: '64.00 EUR by courier, tracking TRK-A-2' },
        { orderId: 'A-3', performative: 'refuse', text: 'quantity must be 1 to 99, got 0' },
        { orderId: 'A-4', performative: 'refuse', text: '/pricer: no price for sku "samovar"' },
        {
          orderId: 'A-5',
          performative: 'not-understood',
          text: 'content of request to /intake is invalid: quantity: Invalid input: expected number, received string',
        },
      ]);

      const lines = log.mock.calls.map((call) => String(call[0]));
      expect(lines).toContain('A-1  3 × tea         inform          13.50 EUR by post, tracking TRK-A-1');
      // The work item carries one line per stage, in the order the stages handled it.
      const a1 = lines.indexOf('A-1  3 × tea         inform          13.50 EUR by post, tracking TRK-A-1');
      expect(lines.slice(a1 + 1, a1 + 4)).toEqual([
        '                     · intake   accepted 3 × tea',
        '                     · pricer   3 × 4.50 EUR = 13.50 EUR',
        '                     · shipper  post to 12 Rue de Rivoli, Paris, tracking TRK-A-1',
      ]);
      expect(lines).toContain('A-3  0 × mug         refuse          quantity must be 1 to 99, got 0');
      expect(lines).toContain('A-4  1 × samovar     refuse          /pricer: no price for sku "samovar"');
      expect(lines.some((line) => line.startsWith('A-5  two × mug       not-understood  content of request to /intake is invalid'))).toBe(true);
      // 4 orders + 3 pricer answers + 2 shipper answers; A-5 never reached the machine. Nothing was lost.
      expect(lines).toContain('Messages handled: /intake 9, /pricer 3, /shipper 2. Dead letters: 0.');
    } finally {
      log.mockRestore();
    }
  });
});
