/**
 * An owner id of before it named the deployment (`<stack name>/<construct
 * path>`, no stack UUID), in the properties of a Delete: the cleanup after the
 * upgrade that replaced the image, or the deletion of a stack never deployed
 * again. Another deployment of the same app in this region carries the same
 * value, so only the image CloudFormation records for the resource (and its
 * copies, by that image's name) is ever touched.
 */
import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeregisterImageCommand, DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client, Image } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { isDistributionComplete } from '../../../lib/image-distribution/runtime/is-complete';
import { onDistributionEvent } from '../../../lib/image-distribution/runtime/on-event';
import type { DistributionCompleteRequest, DistributionEvent } from '../../../lib/image-distribution/runtime/types';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { IMAGE_NAME_TAG, isLegacyOwner, OWNER_TAG } from '../../../lib/shared/names';
import { cloudFormationError, deleteEvent, OWNER, PROPS, stackResource, stackStatus } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const cfn = mockClient(CloudFormationClient);

const LEGACY = 'TestStack/Image';
const OURS = 'ami-0bbbbbbbbbbbbbbbb';
const CURRENT = 'ami-0cccccccccccccccc';
const NAME = imageNameFor({ ...PROPS, Owner: LEGACY });

function image(id: string, name: string): Image {
  return {
    ImageId: id, Name: name, State: 'available', CreationDate: '2026-01-01T00:00:00.000Z',
    Tags: [{ Key: OWNER_TAG, Value: LEGACY }, { Key: IMAGE_NAME_TAG, Value: name }],
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: `snap-0${id.slice(5)}` } }],
  };
}

const byTag = { Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [LEGACY] }] };
const legacyDelete = (props = {}) => deleteEvent(OURS, { Owner: LEGACY, ...props });
const deregistered = () => ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId);

beforeEach(() => {
  ec2.reset();
  cfn.reset();
  process.env.AWS_REGION = 'us-east-1';
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  // This resource's image, and another deployment's image carrying the same value of before.
  ec2.on(DescribeImagesCommand, { ImageIds: [OURS], IncludeDisabled: true }).resolves({ Images: [image(OURS, NAME)] });
  ec2.on(DescribeImagesCommand, byTag).resolves({ Images: [image(OURS, NAME), image('ami-0eeeeeeeeeeeeeeee', 'Twin-Image-0123456789abcdef')] });
  cfn.on(DescribeStackResourceCommand).resolves(stackResource(CURRENT));
  cfn.on(DescribeStacksCommand).resolves(stackStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('isLegacyOwner: a value without the stack UUID at its end', () => {
  expect(isLegacyOwner(LEGACY)).toBe(true);
  expect(isLegacyOwner(`${LEGACY}@guid`)).toBe(true);
  expect(isLegacyOwner(OWNER)).toBe(false);
  expect(isLegacyOwner('Platform/Web/Image@51AF3DC0-DA77-11E4-872E-1234567DB123')).toBe(false);
});

describe('the image\'s Delete', () => {
  test('after the upgrade that replaced it, without keepPrevious: this image goes, no image is looked for by the owner tag', async () => {
    const response = await onEvent(legacyDelete());
    expect(deregistered()).toEqual([OURS]);
    expect(ec2).not.toHaveReceivedCommandWith(DescribeImagesCommand, byTag);
    expect(response).toEqual({ PhysicalResourceId: OURS, DeregisteredImageName: NAME, DeregisteredImageOwner: LEGACY, SnapshotIds: [`snap-0${OURS.slice(5)}`] });
  });

  test('with keepPrevious: it stays as the previous image', async () => {
    await expect(onEvent(legacyDelete({ KeepPrevious: '1' }))).resolves.toEqual({ PhysicalResourceId: OURS });
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  test.each([
    ['a rollback\'s cleanup', () => cfn.on(DescribeStacksCommand).resolves(stackStatus('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'))],
    ['the resource deleted', () => cfn.on(DescribeStackResourceCommand).resolves(stackResource(OURS))],
    ['the stack no longer having the resource', () => cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError('ValidationError', 'Resource Image does not exist for stack TestStack'))],
  ])('%s with keepPrevious: it goes, and still nothing else', async (_, given) => {
    given();
    await onEvent(legacyDelete({ KeepPrevious: '1' }));
    expect(deregistered()).toEqual([OURS]);
    expect(ec2).not.toHaveReceivedCommandWith(DescribeImagesCommand, byTag);
  });
});

describe('the distribution\'s Delete', () => {
  const distributionDelete = (props = {}): DistributionEvent => ({
    ServiceToken: 'token', ResponseURL: 'https://example.invalid', StackId: deleteEvent(OURS).StackId, RequestId: 'request-1',
    LogicalResourceId: 'Distribution', ResourceType: 'Custom::ImageDistribution', RequestType: 'Delete', PhysicalResourceId: OURS,
    ResourceProperties: { ServiceToken: 'token', ImageId: OURS, Owner: LEGACY, RemovalPolicy: 'destroy', CopyToRegions: ['eu-west-1'], ...props },
  });

  test('removes in the copy regions only the copies named after its own image, never another deployment\'s of the same value', async () => {
    const response = await onDistributionEvent(distributionDelete());
    expect(response).toEqual({ PhysicalResourceId: OURS, ResourceDeleted: false, SweepRegions: ['eu-west-1'], OnlyImageName: NAME });

    // In eu-west-1: this image's copy and another deployment's copy, both tagged with the value of before.
    ec2.on(DescribeImagesCommand, byTag).resolves({ Images: [image('ami-01111111111111111', NAME), image('ami-02222222222222222', 'Twin-Image-0123456789abcdef')] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    const done = await isDistributionComplete({ ...distributionDelete(), ...response } as DistributionCompleteRequest);

    expect(done).toEqual({ IsComplete: true });
    expect(deregistered()).toEqual(['ami-01111111111111111']);
  });

  test('its image gone already: nothing is swept (its copies cannot be told from another deployment\'s by name)', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [OURS], IncludeDisabled: true }).resolves({ Images: [] });
    await expect(onDistributionEvent(distributionDelete()))
      .resolves.toEqual({ PhysicalResourceId: OURS, ResourceDeleted: false, SweepRegions: [] });
  });

  test('with keepPrevious after a user\'s update: its copies stay with the image', async () => {
    await expect(onDistributionEvent(distributionDelete({ KeepPrevious: '1' })))
      .resolves.toEqual({ PhysicalResourceId: OURS, ResourceDeleted: false, SweepRegions: [] });
  });
});
