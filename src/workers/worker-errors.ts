import { TroupeError } from '../runtime/errors.js';

/**
 * An agent placed on a worker thread whose definition cannot be loaded there. The rule: the
 * definition is made with `defineAgent({ ..., module: import.meta.url })` and exported by
 * name from that module, so the worker can import the module and find it.
 */
export class AgentModuleError extends TroupeError {
  constructor(message: string, options?: ErrorOptions) {
    super('agent-module', message, options);
  }
}

/** The worker thread hosting an agent died (exception, out of memory, `process.exit`, or terminated because an agent on it hung). */
export class WorkerCrashError extends TroupeError {
  constructor(
    readonly threadId: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('worker-crashed', `worker thread ${threadId} ${detail}`, options);
  }
}

/** A worker thread did not answer a query about one of its agents in time (it may be busy in a long handler, or stuck). */
export class WorkerBusyError extends TroupeError {
  constructor(
    readonly threadId: number,
    detail: string,
  ) {
    super('worker-busy', `worker thread ${threadId} ${detail}`);
  }
}

/**
 * A worker thread sent the main thread something the worker protocol does not allow: a
 * malformed message, or one that speaks for an agent or a port that is not its own. Agent code
 * can post anything to its thread's parent port, so the main thread checks every message (see
 * wire-check.ts); a thread that breaks the protocol is terminated, and its agents fail with a
 * WorkerCrashError whose cause is this error.
 */
export class WorkerProtocolError extends TroupeError {
  constructor(
    readonly threadId: number,
    /** What was wrong, without the thread number. */
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super('worker-protocol', `worker thread ${threadId} broke the worker protocol: ${detail}`, options);
  }
}
