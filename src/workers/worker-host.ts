/**
 * The entry of a worker thread: hosts agents placed on it. Agent definitions are loaded by
 * module URL (see AgentModuleError), run in real AgentCells of a WorkerRuntime, and talk to
 * the main thread only through the protocol in protocol.ts.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { AgentDefinition } from '../agent/define-agent.js';
import { describeMachine, type ViewRules } from '../inspector/describe.js';
import { AgentProcess } from '../runtime/agent-process.js';
import { InlineExecutor } from '../runtime/inline-executor.js';
import type { ExitReason, ParentLink, Shutdown, TreeNode } from '../runtime/tree.js';
import { FINISHED, fromWire, STARTED, toWireError, toWireExit, type FromWorker, type StartCommand, type ToWorker } from './protocol.js';
import { moduleToImport } from './thread-loader.js';
import { AgentModuleError } from './worker-errors.js';
import { WorkerRuntime } from './worker-runtime.js';

export interface WorkerData {
  readonly name: string;
  readonly logLevel: string;
  /** Int32Array over a SharedArrayBuffer: [STARTED, FINISHED] delivery sequence numbers. */
  readonly progress: Int32Array;
}

const port = parentPort;
if (port === null) throw new Error('worker-host.ts is the entry of a Troupe worker thread; it is started by the worker pool, not run directly');
const data = workerData as WorkerData;
const post = (message: FromWorker): void => port.postMessage(message);

// Log lines go to the main thread, which writes them through the system's logger.
const logger = pino({ level: data.logLevel, base: { thread: threadId } }, { write: (line: string) => post({ t: 'log', line }) });
const runtime = new WorkerRuntime({ name: data.name, logger }, post);
/** Hosted agents by path, each with the executor that runs its machine here. */
const cells = new Map<string, { readonly agent: AgentProcess; readonly executor: InlineExecutor }>();
const modules = new Map<string, Promise<Record<string, unknown>>>();

/** Exits of hosted agents go to the main thread's stand-in, which tells their supervisor. */
const link: ParentLink = {
  childExited(child: TreeNode, reason: ExitReason): void {
    post({ t: 'exited', path: child.path, incarnation: child.incarnation ?? '', reason: toWireExit(reason) });
  },
};

function isDefinition(value: unknown): value is AgentDefinition {
  return typeof value === 'object' && value !== null && (value as AgentDefinition).kind === 'agent' && typeof (value as AgentDefinition).name === 'string';
}

