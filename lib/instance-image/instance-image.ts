import * as path from 'node:path';
import { CfnElement, CustomResource, Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import {
  checkAccounts,
  checkCopyKmsKeyArn,
  checkCopyRegions,
  checkDeprecateAfterDays,
  checkDescription,
  checkImageName,
  checkOrganizationArns,
  checkSsmParameterName,
  checkTags,
} from '../validation';
import {
  COPIED_IMAGE_IDS_ATTRIBUTE,
  ENV_NOT_FOUND_GRACE_SECONDS,
  ImageResourceProperties,
  OWNER_TAG,
  RESOURCE_TYPE,
} from './shared';

/** Properties of {@link InstanceImage}. */
export interface InstanceImageProps {
  /**
   * The instance to make the image from. Make the image depend on whatever
   * must be finished first (a CreationPolicy-signalled bake does this by itself,
   * since the custom resource refers to the instance).
   */
  readonly instance: ec2.IInstance;

  /**
   * Prefix of the AMI name. The handler appends `-` and 16 hex digits of a hash
   * of the image's content-defining properties, so a replacement never
   * collides with the image it replaces. 3-111 characters of `A-Za-z0-9()[] ./-'@_`.
   *
   * @default - derived from the construct path, unique in the account and region
   */
  readonly imageName?: string;

  /**
   * Description of the AMI.
   *
   * @default - "Made by ami-from-instance from <construct path>"
   */
  readonly description?: string;

  /**
   * Take the image without rebooting the instance. Faster, but file-system
   * integrity of the image is not guaranteed.
   *
   * @default false - the instance is rebooted for a consistent file system
   */
  readonly noReboot?: boolean;

  /**
   * What happens to the AMI and its snapshots when the resource is deleted
   * (stack deletion, or replacement by a new image). `DESTROY` deregisters the
   * AMI and deletes its snapshots; `RETAIN` keeps both.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Tags for the AMI and its snapshots, applied at creation. Changing them makes a new image.
   *
   * @default - only the tags this construct sets (`Name`, `ami-from-instance:*`)
   */
  readonly tags?: Record<string, string>;

  /**
   * Any string. Changing it makes a fresh image with nothing else changed, for
   * example to pick up a new kernel on the next deploy.
   *
   * @default - no token: the image changes only when its source or settings do
   */
  readonly rebuildToken?: string;

  /**
   * How long to wait for the image to become available: at most 55 minutes.
   * CloudFormation waits at most an hour for a custom resource (`ServiceTimeout`),
   * and the waiter's attempts (`totalTimeout / queryInterval`) leave out the
   * time of each invocation, so the margin keeps its answer inside that hour.
   *
   * @default Duration.minutes(45)
   */
  readonly totalTimeout?: Duration;

  /**
   * How often to check whether the image is available. One DescribeImages call each time.
   *
   * @default Duration.seconds(30)
   */
  readonly queryInterval?: Duration;

  /**
   * AWS accounts given launch permission on the image (and its copies).
   * Applied in place: changing it keeps the image.
   *
   * @default - not shared
   */
  readonly shareWithAccounts?: string[];

  /**
   * Organization and OU ARNs given launch permission on the image (and its
   * copies). Applied in place. The image is never made public.
   *
   * @default - not shared
   */
  readonly shareWithOrganizationArns?: string[];

  /**
   * Regions to copy the image to with CopyImage. The copies have the image's
   * name and tags, are deleted with it, and are listed in `copiedImageIds`.
   * Regions added or removed later are copied to or cleaned up in place.
   *
   * @default - no copies
   */
  readonly copyToRegions?: string[];

  /**
   * KMS key ARN that encrypts the copies. With several regions it must be a
   * multi-Region key (`mrk-…`) replicated to each of them. Changing it makes a new image.
   *
   * @default - copies are encrypted as the source snapshots are
   */
  readonly copyKmsKeyArn?: string;

  /**
   * Deprecate the image (and its copies) this many days after its creation
   * (EnableImageDeprecation). Applied in place.
   *
   * @default - never deprecated
   */
  readonly deprecateAfterDays?: number;

  /**
   * Publish the image id to this SSM parameter (data type `aws:ec2:image`),
   * for launch templates and pipelines to resolve.
   *
   * @default - no parameter
   */
  readonly ssmParameterName?: string;

  /**
   * How long the handlers' logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Options of {@link InstanceImage.machineImage}. */
export interface InstanceImageMachineImageOptions {
  /**
   * Operating system of the image.
   *
   * @default ec2.OperatingSystemType.LINUX
   */
  readonly osType?: ec2.OperatingSystemType;

  /**
   * User data for instances launched from the image.
   *
   * @default - empty user data for the operating system
   */
  readonly userData?: ec2.UserData;
}

/**
 * Timing limits. CloudFormation gives a custom resource at most an hour
 * (ServiceTimeout 1-3600 s); the waiter's attempts leave out invocation time,
 * hence the 5-minute margin.
 */
export const MAX_TOTAL_TIMEOUT = Duration.minutes(55);
const SERVICE_TIMEOUT = Duration.hours(1);
const DEFAULT_TOTAL_TIMEOUT = Duration.minutes(45);
const DEFAULT_QUERY_INTERVAL = Duration.seconds(30);
const HANDLER_TIMEOUT = Duration.minutes(2);

/**
 * An AMI made from an EC2 instance by CreateImage, owned for its whole life by
 * CloudFormation: created when the resource is, replaced when the instance or
 * the image's settings change, deregistered with its snapshots on delete.
 *
 * ```ts
 * const image = new InstanceImage(this, 'Image', { instance: baked });
 * new ec2.Instance(this, 'FromImage', { machineImage: image.machineImage(), vpc, instanceType });
 * ```
 */
export class InstanceImage extends Construct {
  /** The AMI id. */
  public readonly imageId: string;

  /** The AMI name: the prefix, `-`, and a hash of the image's content. */
  public readonly imageName: string;

  /** `<region>=<image id>` of each copy, comma-separated; undefined without `copyToRegions`. */
  public readonly copiedImageIds?: string;

  /** The SSM parameter holding the image id, when `ssmParameterName` is set. */
  public readonly parameter?: ssm.IStringParameter;

  /** The value of the `ami-from-instance:owner` tag on the AMI and its snapshots. */
  public readonly owner: string;

  /** The function that starts CreateImage and DeregisterImage. */
  public readonly onEventHandler: lambda.IFunction;

  /** The function that polls the image and deletes snapshots. */
  public readonly isCompleteHandler: lambda.IFunction;

  private readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: InstanceImageProps) {
    super(scope, id);

    const totalTimeout = props.totalTimeout ?? DEFAULT_TOTAL_TIMEOUT;
    const queryInterval = props.queryInterval ?? DEFAULT_QUERY_INTERVAL;
    validateTiming(totalTimeout, queryInterval);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    if (removalPolicy !== RemovalPolicy.DESTROY && removalPolicy !== RemovalPolicy.RETAIN) {
      throw new Error(`removalPolicy must be RemovalPolicy.DESTROY or RemovalPolicy.RETAIN, got "${removalPolicy}"`);
    }
    const namePrefix = props.imageName ?? Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    validateProps(this, { ...props, imageName: namePrefix });

    const stack = Stack.of(this);
    this.owner = `${stack.stackName}/${this.node.path.slice(stack.node.path.length + 1)}`;

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const onEvent = this.handler('OnEvent', 'on-event.ts', 'onEvent', logRetention);
    const isComplete = this.handler('IsComplete', 'is-complete.ts', 'isComplete', logRetention);
    isComplete.addEnvironment(ENV_NOT_FOUND_GRACE_SECONDS, String(Math.min(300, totalTimeout.toSeconds())));
    this.grantImageLifecycle(onEvent, isComplete, props.instance);
    this.grantDistribution(isComplete, props.copyToRegions ?? [], props.copyKmsKeyArn);
    this.onEventHandler = onEvent;
    this.isCompleteHandler = isComplete;

    const providerLogs = new logs.LogGroup(this, 'ProviderLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent,
      isCompleteHandler: isComplete,
      totalTimeout,
      queryInterval,
      logGroup: providerLogs,
      // Two roles, as the Provider requires (one shared role would be a circular dependency through the waiter).
      frameworkOnEventRole: lambdaRole(this, 'ProviderOnEventRole', providerLogs),
      frameworkCompleteAndTimeoutRole: lambdaRole(this, 'ProviderWaiterRole', providerLogs),
    });
    this.acknowledgeProviderFindings(provider);

    const properties: ImageResourceProperties = {
      InstanceId: props.instance.instanceId,
      ImageNamePrefix: namePrefix,
      Description: props.description ?? `Made by ami-from-instance from ${this.node.path}`,
      NoReboot: props.noReboot ? 'true' : 'false',
      Owner: this.owner,
      RemovalPolicy: removalPolicy === RemovalPolicy.RETAIN ? 'retain' : 'destroy',
      Tags: props.tags && Object.keys(props.tags).length > 0 ? props.tags : undefined,
      RebuildToken: props.rebuildToken,
      ShareWithAccounts: nonEmpty(props.shareWithAccounts),
      ShareWithOrganizationArns: nonEmpty(props.shareWithOrganizationArns),
      DeprecateAfterDays: props.deprecateAfterDays !== undefined ? String(props.deprecateAfterDays) : undefined,
      CopyToRegions: nonEmpty(props.copyToRegions),
      CopyKmsKeyArn: props.copyKmsKeyArn,
    };

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: RESOURCE_TYPE,
      properties: { ...properties },
      // Explicit rather than CloudFormation's default: the whole hour, so the
      // waiter (at most 55 minutes plus invocation time) always answers first.
      serviceTimeout: SERVICE_TIMEOUT,
    });
    this.imageId = this.resource.getAttString('ImageId');
    this.imageName = this.resource.getAttString('ImageName');
    if (properties.CopyToRegions) {
      this.copiedImageIds = this.resource.getAttString(COPIED_IMAGE_IDS_ATTRIBUTE);
    }
    if (props.ssmParameterName) {
      this.parameter = new ssm.StringParameter(this, 'ImageIdParameter', {
        parameterName: props.ssmParameterName,
        stringValue: this.imageId,
        dataType: ssm.ParameterDataType.AWS_EC2_IMAGE,
        description: `AMI made by ami-from-instance from ${this.node.path}`,
      });
    }
  }

  /**
   * The image as an `ec2.IMachineImage`, for `ec2.Instance`, launch templates
   * and Auto Scaling groups.
   */
  public machineImage(options: InstanceImageMachineImageOptions = {}): ec2.IMachineImage {
    const osType = options.osType ?? ec2.OperatingSystemType.LINUX;
    const imageId = this.imageId;
    return {
      getImage: () => ({
        imageId,
        osType,
        userData: options.userData ?? (osType === ec2.OperatingSystemType.WINDOWS ? ec2.UserData.forWindows() : ec2.UserData.forLinux()),
      }),
    };
  }

  private handler(id: string, file: string, handlerName: string, retention: logs.RetentionDays): nodejs.NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention, removalPolicy: RemovalPolicy.DESTROY });
    return new nodejs.NodejsFunction(this, id, {
      entry: path.join(__dirname, 'runtime', file),
      handler: handlerName,
      // The newest Node.js runtime Lambda offers (cdk-nag L1 checks it).
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: HANDLER_TIMEOUT,
      logGroup,
      role: lambdaRole(this, `${id}Role`, logGroup),
      bundling: {
        minify: true,
        sourceMap: false,
        target: 'node24',
        // The runtime ships the SDK; the handlers must not rely on its newest
        // parameters (see DeregisterImage in runtime/ec2.ts).
        externalModules: ['@aws-sdk/*'],
      },
    });
  }

  /**
   * Least privilege for the handlers. Mutations are scoped to this instance and
   * to images and snapshots carrying this construct's owner tag, so the
   * functions cannot touch any other AMI in the account. Nothing mutating is
   * granted on `*`: the only `*` is the read-only Describe policy, kept apart
   * so that its cdk-nag acknowledgement covers nothing else.
   */
  private grantImageLifecycle(onEvent: lambda.Function, isComplete: lambda.Function, instance: ec2.IInstance): void {
    const stack = Stack.of(this);
    // Image and snapshot ARNs have no account field; their ids are not known
    // before CreateImage, hence `*`, narrowed by the tag conditions below.
    const imageArn = stack.formatArn({ service: 'ec2', account: '', resource: 'image', resourceName: '*' });
    const snapshotArn = stack.formatArn({ service: 'ec2', account: '', resource: 'snapshot', resourceName: '*' });
    const instanceArn = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: instance.instanceId });
    // Images and snapshots of this construct in any region: the image here and
    // its copies, including copies in regions since dropped from copyToRegions.
    const ownImageArn = anyRegion(stack, 'image');
    const ownSnapshotArn = anyRegion(stack, 'snapshot');
    const ownedByThis = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: this.owner } };

    // EC2 has no resource-level permissions for Describe* actions: they accept only '*'.
    const describe = new iam.Policy(this, 'DescribePolicy', {
      statements: [new iam.PolicyStatement({
        actions: ['ec2:DescribeImages', 'ec2:DescribeSnapshots', 'ec2:DescribeImageAttribute'],
        resources: ['*'],
      })],
      roles: [onEvent.role!, isComplete.role!],
    });
    // A separate policy is not one the functions wait for by themselves.
    onEvent.node.addDependency(describe);
    isComplete.node.addDependency(describe);
    Validations.of(describe).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeImages, ec2:DescribeSnapshots and ec2:DescribeImageAttribute are read-only and are granted on "*": EC2 offers no resource-level permission for the first two. ' +
        'This policy holds nothing else; every mutating action is in the roles\' own policies, scoped by ARN and owner tag.',
    });

    const deregisterOwned = new iam.PolicyStatement({
      actions: ['ec2:DeregisterImage'],
      resources: [ownImageArn],
      conditions: ownedByThis,
    });
    // Also what DeregisterImage with DeleteAssociatedSnapshots needs for the snapshots.
    const deleteOwnedSnapshots = new iam.PolicyStatement({
      actions: ['ec2:DeleteSnapshot'],
      resources: [ownSnapshotArn],
      conditions: ownedByThis,
    });

    // CreateImage is authorized on the instance and on the image and snapshots it
    // creates. The instance ARN pins the source; the image and snapshots must be
    // requested with this construct's owner tag (aws:RequestTag is a condition key
    // of CreateImage's image and snapshot resources), so the function can make
    // only images it can later find and delete.
    onEvent.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateImage'],
      resources: [instanceArn],
    }));
    onEvent.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateImage'],
      resources: [imageArn, snapshotArn],
      conditions: { StringEquals: { [`aws:RequestTag/${OWNER_TAG}`]: this.owner } },
    }));
    // Tags only as part of CreateImage: never on an existing resource, so the
    // owner tag that the conditions rely on cannot be forged on someone else's AMI.
    onEvent.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateTags'],
      resources: [imageArn, snapshotArn],
      conditions: { StringEquals: { 'ec2:CreateAction': 'CreateImage' } },
    }));
    onEvent.addToRolePolicy(deregisterOwned);
    onEvent.addToRolePolicy(deleteOwnedSnapshots);

    // ModifyImageAttribute sets ImdsSupport and the launch permissions of
    // shareWithAccounts/shareWithOrganizationArns; the handler removes a public
    // "all" permission rather than adding one (and EC2 refuses to make an AMI
    // with encrypted snapshots public).
    isComplete.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:ModifyImageAttribute', 'ec2:EnableImageDeprecation', 'ec2:DisableImageDeprecation'],
      resources: [ownImageArn],
      conditions: ownedByThis,
    }));
    isComplete.addToRolePolicy(deregisterOwned);
    isComplete.addToRolePolicy(deleteOwnedSnapshots);

    const onEventPolicy = onEvent.role!.node.findChild('DefaultPolicy');
    Validations.of(onEventPolicy).acknowledge({
      id: ec2Finding(stack, 'image'),
      reason: 'Image ids are not known before CreateImage. CreateImage on image/* requires the owner tag in the request (aws:RequestTag); ' +
        'CreateTags only within CreateImage (ec2:CreateAction).',
    });
    Validations.of(onEventPolicy).acknowledge({
      id: ec2Finding(stack, 'snapshot'),
      reason: 'Snapshot ids are not known before CreateImage. CreateImage on snapshot/* requires the owner tag in the request (aws:RequestTag); ' +
        'CreateTags only within CreateImage (ec2:CreateAction).',
    });
    for (const fn of [onEvent, isComplete]) {
      const policy = fn.role!.node.findChild('DefaultPolicy');
      Validations.of(policy).acknowledge({
        id: ec2Finding(stack, 'image', '*'),
        reason: 'DeregisterImage, ModifyImageAttribute and the deprecation actions apply only to images carrying this construct\'s owner tag (aws:ResourceTag), ' +
          'in any region so that copies are cleaned up even after their region is dropped from copyToRegions.',
      });
      Validations.of(policy).acknowledge({
        id: ec2Finding(stack, 'snapshot', '*'),
        reason: 'DeleteSnapshot applies only to snapshots carrying this construct\'s owner tag (aws:ResourceTag), in any region, for the snapshots of copies.',
      });
    }
  }

  /**
   * CopyImage into the listed regions, and KMS use of the copies' key. The copy
   * must be requested with this construct's owner tag, so the cleanup
   * permissions above apply to it.
   */
  private grantDistribution(isComplete: lambda.Function, regions: readonly string[], kmsKeyArn: string | undefined): void {
    if (regions.length === 0) return;
    const stack = Stack.of(this);
    const inRegion = (region: string, resource: string) => stack.formatArn({ service: 'ec2', account: '', region, resource, resourceName: '*' });
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
      conditions: { StringEquals: { [`aws:RequestTag/${OWNER_TAG}`]: this.owner } },
    }));
    isComplete.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateTags'],
      resources: targets,
      conditions: { StringEquals: { 'ec2:CreateAction': 'CopyImage' } },
    }));
    if (kmsKeyArn) {
      const keys = regions.map((r) => (kmsKeyArn.includes(':key/mrk-') ? kmsKeyArn.replace(/^(arn:[^:]+:kms:)[^:]+:/, `$1${r}:`) : kmsKeyArn));
      isComplete.addToRolePolicy(new iam.PolicyStatement({
        actions: ['kms:DescribeKey', 'kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKeyWithoutPlaintext'],
        resources: [...new Set(keys)],
      }));
      isComplete.addToRolePolicy(new iam.PolicyStatement({
        actions: ['kms:CreateGrant'],
        resources: [...new Set(keys)],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': true } },
      }));
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

  /**
   * The Provider framework grants its functions and its waiter state machine
   * `lambda:InvokeFunction` on the functions they call and their versions
   * (`<function ARN>:*`); each finding names one function of this construct.
   */
  private acknowledgeProviderFindings(provider: cr.Provider): void {
    const stack = Stack.of(this);
    const invokeFinding = (fn: lambda.IFunction) =>
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`;
    const invokeReason = (fn: lambda.IFunction) =>
      `lambda:InvokeFunction granted by the CDK Provider framework on ${fn.node.path} and its versions (":*" is the version qualifier), not on any other function.`;

    const frameworkFunctions = ['framework-onEvent', 'framework-isComplete', 'framework-onTimeout']
      .map((id) => provider.node.findChild(id) as lambda.Function);
    for (const frameworkFn of frameworkFunctions) {
      const policy = frameworkFn.role!.node.findChild('DefaultPolicy');
      // Each framework function may invoke both handlers (Provider.addPermissions).
      for (const target of [this.onEventHandler, this.isCompleteHandler]) {
        Validations.of(policy).acknowledge({ id: invokeFinding(target), reason: invokeReason(target) });
      }
    }

    const waiter = provider.node.findChild('waiter-state-machine');
    const waiterPolicy = waiter.node.findChild('Role').node.findChild('DefaultPolicy');
    for (const target of frameworkFunctions.slice(1)) {
      Validations.of(waiterPolicy).acknowledge({ id: invokeFinding(target), reason: invokeReason(target) });
    }
    Validations.of(waiter).acknowledge({
      id: 'AwsSolutions-SF1',
      reason: 'The waiter only sequences isComplete calls; their outcome is logged by the handlers and the framework functions in log groups with retention, ' +
        'and Step Functions keeps the execution history. Logging the state machine to CloudWatch needs logs:CreateLogDelivery and related actions on "*", ' +
        'which this stack grants nowhere.',
    });
    Validations.of(waiter).acknowledge({
      id: 'AwsSolutions-SF2',
      reason: 'X-Ray tracing would need xray:PutTraceSegments on "*" for a state machine that only retries one Lambda call on a timer; ' +
        'the handlers\' JSON logs carry the request id of every step.',
    });
  }
}

/**
 * A role for a Lambda function that may write only to its own log group. Not
 * the default role: AWSLambdaBasicExecutionRole lets a function create and
 * write to any log group in the account.
 */
function lambdaRole(scope: Construct, id: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  return role;
}

function validateTiming(totalTimeout: Duration, queryInterval: Duration): void {
  if (queryInterval.toMilliseconds() < 1000) {
    throw new Error(`queryInterval must be at least 1 second, got ${queryInterval.toHumanString()}`);
  }
  if (totalTimeout.toSeconds() > MAX_TOTAL_TIMEOUT.toSeconds()) {
    throw new Error(`totalTimeout must be at most 55 minutes (CloudFormation waits at most an hour for a custom resource; the margin is for the invocations), got ${totalTimeout.toHumanString()}`);
  }
  if (queryInterval.toSeconds() > totalTimeout.toSeconds()) {
    throw new Error(`queryInterval must not exceed totalTimeout (${totalTimeout.toHumanString()}), got ${queryInterval.toHumanString()}`);
  }
  if (totalTimeout.toSeconds() % queryInterval.toSeconds() !== 0) {
    throw new Error(`totalTimeout must be a whole multiple of queryInterval (${queryInterval.toHumanString()}), got ${totalTimeout.toHumanString()}`);
  }
}

/**
 * Refuses bad props at synth, with the checks the app's context keys share
 * (lib/validation.ts). Tokens are skipped: they are known only at deploy.
 */
function validateProps(scope: Construct, props: InstanceImageProps & { imageName: string }): void {
  const regions = props.copyToRegions ?? [];
  const region = Stack.of(scope).region;
  const checks: Array<string | undefined> = [
    Token.isUnresolved(props.imageName) ? undefined : checkImageName(props.imageName),
    props.description === undefined || Token.isUnresolved(props.description) ? undefined : checkDescription(props.description),
    props.shareWithAccounts ? checkAccounts(props.shareWithAccounts) : undefined,
    props.shareWithOrganizationArns ? checkOrganizationArns(props.shareWithOrganizationArns) : undefined,
    checkCopyRegions(regions, Token.isUnresolved(region) ? undefined : region),
    props.copyKmsKeyArn !== undefined ? checkCopyKmsKeyArn(props.copyKmsKeyArn, regions) : undefined,
    props.deprecateAfterDays !== undefined ? checkDeprecateAfterDays(props.deprecateAfterDays) : undefined,
    props.ssmParameterName !== undefined ? checkSsmParameterName(props.ssmParameterName) : undefined,
    props.tags ? checkTags(props.tags) : undefined,
  ];
  const error = checks.find((c) => c !== undefined);
  if (error) throw new Error(error);
}

function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? list : undefined;
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
