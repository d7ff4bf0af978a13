/**
 * Vitest's global setup: builds dist/ when it is not the compilation of the sources as they are
 * now, so that the worker threads the tests start run compiled JavaScript (a first start in a
 * fraction of a second, not the seconds tsx takes). When the build cannot be made fresh, the
 * threads load TypeScript through tsx, as said here.
 */
import { checkBuild } from '../../src/workers/build-manifest.js';
import { build, ROOT } from './build.js';

const say = (line: string): boolean => process.stderr.write(`troupe global setup: ${line}\n`);

export default async function setup(): Promise<void> {
  const before = checkBuild(ROOT);
  if (before.fresh) return;
  say(`building dist/ for the worker threads (${before.reason})`);
  const started = performance.now();
  const { code, output } = await build(ROOT);
  if (code !== 0) say(`tsc reported errors (npm run typecheck lists them); the tests run anyway:\n${output.trim().split('\n').slice(0, 5).join('\n')}`);
  const after = checkBuild(ROOT);
  if (after.fresh) say(`built in ${((performance.now() - started) / 1_000).toFixed(1)} s`);
  else say(`dist/ is still not fresh (${after.reason}): worker threads will load TypeScript through tsx`);
}
