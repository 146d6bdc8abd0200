/**
 * recipes/smoke/test.sh, the default AMI test of an image made from an existing
 * instance, run under bash with stand-ins (test/reported-script/stand-ins) for
 * systemctl, curl (IMDSv2) and getent, and a cloud-init status file under $AFI_ROOT.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.join(__dirname, '..', '..', 'recipes', 'smoke', 'test.sh');
const STAND_INS = path.join(__dirname, '..', 'reported-script', 'stand-ins');
const STAGES_OK = { 'init-local': { start: 1, finished: 2, errors: [] }, 'init': { start: 3, finished: 4, errors: [] }, 'modules-config': { start: 5, finished: 6, errors: [] }, 'modules-final': { start: 7, finished: null, errors: [] } };

/** Runs the smoke test; `stages` is cloud-init's status (`null`: no status file). */
function smoke(env: Record<string, string> = {}, stages: unknown = STAGES_OK) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'afi-smoke-'));
  fs.mkdirSync(path.join(root, 'run', 'cloud-init'), { recursive: true });
  if (stages !== null) fs.writeFileSync(path.join(root, 'run', 'cloud-init', 'status.json'), JSON.stringify({ v1: stages }));
  const r = spawnSync('bash', [SCRIPT], { encoding: 'utf-8', env: { PATH: `${STAND_INS}:${process.env.PATH}`, AFI_ROOT: root, STANDIN_LOG: root, STANDIN_SIGNAL_URL: 'unused', ...env } });
  const calls = fs.existsSync(path.join(root, 'calls')) ? fs.readFileSync(path.join(root, 'calls'), 'utf-8').split('\n').filter(Boolean) : [];
  fs.rmSync(root, { recursive: true, force: true });
  return { status: r.status, lines: r.stdout.split('\n').filter(Boolean), calls };
}

test('a healthy image passes: cloud-init, systemd, the metadata service and DNS', () => {
  const r = smoke({ STANDIN_JOBS: '12 cloud-final.service start running\n13 multi-user.target start waiting' });
  expect(r.status).toBe(0);
  expect(r.lines).toEqual([
    'cloud-init: its stages before this one finished without errors',
    'systemd: no failed unit',
    'metadata service: instance i-0123456789abcdef0 in us-east-1',
    'DNS: ec2.us-east-1.amazonaws.com resolves',
    'healthy: booted, cloud-init and systemd without failures, metadata service and DNS reachable',
  ]);
  // It never waits for what waits for it: no `cloud-init status --wait`, no `systemctl is-system-running --wait`.
  expect(r.calls.filter((c) => /--wait/.test(c))).toEqual([]);
  expect(r.calls.filter((c) => c.startsWith('sleep'))).toEqual([]);
});

test('each problem is a line, and the test fails with their count', () => {
  const r = smoke({ STANDIN_FAILED: 'nginx.service myapp.service', STANDIN_DNS: 'down' },
    { ...STAGES_OK, 'init': { start: 3, finished: 4, errors: ['failed to mount /data'] } });
  expect(r.status).toBe(1);
  expect(r.lines).toEqual(expect.arrayContaining([
    'FAILED: cloud-init init: failed to mount /data',
    'FAILED: systemd: failed units: nginx.service myapp.service',
    'FAILED: DNS: ec2.us-east-1.amazonaws.com does not resolve',
    '3 problem(s): the image is not healthy',
  ]));
});

test('a boot still starting other units is waited for, then reported with what is pending', () => {
  const r = smoke({ STANDIN_JOBS: '21 postgresql.service start waiting\n12 cloud-final.service start running' });
  expect(r.status).toBe(1);
  expect(r.lines).toContain('FAILED: systemd: still starting after 5 minutes: postgresql.service');
  expect(r.calls.filter((c) => c === 'sleep 5')).toHaveLength(60);
});

test('no metadata service is a failure; an image without cloud-init\'s status file is not', () => {
  const r = smoke({ STANDIN_IMDS: 'down' }, null);
  expect(r.status).toBe(1);
  expect(r.lines[0]).toMatch(/^cloud-init: no status to read .*skipped$/);
  expect(r.lines).toContain('FAILED: metadata service: no answer from http://169.254.169.254/latest (IMDSv2)');
});
