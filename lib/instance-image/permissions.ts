import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { OWNER_TAG } from './shared';

/** What the handlers of one InstanceImage are granted. */
export interface ImagePermissionsProps {
  /** The function that starts the image (and, with `stopInstance`, stops the instance). */
  readonly onEvent: lambda.Function;
  /** The function that polls, cleans up and distributes. */
  readonly isComplete: lambda.Function;
  /** The id of the instance imaged. */
  readonly instanceId: string;
  /** The owner tag's value of this construct's images and snapshots. */
  readonly owner: string;
  /** Whether the handlers stop the instance first (then `isComplete` makes the image). */
  readonly stopInstance: boolean;
  /** Regions the image is copied to. */
  readonly copyToRegions: readonly string[];
  /** Key that encrypts the copies. */
  readonly copyKmsKeyArn?: string;
  /** Key that encrypts the instance's volumes, hence the image's snapshots. */
  readonly volumeKey?: kms.IKey;
}

/**
 * Least privilege for the handlers, each granted only what its own code calls.
 * Mutations are scoped to the instance and to images and snapshots carrying
 * this construct's owner tag, so the functions cannot touch any other AMI in
 * the account. Nothing mutating is granted on `*`: the only `*` are the
 * read-only Describe policies, kept apart so that their cdk-nag
 * acknowledgements cover nothing else.
 *
 * onEvent: DescribeImages, CreateImage (+ CreateTags within it), DeregisterImage (+ DeleteSnapshot,
 * which its DeleteAssociatedSnapshots needs);
 * with `stopInstance` DescribeInstances and StopInstances instead of CreateImage.
 * isComplete: DescribeImages, DescribeSnapshots, DeleteSnapshot, DeregisterImage,
 * ModifyImageAttribute, DescribeImageAttribute, the deprecation actions and
 * CopyImage; with `stopInstance` also DescribeInstances, StopInstances and CreateImage.
 */
export function grantImagePermissions(scope: Construct, props: ImagePermissionsProps): void {
  const { onEvent, isComplete, stopInstance } = props;
  const stack = Stack.of(scope);
  // Images and snapshots of this construct in any region: the image here and
  // its copies, including copies in regions since dropped from copyToRegions.
  const ownImageArn = anyRegion(stack, 'image');
  const ownSnapshotArn = anyRegion(stack, 'snapshot');
  const ownedByThis = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: props.owner } };
  const instanceArn = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: props.instanceId });

  // EC2 has no resource-level permissions for these Describe* actions: they accept only '*'.
  const instances = stopInstance ? ['ec2:DescribeInstances'] : [];
  describePolicy(scope, 'OnEventDescribePolicy', onEvent, ['ec2:DescribeImages', ...instances]);
  describePolicy(scope, 'IsCompleteDescribePolicy', isComplete, ['ec2:DescribeImages', 'ec2:DescribeSnapshots', ...instances]);

  // The function that makes the image: onEvent, or isComplete once the instance is stopped.
  const creator = stopInstance ? isComplete : onEvent;
  grantCreateImage(creator, instanceArn, props.owner);
  if (stopInstance) {
    // StopInstances is authorized on the instance: this one only.
    for (const fn of [onEvent, isComplete]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:StopInstances'], resources: [instanceArn] }));
    }
  }

  const deregisterOwned = new iam.PolicyStatement({ actions: ['ec2:DeregisterImage'], resources: [ownImageArn], conditions: ownedByThis });
  // DeregisterImage's DeleteAssociatedSnapshots deletes the snapshots as the caller, so it needs
  // ec2:DeleteSnapshot on them (else EC2 reports each as `missing-permissions` and leaves it).
  const deleteOwnedSnapshots = new iam.PolicyStatement({ actions: ['ec2:DeleteSnapshot'], resources: [ownSnapshotArn], conditions: ownedByThis });
  onEvent.addToRolePolicy(deregisterOwned);
  onEvent.addToRolePolicy(deleteOwnedSnapshots);

  // ModifyImageAttribute sets ImdsSupport and the launch permissions of
  // shareWithAccounts/shareWithOrganizationArns; the handler removes a public
  // "all" permission rather than adding one (and EC2 refuses to make an AMI
  // with encrypted snapshots public). DescribeImageAttribute supports
  // aws:ResourceTag on image, so it is scoped like the changes it reads for.
  isComplete.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:ModifyImageAttribute', 'ec2:DescribeImageAttribute', 'ec2:EnableImageDeprecation', 'ec2:DisableImageDeprecation'],
    resources: [ownImageArn],
    conditions: ownedByThis,
  }));
  isComplete.addToRolePolicy(deregisterOwned);
  isComplete.addToRolePolicy(deleteOwnedSnapshots);

  const creatorPolicy = creator.role!.node.findChild('DefaultPolicy');
  for (const resource of ['image', 'snapshot']) {
    Validations.of(creatorPolicy).acknowledge({
      id: ec2Finding(stack, resource),
      reason: `${resource === 'image' ? 'Image' : 'Snapshot'} ids are not known before CreateImage. CreateImage on ${resource}/* requires the owner tag in the request (aws:RequestTag); ` +
        'CreateTags only within CreateImage (ec2:CreateAction).',
    });
  }
  for (const fn of [onEvent, isComplete]) {
    Validations.of(fn.role!.node.findChild('DefaultPolicy')).acknowledge({
      id: ec2Finding(stack, 'image', '*'),
      reason: 'DeregisterImage, ModifyImageAttribute, DescribeImageAttribute and the deprecation actions apply only to images carrying this construct\'s owner tag ' +
        '(aws:ResourceTag), in any region so that copies are cleaned up even after their region is dropped from copyToRegions.',
    });
  }
  for (const fn of [onEvent, isComplete]) {
    Validations.of(fn.role!.node.findChild('DefaultPolicy')).acknowledge({
      id: ec2Finding(stack, 'snapshot', '*'),
      reason: 'DeleteSnapshot (directly, or through DeregisterImage\'s DeleteAssociatedSnapshots) applies only to snapshots carrying this construct\'s owner tag ' +
        '(aws:ResourceTag), in any region, for the snapshots of copies.',
    });
  }

  grantCopies(isComplete, props);
}

