/**
 * The shared EC2 helpers on their own (the handler tests reach them only
 * through whole requests): the clients' retry settings, which ids count as AMI
 * ids, error codes, DescribeImages' edge answers, snapshot clean-up after a
 * deregistration, and the newest-first order. StrykerJS found these unchecked.
 */
import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  Image,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import {
  deleteSnapshotsOfImage,
  deregisterImage,
  describeImage,
  ec2 as sharedClient,
  ec2In,
  errorCode,
  findImageByName,
  isAmiId,
  isGone,
  isOwnedBy,
  newestFirst,
  ownedImages,
  requireImdsV2,
  snapshotIdsOf,
  tagValue,
} from '../../../lib/shared/runtime/ec2';
import { ec2Error } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const OWNER = 'TestStack/Image';
const NAME = 'TestStack-Image-0123456789abcdef';
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const OURS = [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }];

beforeEach(() => {
  ec2.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('the clients', () => {
  test('the shared client retries in adaptive mode, up to 8 attempts', async () => {
    expect(sharedClient.config.retryMode).toBe('adaptive');
    expect(await sharedClient.config.maxAttempts()).toBe(8);
  });

  test('a regional client: in its region, with the same retries, made once per region', async () => {
    const client = ec2In('eu-west-1');
    expect(await client.config.region()).toBe('eu-west-1');
    expect(client.config.retryMode).toBe('adaptive');
    expect(await client.config.maxAttempts()).toBe(8);
    expect(ec2In('eu-west-1')).toBe(client);
    expect(ec2In('ap-south-1')).not.toBe(client);
    expect(await ec2In('ap-south-1').config.region()).toBe('ap-south-1');
  });
});

describe('isAmiId', () => {
  test.each([
    ['ami-12345678', true],
    ['ami-0123456789abcdef0', true],
    ['ami-0123456789abcdef', true],
    ['ami-1234567', false],
    ['ami-0123456789abcdef01', false],
    ['ami-0123456789ABCDEF0', false],
    ['ami-0123456789abcdefg', false],
    ['xami-12345678', false],
    ['ami-12345678x', false],
    ['snap-12345678', false],
    ['TestStack-Image-1A2B3C', false],
    ['', false],
    [undefined, false],
  ])('%p: %p', (id, expected) => {
    expect(isAmiId(id)).toBe(expected);
  });
});

describe('errorCode', () => {
  test('EC2\'s Code first, then the SDK\'s name', () => {
    expect(errorCode({ Code: 'InvalidAMIID.NotFound', name: 'ServiceException' })).toBe('InvalidAMIID.NotFound');
    expect(errorCode(ec2Error('IncorrectState'))).toBe('IncorrectState');
    expect(errorCode({})).toBeUndefined();
  });

  test.each([[null], [undefined], ['InvalidAMIID.NotFound'], [42], [Object.assign(() => undefined, { Code: 'X' })]])('no code for a thrown %p', (thrown) => {
    expect(errorCode(thrown)).toBeUndefined();
  });
});

describe('tags and states', () => {
  test('tagValue: the value of that key, undefined without it or without tags', () => {
    const tags = [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }];
    expect(tagValue(tags, 'b')).toBe('2');
    expect(tagValue(tags, 'c')).toBeUndefined();
    expect(tagValue(undefined, 'a')).toBeUndefined();
  });

  test('isOwnedBy: the owner tag must equal the owner', () => {
    expect(isOwnedBy({ Tags: OURS }, OWNER)).toBe(true);
    expect(isOwnedBy({ Tags: OURS }, 'Other/Image')).toBe(false);
    expect(isOwnedBy({}, OWNER)).toBe(false);
  });

  test('isGone: no image, or a just-deregistered one', () => {
    expect(isGone(undefined)).toBe(true);
    expect(isGone({ State: 'deregistered' })).toBe(true);
    expect(isGone({ State: 'available' })).toBe(false);
    expect(isGone({ State: 'disabled' })).toBe(false);
    expect(isGone({})).toBe(false);
  });

  test('snapshotIdsOf: the EBS snapshots, not instance-store or snapshot-less mappings', () => {
    expect(snapshotIdsOf({ BlockDeviceMappings: [
      { DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-1' } },
      { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
      { DeviceName: '/dev/sdc', Ebs: {} },
      { DeviceName: '/dev/sdd', Ebs: { SnapshotId: 'snap-2' } },
    ] })).toEqual(['snap-1', 'snap-2']);
    expect(snapshotIdsOf({})).toEqual([]);
  });
});

describe('describeImage', () => {
  test('asks for that id, disabled images included', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: AMI, State: 'disabled' }] });
    expect(await describeImage(AMI)).toEqual({ ImageId: AMI, State: 'disabled' });
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: [AMI], IncludeDisabled: true });
  });

  test.each<[string, { Images?: Image[] }]>([
    ['no Images at all', {}],
    ['an empty list', { Images: [] }],
    ['a just-deregistered image', { Images: [{ ImageId: AMI, State: 'deregistered' }] }],
  ])('%s: undefined', async (_case, answer) => {
    ec2.on(DescribeImagesCommand).resolves(answer);
    expect(await describeImage(AMI)).toBeUndefined();
  });

  test.each(['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable'])('%s: undefined', async (code) => {
    ec2.on(DescribeImagesCommand).rejects(ec2Error(code));
    expect(await describeImage(AMI)).toBeUndefined();
  });

  test('any other error is thrown', async () => {
    ec2.on(DescribeImagesCommand).rejects(ec2Error('UnauthorizedOperation'));
    await expect(describeImage(AMI)).rejects.toThrow('UnauthorizedOperation from EC2');
  });

  test('asks the client it is given', async () => {
    const other = new EC2Client({ region: 'eu-west-1' });
    ec2.on(DescribeImagesCommand).callsFake(async (_input, getClient) => ({ Images: [{ ImageId: AMI, Name: await getClient().config.region() }] }));
    expect(await describeImage(AMI, other)).toEqual({ ImageId: AMI, Name: 'eu-west-1' });
  });
});

