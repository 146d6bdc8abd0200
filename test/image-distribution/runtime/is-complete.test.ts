import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  CopyImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  Image,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { isDistributionComplete } from '../../../lib/image-distribution/runtime/is-complete';
import type { DistributionCompleteRequest, DistributionEvent, DistributionEventResponse } from '../../../lib/image-distribution/runtime/types';
import type { DistributionResourceProperties } from '../../../lib/image-distribution/shared';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { REQUEST_DEADLINE_SECONDS } from '../../../lib/shared/runtime/deadline';
import { ec2Error, OWNER } from '../../helpers/event';
import { AMI, byName, COMMON, NAME, OLD_NAME, owned, PROPS, TAGS } from './fixtures';

const ec2 = mockClient(EC2Client);
const cloudformation = mockClient(CloudFormationClient);

const PREVIOUS_NAME = 'TestStack-Image-previous';
const EU_COPY = 'ami-0eeeeeeeeeeeeeeee';
const AP_COPY = 'ami-0dddddddddddddddd';

type Overrides = Partial<DistributionResourceProperties>;

function withResponse(request: DistributionEvent, response: Partial<DistributionEventResponse> = {}): DistributionCompleteRequest {
  return { ...request, PhysicalResourceId: request.ResourceProperties.ImageId, ...response } as DistributionCompleteRequest;
}

function createEvent(props: Overrides = {}): DistributionCompleteRequest {
  return withResponse({ ...COMMON, RequestType: 'Create', ResourceProperties: { ...PROPS, ...props } });
}

function updateEvent(props: Overrides = {}, oldProps: Overrides = {}): DistributionCompleteRequest {
  return withResponse({
    ...COMMON, RequestType: 'Update', PhysicalResourceId: oldProps.ImageId ?? AMI,
    ResourceProperties: { ...PROPS, ...props }, OldResourceProperties: { ...PROPS, ...oldProps },
  });
}

function deleteEvent(props: Overrides, response: Partial<DistributionEventResponse>): DistributionCompleteRequest {
  return withResponse({ ...COMMON, RequestType: 'Delete', PhysicalResourceId: AMI, ResourceProperties: { ...PROPS, ...props } }, response);
}

function image(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: AMI, Name: NAME, State: 'available', ImdsSupport: 'v2.0', Tags: TAGS, Description: 'test image',
    CreationDate: '2026-01-01T00:00:00.000Z', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' } }],
    ...overrides,
  };
}

function copy(id: string, overrides: Partial<Image> = {}): Image {
  return image({ ImageId: id, ImdsSupport: undefined, BlockDeviceMappings: [{ Ebs: { SnapshotId: id.replace('ami-', 'snap-') } }], ...overrides });
}

type RegionalClient = () => { config: { region: () => Promise<string> } };

/** DescribeImages answered per region of the client that asks (the home region is us-east-1). */
function imagesPerRegion(answers: Record<string, Image[]>) {
  return async (_input: unknown, getClient: RegionalClient) => ({ Images: answers[await getClient().config.region()] ?? [] });
}

/** The copies EC2 lists in each region, found by name (ensureCopies) and by owner tag (sweepCopies). */
function givenCopies(answers: Record<string, Image[]>) {
  ec2.on(DescribeImagesCommand, byName(NAME)).callsFake(imagesPerRegion(
    Object.fromEntries(Object.entries(answers).map(([region, images]) => [region, images.filter((i) => i.Name === NAME)]))));
  ec2.on(DescribeImagesCommand, owned).callsFake(imagesPerRegion(answers));
}

async function regionOf(call: { thisValue: unknown }): Promise<string> {
  return (call.thisValue as EC2Client).config.region();
}

/** `{ region, input }` of each call of a command, to see which region's client it went to. */
async function callsOf<T>(command: new (input: T) => unknown) {
  const calls = ec2.commandCalls(command as never);
  return Promise.all(calls.map(async (call) => ({ region: await regionOf(call), input: call.args[0].input as Record<string, unknown> })));
}

/** The inputs of the ModifyImageAttribute calls that change launch permissions. */
const launchPermissionCalls = () => ec2.commandCalls(ModifyImageAttributeCommand).map((c) => c.args[0].input).filter((input) => input.LaunchPermission !== undefined);

beforeEach(() => {
  ec2.reset();
  cloudformation.reset();
  process.env.AWS_REGION = 'us-east-1';
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
  ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  ec2.on(CopyImageCommand).callsFake(async (_input: unknown, getClient: RegionalClient) =>
    ({ ImageId: (await getClient().config.region()) === 'eu-west-1' ? EU_COPY : AP_COPY }));
});
afterEach(() => jest.restoreAllMocks());

