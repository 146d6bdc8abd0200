import type { DescribeStackResourceCommandOutput, DescribeStacksCommandOutput, StackStatus } from '@aws-sdk/client-cloudformation';
import type { IsCompleteRequest, OnEventRequest } from '../../lib/instance-image/runtime/types';
import type { ImageResourceProperties } from '../../lib/instance-image/shared';

/** An owner id of one deployment: the stack's name, the construct's path, and the stack's UUID (the end of its StackId). */
export const OWNER = 'TestStack/Image@51af3dc0-da77-11e4-872e-1234567db123';

export const PROPS: ImageResourceProperties & { ServiceToken: string } = {
  ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:framework-onEvent',
  InstanceId: 'i-0123456789abcdef0',
  ImageNamePrefix: 'TestStack-Image',
  Description: 'test image',
  NoReboot: 'false',
  Owner: OWNER,
  RemovalPolicy: 'destroy',
};

const COMMON = {
  ServiceToken: PROPS.ServiceToken,
  ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/SECRET-PRESIGNED',
  StackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/TestStack/guid',
  RequestId: 'request-1',
  LogicalResourceId: 'Image',
  ResourceType: 'Custom::InstanceImage',
};

type Overrides = Partial<ImageResourceProperties>;

export function createEvent(props: Overrides = {}): OnEventRequest {
  return { ...COMMON, RequestType: 'Create', ResourceProperties: { ...PROPS, ...props } };
}

export function updateEvent(physicalResourceId: string, props: Overrides = {}, oldProps: Overrides = {}): OnEventRequest {
  return {
    ...COMMON,
    RequestType: 'Update',
    PhysicalResourceId: physicalResourceId,
    ResourceProperties: { ...PROPS, ...props },
    OldResourceProperties: { ...PROPS, ...oldProps },
  };
}

export function deleteEvent(physicalResourceId: string, props: Overrides = {}): OnEventRequest {
  return { ...COMMON, RequestType: 'Delete', PhysicalResourceId: physicalResourceId, ResourceProperties: { ...PROPS, ...props } };
}

/** The event the framework passes to isComplete: the request merged with onEvent's answer. */
export function isCompleteEvent(request: OnEventRequest, response: object): IsCompleteRequest {
  return { ...request, ...response } as IsCompleteRequest;
}

/** An error as the SDK throws it for an EC2 error code. */
export function ec2Error(name: string): Error {
  return Object.assign(new Error(`${name} from EC2`), { name });
}

/** An error as the SDK throws it for a CloudFormation error code, with CloudFormation's message. */
export function cloudFormationError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/**
 * DescribeStackResource's answer when CloudFormation records `physicalResourceId`
 * for the resource of these events. Equal to a Delete's own physical id, it means
 * the resource itself is deleted (stack delete, resource removed from the template).
 */
export function stackResource(physicalResourceId: string): DescribeStackResourceCommandOutput {
  return {
    $metadata: {},
    StackResourceDetail: {
      StackId: COMMON.StackId,
      StackName: 'TestStack',
      LogicalResourceId: COMMON.LogicalResourceId,
      PhysicalResourceId: physicalResourceId,
      ResourceType: COMMON.ResourceType,
      ResourceStatus: 'DELETE_IN_PROGRESS',
      LastUpdatedTimestamp: new Date('2026-01-01T00:00:00.000Z'),
    },
  };
}

/** DescribeStacks' answer for the stack of these events, in `status` (UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS: a rollback's cleanup). */
export function stackStatus(status: StackStatus): DescribeStacksCommandOutput {
  return { $metadata: {}, Stacks: [{ StackId: COMMON.StackId, StackName: 'TestStack', StackStatus: status, CreationTime: new Date('2026-01-01T00:00:00.000Z') }] };
}
