import { describe, expect, it, vi } from 'vitest';
import { main } from '../../examples/contract-net.js';

describe('examples/contract-net', () => {
  it('allocates the batch by price and capacity, and re-awards the crashed van\'s parcel to the next-best bid', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const { rows, restarts } = await main();
      expect(rows.map(({ parcel, awardedTo, price, bids }) => ({ parcel, awardedTo, price, bids }))).toEqual([
        { parcel: 'p1', awardedTo: 'bike', price: 1, bids: 4 },
        { parcel: 'p2', awardedTo: 'truck-a', price: 4, bids: 2 },
        { parcel: 'p3', awardedTo: 'bike', price: 0.5, bids: 3 },
        { parcel: 'p4', awardedTo: 'truck-b', price: 10.5, bids: 1 },
        { parcel: 'p5', awardedTo: 'truck-b', price: 4.5, bids: 1 },
      ]);
      expect(rows[0]?.note).toBe('van crashed, re-awarded');
      expect(rows.slice(1).every((row) => row.note === '')).toBe(true);
      expect(restarts).toBe(1);
      const printed = log.mock.calls.map((call) => String(call[0])).join('\n');
      expect(printed).toContain('p1      2   4     bike');
    } finally {
      log.mockRestore();
    }
  });
});
