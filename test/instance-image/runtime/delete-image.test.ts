/**
 * onEvent's Delete when the image CloudFormation records is gone already
 * (deregistered outside CloudFormation, or a failed image removed when it
 * failed), and when the deleted image is kept with nothing else to prune:
 * what is deregistered, what CloudFormation is asked, and what isComplete is handed.
 */
import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeregisterImageCommand, DescribeImagesCommand, EC2Client, Image } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { deleteEvent, ec2Error, OWNER, PROPS, stackResource, stackStatus } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const cfn = mockClient(CloudFormationClient);

const NAME = imageNameFor(PROPS);
const GONE = 'ami-0aaaaaaaaaaaaaaaa';
const CURRENT = 'ami-0cccccccccccccccc';
const OLDER = 'ami-0dddddddddddddddd';

function image(id: string, name: string, owner = OWNER, created = '2026-01-01T00:00:00.000Z'): Image {
  return {
    ImageId: id, Name: name, State: 'available', CreationDate: created,
    Tags: [{ Key: OWNER_TAG, Value: owner }, { Key: IMAGE_NAME_TAG, Value: name }],
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: `snap-0${id.slice(5)}` } }],
  };
}

const byOwner = (owner: string) => ({ Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [owner] }] });
const deregistered = () => ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId);

beforeEach(() => {
  ec2.reset();
  cfn.reset();
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeImagesCommand, { ImageIds: [GONE] }).rejects(ec2Error('InvalidAMIID.NotFound'));
  cfn.on(DescribeStacksCommand).resolves(stackStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('the resource deleted, its recorded image gone: the other images of the resource still go, with their snapshots handed on', async () => {
  const older = image(OLDER, 'TestStack-Image-older');
  ec2.on(DescribeImagesCommand, byOwner(OWNER)).resolves({ Images: [older] });
  cfn.on(DescribeStackResourceCommand).resolves(stackResource(GONE));

  const response = await onEvent(deleteEvent(GONE));

  expect(deregistered()).toEqual([OLDER]);
  expect(response).toEqual({
    PhysicalResourceId: GONE,
    DeregisteredImageName: NAME,
    DeregisteredImageOwner: OWNER,
    SnapshotIds: [],
    PrunedImages: [{ Name: 'TestStack-Image-older', SnapshotIds: [`snap-0${OLDER.slice(5)}`] }],
  });
});

test('the replaced image kept by keepPrevious, no older image to prune: nothing is removed, and isComplete is handed nothing', async () => {
  const PREVIOUS = 'ami-0bbbbbbbbbbbbbbbb';
  const previous = image(PREVIOUS, NAME, OWNER, '2026-01-01T00:00:00.000Z');
  ec2.on(DescribeImagesCommand, { ImageIds: [PREVIOUS] }).resolves({ Images: [previous] });
  ec2.on(DescribeImagesCommand, byOwner(OWNER)).resolves({ Images: [image(CURRENT, 'TestStack-Image-current', OWNER, '2026-02-01T00:00:00.000Z'), previous] });
  cfn.on(DescribeStackResourceCommand).resolves(stackResource(CURRENT));

  const response = await onEvent(deleteEvent(PREVIOUS, { KeepPrevious: '1' }));

  expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  expect(response).toEqual({ PhysicalResourceId: PREVIOUS });
});

describe('an owner id of before it named the deployment', () => {
  const LEGACY = 'TestStack/Image';
  const LEGACY_NAME = imageNameFor({ ...PROPS, Owner: LEGACY });

  test('the resource deleted, its image gone: nothing to deregister, its snapshots are still looked for, and no stack status is needed', async () => {
    cfn.on(DescribeStackResourceCommand).resolves(stackResource(GONE));

    const response = await onEvent(deleteEvent(GONE, { Owner: LEGACY, KeepPrevious: '1' }));

    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(ec2).not.toHaveReceivedCommandWith(DescribeImagesCommand, byOwner(LEGACY));
    // CloudFormation records this very physical id: the resource itself goes, whatever the stack's status.
    expect(cfn).not.toHaveReceivedCommand(DescribeStacksCommand);
    expect(response).toEqual({ PhysicalResourceId: GONE, DeregisteredImageName: LEGACY_NAME, DeregisteredImageOwner: LEGACY, SnapshotIds: [] });
  });
});
