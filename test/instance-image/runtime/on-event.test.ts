import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
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
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { createEvent, deleteEvent, ec2Error, OWNER, PROPS, stackResource, stackStatus, updateEvent } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const cfn = mockClient(CloudFormationClient);
const NAME = imageNameFor(PROPS);

/**
 * A Delete of the resource itself (stack delete, resource removed from the
 * template): CloudFormation records this very physical id. What it keeps
 * after a replacement or a rollback is test/instance-image/runtime/retention.test.ts.
 */
function deleteOf(physicalResourceId: string, props: Parameters<typeof deleteEvent>[1] = {}) {
  cfn.on(DescribeStackResourceCommand).resolves(stackResource(physicalResourceId));
  return deleteEvent(physicalResourceId, props);
}

function ourImage(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: 'ami-0aaaaaaaaaaaaaaaa',
    Name: NAME,
    State: 'available',
    Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }],
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' } }],
    ...overrides,
  };
}

let logs: string[];
beforeEach(() => {
  ec2.reset();
  cfn.reset();
  cfn.on(DescribeStacksCommand).resolves(stackStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'));
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => { logs.push(line); });
});
afterEach(() => jest.restoreAllMocks());

describe('Create', () => {
  test('calls CreateImage with a content-hash name, reboot, and tags on the image and its snapshots', async () => {
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0123456789abcdef0' });

    const response = await onEvent(createEvent({ Tags: { team: 'platform' } }));

    const name = imageNameFor({ ...PROPS, Tags: { team: 'platform' } });
    expect(name).toMatch(/^TestStack-Image-[0-9a-f]{16}$/);
    const tags = expect.arrayContaining([
      { Key: OWNER_TAG, Value: OWNER },
      { Key: IMAGE_NAME_TAG, Value: name },
      { Key: 'Name', Value: name },
      { Key: 'team', Value: 'platform' },
    ]);
    expect(ec2).toHaveReceivedCommandWith(CreateImageCommand, {
      InstanceId: PROPS.InstanceId,
      Name: name,
      Description: 'test image',
      NoReboot: false,
      TagSpecifications: [{ ResourceType: 'image', Tags: tags }, { ResourceType: 'snapshot', Tags: tags }],
    });
    expect(response).toEqual({
      RequestedAt: expect.any(String),
      PhysicalResourceId: 'ami-0123456789abcdef0',
      Data: { ImageId: 'ami-0123456789abcdef0', ImageName: name },
      ImageRequestedAt: expect.any(String),
    });
  });

  test('noReboot is passed on', async () => {
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0123456789abcdef0' });
    await onEvent(createEvent({ NoReboot: 'true' }));
    expect(ec2).toHaveReceivedCommandWith(CreateImageCommand, { NoReboot: true });
  });

  test('a retried Create finds the image the first attempt made and makes no second', async () => {
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [ourImage({ State: 'pending' })] });

    const response = await onEvent(createEvent());

    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
    expect(response.PhysicalResourceId).toBe('ami-0aaaaaaaaaaaaaaaa');
  });

  test('an image with our name made by someone else is an error, and is left alone', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [ourImage({ Tags: [{ Key: OWNER_TAG, Value: 'Other/Image' }] })] });

    await expect(onEvent(createEvent())).rejects.toThrow(/already exists \(ami-0aaaaaaaaaaaaaaaa\) and was not made by TestStack\/Image/);
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  test('InvalidAMIName.Duplicate from a concurrent attempt adopts that attempt\'s image', async () => {
    ec2.on(DescribeImagesCommand).resolvesOnce({ Images: [] }).resolves({ Images: [ourImage()] });
    ec2.on(CreateImageCommand).rejects(ec2Error('InvalidAMIName.Duplicate'));

    const response = await onEvent(createEvent());

    expect(response.PhysicalResourceId).toBe('ami-0aaaaaaaaaaaaaaaa');
  });

  test('InvalidAMIName.Duplicate with no image listed after retrying the lookup: not a failure (that image would be left to no one), isComplete looks for it', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    ec2.on(CreateImageCommand).rejects(ec2Error('InvalidAMIName.Duplicate'));
    const answered = onEvent(createEvent());
    await jest.advanceTimersByTimeAsync(10_000);
    await expect(answered).resolves.toEqual({ PendingImageName: NAME, RequestedAt: expect.any(String) });
    expect(ec2).toHaveReceivedCommandTimes(DescribeImagesCommand, 6);
    jest.useRealTimers();
  });

  test('other CreateImage errors fail the resource', async () => {
    ec2.on(CreateImageCommand).rejects(ec2Error('InvalidInstanceID.NotFound'));
    await expect(onEvent(createEvent())).rejects.toThrow(/InvalidInstanceID.NotFound/);
  });

  test('a prefix that cannot name an AMI fails before any EC2 call', async () => {
    await expect(onEvent(createEvent({ ImageNamePrefix: 'bad*name' }))).rejects.toThrow(/ImageNamePrefix must give an AMI name .* got "bad\*name-/);
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('logs are JSON lines and never contain the pre-signed ResponseURL', async () => {
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0123456789abcdef0' });
    await onEvent(createEvent());
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) {
      expect(() => JSON.parse(line)).not.toThrow();
      expect(line).not.toContain('SECRET-PRESIGNED');
    }
    expect(logs.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({
      message: 'CreateImage started', imageId: 'ami-0123456789abcdef0', requestId: 'request-1',
    }));
  });
});

