import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { templatePath } from './shared/paths';

/** Properties of {@link HardenedInstance}. */
export interface HardenedInstanceProps {
  /** The VPC to launch in; the instance goes into a public subnet to reach SSM and package repositories without a NAT gateway. */
  readonly vpc: ec2.IVpc;

  /** Instance type. */
  readonly instanceType: ec2.InstanceType;

  /** Image to launch from. */
  readonly machineImage: ec2.IMachineImage;

  /**
   * Customer managed KMS key that encrypts the root volume.
   *
   * @default - the account's default EBS encryption key (`aws/ebs` unless the account set another)
   */
  readonly volumeKey?: kms.IKey;

  /**
   * Root volume size in GiB.
   *
   * @default 8
   */
  readonly rootVolumeGiB?: number;
}

/**
 * An instance with the hardening both ends of the pipeline share: IMDSv2
 * required, an encrypted gp3 root volume, a security group without inbound
 * rules, no key pair (access through SSM Session Manager), and its own
 * public IPv4 address. What it runs at first boot is added to its user data
 * (see ReportedScript).
 */
export class HardenedInstance extends Construct {
  /** The instance. */
  public readonly instance: ec2.Instance;

  /** Its security group: outbound only. */
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: HardenedInstanceProps) {
    super(scope, id);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${templatePath(this)}: outbound only; access through SSM Session Manager`,
      allowAllOutbound: true,
    });

    this.instance = new ec2.Instance(this, 'Resource', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      // The Name tag CDK gives by default (the construct path), as the template names it.
      instanceName: `${templatePath(this)}/Resource`,
      // Its own public IPv4 address, whatever the subnet's MapPublicIpOnLaunch (an imported VPC's may be false):
      // without one, the instance reaches neither SSM, the package repositories nor CloudFormation's signal endpoint.
      associatePublicIpAddress: true,
      // A shutdown from inside (the target powers off after its test) stops the instance, never terminates it.
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.STOP,
      instanceType: props.instanceType,
      machineImage: props.machineImage,
      securityGroup: this.securityGroup,
      requireImdsv2: true,
      ssmSessionPermissions: true,
      blockDevices: [{
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB ?? 8, {
          encrypted: true,
          kmsKey: props.volumeKey,
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          deleteOnTermination: true,
        }),
      }],
      // A changed recipe or test script must run on a fresh instance: cloud-init runs user data once per instance.
      userDataCausesReplacement: true,
    });

    // The public address is useful only once the subnet routes to the internet gateway (a new VPC creates that route alongside).
    this.instance.node.addDependency(props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PUBLIC }).internetConnectivityEstablished);

    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC28',
      reason: 'A build fixture: the source exists to be imaged and the target to prove the image once. ' +
        'Basic (5-minute) monitoring is enough; detailed monitoring would add about $2 a month per instance for no one to read.',
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC29',
      reason: 'Replacing the instances is the design: a changed recipe or test replaces them, and cdk destroy removes them. ' +
        'Termination protection would make both fail; nothing on them is kept (the image is the product).',
    });
    Validations.of(this.instance.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'The AWS-maintained policy for the SSM agent, the only way in (no key pair, no inbound rule). ' +
        'AWS keeps it in step with what the agent calls; a hand-copied policy would silently fall behind.',
    });
  }
}
