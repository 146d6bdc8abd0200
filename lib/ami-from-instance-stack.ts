import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { addAmiTest, bakeRecipe } from './bake-recipe';
import { HardenedInstance } from './hardened-instance';
import { InstanceImage, InstanceImageProps } from './instance-image/instance-image';

/** Properties of {@link AmiFromInstanceStack}. */
export interface AmiFromInstanceStackProps extends StackProps {
  /**
   * Type of the source and target instances.
   *
   * @default - t3.micro
   */
  readonly instanceType?: ec2.InstanceType;

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

    const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO);

    // Public subnets and no NAT gateway: the cheapest network in which the
    // instances reach SSM and the package repositories.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    });

    this.source = new HardenedInstance(this, 'Source', {
      vpc,
      instanceType,
      // Resolved from AWS's public SSM parameter at deploy time: no lookup at synth.
      // Not MachineImage.latestAmazonLinux2023(): it ignores `kernel` and pins the kernel this CDK version knows.
      machineImage: new ec2.AmazonLinux2023ImageSsmParameter({
        cpuType: ec2.AmazonLinuxCpuType.X86_64,
        kernel: ec2.AmazonLinux2023Kernel.DEFAULT,
        cachedInContext: false,
      }),
      init: bakeRecipe(),
      signalTimeout: Duration.minutes(15),
    }).instance;

    this.image = new InstanceImage(this, 'Image', { ...props.image, instance: this.source });

    this.target = new HardenedInstance(this, 'Target', {
      vpc,
      instanceType,
      machineImage: this.image.machineImage(),
      signalTimeout: Duration.minutes(15),
    }).instance;
    addAmiTest(this.target);

    new CfnOutput(this, 'ImageId', { value: this.image.imageId, description: 'The AMI made from the source instance' });
    new CfnOutput(this, 'ImageName', { value: this.image.imageName, description: 'Name of the AMI' });
    new CfnOutput(this, 'SourceInstanceId', { value: this.source.instanceId, description: 'The baked instance the AMI was made from' });
    new CfnOutput(this, 'TargetInstanceId', { value: this.target.instanceId, description: 'The instance launched from the AMI, which passed the AMI test' });
  }
}
