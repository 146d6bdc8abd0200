/**
 * Builds the library as it is published (`npm run package`): lib/index.ts and
 * what it imports compiled to dist/ with declarations, the instances' wrapper
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
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.lib.json')], { stdio: 'inherit' });
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
