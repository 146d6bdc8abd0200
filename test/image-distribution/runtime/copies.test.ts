import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageDeprecationCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  Image,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  applyDeprecation,
  applyLaunchPermissions,
  checkCopyRegions,
  ensureCopies,
  sweepCopies,
} from '../../../lib/image-distribution/runtime/copies';
import { DistributionResourceProperties } from '../../../lib/image-distribution/shared';
import { COPY_REGIONS_TAG, IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { ec2Error, OWNER } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const NAME = 'TestStack-Image-0123456789abcdef';
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const COPY = 'ami-0cccccccccccccccc';
const TAGS = [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }];
const ORG = 'arn:aws:organizations::123456789012:organization/o-abcdefghij';
const OU = 'arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34';
const BASE: DistributionResourceProperties = { ImageId: AMI, Owner: OWNER, RemovalPolicy: 'destroy' };
const byName = (name: string) => ({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] });
const owned = { Owners: ['self'], Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }] };

function props(overrides: Partial<DistributionResourceProperties> = {}): DistributionResourceProperties {
  return { ...BASE, ...overrides };
}

function image(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: AMI, Name: NAME, State: 'available', ImdsSupport: 'v2.0', Tags: TAGS, Description: 'test image',
    CreationDate: '2026-01-01T00:00:00.000Z', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' } }],
    ...overrides,
  };
}

function snapshot(id: string, imageName: string, owner = OWNER) {
  return { SnapshotId: id, Tags: [{ Key: OWNER_TAG, Value: owner }, { Key: IMAGE_NAME_TAG, Value: imageName }] };
}

/** The region of the client a call was made with: the home client (us-east-1 in these tests) or a copy region's. */
async function regionOf(call: { thisValue: unknown }): Promise<string> {
  return (call.thisValue as EC2Client).config.region();
}

beforeEach(() => {
  ec2.reset();
  process.env.AWS_REGION = 'us-east-1';
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
});
afterEach(() => jest.restoreAllMocks());

describe('sharing', () => {
  test('adds launch permissions for accounts, organizations and OUs', async () => {
    await applyLaunchPermissions(image(), props({ ShareWithAccounts: ['111122223333'], ShareWithOrganizationArns: [ORG, OU] }));
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, {
      ImageId: AMI,
      LaunchPermission: { Add: [{ UserId: '111122223333' }, { OrganizationArn: ORG }, { OrganizationalUnitArn: OU }] },
    });
  });

  test('an Update applies the difference in place and removes a public permission', async () => {
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '111122223333' }, { UserId: '444455556666' }, { Group: 'all' }] });

    await applyLaunchPermissions(image(), props({ ShareWithAccounts: ['111122223333', '777788889999'] }), props({ ShareWithAccounts: ['111122223333', '444455556666'] }));

    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, {
      ImageId: AMI,
      LaunchPermission: { Add: [{ UserId: '777788889999' }], Remove: [{ UserId: '444455556666' }, { Group: 'all' }] },
    });
  });

  test('sharing removed by an Update removes every permission', async () => {
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '111122223333' }] });
    await applyLaunchPermissions(image(), props(), props({ ShareWithAccounts: ['111122223333'] }));
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { LaunchPermission: { Remove: [{ UserId: '111122223333' }] } });
  });

  test('nothing wanted and nothing before: no launch-permission call at all', async () => {
    await applyLaunchPermissions(image(), props());
    await applyLaunchPermissions(image(), props(), props());
    expect(ec2).not.toHaveReceivedCommand(DescribeImageAttributeCommand);
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });

  test('permissions already right: no change', async () => {
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '111122223333' }] });
    await applyLaunchPermissions(image(), props({ ShareWithAccounts: ['111122223333'] }));
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });
});

