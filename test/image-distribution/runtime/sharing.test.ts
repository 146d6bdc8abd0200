/**
 * Revoking a share revokes it everywhere (runtime/sharing.ts): the images
 * keepPrevious keeps get the current launch permissions too, so an account
 * removed from shareWithAccounts can launch no image of the stack.
 */
import { DescribeImageAttributeCommand, DescribeImagesCommand, EC2Client, Image, ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { isDistributionComplete } from '../../../lib/image-distribution/runtime/is-complete';
import { shareKeptImagesAlike, shareKeptLikeCurrent } from '../../../lib/image-distribution/runtime/sharing';
import type { DistributionCompleteRequest } from '../../../lib/image-distribution/runtime/types';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { OWNER } from '../../helpers/event';
import { AMI, COMMON, NAME, ORG, OU, owned, PROPS } from './fixtures';

const ec2 = mockClient(EC2Client);
const KEPT = 'ami-0bbbbbbbbbbbbbbbb';
const KEPT_NAME = 'TestStack-Image-kept';
const OLD_ACCOUNT = '111122223333';
const NEW_ACCOUNT = '444455556666';

function image(id: string, name: string, overrides: Partial<Image> = {}): Image {
  return { ImageId: id, Name: name, State: 'available', ImdsSupport: 'v2.0', Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: name }], ...overrides };
}

const modified = () => ec2.commandCalls(ModifyImageAttributeCommand).map((c) => c.args[0].input);

beforeEach(() => {
  ec2.reset();
  process.env.AWS_REGION = 'us-east-1';
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image(AMI, NAME)] });
  ec2.on(DescribeImagesCommand, owned).resolves({ Images: [image(AMI, NAME), image(KEPT, KEPT_NAME), image('ami-0dddddddddddddddd', 'TestStack-Image-pending', { State: 'pending' })] });
  ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: OLD_ACCOUNT }] });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('an account removed from shareWithAccounts loses its launch permission on the kept image too, and the account added gets it', async () => {
  const event = {
    ...COMMON, RequestType: 'Update', PhysicalResourceId: AMI,
    ResourceProperties: { ...PROPS, ShareWithAccounts: [NEW_ACCOUNT] },
    OldResourceProperties: { ...PROPS, ShareWithAccounts: [OLD_ACCOUNT] },
  } as DistributionCompleteRequest;

  await expect(isDistributionComplete(event)).resolves.toMatchObject({ IsComplete: true });

  const expected = { LaunchPermission: { Add: [{ UserId: NEW_ACCOUNT }], Remove: [{ UserId: OLD_ACCOUNT }] } };
  expect(modified()).toEqual([{ ImageId: AMI, ...expected }, { ImageId: KEPT, ...expected }]);
});

test('sharing turned off altogether: every kept image is private again', async () => {
  await shareKeptImagesAlike(NAME, { ...PROPS }, { ...PROPS, ShareWithAccounts: [OLD_ACCOUNT] });
  expect(modified()).toEqual([{ ImageId: KEPT, LaunchPermission: { Remove: [{ UserId: OLD_ACCOUNT }] } }]);
});

test('neither wanted now nor before: no image is listed, nothing is called', async () => {
  await shareKeptImagesAlike(NAME, { ...PROPS }, { ...PROPS });
  await shareKeptImagesAlike(NAME, { ...PROPS }, undefined);
  expect(ec2.calls()).toHaveLength(0);
});

test('the copies regions are looked at too, with a client of each region', async () => {
  const regions: string[] = [];
  ec2.on(DescribeImagesCommand, owned).callsFake(async (_input, getClient) => {
    regions.push(await getClient().config.region());
    return { Images: [] };
  });
  await shareKeptImagesAlike(NAME, { ...PROPS, ShareWithAccounts: [NEW_ACCOUNT], CopyToRegions: ['eu-west-1', 'ap-south-1'] }, undefined);
  expect(regions).toEqual(['us-east-1', 'eu-west-1', 'ap-south-1']);
});

test('an Update to a new image leaves the kept images alone (its rollback sends no request that would put them back)', async () => {
  const event = {
    ...COMMON, RequestType: 'Update', PhysicalResourceId: KEPT,
    ResourceProperties: { ...PROPS, ShareWithAccounts: [NEW_ACCOUNT] },
    OldResourceProperties: { ...PROPS, ImageId: KEPT, ShareWithAccounts: [OLD_ACCOUNT] },
  } as DistributionCompleteRequest;
  ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] });

  await expect(isDistributionComplete(event)).resolves.toMatchObject({ IsComplete: true });

  expect(modified()).toEqual([{ ImageId: AMI, LaunchPermission: { Add: [{ UserId: NEW_ACCOUNT }] } }]);
});

