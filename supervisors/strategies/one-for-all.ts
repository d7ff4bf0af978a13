/** one-for-all: every child is stopped (in reverse order) and started again (in order). */
export function oneForAll<T>(children: readonly T[], failed: T): T[] {
  return children.includes(failed) ? [...children] : [];
}
