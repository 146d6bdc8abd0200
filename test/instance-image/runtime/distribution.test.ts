import {
  CopyImageCommand,
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
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { isComplete } from '../../../lib/instance-image/runtime/is-complete';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { IMAGE_NAME_TAG, ImageResourceProperties, OWNER_TAG } from '../../../lib/instance-image/shared';
import { createEvent, deleteEvent, isCompleteEvent, OWNER, PROPS, updateEvent } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const NAME = imageNameFor(PROPS);
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const COPY = 'ami-0cccccccccccccccc';
const TAGS = [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }];
const ORG = 'arn:aws:organizations::123456789012:organization/o-abcdefghij';
const OU = 'arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34';

function image(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: AMI, Name: NAME, State: 'available', ImdsSupport: 'v2.0', Tags: TAGS, Description: 'test image',
    CreationDate: '2026-01-01T00:00:00.000Z', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' } }],
    ...overrides,
  };
}

/** The client a call was made with: the home client (us-east-1 in these tests) or a copy region's. */
async function regionOf(call: { thisValue: unknown }): Promise<string> {
  return (call.thisValue as EC2Client).config.region();
}

function afterCreate(props: Partial<ImageResourceProperties>) {
  return isCompleteEvent(createEvent(props), { PhysicalResourceId: AMI, ImageRequestedAt: new Date().toISOString() });
}

beforeEach(() => {
  ec2.reset();
  process.env.AWS_REGION = 'us-east-1';
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
  ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
});
afterEach(() => jest.restoreAllMocks());

describe('sharing', () => {
  test('adds launch permissions for accounts, organizations and OUs', async () => {
    await expect(isComplete(afterCreate({ ShareWithAccounts: ['111122223333'], ShareWithOrganizationArns: [ORG, OU] })))
      .resolves.toMatchObject({ IsComplete: true });
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, {
      ImageId: AMI,
      LaunchPermission: { Add: [{ UserId: '111122223333' }, { OrganizationArn: ORG }, { OrganizationalUnitArn: OU }] },
    });
  });

  test('an Update applies the difference in place and removes a public permission', async () => {
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '111122223333' }, { UserId: '444455556666' }, { Group: 'all' }] });
    const event = isCompleteEvent(updateEvent(AMI, { ShareWithAccounts: ['111122223333', '777788889999'] }, { ShareWithAccounts: ['111122223333', '444455556666'] }), { PhysicalResourceId: AMI });

    await expect(isComplete(event)).resolves.toMatchObject({ IsComplete: true });

    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, {
      ImageId: AMI,
      LaunchPermission: { Add: [{ UserId: '777788889999' }], Remove: [{ UserId: '444455556666' }, { Group: 'all' }] },
    });
  });

  test('sharing removed by an Update removes every permission', async () => {
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '111122223333' }] });
    const event = isCompleteEvent(updateEvent(AMI, {}, { ShareWithAccounts: ['111122223333'] }), { PhysicalResourceId: AMI });
    await isComplete(event);
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { LaunchPermission: { Remove: [{ UserId: '111122223333' }] } });
  });

  test('nothing wanted and nothing before: no launch-permission call at all', async () => {
    await isComplete(afterCreate({}));
    expect(ec2).not.toHaveReceivedCommand(DescribeImageAttributeCommand);
  });

  test('permissions already right: no change', async () => {
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '111122223333' }] });
    await isComplete(afterCreate({ ShareWithAccounts: ['111122223333'] }));
    expect(ec2).not.toHaveReceivedCommandWith(ModifyImageAttributeCommand, { LaunchPermission: expect.anything() });
  });
});

describe('deprecation', () => {
  test('deprecates N days after the image\'s creation', async () => {
    jest.useFakeTimers({ now: new Date('2026-01-02T00:00:00Z'), doNotFake: ['setTimeout', 'setImmediate', 'nextTick'] });
    try {
      await isComplete(afterCreate({ DeprecateAfterDays: '90' }));
    } finally {
      jest.useRealTimers();
    }
    expect(ec2).toHaveReceivedCommandWith(EnableImageDeprecationCommand, { ImageId: AMI, DeprecateAt: new Date('2026-04-01T00:00:00Z') });
  });

  test('an image older than the period is deprecated a minute from now (EC2 wants the future)', async () => {
    const before = Date.now();
    await isComplete(afterCreate({ DeprecateAfterDays: '1' }));
    const call = ec2.commandCalls(EnableImageDeprecationCommand)[0];
    const at = (call.args[0].input.DeprecateAt as Date).getTime();
    expect(at).toBeGreaterThan(before);
    expect(at).toBeLessThanOrEqual(before + 2 * 60_000);
  });

  test('already deprecated at the right time: no call', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image({ DeprecationTime: '2026-01-31T00:00:00.000Z' })] });
    await isComplete(afterCreate({ DeprecateAfterDays: '30' }));
    expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
  });

  test('deprecation no longer asked for is lifted', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image({ DeprecationTime: '2026-01-31T00:00:00.000Z' })] });
    await isComplete(afterCreate({}));
    expect(ec2).toHaveReceivedCommandWith(DisableImageDeprecationCommand, { ImageId: AMI });
  });
});

