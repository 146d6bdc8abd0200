/**
 * What one deploy leaves for the next (issue "deploy after deploy"): an image
 * adopted by a Create or a replacing Update is followed by this deploy's wait
 * condition; nothing can fail between CreateImage and CloudFormation learning
 * the image's id; a name taken by an image not listed yet is looked for, not
 * failed on; and no poll past CloudFormation's hour starts an image.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateImageCommand, CreateTagsCommand, DescribeImagesCommand, DescribeInstancesCommand, EC2Client, Image, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { isComplete } from '../../../lib/instance-image/runtime/is-complete';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { IMAGE_NAME_TAG, OWNER_TAG, SIGNAL_TAG } from '../../../lib/shared/names';
import { REQUEST_DEADLINE_SECONDS } from '../../../lib/shared/runtime/deadline';
import { createEvent, ec2Error, isCompleteEvent, OWNER, PROPS, updateEvent } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const events = mockClient(EventBridgeClient);
mockClient(CloudFormationClient);

const LONG_WAIT = { SignalId: 'signal-2', CheckRuleName: 'TestStack-ImageCheck' };
const NAME = imageNameFor(PROPS);
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const CURRENT = 'ami-0cccccccccccccccc';

function image(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: AMI, Name: NAME, State: 'available', ImdsSupport: 'v2.0', RootDeviceName: '/dev/xvda',
    Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }, { Key: SIGNAL_TAG, Value: 'signal-1' }],
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' } }],
    ...overrides,
  };
}

const byName = (name: string) => ({ Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: 'name', Values: [name] }] });
const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

beforeEach(() => {
  ec2.reset();
  events.reset();
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('an existing image adopted under a wait condition is followed by it', () => {
  test('a Create (a retried one, or a revert) finding its available image tags it for this handle and enables the scheduled check', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image()] });

    const response = await onEvent(createEvent(LONG_WAIT));

    expect(response).toMatchObject({ PhysicalResourceId: AMI });
    expect(ec2).toHaveReceivedCommandWith(CreateTagsCommand, { Resources: [AMI], Tags: [{ Key: SIGNAL_TAG, Value: 'signal-2' }] });
    expect(events).toHaveReceivedCommandWith(EnableRuleCommand, { Name: LONG_WAIT.CheckRuleName });
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('a replacing Update going back to an image made before (a revert) does the same', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image()] });
    ec2.on(DescribeImagesCommand, { ImageIds: [CURRENT], IncludeDisabled: true }).resolves({ Images: [image({ ImageId: CURRENT, Name: 'TestStack-Image-other' })] });

    await onEvent(updateEvent(CURRENT, LONG_WAIT, { RebuildToken: 'newer', SignalId: 'signal-1' }));

    expect(ec2).toHaveReceivedCommandWith(CreateTagsCommand, { Resources: [AMI], Tags: [{ Key: SIGNAL_TAG, Value: 'signal-2' }] });
    expect(events).toHaveReceivedCommandWith(EnableRuleCommand, { Name: LONG_WAIT.CheckRuleName });
  });

  test('an image already tagged for this handle is not tagged again; the check is still enabled', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image({ Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: SIGNAL_TAG, Value: 'signal-2' }] })] });
    await onEvent(createEvent(LONG_WAIT));
    expect(ec2).not.toHaveReceivedCommand(CreateTagsCommand);
    expect(events).toHaveReceivedCommandTimes(EnableRuleCommand, 1);
  });

  test('without a wait condition nothing is tagged nor enabled', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image()] });
    await onEvent(createEvent());
    expect(ec2).not.toHaveReceivedCommand(CreateTagsCommand);
    expect(events).not.toHaveReceivedAnyCommand();
  });
});

describe('nothing fails between CreateImage and CloudFormation learning the id', () => {
  test('the scheduled check is enabled before CreateImage: when enabling fails, no image was made', async () => {
    events.on(EnableRuleCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    ec2.on(CreateImageCommand).resolves({ ImageId: AMI });

    await expect(onEvent(createEvent(LONG_WAIT))).rejects.toThrow('Rate exceeded');

    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('a pending name (taken, not listed yet) is looked for by isComplete and adopted once listed', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image({ State: 'pending' })] });
    const event = isCompleteEvent(createEvent(), { PhysicalResourceId: 'request-1', PendingImageName: NAME, RequestedAt: ago(60) });

    await expect(isComplete(event)).resolves.toEqual({ IsComplete: false });
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image()] });
    await expect(isComplete(event)).resolves.toMatchObject({ IsComplete: true, PhysicalResourceId: AMI });
    expect(ec2).not.toHaveReceivedCommand(DescribeInstancesCommand);
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('a pending name whose image is gone (the name free again): isComplete makes it, without stopping the instance', async () => {
    ec2.on(CreateImageCommand).resolves({ ImageId: AMI });
    const event = isCompleteEvent(createEvent(), { PhysicalResourceId: 'request-1', PendingImageName: NAME, RequestedAt: ago(60) });

    await expect(isComplete(event)).resolves.toEqual({ IsComplete: false });

    expect(ec2).toHaveReceivedCommandWith(CreateImageCommand, { InstanceId: PROPS.InstanceId, Name: NAME });
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });
});

describe('no poll past CloudFormation\'s hour starts an image', () => {
  test.each([
    ['a stopped source (StopInstance)', { StopInstance: 'true' as const }],
    ['a name taken by an image not listed yet', {}],
  ])('%s: a poll past the deadline fails the request and makes no image', async (_, props) => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ State: { Name: 'stopped' } }] }] });
    ec2.on(CreateImageCommand).resolves({ ImageId: AMI });
    const late = isCompleteEvent(createEvent(props), { PhysicalResourceId: 'request-1', PendingImageName: NAME, RequestedAt: ago(REQUEST_DEADLINE_SECONDS + 5) });

    // The message names the image by the name it is waited for under, not the framework's RequestId.
    await expect(isComplete(late)).rejects.toThrow(`Image ${NAME} was not done 57 minutes after the request: CloudFormation waits at most an hour`);

    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('a poll of an image started by onEvent, past the deadline, names the image by its id', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'pending' })] });
    const late = isCompleteEvent(createEvent(), { PhysicalResourceId: AMI, RequestedAt: ago(REQUEST_DEADLINE_SECONDS + 5) });
    await expect(isComplete(late)).rejects.toThrow(`Image ${AMI} was not done 57 minutes after the request: CloudFormation waits at most an hour`);
  });

  test('a poll just before the deadline still makes the image', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ State: { Name: 'stopped' } }] }] });
    ec2.on(CreateImageCommand).resolves({ ImageId: AMI });
    const inTime = isCompleteEvent(createEvent({ StopInstance: 'true' }), { PhysicalResourceId: 'request-1', PendingImageName: NAME, RequestedAt: ago(REQUEST_DEADLINE_SECONDS - 30) });
    await expect(isComplete(inTime)).resolves.toEqual({ IsComplete: false });
    expect(ec2).toHaveReceivedCommandTimes(CreateImageCommand, 1);
  });

  test('every Create and Update answer carries the time the deadline counts from', async () => {
    ec2.on(CreateImageCommand).resolves({ ImageId: AMI });
    const before = Date.now();
    const { RequestedAt } = await onEvent(createEvent());
    expect(Date.parse(RequestedAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(RequestedAt!)).toBeLessThanOrEqual(Date.now());
  });

  test('a Delete is not bounded by it (its snapshots are retried until deleted)', async () => {
    ec2.on(CreateImageCommand).rejects(ec2Error('ShouldNotBeCalled'));
    const del = isCompleteEvent({ ...createEvent(), RequestType: 'Delete', PhysicalResourceId: AMI } as never, { PhysicalResourceId: AMI, RequestedAt: ago(REQUEST_DEADLINE_SECONDS + 5) });
    await expect(isComplete(del)).resolves.toEqual({ IsComplete: true });
  });
});

describe('switching modes', () => {
  test('StopInstance turned on for the same image (keepInstancesRunning true to false): the running source is stopped, the image kept', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ State: { Name: 'running' } }] }] });

    const response = await onEvent(updateEvent(AMI, { StopInstance: 'true' }, {}));

    expect(response).toMatchObject({ PhysicalResourceId: AMI });
    expect(ec2).toHaveReceivedCommandWith(StopInstancesCommand, { InstanceIds: [PROPS.InstanceId] });
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test('StopInstance with an image that exists already (a revert, a replacing Update adopting it): the running source is stopped all the same', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ State: { Name: 'running' } }] }] });
    const older = imageNameFor({ ...PROPS, RebuildToken: 'older' });
    ec2.on(DescribeImagesCommand, byName(older)).resolves({ Images: [image({ ImageId: CURRENT, Name: older })] });

    const response = await onEvent(updateEvent(AMI, { StopInstance: 'true', RebuildToken: 'older' }, {}));

    expect(response).toMatchObject({ PhysicalResourceId: CURRENT });
    expect(ec2).toHaveReceivedCommandWith(StopInstancesCommand, { InstanceIds: [PROPS.InstanceId] });
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  });

  test.each(['terminated', 'shutting-down', undefined] as const)('StopInstance adopting an existing image with the source %s: adopted, nothing stopped, no failure', async (state) => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: state ? [{ Instances: [{ State: { Name: state } }] }] : [] });
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image()] });

    await expect(onEvent(createEvent({ StopInstance: 'true' }))).resolves.toMatchObject({ PhysicalResourceId: AMI });

    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test.each([
    ['StopInstance turned off', { StopInstance: undefined }, { StopInstance: 'true' as const }],
    ['StopInstance on before and after', { StopInstance: 'true' as const }, { StopInstance: 'true' as const }],
  ])('%s: the instance is not touched', async (_, props, oldProps) => {
    await onEvent(updateEvent(AMI, props, oldProps));
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
    expect(ec2).not.toHaveReceivedCommand(DescribeInstancesCommand);
  });
});