describe('Update', () => {
  test('a changed instance makes a new image (new physical id)', async () => {
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0bbbbbbbbbbbbbbbb' });

    const response = await onEvent(updateEvent('ami-0aaaaaaaaaaaaaaaa', { InstanceId: 'i-0fedcba9876543210' }));

    expect(ec2).toHaveReceivedCommandWith(CreateImageCommand, { InstanceId: 'i-0fedcba9876543210' });
    expect(response.PhysicalResourceId).toBe('ami-0bbbbbbbbbbbbbbbb');
  });

  test.each([
    ['RebuildToken', { RebuildToken: '2' }],
    ['Tags', { Tags: { a: 'b' } }],
    ['NoReboot', { NoReboot: 'true' as const }],
    ['Description', { Description: 'other' }],
    ['ImageNamePrefix', { ImageNamePrefix: 'Other' }],
  ])('a changed %s makes a new image', async (_, change) => {
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0bbbbbbbbbbbbbbbb' });
    const response = await onEvent(updateEvent('ami-0aaaaaaaaaaaaaaaa', change));
    expect(response.PhysicalResourceId).toBe('ami-0bbbbbbbbbbbbbbbb');
  });

  test('a changed removal policy keeps the image', async () => {
    const response = await onEvent(updateEvent('ami-0aaaaaaaaaaaaaaaa', { RemovalPolicy: 'retain' }));
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
    expect(response).toEqual({ PhysicalResourceId: 'ami-0aaaaaaaaaaaaaaaa', RequestedAt: expect.any(String) });
  });

  test('the replacement name differs from the name of the image it replaces', () => {
    expect(imageNameFor({ ...PROPS, InstanceId: 'i-0fedcba9876543210' })).not.toBe(NAME);
    expect(imageNameFor({ ...PROPS, RemovalPolicy: 'retain' })).toBe(NAME);
    expect(imageNameFor({ ...PROPS, Tags: { a: '1', b: '2' } })).toBe(imageNameFor({ ...PROPS, Tags: { b: '2', a: '1' } }));
  });

  test('a rollback removes the image of the failed replacement that CloudFormation never recorded', async () => {
    const failedProps = { InstanceId: 'i-0fedcba9876543210' };
    const failedName = imageNameFor({ ...PROPS, ...failedProps });
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [ourImage()] });
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [failedName] }] })
      .resolves({ Images: [ourImage({ ImageId: 'ami-0ffffffffffffffff', Name: failedName, State: 'pending', BlockDeviceMappings: [] })] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });

    // rollback: from the failed properties back to the current ones, physical id still the current image
    const response = await onEvent(updateEvent('ami-0aaaaaaaaaaaaaaaa', {}, failedProps));

    expect(response.PhysicalResourceId).toBe('ami-0aaaaaaaaaaaaaaaa');
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: 'ami-0ffffffffffffffff' });
    expect(ec2).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: 'ami-0aaaaaaaaaaaaaaaa' });
  });

  test('a forward replacement leaves the old image to CloudFormation\'s Delete', async () => {
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [ourImage()] });
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-0bbbbbbbbbbbbbbbb' });

    await onEvent(updateEvent('ami-0aaaaaaaaaaaaaaaa', { RebuildToken: 'next' }));

    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });
});

