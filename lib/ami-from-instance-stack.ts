import { CfnOutput, CfnResource, Duration, Fn, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { addAmiTest, bakeRecipe } from './bake-recipe';
import { HardenedInstance } from './hardened-instance';
import { InstanceImage, InstanceImageProps } from './instance-image/instance-image';

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
   * Settings of the image.
   *
   * @default - see {@link InstanceImageProps}
   */
  readonly image?: Omit<InstanceImageProps, 'instance'>;
}

/**
 * Bakes an Amazon Linux 2023 instance, images it, and proves the image by
 * launching a second instance from it that must pass the AMI test before the
 * deploy can succeed.
 */
export class AmiFromInstanceStack extends Stack {
  public readonly source: ec2.Instance;
  public readonly image: InstanceImage;
  public readonly target: ec2.Instance;

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

    this.source = new HardenedInstance(this, 'Source', {
      vpc,
      instanceType,
      // Resolved from AWS's public SSM parameter at deploy time: no lookup at synth.
      // Not MachineImage.latestAmazonLinux2023(): it ignores `kernel` and pins the kernel this CDK version knows.
      machineImage: new ec2.AmazonLinux2023ImageSsmParameter({
        cpuType: arm ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
        kernel: ec2.AmazonLinux2023Kernel.DEFAULT,
        cachedInContext: false,
      }),
      init: bakeRecipe(),
      signalTimeout: Duration.minutes(15),
      volumeKey,
    }).instance;

    const keepRunning = props.keepInstancesRunning ?? false;
    this.image = new InstanceImage(this, 'Image', { volumeKey, stopInstance: !keepRunning, ...props.image, instance: this.source });

    this.target = new HardenedInstance(this, 'Target', {
      vpc,
      instanceType,
      machineImage: this.image.machineImage(),
      signalTimeout: Duration.minutes(15),
      volumeKey,
    }).instance;
    addAmiTest(this.target, { powerOffOnSuccess: !keepRunning });

    new CfnOutput(this, 'ImageId', { value: this.image.imageId, description: 'The AMI made from the source instance' });
    new CfnOutput(this, 'ImageName', { value: this.image.imageName, description: 'Name of the AMI' });
    new CfnOutput(this, 'SourceInstanceId', { value: this.source.instanceId, description: 'The baked instance the AMI was made from' });
    if (this.image.copiedImageIds) {
      new CfnOutput(this, 'CopiedImageIds', { value: this.image.copiedImageIds, description: 'Copies of the AMI: <region>=<image id>, comma-separated' });
    }
    if (this.image.parameter) {
      new CfnOutput(this, 'ImageIdParameter', { value: this.image.parameter.parameterName, description: 'SSM parameter holding the AMI id' });
    }
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
