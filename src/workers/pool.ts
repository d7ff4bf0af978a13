import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import type { AclMessage } from '../acl/message.js';
import { ConfigurationError, SystemStoppedError } from '../runtime/errors.js';
import { ASK_PREFIX, PORT_PREFIX } from '../runtime/addresses.js';
import type { Kernel } from '../runtime/kernel.js';
import { HostThread, type HostedAgent } from './host-thread.js';
import { canHost, kindFor, threadEntry, type ThreadKind } from './thread-loader.js';

export interface WorkerPoolOptions {
  /** Most worker threads at once (default `os.availableParallelism()`); threads start when an agent is first placed on one. */
  readonly size?: number;
  /** Heap limits of each thread; an agent that goes past them crashes its thread (and its agents are restarted elsewhere). */
  readonly resourceLimits?: ResourceLimits;
}

/**
 * The worker threads of one system: sized to the cores by default, started on demand, each
 * hosting many agents. An agent goes to the thread with the fewest agents (a new thread while
 * the pool is below its size) and stays there across restarts while the thread lives; a dead
 * thread is replaced by a fresh one for the agents restarted after it. A thread runs compiled
 * JavaScript when it can, and loads TypeScript through tsx when a module needs it.
 */
export class WorkerPool {
  readonly size: number;
  private readonly resourceLimits: ResourceLimits | undefined;
  private readonly hosts: HostThread[] = [];
  /** What each live thread can load (see thread-loader.ts). */
  private readonly kinds = new Map<HostThread, ThreadKind>();
  /** Reasons given already for threads loading TypeScript. */
  private readonly told = new Set<string>();
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
    const host = current?.alive === true ? current : this.threadFor(module);
    host.agents.set(agent.path, agent);
    return host;
  }

  /**
   * A new thread while the pool is below its size, else the least loaded thread that can load
   * the module. A module that needs tsx when every thread runs compiled code gets a tsx thread
   * past the size: that happens only when the source tree's build went stale, or a module
   * outside it came, after the compiled threads started.
   */
  private threadFor(module: string): HostThread {
    const { kind, reason } = kindFor(module);
    if (reason !== undefined) this.sayWhyTypescript(reason);
    const able = this.hosts.filter((host) => canHost(this.kinds.get(host) ?? 'typescript', kind));
    if (this.hosts.length < this.size || able.length === 0) return this.spawn(kind);
    return able.reduce((least, candidate) => (candidate.load < least.load ? candidate : least));
  }

  /** Once per pool and reason: a thread started from the source tree loads TypeScript, and why. */
  private sayWhyTypescript(reason: string): void {
    if (this.told.has(reason)) return;
    this.told.add(reason);
    this.runtime.logger.info({ reason }, `worker threads load TypeScript through tsx, whose first start takes seconds instead of a fraction of one: ${reason}. \`npm run build\` compiles the source tree for them`);
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

  private spawn(kind: ThreadKind): HostThread {
    const host = new HostThread(this.runtime, {
      entry: threadEntry(kind),
      resourceLimits: this.resourceLimits,
      onExit: (exited) => {
        const index = this.hosts.indexOf(exited);
        if (index >= 0) this.hosts.splice(index, 1);
        this.kinds.delete(exited);
      },
    });
    this.hosts.push(host);
    this.kinds.set(host, kind);
    return host;
  }
}
