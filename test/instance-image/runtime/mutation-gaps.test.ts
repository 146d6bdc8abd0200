/**
 * Behaviour the other handler tests left unchecked (StrykerJS found the mutants
 * they let live): the new wait condition of an in-place Update, a pending image
 * under a wait condition, what DescribeStackResource errors mean, ties in
 * CreationDate for KeepPrevious, and an image adopted after InvalidAMIName.Duplicate.
 */
import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateImageCommand,
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  EC2Client,
  Image,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { startImage } from '../../../lib/instance-image/runtime/create';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { isComplete } from '../../../lib/instance-image/runtime/is-complete';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { IMAGE_NAME_TAG, OWNER_TAG, SIGNAL_TAG } from '../../../lib/shared/names';
import { newestFirst } from '../../../lib/shared/runtime/ec2';
import { recordedPhysicalId, retention } from '../../../lib/shared/runtime/retention';
import {
  cloudFormationError,
  createEvent,
  deleteEvent,
  ec2Error,
  isCompleteEvent,
  OWNER,
  PROPS,
  stackResource,
  stackStatus,
  updateEvent,
} from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const cfn = mockClient(CloudFormationClient);
const events = mockClient(EventBridgeClient);

const NAME = imageNameFor(PROPS);
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const NEW_AMI = 'ami-0bbbbbbbbbbbbbbbb';
const OUR_TAGS = [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }];
const CHECK_RULE = 'TestStack-ImageCheck';

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

