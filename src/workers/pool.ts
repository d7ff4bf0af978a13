import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import type { AclMessage } from '../acl/message.js';
import { ConfigurationError, SystemStoppedError } from '../runtime/errors.js';
import { ASK_PREFIX, PORT_PREFIX } from '../runtime/addresses.js';
import type { Kernel } from '../runtime/kernel.js';
import { HostThread, type HostedAgent } from './host-thread.js';
import { AgentModuleError } from './worker-errors.js';

export interface WorkerPoolOptions {
  /** Most worker threads at once (default `os.availableParallelism()`); threads start when an agent is first placed on one. */
  readonly size?: number;
  /** Heap limits of each thread; an agent that goes past them crashes its thread (and its agents are restarted elsewhere). */
  readonly resourceLimits?: ResourceLimits;
}

const TYPESCRIPT = /\.[mc]?tsx?$/;
const here = import.meta.url;
const fromSource = TYPESCRIPT.test(here);
/** Started through tsx (`tsx app.ts`, `--import tsx`): agent modules may be TypeScript wherever Troupe itself comes from. */
const underTsx = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((argument) => argument.includes('tsx'));

/**
 * Node 20 runs TypeScript in a worker only through a loader registered inside it (`--import`
 * in a worker's execArgv does not reach its entry): from source, or when an agent module is
 * TypeScript, the thread starts from a small bootstrap that registers tsx's ESM API and then
 * imports the entry. From the compiled package, the thread runs plain JavaScript.
 */
function typescriptBootstrap(entry: URL): URL {
  let api: string;
  try {
    const require = createRequire(here);
    const manifest = require.resolve('tsx/package.json');
    const exports = (require(manifest) as { exports: Record<string, { import?: { default?: string } }> }).exports;
    const path = exports['./esm/api']?.import?.default;
    if (path === undefined) throw new Error('tsx does not export ./esm/api for import');
    api = new URL(path, pathToFileURL(manifest)).href;
  } catch (error) {
    throw new AgentModuleError('placement worker: a TypeScript agent module (or Troupe run from source) needs tsx to load in a worker thread; install tsx 4, or compile to JavaScript', { cause: error });
  }
  const code = `import { register } from ${JSON.stringify(api)};\nregister();\nawait import(${JSON.stringify(entry.href)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/**
 * The worker threads of one system: sized to the cores by default, started on demand, each
 * hosting many agents. An agent goes to the thread with the fewest agents (a new thread while
 * the pool is below its size) and stays there across restarts while the thread lives; a dead
 * thread is replaced by a fresh one for the agents restarted after it.
 */
export class WorkerPool {
  readonly size: number;
  private readonly resourceLimits: ResourceLimits | undefined;
  private readonly hosts: HostThread[] = [];
  private closed = false;

  constructor(
    private readonly runtime: Kernel,
    options: WorkerPoolOptions = {},
  ) {
    this.size = options.size ?? availableParallelism();
    if (!(Number.isInteger(this.size) && this.size >= 1)) throw new ConfigurationError('invalid-workers', `workers.size must be a whole number ≥ 1, got ${String(options.size)}`);
    this.resourceLimits = options.resourceLimits;
  }

  /** Live threads right now. */
  get threads(): number {
    return this.hosts.length;
  }

  /** The thread for an agent: where it is while that thread lives, else the least loaded (or a new one). */
  place(agent: HostedAgent, current: HostThread | undefined, module: string): HostThread {
    if (this.closed) throw new SystemStoppedError(`placing ${agent.path} on a worker thread`);
    let host = current?.alive === true ? current : undefined;
    if (host === undefined && this.hosts.length < this.size) host = this.spawn(module);
    host ??= this.hosts.reduce((least, candidate) => (candidate.load < least.load ? candidate : least));
    host.agents.set(agent.path, agent);
    return host;
  }

  /**
   * A message for an address on a worker thread: an answer to an `ask` made there
   * (`/$ask/w<thread>.<id>`), a message to a conversation port opened there
   * (`/$port/w<thread>.<n>`), or the hand-over of a request asked there (its reply-to names
   * the ask). False when it names no live thread.
   */
  routeToThread(message: AclMessage, as: 'answer' | 'port' | 'handover'): boolean {
    const target = as === 'handover' ? (message.replyTo as string) : message.receiver;
    const address = target.slice((as === 'port' ? PORT_PREFIX : ASK_PREFIX).length);
    const dot = address.indexOf('.');
    if (!address.startsWith('w') || dot < 0) return false;
    const threadId = Number(address.slice(1, dot));
    const host = this.hosts.find((candidate) => candidate.threadId === threadId);
    if (host === undefined || !host.alive) return false;
    host.post({ t: as, message });
    return true;
  }

  /** Ends every thread; resolves when all have exited. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.hosts.map((host) => host.close()));
  }

  private spawn(module: string): HostThread {
    const typescript = fromSource || underTsx || TYPESCRIPT.test(module);
    const entry = new URL(fromSource ? './worker-host.ts' : './worker-host.js', here);
    const host = new HostThread(this.runtime, {
      entry: typescript ? typescriptBootstrap(entry) : entry,
      resourceLimits: this.resourceLimits,
      onExit: (exited) => {
        const index = this.hosts.indexOf(exited);
        if (index >= 0) this.hosts.splice(index, 1);
      },
    });
    this.hosts.push(host);
    return host;
  }
}
