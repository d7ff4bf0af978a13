/**
 * The build of the source tree into dist/ (`npm run build`, and the one vitest's global setup
 * makes when dist/ is not fresh): tsc compiles every source (incrementally, so a rebuild after
 * an edit takes seconds), the inspector page is copied, and dist/build-manifest.json records
 * the sources as they were before tsc read them (src/workers/build-manifest.ts), so that worker
 * threads started from the source tree run their compiled twins while none of those changed.
 *
 *   tsx test/support/build.ts      exits with tsc's code (type errors still emit)
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_PATH, recordSources, writeManifest } from '../../src/workers/build-manifest.js';
import { OUT_DIR, twinUrl } from '../../src/workers/compiled-twin.js';
import { tsc, type Outcome } from './tsc.js';

export const ROOT = new URL('../../', import.meta.url);
const BUILD_INFO = `${OUT_DIR}/tsconfig.tsbuildinfo`;
const SOURCE = /(?<!\.d)\.[mc]?tsx?$/;
/** Test files are compiled too, but no thread loads them: editing one leaves the build fresh. */
const TEST_FILE = /\.test\.[mc]?tsx?$/;

/** The TypeScript files tsc compiles: those under tsconfig.json's `include` folders (node_modules and dot folders aside). */
export function sourcesOf(root: URL): string[] {
  const config = JSON.parse(readFileSync(new URL('tsconfig.json', root), 'utf8')) as { include?: string[] };
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(new URL(folder, root), { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (SOURCE.test(entry.name)) found.push(path);
    }
  };
  for (const folder of config.include ?? []) walk(folder.replace(/\/+$/, ''));
  return found.sort();
}

function compile(root: URL): Promise<Outcome> {
  return tsc(['-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', BUILD_INFO], fileURLToPath(root));
}

export async function build(root: URL = ROOT): Promise<Outcome> {
  const sources = sourcesOf(root);
  // Taken before tsc reads the files: one edited meanwhile will not match, and counts as stale.
  const manifest = recordSources(root, sources.filter((path) => !TEST_FILE.test(path)));
  let outcome = await compile(root);
  // An incremental build does not emit again what its build info says it emitted, even if deleted since.
  if (sources.some((path) => !existsSync(twinUrl(root, path)))) {
    rmSync(new URL(BUILD_INFO, root), { force: true });
    outcome = await compile(root);
  }
  cpSync(new URL('src/inspector/page', root), new URL(`${OUT_DIR}/src/inspector/page`, root), { recursive: true });
  writeManifest(root, manifest);
  return outcome;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { code, output } = await build();
  process.stdout.write(output);
  if (code === 0) process.stdout.write(`built ${OUT_DIR}/ (${MANIFEST_PATH} records its sources)\n`);
  process.exitCode = code ?? 1;
}
