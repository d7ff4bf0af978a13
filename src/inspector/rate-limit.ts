/**
 * Rate limits of the inspector (token buckets, from the runtime): state kept per remote address in a map
 * that forgets the least recently seen addresses past a bound (a server open to a network
 * must not grow a map entry per address that ever knocked).
 */

/** Addresses remembered at most (the least recently seen are forgotten first). */
const MAX_ADDRESSES = 1_024;

export class PerAddress<T> {
  private readonly entries = new Map<string, T>();

  constructor(private readonly create: () => T) {}

  get(address: string): T {
    const known = this.entries.get(address);
    if (known !== undefined) {
      // Most recently seen last: the first entry is always the one to forget.
      this.entries.delete(address);
      this.entries.set(address, known);
      return known;
    }
    const created = this.create();
    this.entries.set(address, created);
    if (this.entries.size > MAX_ADDRESSES) this.entries.delete(this.entries.keys().next().value as string);
    return created;
  }
}

/** One key per machine: `::ffff:127.0.0.1` and `127.0.0.1` are the same client address. */
export function addressOf(remote: string | undefined): string {
  if (remote === undefined) return 'unknown';
  return remote.startsWith('::ffff:') ? remote.slice('::ffff:'.length) : remote;
}
