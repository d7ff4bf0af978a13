/**
 * What a worker thread starts from and how it loads an agent's module.
 *
 * A `compiled` thread runs JavaScript only: Troupe compiled (the package, or the twin build of
 * the source tree while that build is fresh) and agent modules that are JavaScript or have a
 * fresh twin. A `typescript` thread first registers tsx's ESM loader and loads anything; Node 20
 * runs TypeScript in a worker only through a loader registered inside it (`--import` in a
 * worker's execArgv does not reach its entry). It costs: tsx's loader hooks make a thread's
 * first start take seconds where a compiled one takes a fraction of a second.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { checkBuild } from './build-manifest.js';
import { originOf, sourcePathOf, twinUrl, type Origin } from './compiled-twin.js';
import { AgentModuleError } from './worker-errors.js';

export type ThreadKind = 'compiled' | 'typescript';

export interface KindChoice {
  readonly kind: ThreadKind;
  /** Why a thread of a source tree loads TypeScript instead of the compiled twins. */
  readonly reason?: string;
}

const TYPESCRIPT = /\.[mc]?tsx?$/;
const here = import.meta.url;
/** Where this copy of Troupe runs from (tests pass another origin to the functions below). */
const HERE: Origin = originOf(here);
/** Started through tsx (`tsx app.ts`, `--import tsx`): agent modules may be TypeScript wherever Troupe itself comes from. */
const underTsx = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((argument) => argument.includes('tsx'));

/** The kind of thread that can load `module` now. */
export function kindFor(module: string, origin: Origin = HERE): KindChoice {
  if (origin.kind !== 'source') return { kind: underTsx || TYPESCRIPT.test(module) ? 'typescript' : 'compiled' };
  const build = checkBuild(origin.root);
  if (!build.fresh) return { kind: 'typescript', reason: build.reason };
  const path = sourcePathOf(origin.root, module);
  if (path === undefined) return TYPESCRIPT.test(module) ? { kind: 'typescript', reason: `${module} is TypeScript outside the source tree` } : { kind: 'compiled' };
  return build.sources.has(path) ? { kind: 'compiled' } : { kind: 'typescript', reason: `${path} is not part of the build` };
}

/** Whether a thread of kind `host` can load a module that needs a thread of kind `needed`. */
export function canHost(host: ThreadKind, needed: ThreadKind): boolean {
  return host === 'typescript' || needed === 'compiled';
}

/** The URL a thread of `kind` starts from: Troupe's worker host, compiled, or through tsx. */
export function threadEntry(kind: ThreadKind): URL {
  if (HERE.kind === 'source') return kind === 'compiled' ? twinUrl(HERE.root, 'src/workers/worker-host.ts') : typescriptBootstrap(new URL('./worker-host.ts', here));
  const entry = new URL('./worker-host.js', here);
  return kind === 'compiled' ? entry : typescriptBootstrap(entry);
}

/**
 * In a worker thread, the URL to import for an agent module. A thread running the twin build
 * imports the twin of a module of the same source tree while the build is fresh, so that the
 * module and Troupe are one instance, compiled (the twin imports Troupe's twins); otherwise the
 * module as given (the pool puts a module without a fresh twin on a `typescript` thread).
 */
export function moduleToImport(url: string, origin: Origin = HERE): string {
  if (origin.kind !== 'twin') return url;
  const path = sourcePathOf(origin.root, url);
  if (path === undefined) return url;
  const build = checkBuild(origin.root);
  return build.fresh && build.sources.has(path) ? twinUrl(origin.root, path).href : url;
}

/** A data: URL that registers tsx's ESM API in the thread, then imports `entry`. */
function typescriptBootstrap(entry: URL): URL {
  let api: string;
  try {
    const require = createRequire(here);
    const manifest = require.resolve('tsx/package.json');
    const exports = (require(manifest) as { exports: Record<string, { import?: { default?: string } }> }).exports;
    const path = exports['./esm/api']?.import?.default;
    if (path === undefined) throw new Error('tsx does not export ./esm/api for import');
    api = new URL(path, pathToFileURL(manifest)).href;
  } catch (error) {
    throw new AgentModuleError('placement worker: a TypeScript agent module (or Troupe run from source without a fresh build) needs tsx to load in a worker thread; install tsx 4, or compile to JavaScript (`npm run build` in Troupe\'s own tree)', { cause: error });
  }
  const code = `import { register } from ${JSON.stringify(api)};\nregister();\nawait import(${JSON.stringify(entry.href)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
