import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { bundledHandler } from '../../lib/shared/bundled-handler';
import { bundlingApp, newApp, quietBundling } from '../helpers/synth';

let dir: string;
let outdirs: string[];

beforeEach(() => {
  // GIVEN a handler folder like runtime/: two entries that import a shared module and the SDK
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundled-handler-'));
  outdirs = [];
  fs.writeFileSync(path.join(dir, 'shared.ts'), 'export const ANSWER = 41;\n');
  fs.writeFileSync(path.join(dir, 'a.ts'), [
    "import { EC2Client } from '@aws-sdk/client-ec2';",
    "import { ANSWER } from './shared';",
    'export async function onEvent() { return { answer: ANSWER + 1, client: typeof EC2Client }; }',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'b.ts'), 'export async function isComplete() { return { IsComplete: true }; }\n');
});

afterEach(() => {
  for (const d of [dir, ...outdirs]) fs.rmSync(d, { recursive: true, force: true });
});

/** Synthesizes a stack with the two functions; returns each function's bundle file and asset hash. */
function synth(app: App) {
  const stack = new Stack(app, 'S');
  const common = { runtime: lambda.Runtime.NODEJS_24_X };
  const assembly = quietBundling(() => {
    bundledHandler(stack, 'A', { ...common, entry: path.join(dir, 'a.ts'), handler: 'onEvent' });
    bundledHandler(stack, 'B', { ...common, entry: path.join(dir, 'b.ts'), handler: 'isComplete' });
    return app.synth();
  });
  const template = Template.fromStack(stack);
  const fn = (handler: string) => {
    const [resource] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: handler } }));
    const hash = String(resource.Properties.Code.S3Key).replace(/\.zip$/, '');
    return { hash, file: path.join(assembly.directory, `asset.${hash}`, 'index.js') };
  };
  return { a: fn('index.onEvent'), b: fn('index.isComplete'), assets: fs.readdirSync(assembly.directory).filter((f) => f.startsWith('asset.')) };
}

function bundled() {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundled-handler-out-'));
  outdirs.push(outdir);
  return synth(bundlingApp({ outdir }));
}

test('WHEN bundled THEN the asset is one index.js with the handler and its imports, the SDK left to the runtime', () => {
  const { a } = bundled();
  const code = fs.readFileSync(a.file, 'utf-8');
  expect(code).toContain('require("@aws-sdk/client-ec2")');
  expect(code).not.toContain('./shared');
  // The bundle runs: the handler is exported and the imported constant is inlined.
  const mod = { exports: {} as Record<string, () => Promise<{ answer: number }>> };
  new Function('module', 'exports', 'require', code)(mod, mod.exports, () => ({ EC2Client: class {} }));
  return expect(mod.exports.onEvent()).resolves.toMatchObject({ answer: 42 });
});

test('two entries in one folder get two bundles', () => {
  const { a, b } = bundled();
  expect(a.hash).not.toBe(b.hash);
  expect(fs.readFileSync(b.file, 'utf-8')).toContain('isComplete');
  expect(fs.readFileSync(b.file, 'utf-8')).not.toContain('onEvent');
});

test('the asset hash is stable, and follows the bundled code, including imported files', () => {
  const first = bundled();
  expect(bundled().a.hash).toBe(first.a.hash);
  fs.writeFileSync(path.join(dir, 'shared.ts'), 'export const ANSWER = 40;\n');
  const changed = bundled();
  expect(changed.a.hash).not.toBe(first.a.hash);
  // b.ts does not import shared.ts: its bundle and hash stay.
  expect(changed.b.hash).toBe(first.b.hash);
});

test('GIVEN a template-only test app THEN nothing is bundled', () => {
  const { a, b, assets } = synth(newApp());
  expect(assets).toEqual([]);
  expect(fs.existsSync(a.file) || fs.existsSync(b.file)).toBe(false);
  // The asset is named after the construct path, not after a bundle.
  expect(a.hash).not.toBe(bundled().a.hash);
});
