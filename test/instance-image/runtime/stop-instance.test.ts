/**
 * `StopInstance: 'true'`: onEvent stops the source, isComplete images it once
 * it is `stopped`. The framework sends the same event to every isComplete
 * poll, so each poll must work from what EC2 reports alone.
 */
import { CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  Image,
  InstanceStateName,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { stopInstance } from '../../../lib/instance-image/runtime/create';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { isComplete } from '../../../lib/instance-image/runtime/is-complete';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { createEvent, deleteEvent, ec2Error, isCompleteEvent, OWNER, PROPS, stackResource, updateEvent } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const cfn = mockClient(CloudFormationClient);
const STOP = { StopInstance: 'true' as const };
const NAME = imageNameFor({ ...PROPS, ...STOP });
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const TAGS = [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }];
const byName = { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] };

function image(overrides: Partial<Image> = {}): Image {
  return { ImageId: AMI, Name: NAME, State: 'available', ImdsSupport: 'v2.0', Tags: TAGS, BlockDeviceMappings: [], ...overrides };
}

function instanceIs(state: InstanceStateName) {
  ec2.on(DescribeInstancesCommand, { InstanceIds: [PROPS.InstanceId] })
    .resolves({ Reservations: [{ Instances: [{ InstanceId: PROPS.InstanceId, State: { Name: state } }] }] });
}

/** The isComplete event of a Create whose onEvent stopped the instance: no image id, the framework's RequestId as physical id. */
const pollOfCreate = () => isCompleteEvent(createEvent(STOP), { PhysicalResourceId: 'request-1', PendingImageName: NAME });