describe('findImageByName', () => {
  test('this account\'s images of that name, disabled included; the first not just-deregistered', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [
      { ImageId: 'ami-0bbbbbbbbbbbbbbbb', State: 'deregistered' },
      { ImageId: AMI, State: 'disabled' },
    ] });
    expect(await findImageByName(NAME)).toEqual({ ImageId: AMI, State: 'disabled' });
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, { Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: 'name', Values: [NAME] }] });
  });

  test('none, or only a just-deregistered one: undefined', async () => {
    ec2.on(DescribeImagesCommand).resolvesOnce({}).resolves({ Images: [{ ImageId: AMI, State: 'deregistered' }] });
    expect(await findImageByName(NAME)).toBeUndefined();
    expect(await findImageByName(NAME)).toBeUndefined();
  });
});

describe('ownedImages and newestFirst', () => {
  test('this account\'s images with the owner tag, disabled included, just-deregistered left out, newest first', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [
      { ImageId: 'ami-01', CreationDate: '2026-01-01T00:00:00.000Z', State: 'available' },
      { ImageId: 'ami-02', CreationDate: '2026-03-01T00:00:00.000Z', State: 'deregistered' },
      { ImageId: 'ami-03', CreationDate: '2026-02-01T00:00:00.000Z', State: 'disabled' },
    ] });
    expect((await ownedImages(OWNER)).map((i) => i.ImageId)).toEqual(['ami-03', 'ami-01']);
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, { Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }] });
  });

  test('no Images at all: none', async () => {
    ec2.on(DescribeImagesCommand).resolves({});
    expect(await ownedImages(OWNER)).toEqual([]);
  });

  test('newestFirst: by CreationDate, a missing or unreadable date oldest, ties by the greater ImageId; the input is left as it was', () => {
    const images: Image[] = [
      { ImageId: 'ami-a', CreationDate: '2026-01-01T00:00:00.000Z' },
      { ImageId: 'ami-b' },
      { ImageId: 'ami-c', CreationDate: 'not a date' },
      { ImageId: 'ami-d', CreationDate: '2026-02-01T00:00:00.000Z' },
      { ImageId: 'ami-e', CreationDate: '2026-01-01T00:00:00.000Z' },
    ];
    const before = images.map((i) => i.ImageId);
    expect(newestFirst(images).map((i) => i.ImageId)).toEqual(['ami-d', 'ami-e', 'ami-a', 'ami-c', 'ami-b']);
    expect(newestFirst([...images].reverse()).map((i) => i.ImageId)).toEqual(['ami-d', 'ami-e', 'ami-a', 'ami-c', 'ami-b']);
    expect(images.map((i) => i.ImageId)).toEqual(before);
  });
});

describe('deregisterImage', () => {
  test('deregisters with its snapshots', async () => {
    ec2.on(DeregisterImageCommand).resolves({ DeleteSnapshotResults: [{ SnapshotId: 'snap-1', ReturnCode: 'success' }] });
    await deregisterImage(AMI);
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: AMI, DeleteAssociatedSnapshots: true });
  });

  test('an older EC2 answering without DeleteSnapshotResults: fine', async () => {
    ec2.on(DeregisterImageCommand).resolves({});
    await expect(deregisterImage(AMI)).resolves.toBeUndefined();
  });

  test.each(['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable'])('%s: already gone, fine', async (code) => {
    ec2.on(DeregisterImageCommand).rejects(ec2Error(code));
    await expect(deregisterImage(AMI)).resolves.toBeUndefined();
  });

  test('any other error is thrown', async () => {
    ec2.on(DeregisterImageCommand).rejects(ec2Error('InvalidAMIID.Malformed'));
    await expect(deregisterImage(AMI)).rejects.toThrow('InvalidAMIID.Malformed from EC2');
  });
});

