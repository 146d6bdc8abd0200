import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client, Image, ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { DisableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { onImageEvent } from '../../../lib/instance-image/runtime/signal';
import { OWNER_TAG, SIGNAL_TAG } from '../../../lib/shared/names';

const ec2 = mockClient(EC2Client);
const events = mockClient(EventBridgeClient);
const OWNER = 'TestStack/Image';
const SIGNAL = '0123456789abcdef';
const URL = 'https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/arn%3Aaws%3A...?Signature=secret';
const IMAGE = 'ami-0aaaaaaaaaaaaaaaa';

function image(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: IMAGE, Name: 'TestStack-Image-0123', State: 'available', ImdsSupport: 'v2.0',
    Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: SIGNAL_TAG, Value: SIGNAL }],
    ...overrides,
  };
}
const stateChange = (state: string, imageId = IMAGE) => ({ 'detail-type': 'EC2 AMI State Change' as const, 'detail': { ImageId: imageId, State: state } });
const scheduled = { 'detail-type': 'Scheduled Event' as const };

let fetchMock: jest.SpyInstance;
let logs: Array<Record<string, unknown>>;
beforeEach(() => {
  ec2.reset();
  events.reset();
  Object.assign(process.env, { HANDLE_URL: URL, SIGNAL_ID: SIGNAL, OWNER, CHECK_RULE: 'TestStack-Check' });
  fetchMock = jest.spyOn(global, 'fetch').mockResolvedValue(new Response(null, { status: 200 }));
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => { logs.push(JSON.parse(line)); });
});
afterEach(() => jest.restoreAllMocks());

/** The signals PUT to the handle, parsed. */
const signals = () => fetchMock.mock.calls.map(([url, init]) => ({ url, method: init.method, contentType: init.headers['Content-Type'], body: JSON.parse(init.body) }));

describe('EC2 AMI State Change', () => {
  test('available: SUCCESS with the image id as UniqueId and Data, a PUT with an empty content type to the handle', async () => {
    ec2.on(DescribeImagesCommand, { ImageIds: [IMAGE] }).resolves({ Images: [image()] });
    await onImageEvent(stateChange('available'));
    expect(signals()).toEqual([{ url: URL, method: 'PUT', contentType: '', body: { Status: 'SUCCESS', UniqueId: IMAGE, Data: IMAGE, Reason: `Image ${IMAGE} (TestStack-Image-0123) is available` } }]);
    expect(ec2).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });

  test('available without IMDSv2 yet: required first, then reported', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ ImdsSupport: undefined })] });
    await onImageEvent(stateChange('available'));
    expect(ec2).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { ImageId: IMAGE, ImdsSupport: { Value: 'v2.0' } });
    expect(signals()[0].body.Status).toBe('SUCCESS');
  });

  test('failed: FAILURE with EC2\'s state reason (read from DescribeImages, not the event)', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'failed', StateReason: { Code: 'Client.InternalError', Message: 'Snapshot of volume vol-1 failed' } })] });
    await onImageEvent(stateChange('failed'));
    expect(signals().map((s) => s.body)).toEqual([expect.objectContaining({ Status: 'FAILURE', Reason: `Image ${IMAGE} (TestStack-Image-0123) is failed: Snapshot of volume vol-1 failed` })]);
  });

  test.each([
    ['another owner\'s image', image({ Tags: [{ Key: OWNER_TAG, Value: 'Other/Image' }, { Key: SIGNAL_TAG, Value: SIGNAL }] })],
    ['an image of an earlier handle', image({ Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: SIGNAL_TAG, Value: 'ffffffffffffffff' }] })],
    ['an untagged image', image({ Tags: [] })],
    ['a just-deregistered image', image({ State: 'deregistered' })],
  ])('%s: ignored, no signal', async (_case, found) => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [found] });
    await onImageEvent(stateChange('available'));
    expect(fetchMock).not.toHaveBeenCalled();
  });

  test('an image that does not exist (InvalidAMIID.NotFound): ignored', async () => {
    ec2.on(DescribeImagesCommand).rejects(Object.assign(new Error('not found'), { name: 'InvalidAMIID.NotFound' }));
    await onImageEvent(stateChange('available', 'ami-0bbbbbbbbbbbbbbbb'));
    expect(fetchMock).not.toHaveBeenCalled();
  });

  test('the handle refusing the signal fails the invocation (EventBridge retries it)', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image()] });
    fetchMock.mockResolvedValue(new Response('AccessDenied', { status: 403 }));
    await expect(onImageEvent(stateChange('available'))).rejects.toThrow('HTTP 403');
  });
});

describe('the scheduled check', () => {
  test('lists only this owner\'s images and signals only those of this handle', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image(), image({ ImageId: 'ami-0cccccccccccccccc', Tags: [{ Key: OWNER_TAG, Value: OWNER }] })] });
    await onImageEvent(scheduled);
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }] });
    expect(signals().map((s) => s.body.UniqueId)).toEqual([IMAGE]);
  });

  test('a pending image: one line with each snapshot\'s progress and the time left at the slowest one\'s pace; no signal; the check stays on', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-12-01T12:00:00Z'), doNotFake: ['nextTick', 'setImmediate', 'setTimeout'] });
    try {
      ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'pending' })] });
      ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [
        { SnapshotId: 'snap-1', Progress: '25%', StartTime: new Date('2026-12-01T11:00:00Z'), VolumeSize: 500, State: 'pending' },
        { SnapshotId: 'snap-2', Progress: '50%', StartTime: new Date('2026-12-01T11:30:00Z'), VolumeSize: 100, State: 'pending' },
      ] });
      await onImageEvent(scheduled);
    } finally {
      jest.useRealTimers();
    }
    expect(fetchMock).not.toHaveBeenCalled();
    expect(events).not.toHaveReceivedCommand(DisableRuleCommand);
    const line = logs.find((l) => l.message === 'image pending')!;
    // snap-1: 3600 s for 25 %, so 10800 s left; snap-2: 1800 s for 50 %, so 1800 s left.
    expect(line).toMatchObject({ imageId: IMAGE, estimatedSecondsLeft: 10800, snapshots: [
      { snapshotId: 'snap-1', progress: '25%', secondsLeft: 10800, volumeSize: 500 },
      { snapshotId: 'snap-2', progress: '50%', secondsLeft: 1800, volumeSize: 100 },
    ] });
  });

  test('no image pending any more: reports the available one, then turns itself off', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image()] });
    await onImageEvent(scheduled);
    expect(signals()[0].body).toMatchObject({ Status: 'SUCCESS', UniqueId: IMAGE });
    expect(events).toHaveReceivedCommandWith(DisableRuleCommand, { Name: 'TestStack-Check' });
  });

  test('a disabled image (disabled while the deploy waits): FAILURE saying so, then the check turns itself off', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'disabled' })] });
    await onImageEvent(scheduled);
    expect(signals().map((s) => s.body)).toEqual([expect.objectContaining({
      Status: 'FAILURE', UniqueId: IMAGE, Reason: `Image ${IMAGE} (TestStack-Image-0123) is disabled: no instance can be launched from it. Enable it (EnableImage) and deploy again`,
    })]);
    expect(events).toHaveReceivedCommandWith(DisableRuleCommand, { Name: 'TestStack-Check' });
  });

  test('nothing of this resource at all (deleted meanwhile): turns itself off, no signal', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    await onImageEvent(scheduled);
    expect(fetchMock).not.toHaveBeenCalled();
    expect(events).toHaveReceivedCommandWith(DisableRuleCommand, { Name: 'TestStack-Check' });
  });
});
