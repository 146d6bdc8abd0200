// @ts-check
/**
 * After a run (`npm run mutation`): every mutant that survived, or that no test ran, must be named in
 * {@link NAMED_SURVIVORS} as equivalent, with its reason. Lists the others and exits 1.
 *
 * A mutant is named by its file, mutator, the code it changes, a piece of the line that code starts on, and its
 * replacement (whitespace collapsed), not by its line number, which moves with every edit. Use this list only for a mutant that shares its node
 * with mutants the tests kill; a node whose every mutant is equivalent goes in EQUIVALENT_MUTANTS
 * (stryker/ignore-log-messages.mjs), which is not mutated at all.
 *
 *   node stryker/check-survivors.mjs [reports/mutation/mutation.json]
 */
import { readFileSync } from 'node:fs';
import { NAMED_SURVIVORS } from './named-survivors.mjs';

/** @param {string} text */
const collapse = (text) => text.replace(/\s+/g, ' ').trim();

/**
 * The source a mutant changes (Stryker's locations: lines and columns from 1, the end column exclusive).
 * @param {string[]} lines
 * @param {{ start: { line: number; column: number }; end: { line: number; column: number } }} location
 */
function originalOf(lines, { start, end }) {
  const text = lines.slice(start.line - 1, end.line).join('\n');
  const from = start.column - 1;
  const to = text.length - (lines[end.line - 1].length - (end.column - 1));
  return text.slice(from, to);
}

/**
 * @param {{ files: Record<string, { source: string; mutants: Array<{ status: string; mutatorName: string; replacement?: string;
 *   location: { start: { line: number; column: number }; end: { line: number; column: number } } }> }> }} report
 */
export function unnamedSurvivors(report) {
  const unnamed = [];
  const used = new Set();
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    const lines = source.split('\n');
    for (const m of mutants) {
      if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
      const line = collapse(lines[m.location.start.line - 1] ?? '');
      const replacement = collapse(m.replacement ?? '');
      const original = collapse(originalOf(lines, m.location));
      const entry = NAMED_SURVIVORS.find((e) => file.replace(/\\/g, '/').endsWith(e.file) && e.mutator === m.mutatorName
        && e.original === original && line.includes(e.line) && replacement === e.replacement);
      if (entry) used.add(entry);
      else unnamed.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName}: ${original} => ${replacement} (in: ${line})`);
    }
  }
  const stale = NAMED_SURVIVORS.filter((e) => !used.has(e)).map((e) => `${e.file} ${e.mutator}: ${e.original} => ${e.replacement}`);
  return { unnamed, stale };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] ?? 'reports/mutation/mutation.json';
  const { unnamed, stale } = unnamedSurvivors(JSON.parse(readFileSync(file, 'utf8')));
  for (const s of stale) console.log(`named but not a survivor in this report (killed, or the code moved): ${s}`);
  for (const u of unnamed) console.log(`survivor not named as equivalent: ${u}`);
  console.log(`${unnamed.length} survivor(s) not named as equivalent in stryker/named-survivors.mjs`);
  process.exit(unnamed.length > 0 ? 1 : 0);
}
