/** A promise opened from outside: tests wait on it instead of sleeping. */
export interface Latch<T = void> {
  readonly promise: Promise<T>;
  readonly settled: boolean;
  open(value: T): void;
}

export function latch<T = void>(): Latch<T> {
  let open!: (value: T) => void;
  let settled = false;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return {
    promise,
    get settled() {
      return settled;
    },
    open(value: T) {
      settled = true;
      open(value);
    },
  };
}
