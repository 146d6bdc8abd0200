/**
 * `npm run diff`: what the current code would change in the deployed
 * infrastructure, against the committed template snapshot, offline. Warns
 * first about any replacement of the source instance, the image or the target.
 *
 * Exit code: 0 when the template is unchanged, 1 when it differs (so a
 * pipeline can tell), 2 when synthesis fails.
 */
/* eslint-disable no-console */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp, STACK_ID } from '../lib/app';
import { renderDiff } from './template-diff';

const root = path.join(__dirname, '..');
const snapshot = path.join(root, 'test', '__snapshots__', `${STACK_ID}.template.json`);
const base = process.argv[2] ?? snapshot;

function main(): number {
  const context = JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf-8')).context;
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ami-from-instance-diff-'));
  try {
    const app = new App({ outdir, context });
    buildApp(app);
    const current = app.synth().getStackByName(STACK_ID).template;
    const committed = JSON.parse(fs.readFileSync(base, 'utf-8'));
    const report = renderDiff(committed, current);
    if (report === '') {
      console.log(`No infrastructure change against ${path.relative(root, base)}.`);
      return 0;
    }
    console.log(`Infrastructure changes against ${path.relative(root, base)}:\n\n${report}`);
    return 1;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(String((e as Error).message ?? e));
  process.exitCode = 2;
}
