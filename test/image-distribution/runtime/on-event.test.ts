import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeImagesCommand, EC2Client, Image } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { onDistributionEvent } from '../../../lib/image-distribution/runtime/on-event';
import type { DistributionEvent } from '../../../lib/image-distribution/runtime/types';
import { DISTRIBUTION_RESOURCE_TYPE, DistributionResourceProperties } from '../../../lib/image-distribution/shared';
import { COPY_REGIONS_TAG, IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { OWNER, stackStatus } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const cloudformation = mockClient(CloudFormationClient);

const OLDER = 'ami-0111111111111111a';
const PREVIOUS = 'ami-0222222222222222b';
const CURRENT = 'ami-0333333333333333c';
const NAMES: Record<string, string> = { [OLDER]: 'TestStack-Image-older', [PREVIOUS]: 'TestStack-Image-previous', [CURRENT]: 'TestStack-Image-current' };
const CREATED: Record<string, string> = { [OLDER]: '2026-01-01T00:00:00.000Z', [PREVIOUS]: '2026-02-01T00:00:00.000Z', [CURRENT]: '2026-03-01T00:00:00.000Z' };
const MRK = 'arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef';
const OTHER_MRK = 'arn:aws:kms:us-east-1:123456789012:key/mrk-fedcba9876543210fedcba9876543210';
const STACK_ID = 'arn:aws:cloudformation:us-east-1:111111111111:stack/TestStack/guid';

type Overrides = Partial<DistributionResourceProperties>;
const PROPS = { ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:framework-onEvent', ImageId: CURRENT, Owner: OWNER, RemovalPolicy: 'destroy' as const };
const COMMON = {
  ServiceToken: PROPS.ServiceToken,
  ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/SECRET-PRESIGNED',
  StackId: STACK_ID,
  RequestId: 'request-1',
  LogicalResourceId: 'Distribution',
  ResourceType: DISTRIBUTION_RESOURCE_TYPE,
};

function createEvent(props: Overrides = {}): DistributionEvent {
  return { ...COMMON, RequestType: 'Create', ResourceProperties: { ...PROPS, ...props } };
}

function updateEvent(physicalResourceId: string, props: Overrides = {}, oldProps: Overrides = {}): DistributionEvent {
  return {
    ...COMMON, RequestType: 'Update', PhysicalResourceId: physicalResourceId,
    ResourceProperties: { ...PROPS, ...props }, OldResourceProperties: { ...PROPS, ...oldProps },
  };
}

function deleteEvent(physicalResourceId: string, props: Overrides = {}): DistributionEvent {
  return { ...COMMON, RequestType: 'Delete', PhysicalResourceId: physicalResourceId, ResourceProperties: { ...PROPS, ImageId: physicalResourceId, ...props } };
}

function image(id: string): Image {
  return { ImageId: id, Name: NAMES[id], State: 'available', CreationDate: CREATED[id], Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAMES[id] }] };
}

/** The images of the resource in the home region, and what CloudFormation records for the logical resource now. */
function given(ownedIds: string[], recorded: string | 'gone') {
  ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }] }).resolves({ Images: ownedIds.map(image) });
  for (const id of ownedIds) ec2.on(DescribeImagesCommand, { ImageIds: [id] }).resolves({ Images: [image(id)] });
  if (recorded === 'gone') {
    cloudformation.on(DescribeStackResourceCommand).rejects(Object.assign(
      new Error(`Resource Distribution does not exist for stack ${STACK_ID}`), { name: 'ValidationError' }));
  } else {
    cloudformation.on(DescribeStackResourceCommand).resolves({ StackResourceDetail: { PhysicalResourceId: recorded } as never });
  }
}

