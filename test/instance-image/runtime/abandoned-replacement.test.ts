/**
 * The rollback Update from failed properties back to the current ones
 * (removeAbandonedReplacement): what it hands isComplete when the failed
 * replacement's image is gone already, and when the failed properties could
 * not even name an image.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateImageCommand, DeregisterImageCommand, DescribeImagesCommand, EC2Client, Image } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { OWNER, PROPS, updateEvent } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
mockClient(CloudFormationClient);

const NAME = imageNameFor(PROPS);
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const byName = (name: string) => ({ Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: 'name', Values: [name] }] });
const current: Image = {
  ImageId: AMI, Name: NAME, State: 'available',
  Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }],
  BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' } }],
};
const adopted = { PhysicalResourceId: AMI, Data: { ImageId: AMI, ImageName: NAME }, ImageRequestedAt: expect.any(String), RequestedAt: expect.any(String) };

beforeEach(() => {
  ec2.reset();
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [current] });
  ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [current] });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('the failed replacement\'s image gone already (removed when it failed): its name is handed on with no listed snapshots, nothing deregistered', async () => {
  const failedProps = { InstanceId: 'i-0fedcba9876543210' };

  const response = await onEvent(updateEvent(AMI, {}, failedProps));

  expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, byName(imageNameFor({ ...PROPS, ...failedProps })));
  expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  expect(response).toEqual({ ...adopted, DeregisteredImageName: imageNameFor({ ...PROPS, ...failedProps }), DeregisteredImageOwner: OWNER, SnapshotIds: [] });
});

test('failed properties that could not name an image made none: the current image is carried on with, nothing is looked for or handed on', async () => {
  const response = await onEvent(updateEvent(AMI, {}, { ImageNamePrefix: 'bad*name' }));

  expect(response).toEqual(adopted);
  expect(ec2).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
  expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, byName(NAME));
  expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
  expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
});
