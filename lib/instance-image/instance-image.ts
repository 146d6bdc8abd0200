import * as path from 'node:path';
import { CfnElement, CustomResource, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { bundledHandler } from './bundled-handler';
import { validateProps, validateTiming } from './checks';
import { grantImagePermissions } from './permissions';
import type { InstanceImageMachineImageOptions, InstanceImageProps } from './props';
import {
  COPIED_IMAGE_IDS_ATTRIBUTE,
  ENV_NOT_FOUND_GRACE_SECONDS,
  ImageResourceProperties,
  REPLACING_PROPERTIES,
  RESOURCE_TYPE,
} from './shared';

export type { InstanceImageMachineImageOptions, InstanceImageProps } from './props';

/**
 * The custom resource's ServiceTimeout: the hour CloudFormation allows, longer
 * than the waiter (at most 55 minutes, see checks.ts, plus invocation time).
 */
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

  /**
   * The resource's properties that define the image's content: when one of
   * them changes, the next deploy makes a new AMI. Tokens, for identities
   * computed at synth (the AMI test's wait condition follows them).
   */
  public readonly contentProperties: Record<string, unknown>;

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
    const instanceId = props.instance?.instanceId ?? props.instanceId;
    if ((props.instance === undefined) === (props.instanceId === undefined) || instanceId === undefined) {
      throw new Error(`${this.node.path}: give exactly one of instance and instanceId, got ${props.instance ? 'both' : 'neither'}`);
    }

    const stack = Stack.of(this);
    this.owner = `${stack.stackName}/${this.node.path.slice(stack.node.path.length + 1)}`;

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const onEvent = this.handler('OnEvent', 'on-event.ts', 'onEvent', logRetention);
    const isComplete = this.handler('IsComplete', 'is-complete.ts', 'isComplete', logRetention);
    isComplete.addEnvironment(ENV_NOT_FOUND_GRACE_SECONDS, String(Math.min(300, totalTimeout.toSeconds())));
    grantImagePermissions(this, {
      onEvent,
      isComplete,
      instanceId,
      owner: this.owner,
      stopInstance: props.stopInstance ?? false,
      copyToRegions: props.copyToRegions ?? [],
      copyKmsKeyArn: props.copyKmsKeyArn,
      volumeKey: props.volumeKey,
    });
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
      InstanceId: instanceId,
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
      StopInstance: props.stopInstance ? 'true' : undefined,
    };

    this.contentProperties = Object.fromEntries(REPLACING_PROPERTIES.map((key) => [key, properties[key]]));
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

  private handler(id: string, file: string, handlerName: string, retention: logs.RetentionDays): lambda.Function {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention, removalPolicy: RemovalPolicy.DESTROY });
    return bundledHandler(this, id, {
      entry: path.join(__dirname, 'runtime', file),
      handler: handlerName,
      // The newest Node.js runtime Lambda offers (cdk-nag L1 checks it).
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: HANDLER_TIMEOUT,
      logGroup,
      role: lambdaRole(this, `${id}Role`, logGroup),
    });
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

function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? list : undefined;
}