describe('deprecation', () => {
  test('deprecates N days after the image\'s creation', async () => {
    jest.useFakeTimers({ now: new Date('2026-01-02T00:00:00Z'), doNotFake: ['setTimeout', 'setImmediate', 'nextTick'] });
    try {
      await applyDeprecation(image(), props({ DeprecateAfterDays: '90' }));
    } finally {
      jest.useRealTimers();
    }
    expect(ec2).toHaveReceivedCommandWith(EnableImageDeprecationCommand, { ImageId: AMI, DeprecateAt: new Date('2026-04-01T00:00:00Z') });
  });

  test('an image older than the period is deprecated a minute from now (EC2 wants the future)', async () => {
    const before = Date.now();
    await applyDeprecation(image(), props({ DeprecateAfterDays: '1' }));
    const call = ec2.commandCalls(EnableImageDeprecationCommand)[0];
    const at = (call.args[0].input.DeprecateAt as Date).getTime();
    expect(at).toBeGreaterThan(before);
    expect(at).toBeLessThanOrEqual(before + 2 * 60_000);
  });

  test('already deprecated at the right time: no call', async () => {
    await applyDeprecation(image({ DeprecationTime: '2026-01-31T00:00:00.000Z' }), props({ DeprecateAfterDays: '30' }));
    expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
  });

  test('deprecation no longer asked for is lifted', async () => {
    await applyDeprecation(image({ DeprecationTime: '2026-01-31T00:00:00.000Z' }), props());
    expect(ec2).toHaveReceivedCommandWith(DisableImageDeprecationCommand, { ImageId: AMI });
  });

  test('no deprecation wanted nor set: no call', async () => {
    await applyDeprecation(image(), props());
    expect(ec2).not.toHaveReceivedCommand(DisableImageDeprecationCommand);
    expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
  });
});

