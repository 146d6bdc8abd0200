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
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { isComplete } from '../../../lib/instance-image/runtime/is-complete';
import { ENV_NOT_FOUND_GRACE_SECONDS } from '../../../lib/instance-image/shared';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { createEvent, deleteEvent, ec2Error, isCompleteEvent, OWNER, PROPS, updateEvent } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const NAME = imageNameFor(PROPS);
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const OUR_TAGS = [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }];

function image(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: AMI,
    Name: NAME,
    State: 'available',
    ImdsSupport: 'v2.0',
    Tags: OUR_TAGS,
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' } }],
    ...overrides,
  };
}

function afterCreate(requestedAt = new Date().toISOString()) {
  return isCompleteEvent(createEvent(), { PhysicalResourceId: AMI, Data: { ImageId: AMI, ImageName: NAME }, ImageRequestedAt: requestedAt });
}

beforeEach(() => {
  ec2.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  delete process.env[ENV_NOT_FOUND_GRACE_SECONDS];
});
afterEach(() => jest.restoreAllMocks());

describe('Create and Update', () => {
  test.each(['pending', 'transient'])('%s: not complete, one DescribeImages, no Data', async (state) => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: state as Image['State'] })] });
    await expect(isComplete(afterCreate())).resolves.toEqual({ IsComplete: false });
    expect(ec2).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: [AMI] });
  });

  test('available: complete, with the id, the name and the snapshot ids (no RootDeviceName key when the image has none)', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image()] });
    await expect(isComplete(afterCreate())).resolves.toStrictEqual({
      IsComplete: true,
      Data: { ImageId: AMI, ImageName: NAME, SnapshotIds: 'snap-0aaaaaaaaaaaaaaaa' },
    });
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });

  test('available: Data carries the image\'s RootDeviceName, which the target\'s block device mapping names', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({
      RootDeviceName: '/dev/sda1',
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa', VolumeSize: 100, VolumeType: 'gp2' } }],
    })] });
    await expect(isComplete(afterCreate())).resolves.toEqual({
      IsComplete: true,
      Data: { ImageId: AMI, ImageName: NAME, RootDeviceName: '/dev/sda1', SnapshotIds: 'snap-0aaaaaaaaaaaaaaaa' },
    });
  });

  test('an in-place Update (an upgrade adding AttributesVersion) answers with RootDeviceName too', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ RootDeviceName: '/dev/xvda' })] });
    const event = isCompleteEvent(updateEvent(AMI, { AttributesVersion: '2' }), { PhysicalResourceId: AMI });
    await expect(isComplete(event)).resolves.toMatchObject({ IsComplete: true, Data: { ImageId: AMI, RootDeviceName: '/dev/xvda' } });
  });

  test('a wait condition follows the image: a pending image completes with its RootDeviceName, and waits while DescribeImages lists none', async () => {
    const event = isCompleteEvent(createEvent({ SignalId: 'signal-1' }), { PhysicalResourceId: AMI, ImageRequestedAt: new Date().toISOString() });
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'pending' })] });
    await expect(isComplete(event)).resolves.toEqual({ IsComplete: false });
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'pending', RootDeviceName: '/dev/sda1' })] });
    await expect(isComplete(event)).resolves.toMatchObject({ IsComplete: true, Data: { RootDeviceName: '/dev/sda1' } });
  });

  test('available without IMDSv2 support: the image is made to require IMDSv2', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ ImdsSupport: undefined })] });
    await isComplete(afterCreate());
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { ImageId: AMI, ImdsSupport: { Value: 'v2.0' } });
  });

  test('snapshot ids are left out of Data when they would crowd the 4 KB response', async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ DeviceName: `/dev/sd${i}`, Ebs: { SnapshotId: `snap-0${String(i).padStart(16, '0')}` } }));
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ BlockDeviceMappings: many })] });
    const response = await isComplete(afterCreate());
    expect(response.Data).toEqual({ ImageId: AMI, ImageName: NAME });
  });

  test('several snapshot ids are joined with commas; 1024 characters of them still fit, 1025 do not', async () => {
    const ids = (last: string) => [...Array.from({ length: 44 }, (_, i) => `snap-0${String(i).padStart(16, '0')}`), last];
    const withSnapshots = (snapshotIds: string[]) => image({ BlockDeviceMappings: snapshotIds.map((SnapshotId, i) => ({ DeviceName: `/dev/sd${i}`, Ebs: { SnapshotId } })) });
    ec2.on(DescribeImagesCommand).resolves({ Images: [withSnapshots(['snap-0aaaaaaaaaaaaaaaa', 'snap-0bbbbbbbbbbbbbbbb'])] });
    await expect(isComplete(afterCreate())).resolves.toMatchObject({ Data: { SnapshotIds: 'snap-0aaaaaaaaaaaaaaaa,snap-0bbbbbbbbbbbbbbbb' } });
    ec2.on(DescribeImagesCommand).resolves({ Images: [withSnapshots(ids('snap-1234567'))] });
    await expect(isComplete(afterCreate())).resolves.toMatchObject({ Data: { SnapshotIds: ids('snap-1234567').join(',') } });
    expect(ids('snap-1234567').join(',')).toHaveLength(1024);
    ec2.on(DescribeImagesCommand).resolves({ Images: [withSnapshots(ids('snap-12345678'))] });
    expect((await isComplete(afterCreate())).Data).toEqual({ ImageId: AMI, ImageName: NAME });
  });

  test('an in-place Update completes on the existing image', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image()] });
    const event = isCompleteEvent(updateEvent(AMI, { RemovalPolicy: 'retain' }), { PhysicalResourceId: AMI });
    await expect(isComplete(event)).resolves.toMatchObject({ IsComplete: true, Data: { ImageId: AMI } });
  });

  test.each(['failed', 'error', 'invalid'])('%s: fails with EC2\'s reason, and removes the image and its snapshots', async (state) => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] })
      .resolves({ Images: [image({ State: state as Image['State'], StateReason: { Code: 'Client.Error', Message: 'volume snapshot failed' } })] });
    ec2.on(DescribeImagesCommand, { Owners: ['self'] }).resolves({ Images: [] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-0aaaaaaaaaaaaaaaa', Tags: OUR_TAGS }] });

    await expect(isComplete(afterCreate())).rejects.toThrow(`Image ${AMI} (${NAME}) is ${state}: volume snapshot failed`);
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: AMI });
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' });
  });

  test('failed without a reason, and a cleanup that fails: still fails with the image state', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'failed' })] });
    ec2.on(DeregisterImageCommand).rejects(ec2Error('UnauthorizedOperation'));
    await expect(isComplete(afterCreate())).rejects.toThrow(/is failed: EC2 gave no reason/);
  });

  test('deregistered outside CloudFormation (still listed as deregistered): the image is gone, the Update fails', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'deregistered' })] });
    const event = isCompleteEvent(updateEvent(AMI, { RemovalPolicy: 'retain' }), { PhysicalResourceId: AMI });
    await expect(isComplete(event)).rejects.toThrow(`Image ${AMI} no longer exists: it was deregistered outside CloudFormation`);
  });

  test('disabled outside CloudFormation: found (DescribeImages asked to include it), and the deploy fails saying so', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI], IncludeDisabled: true }).resolves({ Images: [image({ State: 'disabled' })] });
    await expect(isComplete(afterCreate())).rejects.toThrow(/is disabled: it was changed outside CloudFormation/);
  });

  test('InvalidAMIID.NotFound right after CreateImage: not yet (eventual consistency)', async () => {
    ec2.on(DescribeImagesCommand).rejects(ec2Error('InvalidAMIID.NotFound'));
    await expect(isComplete(afterCreate())).resolves.toEqual({ IsComplete: false });
  });

  test('an empty answer right after CreateImage: not yet', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    await expect(isComplete(afterCreate())).resolves.toEqual({ IsComplete: false });
  });

  test('InvalidAMIID.NotFound past the grace period: fails', async () => {
    process.env[ENV_NOT_FOUND_GRACE_SECONDS] = '60';
    ec2.on(DescribeImagesCommand).rejects(ec2Error('InvalidAMIID.NotFound'));
    const twoMinutesAgo = new Date(Date.now() - 120_000).toISOString();
    await expect(isComplete(afterCreate(twoMinutesAgo))).rejects.toThrow(`Image ${AMI} was not found 60 seconds after CreateImage`);
  });

  test('not found exactly at the end of the grace period: still not yet', async () => {
    process.env[ENV_NOT_FOUND_GRACE_SECONDS] = '60';
    jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-01-01T00:01:00.000Z'));
    ec2.on(DescribeImagesCommand).rejects(ec2Error('InvalidAMIID.NotFound'));
    await expect(isComplete(afterCreate('2026-01-01T00:00:00.000Z'))).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(afterCreate('2025-12-31T23:59:59.999Z'))).rejects.toThrow(`Image ${AMI} was not found 60 seconds after CreateImage`);
  });

  test('an image missing on an in-place Update was deregistered outside CloudFormation', async () => {
    ec2.on(DescribeImagesCommand).rejects(ec2Error('InvalidAMIID.NotFound'));
    const event = isCompleteEvent(updateEvent(AMI, { RemovalPolicy: 'retain' }), { PhysicalResourceId: AMI });
    await expect(isComplete(event)).rejects.toThrow(/no longer exists/);
  });

  test('other DescribeImages errors fail', async () => {
    ec2.on(DescribeImagesCommand).rejects(ec2Error('UnauthorizedOperation'));
    await expect(isComplete(afterCreate())).rejects.toThrow(/UnauthorizedOperation/);
  });
});

