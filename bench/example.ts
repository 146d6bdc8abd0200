/**
 * The two-images example as a consumer has it, for `npm run bench`: the
 * library packed (`npm pack`), the example copied outside this repo, installed
 * with `npm ci` plus the tarball and compiled, as scripts/check-package.sh does.
 * Its synth is then timed against this app's, alternating.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const EXAMPLE = path.join(ROOT, 'examples', 'two-images');

function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf-8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The installed, compiled example: a folder to run `cdk synth --app 'node build/src/app.js'` in, and its clean-up. */
export function installedExample(): { dir: string; remove: () => void } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-example-'));
  run('npm', ['pack', '--pack-destination', work], ROOT);
  const tarball = path.join(work, fs.readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  const dir = path.join(work, 'example');
  fs.mkdirSync(dir);
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'test', 'recipes']) {
    fs.cpSync(path.join(EXAMPLE, entry), path.join(dir, entry), { recursive: true });
  }
  run('npm', ['ci', '--no-audit', '--no-fund'], dir);
  run('npm', ['install', '--no-save', '--no-audit', '--no-fund', tarball], dir);
  run('npx', ['tsc', '-p', '.'], dir);
  return { dir, remove: () => fs.rmSync(work, { recursive: true, force: true }) };
}
