import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { COPY_REGIONS_TAG, OWNER_TAG } from '../shared/names';
import { describePolicy, ec2Finding, readOwnStackResource } from '../shared/permissions';

/** What the handlers of one ImageDistribution are granted. */
export interface DistributionPermissionsProps {
  readonly onEvent: lambda.Function;
  readonly isComplete: lambda.Function;
  /** The owner tag's value of the image, its snapshots and its copies. */
  readonly owner: string;
  /** The owner tag's value before it named the deployment: DeregisterImage and DeleteSnapshot only, for the copies of the image an upgrade replaces. */
  readonly legacyOwner: string;
  /** The image distributed (a token): the only image CopyImage may read. */
  readonly imageId: string;
  /** Regions the image is copied to. */
  readonly copyToRegions: readonly string[];
  /** Key that encrypts the copies. */
  readonly copyKmsKeyArn?: string;
  /** Key that encrypts the instance's volumes, hence the image's snapshots. */
  readonly volumeKey?: kms.IKey;
}

/**
 * Least privilege for the distribution's handlers. Every mutation is on
 * images and snapshots carrying the image's owner tag. Sharing and
 * deprecation, in this region and the copy regions only; deregistration and
 * snapshot deletion in any region, for copies in regions since dropped from
 * copyToRegions (the handler removes them). CopyImage reads only the image
 * distributed. The only `*` resources are the read-only Describe policies.
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
  // The image and its copies are shared and deprecated where they are: this
  // region and the copy regions, no other.
  const homeAndCopies = [stack.region, ...props.copyToRegions];
  isComplete.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:ModifyImageAttribute', 'ec2:DescribeImageAttribute', 'ec2:EnableImageDeprecation', 'ec2:DisableImageDeprecation'],
    resources: homeAndCopies.map((region) => inRegion(stack, region, 'image')),
    conditions: ownedByThis,
  }));
  // Deregistration in any region: a copy in a region since dropped from copyToRegions is removed too; and the
  // copies of the image an upgrade replaces, tagged with the owner value of before (the handler removes only those).
  const removable = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: [props.owner, props.legacyOwner] } };
  isComplete.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DeregisterImage'], resources: [anyRegion('image')], conditions: removable }));
  isComplete.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DeleteSnapshot'], resources: [anyRegion('snapshot')], conditions: removable }));
  const acks = new Acknowledgements(isComplete);
  acks.add(ec2Finding(stack, 'image', '*'), 'DeregisterImage applies only to images carrying the image\'s owner tag (aws:ResourceTag: this deployment\'s, ' +
    'or the value of before it named the deployment, for the copies of the image an upgrade replaces), in any region ' +
    'so that copies are removed even after their region is dropped from copyToRegions.');
  acks.add(ec2Finding(stack, 'snapshot', '*'), 'DeleteSnapshot applies only to snapshots carrying the image\'s owner tag (aws:ResourceTag: this deployment\'s, ' +
    'or the value of before it named the deployment), in any region, for the snapshots of copies.');
  acks.add(ec2Finding(stack, 'image'), 'ModifyImageAttribute, DescribeImageAttribute and the deprecation actions apply only to images carrying the image\'s owner tag (aws:ResourceTag) in this region' +
    (props.copyToRegions.length > 0 ? `; CreateTags only to add the ${COPY_REGIONS_TAG} tag key (aws:TagKeys) to them.` : '.'));
  for (const region of props.copyToRegions) {
    acks.add(ec2Finding(stack, 'image', region), `ModifyImageAttribute, DescribeImageAttribute and the deprecation actions apply only to copies carrying the image's owner tag (aws:ResourceTag) in ${region}.`);
  }

  grantCopies(isComplete, props, acks);
  acks.apply();
}

/**
 * CopyImage into the listed regions, and KMS use of the keys involved. The copy
 * must be requested with this construct's owner tag, so the cleanup
 * permissions apply to it.
 */
