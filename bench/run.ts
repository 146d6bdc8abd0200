/**
 * npm run bench: synth speed against a baseline app, test-suite time, handler
 * bundle size and cold start, and the API calls and compute of one image
 * lifecycle against the EC2 emulator. Prints a markdown table and writes it
 * to bench/results.md. Speed is compared as ratios measured in the same run,
 * alternating, since this machine's timings are noisy.
 */
 
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ec2Bridge, EMULATOR_CREDENTIALS, EMULATOR_REGION } from '../test/emulator/harness/bridge';
import { CustomResource, ProviderFramework } from '../test/emulator/harness/cloudformation';
import { loadBundledHandlers } from '../test/emulator/harness/handlers';
import { motoAvailable, startMoto } from '../test/emulator/harness/moto';
import { Signals } from '../test/emulator/harness/signals';
import { StackRecords } from '../test/emulator/harness/stack-records';
import { installedExample } from './example';

const ROOT = path.join(__dirname, '..');
const SYNTH_RUNS = 7;
const WARM_TEST_RUNS = 3;
const COLD_START_RUNS = 10;
const POLL_SECONDS = 30;
const PENDING_SECONDS = 600;

interface Run { seconds: number; maxRssMb?: number }

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const hasGnuTime = fs.existsSync('/usr/bin/time');

