/**
 * What real EC2 does and moto did not (issue #10): just-deregistered images
 * still listed, disabled images hidden, and DescribeImages' eventual
 * consistency after `InvalidAMIName.Duplicate`. The copies' side (CopyImage
 * client tokens, deregistered and disabled copies) is in
 * test/image-distribution/runtime/real-ec2.test.ts.
 */
import { CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  Image,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { isComplete } from '../../../lib/instance-image/runtime/is-complete';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { createEvent, deleteEvent, ec2Error, isCompleteEvent, OWNER, PROPS, updateEvent } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const cloudformation = mockClient(CloudFormationClient);
const NAME = imageNameFor(PROPS);
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const SNAP = 'snap-0aaaaaaaaaaaaaaaa';
const TAGS = [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }];
const byName = (name: string) => ({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] });
const bySnapshot = { Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [SNAP] }] };

function image(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: AMI, Name: NAME, State: 'available', ImdsSupport: 'v2.0', Tags: TAGS,
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: SNAP } }],
    ...overrides,
  };
}

let logs: string[];
beforeEach(() => {
  ec2.reset();
  cloudformation.reset();
  // A Delete asks CloudFormation what it records for the resource: here, the stack no longer has it (the resource itself is deleted).
  cloudformation.on(DescribeStackResourceCommand).rejects(Object.assign(
    new Error('Resource Image does not exist for stack arn:aws:cloudformation:us-east-1:111111111111:stack/TestStack/guid'), { name: 'ValidationError' }));
  process.env.AWS_REGION = 'us-east-1';
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: SNAP, Tags: TAGS }] });
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => { logs.push(line); });
});
afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('a just-deregistered image, still listed as deregistered, is gone', () => {
  test('its snapshot is not "in use" by it: the Delete poll deletes it', async () => {
    ec2.on(DescribeImagesCommand, bySnapshot).resolves({ Images: [image({ State: 'deregistered' })] });
    const event = isCompleteEvent(deleteEvent(AMI), { DeregisteredImageName: NAME, SnapshotIds: [SNAP] });

    await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });

    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: SNAP });
  });

  test('a Create does not adopt it: its name is free again', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image({ State: 'deregistered' })] });
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0bbbbbbbbbbbbbbbb' });

    await expect(onEvent(createEvent())).resolves.toMatchObject({ PhysicalResourceId: 'ami-0bbbbbbbbbbbbbbbb' });
  });

  test('a Delete does not deregister it again, and still hands its snapshots to isComplete', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image({ State: 'deregistered' })] });

    await expect(onEvent(deleteEvent(AMI))).resolves.toMatchObject({ DeregisteredImageName: NAME });
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  test('the rollback of a failed replacement already deregistered still deletes its snapshots, retrying InvalidSnapshot.InUse before completing', async () => {
    const failedProps = { InstanceId: 'i-0fedcba9876543210' };
    const failedName = imageNameFor({ ...PROPS, ...failedProps });
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image()] });
    ec2.on(DescribeImagesCommand, byName(failedName)).resolves({ Images: [image({ ImageId: 'ami-0ffffffffffffffff', Name: failedName, State: 'deregistered' })] });
    const failedTags = [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: failedName }];
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-0fffffffffffffffff', Tags: failedTags }] });
    ec2.on(DeleteSnapshotCommand).rejectsOnce(ec2Error('InvalidSnapshot.InUse')).resolves({});

    const response = await onEvent(updateEvent(AMI, {}, failedProps));
    expect(response).toMatchObject({ PhysicalResourceId: AMI, DeregisteredImageName: failedName, DeregisteredImageOwner: OWNER });
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);

    const event = isCompleteEvent(updateEvent(AMI, {}, failedProps), response);
    await expect(isComplete(event)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(event)).resolves.toMatchObject({ IsComplete: true, Data: { ImageId: AMI } });
    expect(ec2).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 2);
  });

  test('a forward replacement does not touch the snapshots of the image it replaces', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0bbbbbbbbbbbbbbbb' });

    const response = await onEvent(updateEvent(AMI, { RebuildToken: 'next' }));

    expect(response).not.toHaveProperty('DeregisteredImageName');
    expect(ec2).not.toHaveReceivedCommand(DescribeSnapshotsCommand);
  });

  test('DeregisterImage\'s DeleteSnapshotResults are logged', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
    ec2.on(DeregisterImageCommand).resolves({ DeleteSnapshotResults: [{ SnapshotId: SNAP, ReturnCode: 'internal-error' }] });

    await onEvent(deleteEvent(AMI));

    const line = JSON.parse(logs.find((l) => l.includes('deregistered image'))!);
    expect(line.deleteSnapshotResults).toEqual([{ snapshotId: SNAP, returnCode: 'internal-error' }]);
  });
});

describe('a disabled image (hidden by DescribeImages unless IncludeDisabled)', () => {
  test('is found by the Delete and deregistered, so its snapshots can go', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI], IncludeDisabled: true }).resolves({ Images: [image({ State: 'disabled' })] });

    await onEvent(deleteEvent(AMI));

    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: AMI });
  });

  test('is found by name by a Delete after a failed Create', async () => {
    ec2.on(DescribeImagesCommand, { ...byName(NAME), IncludeDisabled: true }).resolves({ Images: [image({ State: 'disabled' })] });

    await onEvent(deleteEvent('AWSCDK-not-an-ami'));

    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: AMI });
  });

  test('holds its snapshots: another, disabled image\'s snapshot is never deleted', async () => {
    ec2.on(DescribeImagesCommand, { ...bySnapshot, IncludeDisabled: true }).resolves({ Images: [image({ ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'disabled' })] });
    const event = isCompleteEvent(deleteEvent(AMI), { DeregisteredImageName: NAME, SnapshotIds: [SNAP] });

    await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });
});

describe('InvalidAMIName.Duplicate (an earlier attempt made the image; DescribeImages is eventually consistent)', () => {
  test('the lookup is retried with a short backoff, and the image is adopted once listed', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    ec2.on(CreateImageCommand).rejects(ec2Error('InvalidAMIName.Duplicate'));
    ec2.on(DescribeImagesCommand, byName(NAME)).resolvesOnce({ Images: [] }).resolvesOnce({ Images: [] }).resolvesOnce({ Images: [] })
      .resolves({ Images: [image({ State: 'pending' })] });

    const response = onEvent(createEvent());
    await jest.advanceTimersByTimeAsync(2_000);

    await expect(response).resolves.toMatchObject({ PhysicalResourceId: AMI });
    expect(ec2).toHaveReceivedCommandTimes(CreateImageCommand, 1);
  });

  test('an Update that fails after its CreateImage removes the image it made before failing', async () => {
    const failedProps = { InstanceId: 'i-0fedcba9876543210' };
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0bbbbbbbbbbbbbbbb' });
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
    ec2.on(DescribeImagesCommand, byName(imageNameFor({ ...PROPS, ...failedProps })))
      .resolves({ Images: [image({ ImageId: 'ami-0ffffffffffffffff', Name: imageNameFor({ ...PROPS, ...failedProps }) })] });
    ec2.on(DeregisterImageCommand, { ImageId: 'ami-0ffffffffffffffff' }).rejects(ec2Error('UnauthorizedOperation'));

    await expect(onEvent(updateEvent(AMI, { RebuildToken: 'x' }, failedProps))).rejects.toThrow(/UnauthorizedOperation/);

    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: 'ami-0bbbbbbbbbbbbbbbb' });
  });
});
