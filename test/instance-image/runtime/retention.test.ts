/**
 * Which images a Delete keeps (runtime/retention.ts), and what onEvent and
 * isComplete do with that: CloudFormation sends the same Delete for the
 * resource's own deletion, for the cleanup after a replacement and for the
 * cleanup after a rollback, told apart by the physical id it records now.
 *
 * EC2 is a small fake of one account and region, so that DescribeImages'
 * filters, deregistration and snapshot deletion behave as EC2's do: an image
 * missing the owner tag is only safe if the request carries the tag filter.
 */
import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeImagesCommandInput,
  DescribeSnapshotsCommand,
  DescribeSnapshotsCommandInput,
  EC2Client,
  Filter,
  Image,
  Snapshot,
  Tag,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { isComplete } from '../../../lib/instance-image/runtime/is-complete';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import type { OnEventRequest } from '../../../lib/instance-image/runtime/types';
import { ImageResourceProperties } from '../../../lib/instance-image/shared';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { ownedImages } from '../../../lib/shared/runtime/ec2';
import { cleaningUpAfterRollback, keepCount, recordedPhysicalId, retention } from '../../../lib/shared/runtime/retention';
import { cloudFormationError, deleteEvent, ec2Error, isCompleteEvent, OWNER, PROPS, stackResource, stackStatus } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const cfn = mockClient(CloudFormationClient);
const STACK_ID = deleteEvent('ami-0aaaaaaaaaaaaaaaa').StackId;

interface Spec {
  readonly id: string;
  readonly name: string;
  readonly snapshot: string;
  readonly created: string;
  readonly tags: Tag[];
  /** The resource properties the image was made for (its Delete carries them). */
  readonly props: Partial<ImageResourceProperties>;
}

/** An image of this resource, made for `RebuildToken: token`. */
function ours(hex: string, created: string, token: string): Spec {
  const props = { RebuildToken: token };
  const name = imageNameFor({ ...PROPS, ...props });
  return {
    id: `ami-0${hex.repeat(16)}`, name, snapshot: `snap-0${hex.repeat(16)}`, created, props,
    tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: name }],
  };
}

const OLDER = ours('a', '2026-01-01T00:00:00.000Z', '1');
const PREVIOUS = ours('b', '2026-02-01T00:00:00.000Z', '2');
const CURRENT = ours('c', '2026-03-01T00:00:00.000Z', '3');
/** Made by an Update that CloudFormation then rolled back from. */
const NEWER = ours('d', '2026-04-01T00:00:00.000Z', '4');
/** Another InstanceImage's image, and a hand-made one: never this resource's to remove. */
const FOREIGN: Spec = {
  id: 'ami-0eeeeeeeeeeeeeeee', name: 'Other-Image-0123456789abcdef', snapshot: 'snap-0eeeeeeeeeeeeeeee', created: '2025-12-01T00:00:00.000Z', props: {},
  tags: [{ Key: OWNER_TAG, Value: 'Other/Image' }, { Key: IMAGE_NAME_TAG, Value: 'Other-Image-0123456789abcdef' }],
};
const UNTAGGED: Spec = {
  id: 'ami-0ffffffffffffffff', name: 'hand-made', snapshot: 'snap-0ffffffffffffffff', created: '2025-11-01T00:00:00.000Z', props: {}, tags: [],
};

function imageOf(spec: Spec, overrides: Partial<Image> = {}): Image {
  return {
    ImageId: spec.id,
    Name: spec.name,
    State: 'available',
    ImdsSupport: 'v2.0',
    CreationDate: spec.created,
    Tags: spec.tags,
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: spec.snapshot } }],
    ...overrides,
  };
}

// ---- the fake account ---------------------------------------------------------------------------

let images: Image[];
let snapshots: Snapshot[];

