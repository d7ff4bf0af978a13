/**
 * The demo's inspector switch, kept apart from the demo itself: `npm start` runs with the live
 * inspector on and prints its address; `npm start -- --no-inspect` runs without it.
 * TROUPE_TOKEN sets the inspector token, which opens agents' memory and control (default: a
 * fresh random one), and TROUPE_INSPECTOR_PORT the port (default: a free one).
 */
import { randomBytes } from 'node:crypto';
import type { InspectorOptions, System } from '../src/index.js';

export class InspectOptionError extends Error {}

/** Inspector options from the command line and environment; undefined with `--no-inspect`. */
export function inspectorOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): InspectorOptions | undefined {
  if (argv.includes('--no-inspect')) return undefined;
  const port = env.TROUPE_INSPECTOR_PORT === undefined || env.TROUPE_INSPECTOR_PORT === '' ? 0 : Number(env.TROUPE_INSPECTOR_PORT);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65_535)) throw new InspectOptionError(`TROUPE_INSPECTOR_PORT must be a port number 0..65535, got ${JSON.stringify(env.TROUPE_INSPECTOR_PORT)}`);
  return { port, token: env.TROUPE_TOKEN ?? randomBytes(12).toString('base64url') };
}

/**
 * The page's address with the token in its #fragment: a fragment is never sent to the server
 * (nor in any request line or server log); the page and `troupe inspect` take the token from
 * it and offer it in the WebSocket handshake. Encoded so that it can be pasted into a shell too.
 */
export function inspectorLink(system: System, token: string | undefined): string | undefined {
  const url = system.inspector?.url;
  if (url === undefined) return undefined;
  return token === undefined ? url : `${url}#token=${encodeURIComponent(token).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** Prints where to watch the system, in the browser and in a terminal (the link carries the token: snapshots and control). */
export function announceInspector(system: System, options: InspectorOptions | undefined, print: (line: string) => void = console.log): void {
  const link = inspectorLink(system, options?.token);
  if (link === undefined) return;
  print(`Inspector: ${link}`);
  print(`  or in a terminal: npx troupe inspect '${link}'`);
}

/** Keeps the system up for the inspector until Ctrl-C (SIGINT) or SIGTERM. */
export function untilInterrupted(print: (line: string) => void = console.log): Promise<void> {
  print('The system keeps running for the inspector; Ctrl-C stops it.');
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
