/**
 * The layout is the architecture: files a reviewer can read, each construct a
 * folder of its own, code several constructs share in lib/shared/, handler
 * code that imports only handler code, and no import cycle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const LIB = path.join(ROOT, 'lib');
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

/** Each relative import of a file under lib/, resolved to a path without its extension. */
function relativeImports(): Array<{ file: string; target: string }> {
  return filesUnder(LIB).filter((file) => /\.(ts|js|mjs|cjs)$/.test(file)).flatMap((file) =>
    importedSpecifiers(fs.readFileSync(file, 'utf-8'))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => ({ file: relative(file), target: relative(path.resolve(path.dirname(file), specifier)) })));
}

/** The part of lib/ a path belongs to: its folder under lib/ (a construct, or shared), or the file itself. */
const partOf = (file: string) => file.split('/')[1].replace(/\.ts$/, '');

/** The runtime/ folder a path is in (`lib/<part>/runtime`), if any. */
const runtimeOf = (file: string) => /^lib\/[^/]+\/runtime(\/|$)/.exec(file)?.[0].replace(/\/$/, '');

const CONSTRUCTS = ['instance-image', 'image-distribution', 'recipe', 'reported-script', 'tested-image'];

test('each construct is a folder of its own, and shared code lives in lib/shared/', () => {
  for (const part of [...CONSTRUCTS, 'shared']) expect(fs.statSync(path.join(LIB, part)).isDirectory()).toBe(true);
  expect(fs.existsSync(path.join(LIB, 'shared', 'runtime', 'ec2.ts'))).toBe(true);
});

/** `<file> imports <target>` for each import of another part's runtime/ (lib/shared/runtime/ is for everyone). */
function runtimeReachIns(imports: Array<{ file: string; target: string }>): string[] {
  return imports
    .filter(({ file, target }) => {
      const runtime = runtimeOf(target);
      return runtime !== undefined && runtime !== 'lib/shared/runtime' && partOf(file) !== partOf(target);
    })
    .map(({ file, target }) => `${file} imports ${target}`);
}

test('no construct reaches into another construct\'s runtime/', () => {
  expect(runtimeReachIns(relativeImports())).toEqual([]);
});

test('the reach-in check bites', () => {
  expect(runtimeReachIns([
    { file: 'lib/image-distribution/runtime/copies.ts', target: 'lib/instance-image/runtime/ec2' },
    { file: 'lib/image-distribution/runtime/copies.ts', target: 'lib/shared/runtime/ec2' },
    { file: 'lib/instance-image/runtime/on-event.ts', target: 'lib/instance-image/runtime/create' },
  ])).toEqual(['lib/image-distribution/runtime/copies.ts imports lib/instance-image/runtime/ec2']);
});

test('handler code imports only handler code: its own runtime/, lib/shared/runtime/ and the CDK-free names modules', () => {
  const names = (target: string) => /^lib\/[^/]+\/shared$/.test(target) || target === 'lib/shared/names';
  const bad = relativeImports().filter(({ file, target }) => runtimeOf(file) !== undefined
    && !(runtimeOf(target) === runtimeOf(file) || runtimeOf(target) === 'lib/shared/runtime' || (names(target) && (partOf(target) === partOf(file) || partOf(target) === 'shared'))));
  expect(bad.map(({ file, target }) => `${file} imports ${target}`)).toEqual([]);
  const cdk = filesUnder(LIB).filter((file) => runtimeOf(relative(file)) !== undefined && file.endsWith('.ts'))
    .filter((file) => importedSpecifiers(fs.readFileSync(file, 'utf-8')).some((s) => s === 'constructs' || s.startsWith('aws-cdk-lib')));
  expect(cdk.map(relative)).toEqual([]);
});

test('lib/shared/ imports no construct', () => {
  const bad = relativeImports().filter(({ file, target }) => partOf(file) === 'shared' && partOf(target) !== 'shared');
  expect(bad.map(({ file, target }) => `${file} imports ${target}`)).toEqual([]);
});

/** The cycles among the parts of lib/, each as `a -> b -> a`. */
function cycles(edges: Array<[string, string]>): string[] {
  const next = new Map<string, Set<string>>();
  for (const [a, b] of edges) if (a !== b) next.set(a, (next.get(a) ?? new Set()).add(b));
  const found = new Set<string>();
  const walk = (node: string, trail: string[]): void => {
    const at = trail.indexOf(node);
    if (at >= 0) {
      const loop = trail.slice(at);
      const first = loop.indexOf([...loop].sort()[0]);
      found.add([...loop.slice(first), ...loop.slice(0, first), loop[first]].join(' -> '));
      return;
    }
    for (const n of next.get(node) ?? []) walk(n, [...trail, node]);
  };
  for (const node of next.keys()) walk(node, []);
  return [...found].sort();
}

test('no import cycle among the parts of lib/ (its folders and top-level files)', () => {
  expect(cycles(relativeImports().map(({ file, target }) => [partOf(file), partOf(target)]))).toEqual([]);
});

test('the cycle check bites', () => {
  expect(cycles([['recipe', 'reported-script'], ['reported-script', 'recipe'], ['shared', 'shared']])).toEqual(['recipe -> reported-script -> recipe']);
});

/** The app: the CLI's entry, and the modules that build the app's one stack from context. */
const APP_FILES = ['bin/ami-from-instance.ts', 'lib/app.ts', 'lib/config.ts', 'lib/ami-from-instance-stack.ts'];

test('the app uses the library only through its entry point, lib/index.ts, as an installed package would', () => {
  const bad = APP_FILES.flatMap((file) => importedSpecifiers(fs.readFileSync(path.join(ROOT, file), 'utf-8'))
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(path.resolve(path.dirname(path.join(ROOT, file)), specifier)))
    .filter((target) => target !== 'lib/index' && !APP_FILES.includes(`${target}.ts`))
    .map((target) => `${file} imports ${target}`));
  expect(bad).toEqual([]);
});

test('the library does not import the app: lib/index.ts reaches none of its modules', () => {
  const reached = new Set<string>();
  const visit = (file: string): void => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const specifier of importedSpecifiers(fs.readFileSync(path.join(ROOT, file), 'utf-8')).filter((s) => s.startsWith('.'))) {
      visit(`${relative(path.resolve(path.dirname(path.join(ROOT, file)), specifier))}.ts`);
    }
  };
  visit('lib/index.ts');
  expect(reached.has('lib/tested-image/tested-image.ts')).toBe(true);
  expect([...reached].filter((file) => APP_FILES.includes(file))).toEqual([]);
  // cdk-nag is the app's: the package has no dependency on it.
  expect([...reached].filter((file) => importedSpecifiers(fs.readFileSync(path.join(ROOT, file), 'utf-8')).includes('cdk-nag'))).toEqual([]);
});
