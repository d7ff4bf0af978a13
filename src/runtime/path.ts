import { InvalidPathError } from './errors.js';

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * One name in a path: letters, digits, `_`, `.`, `-`. `.` and `..` alone are refused: paths
 * name agents, they are not file paths, and `/team/../x` silently meaning `/team/..`'s child
 * would surprise.
 */
export function isPathSegment(name: string): boolean {
  return SEGMENT.test(name) && name !== '.' && name !== '..';
}

/** Checks a path such as `/team/planner` and returns it normalised (no trailing slash). */
export function normalizePath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new InvalidPathError(String(path), 'it must start with "/"');
  if (path === '/') return path;
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  for (const segment of trimmed.slice(1).split('/')) {
    if (!isPathSegment(segment)) throw new InvalidPathError(path, `segment ${JSON.stringify(segment)} must be non-empty, use only letters, digits, "_", "." or "-", and not be "." or ".."`);
  }
  return trimmed;
}

export function childPath(parent: string, id: string): string {
  if (!isPathSegment(id)) throw new InvalidPathError(`${parent}/${id}`, `child id ${JSON.stringify(id)} must use only letters, digits, "_", "." or "-"`);
  return parent === '/' ? `/${id}` : `${parent}/${id}`;
}

/** The path of the node whose child `path` would be; undefined for the root. */
export function parentPath(path: string): string | undefined {
  if (path === '/') return undefined;
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}
