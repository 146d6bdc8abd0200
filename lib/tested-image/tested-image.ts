import { Annotations, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BaseImage } from '../base-image';
import { HardenedInstance } from '../hardened-instance';
import { ImageDistribution } from '../image-distribution/image-distribution';
import type { ImageDistributionOptions } from '../image-distribution/props';
import { InstanceImage } from '../instance-image/instance-image';
import type { InstanceImageOptions } from '../instance-image/props';
import { Recipe } from '../recipe/recipe';
import { ReportedScript } from '../reported-script/reported-script';
import { publicVpc } from './network';

/** Properties of {@link TestedImage}. */
export interface TestedImageProps {
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
   * The VPC the instances run in. They go into its public subnets, to reach
   * SSM and the package repositories without a NAT gateway.
   *
   * @default - a new VPC with public subnets in two availability zones, no NAT gateway, and flow logs
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The customer managed KMS key that encrypts the instances' root volumes,
   * and so the image's snapshots. Required to share the image: snapshots
   * encrypted with the AWS managed key `aws/ebs` cannot be shared.
   *
   * @default - the account's default EBS encryption key
   */
  readonly volumeKey?: kms.IKey;

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
   * @default - the nginx demo (`recipes/nginx`); with `sourceInstanceId`, `Recipe.smokeTest()`, an AMI test any healthy Linux image passes
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
   * Size of the source's root volume in GiB, 1 to 16384 (EBS's gp3 limit),
   * and so of the image's root and the target's: the console's *Instance
   * volumes*. At least the base image's root snapshot (8 GiB for AL2023),
   * which EC2 checks at launch. No use with `sourceInstanceId`: the image
   * keeps that instance's volumes as they are.
   *
   * @default 8
   */
  readonly rootVolumeGiB?: number;

  /**
   * How long the bake and the AMI test may each take before CloudFormation
   * gives up on their signal (1 minute to 12 hours, a wait condition's
   * limit). The script itself gets that less a fifth (at most 5 minutes
   * less), kept for the boot, the log and the signal; still running then, it
   * is stopped and the step fails saying it timed out. A new value is a new
   * wait condition and a new instance (a wait condition cannot be updated).
   *
   * @default Duration.minutes(15)
   */
  readonly scriptTimeout?: Duration;

  /**
   * Settings of the image.
   *
   * @default - see {@link InstanceImageOptions}
   */
  readonly image?: InstanceImageOptions;

  /**
   * Sharing, copies, deprecation and the SSM parameter of the image, applied
   * only once the AMI test has passed.
   *
   * @default - none: the image is not promoted anywhere
   */
  readonly distribution?: ImageDistributionOptions;
}

/**
 * The console's *Create image* flow as one construct: bakes a source instance
 * with a recipe (or takes an existing instance), images it, and proves the
 * image by launching a target instance from it that must pass the recipe's
 * test before the deploy can succeed; only then is the image shared, copied,
 * deprecated or published (`distribution`). The bake and the test each report
 * to a wait condition, with their reason on failure, and send their output to
 * this construct's instance log group.
 *
 * Several can live in one stack: each has its own owner tag, image name,
 * instances, wait conditions, log group and promotion, and a failed test of
 * one promotes nothing of another. Give them one `vpc` to share a network.
 */
export class TestedImage extends Construct {
  /** The VPC the instances run in. */
  public readonly vpc: ec2.IVpc;
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

  /**
   * The network a TestedImage makes when given no `vpc`: public subnets in two
   * availability zones, no NAT gateway, and flow logs kept a month. Make one
   * to share among several TestedImages of a stack.
   */
  public static newVpc(scope: Construct, id: string): ec2.Vpc {
    return publicVpc(scope, id);
  }

  constructor(scope: Construct, id: string, props: TestedImageProps = {}) {
    super(scope, id);

    const architecture = props.architecture ?? ec2.InstanceArchitecture.X86_64;
    const arm = architecture === ec2.InstanceArchitecture.ARM_64;
    const instanceType = props.instanceType ?? new ec2.InstanceType(arm ? 't4g.micro' : 't3.micro');
    if (instanceType.architecture !== architecture) {
      throw new Error(`instanceType "${instanceType}" is ${instanceType.architecture}, but architecture is "${architecture}"`);
    }

    const volumeKey = props.volumeKey;
    this.vpc = props.vpc ?? publicVpc(this, 'Vpc');
    const vpc = this.vpc;
    // An existing instance is a server of its own, not the demo: by default its image gets a test any healthy image passes.
    const recipe = props.recipe ?? (props.sourceInstanceId === undefined ? Recipe.nginxDemo() : Recipe.smokeTest());
    const keepRunning = props.keepInstancesRunning ?? false;
    const timeout = props.scriptTimeout ?? Duration.minutes(15);

    // Kept when the stack is deleted or its first deploy rolls back: the logs of a failed bake or test are the point.
    // Events expire after a month; the empty group costs nothing.
    this.instanceLogs = new logs.LogGroup(this, 'InstanceLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.RETAIN });

    // A CreationPolicy besides the wait condition where the image has cfn-signal (Amazon Linux 2023): every replacement
    // of an instance, visible at synth or not, then waits for its own bake or test (the wait condition keeps the reason).
    let signalsCreationPolicy = false;
    if (props.sourceInstanceId === undefined) {
      if (!recipe.bake) throw new Error('recipe has no bake.sh: a recipe that bakes the source needs one (only sourceInstanceId goes without)');
      const base = (props.baseImage ?? BaseImage.amazonLinux2023()).bind(this, architecture);
      signalsCreationPolicy = base.followsEveryDeploy || base.signalsCreationPolicy === true;
      this.source = new HardenedInstance(this, 'Source', { vpc, instanceType, machineImage: base.machineImage, volumeKey, rootVolumeGiB: props.rootVolumeGiB }).instance;
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
        creationPolicy: signalsCreationPolicy,
      });
    } else {
      if (props.rootVolumeGiB !== undefined) {
        throw new Error(`rootVolumeGiB has no use with sourceInstanceId (the image keeps that instance's volumes as they are), got rootVolumeGiB ${props.rootVolumeGiB}`);
      }
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

    // The image's own block device mapping (every volume, each size and type), its root encrypted: a root of a fixed
    // device and size would be too small for a larger root snapshot, and a blank extra volume beside a /dev/sda1 root.
    this.target = new HardenedInstance(this, 'Target', {
      vpc, instanceType, machineImage: this.image.machineImage(), volumeKey, imageRootDevice: this.image.rootDeviceName,
    }).instance;
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
      creationPolicy: signalsCreationPolicy,
    });
    // The test's handle only once the image is available: its pre-signed URL is minted when the handle is created, and
    // its lifetime is undocumented (about 24 hours seen), which a long bake and a long image wait must not use up.
    this.test.handle.node.addDependency(this.image.available);

    const distribution = props.distribution ?? {};
    const promotes = [distribution.shareWithAccounts, distribution.shareWithOrganizationArns, distribution.copyToRegions,
      distribution.deprecateAfterDays, distribution.ssmParameterName].some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0));
    if (promotes) {
      // Only an image that passed its test is shared, copied, deprecated or published.
      this.distribution = new ImageDistribution(this, 'Distribution', {
        ...distribution,
        image: this.image,
        volumeKey,
        // The test's condition, and the target itself: with a CreationPolicy the target completes with its own signal,
        // which follows the condition's (a target replaced under a completed condition still gates the promotion).
        promoteAfter: [this.test.condition, this.target],
      });
    }
  }
}
