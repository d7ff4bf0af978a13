/**
 * `troupe inspect` as a real process (the package's bin, src/cli/bin.js, which runs the
 * TypeScript through tsx in a source checkout) against a real system.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { InspectorEvent } from '../../src/index.js';
import { formatEvent, matchesFilters } from '../../src/inspector/terminal-client.js';
import { inspectedSystem, TOKEN } from './agents.js';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

class Cli {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
    let partial = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.onLine(line);
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
  }

  private onLine(line: string): void {
    this.lines.push(line);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(line)) return true;
      waiter.resolve(line);
      return false;
    });
  }

  line(match: (line: string) => boolean): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  type(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  interrupt(): Promise<number | null> {
    this.child.kill('SIGINT');
    return this.exited;
  }
}

describe('troupe inspect', { timeout: 30_000 }, () => {
  it('prints the tree, then a readable live stream; exits 0 on Ctrl-C', async () => {
    const system = await inspectedSystem();
    const cli = new Cli(['inspect', system.inspector?.url as string]);
    await cli.line((line) => line.startsWith('connected to inspected'));
    await cli.line((line) => line.startsWith('  /greeter  agent  running'));
    await system.tell('/caller', 'inform', { name: 'Ada' });
    const sent = await cli.line((line) => /sent\s+request\s+\/caller → \/greeter/.test(line));
    expect(sent).toMatch(/^\d\d:\d\d:\d\d\.\d{3}  sent {7}request {9}\/caller → \/greeter  conversation \S+  t\d+$/);
    await cli.line((line) => /state\s+\/greeter → "warm" on request/.test(line));
    expect(cli.lines.join('\n')).not.toContain('\u001b['); // no colour when not on a terminal
    expect(await cli.interrupt()).toBe(0);
  });

  it('prints JSON lines with --json, filtered by conversation or path', async () => {
    const system = await inspectedSystem();
    const byConversation = new Cli(['inspect', system.inspector?.wsUrl as string, '--json', '--filter', 'chosen']);
    const byPath = new Cli(['inspect', system.inspector?.wsUrl as string, '--json', '--filter', '/nobody']);
    await Promise.all([byConversation, byPath].map((cli) => cli.line((line) => line.startsWith('{"type":"hello"'))));
    await system.tell('/greeter', 'inform', {}, { conversationId: 'other' });
    await system.tell('/greeter', 'inform', {}, { conversationId: 'chosen' });
    await system.tell('/nobody', 'inform', {}, { conversationId: 'lost' });
    await byConversation.line((line) => line.includes('"type":"delivered"'));
    await byPath.line((line) => line.includes('"type":"dead-letter"'));
    expect(await byConversation.interrupt()).toBe(0);
    expect(await byPath.interrupt()).toBe(0);
    const events = (cli: Cli): { type: string; conversationId?: string }[] => cli.lines.slice(1).map((line) => JSON.parse(line) as { type: string; conversationId?: string });
    expect(events(byConversation).map((event) => `${event.type} ${event.conversationId}`)).toEqual(['sent chosen', 'delivered chosen']);
    expect(events(byPath).map((event) => `${event.type} ${event.conversationId}`)).toEqual(['sent lost', 'dead-letter lost']);
  });

  it('takes --token for the connection; a wrong one is reported', async () => {
    const system = await inspectedSystem();
    // One after the other: a wrong token makes the next token from the same address wait (the guess backoff).
    const right = new Cli(['inspect', system.inspector?.url as string, '--token', TOKEN, '--json']);
    await right.line((line) => line.startsWith('{"type":"hello"'));
    const wrong = new Cli(['inspect', system.inspector?.url as string, '--token', 'wrong-token', '--json']);
    await wrong.line((line) => line.includes('"code":"unauthorized"'));
    expect(right.lines.some((line) => line.includes('unauthorized'))).toBe(false);
    await Promise.all([right.interrupt(), wrong.interrupt()]);
  });

  it('takes the token from the address\'s #fragment, as the demo prints it, and never prints it back', async () => {
    const system = await inspectedSystem();
    const cli = new Cli(['inspect', `${system.inspector?.url as string}#token=${TOKEN}`]);
    const connected = await cli.line((line) => line.startsWith('connected to'));
    expect(connected).toMatch(/^connected to inspected at ws:\/\/127\.0\.0\.1:\d+\/ \(protocol 1, token accepted: snapshots and control on\)$/);
    cli.type('snapshot /greeter');
    await cli.line((line) => line.includes('"password": "[redacted]"'));
    expect(cli.lines.join('\n')).not.toContain(TOKEN);
    expect(await cli.interrupt()).toBe(0);
  });

  it('takes commands on standard input: queries, and control with --token', async () => {
    const system = await inspectedSystem();
    const cli = new Cli(['inspect', system.inspector?.url as string, '--token', TOKEN]);
    await cli.line((line) => line.startsWith('connected to'));
    cli.type('snapshot /greeter apiKey,auth.password');
    await cli.line((line) => line.includes('"apiKey": "[redacted]"'));
    const before = system.lookup('/greeter')?.incarnation;
    cli.type('restart /greeter');
    await cli.line((line) => line.includes('"restarted": "/greeter"'));
    expect(system.lookup('/greeter')?.incarnation).not.toBe(before);
    cli.type('send /greeter request {"name": "Ada Lovelace"}');
    await cli.line((line) => line.includes('"text": "Hello, Ada Lovelace"'));
    cli.type('suspend');
    await cli.line((line) => line === 'suspend needs an agent path, such as suspend /greeter');
    cli.type('launch /greeter');
    await cli.line((line) => line.startsWith('unknown command "launch"; commands: tree'));
    cli.type('send /greeter inform {oops');
    await cli.line((line) => line.startsWith('the content is not JSON'));
    cli.type('tree');
    await cli.line((line) => line.startsWith('  /greeter  agent  running') && line.includes('restarts 1'));
    expect(await cli.interrupt()).toBe(0);
  });

  it('without the token, snapshots and control commands are refused and change nothing', async () => {
    const system = await inspectedSystem();
    const cli = new Cli(['inspect', system.inspector?.url as string]);
    expect(await cli.line((line) => line.startsWith('connected to'))).toContain('no token: watching only (snapshots and control need --token)');
    cli.type('snapshot /greeter');
    await cli.line((line) => line.startsWith('error unauthorized: snapshot needs the inspector token'));
    const before = system.lookup('/greeter')?.incarnation;
    cli.type('restart /greeter');
    await cli.line((line) => line.startsWith('error unauthorized: restart needs the inspector token'));
    expect(system.lookup('/greeter')?.incarnation).toBe(before);
    expect(await cli.interrupt()).toBe(0);
  });

  it('exits 0 when the system stops, saying why the connection closed', async () => {
    const system = await inspectedSystem();
    const cli = new Cli(['inspect', system.inspector?.url as string]);
    await cli.line((line) => line.startsWith('connected to'));
    await system.stop();
    expect(await cli.exited).toBe(0);
    expect(cli.lines.at(-1)).toBe('connection closed (1001: the system stopped)');
  });

  it('exits 1 with a clear message when nothing listens', async () => {
    const system = await inspectedSystem();
    const url = system.inspector?.url as string;
    await system.stop();
    const cli = new Cli(['inspect', url]);
    expect(await cli.exited).toBe(1);
    expect(cli.lines.join('\n')).toMatch(/cannot connect to ws:\/\/127\.0\.0\.1:\d+\/: connect ECONNREFUSED/);
  });

  it('reports a frame that is not the protocol and goes on, instead of crashing', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    server.on('connection', (socket) => {
      socket.send('not json at all');
      socket.send('{"type":"events","events":5}');
      socket.send('{"type":"events","events":[{"at":"x"}]}');
      socket.send(JSON.stringify({ type: 'events', events: [{ type: 'sent', at: 0, performative: 'inform', sender: '/a', receiver: '/b', conversationId: 'after', lamport: 1 }] }));
      socket.close(1000, 'done');
    });
    try {
      const cli = new Cli(['inspect', `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`]);
      expect(await cli.exited).toBe(0);
      expect(cli.lines.filter((line) => line.includes('not an inspector frame'))).toHaveLength(3);
      expect(cli.lines.some((line) => line.includes('conversation after'))).toBe(true);
      expect(cli.stderr).toBe('');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it.each([
    [[], /no command given/],
    [['watch', 'http://x'], /unknown command "watch"/],
    [['inspect'], /needs the inspector URL/],
    [['inspect', 'not a url'], /is not a URL/],
    [['inspect', 'ftp://host/'], /unsupported scheme ftp:/],
    [['inspect', 'http://x', '--colour'], /Unknown option '--colour'/],
  ])('usage error %j exits 2', async (args, message) => {
    const cli = new Cli(args);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr).toMatch(message);
    expect(cli.stderr).toContain('usage: troupe inspect <url>');
  });
});

describe('troupe inspect: over-budget notices', () => {
  it('prints what went unrecorded, kinds with a count only, and keeps the notice under any filter', () => {
    const notice: InspectorEvent = { type: 'over-budget', at: Date.UTC(2026, 0, 1, 12, 0, 1), since: Date.UTC(2026, 0, 1, 12, 0, 0), maxEventsPerSecond: 20_000, skipped: { sent: 780_000, delivered: 779_000, state: 0, 'dead-letter': 3 } };
    expect(formatEvent(notice, false)).toBe('12:00:01.000  over-budget not recorded since 12:00:00.000: 780000 sent, 779000 delivered, 3 dead-letter (over the inspector\'s 20000 events/s)');
    expect(matchesFilters(notice, ['/greeter'])).toBe(true);
    expect(matchesFilters(notice, ['some-conversation'])).toBe(true);
  });
});
