/** Runs the project's TypeScript compiler in a child process and collects what it printed. */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

function tscPath(): string {
  return join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
}

export interface Outcome {
  readonly code: number | null;
  readonly output: string;
}

export function tsc(args: readonly string[], cwd?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tscPath(), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', (error) => resolve({ code: 1, output: error.message }));
    child.on('close', (code) => resolve({ code, output }));
  });
}
