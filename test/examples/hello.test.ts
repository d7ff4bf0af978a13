import { describe, expect, it, vi } from 'vitest';
import { main } from '../../examples/hello.js';

describe('examples/hello', () => {
  it('greets Ada through a supervised agent and prints the answer', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await expect(main()).resolves.toBe('Hello, Ada');
      expect(log).toHaveBeenCalledWith('inform: Hello, Ada');
    } finally {
      log.mockRestore();
    }
  });
});
