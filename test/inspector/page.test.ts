/**
 * The inspector page in a real Chromium (Debian's package at /usr/bin/chromium, driven by
 * playwright-core; never a downloaded browser): it shows the tree, draws a request between two
 * agents in the sequence diagram, highlights the current state, restarts an agent with the
 * token and shows the new incarnation, and reconnects to a system started again on its port.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { inspectedSystem, TOKEN } from './agents.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const PAGE = new URL('../../src/inspector/page/', import.meta.url);

/** Serves the real page, with a WebSocket that does whatever `onClient` does: a server the page cannot work with. */
async function oddServer(onClient: (socket: WebSocket) => void): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const files: Record<string, string> = { '/': 'index.html', '/inspector.js': 'inspector.js', '/inspector.css': 'inspector.css' };
  const types: Record<string, string> = { html: 'text/html', js: 'text/javascript', css: 'text/css' };
  const http: Server = createServer((request, response) => {
    const file = files[request.url ?? ''];
    if (file === undefined) return void response.writeHead(404).end();
    void readFile(new URL(file, PAGE)).then((body) => response.writeHead(200, { 'content-type': types[file.split('.').pop() as string] as string }).end(body));
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (request, socket, head) =>
    wss.handleUpgrade(request, socket, head, (ws) => {
      connections++;
      onClient(ws);
    }),
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
    connections: () => connections,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      // Chromium keeps its page connections alive; close() alone would wait for them.
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
}

describe('inspector page in Chromium', () => {
  let context: BrowserContext;
  let profile: string;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium); .ci/run does this`);
    profile = await mkdtemp(join(tmpdir(), 'troupe-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 900 },
    });
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  it('shows the tree, the sequence diagram and the statechart; restarts an agent with the token; reconnects', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Every address the page asks for: the token is in none (a fragment is never sent).
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('websocket', (socket) => requested.push(socket.url()));
    const system = await inspectedSystem();
    const url = system.inspector?.url as string;
    await page.goto(`${url}#token=${TOKEN}`);

    // The tree, live from the hello; the token taken out of the address bar, and accepted in the handshake.
    await page.locator('body[data-connected="true"]').waitFor();
    await page.locator('body[data-authenticated="true"]').waitFor();
    expect(page.url()).toBe(url);
    expect(await page.locator('#access').textContent()).toBe('token accepted: memory and control');
    const greeterRow = page.locator('#tree .node[data-path="/greeter"]');
    await expect.poll(() => greeterRow.locator('.incarnation').textContent()).toBe(system.lookup('/greeter')?.incarnation);
    expect(await page.locator('#tree .node[data-path="/caller"] .state').textContent()).toBe('running');
    expect(await greeterRow.locator('.mailbox').textContent()).toBe('✉ 0');

    // A request between two agents appears in the sequence diagram, with its answer.
    await system.tell('/caller', 'inform', { name: 'Ada' });
    const request = page.locator('#sequence .message[data-performative="request"][data-sender="/caller"][data-receiver="/greeter"]');
    await request.waitFor();
    await page.locator('#sequence .message[data-performative="inform"][data-sender="/greeter"][data-receiver="/caller"]').waitFor();
    const conversation = (await request.getAttribute('data-conversation')) as string;
    await page.fill('#conversation-filter', conversation);
    await expect.poll(() => page.locator('#sequence .message').count()).toBe(2);
    expect(await page.locator(`#sequence .message[data-conversation="${conversation}"]`).count()).toBe(2);
    await page.fill('#conversation-filter', '');

    // The selected agent's statechart, drawn from its machine, with its current state.
    await greeterRow.click();
    await page.locator('#statechart .chart-state.active[data-state-id="greeter.warm"]').waitFor();
    expect(await page.locator('#statechart .chart-state[data-state-id="greeter.idle"]').getAttribute('class')).not.toContain('active');
    await expect.poll(async () => JSON.parse((await page.locator('#snapshot').textContent()) ?? '{}') as unknown).toMatchObject({ path: '/greeter', context: { greeted: 1 } });

    // Restart with the token (taken from the URL's #token): the page shows the new incarnation.
    const before = system.lookup('/greeter')?.incarnation;
    await page.click('#restart');
    await expect.poll(() => system.lookup('/greeter')?.incarnation).not.toBe(before);
    const after = system.lookup('/greeter')?.incarnation;
    await expect.poll(() => greeterRow.locator('.incarnation').textContent()).toBe(after);
    await expect.poll(() => page.locator('#control-result').textContent()).toContain(`"incarnation":"${after}"`);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'inspector.png'), fullPage: true });

    // Without the token (the field emptied: the page connects again without it) the page shows
    // the statechart but no memory, reports the refusal of control, and nothing changes.
    await page.fill('#token', '');
    await page.locator('#token').blur();
    await page.locator('body[data-authenticated="false"]').waitFor();
    await page.locator('body[data-connected="true"]').waitFor();
    await greeterRow.click();
    await expect.poll(() => page.locator('#snapshot').textContent()).toMatch(/^\(snapshot needs the inspector token/);
    await system.request('/greeter', { name: 'Ada' });
    await page.locator('#statechart .chart-state.active[data-state-id="greeter.warm"]').waitFor();
    await page.click('#restart');
    await expect.poll(() => page.locator('#control-result.error').textContent()).toContain('needs the inspector token');
    expect(system.lookup('/greeter')?.incarnation).toBe(after);
    expect(requested.filter((address) => address.includes(TOKEN))).toEqual([]);

    // The system goes away and comes back on the same port: the page reconnects by itself.
    const port = system.inspector?.port as number;
    await system.stop();
    await page.locator('body[data-connected="false"]').waitFor();
    const again = await inspectedSystem({ port, token: TOKEN });
    await page.locator('body[data-connected="true"]').waitFor();
    await expect.poll(() => greeterRow.locator('.incarnation').textContent()).toBe(again.lookup('/greeter')?.incarnation);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('over the event budget, shows what it leaves out; the tree stays live', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const system = await inspectedSystem({ token: TOKEN, maxEventsPerSecond: 10 });
    await page.goto(system.inspector?.url as string);
    await page.locator('body[data-connected="true"]').waitFor();
    expect(await page.locator('#over-budget').isHidden()).toBe(true);
    system.suspend('/greeter');
    for (let i = 0; i < 200; i++) void system.tell('/greeter', 'inform', {}, { conversationId: `flood-${i}` });
    const banner = page.locator('#over-budget');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/^over 10 events\/s: not shown in the last \d+ s: \d+ sent/);
    // Mailbox depths are never held back: the suspended agent's 200 waiting messages show.
    await expect.poll(() => page.locator('#tree .node[data-path="/greeter"] .mailbox').textContent()).toBe('✉ 200');
    const shown = await page.locator('#sequence .message').count();
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThanOrEqual(10);
    expect(pageErrors).toEqual([]);
    // Leaves no page reconnecting to this system once it stops: the next test starts clean.
    await page.goto('about:blank');
  }, 30_000);

  it('stops and says to reload when the server speaks another protocol version; reads nothing more from it', async () => {
    const server = await oddServer((socket) => {
      socket.send(JSON.stringify({ type: 'hello', protocol: 99, system: 'future', control: false, tree: { id: 'root', path: '/', kind: 'supervisor', status: 'running', incarnation: null, restarts: 0 } }));
      socket.send(JSON.stringify({ type: 'events', events: [{ type: 'sent', at: 0, performative: 'inform', sender: '/a', receiver: '/b', conversationId: 'c', lamport: 1 }] }));
    });
    try {
      await page.goto(server.url);
      await expect.poll(() => page.locator('#connection').textContent()).toBe('disconnected: the server speaks inspector protocol 99, this page 1; reload the page');
      expect(await page.locator('#sequence .message').count()).toBe(0);
      expect(await page.locator('body').getAttribute('data-connected')).toBe('false');
      expect(server.connections()).toBe(1);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('after a policy close (1008) says why and does not claim to retry', async () => {
    const server = await oddServer((socket) => socket.close(1008, 'rate limit exceeded: too many requests'));
    try {
      await page.goto(server.url);
      await expect.poll(() => page.locator('#connection').textContent()).toBe('disconnected: refused: rate limit exceeded: too many requests');
    } finally {
      await server.close();
    }
  }, 30_000);
});
