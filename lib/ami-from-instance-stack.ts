import { Annotations, CfnOutput, CfnResource, Duration, Fn, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BaseImage } from './base-image';
import { HardenedInstance } from './hardened-instance';
import { ImageDistribution, ImageDistributionProps } from './image-distribution/image-distribution';
import { InstanceImage, InstanceImageProps } from './instance-image/instance-image';
import { Recipe } from './recipe/recipe';
import { ReportedScript } from './reported-script/reported-script';

/** Properties of {@link AmiFromInstanceStack}. */
export interface AmiFromInstanceStackProps extends StackProps {
  /**
   * Processor architecture of the instances; picks the matching Amazon Linux 2023 image.
   *
   * @default ec2.InstanceArchitecture.X86_64
   */
  readonly architecture?: ec2.InstanceArchitecture;

  /**
   * Type of the source and target instances; must match `architecture`.
   *
   * @default - t3.micro for x86_64, t4g.micro for arm64
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * An existing VPC to use, by id (looked up at synth, so the stack needs an `env`).
   * It must have public subnets.
   *
   * @default - a new VPC with public subnets and no NAT gateway
   */
  readonly vpcId?: string;

  /**
   * ARN of the customer managed KMS key that encrypts the instances' root
   * volumes, and so the image's snapshots. Required to share the image:
   * snapshots encrypted with the AWS managed key `aws/ebs` cannot be shared.
   *
   * @default - the account's default EBS encryption key
   */
  readonly volumeKmsKeyArn?: string;

  /**
   * Keep the source and target instances running after the deploy. By
   * default the image handler stops the source before imaging it (a
   * consistent file system without a reboot) and leaves it stopped, and the
   * target powers itself off once it has reported a passing AMI test: stopped
   * instances release their public IPv4 address and cost only their volumes.
   *
   * @default false
   */
  readonly keepInstancesRunning?: boolean;

  /**
   * What goes into the image (`bake.sh`, `files/`) and what tests it
   * (`test.sh`): `Recipe.fromDirectory(path)`.
   *
   * @default - the nginx demo, `recipes/nginx`
   */
  readonly recipe?: Recipe;

  /**
   * Image this existing instance instead of baking a source: no source
   * instance, bake or `files/`; only the recipe's `test.sh` is used. The
   * instance is rebooted for the image unless `image.noReboot`; the stack
   * never stops, modifies or terminates it.
   *
   * @default - a source instance baked by the recipe
   */
  readonly sourceInstanceId?: string;

  /**
   * The image the source instance starts from.
   *
   * @default BaseImage.amazonLinux2023() - AL2023, read once at the first deploy and kept
   */
  readonly baseImage?: BaseImage;

  /**
   * How long the bake and the AMI test may each take before CloudFormation
   * gives up on their signal.
   *
   * @default Duration.minutes(15)
   */
  readonly scriptTimeout?: Duration;

  /**
   * Settings of the image.
   *
   * @default - see {@link InstanceImageProps}
   */
  readonly image?: Omit<InstanceImageProps, 'instance' | 'instanceId'>;

  /**
   * Sharing, copies, deprecation and the SSM parameter of the image, applied
   * only once the AMI test has passed.
   *
   * @default - none: the image is not promoted anywhere
   */
  readonly distribution?: Omit<ImageDistributionProps, 'image' | 'promoteAfter' | 'volumeKey'>;
}

/**
 * Bakes a source instance with a recipe (or takes an existing instance),
 * images it, and proves the image by launching a target instance from it that
 * must pass the recipe's test before the deploy can succeed. The bake and the
 * test each report to a wait condition, with their reason on failure, and
 * send their output to the stack's instance log group.
 */
export class AmiFromInstanceStack extends Stack {
  /** The baked source instance; undefined with `sourceInstanceId`. */
  public readonly source?: ec2.Instance;
  /** The bake's report; undefined with `sourceInstanceId`. */
  public readonly bake?: ReportedScript;
  public readonly image: InstanceImage;
  public readonly target: ec2.Instance;
  /** The AMI test's report: the deploy succeeds only with its success. */
  public readonly test: ReportedScript;
  /** Where the bake and the AMI test write their output, a stream per instance. */
  public readonly instanceLogs: logs.LogGroup;
  /** The promotion after the AMI test; undefined when `distribution` asks for nothing. */
  public readonly distribution?: ImageDistribution;