beforeEach(() => {
  ec2.reset();
  cfn.reset();
  events.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

// ---- 1. an in-place Update with a new wait condition --------------------------------------------

describe('Update with a new SignalId for the same image (followHandle)', () => {
  const followed = (props = {}, oldProps = {}, physicalId = AMI) =>
    updateEvent(physicalId, { SignalId: 'signal-2', CheckRuleName: CHECK_RULE, ...props }, { SignalId: 'signal-1', CheckRuleName: CHECK_RULE, ...oldProps });

  test('tags the image (only the image, only the signal tag) with the new SignalId, then enables the scheduled check', async () => {
    const order: string[] = [];
    ec2.on(CreateTagsCommand).callsFake(() => { order.push('CreateTags'); return {}; });
    events.on(EnableRuleCommand).callsFake(() => { order.push('EnableRule'); return {}; });

    const response = await onEvent(followed());

    expect(response).toEqual({ PhysicalResourceId: AMI, RequestedAt: expect.any(String) });
    expect(ec2).toHaveReceivedCommandTimes(CreateTagsCommand, 1);
    expect(ec2.commandCalls(CreateTagsCommand)[0].args[0].input).toEqual({ Resources: [AMI], Tags: [{ Key: SIGNAL_TAG, Value: 'signal-2' }] });
    expect(events).toHaveReceivedCommandTimes(EnableRuleCommand, 1);
    expect(events).toHaveReceivedCommandWith(EnableRuleCommand, { Name: CHECK_RULE });
    // Tagged first: a check enabled before would find no image of the new handle pending, and turn itself off.
    expect(order).toEqual(['CreateTags', 'EnableRule']);
    // The same image: nothing made, nothing removed, nothing else asked of EC2.
    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(ec2.calls()).toHaveLength(1);
  });

  test('a wait condition newly turned on (no SignalId before) is followed too', async () => {
    const response = await onEvent(updateEvent(AMI, { SignalId: 'signal-2', CheckRuleName: CHECK_RULE }));
    expect(response).toEqual({ PhysicalResourceId: AMI, RequestedAt: expect.any(String) });
    expect(ec2).toHaveReceivedCommandWith(CreateTagsCommand, { Resources: [AMI], Tags: [{ Key: SIGNAL_TAG, Value: 'signal-2' }] });
    expect(events).toHaveReceivedCommandWith(EnableRuleCommand, { Name: CHECK_RULE });
  });

  test('without CheckRuleName the image is tagged, and no rule is enabled', async () => {
    await onEvent(followed({ CheckRuleName: undefined }, { CheckRuleName: undefined }));
    expect(ec2).toHaveReceivedCommandWith(CreateTagsCommand, { Resources: [AMI], Tags: [{ Key: SIGNAL_TAG, Value: 'signal-2' }] });
    expect(events).not.toHaveReceivedAnyCommand();
  });

  test.each([
    ['the SignalId is unchanged', AMI, { SignalId: 'signal-1' }],
    ['the wait condition is turned off (no SignalId now)', AMI, { SignalId: undefined }],
    ['the physical id is not an AMI id (a Create that never made an image)', 'TestStack-Image-1A2B3C', {}],
  ])('nothing is tagged nor enabled when %s', async (_, physicalId, props) => {
    const response = await onEvent(followed(props, {}, physicalId));
    expect(response).toEqual({ PhysicalResourceId: physicalId, RequestedAt: expect.any(String) });
    expect(ec2).not.toHaveReceivedAnyCommand();
    expect(events).not.toHaveReceivedAnyCommand();
  });

  test('CreateTags refused: the Update fails, and the check is not enabled for a handle no image carries', async () => {
    ec2.on(CreateTagsCommand).rejects(ec2Error('UnauthorizedOperation'));
    await expect(onEvent(followed())).rejects.toThrow(/UnauthorizedOperation/);
    expect(events).not.toHaveReceivedAnyCommand();
  });

  test('a new SignalId with a content change makes a new image tagged at CreateImage, not a CreateTags on the old one', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(CreateImageCommand).resolves({ ImageId: NEW_AMI });
    const response = await onEvent(followed({ RebuildToken: 'next' }));
    expect(response.PhysicalResourceId).toBe(NEW_AMI);
    expect(ec2).not.toHaveReceivedCommand(CreateTagsCommand);
    expect(ec2).toHaveReceivedCommandWith(CreateImageCommand, {
      TagSpecifications: expect.arrayContaining([{ ResourceType: 'image', Tags: expect.arrayContaining([{ Key: SIGNAL_TAG, Value: 'signal-2' }]) }]),
    });
  });
});

// ---- 2. isComplete: a pending image under a wait condition --------------------------------------

describe('isComplete: a pending image followed by a wait condition', () => {
  const DATA = { ImageId: AMI, ImageName: NAME, RootDeviceName: '/dev/xvda', SnapshotIds: 'snap-0aaaaaaaaaaaaaaaa' };
  const afterCreate = (props = {}) =>
    isCompleteEvent(createEvent(props), { PhysicalResourceId: AMI, Data: { ImageId: AMI, ImageName: NAME }, ImageRequestedAt: new Date().toISOString() });

  test.each(['pending', 'transient'] as const)('%s with a SignalId: complete at once, with the image\'s attributes', async (state) => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: state, RootDeviceName: '/dev/xvda', ImdsSupport: undefined })] });
    await expect(isComplete(afterCreate({ SignalId: 'signal-1' }))).resolves.toEqual({ IsComplete: true, Data: DATA });
    // IMDSv2 is required by the signal function once the image is available, not on a pending one.
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });

  test.each(['pending', 'transient'] as const)('the same %s image without a SignalId is not complete', async (state) => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: state, RootDeviceName: '/dev/xvda' })] });
    await expect(isComplete(afterCreate())).resolves.toEqual({ IsComplete: false });
  });

  test('StopInstance with a SignalId: the pending image found by name completes and becomes the physical id', async () => {
    ec2.on(DescribeImagesCommand, { Filters: [{ Name: 'name', Values: [NAME] }] })
      .resolves({ Images: [image({ State: 'pending', RootDeviceName: '/dev/xvda' })] });
    const request = createEvent({ StopInstance: 'true', SignalId: 'signal-1' });
    const event = isCompleteEvent(request, { PhysicalResourceId: 'request-1', PendingImageName: NAME });
    await expect(isComplete(event)).resolves.toEqual({ IsComplete: true, PhysicalResourceId: AMI, Data: DATA });

    const withoutSignal = isCompleteEvent(createEvent({ StopInstance: 'true' }), { PhysicalResourceId: 'request-1', PendingImageName: NAME });
    await expect(isComplete(withoutSignal)).resolves.toEqual({ IsComplete: false });
  });
});

