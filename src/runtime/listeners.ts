/** A set of listeners that costs nothing to emit into while nobody listens. */
export class Listeners<E> {
  private set: Set<(event: E) => void> | undefined;

  get active(): boolean {
    return this.set !== undefined && this.set.size > 0;
  }

  add(listener: (event: E) => void): () => void {
    (this.set ??= new Set()).add(listener);
    return () => {
      this.set?.delete(listener);
    };
  }

  /** Calls every listener; a listener that throws is reported to `onError`, never to its peers. */
  emit(event: E, onError: (error: unknown) => void): void {
    if (this.set === undefined) return;
    for (const listener of this.set) {
      try {
        listener(event);
      } catch (error) {
        onError(error);
      }
    }
  }

  clear(): void {
    this.set = undefined;
  }
}
