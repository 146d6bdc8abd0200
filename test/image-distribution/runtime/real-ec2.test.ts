/**
 * What real EC2 does to the copies and moto did not (issue #10): client tokens
 * answered forever (even once that copy is deregistered), just-deregistered
 * copies still listed, and disabled copies hidden unless asked for.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  CopyImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  Image,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { copyClientToken, sweepCopies } from '../../../lib/image-distribution/runtime/copies';
import { isDistributionComplete } from '../../../lib/image-distribution/runtime/is-complete';
import type { DistributionCompleteRequest } from '../../../lib/image-distribution/runtime/types';
import type { DistributionResourceProperties } from '../../../lib/image-distribution/shared';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { OWNER } from '../../helpers/event';
import { AMI, byName, COMMON, NAME, OLD_NAME, owned, PROPS, TAGS } from './fixtures';

const ec2 = mockClient(EC2Client);
const cloudformation = mockClient(CloudFormationClient);
const COPY = 'ami-0cccccccccccccccc';
const SNAP = 'snap-0cccccccccccccccc';
const bySnapshot = { Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [SNAP] }] };

const REQUEST = { ...COMMON, PhysicalResourceId: AMI };

function createEvent(props: Partial<DistributionResourceProperties> = {}): DistributionCompleteRequest {
  return { ...REQUEST, RequestType: 'Create', ResourceProperties: { ...PROPS, ...props } };
}

function updateEvent(props: Partial<DistributionResourceProperties>, oldProps: Partial<DistributionResourceProperties>, requestId: string): DistributionCompleteRequest {
  return { ...REQUEST, RequestId: requestId, RequestType: 'Update', ResourceProperties: { ...PROPS, ...props }, OldResourceProperties: { ...PROPS, ...oldProps } };
}

function image(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: AMI, Name: NAME, State: 'available', ImdsSupport: 'v2.0', Tags: TAGS,
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' } }],
    ...overrides,
  };
}

beforeEach(() => {
  ec2.reset();
  cloudformation.reset();
  process.env.AWS_REGION = 'us-east-1';
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0dddddddddddddddd' });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('a just-deregistered copy, still listed as deregistered, is gone', () => {
  test('a copy region whose copy is listed as deregistered gets a new copy', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image({ ImageId: COPY, State: 'deregistered' })] });

    await expect(isDistributionComplete(createEvent({ CopyToRegions: ['eu-west-1'] }))).resolves.toEqual({ IsComplete: false });

    expect(ec2).toHaveReceivedCommandTimes(CopyImageCommand, 1);
  });

  test('the sweep does not deregister it again, and deletes the snapshot it no longer holds', async () => {
    ec2.on(DescribeImagesCommand, owned).resolves({ Images: [image({ ImageId: COPY, Name: OLD_NAME, State: 'deregistered' })] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: SNAP, Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: OLD_NAME }] }] });
    ec2.on(DescribeImagesCommand, bySnapshot).resolves({ Images: [image({ ImageId: COPY, Name: OLD_NAME, State: 'deregistered', BlockDeviceMappings: [{ Ebs: { SnapshotId: SNAP } }] })] });

    await expect(sweepCopies(OWNER, 'eu-west-1', (name) => name === NAME)).resolves.toBe(true);

    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: SNAP });
  });
});

describe('a disabled copy (hidden by DescribeImages unless IncludeDisabled)', () => {
  test('is found by the sweep and deregistered', async () => {
    ec2.on(DescribeImagesCommand, { ...owned, IncludeDisabled: true }).resolves({ Images: [image({ ImageId: COPY, Name: OLD_NAME, State: 'disabled' })] });

    await sweepCopies(OWNER, 'eu-west-1', (name) => name === NAME);

    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: COPY });
  });

  test('holds its snapshots: a snapshot a disabled image uses is never deleted', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: SNAP, Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: OLD_NAME }] }] });
    ec2.on(DescribeImagesCommand, { ...bySnapshot, IncludeDisabled: true })
      .resolves({ Images: [image({ ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'disabled', BlockDeviceMappings: [{ Ebs: { SnapshotId: SNAP } }] })] });

    await expect(sweepCopies(OWNER, 'eu-west-1', (name) => name === NAME)).resolves.toBe(true);

    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  test('is found by name, so no second copy is started next to it', async () => {
    ec2.on(DescribeImagesCommand, { ...byName(NAME), IncludeDisabled: true }).resolves({ Images: [image({ ImageId: COPY, State: 'disabled' })] });

    await expect(isDistributionComplete(createEvent({ CopyToRegions: ['eu-west-1'] }))).rejects.toThrow(`Copy ${COPY} of ${AMI} to eu-west-1 is disabled`);

    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
  });
});

describe('CopyImage client token', () => {
  test('the same for every poll of one request, different for another request and region', () => {
    const token = copyClientToken(AMI, 'eu-west-1', 'request-1');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(copyClientToken(AMI, 'eu-west-1', 'request-1')).toBe(token);
    expect(copyClientToken(AMI, 'eu-west-1', 'request-2')).not.toBe(token);
    expect(copyClientToken(AMI, 'eu-central-1', 'request-1')).not.toBe(token);
    expect(copyClientToken('ami-0bbbbbbbbbbbbbbbb', 'eu-west-1', 'request-1')).not.toBe(token);
  });

  test('a region added back by a later request is copied with that request\'s token', async () => {
    await isDistributionComplete(updateEvent({ CopyToRegions: ['eu-west-1'] }, {}, 'request-7'));

    expect(ec2).toHaveReceivedCommandWith(CopyImageCommand, { ClientToken: copyClientToken(AMI, 'eu-west-1', 'request-7') });
  });

  test('every poll of one request sends the same token, so a retried poll cannot make a second copy', async () => {
    const event = createEvent({ CopyToRegions: ['eu-west-1'] });
    await isDistributionComplete(event);
    await isDistributionComplete(event);

    const tokens = ec2.commandCalls(CopyImageCommand).map((c) => c.args[0].input.ClientToken);
    expect(tokens).toEqual([copyClientToken(AMI, 'eu-west-1', 'request-1'), copyClientToken(AMI, 'eu-west-1', 'request-1')]);
  });
});
