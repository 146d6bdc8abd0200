import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { isDistributionComplete } from '../../../lib/image-distribution/runtime/is-complete';
import { onDistributionEvent } from '../../../lib/image-distribution/runtime/on-event';
import { isParameterCheck, ParameterCheckCompleteRequest, ParameterCheckEvent, ssm as ssmClient } from '../../../lib/image-distribution/runtime/parameter';
import {
  DISTRIBUTION_RESOURCE_TYPE,
  ENV_PARAMETER_ACCEPT_SECONDS,
  PARAMETER_CHECK_RESOURCE_TYPE,
  ParameterCheckProperties,
} from '../../../lib/image-distribution/shared';
import { COMMON } from './fixtures';

const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
const cloudformation = mockClient(CloudFormationClient);

const NAME = '/images/web';
const PROMOTED = 'ami-0aaaaaaaaaaaaaaaa';
const PREVIOUS = 'ami-0bbbbbbbbbbbbbbbb';
const PROPS = { ServiceToken: COMMON.ServiceToken, ParameterName: NAME, ImageId: PROMOTED };
const CHECK = { ...COMMON, LogicalResourceId: 'DParameterCheck', ResourceType: PARAMETER_CHECK_RESOURCE_TYPE };

type Overrides = Partial<ParameterCheckProperties>;

function createEvent(props: Overrides = {}): ParameterCheckEvent {
  return { ...CHECK, RequestType: 'Create', ResourceProperties: { ...PROPS, ...props } };
}

function updateEvent(props: Overrides = {}, oldProps: Overrides = {}): ParameterCheckEvent {
  return {
    ...CHECK, RequestType: 'Update', PhysicalResourceId: oldProps.ParameterName ?? NAME,
    ResourceProperties: { ...PROPS, ...props }, OldResourceProperties: { ...PROPS, ...oldProps },
  };
}

function deleteEvent(): ParameterCheckEvent {
  return { ...CHECK, RequestType: 'Delete', PhysicalResourceId: NAME, ResourceProperties: PROPS };
}

/** The isComplete request of a Create whose onEvent ran `secondsAgo` seconds ago. */
function polled(secondsAgo: number, props: Overrides = {}): ParameterCheckCompleteRequest {
  return { ...createEvent(props), PhysicalResourceId: NAME, CheckStartedAt: new Date(Date.now() - secondsAgo * 1000).toISOString() };
}

const notFound = () => new ParameterNotFound({ message: 'Parameter /images/web not found.', $metadata: {} });

beforeEach(() => {
  ssm.reset();
  ec2.reset();
  cloudformation.reset();
  delete process.env[ENV_PARAMETER_ACCEPT_SECONDS];
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
  delete process.env[ENV_PARAMETER_ACCEPT_SECONDS];
});

/** Neither the distribution's EC2 nor its CloudFormation calls: the check's requests never reach the distribution's code. */
function expectNoDistributionCalls(): void {
  expect(ec2).not.toHaveReceivedAnyCommand();
  expect(cloudformation).not.toHaveReceivedAnyCommand();
}