function grantCopies(isComplete: lambda.Function, props: DistributionPermissionsProps, acks: Acknowledgements): void {
  const regions = props.copyToRegions;
  if (regions.length === 0) return;
  const stack = Stack.of(isComplete);
  const viaEc2 = (region: string) => `ec2.${region}.${stack.urlSuffix}`;
  // The source image. Since October 28, 2024 CopyImage authorizes the source
  // AMI as a resource (EC2 User Guide, "Grant permissions to copy Amazon EC2
  // AMIs"; Service Authorization Reference, CopyImage: image, with
  // aws:RequestTag, aws:TagKeys, ec2:ImageID and ec2:Owner, no aws:ResourceTag).
  // The image's id is known at deploy: its ARN in this region, and no other
  // image, so the role cannot copy (and then share) any other AMI of the account.
  isComplete.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:CopyImage'],
    resources: [stack.formatArn({ service: 'ec2', account: '', resource: 'image', resourceName: props.imageId })],
  }));
  const targets = regions.flatMap((r) => [inRegion(stack, r, 'image'), inRegion(stack, r, 'snapshot')]);
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
  // The regions copied to, recorded on the source image before its first copy there (COPY_REGIONS_TAG): that tag key
  // only (aws:TagKeys), on images of this deployment (aws:ResourceTag) in this region.
  isComplete.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:CreateTags'],
    resources: [inRegion(stack, stack.region, 'image')],
    conditions: {
      'StringEquals': { [`aws:ResourceTag/${OWNER_TAG}`]: props.owner },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [COPY_REGIONS_TAG] },
    },
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

  for (const region of regions) {
    for (const resource of ['image', 'snapshot']) {
      acks.add(ec2Finding(stack, resource, region),
        `The copy's ${resource} ids in ${region} are not known before CopyImage; CopyImage requires the owner tag in the request (aws:RequestTag) and CreateTags is allowed only within CopyImage (ec2:CreateAction).`);
    }
  }
}

/**
 * GetParameter on the `ssmParameterName` parameter only, for the check that SSM
 * accepted the image id (runtime/parameter.ts). GetParameter is authorized on
 * the `parameter` resource type (Service Authorization Reference, AWS Systems
 * Manager, actions table: ssm:GetParameter, Read, `parameter*`, ARN
 * `arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}`):
 * this one ARN, no wildcard. No kms:Decrypt: the parameter is a String, not a SecureString.
 *
 * The ARN is made from the name, not from the parameter's Ref: the parameter
 * waits for the distribution, which waits for this role's policy, so a Ref
 * here would be a dependency cycle. A name given as a token is taken as a path
 * (starting with "/"): its form is not known at synth.
 */
export function grantParameterRead(isComplete: lambda.Function, parameterName: string): void {
  const stack = Stack.of(isComplete);
  const arn = Token.isUnresolved(parameterName)
    ? stack.formatArn({ service: 'ssm', resource: `parameter${parameterName}`, arnFormat: ArnFormat.NO_RESOURCE_NAME })
    : stack.formatArn({ service: 'ssm', resource: 'parameter', arnFormat: ArnFormat.SLASH_RESOURCE_NAME, resourceName: parameterName.replace(/^\//, '') });
  isComplete.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [arn] }));
}

/** `arn:<partition>:ec2:<region>::<resource>/*`. */
function inRegion(stack: Stack, region: string, resource: string): string {
  return stack.formatArn({ service: 'ec2', account: '', region, resource, resourceName: '*' });
}

/**
 * The cdk-nag acknowledgements of one role's default policy, one per finding:
 * a finding two statements share (a copy region's images, say) gets the
 * reasons of both.
 */
class Acknowledgements {
  private readonly reasons = new Map<string, string[]>();

  constructor(private readonly fn: lambda.Function) {}

  public add(id: string, reason: string): void {
    this.reasons.set(id, [...(this.reasons.get(id) ?? []), reason]);
  }

  public apply(): void {
    const policy = Validations.of(this.fn.role!.node.findChild('DefaultPolicy'));
    for (const [id, reasons] of this.reasons) policy.acknowledge({ id, reason: reasons.join(' ') });
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
