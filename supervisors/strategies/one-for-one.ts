/** one-for-one: only the child that exited is restarted. */
export function oneForOne<T>(children: readonly T[], failed: T): T[] {
  return children.includes(failed) ? [failed] : [];
}
