/**
 * The user-data tier: the bake and the AMI test as the instances run them,
 * rendered from the synthesized template and run under bash on this machine,
 * with stand-ins (test/reported-script/stand-ins) for curl (IMDS, the page,
 * the wait condition handle), systemctl, dnf, cfn-init, the AWS CLI and
 * shutdown.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CfnElement } from 'aws-cdk-lib';
import { MAX_SCRIPT_BYTES, MAX_USER_DATA_BYTES } from '../../lib/reported-script/reported-script';
import { renderUserData } from '../../scripts/render-user-data';
import { recipeFolder } from '../helpers/recipe';
import { memoize, synthStack } from '../helpers/synth';

const STAND_INS = path.join(__dirname, 'stand-ins');
const SIGNAL_URL = 'https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/handle?X-Amz-Signature=abc&X-Amz-Expires=86399';

interface Run {
  status: number | null;
  output: string;
  calls: string[];
  /** The signals the handle accepted, parsed. */
  signals: Array<{ Status: string; Reason: string; UniqueId: string; Data: string }>;
  /** The messages shipped to CloudWatch Logs. */
  shipped: string[];
}

/** The rendered user data of the source (`bake`) or the target (`test`) of an app synthesized with `context`. */
const synthesized = memoize((context: Record<string, unknown>) => synthStack({}, context));
function userData(step: 'bake' | 'test', context: Record<string, unknown> = {}): string {
  const { stack, template } = synthesized(context);
  const instance = step === 'bake' ? stack.source! : stack.target;
  const id = stack.resolve((instance.node.defaultChild as CfnElement).logicalId) as string;
  const handle = stack.resolve((step === 'bake' ? stack.bake! : stack.test).handle.logicalId) as string;
  return renderUserData(template.toJSON(), { handles: { [handle]: SIGNAL_URL }, logGroup: 'InstanceLogs' })[id];
}

function run(script: string, env: Record<string, string> = {}, signalFailures = 0): Run {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'afi-user-data-'));
  const log = path.join(root, 'stand-in-log');
  fs.mkdirSync(log);
  fs.writeFileSync(path.join(log, 'signal-failures'), String(signalFailures));
  fs.writeFileSync(path.join(root, 'user-data.sh'), script);
  const result = spawnSync('bash', [path.join(root, 'user-data.sh')], {
    encoding: 'utf-8',
    timeout: 30_000,
    env: { PATH: `${STAND_INS}:${process.env.PATH}`, AFI_ROOT: root, STANDIN_LOG: log, STANDIN_SIGNAL_URL: SIGNAL_URL, ...env },
  });
  const read = (file: string) => (fs.existsSync(path.join(log, file)) ? fs.readFileSync(path.join(log, file), 'utf-8') : '');
  const lines = (text: string) => text.split('\n').filter((l) => l !== '');
  const shipped = fs.readdirSync(log).filter((f) => f.startsWith('events.')).sort()
    .flatMap((f) => (JSON.parse(read(f)) as Array<{ message: string }>).map((e) => e.message));
  const out = { status: result.status, output: `${result.stdout}${result.stderr}`, calls: lines(read('calls')), signals: lines(read('signals')).map((l) => JSON.parse(l)), shipped };
  fs.rmSync(root, { recursive: true, force: true });
  return out;
}


describe('the AMI test of the nginx demo, on the target', () => {
  const script = userData('test');

  test('a passing test signals SUCCESS once, ships its log, then powers the instance off', () => {
    const r = run(script);
    expect(r.status).toBe(0);
    expect(r.signals).toEqual([{ Status: 'SUCCESS', Reason: 'test.sh passed on i-0123456789abcdef0', UniqueId: 'i-0123456789abcdef0', Data: 'SUCCESS' }]);
    expect(r.shipped).toContain('nginx enabled, running and serving the baked page');
    expect(r.calls).toContain('aws logs create-log-stream --region us-east-1 --log-group-name InstanceLogs --log-stream-name test/i-0123456789abcdef0');
    // Powered off after the signal, never before.
    expect(r.calls.findIndex((c) => c === 'shutdown -h now')).toBeGreaterThan(r.calls.findIndex((c) => c.startsWith(`curl PUT ${SIGNAL_URL}`)));
  });

  test('a failing test signals FAILURE with what failed, the log stream and its last lines, and stays up', () => {
    const r = run(script, { STANDIN_SERVICE: 'stopped' });
    expect(r.status).toBe(1);
    expect(r.signals).toHaveLength(1);
    expect(r.signals[0].Status).toBe('FAILURE');
    expect(r.signals[0].Reason).toBe('AMI test failed: test.sh exited 1; log: InstanceLogs test/i-0123456789abcdef0; last lines: nginx is not running');
    expect(r.calls).not.toContain('shutdown -h now');
  });

  test('the signal is retried when the handle refuses it, and counts once accepted', () => {
    const r = run(script, {}, 2);
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => c === `curl PUT ${SIGNAL_URL}`)).toHaveLength(3);
    expect(r.signals.map((s) => s.Status)).toEqual(['SUCCESS']);
    expect(r.output).toContain('signalled SUCCESS (attempt 3)');
  });

  test('a signal that never gets through ends the script with an error and no power-off', () => {
    const r = run(script, {}, 10);
    expect(r.status).toBe(1);
    expect(r.signals).toEqual([]);
    expect(r.output).toContain('could not signal SUCCESS');
    expect(r.calls).not.toContain('shutdown -h now');
  });

  test('with keepInstancesRunning the target stays up after passing', () => {
    const r = run(userData('test', { keepInstancesRunning: 'true' }));
    expect(r.signals.map((s) => s.Status)).toEqual(['SUCCESS']);
    expect(r.calls).not.toContain('shutdown -h now');
  });
});