test('the cleanup after it succeeded: the kept images follow the launch permissions the current image has now', async () => {
  ec2.on(DescribeImageAttributeCommand, { ImageId: AMI }).resolves({ LaunchPermissions: [{ UserId: NEW_ACCOUNT }] });
  ec2.on(DescribeImageAttributeCommand, { ImageId: KEPT }).resolves({ LaunchPermissions: [{ UserId: OLD_ACCOUNT }] });
  const cleanup = {
    ...COMMON, RequestType: 'Delete', PhysicalResourceId: KEPT,
    ResourceProperties: { ...PROPS, ImageId: KEPT, ShareWithAccounts: [OLD_ACCOUNT] },
    KeptImageNames: [NAME, KEPT_NAME], ResourceDeleted: false, SweepRegions: [], CurrentImageId: AMI,
  } as DistributionCompleteRequest;

  await expect(isDistributionComplete(cleanup)).resolves.toEqual({ IsComplete: true });

  expect(modified()).toEqual([{ ImageId: KEPT, LaunchPermission: { Add: [{ UserId: NEW_ACCOUNT }], Remove: [{ UserId: OLD_ACCOUNT }] } }]);
});

test('an Update to an image made before (a revert) that shares nothing now: the launch permissions it still has from before are removed', async () => {
  const event = {
    ...COMMON, RequestType: 'Update', PhysicalResourceId: KEPT,
    ResourceProperties: { ...PROPS },
    OldResourceProperties: { ...PROPS, ImageId: KEPT, ShareWithAccounts: [OLD_ACCOUNT] },
  } as DistributionCompleteRequest;

  await expect(isDistributionComplete(event)).resolves.toMatchObject({ IsComplete: true });

  expect(modified()).toEqual([{ ImageId: AMI, LaunchPermission: { Remove: [{ UserId: OLD_ACCOUNT }] } }]);
});

describe('shareKeptLikeCurrent (the cleanup\'s Delete carries the old properties)', () => {

  test('reads the current image\'s launchPermission attribute: its organizations and OUs, and no account, are what the kept images get', async () => {
    ec2.on(DescribeImageAttributeCommand, { ImageId: AMI, Attribute: 'launchPermission' }).resolves({ LaunchPermissions: [{ OrganizationArn: ORG }, { OrganizationalUnitArn: OU }] });
    ec2.on(DescribeImageAttributeCommand, { ImageId: KEPT }).resolves({ LaunchPermissions: [{ UserId: OLD_ACCOUNT }] });

    await shareKeptLikeCurrent(AMI, { ...PROPS, ImageId: KEPT, ShareWithAccounts: [OLD_ACCOUNT] });

    expect(ec2).toHaveReceivedCommandWith(DescribeImageAttributeCommand, { ImageId: AMI, Attribute: 'launchPermission' });
    expect(modified()).toEqual([{ ImageId: KEPT, LaunchPermission: { Add: [{ OrganizationArn: ORG }, { OrganizationalUnitArn: OU }], Remove: [{ UserId: OLD_ACCOUNT }] } }]);
  });

  test('the current image shared with accounts only: the kept images get those accounts and lose the organization of before', async () => {
    ec2.on(DescribeImageAttributeCommand, { ImageId: AMI, Attribute: 'launchPermission' }).resolves({ LaunchPermissions: [{ UserId: NEW_ACCOUNT }] });
    ec2.on(DescribeImageAttributeCommand, { ImageId: KEPT }).resolves({ LaunchPermissions: [{ OrganizationArn: ORG }] });

    await shareKeptLikeCurrent(AMI, { ...PROPS, ImageId: KEPT, ShareWithOrganizationArns: [ORG] });

    expect(modified()).toEqual([{ ImageId: KEPT, LaunchPermission: { Add: [{ UserId: NEW_ACCOUNT }], Remove: [{ OrganizationArn: ORG }] } }]);
  });

  test('the current image private (EC2 lists no launch permission at all): the kept images are made private too', async () => {
    ec2.on(DescribeImageAttributeCommand, { ImageId: AMI, Attribute: 'launchPermission' }).resolves({});
    ec2.on(DescribeImageAttributeCommand, { ImageId: KEPT }).resolves({ LaunchPermissions: [{ UserId: OLD_ACCOUNT }] });

    await shareKeptLikeCurrent(AMI, { ...PROPS, ImageId: KEPT, ShareWithAccounts: [OLD_ACCOUNT] });

    expect(modified()).toEqual([{ ImageId: KEPT, LaunchPermission: { Remove: [{ UserId: OLD_ACCOUNT }] } }]);
  });

  test('the current image gone (or nameless): nothing is read or changed', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [] });
    await expect(shareKeptLikeCurrent(AMI, { ...PROPS, ImageId: KEPT, ShareWithAccounts: [OLD_ACCOUNT] })).resolves.toBeUndefined();
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [{ ImageId: AMI, State: 'available' }] });
    await expect(shareKeptLikeCurrent(AMI, { ...PROPS, ImageId: KEPT, ShareWithAccounts: [OLD_ACCOUNT] })).resolves.toBeUndefined();
    expect(ec2).not.toHaveReceivedCommand(DescribeImageAttributeCommand);
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });
});
