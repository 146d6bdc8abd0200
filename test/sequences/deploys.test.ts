/**
 * Deploy after deploy: sequences of configurations played through
 * CloudFormation's update, cleanup, rollback and delete phases against the EC2
 * emulator, with the invariants of invariants.ts checked after every step.
 * A few fixed sequences name the transitions known to matter; a property over
 * random sequences (fixed seed) looks for the others. `npm run test:sequences`
 * plays 150 of them; `SEQUENCE_RUNS=n` any number.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import * as fc from 'fast-check';
import { EMULATOR_CREDENTIALS } from '../emulator/harness/bridge';
import { describeEmulator, useEmulator } from '../emulator/harness/suite';
import { ACCOUNTS, config, Configuration, COPY_REGION, Deployment, Step, TIMEOUTS } from './model';
import { deployTwin, describeSequence, playSequence, Sequence, Twin, twinNow } from './sequence';

const RUNS = Number(process.env.SEQUENCE_RUNS ?? 2);
/** Fixed, so every CI run plays the same sequences; a failure prints it with the path to replay. */
const SEED = 20261203;

jest.setTimeout(120_000);

describeEmulator()('deploy after deploy', () => {
  const emu = useEmulator();
  let runs = 0;
  /** Each sequence has its own owner and RebuildTokens, so no run sees another's images. */
  const namespace = () => `run${++runs}`;

  let eu: EC2Client;
  let twinDeployment: Promise<Deployment> | undefined;
  afterAll(() => eu?.destroy());

  /** The copy region's client, and the twin: deployed by the first test that asks, then as each test finds it. */
  async function withTwin(): Promise<{ eu: EC2Client; twin: Twin }> {
    eu ??= new EC2Client({ region: COPY_REGION, endpoint: emu.moto.endpoint, credentials: EMULATOR_CREDENTIALS });
    twinDeployment ??= deployTwin(emu, namespace());
    return { eu, twin: await twinNow(emu, eu, await twinDeployment) };
  }

  const update = (c: Configuration, laterFails = false, imageFails = false): Step => ({ config: c, laterFails, imageFails });
  /** Plays one fixed sequence beside the twin: its violations. */
  const play = async (sequence: Sequence): Promise<string[]> => {
    const { eu, twin } = await withTwin();
    return playSequence(emu, eu, twin, namespace(), sequence);
  };

  test('a revert A → B → A with keepPrevious 1 keeps B, the most recent previous image', async () => {
    const keep1 = { keepPrevious: 1 } as const;

    expect(await play({
      first: config('A', keep1),
      steps: [update(config('B', keep1)), update(config('A', keep1))],
    })).toEqual([]);
  });

  test('A → B with a later failure rolls back: B is removed, A is current again', async () => {
    const shared = { keepPrevious: 1, shareWithAccounts: [ACCOUNTS[0]], copyToRegions: [COPY_REGION] } as const;

    expect(await play({
      first: config('A', shared),
      steps: [update(config('B', shared), true)],
    })).toEqual([]);
  });

  test('a twin stack in the same region and copy region is untouched across A → B → C', async () => {
    const copying = { keepPrevious: 1, copyToRegions: [COPY_REGION], shareWithAccounts: [ACCOUNTS[1]] } as const;

    expect(await play({
      first: config('A', copying),
      steps: [update(config('B', copying)), update(config('C', copying))],
    })).toEqual([]);
  });

  test('an account removed from shareWithAccounts loses the kept image and its copy too (A → B shared, then B not shared)', async () => {
    const shared = { keepPrevious: 1, shareWithAccounts: [ACCOUNTS[0]], copyToRegions: [COPY_REGION] } as const;

    expect(await play({
      first: config('A', shared),
      steps: [update(config('B', shared)), update(config('B', { ...shared, shareWithAccounts: [] }))],
    })).toEqual([]);
  });

  test('waits over an hour: a revert A → B → A adopts A, and A\'s new wait condition is signalled by the scheduled check (no event comes)', async () => {
    const long = { keepPrevious: 1, timeoutMinutes: 600 } as const;

    expect(await play({
      first: config('A', long),
      steps: [update(config('B', long)), update(config('A', long))],
    })).toEqual([]);
  });

  test('dropping the long wait with copies (600 → 45 minutes): the starter\'s Delete leaves the copies and their sharing; 600 → 720 signals the copies\' new condition', async () => {
    const copying = { keepPrevious: 1, shareWithAccounts: [ACCOUNTS[0]], copyToRegions: [COPY_REGION] } as const;

    expect(await play({
      first: config('A', { ...copying, timeoutMinutes: 600 }),
      steps: [update(config('A', { ...copying, timeoutMinutes: 720 })), update(config('A', { ...copying, timeoutMinutes: 45 })), update(config('B', { ...copying, timeoutMinutes: 45 }))],
    })).toEqual([]);
  });

  test('a new image that fails (waiter, then a wait over an hour) rolls back and leaves no image or snapshot of it', async () => {
    const shared = { keepPrevious: 1, shareWithAccounts: [ACCOUNTS[1]] } as const;

    expect(await play({
      first: config('A', shared),
      steps: [update(config('B', shared), false, true), update(config('C', { ...shared, timeoutMinutes: 600 }), false, true), update(config('B', shared))],
    })).toEqual([]);
  });

  test('a new image whose AMI test fails (waiter, then a wait over an hour with copies) is never promoted: rolled back, removed, not shared or copied', async () => {
    const shared = { keepPrevious: 1, shareWithAccounts: [ACCOUNTS[0]], copyToRegions: [COPY_REGION] } as const;
    const testFails = (c: Configuration): Step => ({ config: c, laterFails: false, testFails: true });

    expect(await play({
      first: config('A', shared),
      steps: [testFails(config('B', shared)), update(config('B', shared)), testFails(config('C', { ...shared, timeoutMinutes: 600 })), testFails(config('A', shared))],
    })).toEqual([]);
  });

  test('an image still pending at CloudFormation\'s hour (waiter polls 30 s apart, 12 s each): the waiter fails first, the rollback leaves nothing of it', async () => {
    const shared = { keepPrevious: 1, shareWithAccounts: [ACCOUNTS[0]], copyToRegions: [COPY_REGION] } as const;
    const slow = (c: Configuration): Step => ({ config: c, laterFails: false, slowImage: true });

    expect(await play({
      first: config('A', shared),
      steps: [update(config('B', shared)), slow(config('C', shared)), update(config('C', shared)), slow(config('A', shared))],
    })).toEqual([]);
  });

  test('keepInstancesRunning true → false stops the running source in place (same content, no new image)', async () => {
    expect(await play({
      first: config('A', { keepPrevious: 1 }),
      steps: [update(config('A', { keepPrevious: 1, stopInstance: true })), update(config('B', { keepPrevious: 1, stopInstance: true }))],
    })).toEqual([]);
  });

  test('found by the random property: a rolled-back update that adopted a retained image and copied it leaves no copy once the stack is deleted', async () => {
    // B retained when A replaced it; B adopted again with a copy region, then a later resource fails: the
    // rollback goes back to A's properties (no region) and the copy of B stays with B, the stack delete must find it.
    expect(await play({
      first: config('B', { removalPolicy: 'retain' }),
      steps: [update(config('A')), update(config('B', { copyToRegions: [COPY_REGION] }), true)],
    })).toEqual([]);
  });

  test('found by the random property: keepInstancesRunning false with an image that exists already (a revert) still stops the running source', async () => {
    expect(await play({
      first: config('B', { removalPolicy: 'retain' }),
      steps: [update(config('A')), update(config('B', { stopInstance: true }))],
    })).toEqual([]);
  });

  test('found by the random property: 600 → 45 minutes with a new image and copies dropped keeps the previous image shared like the current one', async () => {
    expect(await play({
      first: config('A', { keepPrevious: 2, shareWithAccounts: [ACCOUNTS[0]], copyToRegions: [COPY_REGION], timeoutMinutes: 600 }),
      steps: [update(config('C', { shareWithAccounts: [ACCOUNTS[1]] }))],
    })).toEqual([]);
  });

  const configuration: fc.Arbitrary<Configuration> = fc.record({
    content: fc.constantFrom('A', 'B', 'C'),
    keepPrevious: fc.constantFrom(0, 1, 2),
    shareWithAccounts: fc.subarray([...ACCOUNTS]),
    copyToRegions: fc.constantFrom([], [COPY_REGION]),
    removalPolicy: fc.constantFrom('destroy', 'retain'),
    timeoutMinutes: fc.constantFrom(...TIMEOUTS),
    stopInstance: fc.boolean(),
  });
  const step: fc.Arbitrary<Step> = fc.record({
    config: configuration,
    laterFails: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    imageFails: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    testFails: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    slowImage: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });
  /** 2 to 5 deploys: the first, then 1 to 4 updates. */
  const sequence: fc.Arbitrary<Sequence> = fc.record({ first: configuration, steps: fc.array(step, { minLength: 1, maxLength: 4 }) });

  test(`every invariant holds after every step of ${RUNS} random sequences (seed ${SEED})`, async () => {
    const { eu, twin } = await withTwin();

    await fc.assert(
      fc.asyncProperty(sequence, async (s) => {
        const violations = await playSequence(emu, eu, twin, namespace(), s);
        if (violations.length > 0) throw new Error(`${describeSequence(s)}\n${violations.join('\n')}`);
      }),
      // Each run is several seconds of emulated EC2: shrink only in the long run asked for.
      { seed: SEED, numRuns: RUNS, endOnFailure: process.env.SEQUENCE_RUNS === undefined },
    );
  }, 60_000 + RUNS * 30_000);
});
