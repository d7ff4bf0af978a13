/**
 * The project compiled with tsc, so that the measurements run compiled JavaScript, as XState
 * and nact do (they ship compiled). Running Troupe through tsx instead costs it ~700 bytes per agent: tsx compiles with esbuild's keepNames, whose
 * `__name(fn, ...)` helper redefines `name` on every class-field arrow function, which sends
 * each such function (and the bound copy XState's `actor.on` makes of it) to dictionary mode.
 */
import { existsSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBuild } from '../../src/workers/build-manifest.js';
import { twinUrl } from '../../src/workers/compiled-twin.js';
import { tsc } from '../support/tsc.js';

/** Only worker.ts and what it imports: no test files land in the build for vitest to find. */
const TSCONFIG = fileURLToPath(new URL('./tsconfig.build.json', import.meta.url));
const ROOT = new URL('../../', import.meta.url);
/** Under test/bench so that bare imports (xstate, nact) resolve from the project's node_modules. */
const BUILD_ROOT = fileURLToPath(new URL('./.build/', import.meta.url));

export interface Build {
  /** worker.js inside the build. */
  readonly worker: string;
  remove(): Promise<void>;
}

/**
 * The project's own build in dist/ when it is fresh (`npm run build`, or the one vitest makes
 * before the tests), else a build into .build/<pid> (one directory per run, so parallel runs
 * do not collide). Type errors elsewhere in the tree do not stop the emit; they are only
 * reported. Resolves undefined, with the reason in `warn`, when no worker.js came out.
 */
export async function buildForBench(warn: (message: string) => void): Promise<Build | undefined> {
  const dist = checkBuild(ROOT);
  if (dist.fresh && dist.sources.has('test/bench/worker.ts')) return { worker: fileURLToPath(twinUrl(ROOT, 'test/bench/worker.ts')), remove: async () => undefined };
  const outDir = join(BUILD_ROOT, String(process.pid));
  const { code, output } = await tsc(['-p', TSCONFIG, '--outDir', outDir]);
  const worker = join(outDir, 'test', 'bench', 'worker.js');
  const remove = async (): Promise<void> => {
    await rm(outDir, { recursive: true, force: true });
    // Left only if another run is using it (ENOTEMPTY).
    await rmdir(BUILD_ROOT).catch(() => undefined);
  };
  if (code !== 0) warn(`tsc reported errors (the build is used anyway):\n${output.trim().split('\n').slice(0, 10).join('\n')}`);
  if (!existsSync(worker)) {
    warn('tsc emitted no worker.js; measuring through tsx instead');
    await remove();
    return undefined;
  }
  return { worker, remove };
}
