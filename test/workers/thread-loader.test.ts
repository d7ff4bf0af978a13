/**
 * What a worker thread loads: the compiled twin of a source module while the build of its
 * tree is fresh, else TypeScript through tsx, with the reason. Each test builds a small
 * source tree of its own (sources, twins, manifest) in a temporary folder.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBuild, MANIFEST_PATH, recordSources, writeManifest } from '../../src/workers/build-manifest.js';
import { originOf, sourcePathOf, twinPath, type Origin } from '../../src/workers/compiled-twin.js';
import { canHost, kindFor, moduleToImport } from '../../src/workers/thread-loader.js';

const SOURCES = ['src/index.ts', 'src/workers/worker-host.ts', 'test/agents.ts'];
const folders: string[] = [];

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A tree whose sources are compiled (twins written) and recorded, as `npm run build` leaves it. */
function builtTree(): URL {
  const folder = mkdtempSync(join(tmpdir(), 'troupe-twins-'));
  folders.push(folder);
  const root = pathToFileURL(`${folder}/`);
  for (const path of SOURCES) write(root, path, `export const name = ${JSON.stringify(path)};\n`);
  const manifest = recordSources(root, SOURCES);
  for (const path of SOURCES) write(root, twinPath(path), `export const name = ${JSON.stringify(path)};\n`);
  writeManifest(root, manifest);
  return root;
}

function write(root: URL, path: string, text: string): void {
  const file = new URL(path, root);
  mkdirSync(new URL('.', file), { recursive: true });
  writeFileSync(file, text);
}

const source = (root: URL): Origin => ({ kind: 'source', root });
const twin = (root: URL): Origin => ({ kind: 'twin', root });
const agents = (root: URL): string => new URL('test/agents.ts', root).href;

describe('compiled twins', () => {
  it('knows where Troupe runs from: its source tree, the twin build of one, or elsewhere', () => {
    expect(originOf('file:///p/src/workers/pool.ts')).toEqual({ kind: 'source', root: new URL('file:///p/') });
    expect(originOf('file:///p/dist/src/workers/pool.js')).toEqual({ kind: 'twin', root: new URL('file:///p/') });
    expect(originOf('file:///p/test/bench/.build/12/src/workers/pool.js')).toEqual({ kind: 'compiled' });
    expect(originOf('file:///app/node_modules/troupe/lib/pool.js')).toEqual({ kind: 'compiled' });
  });

  it('maps a TypeScript source of the tree to its twin, and nothing else', () => {
    const root = new URL('file:///p/');
    expect(sourcePathOf(root, 'file:///p/test/workers/agents.ts')).toBe('test/workers/agents.ts');
    expect(twinPath('test/workers/agents.ts')).toBe('dist/test/workers/agents.js');
    expect(twinPath('src/a.mts')).toBe('dist/src/a.mjs');
    expect(twinPath('src/a.tsx')).toBe('dist/src/a.js');
    for (const url of ['file:///p/test/a.js', 'file:///q/a.ts', 'file:///p/dist/test/a.ts', 'file:///p/node_modules/x/a.ts', 'file:///p/a.ts?v=2']) expect(sourcePathOf(root, url)).toBeUndefined();
  });
});

