/**
 * Compiles the project with tsc into a private directory so that the measurements run
 * compiled JavaScript, as XState and nact do (they ship compiled). Running Troupe through tsx
 * instead costs it ~700 bytes per agent: tsx compiles with esbuild's keepNames, whose
 * `__name(fn, ...)` helper redefines `name` on every class-field arrow function, which sends
 * each such function (and the bound copy XState's `actor.on` makes of it) to dictionary mode.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Only worker.ts and what it imports: no test files land in the build for vitest to find. */
const TSCONFIG = fileURLToPath(new URL('./tsconfig.build.json', import.meta.url));
/** Under test/bench so that bare imports (xstate, nact) resolve from the project's node_modules. */
const BUILD_ROOT = fileURLToPath(new URL('./.build/', import.meta.url));

export interface Build {
  /** worker.js inside the build. */
  readonly worker: string;
  remove(): Promise<void>;
}

function tscPath(): string {
  return join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
}

/**
 * Builds into .build/<pid> (one directory per run, so parallel runs do not collide). Type
 * errors elsewhere in the tree do not stop the emit; they are only reported. Resolves
 * undefined, with the reason in `warn`, when no worker.js came out.
 */
export async function buildForBench(warn: (message: string) => void): Promise<Build | undefined> {
  const outDir = join(BUILD_ROOT, String(process.pid));
  const args = [tscPath(), '-p', TSCONFIG, '--outDir', outDir];
  const { code, output } = await run(process.execPath, args);
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

function run(command: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', (error) => resolve({ code: 1, output: error.message }));
    child.on('close', (code) => resolve({ code, output }));
  });
}
