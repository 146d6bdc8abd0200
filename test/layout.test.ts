/**
 * Issue #12 (part): the code stays in pieces a reviewer can read, and the
 * image construct stands on its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const LIB = path.join(ROOT, 'lib');
const INSTANCE_IMAGE = path.join(LIB, 'instance-image');
const MAX_LINES = 300;

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

const relative = (file: string) => path.relative(ROOT, file);

/**
 * The module specifiers a TypeScript or JavaScript file imports: `import … from`,
 * `import '…'`, `export … from`, `import('…')` and `require('…')`.
 */
function importedSpecifiers(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]));
}

describe('the walker finds every form of import', () => {
  test.each([
    ["import { A } from '../x';", ['../x']],
    ['import type { A } from "../x";', ['../x']],
    ["import * as x from '../x';", ['../x']],
    ["import {\n  A,\n  B,\n} from '../../lib/x';", ['../../lib/x']],
    ["export { A } from '../x';", ['../x']],
    ["export * from '../x';", ['../x']],
    ["import '../side-effect';", ['../side-effect']],
    ["const x = require('../x');", ['../x']],
    ["const x = await import('../x');", ['../x']],
    ["import { Stack } from 'aws-cdk-lib';", ['aws-cdk-lib']],
  ])('%s', (source, expected) => {
    expect(importedSpecifiers(source)).toEqual(expected);
  });
});

test(`no file under lib/ is over ${MAX_LINES} lines`, () => {
  const files = filesUnder(LIB);
  expect(files.length).toBeGreaterThan(10);
  const long = files
    .map((file) => ({ file: relative(file), lines: fs.readFileSync(file, 'utf-8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES);
  expect(long).toEqual([]);
});

/** `<file> imports <specifier>` for each relative import under `dir` that resolves outside `dir`. */
function importsLeaving(dir: string): string[] {
  const files = filesUnder(dir).filter((file) => /\.(ts|js|mjs|cjs)$/.test(file));
  return files.flatMap((file) =>
    importedSpecifiers(fs.readFileSync(file, 'utf-8'))
      .filter((specifier) => specifier.startsWith('.'))
      .filter((specifier) => {
        const target = path.resolve(path.dirname(file), specifier);
        return target !== dir && !target.startsWith(dir + path.sep);
      })
      .map((specifier) => `${relative(file)} imports ${specifier}`));
}

test('no file under lib/instance-image/ imports a relative path outside lib/instance-image/: it imports only libraries', () => {
  expect(filesUnder(INSTANCE_IMAGE).map(relative)).toEqual(expect.arrayContaining(['lib/instance-image/instance-image.ts', 'lib/instance-image/runtime/on-event.ts']));
  expect(importsLeaving(INSTANCE_IMAGE)).toEqual([]);
});

test('the check bites: lib/image-distribution/ builds on lib/instance-image/, and is reported so', () => {
  expect(importsLeaving(path.join(LIB, 'image-distribution'))).toEqual(expect.arrayContaining([
    'lib/image-distribution/image-distribution.ts imports ../instance-image/provider',
  ]));
});
