/**
 * One sequence of deploys of a deployment, checked after every step against
 * the model, beside a twin deployment that must stay untouched.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Emulator } from '../emulator/harness/suite';
import {
  existingSnapshots,
  nothingLeftAfterDelete,
  nothingUntestedPromoted,
  observe,
  previousImagesKept,
  recordedImageAvailable,
  sharedAsConfigured,
  sourceStoppedAsConfigured,
  twinUntouched,
  World,
} from './invariants';
import { ACCOUNTS, config, Configuration, COPY_REGION, Deployment, deployment, describeConfig, Model, ownerOf, Step } from './model';
import { DEADLINE_FAILURE, INJECTED_FAILURE, Player, StepOutcome, TEST_FAILURE } from './player';

/** A first deploy, then updates. */
export interface Sequence {
  readonly first: Configuration;
  readonly steps: readonly Step[];
}

export interface Twin {
  readonly deployment: Deployment;
  /** What it held when the sequence started. */
  readonly world: World;
}

/**
 * Another stack of the same app (the same stack name, another stack UUID: the app deployed again after a delete, or
 * in another account or region whose copies land here) in the same account and region, sharing and copying: deployed
 * once, never touched again. Only the UUID at the end of the owner value tells its images from the sequence's.
 */
export async function deployTwin(emu: Emulator, namespace: string): Promise<Deployment> {
  const d = deployment(namespace);
  const outcome = await new Player(emu, d).create(config('A', { keepPrevious: 1, shareWithAccounts: [ACCOUNTS[0]], copyToRegions: [COPY_REGION] }));
  if (!outcome.completed) throw new Error(`the twin's deploy failed: ${outcome.failures.join('; ')}`);
  return d;
}

/** The twin as it is now: what a sequence must leave as it found it. */
export async function twinNow(emu: Emulator, copyRegion: EC2Client, d: Deployment): Promise<Twin> {
  return { deployment: d, world: (await observe(emu, copyRegion, [ownerOf(d)]))[0] };
}

async function instanceState(emu: Emulator, instanceId: string): Promise<string | undefined> {
  const { Reservations } = await emu.direct.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

export const describeSequence = (s: Sequence): string =>
  [describeConfig(s.first), ...s.steps.map((step) =>
    `${describeConfig(step.config)}${step.imageFails ? ' (image fails)' : ''}${step.testFails ? ' (test fails)' : ''}${step.slowImage ? ' (image pending past the hour)' : ''}${step.laterFails ? ' (later failure)' : ''}`)].join(' → ');

/**
 * Deploys `sequence.first`, then each step, then deletes the stack, checking
 * every invariant after each. Returns every violation, each prefixed with its step.
 */
export async function playSequence(emu: Emulator, copyRegion: EC2Client, twin: Twin, namespace: string, sequence: Sequence): Promise<string[]> {
  const d = deployment(namespace);
  const player = new Player(emu, d);
  const model = new Model();
  const everSnapshots = new Set<string>();
  const violations: string[] = [];

  const check = async (label: string, outcome: StepOutcome, phase: 'deployed' | 'deleted', step?: Step) => {
    // A failed image or test fails its deploy: that failure is the step's, any other is a violation.
    const injected = (f: string) => (step?.imageFails && f.includes(INJECTED_FAILURE)) || (step?.testFails && f.includes(TEST_FAILURE))
      || (step?.slowImage && f.startsWith('Image Update FAILED') && f.includes(DEADLINE_FAILURE));
    const found = outcome.failures.filter((f) => !injected(f)).map((f) => `requests succeed: ${f}`);
    const [world, twinWorld] = await observe(emu, copyRegion, [ownerOf(d), ownerOf(twin.deployment)]);
    world.snapshots.forEach((s) => everSnapshots.add(s));
    [...world.images, ...world.copies].flatMap((i) => i.snapshots).forEach((s) => everSnapshots.add(s));
    found.push(...twinUntouched(twin.world, twinWorld));
    if (phase === 'deployed') {
      found.push(
        ...recordedImageAvailable(emu.records.get('Image'), world, model),
        ...previousImagesKept(world, model),
        ...sharedAsConfigured(world, model),
        ...nothingUntestedPromoted(emu.records.get('Distribution'), world, player.tested, model),
        ...sourceStoppedAsConfigured(await instanceState(emu, player.sourceInstanceId!), model),
      );
      model.resync(world.images.map((i) => i.id));
    } else {
      found.push(...nothingLeftAfterDelete(world, await existingSnapshots(emu, copyRegion, everSnapshots), model));
    }
    violations.push(...found.map((v) => `[${label}] ${v}`));
  };

  const created = await player.create(sequence.first);
  model.created(sequence.first, player.image.physicalId!);
  await check(`create ${describeConfig(sequence.first)}`, created, 'deployed');
  if (!created.completed) return violations;

  let previous = sequence.first;
  for (const [i, step] of sequence.steps.entries()) {
    const outcome = await player.update(step);
    if (outcome.completed) model.updated(step.config, player.image.physicalId!);
    else model.rolledBack(player.abandonedImage);
    const label = `step ${i + 1}: ${describeConfig(previous)} → ${describeConfig(step.config)}` +
      (step.imageFails ? ', its new image fails' : '') +
      (step.testFails ? ', its image\'s test fails' : '') +
      (step.slowImage ? ', its image pending past CloudFormation\'s hour' : '') +
      (step.laterFails ? ', a later resource fails (rolled back)' : outcome.completed ? '' : ', rolled back');
    await check(label, outcome, 'deployed', step);
    if (outcome.completed) previous = step.config;
  }

  const deleted = await player.deleteStack();
  model.stackDeleted();
  await check(`stack delete (${model.config.removalPolicy})`, deleted, 'deleted');
  return violations;
}
