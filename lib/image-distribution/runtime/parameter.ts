import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { appendKeys, log } from '../../shared/runtime/log';
import { DEFAULT_PARAMETER_ACCEPT_SECONDS, ENV_PARAMETER_ACCEPT_SECONDS, PARAMETER_CHECK_RESOURCE_TYPE, ParameterCheckProperties } from '../shared';

/**
 * The `Custom::ImageParameterCheck` resource, served by the distribution's
 * handlers: after the `AWS::SSM::Parameter` of `ssmParameterName`, the deploy
 * goes on only once GetParameter returns the promoted image id.
 *
 * PutParameter with the data type `aws:ec2:image` answers HTTP 200 before SSM
 * has validated the value: "If you submit an invalid AMI value, the
 * PutParameter operation will return success, but the asynchronous validation
 * will fail and the parameter will not be created or updated" (Systems Manager
 * API Reference, PutParameter, DataType). CloudFormation reports the parameter
 * written all the same; without this check a deploy would succeed with the
 * parameter still naming the previous image, or missing.
 */

/** One client per container, retried by the SDK like the EC2 client. `AWS_ENDPOINT_URL_SSM` points it at an emulator in tests. */
export const ssm = new SSMClient({ retryMode: 'adaptive', maxAttempts: 8 });

export type ParameterCheckEvent = CloudFormationCustomResourceEvent<ParameterCheckProperties>;

export interface ParameterCheckEventResponse {
  /** The parameter name: a new name is a new check, and the old one's Delete has nothing to do. */
  readonly PhysicalResourceId: string;
  /** Create, Update: ISO time of onEvent, after CloudFormation wrote the parameter; the bound runs from it. */
  readonly CheckStartedAt?: string;
}

export type ParameterCheckCompleteRequest = ParameterCheckEvent & ParameterCheckEventResponse;

/** True for the check's requests, which the distribution's handlers pass on to this module. */
export function isParameterCheck<E extends { readonly ResourceType: string }>(event: E): event is Extract<E, { readonly ResourceProperties: ParameterCheckProperties }> {
  return event.ResourceType === PARAMETER_CHECK_RESOURCE_TYPE;
}

export async function onParameterCheckEvent(event: ParameterCheckEvent): Promise<ParameterCheckEventResponse> {
  appendKeys({ requestId: event.RequestId, logicalResourceId: event.LogicalResourceId, requestType: event.RequestType });
  log.info('parameter check event received', { resourceProperties: event.ResourceProperties });
  if (event.RequestType === 'Delete') {
    // The parameter is CloudFormation's own resource: the check leaves nothing to remove.
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  return { PhysicalResourceId: event.ResourceProperties.ParameterName, CheckStartedAt: new Date().toISOString() };
}

/**
 * Complete once the parameter holds the image id. While it is missing or holds
 * another value, SSM may still be validating; after the bound, the value was
 * refused and the deploy fails, naming both values. Any other error of
 * GetParameter (access denied, say) fails it at once.
 */
export async function isParameterCheckComplete(event: ParameterCheckCompleteRequest): Promise<{ IsComplete: boolean }> {
  appendKeys({ requestId: event.RequestId, logicalResourceId: event.LogicalResourceId, requestType: event.RequestType });
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const { ParameterName: name, ImageId: imageId } = event.ResourceProperties;
  const value = await parameterValue(name);
  if (value === imageId) {
    log.info('parameter holds the image id', { parameterName: name, imageId });
    return { IsComplete: true };
  }
  const bound = Number(process.env[ENV_PARAMETER_ACCEPT_SECONDS] ?? DEFAULT_PARAMETER_ACCEPT_SECONDS);
  const age = event.CheckStartedAt ? (Date.now() - Date.parse(event.CheckStartedAt)) / 1000 : Infinity;
  if (age <= bound) {
    log.info('parameter does not hold the image id yet (SSM validates aws:ec2:image asynchronously)', {
      parameterName: name, imageId, value: value ?? null, secondsSinceWrite: Math.round(age),
    });
    return { IsComplete: false };
  }
  throw new Error(`SSM did not accept the image id ${imageId} for the aws:ec2:image parameter ${name}: ` +
    `${bound} seconds after CloudFormation wrote it, the parameter ${value === undefined ? 'does not exist' : `still holds ${value}`}. ` +
    'SSM validates an aws:ec2:image value asynchronously and leaves the parameter unchanged when the AMI is invalid or not available to this account');
}

/** The parameter's value, or undefined while it does not exist. */
async function parameterValue(name: string): Promise<string | undefined> {
  try {
    return (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (e) {
    if ((e as Error).name === 'ParameterNotFound') return undefined;
    throw e;
  }
}
