import * as path from 'node:path';
import { CfnResource, CustomResource, Duration, Fn, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IDependable } from 'constructs';
import { templatePath } from '../shared/paths';
import { handlerFunction, waitingProvider } from '../shared/provider';
import { startPhaseTimeout, validateImageWait } from '../shared/waits';
import { ImageAvailability } from './availability';
import { validateProps } from './checks';
import { grantImagePermissions } from './permissions';
import type { InstanceImageMachineImageOptions, InstanceImageProps } from './props';
import {
  ATTRIBUTES_VERSION,
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

  /**
   * The value of the `ami-from-instance:owner` tag on the AMI, its snapshots
   * and copies: `<stack name>/<construct path>@<stack UUID>`, the UUID being
   * the last part of `AWS::StackId` (a token): one deployment of this
   * construct, never another stack of the same app, in another region or
   * account, or re-created under the same name.
   */
  public readonly owner: string;

  /**
   * The owner tag value images were made with before it named the deployment
   * (`<stack name>/<construct path>`): the handlers may still deregister the one
   * image (and copies) of that value that CloudFormation records for this resource,
   * after an upgrade (README, "Upgrading").
   */
  public readonly legacyOwner: string;

  /** How many previous images a replacement keeps (`keepPrevious`). */
  public readonly keepPrevious: number;

  /** What Delete does to the image: `'destroy'` or `'retain'`. */
  public readonly removalPolicy: 'destroy' | 'retain';

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

  /**
   * The image's root device name as EC2 reports it (`RootDeviceName`, such as
   * `/dev/xvda` or `/dev/sda1`): a block device mapping that names it changes
   * the root volume an instance gets from the image (encryption, size) and
   * adds no other volume.
   */
  public readonly rootDeviceName: string;

  /** The `Custom::InstanceImage` resource. */
  public readonly resource: CustomResource;

  /** What is done once the image is available: the wait condition for waits over an hour, else the resource. `imageId` waits for it. */
  public readonly available: IDependable;


  /** With a `totalTimeout` over 55 minutes: the wait condition, its signal function and the rules. */
  private readonly availability?: ImageAvailability;

  constructor(scope: Construct, id: string, props: InstanceImageProps) {
    super(scope, id);

    const totalTimeout = props.totalTimeout ?? DEFAULT_TOTAL_TIMEOUT;
    const queryInterval = props.queryInterval ?? DEFAULT_QUERY_INTERVAL;
    const longWait = validateImageWait(totalTimeout, queryInterval);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    if (removalPolicy !== RemovalPolicy.DESTROY && removalPolicy !== RemovalPolicy.RETAIN) {
      throw new Error(`removalPolicy must be RemovalPolicy.DESTROY or RemovalPolicy.RETAIN, got "${removalPolicy}"`);
    }
    const namePrefix = props.imageName ?? Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    validateProps({ ...props, imageName: namePrefix });
    const instanceId = props.instance?.instanceId ?? props.instanceId;
    if ((props.instance === undefined) === (props.instanceId === undefined) || instanceId === undefined) {
      throw new Error(`${this.node.path}: give exactly one of instance and instanceId, got ${props.instance ? 'both' : 'neither'}`);
    }

    const stack = Stack.of(this);
    this.legacyOwner = `${stack.stackName}/${templatePath(this).slice(templatePath(stack).length + 1)}`;
    checkOwnerLength(this.legacyOwner);
    this.owner = Fn.join('', [this.legacyOwner, '@', Fn.select(2, Fn.split('/', stack.stackId))]);

    this.keepPrevious = props.keepPrevious ?? 0;
    this.removalPolicy = removalPolicy === RemovalPolicy.RETAIN ? 'retain' : 'destroy';

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const runtime = (file: string) => path.join(__dirname, 'runtime', file);
    const onEvent = handlerFunction(this, 'OnEvent', runtime('on-event.ts'), 'onEvent', logRetention);
    const isComplete = handlerFunction(this, 'IsComplete', runtime('is-complete.ts'), 'isComplete', logRetention);
    isComplete.addEnvironment(ENV_NOT_FOUND_GRACE_SECONDS, String(Math.min(300, totalTimeout.toSeconds())));
    grantImagePermissions(this, { onEvent, isComplete, instanceId, owner: this.owner, legacyOwner: this.legacyOwner, stopInstance: props.stopInstance ?? false });
    this.onEventHandler = onEvent;
    this.isCompleteHandler = isComplete;

    // Over an hour, the resource completes once the image exists and a wait condition follows it; the waiter's
    // own time only covers stopping the source and CreateImage.
    const providerTimeout = longWait ? startPhaseTimeout(queryInterval) : totalTimeout;
    const provider = waitingProvider(this, { onEvent, isComplete, totalTimeout: providerTimeout, queryInterval, logRetention });
    this.availability = longWait
      ? new ImageAvailability(this, 'Availability', { owner: this.owner, identity: () => this.contentProperties, timeout: totalTimeout, logRetention })
      : undefined;

    const properties: ImageResourceProperties = {
      InstanceId: instanceId,
      ImageNamePrefix: namePrefix,
      Description: props.description ?? `Made by ami-from-instance from ${templatePath(this)}`,
      NoReboot: props.noReboot ? 'true' : 'false',
      Owner: this.owner,
      RemovalPolicy: this.removalPolicy,
      Tags: props.tags && Object.keys(props.tags).length > 0 ? props.tags : undefined,
      RebuildToken: props.rebuildToken,
      KeepPrevious: this.keepPrevious > 0 ? String(this.keepPrevious) : undefined,
      SignalId: this.availability?.signalId,
      CheckRuleName: this.availability?.checkRuleName,
      StopInstance: props.stopInstance ? 'true' : undefined,
      // Sorted and without duplicates: the same devices are the same image (its name hashes these properties).
      ExcludeDevices: props.excludeDevices && props.excludeDevices.length > 0 ? [...new Set(props.excludeDevices)].sort() : undefined,
      AttributesVersion: ATTRIBUTES_VERSION,
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
    this.imageName = this.resource.getAttString('ImageName');
    this.rootDeviceName = this.resource.getAttString('RootDeviceName');
    if (this.availability) {
      this.availability.attach(this.resource.node.defaultChild as CfnResource, [onEvent, isComplete], this.owner);
      // The image id, with a reference to the wait condition beside it: whatever names the image id waits for the
      // image to be available (a Ref makes CloudFormation create the condition first, and the condition completes
      // only with its signal). The Select picks the id itself.
      this.imageId = Fn.select(0, [this.resource.getAttString('ImageId'), this.availability.condition.ref]);
      this.available = this.availability.condition;
    } else {
      this.imageId = this.resource.getAttString('ImageId');
      this.available = this.resource;
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
}

/** EC2's limit on a tag value (256 characters), less the `@` and the 36 characters of the stack UUID. */
const MAX_OWNER_PREFIX_LENGTH = 256 - 37;

function checkOwnerLength(prefix: string): void {
  if (!Token.isUnresolved(prefix) && prefix.length > MAX_OWNER_PREFIX_LENGTH) {
    throw new Error(`The owner tag value "${prefix}@<stack UUID>" would be over 256 characters (EC2's limit on a tag value): ` +
      `shorten the stack name or the construct ids (${prefix.length} characters before the UUID, at most ${MAX_OWNER_PREFIX_LENGTH})`);
  }
}