// ---- 3. recordedPhysicalId: only ValidationError "Resource … does not exist" is "gone" -----------

describe('recordedPhysicalId: which errors mean the stack no longer has the resource', () => {
  const STACK_ID = deleteEvent(AMI).StackId;
  const RESOURCE_GONE = `Resource Image does not exist for stack ${STACK_ID}`;

  test('ValidationError "Resource … does not exist": undefined', async () => {
    cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError('ValidationError', RESOURCE_GONE));
    await expect(recordedPhysicalId(STACK_ID, 'Image')).resolves.toBeUndefined();
  });

  test.each(['AccessDenied', 'Throttling', 'ResourceNotFoundException', 'InternalFailure'])(
    '%s with the same "Resource … does not exist" message is thrown', async (code) => {
      cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError(code, RESOURCE_GONE));
      await expect(recordedPhysicalId(STACK_ID, 'Image')).rejects.toMatchObject({ name: code, message: RESOURCE_GONE });
    });

  test('ValidationError "Stack with id … does not exist" is thrown', async () => {
    cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError('ValidationError', `Stack with id ${STACK_ID} does not exist`));
    await expect(recordedPhysicalId(STACK_ID, 'Image')).rejects.toThrow(`Stack with id ${STACK_ID} does not exist`);
  });

  test('a Delete whose DescribeStackResource fails with another code and that message removes nothing', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image()] });
    cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError('AccessDenied', RESOURCE_GONE));
    await expect(onEvent(deleteEvent(AMI))).rejects.toThrow(RESOURCE_GONE);
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });
});

// ---- 4. KeepPrevious with images made in the same second ----------------------------------------

describe('ties in CreationDate: newest first, then the greater ImageId first', () => {
  const SAME_SECOND = '2026-03-01T00:00:00.000Z';
  const tied = (hex: string, created = SAME_SECOND): Image =>
    image({ ImageId: `ami-0${hex.repeat(16)}`, Name: `TestStack-Image-${hex}`, CreationDate: created });
  const A = tied('a');
  const B = tied('b');
  const C = tied('c');
  const OLDER = tied('0', '2026-02-01T00:00:00.000Z');
  const NEWER = tied('d', '2026-04-01T00:00:00.000Z');
  const orders = [[A, B, C], [C, B, A], [B, A, C], [A, C, B], [B, C, A], [C, A, B]];
  const idsOf = (images: Image[]) => images.map((i) => i.ImageId);

  test('newestFirst orders tied images by ImageId, greatest first, whatever the input order', () => {
    for (const order of orders) {
      expect(idsOf(newestFirst([OLDER, ...order, NEWER]))).toEqual(idsOf([NEWER, C, B, A, OLDER]));
    }
  });

  test.each([
    // current, keepPrevious, the current image, those kept besides it
    ['c', 1, C, [B]],
    ['c', 2, C, [B, A]],
    ['b', 1, B, [C]],
    ['b', 2, B, [C, A]],
    ['a', 1, A, [C]],
    ['a', 2, A, [C, B]],
    ['a', 3, A, [C, B, OLDER]],
    ['c', 0, C, []],
  ])('current %s, keepPrevious %i: the images of its second are ranked by ImageId, greatest ImageId first, never dropping the current one', (_, keep, current, previous) => {
    for (const order of orders) {
      const owned = [OLDER, ...order];
      // The deleted image already gone (not among those listed): the others are ranked newest first.
      const result = retention(owned, 'ami-0eeeeeeeeeeeeeeee', current.ImageId, keep);
      expect(result).toEqual({ resourceDeleted: false, kept: new Set(idsOf([current, ...previous])), current: current.ImageId });
      expect(result.kept.has(current.ImageId!)).toBe(true);
    }
  });

  test('a rollback\'s Delete with KeepPrevious 1 among three images of one second keeps the current one and the greatest other id', async () => {
    cfn.on(DescribeStacksCommand).resolves(stackStatus('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'));
    ec2.on(DescribeImagesCommand, { ImageIds: [B.ImageId!] }).resolves({ Images: [B] });
    ec2.on(DescribeImagesCommand, { Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }] }).resolves({ Images: [C, A, B] });
    cfn.on(DescribeStackResourceCommand).resolves(stackResource(A.ImageId!));

    const response = await onEvent(deleteEvent(B.ImageId!, { KeepPrevious: '1' }));

    expect(ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId)).toEqual([B.ImageId]);
    expect(response).toMatchObject({ PhysicalResourceId: B.ImageId, DeregisteredImageName: B.Name });
    expect(response).not.toHaveProperty('PrunedImages');
  });
});

