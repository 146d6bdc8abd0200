/**
 * startImage after `InvalidAMIName.Duplicate`: DescribeImages is eventually
 * consistent, so the image holding the name is looked up again with a backoff
 * rather than at once; and an image of that name made by someone else is
 * refused with a message CloudFormation shows as it is.
 */
import { CreateImageCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DUPLICATE_LOOKUP_DELAYS_MS, startImage } from '../../../lib/instance-image/runtime/create';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { ec2Error, OWNER, PROPS } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const NAME = imageNameFor(PROPS);
const AMI = 'ami-0aaaaaaaaaaaaaaaa';

beforeEach(() => {
  ec2.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
  ec2.on(CreateImageCommand).rejects(ec2Error('InvalidAMIName.Duplicate'));
});
afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

test('the name lookups after InvalidAMIName.Duplicate are spaced 0.5, 1, 2 and 4 seconds apart', async () => {
  const start = Date.now();
  const lookedUpAt: number[] = [];
  ec2.on(DescribeImagesCommand).callsFake(() => {
    lookedUpAt.push(Date.now() - start);
    return { Images: [] };
  });

  const started = startImage(PROPS, NAME);
  await jest.advanceTimersByTimeAsync(499);
  expect(lookedUpAt).toEqual([0]);
  await jest.advanceTimersByTimeAsync(10_000);

  await expect(started).resolves.toBeUndefined();
  expect(DUPLICATE_LOOKUP_DELAYS_MS).toEqual([500, 1000, 2000, 4000]);
  expect(lookedUpAt).toEqual([0, 500, 1500, 3500, 7500]);
});

test('the image found on a later lookup is adopted; no lookup follows it', async () => {
  ec2.on(DescribeImagesCommand)
    .resolvesOnce({ Images: [] })
    .resolves({ Images: [{ ImageId: AMI, Name: NAME, State: 'pending', Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }] }] });

  const started = startImage(PROPS, NAME);
  await jest.advanceTimersByTimeAsync(10_000);

  await expect(started).resolves.toEqual({ imageId: AMI, created: false });
  expect(ec2).toHaveReceivedCommandTimes(DescribeImagesCommand, 2);
});

test('an image of that name made by someone else: the deploy fails, saying how to get out of it', async () => {
  ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: AMI, Name: NAME, State: 'available', Tags: [{ Key: OWNER_TAG, Value: 'Other/Image' }] }] });

  const started = startImage(PROPS, NAME);
  const failed = expect(started).rejects.toThrow(
    `An image named "${NAME}" already exists (${AMI}) and was not made by ${OWNER}: deregister it, or set rebuildToken to make an image with another name`,
  );
  await jest.advanceTimersByTimeAsync(10_000);
  await failed;
});
