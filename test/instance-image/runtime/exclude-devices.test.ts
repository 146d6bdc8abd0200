/**
 * excludeDevices: the volumes CreateImage leaves out of the image, a
 * `{ DeviceName, NoDevice: '' }` block device mapping each. A different image,
 * so part of its name; AttributesVersion is not (an in-place Update).
 */
import { CreateImageCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { imageNameFor, needsNewImage } from '../../../lib/instance-image/runtime/image-name';
import { onEvent } from '../../../lib/instance-image/runtime/on-event';
import { PROPS, createEvent, updateEvent } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const AMI = 'ami-0123456789abcdef0';

beforeEach(() => {
  ec2.reset();
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(CreateImageCommand).resolves({ ImageId: AMI });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('CreateImage receives a NoDevice mapping for each excluded device, and nothing else in BlockDeviceMappings', async () => {
  await onEvent(createEvent({ ExcludeDevices: ['/dev/sdf', 'xvdg'] }));
  expect(ec2).toHaveReceivedCommandTimes(CreateImageCommand, 1);
  const input = ec2.commandCalls(CreateImageCommand)[0].args[0].input;
  expect(input.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/sdf', NoDevice: '' }, { DeviceName: 'xvdg', NoDevice: '' }]);
  expect(input.Name).toBe(imageNameFor({ ...PROPS, ExcludeDevices: ['/dev/sdf', 'xvdg'] }));
});

test.each([[undefined], [[]]])('without devices to exclude (%p) CreateImage gets no BlockDeviceMappings: every volume is in the image', async (devices) => {
  await onEvent(createEvent({ ExcludeDevices: devices }));
  expect(ec2.commandCalls(CreateImageCommand)[0].args[0].input).not.toHaveProperty('BlockDeviceMappings');
});

test('a replacing Update with new devices to exclude makes a new image, whose CreateImage leaves them out', async () => {
  const response = await onEvent(updateEvent('ami-0aaaaaaaaaaaaaaaa', { ExcludeDevices: ['/dev/sdf'] }));
  expect(response.PhysicalResourceId).toBe(AMI);
  expect(ec2).toHaveReceivedCommandWith(CreateImageCommand, { BlockDeviceMappings: [{ DeviceName: '/dev/sdf', NoDevice: '' }] });
});

test('ExcludeDevices is content: a new name, a new image; AttributesVersion is not: the same image', () => {
  expect(imageNameFor({ ...PROPS, ExcludeDevices: ['/dev/sdf'] })).not.toBe(imageNameFor(PROPS));
  expect(needsNewImage(PROPS, { ...PROPS, ExcludeDevices: ['/dev/sdf'] })).toBe(true);
  // A resource made before ExcludeDevices existed keeps its image name: an absent property hashes as before.
  expect(imageNameFor({ ...PROPS, ExcludeDevices: undefined })).toBe(imageNameFor(PROPS));
  expect(needsNewImage(PROPS, { ...PROPS, AttributesVersion: '2' })).toBe(false);
});

test('an Update that only adds AttributesVersion (an upgrade) keeps the image: no CreateImage', async () => {
  const response = await onEvent(updateEvent('ami-0aaaaaaaaaaaaaaaa', { AttributesVersion: '2' }));
  expect(response).toEqual({ PhysicalResourceId: 'ami-0aaaaaaaaaaaaaaaa', RequestedAt: expect.any(String) });
  expect(ec2).not.toHaveReceivedCommand(CreateImageCommand);
});