// ---- 5. an image adopted after InvalidAMIName.Duplicate is not this call's to remove --------------

describe('InvalidAMIName.Duplicate: the adopted image was not made by this call', () => {
  const NEXT = { RebuildToken: 'next' };
  const NEXT_NAME = imageNameFor({ ...PROPS, ...NEXT });
  const byName = (name: string) => ({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] });

  test('startImage reports created: false for the adopted image, created: true for its own', async () => {
    ec2.on(CreateImageCommand).rejects(ec2Error('InvalidAMIName.Duplicate'));
    ec2.on(DescribeImagesCommand).resolves({ Images: [image()] });
    await expect(startImage(PROPS, NAME)).resolves.toEqual({ imageId: AMI, created: false });

    ec2.reset();
    ec2.on(CreateImageCommand).resolves({ ImageId: NEW_AMI });
    await expect(startImage(PROPS, NAME)).resolves.toEqual({ imageId: NEW_AMI, created: true });
  });

  /** A replacing Update whose look for an abandoned replacement fails after the new image is started. */
  function failingReplacement() {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).rejects(ec2Error('UnauthorizedOperation'));
    return updateEvent(AMI, NEXT);
  }

  test('a failing Update removes the image its own CreateImage made', async () => {
    ec2.on(DescribeImagesCommand, byName(NEXT_NAME)).resolves({ Images: [] });
    ec2.on(CreateImageCommand).resolves({ ImageId: NEW_AMI });

    await expect(onEvent(failingReplacement())).rejects.toThrow(/UnauthorizedOperation/);

    expect(ec2).toHaveReceivedCommandTimes(DeregisterImageCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: NEW_AMI });
  });

  test('a failing Update does not deregister an image adopted after InvalidAMIName.Duplicate', async () => {
    ec2.on(DescribeImagesCommand, byName(NEXT_NAME))
      .resolvesOnce({ Images: [] })
      .resolves({ Images: [image({ ImageId: NEW_AMI, Name: NEXT_NAME, State: 'pending' })] });
    ec2.on(CreateImageCommand).rejects(ec2Error('InvalidAMIName.Duplicate'));

    await expect(onEvent(failingReplacement())).rejects.toThrow(/UnauthorizedOperation/);

    expect(ec2).toHaveReceivedCommand(CreateImageCommand);
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  test('a failing Update does not deregister an image found by name before CreateImage', async () => {
    ec2.on(DescribeImagesCommand, byName(NEXT_NAME)).resolves({ Images: [image({ ImageId: NEW_AMI, Name: NEXT_NAME, State: 'pending' })] });

    await expect(onEvent(failingReplacement())).rejects.toThrow(/UnauthorizedOperation/);

    expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  test('the cleanup of its own image failing too: the Update fails with the first error', async () => {
    ec2.on(DescribeImagesCommand, byName(NEXT_NAME)).resolves({ Images: [] });
    ec2.on(CreateImageCommand).resolves({ ImageId: NEW_AMI });
    ec2.on(DeregisterImageCommand).rejects(ec2Error('RequestLimitExceeded'));

    await expect(onEvent(failingReplacement())).rejects.toThrow(/UnauthorizedOperation/);
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: NEW_AMI });
  });
});