function tagOf(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

function imageMatches(image: Image, filter: Filter): boolean {
  const values = filter.Values ?? [];
  if (filter.Name === 'name') return values.includes(image.Name!);
  if (filter.Name === 'block-device-mapping.snapshot-id') {
    return (image.BlockDeviceMappings ?? []).some((m) => values.includes(m.Ebs?.SnapshotId ?? ''));
  }
  if (filter.Name?.startsWith('tag:')) return values.includes(tagOf(image.Tags, filter.Name.slice(4)) ?? '\0');
  throw new Error(`the fake EC2 does not know the DescribeImages filter ${filter.Name}`);
}

function snapshotMatches(snapshot: Snapshot, filter: Filter): boolean {
  const values = filter.Values ?? [];
  if (filter.Name === 'snapshot-id') return values.includes(snapshot.SnapshotId!);
  if (filter.Name?.startsWith('tag:')) return values.includes(tagOf(snapshot.Tags, filter.Name.slice(4)) ?? '\0');
  throw new Error(`the fake EC2 does not know the DescribeSnapshots filter ${filter.Name}`);
}

/** One region of one account holding these images and their snapshots. */
function account(...specs: Spec[]): void {
  images = specs.map((spec) => imageOf(spec));
  snapshots = specs.map((spec) => ({ SnapshotId: spec.snapshot, Tags: spec.tags }));
  ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
    let found = images.filter((image) => input.IncludeDisabled || image.State !== 'disabled');
    if (input.ImageIds) found = found.filter((image) => input.ImageIds!.includes(image.ImageId!));
    for (const filter of input.Filters ?? []) found = found.filter((image) => imageMatches(image, filter));
    return { Images: found.map((image) => ({ ...image })) };
  });
  // Like real EC2 right after DeregisterImage: still listed, as `deregistered`. The snapshots are
  // left for isComplete (as when DeleteAssociatedSnapshots is dropped by an older SDK).
  ec2.on(DeregisterImageCommand).callsFake(({ ImageId }: { ImageId: string }) => {
    const image = images.find((i) => i.ImageId === ImageId && i.State !== 'deregistered');
    if (!image) throw ec2Error('InvalidAMIID.NotFound');
    image.State = 'deregistered';
    return {};
  });
  ec2.on(DescribeSnapshotsCommand).callsFake((input: DescribeSnapshotsCommandInput) => {
    let found = snapshots;
    for (const filter of input.Filters ?? []) found = found.filter((snapshot) => snapshotMatches(snapshot, filter));
    return { Snapshots: found };
  });
  ec2.on(DeleteSnapshotCommand).callsFake(({ SnapshotId }: { SnapshotId: string }) => {
    if (!snapshots.some((s) => s.SnapshotId === SnapshotId)) throw ec2Error('InvalidSnapshot.NotFound');
    snapshots = snapshots.filter((s) => s.SnapshotId !== SnapshotId);
    return {};
  });
}

/** What CloudFormation records for the logical resource now. */
function records(physicalResourceId: string): void {
  cfn.on(DescribeStackResourceCommand, { StackName: STACK_ID, LogicalResourceId: 'Image' }).resolves(stackResource(physicalResourceId));
}

/** The Delete CloudFormation sends for `spec`: with the properties that image was made for. */
function deleteOf(spec: Spec, props: Partial<ImageResourceProperties> = {}): OnEventRequest {
  return deleteEvent(spec.id, { ...spec.props, ...props });
}

/** onEvent, then isComplete polled until complete (each poll gets the same event, as from the framework). */
async function deleteAndComplete(event: OnEventRequest) {
  const response = await onEvent(event);
  for (let poll = 0; poll < 3; poll++) {
    if ((await isComplete(isCompleteEvent(event, response))).IsComplete) return response;
  }
  throw new Error('isComplete never completed');
}

const deregistered = () => ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId!).sort();
const deletedSnapshots = () => ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId!).sort();
const ids = (...specs: Spec[]) => specs.map((s) => s.id).sort();
const snaps = (...specs: Spec[]) => specs.map((s) => s.snapshot).sort();
const pruned = (...specs: Spec[]) => specs.map((s) => ({ Name: s.name, SnapshotIds: [s.snapshot] }));

/** The stack's status during the Delete: a user's update's cleanup unless a test says it rolls back. */
function rollingBack(): void {
  cfn.on(DescribeStacksCommand, { StackName: STACK_ID }).resolves(stackStatus('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'));
}

