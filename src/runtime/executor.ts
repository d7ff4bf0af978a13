import type { AclMessage } from '../acl/message.js';
import type { ExitReason, Shutdown } from './tree.js';

/**
 * Where an agent's machine runs, behind one interface: on this thread (the inline executor,
 * the XState host), on a worker thread, or, later, on another node. The agent process
 * (agent-process.ts) owns everything else and drives the executor through its lifecycle;
 * the executor reports back through the process's `started`, `startFailed`, `exited`,
 * `noteHandled` and `take`.
 */
export interface Executor {
  /** The placement name (`inline`, `worker`), for messages and the inspector. */
  readonly placement: string;
  /** Where that is, for messages: `this thread`, `a worker thread`. */
  readonly where: string;
  /**
   * Starts the machine of a new incarnation. True when it runs when this returns; false when
   * the start goes on elsewhere and the executor will call `process.started()` or
   * `process.startFailed()`. Throws (a StartError) when the start failed here and now.
   */
  start(incarnation: string, isRestart: boolean): boolean;
  /** There is work in the process's mailbox, or the process can take work again. */
  wake(): void;
  /**
   * Ends the running incarnation, for good (`stop`) or for a restart (`halt`): a machine in a
   * state tagged `busy` may finish within `shutdown`. `ended` when the machine stopped in this
   * call; else a promise that resolves once it has, with the reason when the shutdown time ran
   * out first.
   */
  end(mode: 'stop' | 'halt', shutdown: Shutdown, reason: ExitReason): 'ended' | Promise<ExitReason | undefined>;
  /** The process stopped for good: whatever still runs ends now, without waiting. */
  kill(): void;
  /** A stop for good is coming: tell the machine (event `troupe.stopping`) so that work it queued itself ends. */
  drain(): void;
  /** An end that waits (see `end`) stops waiting now, as if its shutdown time ran out, with `reason`. */
  cutShort(reason: ExitReason): void;
  /** True while a started machine is there to check (see `liveness`). */
  readonly live: boolean;
  /** Why the machine is hung, as seen where it runs; undefined while it is alive. */
  liveness(now: number, timeoutMs: number): string | undefined;
  /** The heartbeat found the machine hung: end it (it reports its exit through the process). */
  hang(detail: string): void;
  /**
   * The message handed to the machine whose fate is not known yet (a busy thread may still
   * answer it, or give it back): its request stays open across the end of an incarnation.
   */
  readonly handedOver: AclMessage | undefined;
  /** The machine's current snapshot, when it runs on this thread. */
  snapshot(): unknown;
  /** Holds the machine's own events (timers, children) too; undefined where that is not possible. */
  readonly suspension?: { suspend(): void; resume(): void };
}