beforeEach(() => {
  ec2.reset();
  cfn.reset();
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('StopInstance is not content-defining: the image name is the same with or without it', () => {
  expect(NAME).toBe(imageNameFor(PROPS));
});

describe('onEvent', () => {
  test('Create stops the running instance and returns no image id; no CreateImage', async () => {
    instanceIs('running');

    const response = await onEvent(createEvent(STOP));

    expect(response).toEqual({ PendingImageName: NAME, RequestedAt: expect.any(String) });
    expect(ec2).toHaveReceivedCommandWith(StopInstancesCommand, { InstanceIds: [PROPS.InstanceId] });
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('a replacing Update keeps the old physical id until the image exists', async () => {
    instanceIs('stopped');
    ec2.on(DescribeImagesCommand, { ImageIds: ['ami-0eeeeeeeeeeeeeeee'] }).resolves({ Images: [image({ ImageId: 'ami-0eeeeeeeeeeeeeeee', Name: imageNameFor(PROPS) })] });

    const response = await onEvent(updateEvent('ami-0eeeeeeeeeeeeeeee', { ...STOP, RebuildToken: 'next' }));

    expect(response).toEqual({ PhysicalResourceId: 'ami-0eeeeeeeeeeeeeeee', PendingImageName: imageNameFor({ ...PROPS, ...STOP, RebuildToken: 'next' }), RequestedAt: expect.any(String) });
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('a Create retried after the image exists adopts it (the source, stopped for it, is left as it is)', async () => {
    instanceIs('stopped');
    ec2.on(DescribeImagesCommand, byName).resolves({ Images: [image()] });
    await expect(onEvent(createEvent(STOP))).resolves.toMatchObject({ PhysicalResourceId: AMI });
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test.each(['terminated', 'shutting-down'] as const)('a %s instance fails the Create with a clear reason', async (state) => {
    instanceIs(state);
    await expect(onEvent(createEvent(STOP))).rejects.toThrow(`Instance ${PROPS.InstanceId} is ${state}: it cannot be stopped and imaged`);
  });

  test('a Delete during the stop phase (physical id = RequestId) finds no image and leaves nothing', async () => {
    // The rollback of the failed Create: CloudFormation records the RequestId the framework answered with.
    cfn.on(DescribeStackResourceCommand).resolves(stackResource('request-1'));

    const response = await onEvent(deleteEvent('request-1', STOP));

    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, byName);
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    await expect(isComplete(isCompleteEvent(deleteEvent('request-1', STOP), response))).resolves.toEqual({ IsComplete: true });
  });
});

describe('isComplete', () => {
  test.each(['stopping', 'pending'] as const)('%s: not complete, nothing sent', async (state) => {
    instanceIs(state);
    await expect(isComplete(pollOfCreate())).resolves.toEqual({ IsComplete: false });
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('running (started again by someone): StopInstances again, not complete', async () => {
    instanceIs('running');
    await expect(isComplete(pollOfCreate())).resolves.toEqual({ IsComplete: false });
    expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 1);
  });

  test('terminated: fails with a clear reason', async () => {
    instanceIs('terminated');
    await expect(isComplete(pollOfCreate())).rejects.toThrow(/is terminated: it cannot be stopped and imaged/);
  });

  test('stopped: CreateImage with the tags; not complete until the image is available', async () => {
    instanceIs('stopped');
    ec2.on(CreateImageCommand).resolves({ ImageId: AMI });
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image({ State: 'pending' })] });

    await expect(isComplete(pollOfCreate())).resolves.toEqual({ IsComplete: false });

    expect(ec2).toHaveReceivedCommandWith(CreateImageCommand, {
      InstanceId: PROPS.InstanceId,
      Name: NAME,
      TagSpecifications: [
        { ResourceType: 'image', Tags: expect.arrayContaining(TAGS) },
        { ResourceType: 'snapshot', Tags: expect.arrayContaining(TAGS) },
      ],
    });
  });

  test('a later poll finds the image by name, makes no second one, and completes with the image id as physical id', async () => {
    ec2.on(DescribeImagesCommand, byName).resolves({ Images: [image()] });

    await expect(isComplete(pollOfCreate())).resolves.toEqual({
      IsComplete: true,
      PhysicalResourceId: AMI,
      Data: { ImageId: AMI, ImageName: NAME, SnapshotIds: '' },
    });
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
    expect(ec2).not.toHaveReceivedCommand(DescribeInstancesCommand);
    // The name lookup answers with the image itself: one DescribeImages a poll, as without StopInstance.
    expect(ec2).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
  });

  test('a later poll that finds the image pending by name is not complete, and asks nothing else', async () => {
    ec2.on(DescribeImagesCommand, byName).resolves({ Images: [image({ State: 'pending' })] });

    await expect(isComplete(pollOfCreate())).resolves.toEqual({ IsComplete: false });
    expect(ec2).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('the image made by the previous poll, not listed by name yet: Duplicate, then "not yet" (never a second image)', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    instanceIs('stopped');
    ec2.on(CreateImageCommand).rejects(ec2Error('InvalidAMIName.Duplicate'));

    const poll = isComplete(pollOfCreate());
    await jest.advanceTimersByTimeAsync(10_000);

    await expect(poll).resolves.toEqual({ IsComplete: false });
    jest.useRealTimers();
  });

  test('a failed image fails the deploy; the physical id stays the RequestId, so the rollback Delete looks it up by name', async () => {
    ec2.on(DescribeImagesCommand, byName).resolves({ Images: [image({ State: 'failed', StateReason: { Message: 'boom' } })] });
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image({ State: 'failed', StateReason: { Message: 'boom' } })] });

    await expect(isComplete(pollOfCreate())).rejects.toThrow(`Image ${AMI} (${NAME}) is failed: boom`);
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: AMI });
  });
});

describe('stopInstance: an instance DescribeInstances does not describe', () => {
  test.each([
    ['no reservations', {}],
    ['a reservation without instances', { Reservations: [{}] }],
    ['a reservation with an empty instance list', { Reservations: [{ Instances: [] }] }],
    ['an instance without a state', { Reservations: [{ Instances: [{ InstanceId: PROPS.InstanceId }] }] }],
  ])('%s: the Create fails saying the instance is not found, and nothing is stopped', async (_, answer) => {
    ec2.on(DescribeInstancesCommand).resolves(answer);
    await expect(onEvent(createEvent(STOP))).rejects.toThrow(`Instance ${PROPS.InstanceId} is not found: it cannot be stopped and imaged`);
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test.each([
    ['terminated', { Reservations: [{ Instances: [{ State: { Name: 'terminated' as const } }] }] }],
    ['not found', {}],
  ])('not imaging (an image exists already): an instance %s is not stopped, and no error', async (_, answer) => {
    ec2.on(DescribeInstancesCommand).resolves(answer);
    await expect(stopInstance(PROPS.InstanceId, false)).resolves.toBe(false);
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });
});