describe('Delete', () => {
  function afterDelete(snapshotIds: string[] = []) {
    return isCompleteEvent(deleteEvent(AMI), { PhysicalResourceId: AMI, DeregisteredImageName: NAME, SnapshotIds: snapshotIds });
  }

  test('nothing was deregistered (retain, not ours): complete without a call', async () => {
    await expect(isComplete(isCompleteEvent(deleteEvent(AMI), { PhysicalResourceId: AMI }))).resolves.toEqual({ IsComplete: true });
    expect(ec2).not.toHaveReceivedAnyCommand();
  });

  test('deletes the listed snapshots and those tagged with the image name', async () => {
    ec2.on(DescribeSnapshotsCommand, { Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [NAME] }] })
      .resolves({ Snapshots: [{ SnapshotId: 'snap-0bbbbbbbbbbbbbbbb', Tags: OUR_TAGS }] });
    ec2.on(DescribeSnapshotsCommand, { Filters: [{ Name: 'snapshot-id', Values: ['snap-0aaaaaaaaaaaaaaaa'] }] })
      .resolves({ Snapshots: [{ SnapshotId: 'snap-0aaaaaaaaaaaaaaaa', Tags: OUR_TAGS }] });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });

    await expect(isComplete(afterDelete(['snap-0aaaaaaaaaaaaaaaa']))).resolves.toEqual({ IsComplete: true });

    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' });
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0bbbbbbbbbbbbbbbb' });
  });

  test('never deletes a snapshot another image uses, nor one without our owner tag', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa', Tags: OUR_TAGS },
        { SnapshotId: 'snap-0cccccccccccccccc', Tags: [{ Key: OWNER_TAG, Value: 'Other/Image' }] },
      ],
    });
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ ImageId: 'ami-0dddddddddddddddd' })] });

    await expect(isComplete(afterDelete())).resolves.toEqual({ IsComplete: true });
    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  test('snapshots already gone (EC2 deleted them with the image) are fine', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-0aaaaaaaaaaaaaaaa', Tags: OUR_TAGS }] });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(DeleteSnapshotCommand).rejects(ec2Error('InvalidSnapshot.NotFound'));
    await expect(isComplete(afterDelete())).resolves.toEqual({ IsComplete: true });
  });

  test('a snapshot still in use by the settling deregistration is retried on the next poll', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-0aaaaaaaaaaaaaaaa', Tags: OUR_TAGS }] });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(DeleteSnapshotCommand).rejects(ec2Error('InvalidSnapshot.InUse'));
    await expect(isComplete(afterDelete())).resolves.toEqual({ IsComplete: false });
  });

  test('other DeleteSnapshot errors fail the Delete', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-0aaaaaaaaaaaaaaaa', Tags: OUR_TAGS }] });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(DeleteSnapshotCommand).rejects(ec2Error('UnauthorizedOperation'));
    await expect(isComplete(afterDelete())).rejects.toThrow(/UnauthorizedOperation/);
  });

  test('the snapshots of the pruned images go too, also when the deleted image itself was kept (no DeregisteredImageName)', async () => {
    const pruned = [{ Name: 'TestStack-Image-older', SnapshotIds: ['snap-0eeeeeeeeeeeeeeee'] }];
    ec2.on(DescribeSnapshotsCommand, { Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: ['TestStack-Image-older'] }] })
      .resolves({ Snapshots: [{ SnapshotId: 'snap-0eeeeeeeeeeeeeeee', Tags: [{ Key: OWNER_TAG, Value: OWNER }] }] });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });

    const event = isCompleteEvent(deleteEvent(AMI), { PhysicalResourceId: AMI, DeregisteredImageOwner: OWNER, PrunedImages: pruned });
    await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });

    expect(ec2).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0eeeeeeeeeeeeeeee' });
    expect(ec2).not.toHaveReceivedCommandWith(DescribeSnapshotsCommand, { Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [NAME] }] });
  });

  test('a pruned image\'s snapshot still in use: not complete, though the deregistered image\'s are gone', async () => {
    ec2.on(DescribeSnapshotsCommand, { Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [NAME] }] }).resolves({ Snapshots: [] });
    ec2.on(DescribeSnapshotsCommand, { Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: ['TestStack-Image-older'] }] })
      .resolves({ Snapshots: [{ SnapshotId: 'snap-0eeeeeeeeeeeeeeee', Tags: OUR_TAGS }] });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(DeleteSnapshotCommand).rejects(ec2Error('InvalidSnapshot.InUse'));

    const event = isCompleteEvent(deleteEvent(AMI), {
      PhysicalResourceId: AMI, DeregisteredImageName: NAME, SnapshotIds: [], PrunedImages: [{ Name: 'TestStack-Image-older', SnapshotIds: [] }],
    });
    await expect(isComplete(event)).resolves.toEqual({ IsComplete: false });
  });

  test('a deregistered image without listed snapshot ids: only the snapshots tagged with its name are looked for', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    const event = isCompleteEvent(deleteEvent(AMI), { PhysicalResourceId: AMI, DeregisteredImageName: NAME });
    await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
    expect(ec2).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DescribeSnapshotsCommand, { Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [NAME] }] });
  });

  test('no snapshots at all: complete after one look', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    await expect(isComplete(afterDelete())).resolves.toEqual({ IsComplete: true });
    expect(ec2).not.toHaveReceivedCommand(DescribeImagesCommand);
  });
});