describe('a recipe of the user, with files/', () => {
  const dir = recipeFolder({
    'bake.sh': '#!/bin/bash\nset -eu\necho "baking with \\"quotes\\" and a \\\\ backslash"\ntest "$BAKE_SHOULD" = pass\n',
    'files/etc/app.conf': 'key=value\n',
    'test.sh': '#!/bin/bash\n# Killed from outside, as an instance may be: the wrapper must still report.\nkill -TERM "$PPID"\nsleep 5\n',
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('cfn-init copies files/ before bake.sh runs; a passing bake signals SUCCESS and leaves the source running', () => {
    const r = run(userData('bake', { recipe: dir }), { BAKE_SHOULD: 'pass' });
    expect(r.signals.map((s) => s.Status)).toEqual(['SUCCESS']);
    const init = r.calls.findIndex((c) => c.startsWith('cfn-init -v --stack AmiFromInstanceStack --resource Source'));
    expect(init).toBeGreaterThanOrEqual(0);
    expect(r.calls).not.toContain('shutdown -h now');
    expect(r.shipped).toContain('baking with "quotes" and a \\ backslash');
  });

  test('a failing bake signals FAILURE with its reason as valid JSON, quotes and backslash included', () => {
    const r = run(userData('bake', { recipe: dir }), { BAKE_SHOULD: 'fail' });
    expect(r.status).toBe(1);
    expect(r.signals).toHaveLength(1);
    expect(r.signals[0].Reason).toMatch(/^bake failed: bake\.sh exited 1; log: InstanceLogs bake\/i-0123456789abcdef0; last lines: baking with "quotes" and a \\ backslash$/);
  });

  test('files/ that cfn-init cannot copy fail the bake before bake.sh runs, naming cfn-init', () => {
    const r = run(userData('bake', { recipe: dir }), { BAKE_SHOULD: 'pass', STANDIN_CFN_INIT: 'fail' });
    expect(r.signals).toHaveLength(1);
    expect(r.signals[0].Reason).toMatch(/^bake failed: cfn-init could not copy files\/ .*last lines: .*could not download \/etc\/app\.conf/);
    expect(r.shipped).not.toContain('baking with "quotes" and a \\ backslash');
  });

  test('a script killed before it reports still signals FAILURE, through the EXIT trap', () => {
    const r = run(userData('test', { recipe: dir }));
    expect(r.status).toBe(143);
    expect(r.signals).toHaveLength(1);
    expect(r.signals[0]).toMatchObject({ Status: 'FAILURE', UniqueId: 'i-0123456789abcdef0' });
    expect(r.signals[0].Reason).toMatch(/^test did not finish: the wrapper ended with status 143; log: InstanceLogs test\/i-0123456789abcdef0/);
  });
});

test('the largest script a recipe may have still fits EC2\'s 16 KB of user data, with a long pre-signed URL filled in', () => {
  const dir = recipeFolder({ 'bake.sh': `#!/bin/bash\n${'#'.repeat(MAX_SCRIPT_BYTES - 13)}\n`, 'test.sh': '#!/bin/bash\n' });
  const { stack, template } = synthStack({}, { recipe: dir });
  const handle = stack.resolve(stack.bake!.handle.logicalId) as string;
  const url = `https://cloudformation-waitcondition-ap-southeast-2.s3.ap-southeast-2.amazonaws.com/${'x'.repeat(1500)}`;
  const source = stack.resolve((stack.source!.node.defaultChild as CfnElement).logicalId) as string;
  const rendered = renderUserData(template.toJSON(), { handles: { [handle]: url }, logGroup: `AmiFromInstanceStack-InstanceLogs${'X'.repeat(40)}`, stackName: 'A'.repeat(128) })[source];
  expect(Buffer.byteLength(rendered)).toBeLessThanOrEqual(MAX_USER_DATA_BYTES);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('shellcheck', () => {
  const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
  if (!shellcheck) {
    if (process.env.CI === 'true') throw new Error('shellcheck is not installed: apt-get install -y shellcheck');
    console.warn('SKIPPED: shellcheck is not installed (apt-get install -y shellcheck); .ci/run installs it');
  }
  (shellcheck ? test : test.skip)('finds nothing at warning level in the rendered user data and the stand-ins', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afi-shellcheck-'));
    fs.writeFileSync(path.join(dir, 'bake.sh'), userData('bake'));
    fs.writeFileSync(path.join(dir, 'test.sh'), userData('test'));
    const stands = ['curl', 'systemctl', 'record', 'cfn-init', 'aws'].map((f) => path.join(STAND_INS, f));
    const r = spawnSync('shellcheck', ['-S', 'warning', path.join(dir, 'bake.sh'), path.join(dir, 'test.sh'), ...stands], { encoding: 'utf-8' });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});
