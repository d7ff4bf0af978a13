/**
 * inspector: Troupe's pingpong with the live inspector detached (no `inspector` option: the
 * runtime's observer hook stays empty) against attached with one client connected, reading
 * the whole event stream at the inspector's defaults: messages sent and delivered up to the
 * event budget (20,000 events/s; the rest counted in `over-budget` notices), state changes,
 * mailbox depths. The client runs in its own process, as a browser page or `troupe inspect` would, so only
 * the inspector's cost to the system is measured. Reports messages per second for each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { createSystem, supervisor, type InspectorOptions, type System } from '../../../src/index.js';
import { now, perSecond } from '../measure.js';
import type { Bench, Sample, Scenario } from '../scenario.js';
import { silentLogger } from '../support.js';
import { roundTrips, troupePinger, troupePonger } from './pingpong.js';

/** A client that reads every frame and counts events; prints `ready` after the hello. */
const CLIENT_SOURCE = `
const { default: WebSocket } = await import(process.argv[1]);
const socket = new WebSocket(process.argv[2]);
socket.on('message', (data) => {
  const text = data.toString();
  if (text.startsWith('{"type":"hello"')) process.stdout.write('ready\\n');
});
socket.on('close', () => process.exit(0));
socket.on('error', (error) => { process.stderr.write(error.message + '\\n'); process.exit(1); });
`;

function startClient(url: string): Promise<ChildProcess> {
  const ws = pathToFileURL(createRequire(import.meta.url).resolve('ws')).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', CLIENT_SOURCE, ws, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout?.setEncoding('utf8').once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the inspector client exited (${String(code)}) before connecting: ${stderr.trim()}`)));
  });
}

async function pingpongBench(size: number, inspector: InspectorOptions | undefined): Promise<Bench> {
  const system: System = await createSystem({
    root: supervisor({ children: [{ id: 'pinger', agent: troupePinger }, { id: 'ponger', agent: troupePonger }] }),
    logger: silentLogger,
    inspector,
  });
  let client: ChildProcess | undefined;
  try {
    if (system.inspector !== undefined) {
      client = await startClient(system.inspector.wsUrl);
      if (system.inspector.clients().length !== 1) throw new Error('the inspector client is not connected');
    }
  } catch (error) {
    await system.stop();
    throw error;
  }
  return {
    async sample(): Promise<Sample> {
      const started = now();
      const answer = await system.request('/pinger', roundTrips(size), { timeoutMs: Number.POSITIVE_INFINITY });
      return { value: perSecond(size, now() - started), work: 2 * (answer.content as number) };
    },
    async close(): Promise<void> {
      const exited = client === undefined || client.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => client?.once('exit', () => resolve()));
      await system.stop(); // closes the connection; the client exits on its own
      await exited;
    },
  };
}

export const inspector: Scenario = {
  name: 'inspector',
  unit: 'msg/s',
  higherIsBetter: true,
  describe: (size) => `pingpong, ${size.toLocaleString('en-US')} messages, without an inspector and with one and a client reading its stream`,
  size: 200_000,
  quickSize: 200,
  warmups: 2,
  repetitions: 5,
  expectedWork: (size) => 2 * roundTrips(size),
  implementations: { troupe: undefined, xstate: undefined, nact: undefined },
  variants: {
    detached: (size) => pingpongBench(size, undefined),
    attached: (size) => pingpongBench(size, { port: 0 }),
  },
  note: 'Troupe against itself: target attached/detached ≥ 0.85.',
};