describe('build manifest', () => {
  it('finds a freshly built tree fresh, with the sources it compiled', () => {
    const build = checkBuild(builtTree());
    expect(build).toEqual({ fresh: true, sources: new Set(SOURCES) });
  });

  it('finds a tree without a build stale, and says so', () => {
    const root = builtTree();
    rmSync(new URL(MANIFEST_PATH, root));
    expect(checkBuild(root)).toEqual({ fresh: false, reason: `there is no build of the source tree (no ${MANIFEST_PATH})` });
  });

  it('finds a source edited after the build stale, by its content', () => {
    const root = builtTree();
    write(root, 'test/agents.ts', 'export const name = "edited after the build";\n');
    expect(checkBuild(root)).toEqual({ fresh: false, reason: 'test/agents.ts changed since the build' });
  });

  it('finds a source edited while tsc ran stale: its digest is taken before', () => {
    const folder = mkdtempSync(join(tmpdir(), 'troupe-twins-'));
    folders.push(folder);
    const root = pathToFileURL(`${folder}/`);
    for (const path of SOURCES) write(root, path, 'export {};\n');
    const manifest = recordSources(root, SOURCES);
    write(root, 'src/index.ts', 'export const during = "the compile";\n');
    for (const path of SOURCES) write(root, twinPath(path), 'export {};\n');
    writeManifest(root, manifest);
    expect(checkBuild(root)).toEqual({ fresh: false, reason: 'src/index.ts changed since the build' });
  });

  it('keeps a source only touched (a checkout) fresh', () => {
    const root = builtTree();
    const later = new Date(Date.now() + 60_000);
    utimesSync(new URL('test/agents.ts', root), later, later);
    expect(checkBuild(root)).toMatchObject({ fresh: true });
  });

  it('finds a deleted source or a missing twin stale', () => {
    const deleted = builtTree();
    rmSync(new URL('src/index.ts', deleted));
    expect(checkBuild(deleted)).toEqual({ fresh: false, reason: 'src/index.ts was deleted or moved since the build' });
    const lost = builtTree();
    rmSync(new URL('dist/test/agents.js', lost));
    expect(checkBuild(lost)).toEqual({ fresh: false, reason: 'dist/test/agents.js, the compilation of test/agents.ts, is missing' });
  });

  it('refuses a manifest naming files outside the tree, or malformed', () => {
    const root = builtTree();
    write(root, MANIFEST_PATH, JSON.stringify({ version: 1, sources: { '../../etc/secret.ts': { size: 1, mtimeMs: 1, sha1: 'x' } } }));
    expect(checkBuild(root)).toEqual({ fresh: false, reason: `${MANIFEST_PATH} is not a build manifest of this version` });
    write(root, MANIFEST_PATH, '{ not json');
    expect(checkBuild(root)).toEqual({ fresh: false, reason: `${MANIFEST_PATH} is not a build manifest of this version` });
  });
});

describe('thread loader', () => {
  it('runs a module of a fresh source tree on a compiled thread, which imports its twin', () => {
    const root = builtTree();
    expect(kindFor(agents(root), source(root))).toEqual({ kind: 'compiled' });
    expect(moduleToImport(agents(root), twin(root))).toBe(new URL('dist/test/agents.js', root).href);
  });

  it('loads a module through tsx once any source changed since the build, and says which', () => {
    const root = builtTree();
    write(root, 'src/index.ts', 'export const name = "a newer Troupe";\n');
    expect(kindFor(agents(root), source(root))).toEqual({ kind: 'typescript', reason: 'src/index.ts changed since the build' });
    // A compiled thread asked for it anyway imports the source, which fails loudly rather than running the old twin.
    expect(moduleToImport(agents(root), twin(root))).toBe(agents(root));
  });

  it('loads through tsx a TypeScript module the build did not compile, or one outside the tree', () => {
    const root = builtTree();
    expect(kindFor(new URL('test/new-agents.ts', root).href, source(root))).toEqual({ kind: 'typescript', reason: 'test/new-agents.ts is not part of the build' });
    expect(kindFor('file:///elsewhere/agents.ts', source(root))).toEqual({ kind: 'typescript', reason: 'file:///elsewhere/agents.ts is TypeScript outside the source tree' });
    expect(kindFor('file:///elsewhere/agents.js', source(root))).toEqual({ kind: 'compiled' });
    expect(moduleToImport('file:///elsewhere/agents.ts', twin(root))).toBe('file:///elsewhere/agents.ts');
  });

  it('from the compiled package, loads a TypeScript module through tsx and never maps it', () => {
    expect(kindFor('file:///app/agents.ts', { kind: 'compiled' })).toEqual({ kind: 'typescript' });
    expect(moduleToImport('file:///app/agents.ts', { kind: 'compiled' })).toBe('file:///app/agents.ts');
  });

  it('imports a module as given on a thread that runs Troupe from source', () => {
    const root = builtTree();
    expect(moduleToImport(agents(root), source(root))).toBe(agents(root));
  });

  it('puts a module that needs tsx only on a tsx thread; a tsx thread loads anything', () => {
    expect(canHost('typescript', 'typescript')).toBe(true);
    expect(canHost('typescript', 'compiled')).toBe(true);
    expect(canHost('compiled', 'compiled')).toBe(true);
    expect(canHost('compiled', 'typescript')).toBe(false);
  });
});
