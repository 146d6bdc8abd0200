/**
 * The shared retention helpers on their own (test/instance-image/runtime/retention.test.ts
 * has the rule through whole requests): the CloudFormation client's retry
 * settings, CloudFormation's edge answers, `KeepPrevious` parsing, and a
 * user's revert to an image newer than the one deleted. StrykerJS found these unchecked.
 */
import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { Image } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cleaningUpAfterRollback, cloudformation, keepCount, recordedPhysicalId, retention } from '../../../lib/shared/runtime/retention';
import { cloudFormationError, deleteEvent } from '../../helpers/event';

const cfn = mockClient(CloudFormationClient);
const STACK_ID = deleteEvent('ami-0aaaaaaaaaaaaaaaa').StackId;

beforeEach(() => {
  cfn.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('the CloudFormation client retries in adaptive mode, up to 8 attempts', async () => {
  expect(cloudformation.config.retryMode).toBe('adaptive');
  expect(await cloudformation.config.maxAttempts()).toBe(8);
});

describe('recordedPhysicalId()', () => {
  test('an answer without StackResourceDetail is no answer: it fails, rather than read as "the resource is gone"', async () => {
    cfn.on(DescribeStackResourceCommand).resolves({});
    await expect(recordedPhysicalId(STACK_ID, 'Image')).rejects.toThrow('DescribeStackResource answered without StackResourceDetail for Image: nothing is removed on a guess');
  });

  test('a ValidationError only mentioning a missing resource later in its message is thrown, not taken for a deleted resource', async () => {
    const message = `Stack with id ${STACK_ID} does not exist: Resource Image does not exist for stack TestStack`;
    cfn.on(DescribeStackResourceCommand).rejects(cloudFormationError('ValidationError', message));
    await expect(recordedPhysicalId(STACK_ID, 'Image')).rejects.toThrow(message);
  });
});

describe('cleaningUpAfterRollback()', () => {
  test.each([
    ['no Stacks', {}],
    ['an empty Stacks', { Stacks: [] }],
  ])('DescribeStacks answering %s is no answer: it fails, rather than read as "not a rollback"', async (_, answer) => {
    cfn.on(DescribeStacksCommand).resolves(answer);
    await expect(cleaningUpAfterRollback(STACK_ID)).rejects.toThrow(`DescribeStacks listed no stack for ${STACK_ID}: nothing is removed on a guess`);
  });
});

test('keepCount: "-0" is 0, not -0', () => {
  expect(keepCount('-0')).toBe(0);
});

describe('retention()', () => {
  const image = (hex: string, created: string): Image => ({ ImageId: `ami-0${hex.repeat(16)}`, CreationDate: created });
  const OLDER = image('a', '2026-01-01T00:00:00.000Z');
  const PREVIOUS = image('b', '2026-02-01T00:00:00.000Z');
  const CURRENT = image('c', '2026-03-01T00:00:00.000Z');
  const NEWER = image('d', '2026-04-01T00:00:00.000Z');

  test('a user\'s update from an image older than another previous one: the deleted image is the most recent previous, kept before newer ones', () => {
    // A revert had made OLDER current again, after NEWER; this update went (back) to CURRENT. The image it replaced, OLDER,
    // is the most recent previous image though the oldest.
    const owned = [NEWER, CURRENT, PREVIOUS, OLDER];
    expect(retention(owned, OLDER.ImageId!, CURRENT.ImageId!, 1)).toEqual({
      resourceDeleted: false, kept: new Set([CURRENT.ImageId, OLDER.ImageId]), current: CURRENT.ImageId,
    });
    expect(retention(owned, OLDER.ImageId!, CURRENT.ImageId!, 2)).toEqual({
      resourceDeleted: false, kept: new Set([CURRENT.ImageId, OLDER.ImageId, NEWER.ImageId]), current: CURRENT.ImageId,
    });
  });
});
