import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildApp, STACK_ID } from '../lib/app';
import { bundlingApp, quietBundling } from './helpers/synth';

/** Synthesizes the app into `outdir` as `cdk synth` does; returns the template's bytes and the asset folders (named by content hash). */
function synthInto(outdir: string) {
  const app = bundlingApp({ outdir });
  const assembly = quietBundling(() => {
    buildApp(app);
    return app.synth();
  });
  const stack = assembly.getStackByName(STACK_ID);
  return {
    template: fs.readFileSync(path.join(assembly.directory, stack.templateFile)),
    assets: fs.readdirSync(assembly.directory).filter((f) => f.startsWith('asset.')).sort(),
  };
}

test('two synths into different folders give byte-identical templates and the same asset hashes', () => {
  const [a, b] = [fs.mkdtempSync(path.join(os.tmpdir(), 'synth-a-')), fs.mkdtempSync(path.join(os.tmpdir(), 'synth-b-'))];
  try {
    const first = synthInto(a);
    const second = synthInto(b);
    expect(first.template.equals(second.template)).toBe(true);
    expect(first.assets).toEqual(second.assets);
    expect(first.assets.length).toBeGreaterThan(0);
  } finally {
    fs.rmSync(a, { recursive: true, force: true });
    fs.rmSync(b, { recursive: true, force: true });
  }
});
