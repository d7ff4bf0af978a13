import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as troupe from '../../src/index.js';
import { ANSWER_REASONS, ERROR_CLASSES } from '../../src/runtime/error-catalogue.js';
import { currentErrorTables, renderErrorTables } from './errors-table.js';

const README = new URL('../../README.md', import.meta.url);
const exported = troupe as unknown as Readonly<Record<string, unknown>>;

function isErrorClass(value: unknown): value is abstract new (...args: never[]) => Error {
  return typeof value === 'function' && (value === troupe.TroupeError || value.prototype instanceof troupe.TroupeError);
}

/** The relative imports of a source file. */
function projectImports(file: string): string[] {
  const text = readFileSync(new URL(`../../src/runtime/${file}`, import.meta.url), 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?from\s+'([^']+)'/gms)].map((match) => match[1] as string).filter((path) => path.startsWith('.'));
}

describe('the error catalogue', () => {
  it('is what the README shows: its tables are generated from it (run npm run docs:errors after changing it)', () => {
    expect(currentErrorTables(readFileSync(README, 'utf8'))).toBe(renderErrorTables());
  });

  it('names every error class exported from troupe, with its real superclass', () => {
    for (const [name, entry] of Object.entries(ERROR_CLASSES)) {
      const cls = exported[name];
      expect(isErrorClass(cls), `${name} is exported and is a TroupeError`).toBe(true);
      const parent = entry.extends === null ? Error : exported[entry.extends];
      expect(Object.getPrototypeOf(cls), `${name} extends ${String(entry.extends)}`).toBe(parent);
    }
  });

  it('leaves out no exported TroupeError class', () => {
    const exportedClasses = Object.entries(exported)
      .filter(([, value]) => isErrorClass(value))
      .map(([name]) => name);
    expect(exportedClasses.filter((name) => !(name in ERROR_CLASSES))).toEqual([]);
  });

  it('says for every code and reason what it means and what to do', () => {
    const entries = [...Object.values(ERROR_CLASSES).flatMap((entry) => Object.values(entry.codes)), ...Object.values(ANSWER_REASONS)];
    for (const entry of entries) {
      expect(entry.means.length).toBeGreaterThan(10);
      expect(entry.remedy.length).toBeGreaterThan(5);
    }
  });

  it('keeps the errors module a leaf: it imports only the catalogue, which imports nothing', () => {
    expect(projectImports('errors.ts')).toEqual(['./error-catalogue.js']);
    expect(projectImports('error-catalogue.ts')).toEqual([]);
  });
});
