import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { OWNER_TAG } from '../shared/names';
import { describePolicy, ec2Finding, readOwnStackResource } from '../shared/permissions';

/** What the handlers of one ImageDistribution are granted. */
export interface DistributionPermissionsProps {
  readonly onEvent: lambda.Function;
  readonly isComplete: lambda.Function;
  /** The owner tag's value of the image, its snapshots and its copies. */
  readonly owner: string;
  /** Regions the image is copied to. */
  readonly copyToRegions: readonly string[];
  /** Key that encrypts the copies. */
  readonly copyKmsKeyArn?: string;
  /** Key that encrypts the instance's volumes, hence the image's snapshots. */
  readonly volumeKey?: kms.IKey;
}

/**
 * Least privilege for the distribution's handlers. Every mutation is on
 * images and snapshots carrying the image's owner tag, in any region: the
 * image here and its copies, including copies in regions since dropped from
 * copyToRegions (the handler removes them). The only `*` resources are the
 * read-only Describe policies.
 *
 * onDistributionEvent: DescribeImages; DescribeStackResource on this stack.
 * isDistributionComplete: DescribeImages, DescribeSnapshots; ModifyImageAttribute,
 * DescribeImageAttribute, the deprecation actions, DeregisterImage (copies) and
 * DeleteSnapshot (their snapshots); CopyImage with the KMS use it needs.
 */
export function grantDistributionPermissions(scope: Construct, props: DistributionPermissionsProps): void {
  const { onEvent, isComplete } = props;
  const stack = Stack.of(scope);
  const anyRegion = (resource: string) => stack.formatArn({ service: 'ec2', account: '', region: '*', resource, resourceName: '*' });
  const ownedByThis = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: props.owner } };

  describePolicy(scope, 'OnEventDescribePolicy', onEvent, ['ec2:DescribeImages']);
  describePolicy(scope, 'IsCompleteDescribePolicy', isComplete, ['ec2:DescribeImages', 'ec2:DescribeSnapshots']);
  onEvent.addToRolePolicy(readOwnStackResource(stack));

  // ModifyImageAttribute sets ImdsSupport and the launch permissions of
  // shareWithAccounts/shareWithOrganizationArns; the handler removes a public
  // "all" permission rather than adding one (and EC2 refuses to make an AMI
  // with encrypted snapshots public). DescribeImageAttribute supports
  // aws:ResourceTag on image, so it is scoped like the changes it reads for.
  isComplete.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:ModifyImageAttribute', 'ec2:DescribeImageAttribute', 'ec2:EnableImageDeprecation', 'ec2:DisableImageDeprecation', 'ec2:DeregisterImage'],
    resources: [anyRegion('image')],
    conditions: ownedByThis,
  }));
  isComplete.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DeleteSnapshot'], resources: [anyRegion('snapshot')], conditions: ownedByThis }));
  const policy = isComplete.role!.node.findChild('DefaultPolicy');
  Validations.of(policy).acknowledge({
    id: ec2Finding(stack, 'image', '*'),
    reason: 'ModifyImageAttribute, DescribeImageAttribute, the deprecation actions and DeregisterImage apply only to images carrying the image\'s owner tag ' +
      '(aws:ResourceTag), in any region so that copies are cleaned up even after their region is dropped from copyToRegions.',
  });
  Validations.of(policy).acknowledge({
    id: ec2Finding(stack, 'snapshot', '*'),
    reason: 'DeleteSnapshot applies only to snapshots carrying the image\'s owner tag (aws:ResourceTag), in any region, for the snapshots of copies.',
  });

  grantCopies(isComplete, props);
}

/**
 * CopyImage into the listed regions, and KMS use of the keys involved. The copy
 * must be requested with this construct's owner tag, so the cleanup
 * permissions apply to it.
 */
function grantCopies(isComplete: lambda.Function, props: DistributionPermissionsProps): void {
  const regions = props.copyToRegions;
  if (regions.length === 0) return;
  const stack = Stack.of(isComplete);
  const inRegion = (region: string, resource: string) => stack.formatArn({ service: 'ec2', account: '', region, resource, resourceName: '*' });
  const viaEc2 = (region: string) => `ec2.${region}.${stack.urlSuffix}`;
  // The source image. Since October 2024 CopyImage authorizes the source AMI
  // as a resource, with the condition keys aws:RequestTag, aws:TagKeys,
  // ec2:ImageID and ec2:Owner only: an aws:ResourceTag condition would never
  // match, and every copy would be denied. Images of this account, in this region.
  isComplete.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:CopyImage'],
    resources: [stack.formatArn({ service: 'ec2', account: '', resource: 'image', resourceName: '*' })],
    conditions: { StringEquals: { 'ec2:Owner': stack.account } },
  }));
  const targets = regions.flatMap((r) => [inRegion(r, 'image'), inRegion(r, 'snapshot')]);
  isComplete.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:CopyImage'],
    resources: targets,
    conditions: { StringEquals: { [`aws:RequestTag/${OWNER_TAG}`]: props.owner } },
  }));
  isComplete.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:CreateTags'],
    resources: targets,
    conditions: { StringEquals: { 'ec2:CreateAction': 'CopyImage' } },
  }));

  // The copies' key, used by EC2 in each copy region on the function's behalf
  // (kms:ViaService). No kms:Encrypt: EBS encrypts with data keys it generates.
  if (props.copyKmsKeyArn) {
    const kmsKeyArn = props.copyKmsKeyArn;
    for (const region of regions) {
      const key = kmsKeyArn.includes(':key/mrk-') ? kmsKeyArn.replace(/^(arn:[^:]+:kms:)[^:]+:/, `$1${region}:`) : kmsKeyArn;
      grantKeyToEc2(isComplete, key,
        ['kms:DescribeKey', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKeyWithoutPlaintext'], viaEc2(region));
    }
  }
  // The source snapshots' key, read by EC2 in this region to copy them.
  if (props.volumeKey) {
    grantKeyToEc2(isComplete, props.volumeKey.keyArn, ['kms:DescribeKey', 'kms:Decrypt', 'kms:ReEncryptFrom'], viaEc2(stack.region));
  }

  const policy = isComplete.role!.node.findChild('DefaultPolicy');
  Validations.of(policy).acknowledge({
    id: ec2Finding(stack, 'image'),
    reason: 'CopyImage reads the source image, whose id is not known at synth; only images this account owns (ec2:Owner), in this region. ' +
      'CopyImage supports no aws:ResourceTag condition on the source image.',
  });
  for (const region of regions) {
    for (const resource of ['image', 'snapshot']) {
      Validations.of(policy).acknowledge({
        id: ec2Finding(stack, resource, region),
        reason: `The copy's ${resource} ids in ${region} are not known before CopyImage; CopyImage requires the owner tag in the request (aws:RequestTag) and CreateTags is allowed only within CopyImage (ec2:CreateAction).`,
      });
    }
  }
}

/** KMS actions on one key, only through EC2 in one region; grants only for AWS resources (the snapshots). */
function grantKeyToEc2(fn: lambda.Function, keyArn: string, actions: string[], viaService: string): void {
  const via = { 'kms:ViaService': viaService };
  fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [keyArn], conditions: { StringEquals: via } }));
  fn.addToRolePolicy(new iam.PolicyStatement({
    actions: ['kms:CreateGrant'],
    resources: [keyArn],
    conditions: { StringEquals: via, Bool: { 'kms:GrantIsForAWSResource': true } },
  }));
}
