import { Listeners } from './listeners.js';
import type { ExitReason } from './tree.js';

/** The signal a watcher gets when the agent at a path stops for good, or at once (`noproc`) when nothing lives there. */
export interface Terminated {
  readonly type: 'terminated';
  readonly path: string;
  /** Empty with `noproc`: no incarnation ran. */
  readonly incarnation: string;
  readonly reason: ExitReason;
}

const NOPROC: ExitReason = Object.freeze({ kind: 'noproc' });

/** The watches on paths (Erlang's monitors): who hears `terminated` when what lives at a path stops for good. */
export class Watchers {
  private readonly watchers = new Map<string, Listeners<Terminated>>();

  constructor(
    /** Whether something lives at a path or is about to (see Registry.livesAt). */
    private readonly livesAt: (path: string) => boolean,
    private readonly reportListenerError: (error: unknown) => void,
  ) {}

  /**
   * Calls `listener` once when the node at `path` stops for good. Where nothing lives (and no
   * supervisor is about to start or restart anything), it hears `noproc` as Erlang's monitor
   * does, in a microtask: never inside this call, and not at all once unsubscribed.
   */
  watch(path: string, listener: (signal: Terminated) => void): () => void {
    if (!this.livesAt(path)) return this.tellNoproc(path, listener);
    let listeners = this.watchers.get(path);
    if (listeners === undefined) {
      listeners = new Listeners();
      this.watchers.set(path, listeners);
    }
    const remove = listeners.add(listener);
    const watched = listeners;
    return () => {
      remove();
      // The last watcher gone: drop the path's entry, or watching and unwatching many paths leaks.
      if (!watched.active && this.watchers.get(path) === watched) this.watchers.delete(path);
    };
  }

  private tellNoproc(path: string, listener: (signal: Terminated) => void): () => void {
    let unsubscribed = false;
    queueMicrotask(() => {
      if (unsubscribed) return;
      unsubscribed = true;
      try {
        listener({ type: 'terminated', path, incarnation: '', reason: NOPROC });
      } catch (error) {
        this.reportListenerError(error);
      }
    });
    return () => {
      unsubscribed = true;
    };
  }

  /** A start that was expected at `path` is over: if nothing lives there after all, its watchers hear `noproc`. */
  settle(path: string): void {
    if (this.watchers.has(path) && !this.livesAt(path)) this.notifyTerminated(path, '', NOPROC);
  }

  notifyTerminated(path: string, incarnation: string, reason: ExitReason): void {
    const listeners = this.watchers.get(path);
    if (listeners === undefined) return;
    this.watchers.delete(path);
    listeners.emit({ type: 'terminated', path, incarnation, reason }, this.reportListenerError);
  }
}