beforeEach(() => {
  ec2.reset();
  cloudformation.reset();
  cloudformation.on(DescribeStacksCommand).resolves(stackStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'));
  process.env.AWS_REGION = 'us-east-1';
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
});
afterEach(() => jest.restoreAllMocks());

describe('Create and Update', () => {
  test('Create: the physical id is the image id, and nothing is called yet', async () => {
    await expect(onDistributionEvent(createEvent({ CopyToRegions: ['eu-west-1'], ShareWithAccounts: ['111122223333'] })))
      .resolves.toEqual({ PhysicalResourceId: CURRENT, RequestedAt: expect.any(String) });
    expect(ec2.calls()).toHaveLength(0);
    expect(cloudformation.calls()).toHaveLength(0);
  });

  test('Update of the settings of the same image keeps the physical id', async () => {
    await expect(onDistributionEvent(updateEvent(CURRENT, { ShareWithAccounts: ['111122223333'], CopyToRegions: ['eu-west-1'] }, { CopyToRegions: ['ap-south-1'] })))
      .resolves.toEqual({ PhysicalResourceId: CURRENT, RequestedAt: expect.any(String) });
  });

  test('Update to a new image: the new image id is the new physical id (CloudFormation deletes the old distribution)', async () => {
    await expect(onDistributionEvent(updateEvent(PREVIOUS, { ImageId: CURRENT }, { ImageId: PREVIOUS })))
      .resolves.toEqual({ PhysicalResourceId: CURRENT, RequestedAt: expect.any(String) });
  });

  test.each([
    ['Create', () => createEvent({ CopyToRegions: ['eu-west-1', 'us-east-1'] })],
    ['Update', () => updateEvent(CURRENT, { CopyToRegions: ['us-east-1'] })],
  ])('%s: a copy into the stack\'s own region is refused', async (_type, event) => {
    await expect(onDistributionEvent(event())).rejects.toThrow('copyToRegions must not include the stack\'s own region "us-east-1"');
  });

  test('a changed copyKmsKeyArn for the same image is refused: its copies keep their key', async () => {
    const event = updateEvent(CURRENT, { CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: OTHER_MRK }, { CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: MRK });
    await expect(onDistributionEvent(event)).rejects.toThrow(/copyKmsKeyArn changed from ".*mrk-0123.*" to ".*mrk-fedc.*" for the same image ami-0333333333333333c.*rebuildToken/);
  });

  test('a key added to copies made without one is refused too', async () => {
    const event = updateEvent(CURRENT, { CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: MRK }, { CopyToRegions: ['eu-west-1'] });
    await expect(onDistributionEvent(event)).rejects.toThrow(/copyKmsKeyArn changed from "none"/);
  });

  test('a changed copyKmsKeyArn with a new image is a new distribution: accepted', async () => {
    const event = updateEvent(PREVIOUS, { ImageId: CURRENT, CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: OTHER_MRK }, { ImageId: PREVIOUS, CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: MRK });
    await expect(onDistributionEvent(event)).resolves.toEqual({ PhysicalResourceId: CURRENT, RequestedAt: expect.any(String) });
  });

  test('copies and their key removed together: accepted (no copy keeps the old key)', async () => {
    const event = updateEvent(CURRENT, {}, { CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: MRK });
    await expect(onDistributionEvent(event)).resolves.toEqual({ PhysicalResourceId: CURRENT, RequestedAt: expect.any(String) });
  });

  test('a key set while there were no copies yet is accepted', async () => {
    const event = updateEvent(CURRENT, { CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: MRK }, {});
    await expect(onDistributionEvent(event)).resolves.toEqual({ PhysicalResourceId: CURRENT, RequestedAt: expect.any(String) });
  });
});

describe('Delete', () => {
  test('removal policy retain after an update: no image is looked at, nothing is to be swept; the retained image follows the current one\'s sharing', async () => {
    given([PREVIOUS, CURRENT], CURRENT);
    await expect(onDistributionEvent(deleteEvent(PREVIOUS, { RemovalPolicy: 'retain', CopyToRegions: ['eu-west-1'] })))
      .resolves.toEqual({ PhysicalResourceId: PREVIOUS, CurrentImageId: CURRENT });
    expect(ec2.calls()).toHaveLength(0);
  });

  test('removal policy retain, the resource deleted: nothing at all', async () => {
    given([CURRENT], CURRENT);
    await expect(onDistributionEvent(deleteEvent(CURRENT, { RemovalPolicy: 'retain', CopyToRegions: ['eu-west-1'] })))
      .resolves.toEqual({ PhysicalResourceId: CURRENT });
    expect(ec2.calls()).toHaveLength(0);
  });

  test('removal policy retain in a rollback\'s cleanup: the copies of the image the failed update made go all the same', async () => {
    given([PREVIOUS, CURRENT], PREVIOUS);
    cloudformation.on(DescribeStacksCommand).resolves(stackStatus('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'));
    await expect(onDistributionEvent(deleteEvent(CURRENT, { RemovalPolicy: 'retain', CopyToRegions: ['eu-west-1'] })))
      .resolves.toMatchObject({ KeptImageNames: [NAMES[PREVIOUS]], ResourceDeleted: false, SweepRegions: ['eu-west-1'] });
  });

  test('cleanup after a replacement with KeepPrevious 1: the current and the kept previous image\'s copies stay', async () => {
    given([OLDER, PREVIOUS, CURRENT], CURRENT);

    const response = await onDistributionEvent(deleteEvent(PREVIOUS, { KeepPrevious: '1', CopyToRegions: ['eu-west-1', 'ap-south-1'] }));

    expect(response).toEqual({
      PhysicalResourceId: PREVIOUS,
      KeptImageNames: [NAMES[CURRENT], NAMES[PREVIOUS]],
      ResourceDeleted: false,
      SweepRegions: ['eu-west-1', 'ap-south-1'],
      // The kept images follow the current image's sharing (the Delete carries the old properties).
      CurrentImageId: CURRENT,
    });
    expect(cloudformation).toHaveReceivedCommandWith(DescribeStackResourceCommand, { StackName: STACK_ID, LogicalResourceId: 'Distribution' });
  });

  test('the regions recorded on the images (COPY_REGIONS_TAG) are swept too, once each, after those of the properties', async () => {
    // A rollback's cleanup or the stack delete may come with properties that no longer name a region copies were made in.
    ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }] }).resolves({ Images: [
      { ...image(PREVIOUS), Tags: [...image(PREVIOUS).Tags!, { Key: COPY_REGIONS_TAG, Value: 'ap-south-1,eu-west-1' }] },
      { ...image(CURRENT), Tags: [...image(CURRENT).Tags!, { Key: COPY_REGIONS_TAG, Value: 'eu-central-1' }] },
    ] });
    cloudformation.on(DescribeStackResourceCommand).rejects(Object.assign(
      new Error(`Resource Distribution does not exist for stack ${STACK_ID}`), { name: 'ValidationError' }));

    const response = await onDistributionEvent(deleteEvent(CURRENT, { CopyToRegions: ['eu-west-1'] }));

    expect(response).toMatchObject({ ResourceDeleted: true });
    const regions = (response as { SweepRegions: string[] }).SweepRegions;
    expect(regions[0]).toBe('eu-west-1');
    expect([...regions].sort()).toEqual(['ap-south-1', 'eu-central-1', 'eu-west-1']);
  });

  test('cleanup after a replacement without KeepPrevious: only the current image\'s copies stay', async () => {
    given([PREVIOUS, CURRENT], CURRENT);
    await expect(onDistributionEvent(deleteEvent(PREVIOUS, { CopyToRegions: ['eu-west-1'] })))
      .resolves.toMatchObject({ KeptImageNames: [NAMES[CURRENT]], ResourceDeleted: false, SweepRegions: ['eu-west-1'] });
  });

  test('cleanup after a rollback: the newer image deleted is not kept, the one gone back to and its previous are', async () => {
    given([OLDER, PREVIOUS, CURRENT], PREVIOUS);
    cloudformation.on(DescribeStacksCommand).resolves(stackStatus('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'));
    const response = await onDistributionEvent(deleteEvent(CURRENT, { KeepPrevious: '1', CopyToRegions: ['eu-west-1'] }));
    expect(response).toMatchObject({ KeptImageNames: [NAMES[PREVIOUS], NAMES[OLDER]], ResourceDeleted: false });
  });

  test('cleanup after a user\'s revert to the older image: the copies of the image it replaced stay, as the newest previous one', async () => {
    given([OLDER, PREVIOUS, CURRENT], PREVIOUS);
    const response = await onDistributionEvent(deleteEvent(CURRENT, { KeepPrevious: '1', CopyToRegions: ['eu-west-1'] }));
    expect(response).toMatchObject({ KeptImageNames: [NAMES[CURRENT], NAMES[PREVIOUS]], ResourceDeleted: false });
  });

  test.each([
    ['CloudFormation records this very id', CURRENT],
    ['CloudFormation no longer knows the resource', 'gone'],
  ])('the resource itself is deleted (%s): ResourceDeleted, no name kept', async (_case, recorded) => {
    given([PREVIOUS, CURRENT], recorded);

    const response = await onDistributionEvent(deleteEvent(CURRENT, { KeepPrevious: '1', CopyToRegions: ['eu-west-1'] }));

    expect(response).toEqual({ PhysicalResourceId: CURRENT, KeptImageNames: [], ResourceDeleted: true, SweepRegions: ['eu-west-1'] });
  });

  test('any other CloudFormation error fails the Delete: nothing is removed on a guess', async () => {
    cloudformation.on(DescribeStackResourceCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    await expect(onDistributionEvent(deleteEvent(PREVIOUS, { CopyToRegions: ['eu-west-1'] }))).rejects.toThrow('Rate exceeded');
  });

  describe('the copies\' starter (waits over an hour)', () => {
    const STARTER = { StartOnly: 'true' as const, CopyToRegions: ['eu-west-1'], DistributionLogicalId: 'Distribution' };
    const proper = (recorded: string | 'gone') => {
      const answer = recorded === 'gone'
        ? cloudformation.on(DescribeStackResourceCommand, { LogicalResourceId: 'Distribution' })
          .rejects(Object.assign(new Error(`Resource Distribution does not exist for stack ${STACK_ID}`), { name: 'ValidationError' }))
        : cloudformation.on(DescribeStackResourceCommand, { LogicalResourceId: 'Distribution' }).resolves({ StackResourceDetail: { PhysicalResourceId: recorded } as never });
      return answer;
    };

    test('removed from the template while the distribution proper keeps this image (timeoutMinutes back to 55 or less): removes nothing', async () => {
      given([PREVIOUS, CURRENT], 'gone');
      proper(CURRENT);
      const response = await onDistributionEvent({ ...deleteEvent(CURRENT, STARTER), LogicalResourceId: 'DistributionCopiesStarted' });
      expect(response).toEqual({ PhysicalResourceId: CURRENT, ResourceDeleted: false, SweepRegions: [] });
      expect(cloudformation).toHaveReceivedCommandWith(DescribeStackResourceCommand, { StackName: STACK_ID, LogicalResourceId: 'Distribution' });
    });

    test('removed from the template in the update that gave the proper a new image: removes and un-shares nothing (the proper\'s Delete of this image decides)', async () => {
      // Found by the sequences' random property: 600 → 45 minutes with a new image, keepPrevious 2; the starter's Delete
      // counted as its own deletion and made the kept previous image private.
      given([PREVIOUS, CURRENT], PREVIOUS);
      proper(CURRENT);
      const response = await onDistributionEvent({ ...deleteEvent(PREVIOUS, { ...STARTER, KeepPrevious: '2' }), LogicalResourceId: 'DistributionCopiesStarted' });
      expect(response).toEqual({ PhysicalResourceId: PREVIOUS, ResourceDeleted: false, SweepRegions: [] });
      expect(cloudformation).toHaveReceivedCommandWith(DescribeStackResourceCommand, { StackName: STACK_ID, LogicalResourceId: 'DistributionCopiesStarted' });
      expect(ec2.calls()).toHaveLength(0);
    });

    test('the rollback of a first deploy, with no distribution proper: its copies go', async () => {
      given([CURRENT], 'gone');
      proper('gone');
      const response = await onDistributionEvent({ ...deleteEvent(CURRENT, STARTER), LogicalResourceId: 'DistributionCopiesStarted' });
      expect(response).toMatchObject({ ResourceDeleted: true, SweepRegions: ['eu-west-1'] });
    });

    test('the proper no longer recorded (deleted first) while the starter still is: the starter\'s Delete goes on as the distribution\'s', async () => {
      given([CURRENT], CURRENT);
      proper('gone');
      const response = await onDistributionEvent({ ...deleteEvent(CURRENT, STARTER), LogicalResourceId: 'DistributionCopiesStarted' });
      expect(response).toEqual({ PhysicalResourceId: CURRENT, KeptImageNames: [], ResourceDeleted: true, SweepRegions: ['eu-west-1'] });
    });

    test('a replaced image\'s starter, the proper now distributing the new one: the same decision as the proper\'s', async () => {
      given([PREVIOUS, CURRENT], CURRENT);
      proper(CURRENT);
      const response = await onDistributionEvent({ ...deleteEvent(PREVIOUS, { ...STARTER, KeepPrevious: '1' }), LogicalResourceId: 'DistributionCopiesStarted' });
      expect(response).toMatchObject({ ResourceDeleted: false, KeptImageNames: [NAMES[CURRENT], NAMES[PREVIOUS]], SweepRegions: ['eu-west-1'] });
    });
  });

  test('without copy regions there is nothing to sweep', async () => {
    given([CURRENT], CURRENT);
    await expect(onDistributionEvent(deleteEvent(CURRENT))).resolves.toMatchObject({ SweepRegions: [], ResourceDeleted: true });
  });
});
