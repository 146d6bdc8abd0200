/**
 * Builds the library as it is published (`npm run package`): lib/ compiled by
 * jsii to dist/ with declarations, and its jsii assembly (`.jsii`, what other
 * languages' packages are generated from: docs/jsii.md), the instances' wrapper
 * script beside the module that reads it, and every Lambda handler bundled
 * into `dist/<construct>/runtime/<name>.bundle/index.js`, where the installed
 * package looks for it (lib/shared/bundled-handler.ts). A consumer installs no
 * esbuild and bundles nothing at synth. Recipes ship as they are (`recipes/`,
 * the nginx demo, found from dist/recipe/ as from lib/recipe/).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundle, prebuiltBundleDir } from '../lib/shared/bundled-handler';

const ROOT = path.join(__dirname, '..');
const LIB = path.join(ROOT, 'lib');
export const DIST = path.join(ROOT, 'dist');

/** The handler entries the constructs deploy, relative to lib/ (test/package.test.ts checks the list against a synth). */
export const HANDLER_ENTRIES = [
  'instance-image/runtime/on-event.ts',
  'instance-image/runtime/is-complete.ts',
  'instance-image/runtime/signal.ts',
  'image-distribution/runtime/on-event.ts',
  'image-distribution/runtime/is-complete.ts',
  'image-distribution/runtime/copies-check.ts',
];

/** Files the compiled modules read at run time, relative to lib/. */
export const RUNTIME_FILES = ['reported-script/runtime/run.sh'];

export function buildPackage(): void {
  fs.rmSync(DIST, { recursive: true, force: true });
  // package.json's "jsii" section: lib/ to dist/, without the app and the handlers' sources (bundled below).
  // jsii writes its own tsconfig (tsconfig.jsii.json, not committed), never the project's.
  execFileSync(process.execPath, [require.resolve('jsii/bin/jsii'), '--generate-tsconfig', 'tsconfig.jsii.json'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '1' },
  });
  for (const file of RUNTIME_FILES) {
    fs.mkdirSync(path.dirname(path.join(DIST, file)), { recursive: true });
    fs.copyFileSync(path.join(LIB, file), path.join(DIST, file));
  }
  for (const entry of HANDLER_ENTRIES) {
    bundle(path.join(LIB, entry), path.join(prebuiltBundleDir(path.join(DIST, entry)), 'index.js'));
  }
}

if (require.main === module) {
  buildPackage();
  // eslint-disable-next-line no-console
  console.log(`dist/: ${HANDLER_ENTRIES.length} handlers bundled, ${RUNTIME_FILES.length} runtime file copied`);
}
