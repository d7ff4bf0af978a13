/**
 * Worker threads started from the source tree run its compiled twins (vitest's global setup
 * builds dist/ first), and a TypeScript agent module without a fresh twin still loads, through
 * tsx, on a thread of its own kind, with the reason logged.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { setup } from 'xstate';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSystem, defineAgent, supervisor } from '../../src/index.js';
import { locator } from './agents.js';
import { stoppedAfterEach } from '../support/systems.js';

const ROOT = new URL('../../', import.meta.url);
const Located = z.object({ module: z.string(), troupe: z.string(), thread: z.number() });
const track = stoppedAfterEach();

/** A user's own agent module, outside the source tree (its packages resolve through a link to the project's). */
const outside = mkdtempSync(join(tmpdir(), 'troupe-user-'));
symlinkSync(new URL('node_modules', ROOT), join(outside, 'node_modules'), 'dir');
writeFileSync(join(outside, 'package.json'), '{ "type": "module" }\n');
const outsiderModule = pathToFileURL(join(outside, 'agents.ts')).href;
writeFileSync(
  new URL(outsiderModule),
  `import { threadId } from 'node:worker_threads';
import { setup } from 'xstate';
import { defineAgent, reply } from ${JSON.stringify(new URL('src/index.ts', ROOT).href)};
export const outsider = defineAgent({
  name: 'outsider',
  module: import.meta.url,
  machine: setup({}).createMachine({ on: { request: { actions: reply('inform', () => ({ module: import.meta.url, troupe: import.meta.resolve(${JSON.stringify(new URL('src/index.ts', ROOT).href)}), thread: threadId as number })) } } }),
});
`,
);
afterAll(() => rmSync(outside, { recursive: true, force: true }));
/** The main thread needs only its name and module; the machine runs on the thread. */
const outsider = defineAgent({ name: 'outsider', module: outsiderModule, machine: setup({}).createMachine({}) });

function logLines(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('compiled worker threads', () => {
  it('run the compiled twin of an agent module of the source tree, and the compiled Troupe it imports', { timeout: 60_000 }, async () => {
    const system = track(await createSystem({ root: supervisor({ children: [{ id: 'l', agent: locator }] }) }));
    const answer = await system.request('/l', {}, { expect: Located });
    expect(answer.content.module).toBe(new URL('dist/test/workers/agents.js', ROOT).href);
    expect(answer.content.troupe).toBe(new URL('dist/src/index.js', ROOT).href);
  });

  it('load a TypeScript agent module from outside the build through tsx, on a thread of their own past the pool size, and say why', { timeout: 60_000 }, async () => {
    const { lines, stream } = logLines();
    const system = track(
      await createSystem({
        root: supervisor({ children: [{ id: 'l', agent: locator, placement: 'worker' }, { id: 'o', agent: outsider, placement: 'worker' }] }),
        logger: pino({ level: 'info' }, stream),
        workers: { size: 1 },
      }),
    );
    const compiled = await system.request('/l', {}, { expect: Located });
    const typescript = await system.request('/o', {}, { expect: Located });
    expect(compiled.content.module).toBe(new URL('dist/test/workers/agents.js', ROOT).href);
    expect(typescript.content.module).toBe(outsiderModule);
    expect(typescript.content.troupe).toBe(new URL('src/index.ts', ROOT).href);
    expect(typescript.content.thread).not.toBe(compiled.content.thread);
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, reason: `${outsiderModule} is TypeScript outside the source tree`, msg: expect.stringContaining('load TypeScript through tsx') }));
  });
});
