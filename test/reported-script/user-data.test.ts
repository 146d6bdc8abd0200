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
  /** The messages shipped to CloudWatch Logs, in the order they were shipped. */
  shipped: string[];
  /** Whether spawnSync hit its timeout (90 s): the wrapper, or a process holding its output open, outlasted it. */
  timedOut: boolean;
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

/** `script` with its `readonly AFI_<name>=` settings lines rewritten, as a test's instance would have them. */
function withSettings(script: string, settings: Record<string, string>): string {
  return Object.entries(settings).reduce((text, [name, value]) => {
    const line = new RegExp(`^readonly ${name}=.*$`, 'm');
    if (!line.test(text)) throw new Error(`no readonly ${name}= line in the user data`);
    return text.replace(line, `readonly ${name}=${value}`);
  }, script);
}

/** Whether process `pid` still runs: it exists (kill -0) and is not a zombie left for its parent to reap. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf-8' }).stdout.trim();
  return stat !== '' && !stat.startsWith('Z');
}

/**
 * An instance to run `script` on: a temporary root (AFI_ROOT) with the stand-ins' log. Each boot runs the user data,
 * or a file the last boot left (a per-boot script); the calls, signals and shipped messages add up over its boots.
 */
function machine(script: string, env: Record<string, string> = {}, signalFailures = 0) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'afi-user-data-'));
  const log = path.join(root, 'stand-in-log');
  const perBoot = path.join(root, 'var', 'lib', 'cloud', 'scripts', 'per-boot');
  fs.mkdirSync(log);
  fs.writeFileSync(path.join(log, 'signal-failures'), String(signalFailures));
  fs.writeFileSync(path.join(root, 'user-data.sh'), script);
  const read = (file: string) => (fs.existsSync(path.join(log, file)) ? fs.readFileSync(path.join(log, file), 'utf-8') : '');
  const lines = (text: string) => text.split('\n').filter((l) => l !== '');
  // What PutLogEvents would accept: valid UTF-8 JSON (a lenient decode would hide a character cut in two).
  const events = (file: string) => JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fs.readFileSync(path.join(log, file)))) as Array<{ message: string }>;
  // The long sleeps the scripts started, by pid.
  const pids = () => {
    const file = path.join(root, 'pids');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf-8').split('\n').filter(Boolean).map(Number) : [];
  };
  return {
    root,
    /** The per-boot scripts cloud-init would run at the next boot. */
    perBoot: () => (fs.existsSync(perBoot) ? fs.readdirSync(perBoot).map((f) => path.join(perBoot, f)) : []),
    /** The pids of the long sleeps the scripts started (written to $AFI_ROOT/pids). */
    pids,
    boot(file = path.join(root, 'user-data.sh')): Run {
      // Long enough that only a hang reaches it (a loaded machine took 30 s): Run.timedOut says whether one did.
      const result = spawnSync('bash', [file], {
        encoding: 'utf-8',
        timeout: 90_000,
        env: { PATH: `${STAND_INS}:${process.env.PATH}`, AFI_ROOT: root, STANDIN_LOG: log, STANDIN_SIGNAL_URL: SIGNAL_URL, ...env },
      });
      const timedOut = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
      const shipped = fs.readdirSync(log).filter((f) => f.startsWith('events.')).sort((a, b) => parseInt(a.split('.')[1]) - parseInt(b.split('.')[1]))
        .flatMap((f) => events(f).map((e) => e.message));
      return { status: result.status, output: `${result.stdout}${result.stderr}`, calls: lines(read('calls')), signals: lines(read('signals')).map((l) => JSON.parse(l)), shipped, timedOut };
    },
    done: () => {
      // The long sleeps the scripts started: a test leaves no process behind.
      for (const pid of pids()) {
        try {
          process.kill(pid);
        } catch {
          // already gone
        }
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

function run(script: string, env: Record<string, string> = {}, signalFailures = 0): Run {
  const m = machine(script, env, signalFailures);
  try {
    return m.boot();
  } finally {
    m.done();
  }
}

const count = (items: string[], item: string) => items.filter((i) => i === item).length;

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

  test('a signal that never gets through ships each line once, not again from the EXIT trap', () => {
    const r = run(script, {}, 10);
    expect(count(r.shipped, 'nginx enabled, running and serving the baked page')).toBe(1);
    expect(count(r.shipped, 'ami-from-instance: running test.sh')).toBe(1);
    // The lines written after the last ship (the failed attempts) are shipped too, at the exit.
    expect(r.shipped).toContain('ami-from-instance: could not signal SUCCESS: CloudFormation will time out');
  });

  test('when IMDS does not give the instance id, the stream and the signal name a stand-in id, not an empty one', () => {
    const r = run(script, { STANDIN_IMDS: 'down' });
    expect(r.calls).toContain('aws logs create-log-stream --region us-east-1 --log-group-name InstanceLogs --log-stream-name test/unknown-instance');
    expect(r.signals).toEqual([{ Status: 'SUCCESS', Reason: 'test.sh passed on unknown-instance', UniqueId: 'unknown-instance', Data: 'SUCCESS' }]);
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

  test('when cfn-init fails, its own log (/var/log/cfn-init.log) is shipped with the output', () => {
    const r = run(userData('bake', { recipe: dir }), { BAKE_SHOULD: 'pass', STANDIN_CFN_INIT: 'fail' });
    expect(r.signals.map((s) => s.Status)).toEqual(['FAILURE']);
    expect(r.shipped).toContain('cfn-init: Error: could not download /etc/app.conf');
    expect(r.shipped).toContain('Unhandled exception during build: 403 Forbidden reading s3://assets/app.conf');
  });

  test('a script killed before it reports still signals FAILURE, through the EXIT trap', () => {
    const r = run(userData('test', { recipe: dir }));
    expect(r.status).toBe(143);
    expect(r.signals).toHaveLength(1);
    expect(r.signals[0]).toMatchObject({ Status: 'FAILURE', UniqueId: 'i-0123456789abcdef0' });
    expect(r.signals[0].Reason).toMatch(/^test did not finish: the wrapper ended with status 143; log: InstanceLogs test\/i-0123456789abcdef0/);
  });
});

describe('the wrapper, with scripts that outlast it, reboot, hang or print what the log cannot take', () => {
  // One bake.sh, one synth: $CASE picks what it does. /bin/sleep, not the sleep stand-in, where time must pass; its pid
  // goes to $AFI_ROOT/pids (for the cleanup) before the script does what may get it killed.
  const dir = recipeFolder({
    'bake.sh': `#!/bin/bash
case $CASE in
  daemon) /bin/sleep 600 & echo $! >>"$AFI_ROOT/pids"; echo 'started a daemon' ;;
  reboot)
    runs=$(($(cat "$AFI_ROOT/runs" 2>/dev/null || echo 0) + 1))
    echo "$runs" >"$AFI_ROOT/runs"
    echo "run $runs"
    [ "$runs" -gt "$REBOOTS" ] || exit 194 ;;
  live)
    echo 'an early line'
    for _ in $(seq 50); do grep -qs 'an early line' "$STANDIN_LOG"/events.*.json && exit 0; /bin/sleep 0.2; done
    exit 1 ;;
  hang) echo 'working on it'; /bin/sleep 600 & echo $! >>"$AFI_ROOT/pids"; wait; echo 'done at last' ;;
  term) echo 'before the TERM'; /bin/sleep 600 & echo $! >>"$AFI_ROOT/pids"; kill -TERM "$PPID"; wait; echo 'after the TERM' ;;
  wide) printf '\u20ac%.0s' $(seq 3000); echo; echo 'after the wide line' ;;
esac
`,
    'files/etc/app.conf': 'key=value\n',
    'test.sh': '#!/bin/bash\n',
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bake = () => userData('bake', { recipe: dir });

  test('a script that leaves a daemon running (holding its output) is reported as soon as it exits', () => {
    const m = machine(bake(), { CASE: 'daemon' });
    try {
      const r = m.boot();
      // The daemon sleeps 600 s: a wrapper that waited for it would time out.
      expect(r.timedOut).toBe(false);
      expect(r.signals.map((s) => s.Status)).toEqual(['SUCCESS']);
      expect(r.shipped).toContain('started a daemon');
      // Reported without waiting for it, nor ending it: the daemon still runs.
      expect(m.pids()).toHaveLength(1);
      expect(m.pids().filter(alive)).toEqual(m.pids());
    } finally {
      m.done();
    }
  }, 120_000);

  test('exit 194 reboots: the user data runs again at the next boot, from a per-boot script, and signals once', () => {
    const m = machine(bake(), { CASE: 'reboot', REBOOTS: '1' });
    try {
      const first = m.boot();
      expect(first.status).toBe(0);
      expect(first.calls).toContain('reboot ');
      expect(first.signals).toEqual([]);
      expect(m.perBoot()).toHaveLength(1);
      const second = m.boot(m.perBoot()[0]);
      expect(second.signals).toEqual([{ Status: 'SUCCESS', Reason: 'bake.sh passed on i-0123456789abcdef0', UniqueId: 'i-0123456789abcdef0', Data: 'SUCCESS' }]);
      expect(count(second.calls, 'reboot ')).toBe(1);
      // files/ are placed once, at the first boot.
      expect(second.calls.filter((c) => c.startsWith('cfn-init'))).toHaveLength(1);
      expect(m.perBoot()).toEqual([]);
      expect(count(second.shipped, 'run 1')).toBe(1);
      expect(count(second.shipped, 'run 2')).toBe(1);
    } finally {
      m.done();
    }
  });

  test('a script that asks for a reboot at every boot fails at its 6th request', () => {
    const m = machine(bake(), { CASE: 'reboot', REBOOTS: '99' });
    try {
      let r = m.boot();
      for (let boots = 0; m.perBoot().length > 0 && boots < 10; boots++) r = m.boot(m.perBoot()[0]);
      expect(count(r.calls, 'reboot ')).toBe(5);
      expect(r.signals).toHaveLength(1);
      expect(r.signals[0].Reason).toMatch(/^bake failed: bake\.sh asked for a 6th reboot \(at most 5\); log: InstanceLogs bake\/i-0123456789abcdef0; last lines: .*run 6$/);
      expect(m.perBoot()).toEqual([]);
    } finally {
      m.done();
    }
  });

  test('the time bound counts from the first boot: a boot after the deadline fails the step without running the script', () => {
    const m = machine(bake(), { CASE: 'reboot', REBOOTS: '1' });
    try {
      expect(m.boot().signals).toEqual([]);
      // The boot comes after the deadline the first start set (the default 720 s, moved to the past).
      const deadline = path.join(m.root, 'var/lib/ami-from-instance/bake.state/deadline');
      expect(Number(fs.readFileSync(deadline, 'utf-8'))).toBeGreaterThan(Date.now() / 1000 + 600);
      fs.writeFileSync(deadline, `${Math.floor(Date.now() / 1000) - 1}\n`);
      const r = m.boot(m.perBoot()[0]);
      expect(r.signals).toHaveLength(1);
      expect(r.signals[0].Reason).toMatch(/^bake failed: bake\.sh timed out after 720 s; /);
      expect(r.shipped).not.toContain('run 2');
      expect(m.perBoot()).toEqual([]);
    } finally {
      m.done();
    }
  });

  test('the output reaches CloudWatch Logs while the script runs', () => {
    const r = run(withSettings(bake(), { AFI_LOG_SECONDS: '1' }), { CASE: 'live' });
    expect(r.signals.map((s) => s.Status)).toEqual(['SUCCESS']);
    expect(count(r.shipped, 'an early line')).toBe(1);
  }, 40_000);

  test('a script that outlasts its time is stopped, its output shipped, and the FAILURE says it timed out', () => {
    const r = run(withSettings(bake(), { AFI_SCRIPT_SECONDS: '2' }), { CASE: 'hang' });
    expect(r.timedOut).toBe(false);
    expect(r.status).toBe(1);
    expect(r.signals).toHaveLength(1);
    expect(r.signals[0].Reason).toBe('bake failed: bake.sh timed out after 2 s; log: InstanceLogs bake/i-0123456789abcdef0; last lines: working on it');
    expect(r.shipped).toContain('working on it');
    expect(r.shipped).not.toContain('done at last');
  }, 120_000);

  test('TERM while the script runs ships its output so far and signals FAILURE at once', () => {
    const r = run(bake(), { CASE: 'term' });
    expect(r.timedOut).toBe(false);
    expect(r.status).toBe(143);
    expect(r.signals).toHaveLength(1);
    expect(r.signals[0].Reason).toMatch(/^bake did not finish: the wrapper ended with status 143; .*last lines: before the TERM$/);
    expect(r.shipped).toContain('before the TERM');
    expect(r.shipped).not.toContain('after the TERM');
  }, 120_000);

  test('the wrapper\'s exit ends every job it started, even one a TERM beat to the line recording it', () => {
    // afi_main's way to start a job, with the TERM between its fork and the next line: the job, a time bound
    // sleeping 600 s on the wrapper's output, must not outlive the wrapper (nor hold the output open).
    const main = /^afi_main$/m;
    if (!main.test(bake())) throw new Error('no afi_main line in the user data');
    // A function, not a string: in a replacement string $$ stands for one $.
    const m = machine(bake().replace(main, () => [
      '{ afi_sleep 600; echo "the job outlived the wrapper"; } &',
      'echo $! >>"$AFI_ROOT/pids"',
      'kill -TERM $$',
      'echo "not reached"',
    ].join('\n')));
    try {
      const r = m.boot();
      expect(m.pids()).toHaveLength(1);
      expect(m.pids().filter(alive)).toEqual([]);
      expect(r.timedOut).toBe(false);
      expect(r.status).toBe(143);
      expect(r.output).not.toContain('not reached');
      expect(r.signals.map((s) => s.Status)).toEqual(['FAILURE']);
    } finally {
      m.done();
    }
  }, 120_000);

  test('a line longer than an event is cut on a character boundary: the batch stays valid UTF-8 JSON', () => {
    const r = run(bake(), { CASE: 'wide' });
    expect(r.signals.map((s) => s.Status)).toEqual(['SUCCESS']);
    const wide = r.shipped.find((m) => m.startsWith('\u20ac'));
    expect(wide).toBe('\u20ac'.repeat(2666));
    expect(r.shipped).toContain('after the wide line');
  });

  test('the script\'s time is the wait condition\'s less a fifth (at most 5 minutes); the log ships every 30 s', () => {
    expect(bake()).toMatch(/^readonly AFI_SCRIPT_SECONDS=720$/m);
    expect(bake()).toMatch(/^readonly AFI_LOG_SECONDS=30$/m);
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

test('a new scriptTimeout is a new wait condition and handle (Timeout cannot be updated) and a new instance that signals them', () => {
  // GIVEN the app as deployed, WHEN deployed again with a longer scriptTimeout
  const before = synthesized({});
  const after = synthesized({ scriptTimeout: '30' });
  for (const [stack, step] of [[before.stack, 'bake'], [before.stack, 'test']] as const) {
    const next = after.stack;
    const [was, now] = [stack, next].map((s) => (step === 'bake' ? s.bake! : s.test));
    // THEN the condition, its handle and the instance that signals it all have new logical ids
    expect(next.resolve(now.condition.logicalId)).not.toBe(stack.resolve(was.condition.logicalId));
    expect(next.resolve(now.handle.logicalId)).not.toBe(stack.resolve(was.handle.logicalId));
    const instance = (s: typeof stack) => s.resolve(((step === 'bake' ? s.source! : s.target).node.defaultChild as CfnElement).logicalId);
    expect(instance(next)).not.toBe(instance(stack));
  }
  expect(Object.values(after.template.findResources('AWS::CloudFormation::WaitCondition')).map((c) => c.Properties.Timeout)).toEqual(['1800', '1800']);
});
