/** rest-for-one: the child that exited and every child started after it. */
export function restForOne<T>(children: readonly T[], failed: T): T[] {
  const index = children.indexOf(failed);
  return index < 0 ? [] : children.slice(index);
}
