import { describe, expect, it } from 'vitest';
import { inspectorOptions, InspectOptionError } from '../../examples/inspect-option.js';
import { main } from '../../examples/research-team.js';
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

  it('runs the demo with the inspector on: prints its address with the token, and the page sees the agents (their memory with the token)', async () => {
    const lines: string[] = [];
    let tree: unknown;
    let snapshot: unknown;
    const summary = await main({
      offline: true,
      offlineLatencyMs: 5,
      print: (line) => lines.push(line),
      inspector: { port: 0, token: 'demo-token-123' },
      beforeStop: async () => {
        const link = lines.find((line) => line.startsWith('Inspector: '));
        const url = new URL((link as string).slice('Inspector: '.length));
        expect(url.hash).toBe('#token=demo-token-123');
        const client = await TestClient.open(url.href.replace(/^http/, 'ws').replace(/#.*/, ''), { token: 'demo-token-123' });
        const reply = await client.call({ type: 'tree' });
        tree = reply.type === 'reply' ? reply.result : reply;
        snapshot = await client.call({ type: 'snapshot', path: '/planner' });
        await client.close();
      },
    });
    // The offline model is named on the first line, the inspector's address right after it.
    expect(lines[0]).toMatch(/built-in offline model/);
    expect(lines[1]).toMatch(/^Inspector: http:\/\/127\.0\.0\.1:\d+\/#token=demo-token-123$/);
    expect(lines[2]).toMatch(/^ {2}or in a terminal: npx troupe inspect 'http:\/\/127\.0\.0\.1:\d+\/#token=demo-token-123'$/);
    expect(snapshot).toMatchObject({ type: 'reply', result: { path: '/planner' } });
    expect(summary.answer.length).toBeGreaterThan(0);
    expect(tree).toMatchObject({ children: [{ path: '/tools' }, { path: '/planner' }, { path: '/research' }, { path: '/evaluator' }] });
  });
});
