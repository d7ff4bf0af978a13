/** `npm run docs:errors`: rewrites the README's error tables from the error catalogue. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withErrorTables } from './errors-table.js';

const README = new URL('../../README.md', import.meta.url);
const before = readFileSync(README, 'utf8');
const after = withErrorTables(before);
if (after === before) console.log('README.md: the error tables are up to date');
else {
  writeFileSync(README, after);
  console.log('README.md: error tables rewritten from src/runtime/error-catalogue.ts');
}
