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
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { applyDeprecation, ensureCopies } from '../../../lib/image-distribution/runtime/copies';
import { isDistributionComplete } from '../../../lib/image-distribution/runtime/is-complete';
import { onDistributionEvent } from '../../../lib/image-distribution/runtime/on-event';
import type { DistributionCompleteRequest, DistributionEvent } from '../../../lib/image-distribution/runtime/types';
import type { DistributionResourceProperties } from '../../../lib/image-distribution/shared';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { OWNER } from '../../helpers/event';
import { AMI, byName, COMMON, NAME, OLD_NAME, owned, PROPS, TAGS } from './fixtures';

/**
 * Behaviours mutation testing found unchecked: the key-change refusal only for a changed key, the region
 * rewrite only for a multi-Region key, the failed-copy sweep sparing the kept previous images' copies, and
 * deprecation compared with what EC2 reports.
 */

const ec2 = mockClient(EC2Client);

type Overrides = Partial<DistributionResourceProperties>;
const FAILED_COPY = 'ami-0eeeeeeeeeeeeeeee';
const KEPT_COPY = 'ami-0bbbbbbbbbbbbbbbb';
const SINGLE_REGION_KEY = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const MRK = 'arn:aws:kms:us-east-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab';
const OTHER_MRK = 'arn:aws:kms:us-east-1:111111111111:key/mrk-fedcba9876543210fedcba9876543210';

function props(overrides: Overrides = {}): DistributionResourceProperties & { ServiceToken: string } {
  return { ...PROPS, ...overrides };
}

function image(overrides: Partial<Image> = {}): Image {
  return {
    ImageId: AMI, Name: NAME, State: 'available', ImdsSupport: 'v2.0', Tags: TAGS, Description: 'test image',
    CreationDate: '2026-01-01T00:00:00.000Z', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' } }],
    ...overrides,
  };
}

function snapshot(id: string, imageName: string) {
  return { SnapshotId: id, Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: imageName }] };
}

async function regionOf(call: { thisValue: unknown }): Promise<string> {
  return (call.thisValue as EC2Client).config.region();
}

/** `[region, input]` of each call of a command. */
async function callsOf(command: unknown): Promise<Array<[string, Record<string, unknown>]>> {
  return Promise.all(ec2.commandCalls(command as never).map(async (call) =>
    [await regionOf(call), call.args[0].input as Record<string, unknown>] as [string, Record<string, unknown>]));
}

/** Runs `body` with the clock at `now` (timers other than Date left real: the SDK mock needs them). */
async function at<T>(now: string, body: () => Promise<T>): Promise<T> {
  jest.useFakeTimers({ now: Date.parse(now), doNotFake: ['nextTick', 'setImmediate', 'setTimeout'] });
  try {
    return await body();
  } finally {
    jest.useRealTimers();
  }
}

beforeEach(() => {
  ec2.reset();
  process.env.AWS_REGION = 'us-east-1';
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
});
afterEach(() => jest.restoreAllMocks());

describe('gap 1: the copyKmsKeyArn refusal is for a changed key only', () => {
  function updateEvent(newProps: Overrides, oldProps: Overrides): DistributionEvent {
    return { ...COMMON, RequestType: 'Update', PhysicalResourceId: AMI, ResourceProperties: props(newProps), OldResourceProperties: props(oldProps) };
  }
  const copies = { CopyToRegions: ['eu-west-1', 'ap-south-1'] };

  test.each([
    ['the same multi-Region key', { ...copies, CopyKmsKeyArn: MRK }],
    ['the same single-Region key', { CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: SINGLE_REGION_KEY }],
    ['no key before nor after', copies],
  ])('a same-image Update with %s, sharing and deprecation changed, copies kept: accepted', async (_case, base) => {
    const event = updateEvent({ ...base, ShareWithAccounts: ['111122223333'], DeprecateAfterDays: '30' }, { ...base, ShareWithAccounts: ['444455556666'] });
    await expect(onDistributionEvent(event)).resolves.toEqual({ PhysicalResourceId: AMI, RequestedAt: expect.any(String) });
  });

  test('a same-image Update adding a region, with the same key: accepted', async () => {
    const event = updateEvent({ ...copies, CopyKmsKeyArn: MRK }, { CopyToRegions: ['eu-west-1'], CopyKmsKeyArn: MRK });
    await expect(onDistributionEvent(event)).resolves.toEqual({ PhysicalResourceId: AMI, RequestedAt: expect.any(String) });
  });

  test('a changed key for the same image is refused, naming both keys, the image and the regions whose copies keep theirs', async () => {
    const event = updateEvent({ ...copies, CopyKmsKeyArn: OTHER_MRK }, { ...copies, CopyKmsKeyArn: MRK });
    await expect(onDistributionEvent(event)).rejects.toThrow(
      `copyKmsKeyArn changed from "${MRK}" to "${OTHER_MRK}" for the same image ${AMI}: its copies in eu-west-1, ap-south-1 keep the key they were made with. ` +
      'Set rebuildToken too, so that a new image is copied with the new key');
  });

  test('a key removed from kept copies is refused too ("none" after)', async () => {
    const event = updateEvent(copies, { ...copies, CopyKmsKeyArn: MRK });
    await expect(onDistributionEvent(event)).rejects.toThrow(`copyKmsKeyArn changed from "${MRK}" to "none" for the same image ${AMI}`);
  });
});

