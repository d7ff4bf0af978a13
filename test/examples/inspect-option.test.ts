import { describe, expect, it, vi } from 'vitest';
import { inspectorOptions, InspectOptionError } from '../../examples/inspect-option.js';
import { main } from '../../examples/pipeline.js';
import { TestClient } from '../inspector/client.js';

describe('examples/inspect-option (npm start)', () => {
  it('turns the inspector on by default with a random token, off with --no-inspect', () => {
    const on = inspectorOptions([], {});
    expect(on).toMatchObject({ port: 0, token: expect.stringMatching(/^[\w-]{16}$/) });
    expect(inspectorOptions([], {})?.token).not.toBe(on?.token);
    expect(inspectorOptions([], { TROUPE_TOKEN: 'my-own-token', TROUPE_INSPECTOR_PORT: '7400' })).toEqual({ port: 7400, token: 'my-own-token' });
    expect(inspectorOptions(['--no-inspect'], {})).toBeUndefined();
    expect(() => inspectorOptions([], { TROUPE_INSPECTOR_PORT: 'x' })).toThrow(InspectOptionError);
  });

  it('runs the demo with the inspector on: prints its address with the token, and the page sees the agents', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      let tree: unknown;
      const outcomes = await main({
        inspector: { port: 0, token: 'demo-token-123' },
        beforeStop: async () => {
          const link = log.mock.calls.map((call) => String(call[0])).find((line) => line.startsWith('Inspector: '));
          const url = new URL((link as string).slice('Inspector: '.length));
          expect(url.hash).toBe('#token=demo-token-123');
          const client = await TestClient.open(url.href.replace(/^http/, 'ws').replace(/#.*/, ''));
          const reply = await client.call({ type: 'tree' });
          tree = reply.type === 'reply' ? reply.result : reply;
          await client.close();
        },
      });
      expect(outcomes).toHaveLength(5);
      expect(tree).toMatchObject({ children: [{ path: '/intake' }, { path: '/pricer' }, { path: '/shipper' }] });
    } finally {
      log.mockRestore();
    }
  });
});