describe('deleteSnapshotsOfImage', () => {
  const byTag = { OwnerIds: ['self'], Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [NAME] }] };
  const ours = (id: string) => ({ SnapshotId: id, Tags: OURS });

  test('no snapshot tagged with the name and none listed: done, nothing else asked', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({});
    expect(await deleteSnapshotsOfImage(NAME, OWNER)).toBe(true);
    expect(ec2).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DescribeSnapshotsCommand, byTag);
    expect(ec2).not.toHaveReceivedCommand(DescribeImagesCommand);
    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  test('listed snapshots already found by tag are not looked up again; the others are, by id', async () => {
    ec2.on(DescribeSnapshotsCommand, byTag).resolves({ Snapshots: [ours('snap-1')] });
    ec2.on(DescribeSnapshotsCommand, { Filters: [{ Name: 'snapshot-id', Values: ['snap-2'] }] }).resolves({ Snapshots: [ours('snap-2')] });
    ec2.on(DescribeImagesCommand).resolves({});
    expect(await deleteSnapshotsOfImage(NAME, OWNER, ['snap-1', 'snap-2'])).toBe(true);
    expect(ec2).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 2);
    expect(ec2).toHaveReceivedNthCommandWith(2, DescribeSnapshotsCommand, { OwnerIds: ['self'], Filters: [{ Name: 'snapshot-id', Values: ['snap-2'] }] });
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, {
      Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: ['snap-1', 'snap-2'] }],
    });
    expect(ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input)).toEqual([{ SnapshotId: 'snap-1' }, { SnapshotId: 'snap-2' }]);
  });

  test('every listed snapshot already found by tag: no lookup by id', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [ours('snap-1')] });
    ec2.on(DescribeImagesCommand).resolves({});
    expect(await deleteSnapshotsOfImage(NAME, OWNER, ['snap-1'])).toBe(true);
    expect(ec2).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-1' });
  });

  test('a listed snapshot that no longer exists: the lookup by id answers nothing, done', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({});
    expect(await deleteSnapshotsOfImage(NAME, OWNER, ['snap-9'])).toBe(true);
    expect(ec2).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 2);
    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
    expect(ec2).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  test('skips a snapshot without our owner tag and one a registered or disabled image still uses; a just-deregistered user does not hold it', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [
      { SnapshotId: 'snap-foreign', Tags: [{ Key: OWNER_TAG, Value: 'Other/Image' }] },
      { SnapshotId: 'snap-untagged' },
      ours('snap-used'),
      ours('snap-disabled-user'),
      ours('snap-free'),
    ] });
    ec2.on(DescribeImagesCommand).resolves({ Images: [
      { ImageId: 'ami-0bbbbbbbbbbbbbbbb', State: 'available', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-used' } }] },
      { ImageId: 'ami-0cccccccccccccccc', State: 'disabled', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-disabled-user' } }] },
      { ImageId: AMI, State: 'deregistered', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-free' } }] },
    ] });
    expect(await deleteSnapshotsOfImage(NAME, OWNER)).toBe(true);
    expect(ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input)).toEqual([{ SnapshotId: 'snap-free' }]);
  });

  test('already deleted: done', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [ours('snap-1')] });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(DeleteSnapshotCommand).rejects(ec2Error('InvalidSnapshot.NotFound'));
    expect(await deleteSnapshotsOfImage(NAME, OWNER)).toBe(true);
  });

  test.each(['InvalidSnapshot.InUse', 'IncorrectState'])('%s: not yet, retried later; the other snapshots are still deleted', async (code) => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [ours('snap-1'), ours('snap-2')] });
    ec2.on(DescribeImagesCommand).resolves({});
    ec2.on(DeleteSnapshotCommand, { SnapshotId: 'snap-1' }).rejects(ec2Error(code)).on(DeleteSnapshotCommand, { SnapshotId: 'snap-2' }).resolves({});
    expect(await deleteSnapshotsOfImage(NAME, OWNER)).toBe(false);
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-2' });
  });

  test.each([
    ['another EC2 error', ec2Error('UnauthorizedOperation'), 'UnauthorizedOperation from EC2'],
    ['an error without a code', new Error('socket hang up'), 'socket hang up'],
  ])('%s is thrown', async (_case, error, message) => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [ours('snap-1')] });
    ec2.on(DescribeImagesCommand).resolves({});
    ec2.on(DeleteSnapshotCommand).rejects(error);
    await expect(deleteSnapshotsOfImage(NAME, OWNER)).rejects.toThrow(message);
  });
});

describe('requireImdsV2', () => {
  test('an image that does not require IMDSv2 yet is made to', async () => {
    await requireImdsV2({ ImageId: AMI, ImdsSupport: undefined });
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { ImageId: AMI, ImdsSupport: { Value: 'v2.0' } });
  });

  test('one that already does is left alone', async () => {
    await requireImdsV2({ ImageId: AMI, ImdsSupport: 'v2.0' });
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });
});
