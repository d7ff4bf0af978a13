/**
 * Runs one measurement in a child process (worker.ts) with --expose-gc: every framework gets
 * a fresh heap and JIT, heap-per-agent can force GC, and a hang or crash stays contained.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkBuild } from '../../src/workers/build-manifest.js';
import { sourcePathOf, twinUrl } from '../../src/workers/compiled-twin.js';
import type { Measurement, RunOptions } from './runner.js';

const ROOT = new URL('../../', import.meta.url);
const WORKER_SOURCE = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Node arguments that start the worker: compiled (see build.ts), or from source through tsx. */
export function workerCommand(compiledWorker: string | undefined): string[] {
  // tsx is resolved here, not by the child, which would look it up from its working directory.
  return compiledWorker === undefined ? ['--import', import.meta.resolve('tsx'), WORKER_SOURCE] : [compiledWorker];
}

/**
 * Node arguments that run a script next to the module `from` (`sibling` without its
 * extension): its compiled .js when `from` is compiled; from source, the script's twin in a
 * fresh dist/, else the .ts through tsx.
 */
export function siblingCommand(sibling: string, from: string): string[] {
  if (!from.endsWith('.ts')) return [fileURLToPath(new URL(`${sibling}.js`, from))];
  const source = new URL(`${sibling}.ts`, from);
  const path = sourcePathOf(ROOT, source.href);
  const dist = checkBuild(ROOT);
  if (path !== undefined && dist.fresh && dist.sources.has(path)) return [fileURLToPath(twinUrl(ROOT, path))];
  return ['--import', import.meta.resolve('tsx'), fileURLToPath(source)];
}

export function measureInChild(worker: readonly string[], scenario: string, framework: string, options: RunOptions, timeoutMs: number): Promise<Measurement> {
  const args = ['--expose-gc', ...worker, scenario, framework, String(options.size), String(options.warmups), String(options.repetitions)];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(outcome(stdout, stderr, code, signal, timeoutMs));
    });
  });
}

function outcome(stdout: string, stderr: string, code: number | null, signal: NodeJS.Signals | null, timeoutMs: number): Measurement {
  if (signal === 'SIGKILL') return { ok: false, error: `timed out after ${timeoutMs / 1_000} s (hung or too slow)` };
  const last = stdout.trim().split('\n').pop() ?? '';
  const parsed = parseMeasurement(last);
  if (parsed !== undefined) return parsed;
  const detail = stderr.trim().split('\n').slice(-3).join(' | ') || `exit code ${String(code)}, signal ${String(signal)}`;
  return { ok: false, error: `worker died: ${detail}` };
}

/** The worker's last stdout line, if it is a Measurement. */
function parseMeasurement(line: string): Measurement | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const candidate = value as { ok?: unknown; median?: unknown; samples?: unknown; error?: unknown };
  if (candidate.ok === true && typeof candidate.median === 'number' && Array.isArray(candidate.samples)) return candidate as Measurement;
  if (candidate.ok === false && typeof candidate.error === 'string') return candidate as Measurement;
  return undefined;
}
