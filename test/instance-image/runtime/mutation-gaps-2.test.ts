/**
 * More behaviour the other handler tests left unchecked (StrykerJS found the
 * mutants they let live): the exact AMI name a set of properties gives (a
 * changed name replaces every deployed image on its next deploy), the name
 * limits, the tags of an image, and the signal function's less common states.
 */
import { createHash } from 'node:crypto';
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client, Image } from '@aws-sdk/client-ec2';
import { DisableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { imageNameFor, needsNewImage, tagsFor } from '../../../lib/instance-image/runtime/image-name';
import { onImageEvent } from '../../../lib/instance-image/runtime/signal';
import { ImageResourceProperties } from '../../../lib/instance-image/shared';
import { IMAGE_NAME_TAG, OWNER_TAG, SIGNAL_TAG } from '../../../lib/shared/names';
import { OWNER, PROPS } from '../../helpers/event';

const ec2 = mockClient(EC2Client);
const events = mockClient(EventBridgeClient);

describe('imageNameFor', () => {
  // Written out rather than the shared PROPS, so that the pinned name depends only on the handler.
  const BASE: ImageResourceProperties = {
    InstanceId: 'i-0123456789abcdef0', ImageNamePrefix: 'TestStack-Image', Description: 'test image', NoReboot: 'false', Owner: 'TestStack/Image', RemovalPolicy: 'destroy',
  };
  const CONTENT = { ...BASE, Tags: { c: '3', a: '1', b: '2' }, RebuildToken: 'r1', ExcludeDevices: ['/dev/sdf', 'xvdg'] };
  // The content-defining properties as canonical JSON: keys sorted at every level, arrays in their order, absent
  // properties left out. Written out here so that any change to it (which would rename, and so replace, every
  // deployed image) fails this test.
  const CANONICAL = '{"Description":"test image","ExcludeDevices":["/dev/sdf","xvdg"],"ImageNamePrefix":"TestStack-Image",'
    + '"InstanceId":"i-0123456789abcdef0","NoReboot":"false","Owner":"TestStack/Image","RebuildToken":"r1","Tags":{"a":"1","b":"2","c":"3"}}';
  const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

  test('the prefix, then the first 16 hex digits of the SHA-256 of the canonical content', () => {
    expect(imageNameFor(CONTENT)).toBe(`TestStack-Image-${digest(CANONICAL)}`);
    expect(imageNameFor(CONTENT)).toBe('TestStack-Image-063574dc528ef213');
  });

  test('properties that are not content-defining, and absent optional ones, do not enter the name', () => {
    const minimal = '{"Description":"test image","ImageNamePrefix":"TestStack-Image","InstanceId":"i-0123456789abcdef0","NoReboot":"false","Owner":"TestStack/Image"}';
    expect(imageNameFor({ ...BASE, KeepPrevious: '3', SignalId: 'signal-1', CheckRuleName: 'rule' })).toBe(`TestStack-Image-${digest(minimal)}`);
  });

  test('the order of the user\'s tags does not matter, whatever the order they come in', () => {
    const names = [
      { a: '1', b: '2', c: '3', d: '4' },
      { d: '4', c: '3', b: '2', a: '1' },
      { b: '2', d: '4', a: '1', c: '3' },
      { c: '3', a: '1', d: '4', b: '2' },
    ].map((Tags) => imageNameFor({ ...PROPS, Tags }));
    expect(new Set(names).size).toBe(1);
  });

  test('the order of the excluded devices does', () => {
    expect(imageNameFor({ ...PROPS, ExcludeDevices: ['/dev/sdf', 'xvdg'] })).not.toBe(imageNameFor({ ...PROPS, ExcludeDevices: ['xvdg', '/dev/sdf'] }));
  });

  test('a prefix up to 111 characters fits the 128 of an AMI name; one more is refused with the name it would give', () => {
    expect(imageNameFor({ ...PROPS, ImageNamePrefix: 'p'.repeat(111) })).toHaveLength(128);
    expect(() => imageNameFor({ ...PROPS, ImageNamePrefix: 'p'.repeat(112) }))
      .toThrow(new RegExp('^ImageNamePrefix must give an AMI name of 3-128 characters of \\[A-Za-z0-9\\(\\)\\[\\] \\./\'@_-\\], got "p{112}-[0-9a-f]{16}"$'));
  });

  test('a prefix with a character EC2 refuses in a name is refused', () => {
    expect(() => imageNameFor({ ...PROPS, ImageNamePrefix: 'my*image' })).toThrow(/got "my\*image-[0-9a-f]{16}"/);
    expect(imageNameFor({ ...PROPS, ImageNamePrefix: 'A-z 0_9 (x) [y] ./\'@' })).toMatch(/^A-z 0_9 \(x\) \[y\] \.\/'@-[0-9a-f]{16}$/);
  });
});

describe('needsNewImage', () => {
  test('a change of content-defining properties needs one; of others, or of the tags\' order, does not', () => {
    expect(needsNewImage(PROPS, { ...PROPS, Description: 'other' })).toBe(true);
    expect(needsNewImage({ ...PROPS, Tags: { a: '1' } }, { ...PROPS, Tags: { a: '2' } })).toBe(true);
    expect(needsNewImage({ ...PROPS, Tags: { a: '1', b: '2' } }, { ...PROPS, Tags: { b: '2', a: '1' } })).toBe(false);
    expect(needsNewImage(PROPS, { ...PROPS, RemovalPolicy: 'retain', KeepPrevious: '2', SignalId: 's' })).toBe(false);
    expect(needsNewImage(PROPS, { ...PROPS, RebuildToken: undefined })).toBe(false);
  });
});

describe('tagsFor', () => {
  test('Name, the user\'s tags, the owner and the image name; the signal id only when set', () => {
    expect(tagsFor({ ...PROPS, Tags: { team: 'platform' } }, 'n-1')).toEqual([
      { Key: 'Name', Value: 'n-1' },
      { Key: 'team', Value: 'platform' },
      { Key: OWNER_TAG, Value: OWNER },
      { Key: IMAGE_NAME_TAG, Value: 'n-1' },
    ]);
    expect(tagsFor({ ...PROPS, SignalId: 'signal-1' }, 'n-1')).toContainEqual({ Key: SIGNAL_TAG, Value: 'signal-1' });
  });

  test('the user may set Name, but not the tags the IAM conditions and the clean-up rely on', () => {
    const tags = tagsFor({ ...PROPS, Tags: { 'Name': 'mine', [OWNER_TAG]: 'Other/Image', [IMAGE_NAME_TAG]: 'other' } }, 'n-1');
    expect(tags).toEqual([
      { Key: 'Name', Value: 'mine' },
      { Key: OWNER_TAG, Value: OWNER },
      { Key: IMAGE_NAME_TAG, Value: 'n-1' },
    ]);
  });
});

describe('the signal function', () => {
  const SIGNAL = '0123456789abcdef';
  const IMAGE = 'ami-0aaaaaaaaaaaaaaaa';
  const ENV = { HANDLE_URL: 'https://handle.invalid/?Signature=secret', SIGNAL_ID: SIGNAL, OWNER, CHECK_RULE: 'TestStack-Check' };
  const image = (overrides: Partial<Image> = {}): Image => ({
    ImageId: IMAGE, Name: 'TestStack-Image-0123', State: 'available', ImdsSupport: 'v2.0',
    Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: SIGNAL_TAG, Value: SIGNAL }],
    ...overrides,
  });
  const stateChange = (state: string) => ({ 'detail-type': 'EC2 AMI State Change' as const, 'detail': { ImageId: IMAGE, State: state } });
  const scheduled = { 'detail-type': 'Scheduled Event' as const };

  let fetchMock: jest.SpyInstance;
  const signals = () => fetchMock.mock.calls.map(([, init]) => JSON.parse(init.body));
  const saved = { ...process.env };
  beforeEach(() => {
    ec2.reset();
    events.reset();
    Object.assign(process.env, ENV);
    fetchMock = jest.spyOn(global, 'fetch').mockResolvedValue(new Response(null, { status: 200 }));
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.env = { ...saved };
  });

  test.each(['error', 'invalid'])('an image %s: FAILURE with EC2\'s reason', async (state) => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: state as Image['State'], StateReason: { Message: 'boom' } })] });
    await onImageEvent(stateChange(state));
    expect(signals()).toEqual([{ Status: 'FAILURE', UniqueId: IMAGE, Data: IMAGE, Reason: `Image ${IMAGE} (TestStack-Image-0123) is ${state}: boom` }]);
  });

  test('a failed image without a reason: FAILURE saying EC2 gave none', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'failed' })] });
    await onImageEvent(stateChange('failed'));
    expect(signals()).toEqual([expect.objectContaining({ Status: 'FAILURE', Reason: `Image ${IMAGE} (TestStack-Image-0123) is failed: EC2 gave no reason` })]);
  });

  test('an event for an image still pending: no signal', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'pending' })] });
    await onImageEvent(stateChange('pending'));
    expect(fetchMock).not.toHaveBeenCalled();
  });

  test('the scheduled check: a transient image is pending (progress, no signal, the check stays on)', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'transient' })] });
    await onImageEvent(scheduled);
    expect(ec2).toHaveReceivedCommand(DescribeSnapshotsCommand);
    expect(fetchMock).not.toHaveBeenCalled();
    expect(events).not.toHaveReceivedCommand(DisableRuleCommand);
  });

  test('the scheduled check: a failed image is reported, and with nothing pending the check turns itself off', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'failed', StateReason: { Message: 'boom' } })] });
    await onImageEvent(scheduled);
    expect(ec2).not.toHaveReceivedCommand(DescribeSnapshotsCommand);
    expect(signals()).toEqual([expect.objectContaining({ Status: 'FAILURE' })]);
    expect(events).toHaveReceivedCommandWith(DisableRuleCommand, { Name: 'TestStack-Check' });
  });

  test('the scheduled check: one image reported, another still pending: the check stays on', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ ImageId: 'ami-0bbbbbbbbbbbbbbbb', State: 'pending' }), image()] });
    await onImageEvent(scheduled);
    expect(signals()).toEqual([expect.objectContaining({ Status: 'SUCCESS', UniqueId: IMAGE })]);
    expect(events).not.toHaveReceivedCommand(DisableRuleCommand);
  });

  test.each([['SIGNAL_ID'], ['OWNER']])('%s missing: a clear error, nothing signalled', async (name) => {
    delete process.env[name];
    ec2.on(DescribeImagesCommand).resolves({ Images: [image()] });
    await expect(onImageEvent(stateChange('available'))).rejects.toThrow(`${name} is not set`);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  test('CHECK_RULE missing when the check would turn itself off: a clear error', async () => {
    delete process.env.CHECK_RULE;
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    await expect(onImageEvent(scheduled)).rejects.toThrow('CHECK_RULE is not set');
  });
});
