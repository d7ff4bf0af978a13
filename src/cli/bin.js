#!/usr/bin/env node
// The `troupe` command. npm's "bin" must be JavaScript: in a source checkout (npm ci, no build)
// the TypeScript CLI runs through tsx; an installed package runs its compiled copy in dist/.
import { existsSync } from 'node:fs';

const source = new URL('./troupe.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import(new URL('../../dist/src/cli/troupe.js', import.meta.url).href);
}
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());
const code = await cli.main(process.argv.slice(2), undefined, controller.signal, process.stdin);
// Standard input may still be open (a terminal): the command is done, so is the process.
process.exit(code);