/**
 * CreateImage is authorized on the instance and on the image and snapshots it
 * creates. The instance ARN pins the source; the image and snapshots must be
 * requested with this construct's owner tag (aws:RequestTag is a condition key
 * of CreateImage's image and snapshot resources), so the function can make
 * only images it can later find and delete. Tags only as part of CreateImage:
 * never on an existing resource, so the owner tag that the conditions rely on
 * cannot be forged on someone else's AMI.
 */
function grantCreateImage(fn: lambda.Function, instanceArn: string, owner: string): void {
  const stack = Stack.of(fn);
  const created = ['image', 'snapshot'].map((resource) => stack.formatArn({ service: 'ec2', account: '', resource, resourceName: '*' }));
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:CreateImage'], resources: [instanceArn] }));
  fn.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:CreateImage'],
    resources: created,
    conditions: { StringEquals: { [`aws:RequestTag/${OWNER_TAG}`]: owner } },
  }));
  fn.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:CreateTags'],
    resources: created,
    conditions: { StringEquals: { 'ec2:CreateAction': 'CreateImage' } },
  }));
}

/** A read-only policy on `*`, of one function, that the function waits for. */
function describePolicy(scope: Construct, id: string, fn: lambda.Function, actions: string[]): void {
  const policy = new iam.Policy(scope, id, {
    statements: [new iam.PolicyStatement({ actions, resources: ['*'] })],
    roles: [fn.role!],
  });
  // A separate policy is not one the function waits for by itself.
  fn.node.addDependency(policy);
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `${actions.join(', ')}: read-only, and granted on "*" because EC2 offers no resource-level permission for them. ` +
      'This policy holds nothing else; every mutating action is in the role\'s own policy, scoped by ARN and owner tag.',
  });
}

/**
 * CopyImage into the listed regions, and KMS use of the keys involved. The copy
 * must be requested with this construct's owner tag, so the cleanup
 * permissions apply to it.
 */
function grantCopies(isComplete: lambda.Function, props: ImagePermissionsProps): void {
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

/**
 * The cdk-nag IAM5 finding for `arn:<partition>:ec2:<region>::<resource>/*`,
 * as cdk-nag names it: tokens as `<AWS::Partition>`, values as themselves
 * (a stack with an explicit env has a concrete partition and region).
 */
function ec2Finding(stack: Stack, resource: string, region?: string): string {
  const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
  const where = region ?? (Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region);
  return `AwsSolutions-IAM5[Resource::arn:${partition}:ec2:${where}::${resource}/*]`;
}

/** `arn:<partition>:ec2:*::<resource>/*`: this construct's images or snapshots in any region (always narrowed by its owner tag). */
function anyRegion(stack: Stack, resource: string): string {
  return stack.formatArn({ service: 'ec2', account: '', region: '*', resource, resourceName: '*' });
}