describe('onDistributionEvent, for a Custom::ImageParameterCheck', () => {
  test('Create: the physical id is the parameter name, and the bound starts now', async () => {
    const before = Date.now();
    const response = await onDistributionEvent(createEvent()) as { PhysicalResourceId: string; CheckStartedAt?: string };

    expect(response.PhysicalResourceId).toBe(NAME);
    expect(Date.parse(response.CheckStartedAt!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(response.CheckStartedAt!)).toBeLessThanOrEqual(Date.now());
    expect(ssm).not.toHaveReceivedAnyCommand();
    expectNoDistributionCalls();
  });

  test('Update to a new image: the same physical id, a new bound', async () => {
    const response = await onDistributionEvent(updateEvent({ ImageId: PROMOTED }, { ImageId: PREVIOUS })) as { PhysicalResourceId: string; CheckStartedAt?: string };

    expect(response.PhysicalResourceId).toBe(NAME);
    expect(response.CheckStartedAt).toBeDefined();
    expectNoDistributionCalls();
  });

  test('Update to a new parameter name: a new physical id, so the old check\'s Delete follows', async () => {
    const response = await onDistributionEvent(updateEvent({ ParameterName: '/images/other' }, { ParameterName: NAME }));

    expect(response.PhysicalResourceId).toBe('/images/other');
  });

  test('Delete: nothing to do, the physical id stays', async () => {
    const response = await onDistributionEvent(deleteEvent());

    expect(response).toEqual({ PhysicalResourceId: NAME });
    expect(ssm).not.toHaveReceivedAnyCommand();
    expectNoDistributionCalls();
  });
});

describe('isDistributionComplete, for a Custom::ImageParameterCheck', () => {
  test('complete once GetParameter returns the image id', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Value: PROMOTED, DataType: 'aws:ec2:image' } });

    await expect(isDistributionComplete(polled(1))).resolves.toEqual({ IsComplete: true });

    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: NAME });
    expectNoDistributionCalls();
  });

  test('complete even after the bound, when the value arrived', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Value: PROMOTED } });

    await expect(isDistributionComplete(polled(3600))).resolves.toEqual({ IsComplete: true });
  });

  test('not complete while the parameter still holds the previous image, within the bound', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Value: PREVIOUS } });

    await expect(isDistributionComplete(polled(299))).resolves.toEqual({ IsComplete: false });
  });

  test('not complete while the parameter does not exist yet (ParameterNotFound), within the bound', async () => {
    ssm.on(GetParameterCommand).rejects(notFound());

    await expect(isDistributionComplete(polled(10))).resolves.toEqual({ IsComplete: false });
  });

  test('after five minutes with the previous image: fails, saying SSM did not accept the image id and naming both values', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Value: PREVIOUS } });

    await expect(isDistributionComplete(polled(301))).rejects.toThrow(
      `SSM did not accept the image id ${PROMOTED} for the aws:ec2:image parameter ${NAME}: 300 seconds after CloudFormation wrote it, the parameter still holds ${PREVIOUS}`);
  });

  test('after the bound without a parameter: fails, saying it does not exist', async () => {
    ssm.on(GetParameterCommand).rejects(notFound());

    await expect(isDistributionComplete(polled(301))).rejects.toThrow(
      new RegExp(`^SSM did not accept the image id ${PROMOTED} for the aws:ec2:image parameter ${NAME}: .* the parameter does not exist\\.`));
  });

  test('the failure ends by saying why SSM leaves the parameter unchanged', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Value: PREVIOUS } });

    await expect(isDistributionComplete(polled(301))).rejects.toThrow(
      new RegExp(`still holds ${PREVIOUS}\\. SSM validates an aws:ec2:image value asynchronously and leaves the parameter unchanged ` +
        'when the AMI is invalid or not available to this account$'));
  });

  test('exactly at the bound the poll still waits; a second after it, it fails', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-12-03T12:00:00.000Z') });
    process.env[ENV_PARAMETER_ACCEPT_SECONDS] = '20';
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Value: PREVIOUS } });

    await expect(isDistributionComplete(polled(20))).resolves.toEqual({ IsComplete: false });
    await expect(isDistributionComplete(polled(21))).rejects.toThrow(/20 seconds after CloudFormation wrote it/);
  });

  test('a GetParameter answer without a Parameter: as a missing parameter, not complete within the bound, "does not exist" after it', async () => {
    ssm.on(GetParameterCommand).resolves({});

    await expect(isDistributionComplete(polled(10))).resolves.toEqual({ IsComplete: false });
    await expect(isDistributionComplete(polled(301))).rejects.toThrow(/the parameter does not exist\./);
  });

  test('the bound comes from the function\'s environment', async () => {
    process.env[ENV_PARAMETER_ACCEPT_SECONDS] = '20';
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Value: PREVIOUS } });

    await expect(isDistributionComplete(polled(10))).resolves.toEqual({ IsComplete: false });
    await expect(isDistributionComplete(polled(30))).rejects.toThrow(/20 seconds after CloudFormation wrote it/);
  });

  test('another GetParameter error fails at once, even within the bound', async () => {
    const denied = Object.assign(new Error('not authorized to perform: ssm:GetParameter'), { name: 'AccessDeniedException' });
    ssm.on(GetParameterCommand).rejects(denied);

    await expect(isDistributionComplete(polled(1))).rejects.toThrow('not authorized to perform: ssm:GetParameter');
  });

  test('Delete: complete at once, no call', async () => {
    await expect(isDistributionComplete({ ...deleteEvent(), PhysicalResourceId: NAME })).resolves.toEqual({ IsComplete: true });

    expect(ssm).not.toHaveReceivedAnyCommand();
    expectNoDistributionCalls();
  });
});

test('the SSM client retries in adaptive mode, up to 8 attempts', async () => {
  expect(ssmClient.config.retryMode).toBe('adaptive');
  expect(await ssmClient.config.maxAttempts()).toBe(8);
});

test('only the check\'s resource type is passed to the check, not the distribution\'s', () => {
  expect(isParameterCheck({ ResourceType: PARAMETER_CHECK_RESOURCE_TYPE })).toBe(true);
  expect(isParameterCheck({ ResourceType: DISTRIBUTION_RESOURCE_TYPE })).toBe(false);
});
