/**
 * The record a build of the source tree leaves in dist/build-manifest.json: each compiled
 * source's size, modification time and SHA-1, taken before tsc read it. The build is fresh
 * while every recorded source still has that content and its twin exists. A changed source is
 * found by its digest: one only touched (a checkout) is still fresh, one edited after the build
 * (or while tsc ran) is not, so a thread never runs a twin older than its source.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OUT_DIR, twinPath, twinUrl } from './compiled-twin.js';

export const MANIFEST_PATH = `${OUT_DIR}/build-manifest.json`;

export interface SourceRecord {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha1: string;
}

export interface BuildManifest {
  readonly version: 1;
  /** By path from the root, `/`-separated: `src/index.ts`. */
  readonly sources: Readonly<Record<string, SourceRecord>>;
}

export type BuildState = { readonly fresh: true; readonly sources: ReadonlySet<string> } | { readonly fresh: false; readonly reason: string };

/** Digests by file, reused while the file's size and modification time stay the same. */
const digests = new Map<string, SourceRecord>();

function recordOf(file: string): SourceRecord {
  const { size, mtimeMs } = statSync(file);
  const known = digests.get(file);
  if (known?.size === size && known.mtimeMs === mtimeMs) return known;
  const record = { size, mtimeMs, sha1: createHash('sha1').update(readFileSync(file)).digest('hex') };
  digests.set(file, record);
  return record;
}

/** The digest of a file now; undefined when it cannot be read (it then counts as changed). */
function digestOf(file: string): string | undefined {
  try {
    return recordOf(file).sha1;
  } catch {
    return undefined;
  }
}

const fileOf = (root: URL, path: string): string => fileURLToPath(new URL(path, root));

/** The manifest of a build about to compile `paths` (from the root): call it before the compiler reads them. */
export function recordSources(root: URL, paths: readonly string[]): BuildManifest {
  const sources: Record<string, SourceRecord> = {};
  for (const path of paths) sources[path] = recordOf(fileOf(root, path));
  return { version: 1, sources };
}

/** Written whole or not at all (a rename), so a reader never sees half a manifest. */
export function writeManifest(root: URL, manifest: BuildManifest): void {
  const target = fileOf(root, MANIFEST_PATH);
  const partial = `${target}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(manifest)}\n`);
  renameSync(partial, target);
}

/** Whether dist/ holds the compilation of the sources as they are now, and if not, the first reason found. */
export function checkBuild(root: URL): BuildState {
  const manifest = readManifest(root);
  if (typeof manifest === 'string') return { fresh: false, reason: manifest };
  for (const [path, recorded] of Object.entries(manifest.sources)) {
    const reason = staleness(root, path, recorded);
    if (reason !== undefined) return { fresh: false, reason };
  }
  return { fresh: true, sources: new Set(Object.keys(manifest.sources)) };
}

/** The manifest, or why there is none to trust. */
function readManifest(root: URL): BuildManifest | string {
  let text: string;
  try {
    text = readFileSync(fileOf(root, MANIFEST_PATH), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return `there is no build of the source tree (no ${MANIFEST_PATH})`;
    return `${MANIFEST_PATH} cannot be read: ${(error as Error).message}`;
  }
  try {
    const manifest = JSON.parse(text) as unknown;
    if (isManifest(manifest)) return manifest;
  } catch {
    // Reported below with the malformed case.
  }
  return `${MANIFEST_PATH} is not a build manifest of this version`;
}

const SOURCE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[^\\]+\.[mc]?tsx?$/;

function isManifest(value: unknown): value is BuildManifest {
  if (typeof value !== 'object' || value === null) return false;
  const { version, sources } = value as { version?: unknown; sources?: unknown };
  if (version !== 1 || typeof sources !== 'object' || sources === null) return false;
  return Object.entries(sources).every(([path, record]) => SOURCE_PATH.test(path) && isRecord(record));
}

function isRecord(value: unknown): value is SourceRecord {
  const { size, mtimeMs, sha1 } = (value ?? {}) as Partial<Record<keyof SourceRecord, unknown>>;
  return typeof size === 'number' && typeof mtimeMs === 'number' && typeof sha1 === 'string';
}

function staleness(root: URL, path: string, recorded: SourceRecord): string | undefined {
  const file = fileOf(root, path);
  let current: { size: number; mtimeMs: number };
  try {
    current = statSync(file);
  } catch {
    return `${path} was deleted or moved since the build`;
  }
  const untouched = current.size === recorded.size && current.mtimeMs === recorded.mtimeMs;
  if (!untouched && digestOf(file) !== recorded.sha1) return `${path} changed since the build`;
  if (!existsSync(twinUrl(root, path))) return `${twinPath(path)}, the compilation of ${path}, is missing`;
  return undefined;
}
