import { DISTRIBUTION_RESOURCE_TYPE } from '../../../lib/image-distribution/shared';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { OWNER } from '../../helpers/event';

/** What the distribution's handler tests share: the image, its tags, the lookups and the request fields. */
export const AMI = 'ami-0aaaaaaaaaaaaaaaa';
export const NAME = 'TestStack-Image-current';
export const OLD_NAME = 'TestStack-Image-old';
export const TAGS = [{ Key: OWNER_TAG, Value: OWNER }, { Key: IMAGE_NAME_TAG, Value: NAME }];
export const byName = (name: string) => ({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] });
export const owned = { Owners: ['self'], Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [OWNER] }] };

export const PROPS = { ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:framework-onEvent', ImageId: AMI, Owner: OWNER, RemovalPolicy: 'destroy' as const };
export const COMMON = {
  ServiceToken: PROPS.ServiceToken,
  ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/SECRET-PRESIGNED',
  StackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/TestStack/guid',
  RequestId: 'request-1',
  LogicalResourceId: 'Distribution',
  ResourceType: DISTRIBUTION_RESOURCE_TYPE,
};
/** An organization and one of its OUs, as launch permissions name them. */
export const ORG = 'arn:aws:organizations::123456789012:organization/o-abcdefghij';
export const OU = 'arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34';
