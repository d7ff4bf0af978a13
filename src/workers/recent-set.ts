/**
 * A set that keeps only its most recent `capacity` entries, the oldest forgotten first: for
 * what the main thread remembers about a thread's past (paths placed there, requests routed to
 * its ports) without growing with the thread's age.
 */
export class RecentSet<T> {
  private readonly entries = new Set<T>();

  constructor(private readonly capacity: number) {}

  add(value: T): void {
    // Added again: it is recent again.
    this.entries.delete(value);
    this.entries.add(value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.values().next().value as T);
  }

  has(value: T): boolean {
    return this.entries.has(value);
  }

  delete(value: T): boolean {
    return this.entries.delete(value);
  }
}