beforeEach(() => {
  ec2.reset();
  cfn.reset();
  cfn.on(DescribeStacksCommand).resolves(stackStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

// ---- the rule -----------------------------------------------------------------------------------

describe('retention()', () => {
  const owned = [imageOf(PREVIOUS), imageOf(CURRENT), imageOf(OLDER)]; // not in order: retention sorts them

  test('the resource itself is deleted when CloudFormation records the deleted id, or no id: nothing kept', () => {
    expect(retention(owned, CURRENT.id, CURRENT.id, 5)).toEqual({ resourceDeleted: true, kept: new Set() });
    expect(retention(owned, CURRENT.id, undefined, 5)).toEqual({ resourceDeleted: true, kept: new Set() });
  });

  test.each([
    [0, [CURRENT]],
    [1, [CURRENT, PREVIOUS]],
    [2, [CURRENT, PREVIOUS, OLDER]],
    [9, [CURRENT, PREVIOUS, OLDER]],
  ])('replacement cleanup, keep %d: the current image and that many newest images made before it', (keep, kept) => {
    expect(retention(owned, PREVIOUS.id, CURRENT.id, keep)).toEqual({ resourceDeleted: false, kept: new Set(ids(...kept)), current: CURRENT.id });
  });

  test.each([0, 1, 2])('rollback cleanup, keep %d: the deleted image, newer than the current one, goes; nothing else does, whatever the failed keepPrevious', (keep) => {
    const all = [...owned, imageOf(NEWER)];
    expect(retention(all, NEWER.id, CURRENT.id, keep, true)).toEqual({ resourceDeleted: false, kept: new Set(ids(CURRENT, PREVIOUS, OLDER)), current: CURRENT.id });
  });

  test('rollback cleanup of an image the failed update adopted (older than the current one): it stays as it was', () => {
    expect(retention(owned, PREVIOUS.id, CURRENT.id, 0, true)).toEqual({ resourceDeleted: false, kept: new Set(ids(CURRENT, PREVIOUS, OLDER)), current: CURRENT.id });
  });

  test.each([
    [1, [NEWER]],
    [2, [NEWER, PREVIOUS]],
    [0, []],
  ])('a user\'s revert to an older image, keep %d: the image it replaced is the most recent previous one, newer or not', (keep, previous) => {
    // CURRENT was adopted again (a revert); NEWER was current until this update and is the image deleted.
    const all = [...owned, imageOf(NEWER)];
    expect(retention(all, NEWER.id, CURRENT.id, keep)).toEqual({ resourceDeleted: false, kept: new Set(ids(CURRENT, ...previous)), current: CURRENT.id });
  });

  test('the current image is not one of the owned images: every owned image but the deleted one stays', () => {
    expect(retention([imageOf(PREVIOUS), imageOf(OLDER)], PREVIOUS.id, CURRENT.id, 0)).toEqual({ resourceDeleted: false, kept: new Set([OLDER.id]) });
  });
});

describe('keepCount()', () => {
  test.each([
    [undefined, 0], ['0', 0], ['1', 1], ['3', 3], ['-1', 0], ['1.5', 0], ['two', 0], ['', 0],
  ])('%p is %d', (value, count) => {
    expect(keepCount(value)).toBe(count);
  });
});

describe('cleaningUpAfterRollback()', () => {
  test.each([
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', true],
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', false],
    ['DELETE_IN_PROGRESS', false],
    ['UPDATE_ROLLBACK_IN_PROGRESS', false],
  ] as const)('DescribeStacks of this stack answering %s: %p', async (status, rollback) => {
    cfn.reset();
    cfn.on(DescribeStacksCommand, { StackName: STACK_ID }).resolves(stackStatus(status));
    await expect(cleaningUpAfterRollback(STACK_ID)).resolves.toBe(rollback);
  });
});

describe('recordedPhysicalId()', () => {
  test('asks for the logical resource of this stack, and answers the physical id recorded', async () => {
    records(CURRENT.id);
    await expect(recordedPhysicalId(STACK_ID, 'Image')).resolves.toBe(CURRENT.id);
    expect(cfn).toHaveReceivedCommandWith(DescribeStackResourceCommand, { StackName: STACK_ID, LogicalResourceId: 'Image' });
  });

  test('a stack that no longer has the resource: undefined', async () => {
    cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError('ValidationError', 'Resource Image does not exist for stack TestStack'));
    await expect(recordedPhysicalId(STACK_ID, 'Image')).resolves.toBeUndefined();
  });

  test.each([
    ['AccessDenied', 'User is not authorized to perform: cloudformation:DescribeStackResource'],
    ['ValidationError', '1 validation error detected: Value at \'stackName\' failed to satisfy constraint'],
    ['Throttling', 'Rate exceeded'],
    ['ValidationError', `Stack with id ${STACK_ID} does not exist`],
  ])('%s (%s) is thrown, not taken for a deleted resource', async (name, message) => {
    cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError(name, message));
    await expect(recordedPhysicalId(STACK_ID, 'Image')).rejects.toThrow(message);
  });
});

describe('ownedImages()', () => {
  test('this owner\'s images, disabled ones included, just-deregistered ones not, newest first', async () => {
    account(OLDER, FOREIGN, CURRENT, UNTAGGED, PREVIOUS, NEWER);
    images.find((i) => i.ImageId === PREVIOUS.id)!.State = 'disabled';
    images.find((i) => i.ImageId === NEWER.id)!.State = 'deregistered';

    const owned = await ownedImages(OWNER);

    expect(owned.map((i) => i.ImageId)).toEqual([CURRENT.id, PREVIOUS.id, OLDER.id]);
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, {
      Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }],
    });
  });
});