describe('ensureCopies', () => {
  const regions = props({ CopyToRegions: ['eu-west-1'] });

  test('starts CopyImage in each region with a deterministic client token and the source\'s tags; not done until available', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });

    await expect(ensureCopies(image(), regions, undefined, 'request-1')).resolves.toMatchObject({ done: false, copies: { 'eu-west-1': COPY }, available: [] });
    await ensureCopies(image(), regions, undefined, 'request-1');

    const calls = ec2.commandCalls(CopyImageCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0].args[0].input).toEqual({
      SourceImageId: AMI, SourceRegion: 'us-east-1', Name: NAME, Description: 'test image',
      ClientToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      TagSpecifications: [
        { ResourceType: 'image', Tags: TAGS },
        { ResourceType: 'snapshot', Tags: TAGS },
      ],
    });
    expect(calls[1].args[0].input.ClientToken).toBe(calls[0].args[0].input.ClientToken);
    expect(await regionOf(calls[0])).toBe('eu-west-1');
  });

  test('the regions are recorded on the source image (COPY_REGIONS_TAG, home region) before its first CopyImage, merged with those recorded', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });
    const source = image({ Tags: [...TAGS, { Key: COPY_REGIONS_TAG, Value: 'eu-central-1' }] });

    await ensureCopies(source, props({ CopyToRegions: ['eu-west-1', 'ap-south-1'] }), undefined, 'request-1');

    const tagging = ec2.commandCalls(CreateTagsCommand);
    expect(tagging).toHaveLength(1);
    expect(tagging[0].args[0].input).toEqual({ Resources: [AMI], Tags: [{ Key: COPY_REGIONS_TAG, Value: 'ap-south-1,eu-central-1,eu-west-1' }] });
    expect(await regionOf(tagging[0])).toBe('us-east-1');
    const order = ec2.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(order.indexOf('CreateTagsCommand')).toBeLessThan(order.indexOf('CopyImageCommand'));
  });

  test('regions already recorded, or none to copy to: no CreateTags', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });
    await ensureCopies(image({ Tags: [...TAGS, { Key: COPY_REGIONS_TAG, Value: 'ap-south-1,eu-west-1' }] }), regions, undefined, 'request-1');
    await ensureCopies(image(), props(), props({ CopyToRegions: ['eu-west-1'] }), 'request-2');
    expect(ec2).not.toHaveReceivedCommand(CreateTagsCommand);
  });

  test('the copies carry the source image\'s tags, user tags included, but not the aws: ones EC2 reserves nor the source\'s copy regions', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });
    const userTag = { Key: 'team', Value: 'platform' };
    const source = image({ Tags: [...TAGS, userTag, { Key: 'aws:cloudformation:stack-name', Value: 'TestStack' }, { Key: COPY_REGIONS_TAG, Value: 'eu-west-1' }] });

    await ensureCopies(source, regions, undefined, 'request-1');

    const { TagSpecifications } = ec2.commandCalls(CopyImageCommand)[0].args[0].input;
    expect(TagSpecifications).toEqual([
      { ResourceType: 'image', Tags: [...TAGS, userTag] },
      { ResourceType: 'snapshot', Tags: [...TAGS, userTag] },
    ]);
  });

  test('an available copy is done and listed, with its region\'s client, and no CopyImage', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image({ ImageId: COPY })] });

    const state = await ensureCopies(image(), regions, undefined, 'request-1');

    expect(state).toMatchObject({ done: true, copies: { 'eu-west-1': COPY } });
    expect(state.available.map((a) => a.image.ImageId)).toEqual([COPY]);
    expect(await state.available[0].client.config.region()).toBe('eu-west-1');
    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
  });

  test.each(['pending', 'transient'])('a %s copy keeps the resource waiting', async (state) => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image({ ImageId: COPY, State: state as Image['State'] })] });
    await expect(ensureCopies(image(), regions, undefined, 'request-1')).resolves.toMatchObject({ done: false, available: [] });
  });

  test('a failed copy is removed and fails with EC2\'s reason', async () => {
    const failed = image({ ImageId: COPY, State: 'failed', StateReason: { Message: 'copy failed' } });
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [failed] });
    ec2.on(DescribeImagesCommand, owned).resolves({ Images: [failed] });

    await expect(ensureCopies(image(), regions, undefined, 'request-1')).rejects.toThrow(`Copy ${COPY} of ${AMI} to eu-west-1 is failed: copy failed`);

    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: COPY });
    expect(await regionOf(ec2.commandCalls(DeregisterImageCommand)[0])).toBe('eu-west-1');
  });

  test('a copy with the name but without the owner tag is an error, left alone', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image({ ImageId: COPY, Tags: [] })] });
    await expect(ensureCopies(image(), regions, undefined, 'request-1')).rejects.toThrow(/already exists in eu-west-1 .* not made by/);
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  test('copies are encrypted with the key; a multi-Region key is used through its replica in each region', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });
    const mrk = 'arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef';
    await ensureCopies(image(), props({ CopyToRegions: ['eu-west-1', 'ap-south-1'], CopyKmsKeyArn: mrk }), undefined, 'request-1');
    expect(ec2).toHaveReceivedCommandWith(CopyImageCommand, { Encrypted: true, KmsKeyId: mrk.replace('us-east-1', 'eu-west-1') });
    expect(ec2).toHaveReceivedCommandWith(CopyImageCommand, { Encrypted: true, KmsKeyId: mrk.replace('us-east-1', 'ap-south-1') });
  });

  test('a single-region key is used as it is', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/01234567-89ab-cdef-0123-456789abcdef';
    await ensureCopies(image(), props({ CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: key }), undefined, 'request-1');
    expect(ec2).toHaveReceivedCommandWith(CopyImageCommand, { Encrypted: true, KmsKeyId: key });
  });

  test('a region dropped by an Update is swept of every owned copy (kept previous images\' too) and their snapshots', async () => {
    const previous = image({ ImageId: 'ami-0dddddddddddddddd', Name: 'TestStack-Image-previous', CreationDate: '2025-12-01T00:00:00.000Z' });
    ec2.on(DescribeImagesCommand, owned).resolves({ Images: [image({ ImageId: COPY }), previous] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot('snap-0cccccccccccccccc', NAME), snapshot('snap-0dddddddddddddddd', 'TestStack-Image-previous')] });

    await expect(ensureCopies(image(), props(), regions, 'request-1')).resolves.toEqual({ done: true, copies: {}, available: [] });

    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: COPY });
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: 'ami-0dddddddddddddddd' });
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0cccccccccccccccc' });
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0dddddddddddddddd' });
    const regionsCalled = await Promise.all([...ec2.commandCalls(DeregisterImageCommand), ...ec2.commandCalls(DeleteSnapshotCommand)].map(regionOf));
    expect(new Set(regionsCalled)).toEqual(new Set(['eu-west-1']));
  });

  test('a dropped region whose snapshot is still settling is not done yet', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot('snap-0cccccccccccccccc', NAME)] });
    ec2.on(DeleteSnapshotCommand).rejects(ec2Error('InvalidSnapshot.InUse'));
    await expect(ensureCopies(image(), props(), regions, 'request-1')).resolves.toMatchObject({ done: false });
  });

  test('the stack\'s own region is refused', async () => {
    expect(() => checkCopyRegions(props({ CopyToRegions: ['us-east-1'] }))).toThrow('copyToRegions must not include the stack\'s own region "us-east-1"');
    await expect(ensureCopies(image(), props({ CopyToRegions: ['eu-west-1', 'us-east-1'] }), undefined, 'request-1')).rejects.toThrow(/stack's own region/);
    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
  });
});

