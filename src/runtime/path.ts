import { InvalidPathError } from './errors.js';

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** Checks a path such as `/team/planner` and returns it normalised (no trailing slash). */
export function normalizePath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new InvalidPathError(String(path), 'it must start with "/"');
  if (path === '/') return path;
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  for (const segment of trimmed.slice(1).split('/')) {
    if (!SEGMENT.test(segment)) throw new InvalidPathError(path, `segment ${JSON.stringify(segment)} must be non-empty and use only letters, digits, "_", "." or "-"`);
  }
  return trimmed;
}

export function childPath(parent: string, id: string): string {
  if (!SEGMENT.test(id)) throw new InvalidPathError(`${parent}/${id}`, `child id ${JSON.stringify(id)} must use only letters, digits, "_", "." or "-"`);
  return parent === '/' ? `/${id}` : `${parent}/${id}`;
}
