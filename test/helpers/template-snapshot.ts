import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizeTemplate, renderDiff } from '../../scripts/template-diff';

export const SNAPSHOT_DIR = path.join(__dirname, '..', '__snapshots__');

export function snapshotPath(name: string): string {
  return path.join(SNAPSHOT_DIR, `${name}.template.json`);
}

/** `jest -u` or `UPDATE_SNAPSHOTS=1`: write the snapshot instead of comparing. */
function updating(): boolean {
  const state = expect.getState() as { snapshotState?: { _updateSnapshot?: string } };
  return process.env.UPDATE_SNAPSHOTS === '1' || state.snapshotState?._updateSnapshot === 'all';
}

/**
 * Compares a synthesized template with the committed one and, when they
 * differ, fails with the infrastructure diff (`cdk diff`'s report, plus
 * warnings for replaced instances or images) rather than a JSON text diff.
 */
export function expectTemplateToMatchSnapshot(name: string, template: unknown): void {
  const file = snapshotPath(name);
  const current = normalizeTemplate(template);
  if (updating() || (!fs.existsSync(file) && process.env.CI !== 'true')) {
    fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(current, undefined, 2)}\n`);
    return;
  }
  if (!fs.existsSync(file)) {
    throw new Error(`${path.relative(process.cwd(), file)} is missing: CI does not write snapshots; run npm test locally and commit it`);
  }
  const committed = JSON.parse(fs.readFileSync(file, 'utf-8'));
  const report = renderDiff(committed, current);
  if (report !== '') {
    throw new Error(
      `The ${name} template differs from ${path.relative(process.cwd(), file)}:\n\n${report}\n\n` +
      'If the change is intended, update the snapshot: npx jest -u (or UPDATE_SNAPSHOTS=1 npm test), and commit it.',
    );
  }
}
