import { RecentSet } from './recent-set.js';

/** How many departed paths a thread's record keeps (see PlacedAgents.wasPlaced). */
const REMEMBERED_DEPARTURES = 4_096;

/**
 * The agents placed on one worker thread, by path (the pool places them, executors remove
 * them when they stop), remembering the paths that left. A thread may still speak for an agent
 * that has left it (a late answer, a last log line: a dead letter or a line like any other),
 * but never for one that was never placed there: that is a forgery (see wire-check.ts).
 */
export class PlacedAgents<A> extends Map<string, A> {
  private readonly departed = new RecentSet<string>(REMEMBERED_DEPARTURES);

  override set(path: string, agent: A): this {
    this.departed.delete(path);
    return super.set(path, agent);
  }

  override delete(path: string): boolean {
    const deleted = super.delete(path);
    if (deleted) this.departed.add(path);
    return deleted;
  }

  override clear(): void {
    for (const path of this.keys()) this.departed.add(path);
    super.clear();
  }

  /** Whether an agent at `path` is placed on the thread or was (among the last REMEMBERED_DEPARTURES to leave). */
  wasPlaced(path: string): boolean {
    return this.has(path) || this.departed.has(path);
  }
}