describe('Create and Update', () => {
  const sharing = { ShareWithAccounts: ['111122223333'], DeprecateAfterDays: '30' };
  const twoRegions = { ...sharing, CopyToRegions: ['eu-west-1', 'ap-south-1'] };

  test.each([
    ['pending', [image({ State: 'pending' })], /Image ami-0a+ is pending: only an available image is distributed/],
    ['gone', [], /Image ami-0a+ is gone/],
  ])('the image must be available (%s): the request fails, nothing is copied', async (_case, images, message) => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: images });
    await expect(isDistributionComplete(createEvent(twoRegions))).rejects.toThrow(message);
    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
  });

  test('copies just started: not complete, and nothing is shared or deprecated yet', async () => {
    await expect(isDistributionComplete(createEvent(twoRegions))).resolves.toEqual({ IsComplete: false });

    expect((await callsOf(CopyImageCommand)).map((c) => c.region)).toEqual(['eu-west-1', 'ap-south-1']);
    expect(launchPermissionCalls()).toHaveLength(0);
    expect(ec2).not.toHaveReceivedCommand(DescribeImageAttributeCommand);
    expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
  });

  test('one copy available, another pending: not complete, and no launch permission on the image or any copy until every copy is available', async () => {
    givenCopies({ 'eu-west-1': [copy(EU_COPY)], 'ap-south-1': [copy(AP_COPY, { State: 'pending' })] });

    await expect(isDistributionComplete(createEvent(twoRegions))).resolves.toEqual({ IsComplete: false });

    expect(launchPermissionCalls()).toHaveLength(0);
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
    expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
  });

  test('every copy available: complete, the image and each copy finished in its own region, and the copies listed', async () => {
    givenCopies({ 'eu-west-1': [copy(EU_COPY)], 'ap-south-1': [copy(AP_COPY)] });

    await expect(isDistributionComplete(createEvent(twoRegions))).resolves.toEqual({
      IsComplete: true,
      Data: { ImageId: AMI, CopiedImageIds: `eu-west-1=${EU_COPY},ap-south-1=${AP_COPY}` },
    });

    const modified = await callsOf(ModifyImageAttributeCommand);
    expect(modified).toEqual(expect.arrayContaining([
      { region: 'us-east-1', input: { ImageId: AMI, LaunchPermission: { Add: [{ UserId: '111122223333' }] } } },
      { region: 'eu-west-1', input: { ImageId: EU_COPY, ImdsSupport: { Value: 'v2.0' } } },
      { region: 'eu-west-1', input: { ImageId: EU_COPY, LaunchPermission: { Add: [{ UserId: '111122223333' }] } } },
      { region: 'ap-south-1', input: { ImageId: AP_COPY, ImdsSupport: { Value: 'v2.0' } } },
      { region: 'ap-south-1', input: { ImageId: AP_COPY, LaunchPermission: { Add: [{ UserId: '111122223333' }] } } },
    ]));
    // The source already requires IMDSv2: no call for it.
    expect(modified).not.toContainEqual(expect.objectContaining({ input: expect.objectContaining({ ImageId: AMI, ImdsSupport: expect.anything() }) }));
    expect((await callsOf(EnableImageDeprecationCommand)).map((c) => [c.region, c.input.ImageId]))
      .toEqual([['us-east-1', AMI], ['eu-west-1', EU_COPY], ['ap-south-1', AP_COPY]]);
  });

  test('an image that does not require IMDSv2 yet is made to', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image({ ImdsSupport: undefined })] });
    await isDistributionComplete(createEvent());
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { ImageId: AMI, ImdsSupport: { Value: 'v2.0' } });
  });

  test('without copy regions: complete at once, with no CopiedImageIds', async () => {
    await expect(isDistributionComplete(createEvent(sharing))).resolves.toEqual({ IsComplete: true, Data: { ImageId: AMI } });
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { ImageId: AMI, LaunchPermission: { Add: [{ UserId: '111122223333' }] } });
    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
  });

  test('a failed copy fails with EC2\'s reason, and this request\'s copy in the other region is deregistered; nothing is shared', async () => {
    const reason = 'Copy failed: the KMS key is disabled';
    givenCopies({
      'eu-west-1': [copy(EU_COPY, { State: 'failed', StateReason: { Code: 'Client.KmsKeyDisabled', Message: reason } })],
      'ap-south-1': [copy(AP_COPY, { State: 'pending' })],
    });

    await expect(isDistributionComplete(createEvent(twoRegions))).rejects.toThrow(`Copy ${EU_COPY} of ${AMI} to eu-west-1 is failed: ${reason}`);

    const deregistered = await callsOf(DeregisterImageCommand);
    expect(deregistered).toContainEqual({ region: 'eu-west-1', input: expect.objectContaining({ ImageId: EU_COPY }) });
    expect(deregistered).toContainEqual({ region: 'ap-south-1', input: expect.objectContaining({ ImageId: AP_COPY }) });
    expect(ec2).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: AMI });
    expect(launchPermissionCalls()).toHaveLength(0);
  });

  test('a failed copy of a new image (Update to another image) removes its copies in every region, not the previous image\'s', async () => {
    const previousCopy = copy('ami-0bbbbbbbbbbbbbbbb', { Name: PREVIOUS_NAME, CreationDate: '2025-12-01T00:00:00.000Z' });
    givenCopies({
      'eu-west-1': [copy(EU_COPY), previousCopy],
      'ap-south-1': [copy(AP_COPY, { State: 'failed', StateReason: { Message: 'copy failed' } })],
    });
    const event = updateEvent(twoRegions, { ...twoRegions, ImageId: 'ami-0bbbbbbbbbbbbbbbb' });

    await expect(isDistributionComplete(event)).rejects.toThrow(/to ap-south-1 is failed: copy failed/);

    const deregistered = (await callsOf(DeregisterImageCommand)).map((c) => [c.region, c.input.ImageId]);
    expect(deregistered).toEqual(expect.arrayContaining([['eu-west-1', EU_COPY], ['ap-south-1', AP_COPY]]));
    expect(deregistered).not.toContainEqual(['eu-west-1', 'ami-0bbbbbbbbbbbbbbbb']);
  });

  test('an in-place Update adding a region whose copy fails removes that copy only: the pre-existing region\'s copy stays', async () => {
    givenCopies({
      'eu-west-1': [copy(EU_COPY)],
      'ap-south-1': [copy(AP_COPY, { State: 'failed', StateReason: { Message: 'copy failed' } })],
    });
    const event = updateEvent(twoRegions, { ...sharing, CopyToRegions: ['eu-west-1'] });

    await expect(isDistributionComplete(event)).rejects.toThrow(`Copy ${AP_COPY} of ${AMI} to ap-south-1 is failed: copy failed`);

    const deregistered = await callsOf(DeregisterImageCommand);
    expect(deregistered).toContainEqual({ region: 'ap-south-1', input: expect.objectContaining({ ImageId: AP_COPY }) });
    expect(deregistered.filter((c) => c.region === 'eu-west-1')).toEqual([]);
    expect(ec2).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: EU_COPY });
  });

  test('an in-place Update applies the sharing difference to the image and its copies', async () => {
    givenCopies({ 'eu-west-1': [copy(EU_COPY, { ImdsSupport: 'v2.0' })] });
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '444455556666' }] });
    const event = updateEvent({ CopyToRegions: ['eu-west-1'], ShareWithAccounts: ['111122223333'] }, { CopyToRegions: ['eu-west-1'], ShareWithAccounts: ['444455556666'] });

    await expect(isDistributionComplete(event)).resolves.toMatchObject({ IsComplete: true });

    const change = { Add: [{ UserId: '111122223333' }], Remove: [{ UserId: '444455556666' }] };
    expect((await callsOf(ModifyImageAttributeCommand)).map((c) => [c.region, c.input])).toEqual([
      ['us-east-1', { ImageId: AMI, LaunchPermission: change }],
      ['eu-west-1', { ImageId: EU_COPY, LaunchPermission: change }],
    ]);
  });

  test('an Update to another image, when the old properties shared: its launch permissions are looked at (an image adopted again may still have theirs)', async () => {
    await isDistributionComplete(updateEvent({}, { ImageId: 'ami-0bbbbbbbbbbbbbbbb', ShareWithAccounts: ['444455556666'] }));
    expect(ec2).toHaveReceivedCommandWith(DescribeImageAttributeCommand, { ImageId: AMI, Attribute: 'launchPermission' });
  });

  test('an Update to another image, sharing neither now nor before: nothing is looked at', async () => {
    await isDistributionComplete(updateEvent({}, { ImageId: 'ami-0bbbbbbbbbbbbbbbb' }));
    expect(ec2).not.toHaveReceivedCommand(DescribeImageAttributeCommand);
  });

  test('an Update to a new image that also drops a region sweeps that region: no copy of a kept previous image stays there', async () => {
    const event = updateEvent({ CopyToRegions: ['eu-west-1'] }, { ImageId: 'ami-0bbbbbbbbbbbbbbbb', CopyToRegions: ['eu-west-1', 'ap-south-1'] });
    givenCopies({ 'eu-west-1': [copy(EU_COPY)], 'ap-south-1': [copy('ami-0cccccccccccccccc', { Name: PREVIOUS_NAME })] });

    await expect(isDistributionComplete(event)).resolves.toMatchObject({ IsComplete: true });

    expect((await callsOf(DeregisterImageCommand)).map((c) => [c.region, c.input.ImageId])).toEqual([['ap-south-1', 'ami-0cccccccccccccccc']]);
  });

  test('a copy is deprecated from the source image\'s creation, not its own (made later)', async () => {
    givenCopies({ 'eu-west-1': [copy(EU_COPY, { CreationDate: '2026-01-01T05:00:00.000Z' })] });
    jest.useFakeTimers({ now: Date.parse('2026-01-02T00:00:00.000Z'), doNotFake: ['nextTick', 'setImmediate', 'setTimeout'] });
    try {
      await isDistributionComplete(createEvent({ DeprecateAfterDays: '30', CopyToRegions: ['eu-west-1'] }));
    } finally {
      jest.useRealTimers();
    }
    const at = (await callsOf(EnableImageDeprecationCommand)).map((c) => [c.input.ImageId, (c.input.DeprecateAt as Date).toISOString()]);
    expect(at).toEqual([[AMI, '2026-01-31T00:00:00.000Z'], [EU_COPY, '2026-01-31T00:00:00.000Z']]);
  });

  test('StartOnly (copies that may take hours): complete once every copy exists (one pending, one just started); the copies check enabled; nothing shared', async () => {
    const events = mockClient(EventBridgeClient);
    givenCopies({ 'eu-west-1': [copy(EU_COPY, { State: 'pending' })], 'ap-south-1': [] });

    await expect(isDistributionComplete(createEvent({ ...twoRegions, StartOnly: 'true', CheckRuleName: 'TestStack-CopiesCheck' }))).resolves.toEqual({
      IsComplete: true,
      Data: { ImageId: AMI, CopiedImageIds: `eu-west-1=${EU_COPY},ap-south-1=${AP_COPY}` },
    });

    expect(ec2).toHaveReceivedCommandTimes(CopyImageCommand, 1);
    expect(events).toHaveReceivedCommandWith(EnableRuleCommand, { Name: 'TestStack-CopiesCheck' });
    expect(launchPermissionCalls()).toEqual([]);
    expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
    events.restore();
  });

  test('an in-place Update dropping a region sweeps it and completes once it is empty', async () => {
    const event = updateEvent({ CopyToRegions: ['eu-west-1'] }, { CopyToRegions: ['eu-west-1', 'ap-south-1'] });
    givenCopies({ 'eu-west-1': [copy(EU_COPY)], 'ap-south-1': [copy(AP_COPY)] });

    await expect(isDistributionComplete(event)).resolves.toEqual({ IsComplete: true, Data: { ImageId: AMI, CopiedImageIds: `eu-west-1=${EU_COPY}` } });

    expect((await callsOf(DeregisterImageCommand)).map((c) => [c.region, c.input.ImageId])).toEqual([['ap-south-1', AP_COPY]]);
  });
});

