/**
 * The architecture's rules, read off the import graph of src/, actors/ and supervisors/:
 * the kernel (src/runtime) knows nothing above it, src/ reaches actors/ and supervisors/ only
 * from its entry points (the files directly in src/), and no module imports itself back
 * through others (no circle), type imports included.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['src', 'actors', 'supervisors'];
/** What the kernel must not import: everything built on it. */
const ABOVE_THE_KERNEL = ['src/workers/', 'src/inspector/', 'src/protocols/', 'src/system/', 'src/cli/', 'actors/', 'supervisors/'];
const KERNEL = 'src/runtime/';

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

// Static imports and re-exports (`import ... from`, `export ... from`, `import '...'`) and dynamic `import('...')`.
const SPECIFIER = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The project files `file` imports (packages and node: modules left out). */
export function importsOf(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier === undefined || !specifier.startsWith('.')) continue;
    found.push(relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts'));
  }
  return found;
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of FOLDERS.flatMap(sourceFiles)) graph.set(file, importsOf(file, readFileSync(join(ROOT, file), 'utf8')));
  return graph;
}

/** The strongly connected components of more than one file (or a file importing itself): Tarjan's algorithm. */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) as number, index.get(target) as number));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

describe('the import graph', () => {
  const graph = importGraph();

  it('reads every source file and finds the kernel', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect([...graph.keys()].filter((file) => file.startsWith(KERNEL)).length).toBeGreaterThan(10);
    // The reader sees every kind of import: a static one, a re-export and a dynamic one.
    expect(importsOf('src/x.ts', "import { a } from './a.js';\nexport { b } from './b.js';\nimport './c.js';\nconst d = await import('./d.js');")).toEqual(['src/a.ts', 'src/b.ts', 'src/c.ts', 'src/d.ts']);
  });

  it('has a kernel that imports nothing built on it (placements, inspector, protocols, system, actors, supervisors)', () => {
    const breaches = [...graph].flatMap(([file, targets]) => (file.startsWith(KERNEL) ? targets.filter((target) => ABOVE_THE_KERNEL.some((above) => target.startsWith(above))).map((target) => `${file} -> ${target}`) : []));
    expect(breaches).toEqual([]);
  });

  it('reaches actors/ and supervisors/ from src/ only in the entry points (files directly in src/)', () => {
    const breaches = [...graph].flatMap(([file, targets]) =>
      file.startsWith('src/') && file.split('/').length > 2 ? targets.filter((target) => target.startsWith('actors/') || target.startsWith('supervisors/')).map((target) => `${file} -> ${target}`) : [],
    );
    expect(breaches).toEqual([]);
  });

  it('has no import circle', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('finds a circle when there is one', () => {
    const looped = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(circles(looped)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });
});
