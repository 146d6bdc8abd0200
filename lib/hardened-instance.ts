import { Token, Validations } from 'aws-cdk-lib';
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
   * Root volume size in GiB, 1 to 16384 (EBS's gp3 limit at launch); at least
   * the image's root snapshot, which EC2 checks at launch. With
   * `imageRootDevice`, leave it out to keep the image's size.
   *
   * @default - 8 GiB; with `imageRootDevice`, the size of the image's root snapshot
   */
  readonly rootVolumeGiB?: number;

  /**
   * Root volume type. With `imageRootDevice`, leave it out to keep the image's type.
   *
   * @default - gp3; with `imageRootDevice`, the image's root volume type
   */
  readonly rootVolumeType?: ec2.EbsDeviceVolumeType;

  /**
   * The image's root device name (`InstanceImage.rootDeviceName`, a token):
   * the instance keeps the image's whole block device mapping (every volume,
   * its size and type), and only its root is changed, to be encrypted (with
   * `volumeKey`, if given) and deleted with the instance. Without it the
   * instance gets a `/dev/xvda` root of `rootVolumeGiB`, which suits images
   * whose root is `/dev/xvda` (Amazon Linux) and adds a blank volume to others.
   *
   * @default - a `/dev/xvda` root volume
   */
  readonly imageRootDevice?: string;
}

/** EBS's largest gp3 volume at launch (RunInstances' EbsBlockDevice), in GiB. */
export const MAX_ROOT_VOLUME_GIB = 16384;

/** The root volume size (`rootVolumeGiB`): a whole number of GiB, 1 to 16384 (`MAX_ROOT_VOLUME_GIB`). */
export function checkRootVolumeGiB(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ROOT_VOLUME_GIB
    ? undefined
    : `rootVolumeGiB must be a whole number of GiB from 1 to ${MAX_ROOT_VOLUME_GIB} (EBS's gp3 limit), got ${JSON.stringify(value)}`;
}

/** An EBS volume of the image's own mapping: no snapshot and, unless given, no size or type, so EC2 takes them from the image. */
class ImageVolume extends ec2.BlockDeviceVolume {
  public constructor(props: ec2.EbsDeviceProps) {
    super(props);
  }
}

/**
 * An instance with the hardening both ends of the pipeline share: IMDSv2
 * required, an encrypted root volume (gp3, or the image's own with `imageRootDevice`), a security group without inbound
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
    if (props.rootVolumeGiB !== undefined && !Token.isUnresolved(props.rootVolumeGiB)) {
      const error = checkRootVolumeGiB(props.rootVolumeGiB);
      if (error) throw new Error(error);
    }

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
      blockDevices: [rootVolume(props)],
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

/**
 * The root volume's mapping. Of an image's root (`imageRootDevice`): only the
 * device the image names, encrypted, with no size or type unless given, so
 * EC2 takes them from the image's snapshot and keeps the image's other
 * volumes as they are (a mapping of another device would add a blank volume).
 */
function rootVolume(props: HardenedInstanceProps): ec2.BlockDevice {
  const common = { encrypted: true, kmsKey: props.volumeKey, deleteOnTermination: true };
  if (props.imageRootDevice === undefined) {
    return {
      deviceName: '/dev/xvda',
      volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB ?? 8, { ...common, volumeType: props.rootVolumeType ?? ec2.EbsDeviceVolumeType.GP3 }),
    };
  }
  return {
    deviceName: props.imageRootDevice,
    volume: new ImageVolume({ ...common, volumeSize: props.rootVolumeGiB, volumeType: props.rootVolumeType }),
  };
}