describe('Delete', () => {
  const regions = { CopyToRegions: ['eu-west-1', 'ap-south-1'], ShareWithAccounts: ['111122223333'] };
  const snapshot = (id: string, name: string) => ({ SnapshotId: id, Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: name }] });

  test('sweeps each region: the copies named in KeptImageNames stay, the others go with their snapshots', async () => {
    givenCopies({
      'eu-west-1': [copy(EU_COPY), copy('ami-0bbbbbbbbbbbbbbbb', { Name: PREVIOUS_NAME }), copy('ami-0fffffffffffffffff', { Name: OLD_NAME })],
      'ap-south-1': [copy(AP_COPY), copy('ami-0999999999999999a', { Name: OLD_NAME })],
    });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot('snap-0eeeeeeeeeeeeeeee', NAME), snapshot('snap-0bbbbbbbbbbbbbbbb', PREVIOUS_NAME), snapshot('snap-0fffffffffffffffff', OLD_NAME)] });
    const event = deleteEvent(regions, { KeptImageNames: [NAME, PREVIOUS_NAME], ResourceDeleted: false, SweepRegions: ['eu-west-1', 'ap-south-1'] });

    await expect(isDistributionComplete(event)).resolves.toEqual({ IsComplete: true });

    expect((await callsOf(DeregisterImageCommand)).map((c) => [c.region, c.input.ImageId])).toEqual([
      ['eu-west-1', 'ami-0fffffffffffffffff'],
      ['ap-south-1', 'ami-0999999999999999a'],
    ]);
    expect((await callsOf(DeleteSnapshotCommand)).map((c) => [c.region, c.input.SnapshotId])).toEqual([
      ['eu-west-1', 'snap-0fffffffffffffffff'],
      ['ap-south-1', 'snap-0fffffffffffffffff'],
    ]);
    // A replaced distribution's image stays shared: only the resource's own Delete unshares it.
    expect(ec2).not.toHaveReceivedCommand(DescribeImageAttributeCommand);
    expect(launchPermissionCalls()).toHaveLength(0);
    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
  });

  test('a snapshot still settling keeps the Delete polling', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot('snap-0fffffffffffffffff', OLD_NAME)] });
    ec2.on(DeleteSnapshotCommand).rejectsOnce(ec2Error('InvalidSnapshot.InUse')).resolves({});
    const event = deleteEvent(regions, { KeptImageNames: [NAME], ResourceDeleted: false, SweepRegions: ['eu-west-1'] });

    await expect(isDistributionComplete(event)).resolves.toEqual({ IsComplete: false });
    await expect(isDistributionComplete(event)).resolves.toEqual({ IsComplete: true });
  });

  test('the resource deleted: every copy goes, and the image\'s launch permissions are removed', async () => {
    givenCopies({ 'eu-west-1': [copy(EU_COPY)], 'ap-south-1': [copy(AP_COPY)] });
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '111122223333' }, { Group: 'all' }] });
    const event = deleteEvent(regions, { KeptImageNames: [], ResourceDeleted: true, SweepRegions: ['eu-west-1', 'ap-south-1'] });

    await expect(isDistributionComplete(event)).resolves.toEqual({ IsComplete: true });

    expect((await callsOf(DeregisterImageCommand)).map((c) => [c.region, c.input.ImageId])).toEqual([['eu-west-1', EU_COPY], ['ap-south-1', AP_COPY]]);
    expect((await callsOf(ModifyImageAttributeCommand)).map((c) => [c.region, c.input])).toEqual([
      ['us-east-1', { ImageId: AMI, LaunchPermission: { Remove: [{ UserId: '111122223333' }, { Group: 'all' }] } }],
    ]);
    expect(ec2).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: AMI });
  });

  test('the resource deleted after its image is gone: nothing to unshare', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).rejects(ec2Error('InvalidAMIID.NotFound'));
    const event = deleteEvent(regions, { KeptImageNames: [], ResourceDeleted: true, SweepRegions: ['eu-west-1'] });

    await expect(isDistributionComplete(event)).resolves.toEqual({ IsComplete: true });
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });

  test('removal policy retain (onEvent asks for no sweep): nothing is touched', async () => {
    const event = deleteEvent({ ...regions, RemovalPolicy: 'retain' }, {});
    await expect(isDistributionComplete(event)).resolves.toEqual({ IsComplete: true });
    expect(ec2.calls()).toHaveLength(0);
  });
});

describe('no poll past CloudFormation\'s hour starts a copy', () => {
  const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

  test('a poll past the deadline fails the request, with no CopyImage and no sharing', async () => {
    const late = { ...createEvent({ CopyToRegions: ['eu-west-1'], ShareWithAccounts: ['111122223333'] }), RequestedAt: ago(REQUEST_DEADLINE_SECONDS + 5) };
    await expect(isDistributionComplete(late)).rejects.toThrow(`The distribution of ${AMI} was not done 57 minutes after the request: CloudFormation waits at most an hour`);
    expect(ec2).not.toHaveReceivedCommand(CopyImageCommand);
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });

  test('a poll in time starts the copy', async () => {
    const inTime = { ...createEvent({ CopyToRegions: ['eu-west-1'] }), RequestedAt: ago(60) };
    await expect(isDistributionComplete(inTime)).resolves.toEqual({ IsComplete: false });
    expect(ec2).toHaveReceivedCommand(CopyImageCommand);
  });
});