describe('Delete', () => {
  test('deregisters our image, asking EC2 to delete its snapshots too, and hands the snapshots to isComplete', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: ['ami-0aaaaaaaaaaaaaaaa'] }).resolves({ Images: [ourImage()] });

    const event = deleteOf('ami-0aaaaaaaaaaaaaaaa');
    const response = await onEvent(event);

    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: 'ami-0aaaaaaaaaaaaaaaa', DeleteAssociatedSnapshots: true });
    expect(ec2).toHaveReceivedCommandTimes(DeregisterImageCommand, 1);
    // Which images the Delete keeps: CloudFormation is asked what it records for this logical resource in this stack.
    expect(cfn).toHaveReceivedCommandWith(DescribeStackResourceCommand, { StackName: event.StackId, LogicalResourceId: 'Image' });
    expect(response).toEqual({
      PhysicalResourceId: 'ami-0aaaaaaaaaaaaaaaa',
      DeregisteredImageName: NAME,
      DeregisteredImageOwner: OWNER,
      SnapshotIds: ['snap-0aaaaaaaaaaaaaaaa'],
    });
  });

  test('retain leaves the image and its snapshots alone', async () => {
    const response = await onEvent(deleteOf('ami-0aaaaaaaaaaaaaaaa', { RemovalPolicy: 'retain' }));
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(ec2).not.toHaveReceivedCommand(DescribeImagesCommand);
    expect(response).toEqual({ PhysicalResourceId: 'ami-0aaaaaaaaaaaaaaaa' });
  });

  test('an image without our owner tag is not touched', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [ourImage({ Tags: [] })] });
    const response = await onEvent(deleteOf('ami-0aaaaaaaaaaaaaaaa'));
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(cfn).not.toHaveReceivedAnyCommand();
    expect(response).toEqual({ PhysicalResourceId: 'ami-0aaaaaaaaaaaaaaaa' });
  });

  test('an already deregistered (or never existing) AMI succeeds and still looks for leftover snapshots', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: ['ami-0aaaaaaaaaaaaaaaa'] }).rejects(ec2Error('InvalidAMIID.NotFound'));
    const response = await onEvent(deleteOf('ami-0aaaaaaaaaaaaaaaa'));
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(response).toEqual({ PhysicalResourceId: 'ami-0aaaaaaaaaaaaaaaa', DeregisteredImageName: NAME, DeregisteredImageOwner: OWNER, SnapshotIds: [] });
  });

  test('DeregisterImage racing another deletion succeeds', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [ourImage()] });
    ec2.on(DeregisterImageCommand).rejects(ec2Error('InvalidAMIID.Unavailable'));
    await expect(onEvent(deleteOf('ami-0aaaaaaaaaaaaaaaa'))).resolves.toMatchObject({ DeregisteredImageName: NAME });
  });

  test('DeregisterImage failing otherwise fails the Delete', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [ourImage()] });
    ec2.on(DeregisterImageCommand).rejects(ec2Error('UnauthorizedOperation'));
    await expect(onEvent(deleteOf('ami-0aaaaaaaaaaaaaaaa'))).rejects.toThrow(/UnauthorizedOperation/);
  });

  test('a physical id that is not an AMI id finds the image of an interrupted Create by name', async () => {
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [ourImage({ State: 'pending' })] });

    await onEvent(deleteOf('AmiFromInstanceStack-Image-1A2B3C'));

    expect(ec2).not.toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: expect.anything() });
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: 'ami-0aaaaaaaaaaaaaaaa' });
  });

  test('a physical id that is not an AMI id, with no image, touches nothing', async () => {
    const response = await onEvent(deleteOf('request-1'));
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
    expect(response.PhysicalResourceId).toBe('request-1');
  });

  test('properties that cannot name an image mean no image was made: nothing to delete', async () => {
    const response = await onEvent(deleteOf('request-1', { ImageNamePrefix: '!' }));
    expect(ec2).not.toHaveReceivedAnyCommand();
    expect(cfn).not.toHaveReceivedAnyCommand();
    expect(response).toEqual({ PhysicalResourceId: 'request-1' });
  });
});
