/**
 * applyDeprecation at its boundaries: a deprecation a whole minute off is set again, one within the minute is
 * not; an image whose period ends within the next minute counts as older than the period (EC2 refuses a time in
 * the past); an image EC2 lists without a creation date is deprecated the period from now.
 */
import { DescribeImagesCommand, EC2Client, EnableImageDeprecationCommand, Image } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { applyDeprecation } from '../../../lib/image-distribution/runtime/copies';
import { AMI, NAME, PROPS, TAGS } from './fixtures';

const ec2 = mockClient(EC2Client);
const CREATED = '2026-01-01T00:00:00.000Z';
const THIRTY_DAYS = { ...PROPS, DeprecateAfterDays: '30' };

const image = (overrides: Partial<Image> = {}): Image => ({ ImageId: AMI, Name: NAME, State: 'available', Tags: TAGS, CreationDate: CREATED, ...overrides });
const deprecatedAt = () => ec2.commandCalls(EnableImageDeprecationCommand).map((c) => c.args[0].input.DeprecateAt!.toISOString());

/** Runs `body` with the clock at `now` (only Date is faked: the SDK mock needs real timers). */
async function at(now: string, body: () => Promise<void>): Promise<void> {
  jest.useFakeTimers({ now: Date.parse(now), doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask'] });
  try {
    await body();
  } finally {
    jest.useRealTimers();
  }
}

beforeEach(() => {
  ec2.reset();
  ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('deprecated exactly a minute after creation + the period: a minute off, so deprecated again at the right time', async () => {
  await at('2026-01-02T00:00:00.000Z', () => applyDeprecation(image({ DeprecationTime: '2026-01-31T00:01:00.000Z' }), THIRTY_DAYS));
  expect(deprecatedAt()).toEqual(['2026-01-31T00:00:00.000Z']);
});

test('deprecated less than a minute off creation + the period: left alone', async () => {
  await at('2026-01-02T00:00:00.000Z', () => applyDeprecation(image({ DeprecationTime: '2026-01-31T00:00:59.000Z' }), THIRTY_DAYS));
  expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
});

test.each([
  ['ends exactly a minute from now', '2026-01-30T23:59:00.000Z'],
  ['ends now', '2026-01-31T00:00:00.000Z'],
])('the period %s and the image already deprecated before then: older than the period, not deprecated again', async (_case, now) => {
  await at(now, () => applyDeprecation(image({ DeprecationTime: '2026-01-21T00:00:00.000Z' }), THIRTY_DAYS));
  expect(ec2).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
});

test('the period ends a minute and a second from now: not older than the period, so an earlier deprecation is moved to its end', async () => {
  await at('2026-01-30T23:58:59.000Z', () => applyDeprecation(image({ DeprecationTime: '2026-01-21T00:00:00.000Z' }), THIRTY_DAYS));
  expect(deprecatedAt()).toEqual(['2026-01-31T00:00:00.000Z']);
});

test('an image listed without a creation date: deprecated the period from now, at the minute', async () => {
  await at('2026-01-02T10:20:30.000Z', () => applyDeprecation(image({ CreationDate: undefined }), THIRTY_DAYS));
  expect(deprecatedAt()).toEqual(['2026-02-01T10:20:00.000Z']);
});
