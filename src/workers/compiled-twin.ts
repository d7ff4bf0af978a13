/**
 * A module of Troupe's source tree and its compiled twin: `npm run build` (tsc, outDir `dist`)
 * compiles `<root>/<path>.ts` to `<root>/dist/<path>.js`. Compiled JavaScript starts a worker
 * thread in a fraction of the time TypeScript through tsx takes (tsx's loader hooks, not the
 * transpiling, cost most of it), so a thread started from the source tree runs the twins while
 * the build is fresh (build-manifest.ts says when).
 */
/** tsc's outDir in tsconfig.json. */
export const OUT_DIR = 'dist';

const TYPESCRIPT = /\.([mc]?)tsx?$/;
const WORKERS_DIR = '/src/workers/';

/**
 * Where this copy of Troupe runs from: its source tree (`<root>/src/workers/*.ts`), the twin
 * build of a source tree (`<root>/dist/src/workers/*.js`), or anywhere else (an installed
 * package, the benchmark's private build).
 */
export type Origin = { readonly kind: 'source' | 'twin'; readonly root: URL } | { readonly kind: 'compiled' };

/** `here` is the URL of a module in src/workers (this one, the pool, the thread's entry). */
export function originOf(here: string): Origin {
  const workers = here.lastIndexOf(WORKERS_DIR);
  if (workers < 0) return { kind: 'compiled' };
  const base = here.slice(0, workers + 1);
  if (TYPESCRIPT.test(here)) return { kind: 'source', root: new URL(base) };
  if (base.endsWith(`/${OUT_DIR}/`)) return { kind: 'twin', root: new URL(`../`, base) };
  return { kind: 'compiled' };
}

/** The path from `root` of a TypeScript source under it (outside dist and node_modules), for a module URL. */
export function sourcePathOf(root: URL, url: string): string | undefined {
  if (!url.startsWith(root.href) || !TYPESCRIPT.test(url) || url.includes('?') || url.includes('#')) return undefined;
  const path = decodeURIComponent(url.slice(root.href.length));
  if (path.startsWith(`${OUT_DIR}/`) || path.split('/').includes('node_modules')) return undefined;
  return path;
}

/** The twin's path from the root: `test/a.ts` → `dist/test/a.js` (`.mts` → `.mjs`). */
export function twinPath(sourcePath: string): string {
  return `${OUT_DIR}/${sourcePath.replace(TYPESCRIPT, '.$1js')}`;
}

export function twinUrl(root: URL, sourcePath: string): URL {
  return new URL(twinPath(sourcePath), root);
}