describe('gap 2: only a multi-Region key is rewritten for each copy region', () => {
  const regions = ['ap-south-1', 'eu-central-1'];

  async function keysUsed(key: string): Promise<Array<[string, unknown, unknown]>> {
    ec2.on(CopyImageCommand).resolves({ ImageId: FAILED_COPY });
    await ensureCopies(image(), props({ CopyToRegions: regions, CopyKmsKeyArn: key }), undefined, 'request-1');
    return (await callsOf(CopyImageCommand)).map(([region, input]) => [region, input.KmsKeyId, input.Encrypted]);
  }

  test('a single-Region key ARN reaches CopyImage unchanged in every copy region (another region than the key\'s included)', async () => {
    expect(await keysUsed(SINGLE_REGION_KEY)).toEqual([
      ['ap-south-1', SINGLE_REGION_KEY, true],
      ['eu-central-1', SINGLE_REGION_KEY, true],
    ]);
  });

  test.each([
    ['an alias whose name has "mrk-" in it', 'arn:aws:kms:eu-west-1:111111111111:alias/team-mrk-images'],
    ['an alias named like a multi-Region key', 'arn:aws:kms:eu-west-1:111111111111:alias/mrk-images'],
    ['a key id with "mrk-" past the prefix', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-mrk-34cd-56ef-1234567890ab'],
  ])('%s is not a multi-Region key: unchanged', async (_case, key) => {
    expect(await keysUsed(key)).toEqual([
      ['ap-south-1', key, true],
      ['eu-central-1', key, true],
    ]);
  });

  test('a multi-Region key is rewritten to each copy region (its replica there), account and key id unchanged', async () => {
    expect(await keysUsed(MRK)).toEqual([
      ['ap-south-1', 'arn:aws:kms:ap-south-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab', true],
      ['eu-central-1', 'arn:aws:kms:eu-central-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab', true],
    ]);
  });

  test('no key: CopyImage is neither given a key nor asked to encrypt', async () => {
    expect(await keysUsed('')).toEqual([
      ['ap-south-1', undefined, undefined],
      ['eu-central-1', undefined, undefined],
    ]);
  });
});

describe('gap 3: a failed copy\'s sweep spares the copies of the kept previous images', () => {
  const failed = image({ ImageId: FAILED_COPY, State: 'failed', StateReason: { Message: 'copy failed' }, BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0eeeeeeeeeeeeeeee' } }] });
  const keptCopy = image({ ImageId: KEPT_COPY, Name: OLD_NAME, CreationDate: '2025-12-01T00:00:00.000Z', Tags: [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: OLD_NAME }], BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0bbbbbbbbbbbbbbbb' } }] });

  beforeEach(() => {
    // In eu-west-1: the failed copy of the current image, and the copy of the previous image KeepPrevious keeps.
    ec2.on(DescribeImagesCommand, byName(NAME)).resolves({ Images: [failed] });
    ec2.on(DescribeImagesCommand, owned).resolves({ Images: [failed, keptCopy] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot('snap-0eeeeeeeeeeeeeeee', NAME), snapshot('snap-0bbbbbbbbbbbbbbbb', OLD_NAME)] });
  });

  async function expectOnlyTheFailedCopyRemoved(): Promise<void> {
    expect((await callsOf(DeregisterImageCommand)).map(([region, input]) => [region, input.ImageId])).toEqual(
      expect.arrayContaining([['eu-west-1', FAILED_COPY]]));
    expect(ec2).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: KEPT_COPY });
    expect(ec2).not.toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0bbbbbbbbbbbbbbbb' });
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-0eeeeeeeeeeeeeeee' });
  }

  test('ensureCopies: the failed copy and its snapshot go, the kept previous image\'s copy and snapshot stay', async () => {
    await expect(ensureCopies(image(), props({ KeepPrevious: '1', CopyToRegions: ['eu-west-1'] }), undefined, 'request-1'))
      .rejects.toThrow(`Copy ${FAILED_COPY} of ${AMI} to eu-west-1 is failed: copy failed`);
    await expectOnlyTheFailedCopyRemoved();
  });

  test.each([
    ['a Create', (p: Overrides) => ({ ...COMMON, RequestType: 'Create', ResourceProperties: props(p) })],
    ['an Update to this image (the region new with it)', (p: Overrides) => ({
      ...COMMON, RequestType: 'Update', PhysicalResourceId: 'ami-0ccccccccccccccccc', ResourceProperties: props(p), OldResourceProperties: props({ ...p, ImageId: 'ami-0ccccccccccccccccc' }),
    })],
  ])('isDistributionComplete, %s whose copy failed: the kept previous image\'s copy stays', async (_case, event) => {
    ec2.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
    const request = { ...event({ KeepPrevious: '1', CopyToRegions: ['eu-west-1'] }), PhysicalResourceId: AMI } as DistributionCompleteRequest;
    await expect(isDistributionComplete(request)).rejects.toThrow(/to eu-west-1 is failed: copy failed/);
    await expectOnlyTheFailedCopyRemoved();
  });
});

describe('gap 4: deprecation compared with what EC2 reports', () => {
  const deprecateAt = async () => (await callsOf(EnableImageDeprecationCommand)).map(([, input]) => [input.ImageId as string, (input.DeprecateAt as Date).toISOString()]);

  test('deprecated at another time than creation + DeprecateAfterDays (the period changed): deprecated again at the right time', async () => {
    await at('2026-01-02T00:00:00.000Z', () => applyDeprecation(image({ DeprecationTime: '2026-01-31T00:00:00.000Z' }), props({ DeprecateAfterDays: '60' })));
    expect(await deprecateAt()).toEqual([[AMI, '2026-03-02T00:00:00.000Z']]);
  });

  test('deprecated a few minutes off the right time: deprecated again', async () => {
    await at('2026-01-02T00:00:00.000Z', () => applyDeprecation(image({ DeprecationTime: '2026-01-31T00:05:00.000Z' }), props({ DeprecateAfterDays: '30' })));
    expect(await deprecateAt()).toEqual([[AMI, '2026-01-31T00:00:00.000Z']]);
  });

  test('a creation time with seconds: deprecated at the minute (EC2 keeps minutes), and that time, as EC2 reports it, is not set again', async () => {
    const created = image({ CreationDate: '2026-01-01T10:20:30.000Z' });
    await at('2026-01-02T00:00:00.000Z', () => applyDeprecation(created, props({ DeprecateAfterDays: '30' })));
    expect(await deprecateAt()).toEqual([[AMI, '2026-01-31T10:20:00.000Z']]);

    ec2.resetHistory();
    await at('2026-01-02T00:00:00.000Z', () => applyDeprecation({ ...created, DeprecationTime: '2026-01-31T10:20:00.000Z' }, props({ DeprecateAfterDays: '30' })));
    expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
  });

  describe('an image older than the period (EC2 refuses a time in the past: a minute from now)', () => {
    const NOW = '2026-03-01T12:00:30.000Z';
    const old = (DeprecationTime?: string) => image({ CreationDate: '2026-01-01T00:00:00.000Z', DeprecationTime });

    test('not deprecated yet: deprecated at the next whole minute a minute from now', async () => {
      await at(NOW, () => applyDeprecation(old(), props({ DeprecateAfterDays: '30' })));
      expect(await deprecateAt()).toEqual([[AMI, '2026-03-01T12:01:00.000Z']]);
    });

    test.each([
      ['at creation + the period (in the past)', '2026-01-31T00:00:00.000Z'],
      ['a minute after an earlier update (in the past, after creation + the period)', '2026-02-15T08:31:00.000Z'],
      ['at the time the rule gives now (an update a few seconds ago)', '2026-03-01T12:01:00.000Z'],
      ['by an earlier, shorter period (in the past, before creation + the period)', '2026-01-11T00:00:00.000Z'],
    ])('already deprecated %s: not deprecated again', async (_case, time) => {
      await at(NOW, () => applyDeprecation(old(time), props({ DeprecateAfterDays: '30' })));
      expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
    });

    test('a repeated update does not move the deprecation: the time set first is kept', async () => {
      await at(NOW, () => applyDeprecation(old(), props({ DeprecateAfterDays: '30' })));
      const [[, first]] = await deprecateAt();
      ec2.resetHistory();
      await at('2026-03-02T09:00:00.000Z', () => applyDeprecation(old(first), props({ DeprecateAfterDays: '30' })));
      expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
    });

    test('deprecated in the future (a longer period before): brought forward to a minute from now', async () => {
      await at(NOW, () => applyDeprecation(old('2026-06-01T00:00:00.000Z'), props({ DeprecateAfterDays: '30' })));
      expect(await deprecateAt()).toEqual([[AMI, '2026-03-01T12:01:00.000Z']]);
    });
  });
});
