import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ImageDistribution, InstanceImage, ReportedScript, TestedImage, TestedImageProps } from './index';

/** Properties of {@link AmiFromInstanceStack}: a {@link TestedImage}'s, with the VPC and the volume key by id. */
export interface AmiFromInstanceStackProps extends StackProps, TestedImageProps {
  /**
   * An existing VPC to use, by id (looked up at synth, so the stack needs an `env`).
   * It must have public subnets. Give this or `vpc`, not both.
   *
   * @default - a new VPC with public subnets and no NAT gateway
   */
  readonly vpcId?: string;

  /**
   * ARN of the customer managed KMS key that encrypts the instances' root
   * volumes, and so the image's snapshots. Give this or `volumeKey`, not both.
   *
   * @default - the account's default EBS encryption key
   */
  readonly volumeKmsKeyArn?: string;
}

/**
 * The app's stack: one {@link TestedImage}, configured from context
 * (lib/config.ts), and its outputs. The TestedImage's id is `Default`, which
 * CDK leaves out of logical ids and resource names, so the template is the
 * one this stack made before the pipeline became a construct.
 */
export class AmiFromInstanceStack extends Stack {
  /** The pipeline: source, bake, image, target, AMI test and promotion. */
  public readonly pipeline: TestedImage;
  /** The baked source instance; undefined with `sourceInstanceId`. */
  public readonly source?: ec2.Instance;
  /** The bake's report; undefined with `sourceInstanceId`. */
  public readonly bake?: ReportedScript;
  /** The image made from the source (or the existing instance). */
  public readonly image: InstanceImage;
  /** The instance launched from the image, which runs the AMI test. */
  public readonly target: ec2.Instance;
  /** The AMI test's report: the deploy succeeds only with its success. */
  public readonly test: ReportedScript;
  /** Where the bake and the AMI test write their output, a stream per instance. */
  public readonly instanceLogs: logs.LogGroup;
  /** The promotion after the AMI test; undefined when `distribution` asks for nothing. */
  public readonly distribution?: ImageDistribution;

  constructor(scope: Construct, id: string, props: AmiFromInstanceStackProps = {}) {
    super(scope, id, props);
    if (props.vpcId && props.vpc) throw new Error(`give vpc or vpcId, not both, got vpcId ${JSON.stringify(props.vpcId)} and a vpc`);
    if (props.volumeKmsKeyArn && props.volumeKey) throw new Error(`give volumeKey or volumeKmsKeyArn, not both, got volumeKmsKeyArn ${JSON.stringify(props.volumeKmsKeyArn)} and a volumeKey`);
    const volumeKey = props.volumeKmsKeyArn ? kms.Key.fromKeyArn(this, 'VolumeKey', props.volumeKmsKeyArn) : props.volumeKey;
    // The stack's own network, as before the pipeline became a construct (so its Name tags stay).
    const vpc = props.vpcId ? ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: props.vpcId }) : props.vpc ?? TestedImage.newVpc(this, 'Vpc');

    this.pipeline = new TestedImage(this, 'Default', { ...props, vpc, volumeKey });
    ({ source: this.source, bake: this.bake, image: this.image, target: this.target, test: this.test,
      instanceLogs: this.instanceLogs, distribution: this.distribution } = this.pipeline);

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
}
