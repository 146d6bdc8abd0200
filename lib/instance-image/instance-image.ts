import * as path from 'node:path';
import { CfnElement, CustomResource, Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import {
  ENV_NOT_FOUND_GRACE_SECONDS,
  IMAGE_NAME_MIN_LENGTH,
  IMAGE_NAME_PATTERN,
  IMAGE_NAME_PREFIX_MAX_LENGTH,
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
   * How long to wait for the image to become available. CloudFormation waits
   * at most an hour for a custom resource.
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

/** Timing limits of the Provider framework and of CloudFormation custom resources. */
const MAX_TOTAL_TIMEOUT = Duration.hours(1);
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
    validateImageName(namePrefix);

    const stack = Stack.of(this);
    this.owner = `${stack.stackName}/${this.node.path.slice(stack.node.path.length + 1)}`;

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const onEvent = this.handler('OnEvent', 'on-event.ts', 'onEvent', logRetention);
    const isComplete = this.handler('IsComplete', 'is-complete.ts', 'isComplete', logRetention);
    isComplete.addEnvironment(ENV_NOT_FOUND_GRACE_SECONDS, String(Math.min(300, totalTimeout.toSeconds())));
    this.grantImageLifecycle(onEvent, isComplete, props.instance);
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
    };

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: RESOURCE_TYPE,
      properties: { ...properties },
    });
    this.imageId = this.resource.getAttString('ImageId');
    this.imageName = this.resource.getAttString('ImageName');
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
    const ownedByThis = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: this.owner } };

    // EC2 has no resource-level permissions for Describe* actions: they accept only '*'.
    const describe = new iam.Policy(this, 'DescribePolicy', {
      statements: [new iam.PolicyStatement({
        actions: ['ec2:DescribeImages', 'ec2:DescribeSnapshots'],
        resources: ['*'],
      })],
      roles: [onEvent.role!, isComplete.role!],
    });
    // A separate policy is not one the functions wait for by themselves.
    onEvent.node.addDependency(describe);
    isComplete.node.addDependency(describe);
    Validations.of(describe).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeImages and ec2:DescribeSnapshots have no resource-level permissions in EC2 and accept only "*". ' +
        'This policy holds nothing else; every mutating action is in the roles\' own policies, scoped by ARN and owner tag.',
    });

    const deregisterOwned = new iam.PolicyStatement({
      actions: ['ec2:DeregisterImage'],
      resources: [imageArn],
      conditions: ownedByThis,
    });
    // Also what DeregisterImage with DeleteAssociatedSnapshots needs for the snapshots.
    const deleteOwnedSnapshots = new iam.PolicyStatement({
      actions: ['ec2:DeleteSnapshot'],
      resources: [snapshotArn],
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

    // ModifyImageAttribute sets ImdsSupport. It could also add launch
    // permissions, but the image's snapshots are encrypted and EC2 refuses to
    // make such an AMI public; the handler only ever sends ImdsSupport.
    isComplete.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:ModifyImageAttribute'],
      resources: [imageArn],
      conditions: ownedByThis,
    }));
    isComplete.addToRolePolicy(deregisterOwned);
    isComplete.addToRolePolicy(deleteOwnedSnapshots);

    const imageFinding = 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::image/*]';
    const snapshotFinding = 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*]';
    for (const fn of [onEvent, isComplete]) {
      const policy = fn.role!.node.findChild('DefaultPolicy');
      Validations.of(policy).acknowledge({
        id: imageFinding,
        reason: 'Image ids are not known before CreateImage. CreateImage on image/* requires the owner tag in the request (aws:RequestTag); ' +
          'DeregisterImage and ModifyImageAttribute apply only to images carrying this construct\'s owner tag (aws:ResourceTag); CreateTags only within CreateImage (ec2:CreateAction).',
      });
      Validations.of(policy).acknowledge({
        id: snapshotFinding,
        reason: 'Snapshot ids are not known before CreateImage. CreateImage on snapshot/* requires the owner tag in the request (aws:RequestTag); ' +
          'DeleteSnapshot applies only to snapshots carrying this construct\'s owner tag (aws:ResourceTag); CreateTags only within CreateImage (ec2:CreateAction).',
      });
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
    throw new Error(`totalTimeout must be at most 60 minutes (CloudFormation's limit for a custom resource), got ${totalTimeout.toHumanString()}`);
  }
  if (queryInterval.toSeconds() > totalTimeout.toSeconds()) {
    throw new Error(`queryInterval must not exceed totalTimeout (${totalTimeout.toHumanString()}), got ${queryInterval.toHumanString()}`);
  }
  if (totalTimeout.toSeconds() % queryInterval.toSeconds() !== 0) {
    throw new Error(`totalTimeout must be a whole multiple of queryInterval (${queryInterval.toHumanString()}), got ${totalTimeout.toHumanString()}`);
  }
}

function validateImageName(prefix: string): void {
  if (Token.isUnresolved(prefix)) return;
  if (prefix.length < IMAGE_NAME_MIN_LENGTH || prefix.length > IMAGE_NAME_PREFIX_MAX_LENGTH || !IMAGE_NAME_PATTERN.test(prefix)) {
    throw new Error(
      `imageName must be ${IMAGE_NAME_MIN_LENGTH}-${IMAGE_NAME_PREFIX_MAX_LENGTH} characters of [A-Za-z0-9()[] ./'@_-] ` +
      `(EC2 allows 128; the rest is the content hash), got "${prefix}"`,
    );
  }
}
