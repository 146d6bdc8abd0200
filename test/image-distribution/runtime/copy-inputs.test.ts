/**
 * What the distribution sends EC2 when EC2's answers are sparse or the request is at an edge: launch permissions
 * keyed by kind and value, an image without tags, a key given by id, a copy failed without a reason, regions added
 * to the copy-regions record, and the sweep's lookups.
 */
import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  Image,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { applyLaunchPermissions, ensureCopies, sweepCopies } from '../../../lib/image-distribution/runtime/copies';
import { COPY_REGIONS_TAG, IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { OWNER } from '../../helpers/event';
import { AMI, byName, NAME, ORG, OU, owned, PROPS, TAGS } from './fixtures';

const ec2 = mockClient(EC2Client);
const OTHER_ORG = 'arn:aws:organizations::123456789012:organization/o-klmnopqrst';
const OTHER_OU = 'arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-cd34-efghij56';
const SNAPSHOT = 'snap-0aaaaaaaaaaaaaaaa';

const image = (overrides: Partial<Image> = {}): Image => ({ ImageId: AMI, Name: NAME, State: 'available', Tags: TAGS, ...overrides });
const modified = () => ec2.commandCalls(ModifyImageAttributeCommand).map((c) => c.args[0].input.LaunchPermission);
const copied = () => ec2.commandCalls(CopyImageCommand).map((c) => c.args[0].input);

beforeEach(() => {
  ec2.reset();
  process.env.AWS_REGION = 'us-east-1';
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0cccccccccccccccc' });
});
afterEach(() => jest.restoreAllMocks());

describe('launch permissions', () => {
  test.each([
    ['organization', { OrganizationArn: ORG }, OTHER_ORG, { OrganizationArn: OTHER_ORG }],
    ['OU', { OrganizationalUnitArn: OU }, OTHER_OU, { OrganizationalUnitArn: OTHER_OU }],
  ])('shared with one %s, wanted with another: the other is added and the first removed', async (_kind, had, wanted, added) => {
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [had] });
    await applyLaunchPermissions(image(), { ...PROPS, ShareWithOrganizationArns: [wanted] });
    expect(modified()).toEqual([{ Add: [added], Remove: [had] }]);
  });

  test('EC2 lists no launch permission at all: the wanted ones are added, nothing is removed', async () => {
    ec2.on(DescribeImageAttributeCommand).resolves({});
    await applyLaunchPermissions(image(), { ...PROPS, ShareWithAccounts: ['111122223333'] });
    expect(modified()).toEqual([{ Add: [{ UserId: '111122223333' }] }]);
  });
});

describe('ensureCopies', () => {
  test('a region added to those already recorded on the image: the record gets both', async () => {
    const source = image({ Tags: [...TAGS, { Key: COPY_REGIONS_TAG, Value: 'eu-west-1' }] });
    await ensureCopies(source, { ...PROPS, CopyToRegions: ['eu-west-1', 'eu-central-1'] }, undefined, 'request-1');
    expect(ec2).toHaveReceivedCommandWith(CreateTagsCommand, { Resources: [AMI], Tags: [{ Key: COPY_REGIONS_TAG, Value: 'eu-central-1,eu-west-1' }] });
  });

  test('a source image without tags: its copy is made with none', async () => {
    await ensureCopies(image({ Tags: undefined }), { ...PROPS, CopyToRegions: ['eu-west-1'] }, undefined, 'request-1');
    expect(copied()).toEqual([expect.objectContaining({
      TagSpecifications: [{ ResourceType: 'image', Tags: [] }, { ResourceType: 'snapshot', Tags: [] }],
    })]);
  });

  test('a key given by id (a parameter synth cannot check), not by ARN: CopyImage gets it as given', async () => {
    const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
    await ensureCopies(image(), { ...PROPS, CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: keyId }, undefined, 'request-1');
    expect(copied()).toEqual([expect.objectContaining({ Encrypted: true, KmsKeyId: keyId })]);
  });

  test('a copy failed without a reason from EC2: the error says EC2 gave none', async () => {
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [image({ ImageId: 'ami-0cccccccccccccccc', State: 'failed' })] });
    await expect(ensureCopies(image(), { ...PROPS, CopyToRegions: ['eu-west-1'] }, undefined, 'request-1'))
      .rejects.toThrow(`Copy ami-0cccccccccccccccc of ${AMI} to eu-west-1 is failed: EC2 gave no reason`);
  });
});

describe('sweepCopies', () => {
  const snapshot = (tags: Array<{ Key: string; Value: string }>) => ({ SnapshotId: SNAPSHOT, Tags: tags });

  test('EC2 answers without a snapshot list: nothing more is asked or deleted', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({});
    await expect(sweepCopies(OWNER, 'eu-west-1', () => false)).resolves.toBe(true);
    expect(ec2).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    expect(ec2).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  test('the images using the snapshots are looked for among this account\'s, disabled ones too; none listed: the snapshot goes', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot([{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: 'TestStack-Image-old' }])] });
    ec2.on(DescribeImagesCommand, owned).resolves({ Images: [] });
    await expect(sweepCopies(OWNER, 'eu-west-1', () => false)).resolves.toBe(true);
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, {
      Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [SNAPSHOT] }],
    });
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: SNAPSHOT });
  });

  test('a snapshot carrying the owner tag but no image name, no image using it: it goes (no kept name is empty)', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot([{ Key: OWNER_TAG, Value: OWNER }])] });
    ec2.on(DescribeImagesCommand, { Owners: ['self'], IncludeDisabled: true, Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [SNAPSHOT] }] }).resolves({});
    await expect(sweepCopies(OWNER, 'eu-west-1', (name) => name === NAME)).resolves.toBe(true);
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: SNAPSHOT });
  });
});
