/**
 * The README's error tables, rendered from the error catalogue (src/runtime/error-catalogue.ts).
 * `npm run docs:errors` writes them between the markers; errors-table.test.ts fails when the
 * README's copy differs, so the tables cannot drift from the codes the code throws.
 */
import { ANSWER_REASONS, ERROR_CLASSES, type ClassEntry, type ReasonEntry } from '../../src/runtime/error-catalogue.js';

export const BEGIN_MARKER = '<!-- errors:begin (generated from src/runtime/error-catalogue.ts by `npm run docs:errors`; edit the catalogue, not these tables) -->';
export const END_MARKER = '<!-- errors:end -->';

const SOURCES: Readonly<Record<ReasonEntry['from'][number], string>> = { runtime: 'the runtime', 'llm-agent': 'LLM agents', 'contract-net': 'contract net' };

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
}

const classes = Object.entries(ERROR_CLASSES) as [string, ClassEntry][];

function classTable(): string {
  return table(
    ['Class', 'Extends', 'What it is'],
    classes.map(([name, entry]) => [`\`${name}\``, `\`${entry.extends ?? 'Error'}\``, entry.about]),
  );
}

function codeTable(): string {
  const rows = classes.flatMap(([name, entry]) => Object.entries(entry.codes).map(([code, about]) => [`\`${code}\``, `\`${name}\``, about.means, about.remedy]));
  return table(['`code`', 'Class', 'Means', 'What to do'], rows);
}

function reasonTable(): string {
  const rows = (Object.entries(ANSWER_REASONS) as [string, ReasonEntry][]).map(([reason, entry]) => [`\`${reason}\``, `\`${entry.answer}\``, entry.from.map((source) => SOURCES[source]).join(', '), entry.means, entry.remedy]);
  return table(['`reason`', 'Answer', 'From', 'Means', 'What to do'], rows);
}

/** The generated block, markers included. */
export function renderErrorTables(): string {
  return [
    BEGIN_MARKER,
    classTable(),
    '',
    'Codes, by class (a code may belong to two classes, as `already-started`):',
    '',
    codeTable(),
    '',
    'Reasons in the `{ reason, detail }` content of the `failure` and `not-understood` answers Troupe sends (`ReplyError.reason` reads it):',
    '',
    reasonTable(),
    END_MARKER,
  ].join('\n');
}

function blockBounds(readme: string): { readonly begin: number; readonly end: number } {
  const begin = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error(`the README has no error tables between ${BEGIN_MARKER} and ${END_MARKER}; put the two markers where the tables go`);
  return { begin, end: end + END_MARKER.length };
}

/** The block between the markers of `readme`, markers included. */
export function currentErrorTables(readme: string): string {
  const { begin, end } = blockBounds(readme);
  return readme.slice(begin, end);
}

/** `readme` with the block between the markers replaced by the rendered tables. */
export function withErrorTables(readme: string): string {
  const { begin, end } = blockBounds(readme);
  return readme.slice(0, begin) + renderErrorTables() + readme.slice(end);
}