async function loadDefinition(url: string, name: string): Promise<AgentDefinition> {
  let loading = modules.get(url);
  if (loading === undefined) {
    loading = import(moduleToImport(url)) as Promise<Record<string, unknown>>;
    modules.set(url, loading);
  }
  let exports: Record<string, unknown>;
  try {
    exports = await loading;
  } catch (error) {
    modules.delete(url);
    throw new AgentModuleError(`agent ${JSON.stringify(name)}: its module ${url} could not be imported in a worker thread: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const found = Object.values(exports).filter((value): value is AgentDefinition => isDefinition(value) && value.name === name);
  const unique = [...new Set(found)];
  if (unique.length === 1) return unique[0] as AgentDefinition;
  throw new AgentModuleError(
    unique.length === 0
      ? `agent ${JSON.stringify(name)}: module ${url} exports no agent definition named ${JSON.stringify(name)}; export it from the module that defines it (export const agent = defineAgent({ name: ${JSON.stringify(name)}, module: import.meta.url, ... }))`
      : `agent ${JSON.stringify(name)}: module ${url} exports ${unique.length} different agent definitions named ${JSON.stringify(name)}; give each a unique name`,
  );
}

function hostedProcess(path: string, id: string, definition: AgentDefinition): AgentProcess {
  const hosted = cells.get(path);
  if (hosted !== undefined && hosted.agent.definition === definition) return hosted.agent;
  let executor!: InlineExecutor;
  const agent = new AgentProcess(runtime, path, id, definition, link, (owner) => (executor = new InlineExecutor(owner)));
  cells.set(path, { agent, executor });
  return agent;
}

async function start(command: StartCommand): Promise<void> {
  try {
    const agent = hostedProcess(command.path, command.id, await loadDefinition(command.module, command.name));
    agent.onRestart = command.onRestart;
    if (command.hasInput) agent.input = command.input;
    runtime.nextIncarnation = command.incarnation;
    // The same agent restarts (keeping a `resume` snapshot); a fresh worker starts one anew.
    if (agent.incarnation === undefined) agent.start();
    else agent.restart();
    post({ t: 'started', path: command.path, incarnation: command.incarnation });
  } catch (error) {
    runtime.nextIncarnation = undefined;
    post({ t: 'start-failed', path: command.path, incarnation: command.incarnation, error: toWireError(error) });
  }
}

/** One message at a time per agent: the main thread keeps the mailbox and sends the next after `handled`. */
function deliver(seq: number, path: string, incarnation: string, wire: Parameters<typeof fromWire>[0]): void {
  Atomics.store(data.progress, STARTED, seq);
  try {
    const hosted = cells.get(path);
    const message = fromWire(wire);
    if (hosted === undefined || hosted.agent.incarnation !== incarnation || hosted.agent.lifecycle.kind !== 'running') {
      post({ t: 'returned', path, incarnation, messages: [message] });
      return;
    }
    hosted.agent.enqueue(message);
    const started = performance.now();
    if (hosted.executor.runTurn(1) === 1) post({ t: 'handled', path, incarnation, ms: performance.now() - started });
    else post({ t: 'returned', path, incarnation, messages: hosted.agent.mailbox.takeAll() });
  } finally {
    Atomics.store(data.progress, FINISHED, seq);
  }
}

/** The inspector's view of an agent's machine here (an agent between incarnations shows none). */
function describe(id: number, path: string, redact: ViewRules): void {
  try {
    const agent = cells.get(path)?.agent;
    post({ t: 'described', id, view: describeMachine(agent?.status === 'running' ? agent.snapshot() : undefined, redact), error: undefined });
  } catch (error) {
    post({ t: 'described', id, view: undefined, error: toWireError(error) });
  }
}

/** Runs a command; starts, halts and stops may take a while (a module import, a busy state) and return a promise. */
function run(command: Exclude<ToWorker, { t: 'ping' | 'answer' | 'handover' | 'port' | 'describe' }>): Promise<void> | undefined {
  switch (command.t) {
    case 'start':
      return start(command);
    case 'deliver':
      deliver(command.seq, command.path, command.incarnation, command.message);
      return undefined;
    case 'hang':
      cells.get(command.path)?.agent.hang(command.detail);
      return undefined;
    case 'drain':
      cells.get(command.path)?.agent.drain();
      return undefined;
    case 'halt':
      return halt(command.path, command.shutdown, command.reason);
    case 'stop':
      return stop(command.path, command.shutdown, command.reason);
  }
}

async function halt(path: string, shutdown: Shutdown, reason: ExitReason): Promise<void> {
  await cells.get(path)?.agent.halt(shutdown, reason);
  post({ t: 'halted', path });
}

async function stop(path: string, shutdown: Shutdown, reason: ExitReason): Promise<void> {
  const hosted = cells.get(path);
  if (hosted !== undefined) {
    await hosted.agent.stop(shutdown, reason);
    cells.delete(path);
  }
  post({ t: 'stopped', path });
}

/**
 * Commands for an agent whose start, halt or stop is under way wait behind it, so that each
 * agent sees its commands in order; other agents' commands do not wait. Pings, answers to
 * asks, messages to conversation ports and the inspector's queries never wait: a ping
 * measures the thread.
 */
const waiting = new Map<string, ToWorker[]>();

function onCommand(command: ToWorker): void {
  if (command.t === 'ping') {
    const agent = cells.get(command.path)?.agent;
    post({ t: 'pong', path: command.path, seq: command.seq, hung: agent?.checkLiveness(Date.now(), command.timeoutMs) });
    return;
  }
  if (command.t === 'handover') {
    runtime.handOverAsk(fromWire(command.message));
    return;
  }
  if (command.t === 'answer') {
    runtime.settleAnswer(fromWire(command.message), command.message.receiver.slice(command.message.receiver.lastIndexOf('.') + 1));
    return;
  }
  if (command.t === 'describe') {
    describe(command.id, command.path, command.redact);
    return;
  }
  if (command.t === 'port') {
    runtime.receiveAtPort(fromWire(command.message));
    return;
  }
  const queue = waiting.get(command.path);
  if (queue !== undefined) {
    queue.push(command);
    return;
  }
  const underWay = run(command);
  if (underWay === undefined) return;
  waiting.set(command.path, []);
  void underWay
    .catch((error: unknown) => logger.error({ err: error, path: command.path }, `a ${command.t} command failed on the worker thread`))
    .finally(() => {
      const next = waiting.get(command.path) ?? [];
      waiting.delete(command.path);
      for (const queued of next) onCommand(queued);
    });
}

port.on('message', onCommand);