  constructor(scope: Construct, id: string, props: AmiFromInstanceStackProps = {}) {
    super(scope, id, props);

    const architecture = props.architecture ?? ec2.InstanceArchitecture.X86_64;
    const arm = architecture === ec2.InstanceArchitecture.ARM_64;
    const instanceType = props.instanceType ?? new ec2.InstanceType(arm ? 't4g.micro' : 't3.micro');
    if (instanceType.architecture !== architecture) {
      throw new Error(`instanceType "${instanceType}" is ${instanceType.architecture}, but architecture is "${architecture}"`);
    }

    const volumeKey = props.volumeKmsKeyArn ? kms.Key.fromKeyArn(this, 'VolumeKey', props.volumeKmsKeyArn) : undefined;
    const vpc = props.vpcId ? ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: props.vpcId }) : this.newVpc();
    const recipe = props.recipe ?? Recipe.nginxDemo({ requireBake: props.sourceInstanceId === undefined });
    const keepRunning = props.keepInstancesRunning ?? false;
    const timeout = props.scriptTimeout ?? Duration.minutes(15);

    // Kept when the stack is deleted or its first deploy rolls back: the logs of a failed bake or test are the point.
    // Events expire after a month; the empty group costs nothing.
    this.instanceLogs = new logs.LogGroup(this, 'InstanceLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.RETAIN });

    let followsEveryDeploy = false;
    if (props.sourceInstanceId === undefined) {
      if (!recipe.bake) throw new Error('recipe has no bake.sh: a recipe that bakes the source needs one (only sourceInstanceId goes without)');
      const base = (props.baseImage ?? BaseImage.amazonLinux2023()).bind(this, architecture);
      followsEveryDeploy = base.followsEveryDeploy;
      this.source = new HardenedInstance(this, 'Source', { vpc, instanceType, machineImage: base.machineImage, volumeKey }).instance;
      if (base.literal) {
        Validations.of(this.source).acknowledge({ id: 'CloudFormation-Validate::W9010', reason: 'baseImage=ami-…: the user chose this AMI of the stack\'s region on purpose, to pin the base.' });
      }
      this.bake = new ReportedScript(this, 'Bake', {
        instance: this.source,
        step: 'bake',
        script: recipe.bake,
        // bake.sh with files/, read and hashed once by the recipe.
        contentId: recipe.bakeId,
        files: recipe.files,
        logGroup: this.instanceLogs,
        timeout,
        creationPolicy: followsEveryDeploy,
      });
    } else {
      if (props.image?.noReboot !== true) {
        Annotations.of(this).addWarningV2('ami-from-instance:rebootsSource',
          `CreateImage reboots ${props.sourceInstanceId} for a consistent file system, as the console does; noReboot=true images it running, without that guarantee`);
      }
      if (recipe.bake || recipe.files.length > 0) {
        Annotations.of(this).addWarningV2('ami-from-instance:bakeUnused',
          `sourceInstanceId ${props.sourceInstanceId}: the recipe's bake.sh and files/ are not used (the instance is imaged as it is); only test.sh runs, on the target`);
      }
    }

    this.image = new InstanceImage(this, 'Image', {
      // An instance of the user's is never stopped: only the source this stack made.
      stopInstance: this.source !== undefined && !keepRunning,
      ...props.image,
      ...(this.source ? { instance: this.source } : { instanceId: props.sourceInstanceId }),
    });
    if (this.bake) this.image.node.addDependency(this.bake.condition);

    this.target = new HardenedInstance(this, 'Target', { vpc, instanceType, machineImage: this.image.machineImage(), volumeKey }).instance;
    this.test = new ReportedScript(this, 'Test', {
      instance: this.target,
      step: 'test',
      script: recipe.test,
      contentId: recipe.testId,
      logGroup: this.instanceLogs,
      timeout,
      // A new AMI is a new target, and so a new wait condition: the test always runs against the image it names.
      identity: this.image.contentProperties,
      powerOffOnSuccess: !keepRunning,
      creationPolicy: followsEveryDeploy,
    });

    const distribution = props.distribution ?? {};
    const promotes = [distribution.shareWithAccounts, distribution.shareWithOrganizationArns, distribution.copyToRegions,
      distribution.deprecateAfterDays, distribution.ssmParameterName].some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0));
    if (promotes) {
      // Only an image that passed its test is shared, copied, deprecated or published.
      this.distribution = new ImageDistribution(this, 'Distribution', {
        ...distribution,
        image: this.image,
        volumeKey,
        promoteAfter: [this.test.condition],
      });
    }

    new CfnOutput(this, 'ImageId', { value: this.image.imageId, description: 'The AMI made from the source instance' });
    new CfnOutput(this, 'ImageName', { value: this.image.imageName, description: 'Name of the AMI' });
    new CfnOutput(this, 'SourceInstanceId', { value: this.source?.instanceId ?? props.sourceInstanceId!, description: 'The instance the AMI was made from' });
    if (this.distribution?.copiedImageIds) {
      new CfnOutput(this, 'CopiedImageIds', { value: this.distribution.copiedImageIds, description: 'Copies of the AMI: <region>=<image id>, comma-separated' });
    }
    if (this.distribution?.parameter) {
      new CfnOutput(this, 'ImageIdParameter', { value: this.distribution.parameter.parameterName, description: 'SSM parameter holding the AMI id, once it passed its test' });
    }
    new CfnOutput(this, 'InstanceLogGroup', { value: this.instanceLogs.logGroupName, description: 'Output of the bake and the AMI test, a stream <step>/<instance id> each' });
    new CfnOutput(this, 'TargetInstanceId', { value: this.target.instanceId, description: 'The instance launched from the AMI, which passed the AMI test' });
  }

  /**
   * Public subnets and no NAT gateway: the cheapest network in which the
   * instances reach SSM and the package repositories. Flow logs for review.
   */
  private newVpc(): ec2.Vpc {
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    });
    // All traffic of two small instances is a few MB a deploy: cents, for a record a security review can ask for.
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      })),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    this.retainRestrictDefaultSgLogs(vpc);
    return vpc;
  }

  /**
   * The VPC strips the default security group's rules with a CDK-internal
   * provider function that takes no log settings, so Lambda would create its
   * log group on first run, kept forever. This creates that group (named by
   * Lambda's convention) with a retention, before the function first runs.
   */
  private retainRestrictDefaultSgLogs(vpc: ec2.Vpc): void {
    const provider = this.node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    const restrict = vpc.node.tryFindChild('RestrictDefaultSecurityGroupCustomResource');
    if (!provider || !restrict) return; // the feature flag @aws-cdk/aws-ec2:restrictDefaultSecurityGroup is off
    const handler = provider.node.findChild('Handler') as CfnResource;
    const logGroup = new logs.LogGroup(this, 'RestrictDefaultSgLogs', {
      logGroupName: Fn.join('', ['/aws/lambda/', handler.ref]),
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    restrict.node.addDependency(logGroup);
  }
}