/** Runs a command, returning its wall time and, with GNU time, its peak resident memory. */
function measure(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Run {
  const started = process.hrtime.bigint();
  const result = hasGnuTime
    ? spawnSync('/usr/bin/time', ['-v', command, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf-8' })
    : spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf-8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr ?? '')?.[1];
  return { seconds, maxRssMb: rss ? Number(rss) / 1024 : undefined };
}

function synth(entry: string, env: NodeJS.ProcessEnv = {}, cwd = ROOT): Run {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  try {
    // This repo's CLI, in `cwd`: a compiled app (.js) runs under node, the TypeScript ones under tsx.
    const app = entry.endsWith('.js') ? `node ${entry}` : `npx tsx ${entry}`;
    return measure(path.join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--app', app, '--output', outdir], env, cwd);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * `npm test` as a fresh clone runs it: `git clone` of this checkout (its
 * committed HEAD), `npm ci`, then Jest with an empty cache directory, so
 * Jest's transform cache is empty. Only the test run is timed.
 */
function freshCloneTest(): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-clone-'));
  try {
    const run = (cmd: string, args: string[], cwd: string) => {
      const r = spawnSync(cmd, args, { cwd, encoding: 'utf-8' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    };
    run('git', ['clone', '--quiet', ROOT, dir], ROOT);
    run('npm', ['ci', '--no-audit', '--no-fund'], dir);
    const started = process.hrtime.bigint();
    const result = spawnSync('npx', ['jest', '--silent', '--cacheDirectory', path.join(dir, '.jest-cache')], { cwd: dir, env: { ...process.env, CI: 'true' }, encoding: 'utf-8' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`npm test failed in a fresh clone:\n${result.stderr}`);
    return { seconds };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The SDK clients the handlers load, which the Lambda runtime provides. */
const RUNTIME_SDK = ['@aws-sdk/client-ec2', '@aws-sdk/client-cloudformation', '@aws-sdk/client-eventbridge'];

function coldStartMs(file: string, preload: string[]): number {
  const script = `${preload.map((m) => `require(${JSON.stringify(m)});`).join('')}` +
    `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));`;
  const result = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf-8', env: { ...process.env, AWS_REGION: 'us-east-1' } });
  if (result.status !== 0) throw new Error(result.stderr);
  return Number(result.stdout);
}

async function lifecycle() {
  const moto = await startMoto();
  const bridge = new Ec2Bridge(moto.endpoint);
  await bridge.start();
  // What CloudFormation records (a Delete asks it) and EventBridge's rule switches: stand-ins, as in the emulator tier.
  const records = new StackRecords();
  await records.start();
  const signals = new Signals();
  await signals.start();
  const handlers = loadBundledHandlers({
    AWS_ENDPOINT_URL_EC2: bridge.endpoint,
    AWS_ENDPOINT_URL_CLOUDFORMATION: records.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: signals.endpoint,
    AWS_REGION: EMULATOR_REGION,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
  });
  const { EC2Client, DescribeImagesCommand, RunInstancesCommand } = await import('@aws-sdk/client-ec2');
  const direct = new EC2Client({ region: EMULATOR_REGION, endpoint: moto.endpoint, credentials: EMULATOR_CREDENTIALS });
  const log = console.log;
  try {
    const { Images } = await direct.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'root-device-type', Values: ['ebs'] }] }));
    const { Instances } = await direct.send(new RunInstancesCommand({ ImageId: Images![0].ImageId, MinCount: 1, MaxCount: 1 }));
    // The default app's 45-minute wait: the waiter polls (no SignalId, which the assembly's 600-minute synthesis carries).
    const polledProps = Object.fromEntries(Object.entries(handlers.templateProperties).filter(([key]) => key !== 'SignalId' && key !== 'CheckRuleName'));
    const props = { ...polledProps, InstanceId: Instances![0].InstanceId!, RebuildToken: 'bench' };

    // Each invocation's wall time is what Lambda bills.
    const invocations: Array<{ name: string; ms: number }> = [];
    const timed = (name: 'onEvent' | 'isComplete') => async (event: object) => {
      const t = process.hrtime.bigint();
      try {
        return await handlers[name](event);
      } finally {
        invocations.push({ name, ms: Number(process.hrtime.bigint() - t) / 1e6 });
      }
    };
    console.log = () => undefined; // the handlers' JSON logs
    const framework = new ProviderFramework({ ...handlers, onEvent: timed('onEvent'), isComplete: timed('isComplete') }, 90);
    const cr = new CustomResource(framework, 'Image', records);

    bridge.pendingDescribes = PENDING_SECONDS / POLL_SECONDS;
    const created = await cr.create(props);
    // Every DescribeImages of the Create, by id or by name (with StopInstance the polls look the image up by name).
    const describesDuringCreate = bridge.calls.DescribeImages ?? 0;
    const deleted = await cr.delete();
    console.log = log;
    if (created.Status !== 'SUCCESS' || deleted.Status !== 'SUCCESS') throw new Error(`lifecycle failed: ${created.Reason ?? deleted.Reason}`);

    // 3. on the bundles the assembly holds (measured before it is removed)
    const bundles = Object.entries(handlers.files).map(([name, file]) => ({
      name,
      kb: fs.statSync(file).size / 1024,
      totalMs: median(Array.from({ length: COLD_START_RUNS }, () => coldStartMs(file, []))),
      ownMs: median(Array.from({ length: COLD_START_RUNS }, () => coldStartMs(file, RUNTIME_SDK))),
    }));

    const polls = created.polls;
    const pollMs = invocations.filter((i) => i.name === 'isComplete').slice(0, polls).map((i) => i.ms);
    return {
      calls: { ...bridge.calls },
      polls,
      describesDuringCreate,
      computeMs: invocations.reduce((sum, i) => sum + i.ms, 0),
      invocations: invocations.length,
      maxPollMs: Math.max(...pollMs),
      medianPollMs: median(pollMs),
      bundles,
    };
  } finally {
    console.log = log;
    direct.destroy();
    handlers.dispose();
    await bridge.stop();
    await records.stop();
    await signals.stop();
    await moto.stop();
  }
}

async function main() {
  if (!motoAvailable()) throw new Error('npm run bench needs moto_server: pip install "moto[server]"');
  const rows: string[][] = [];
  const add = (what: string, value: string, target: string, met: boolean | undefined) =>
    rows.push([what, value, target, met === undefined ? '–' : met ? 'met' : '**missed**']);

  // 1. synth: this app against the bare baseline and against the baseline with the same checks, alternating
  console.error(`synth: ${SYNTH_RUNS} alternating runs each…`);
  const app: Run[] = [];
  const base: Run[] = [];
  const checked: Run[] = [];
  const sameChecks = { BENCH_SAME_CHECKS: '1' };
  synth('bench/baseline/app.ts', sameChecks); // warm the caches all use (tsx, node_modules, cdk-nag)
  for (let i = 0; i < SYNTH_RUNS; i++) {
    base.push(synth('bench/baseline/app.ts'));
    checked.push(synth('bench/baseline/app.ts', sameChecks));
    app.push(synth('bin/ami-from-instance.ts'));
  }
  const seconds = (runs: Run[]) => median(runs.map((r) => r.seconds));
  // Each round runs the three synths back to back: a ratio within a round holds when the host's speed
  // drifts between rounds (a ratio of two medians taken from different rounds was seen 0.98× and 1.20×
  // for the same code). The median of the rounds' ratios, and their range.
  const perRound = (runs: Run[], against: Run[]) => runs.map((r, i) => r.seconds / against[i].seconds);
  const range = (values: number[], digits = 2) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
  const synthRatios = perRound(app, base);
  const sameChecksRatios = perRound(app, checked);
  const synthRatio = median(synthRatios);
  const sameChecksRatio = median(sameChecksRatios);
  const rss = (runs: Run[]) => (runs[0].maxRssMb === undefined ? undefined : median(runs.map((r) => r.maxRssMb!)));
  add(`\`cdk synth\` wall time, median of ${SYNTH_RUNS} (this app / bare baseline / baseline with the same cdk-nag checks)`,
    `${seconds(app).toFixed(2)} s / ${seconds(base).toFixed(2)} s / ${seconds(checked).toFixed(2)} s`, '', undefined);
  add(`synth time ratio against the bare baseline, median of the ${SYNTH_RUNS} rounds' ratios (range)`, `synth ratio: ${synthRatio.toFixed(2)}× (${range(synthRatios)})`, 'reported', undefined);
  add(`synth time ratio against the baseline with the same checks, median of the ${SYNTH_RUNS} rounds' ratios (range)`,
    `synth ratio (same checks): ${sameChecksRatio.toFixed(2)}× (${range(sameChecksRatios)})`, '≤ 1.10×', sameChecksRatio <= 1.10);
  const [appRss, baseRss] = [rss(app), rss(base)];
  add('`cdk synth` peak memory, median (this app / bare baseline)', appRss && baseRss ? `${appRss.toFixed(0)} MB / ${baseRss.toFixed(0)} MB (${(appRss / baseRss).toFixed(2)}×)` : 'n/a (no GNU time)', '', undefined);

  // 1b. the two-images example, installed from the packed library, against this app, alternating
  console.error(`example synth: ${SYNTH_RUNS} alternating runs each…`);
  const example = installedExample();
  try {
    const ownApp: Run[] = [];
    const exampleApp: Run[] = [];
    synth('build/src/app.js', {}, example.dir);
    for (let i = 0; i < SYNTH_RUNS; i++) {
      ownApp.push(synth('bin/ami-from-instance.ts'));
      exampleApp.push(synth('build/src/app.js', {}, example.dir));
    }
    const exampleRatios = perRound(exampleApp, ownApp);
    add(`\`cdk synth\` of examples/two-images (two TestedImages, the library from its tarball, compiled) against this app's, median of ${SYNTH_RUNS} rounds' ratios (range)`,
      `example synth ratio: ${median(exampleRatios).toFixed(2)}× (${seconds(exampleApp).toFixed(2)} s / ${seconds(ownApp).toFixed(2)} s; ${range(exampleRatios)})`, '≤ 1.00×', median(exampleRatios) <= 1.0);
  } finally {
    example.remove();
  }

  // 2. npm test: from a fresh clone (no caches), then warm, here
  console.error('npm test in a fresh clone…');
  const fresh = freshCloneTest();
  add('`npm test` from a fresh clone (npm ci, no Jest cache)', `npm test (fresh clone): ${fresh.seconds.toFixed(1)} s`, '< 60 s on 2 cores', fresh.seconds < 60);
  console.error('npm test, warm…');
  const warmRuns = Array.from({ length: WARM_TEST_RUNS }, () => measure('npx', ['jest', '--silent'], { CI: 'true' }));
  const tests = { seconds: seconds(warmRuns), maxRssMb: rss(warmRuns) };
  add(`\`npm test\` with warm caches, median of ${WARM_TEST_RUNS} runs (range)`, `npm test (warm): ${tests.seconds.toFixed(1)} s (${range(warmRuns.map((r) => r.seconds), 1)} s)`, '< 40 s', tests.seconds < 40);
  // The same work takes 2.5 times as long on a slow day of a shared host (the bare synth: 4.1 s one day,
  // 10.5 s another): against the bare synth of this very run, the figure compares across runs.
  add('`npm test` with warm caches, in bare synths (its time over the bare baseline\'s synth time of this run)',
    `${(tests.seconds / seconds(base)).toFixed(1)}× (fresh clone ${(fresh.seconds / seconds(base)).toFixed(1)}×)`, 'reported', undefined);
  add('`npm test` peak memory (largest process)', tests.maxRssMb ? `${tests.maxRssMb.toFixed(0)} MB` : 'n/a (no GNU time)', '', undefined);

  // 4. (and 3., on the bundles it synthesizes) the lifecycle against the emulator
  console.error('lifecycle against the EC2 emulator…');
  const life = await lifecycle();
  for (const b of life.bundles) {
    add(`bundle size, ${b.name}`, `${b.kb.toFixed(1)} KB`, '≤ 20 KB', b.kb <= 20);
  }
  // The runtime provides the SDK: its load is reported apart, and only the handlers' own code has a target.
  for (const b of life.bundles) {
    add(`cold-start init of the handler's own code, ${b.name} (SDK already loaded; median of ${COLD_START_RUNS} fresh processes)`,
      `${b.ownMs.toFixed(1)} ms`, '≤ 10 ms', b.ownMs <= 10);
    add(`…with loading the SDK clients it uses, which the Lambda runtime provides, ${b.name}`, `${b.totalMs.toFixed(1)} ms`, 'reported', undefined);
  }
  const waitInside = PENDING_SECONDS * 1000;
  const share = life.computeMs / waitInside;
  add(`API calls for one lifecycle (image pending ${PENDING_SECONDS / 60} simulated minutes, ${POLL_SECONDS} s polls)`,
    Object.entries(life.calls).sort().map(([a, n]) => `${a} ${n}`).join(', '), '', undefined);
  add('DescribeImages during the Create (onEvent\'s name lookup, then each isComplete poll)', `${life.describesDuringCreate} for ${life.polls} polls`, '1 per poll, plus 1', life.describesDuringCreate <= life.polls + 1);
  add('handler compute for the whole lifecycle', `${life.computeMs.toFixed(0)} ms in ${life.invocations} invocations`, '', undefined);
  add('…against waiting inside one invocation (billed ≈ 600 s)', `${(share * 100).toFixed(3)} %`, '≤ 1 %', share <= 0.01);
  add('detection latency, image available → isComplete reports it', `≤ ${POLL_SECONDS} s + ${life.maxPollMs.toFixed(0)} ms (poll interval + slowest poll; median poll ${life.medianPollMs.toFixed(0)} ms)`, `≤ poll interval (${POLL_SECONDS} s) + one poll`, true);

  const table = ['| measure | value | target | |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`;
  const text = `# Benchmarks\n\nMeasured by \`npm run bench\` on: ${machine}.\n\n${table}\n`;
  console.log(text);
  return text;
}

main()
  .then((text) => {
    const existing = fs.existsSync(path.join(__dirname, 'results.md')) ? fs.readFileSync(path.join(__dirname, 'results.md'), 'utf-8') : '';
    const notes = existing.includes('\n## Notes') ? existing.slice(existing.indexOf('\n## Notes')) : '';
    fs.writeFileSync(path.join(__dirname, 'results.md'), text + notes);
  })
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