describe('copies', () => {
  const props = { CopyToRegions: ['eu-west-1'] };

  test('starts CopyImage in each region with a deterministic client token and the owner tags; not complete until available', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });

    await expect(isComplete(afterCreate(props))).resolves.toEqual({ IsComplete: false });
    await isComplete(afterCreate(props));

    const calls = ec2.commandCalls(CopyImageCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0].args[0].input).toEqual({
      SourceImageId: AMI, SourceRegion: 'us-east-1', Name: NAME, Description: 'test image',
      ClientToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      TagSpecifications: [
        { ResourceType: 'image', Tags: expect.arrayContaining(TAGS) },
        { ResourceType: 'snapshot', Tags: expect.arrayContaining(TAGS) },
      ],
    });
    expect(calls[1].args[0].input.ClientToken).toBe(calls[0].args[0].input.ClientToken);
    expect(await regionOf(calls[0])).toBe('eu-west-1');
  });

  test('available copies complete the resource, are finished like the source, and are listed', async () => {
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [image({ ImageId: COPY, ImdsSupport: undefined })] });

    const response = await isComplete(afterCreate({ ...props, ShareWithAccounts: ['111122223333'] }));

    expect(response).toMatchObject({ IsComplete: true, Data: { CopiedImageIds: `eu-west-1=${COPY}` } });
    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { ImageId: COPY, ImdsSupport: { Value: 'v2.0' } });
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { ImageId: COPY, LaunchPermission: { Add: [{ UserId: '111122223333' }] } });
  });

  test('a pending copy keeps the resource waiting', async () => {
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [image({ ImageId: COPY, State: 'pending' })] });
    await expect(isComplete(afterCreate(props))).resolves.toEqual({ IsComplete: false });
  });

  test('a failed copy is removed and fails the resource with EC2\'s reason', async () => {
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [image({ ImageId: COPY, State: 'failed', StateReason: { Message: 'copy failed' } })] });
    await expect(isComplete(afterCreate(props))).rejects.toThrow(`Copy ${COPY} of ${AMI} to eu-west-1 is failed: copy failed`);
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: COPY });
  });

  test('a copy with the name but without the owner tag is an error, left alone', async () => {
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [image({ ImageId: COPY, Tags: [] })] });
    await expect(isComplete(afterCreate(props))).rejects.toThrow(/already exists in eu-west-1 .* not made by/);
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  test('copies are encrypted with the key; a multi-Region key is used through its replica in each region', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });
    const mrk = 'arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef';
    await isComplete(afterCreate({ CopyToRegions: ['eu-west-1', 'ap-south-1'], CopyKmsKeyArn: mrk }));
    expect(ec2).toHaveReceivedCommandWith(CopyImageCommand, { Encrypted: true, KmsKeyId: mrk.replace('us-east-1', 'eu-west-1') });
    expect(ec2).toHaveReceivedCommandWith(CopyImageCommand, { Encrypted: true, KmsKeyId: mrk.replace('us-east-1', 'ap-south-1') });
  });

  test('a region dropped by an Update has its copy and its snapshots removed', async () => {
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [image({ ImageId: COPY, BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0cccccccccccccccc' } }] })] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-0cccccccccccccccc', Tags: TAGS }] });
    const event = isCompleteEvent(updateEvent(AMI, {}, props), { PhysicalResourceId: AMI });

    await expect(isComplete(event)).resolves.toMatchObject({ IsComplete: true });

    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: COPY });
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0cccccccccccccccc' });
  });

  test('the stack\'s own region is refused before CreateImage', async () => {
    await expect(onEvent(createEvent({ CopyToRegions: ['us-east-1'] }))).rejects.toThrow('copyToRegions must not include the stack\'s own region "us-east-1"');
    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
  });

  test('Delete deregisters the copies too, and isComplete deletes their snapshots', async () => {
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [image({ ImageId: COPY })] });

    const response = await onEvent(deleteEvent(AMI, props));

    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: AMI });
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: COPY });
    expect(response).toMatchObject({ CopyRegions: ['eu-west-1'], DeregisteredImageName: NAME });

    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-0cccccccccccccccc', Tags: TAGS }] });
    await expect(isComplete(isCompleteEvent(deleteEvent(AMI, props), response))).resolves.toEqual({ IsComplete: true });
    const deletes = ec2.commandCalls(DeleteSnapshotCommand);
    expect(await Promise.all(deletes.map(regionOf))).toEqual(['us-east-1', 'eu-west-1']);
  });
});