describe('sweepCopies', () => {
  const KEPT = 'TestStack-Image-kept';
  const OLD = 'TestStack-Image-old';
  const keepKept = (name: string) => name === NAME || name === KEPT;

  test('deregisters the owned copies whose name is not kept, in the region asked, and leaves the kept ones', async () => {
    ec2.on(DescribeImagesCommand, owned).resolves({
      Images: [
        image({ ImageId: COPY }),
        image({ ImageId: 'ami-0dddddddddddddddd', Name: KEPT }),
        image({ ImageId: 'ami-0eeeeeeeeeeeeeeee', Name: OLD }),
      ],
    });

    await expect(sweepCopies(OWNER, 'eu-west-1', keepKept)).resolves.toBe(true);

    expect(ec2).toHaveReceivedCommandTimes(DeregisterImageCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: 'ami-0eeeeeeeeeeeeeeee' });
    expect(await regionOf(ec2.commandCalls(DeregisterImageCommand)[0])).toBe('eu-west-1');
    expect(await regionOf(ec2.commandCalls(DescribeImagesCommand)[0])).toBe('eu-west-1');
  });

  test('only owned resources are looked at: images and snapshots are listed by the owner tag', async () => {
    await sweepCopies(OWNER, 'eu-west-1', () => false);
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, owned);
    expect(ec2).toHaveReceivedCommandWith(DescribeSnapshotsCommand, { OwnerIds: ['self'], Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }] });
  });

  test('an already deregistered copy, still listed, is not deregistered again', async () => {
    ec2.on(DescribeImagesCommand, owned).resolves({ Images: [image({ ImageId: COPY, Name: OLD, State: 'deregistered' })] });
    await sweepCopies(OWNER, 'eu-west-1', keepKept);
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  test('deletes the owned snapshots whose image-name tag is not kept and that no live image uses', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [snapshot('snap-0aaaaaaaaaaaaaaaa', NAME), snapshot('snap-0dddddddddddddddd', KEPT), snapshot('snap-0eeeeeeeeeeeeeeee', OLD), snapshot('snap-0fffffffffffffffff', OLD)],
    });
    // An image not of this resource still uses one of them: it stays.
    ec2.on(DescribeImagesCommand, { Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: ['snap-0eeeeeeeeeeeeeeee', 'snap-0fffffffffffffffff'] }] })
      .resolves({ Images: [image({ ImageId: 'ami-0bbbbbbbbbbbbbbbb', Name: 'someone-else', Tags: [], BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0fffffffffffffffff' } }] })] });

    await expect(sweepCopies(OWNER, 'eu-west-1', keepKept)).resolves.toBe(true);

    expect(ec2).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0eeeeeeeeeeeeeeee' });
  });

  test('a snapshot of a just-deregistered copy (still listed) is not in use: it is deleted', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot('snap-0eeeeeeeeeeeeeeee', OLD)] });
    ec2.on(DescribeImagesCommand, { Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: ['snap-0eeeeeeeeeeeeeeee'] }] })
      .resolves({ Images: [image({ ImageId: 'ami-0eeeeeeeeeeeeeeee', Name: OLD, State: 'deregistered', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0eeeeeeeeeeeeeeee' } }] })] });

    await sweepCopies(OWNER, 'eu-west-1', keepKept);

    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0eeeeeeeeeeeeeeee' });
  });

  test('nothing to delete: no snapshot-usage lookup', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot('snap-0aaaaaaaaaaaaaaaa', NAME)] });
    await expect(sweepCopies(OWNER, 'eu-west-1', keepKept)).resolves.toBe(true);
    expect(ec2).not.toHaveReceivedCommandWith(DescribeImagesCommand, { Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: expect.anything() }] });
    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  test.each(['InvalidSnapshot.InUse', 'IncorrectState'])('%s: not done, to be retried; the other snapshots are still deleted', async (code) => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot('snap-0eeeeeeeeeeeeeeee', OLD), snapshot('snap-0fffffffffffffffff', OLD)] });
    ec2.on(DeleteSnapshotCommand, { SnapshotId: 'snap-0eeeeeeeeeeeeeeee' }).rejects(ec2Error(code));

    await expect(sweepCopies(OWNER, 'eu-west-1', keepKept)).resolves.toBe(false);

    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0fffffffffffffffff' });
  });

  test('a snapshot already deleted is fine; another error is thrown', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot('snap-0eeeeeeeeeeeeeeee', OLD)] });
    ec2.on(DeleteSnapshotCommand).rejectsOnce(ec2Error('InvalidSnapshot.NotFound')).rejects(ec2Error('UnauthorizedOperation'));

    await expect(sweepCopies(OWNER, 'eu-west-1', keepKept)).resolves.toBe(true);
    await expect(sweepCopies(OWNER, 'eu-west-1', keepKept)).rejects.toThrow(/UnauthorizedOperation/);
  });
});