// ---- onEvent Delete + isComplete ----------------------------------------------------------------

describe('Delete with retention', () => {
  test('(a) replacement cleanup, KeepPrevious 1: the replaced image stays, the older one goes with its snapshots', async () => {
    account(OLDER, FOREIGN, CURRENT, UNTAGGED, PREVIOUS);
    records(CURRENT.id);

    const response = await deleteAndComplete(deleteOf(PREVIOUS, { KeepPrevious: '1' }));

    expect(deregistered()).toEqual(ids(OLDER));
    expect(ec2).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: PREVIOUS.id });
    expect(response).toEqual({ PhysicalResourceId: PREVIOUS.id, DeregisteredImageOwner: OWNER, PrunedImages: pruned(OLDER) });
    expect(response).not.toHaveProperty('DeregisteredImageName');
    expect(deletedSnapshots()).toEqual(snaps(OLDER));
  });

  test('(b) replacement cleanup, no KeepPrevious: the replaced image goes, and the older ones of the resource too', async () => {
    account(OLDER, FOREIGN, CURRENT, UNTAGGED, PREVIOUS);
    records(CURRENT.id);

    const response = await deleteAndComplete(deleteOf(PREVIOUS));

    expect(deregistered()).toEqual(ids(PREVIOUS, OLDER));
    expect(response).toEqual({
      PhysicalResourceId: PREVIOUS.id,
      DeregisteredImageName: PREVIOUS.name,
      DeregisteredImageOwner: OWNER,
      SnapshotIds: [PREVIOUS.snapshot],
      PrunedImages: pruned(OLDER),
    });
    expect(deletedSnapshots()).toEqual(snaps(PREVIOUS, OLDER));
  });

  test('(c) rollback cleanup: the deleted image is newer than the current one; it goes, and nothing else (the failed KeepPrevious 0 prunes nothing)', async () => {
    account(OLDER, PREVIOUS, FOREIGN, NEWER, CURRENT, UNTAGGED);
    records(CURRENT.id);
    rollingBack();

    const response = await deleteAndComplete(deleteOf(NEWER, { KeepPrevious: '0' }));

    // A rollback puts back what was: PREVIOUS and OLDER stay, as they did before the failed update.
    expect(deregistered()).toEqual(ids(NEWER));
    expect(response).toMatchObject({ DeregisteredImageName: NEWER.name, SnapshotIds: [NEWER.snapshot] });
    expect(response).not.toHaveProperty('PrunedImages');
    expect(deletedSnapshots()).toEqual(snaps(NEWER));
  });

  test('(c2) a user\'s revert (not a rollback): the image it replaced stays as the newest previous one, though newer than the current', async () => {
    account(OLDER, PREVIOUS, FOREIGN, NEWER, CURRENT, UNTAGGED);
    records(CURRENT.id);

    const response = await deleteAndComplete(deleteOf(NEWER, { KeepPrevious: '1' }));

    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: STACK_ID });
    expect(deregistered()).toEqual(ids(PREVIOUS, OLDER));
    expect(response).toEqual({ PhysicalResourceId: NEWER.id, DeregisteredImageOwner: OWNER, PrunedImages: pruned(PREVIOUS, OLDER) });
  });

  test('(d) the resource itself is deleted (CloudFormation records this physical id): every image of it goes, KeepPrevious or not', async () => {
    account(OLDER, FOREIGN, CURRENT, UNTAGGED, PREVIOUS);
    records(CURRENT.id);

    const response = await deleteAndComplete(deleteOf(CURRENT, { KeepPrevious: '1' }));

    expect(deregistered()).toEqual(ids(CURRENT, PREVIOUS, OLDER));
    expect(response).toEqual({
      PhysicalResourceId: CURRENT.id,
      DeregisteredImageName: CURRENT.name,
      DeregisteredImageOwner: OWNER,
      SnapshotIds: [CURRENT.snapshot],
      PrunedImages: pruned(PREVIOUS, OLDER),
    });
    expect(deletedSnapshots()).toEqual(snaps(CURRENT, PREVIOUS, OLDER));
  });

  test('(e) the stack no longer has the resource (ValidationError "does not exist"): as a deleted resource, every image goes', async () => {
    account(OLDER, FOREIGN, CURRENT, UNTAGGED, PREVIOUS);
    cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError('ValidationError', `Resource Image does not exist for stack ${STACK_ID}`));

    const response = await deleteAndComplete(deleteOf(CURRENT, { KeepPrevious: '1' }));

    expect(cfn).toHaveReceivedCommandWith(DescribeStackResourceCommand, { StackName: STACK_ID, LogicalResourceId: 'Image' });
    expect(deregistered()).toEqual(ids(CURRENT, PREVIOUS, OLDER));
    expect(response).toMatchObject({ DeregisteredImageName: CURRENT.name, PrunedImages: pruned(PREVIOUS, OLDER) });
    expect(deletedSnapshots()).toEqual(snaps(CURRENT, PREVIOUS, OLDER));
  });

  test('(f) DescribeStackResource denied: the Delete fails, and nothing is removed on a guess', async () => {
    account(OLDER, CURRENT, PREVIOUS);
    cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError('AccessDenied', 'User is not authorized to perform: cloudformation:DescribeStackResource'));

    await expect(onEvent(deleteOf(PREVIOUS, { KeepPrevious: '1' }))).rejects.toThrow(/not authorized to perform: cloudformation:DescribeStackResource/);

    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  test('(g) an image without this resource\'s owner tag is never deregistered: the owner tag filters DescribeImages', async () => {
    account(OLDER, FOREIGN, CURRENT, UNTAGGED, PREVIOUS);
    records(CURRENT.id);

    await deleteAndComplete(deleteOf(CURRENT));

    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, {
      Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }],
    });
    // Every account-wide listing is by owner tag, never all of the account's images.
    for (const call of ec2.commandCalls(DescribeImagesCommand)) {
      const input = call.args[0].input;
      if (!input.ImageIds) expect(input.Filters?.length).toBeGreaterThan(0);
    }
    expect(deregistered()).not.toContain(FOREIGN.id);
    expect(deregistered()).not.toContain(UNTAGGED.id);
    expect(deletedSnapshots()).not.toContain(FOREIGN.snapshot);
    expect(deletedSnapshots()).not.toContain(UNTAGGED.snapshot);
    expect(deregistered()).toEqual(ids(CURRENT, PREVIOUS, OLDER));
  });

  test('(h) RemovalPolicy retain after a user\'s update: CloudFormation is asked whether this is a rollback, and nothing is deregistered', async () => {
    account(OLDER, CURRENT, PREVIOUS);
    records(CURRENT.id);
    const event = deleteOf(PREVIOUS, { RemovalPolicy: 'retain', KeepPrevious: '1' });

    const response = await deleteAndComplete(event);

    expect(response).toEqual({ PhysicalResourceId: PREVIOUS.id });
    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: STACK_ID });
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  test('(h2) RemovalPolicy retain in a rollback\'s cleanup: the image the failed update made goes all the same, and nothing else', async () => {
    account(OLDER, CURRENT, NEWER);
    records(CURRENT.id);
    rollingBack();

    const response = await deleteAndComplete(deleteOf(NEWER, { RemovalPolicy: 'retain' }));

    expect(deregistered()).toEqual(ids(NEWER));
    expect(response).toMatchObject({ DeregisteredImageName: NEWER.name });
  });

  test('(h3) RemovalPolicy retain, the resource deleted: nothing goes', async () => {
    account(CURRENT);
    records(CURRENT.id);
    await expect(deleteAndComplete(deleteOf(CURRENT, { RemovalPolicy: 'retain' }))).resolves.toEqual({ PhysicalResourceId: CURRENT.id });
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(cfn).not.toHaveReceivedCommand(DescribeStacksCommand);
  });
});
