import { createHash } from 'node:crypto';
import { ArnFormat, CustomResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** The `baseImage` forms the app accepts: `pinned` (the default), `latest`, `ami-…`, `ssm:/path`. */
export const BASE_IMAGE_PATTERN = /^(pinned|latest|ami-[0-9a-f]{8}([0-9a-f]{9})?|ssm:\/[A-Za-z0-9_.\-/]{1,2047})$/;

/** The image the source instance starts from, as chosen; see {@link BaseImage.bind}. */
export interface BoundBaseImage {
  /** The machine image for the source. */
  readonly machineImage: ec2.IMachineImage;

  /**
   * True when CloudFormation resolves the image anew on every deploy, so the
   * source may be replaced with nothing changed at synth (`latest`).
   */
  readonly followsEveryDeploy: boolean;

  /**
   * True when the AMI id is written in the template (`ami-…`), as the user chose.
   *
   * @default false
   */
  readonly literal?: boolean;

  /**
   * True for Amazon Linux 2023, on which the CloudFormation helper scripts
   * (`cfn-signal`) are preinstalled (CloudFormation Template Reference,
   * "CloudFormation helper scripts reference", Amazon Linux AMI images): the
   * source and the target then signal a CreationPolicy too, so that any
   * replacement of either, also one no synth can see (a replaced subnet or
   * security group), waits for its own bake or test.
   *
   * @default false
   */
  readonly signalsCreationPolicy?: boolean;
}

/** Options of {@link BaseImage.amazonLinux2023} and {@link BaseImage.fromSsmParameter}. */
export interface BaseImageOptions {
  /**
   * Any string: changing it reads the parameter again on the next deploy.
   *
   * @default - read once, at the first deploy
   */
  readonly refresh?: string;
}

/**
 * The base image of the source instance: a deliberate choice, because a base
 * that moves by itself replaces the source, and so the AMI, on a deploy that
 * changed nothing.
 */
export abstract class BaseImage {
  /**
   * Amazon Linux 2023 for the architecture, read from AWS's public SSM
   * parameter once, when the stack first creates it, and kept: later
   * deploys reuse that AMI id until `refresh` changes (any new string).
   */
  public static amazonLinux2023(options: BaseImageOptions = {}): BaseImage {
    return new PinnedParameter((arch) => al2023Parameter(arch), options.refresh, true, true);
  }

  /**
   * Amazon Linux 2023 from AWS's public SSM parameter, as a parameter-typed
   * value CloudFormation re-resolves on every deploy: when AWS publishes a new
   * release, the next deploy replaces the source and makes a new AMI, and the
   * previous one is deleted (unless kept).
   */
  public static latestAmazonLinux2023(): BaseImage {
    return new Latest();
  }

  /** A fixed AMI of your own (for the instance's region). */
  public static fromImageId(imageId: string): BaseImage {
    return new Fixed(imageId);
  }

  /**
   * The AMI id in an SSM parameter, read once and kept until `refresh`
   * changes, as for {@link BaseImage.amazonLinux2023}: one of this account,
   * or a public one of AWS's (`/aws/service/…`, as another publisher's AMI).
   */
  public static fromSsmParameter(parameterName: string, options: BaseImageOptions = {}): BaseImage {
    return new PinnedParameter(() => parameterName, options.refresh, /^\/aws\/service\//.test(parameterName));
  }

  /**
   * The `baseImage` context value: `pinned` (the default), `latest`,
   * `ami-…` or `ssm:/path`.
   *
   * @throws an Error naming `baseImage` and the value for any other form
   */
  public static fromContext(value: string, refresh?: string): BaseImage {
    if (!BASE_IMAGE_PATTERN.test(value)) {
      throw new Error(`baseImage must be pinned, latest, ami-<8 or 17 hex digits> or ssm:/<parameter path>, got ${JSON.stringify(value)}`);
    }
    if (value === 'pinned') return BaseImage.amazonLinux2023({ refresh });
    if (value === 'latest') return BaseImage.latestAmazonLinux2023();
    if (value.startsWith('ami-')) return BaseImage.fromImageId(value);
    return BaseImage.fromSsmParameter(value.slice('ssm:'.length), { refresh });
  }

  /** The machine image for an instance of `architecture` in `scope`'s stack. */
  public abstract bind(scope: Construct, architecture: ec2.InstanceArchitecture): BoundBaseImage;
}

function al2023Parameter(architecture: ec2.InstanceArchitecture): string {
  return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture === ec2.InstanceArchitecture.ARM_64 ? 'arm64' : 'x86_64'}`;
}

function linux(imageId: string): ec2.IMachineImage {
  return { getImage: () => ({ imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() }) };
}

class Fixed extends BaseImage {
  constructor(private readonly imageId: string) {
    super();
  }

  public bind(): BoundBaseImage {
    return { machineImage: linux(this.imageId), followsEveryDeploy: false, literal: true };
  }
}

class Latest extends BaseImage {
  public bind(_scope: Construct, architecture: ec2.InstanceArchitecture): BoundBaseImage {
    return {
      // Not MachineImage.latestAmazonLinux2023(): it ignores `kernel` and pins the kernel this CDK version knows.
      machineImage: new ec2.AmazonLinux2023ImageSsmParameter({
        cpuType: architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
        kernel: ec2.AmazonLinux2023Kernel.DEFAULT,
        cachedInContext: false,
      }),
      followsEveryDeploy: true,
      signalsCreationPolicy: true,
    };
  }
}

/**
 * Reads the parameter on Create only (AwsCustomResource, no Update call), and
 * keeps the AMI id as the resource's physical id, so that `Ref` gives the same
 * id on every later deploy. The construct id carries a hash of the parameter
 * and `refresh`: changing either is a new resource, so a new read.
 */
class PinnedParameter extends BaseImage {
  constructor(
    private readonly parameterName: (architecture: ec2.InstanceArchitecture) => string,
    private readonly refresh: string | undefined,
    private readonly awsPublic: boolean,
    /** Amazon Linux 2023 (cfn-signal preinstalled). */
    private readonly amazonLinux = false,
  ) {
    super();
  }

  public bind(scope: Construct, architecture: ec2.InstanceArchitecture): BoundBaseImage {
    const stack = Stack.of(scope);
    const name = this.parameterName(architecture);
    const id = createHash('sha256').update(JSON.stringify([name, this.refresh ?? ''])).digest('hex').slice(0, 8).toUpperCase();
    const logGroup = new logs.LogGroup(scope, `BaseImageLogs${id}`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(scope, `BaseImageRole${id}`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    const parameterArn = (account?: string) => stack.formatArn({
      service: 'ssm',
      account,
      resource: 'parameter',
      resourceName: name.replace(/^\//, ''),
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    // AWS's public parameters report an ARN without an account (arn:aws:ssm:<region>::parameter/aws/service/…); this
    // offline synth cannot see which form IAM matches the request against, so both are granted: read-only, one parameter.
    const parameterArns = this.awsPublic ? [parameterArn(''), parameterArn()] : [parameterArn()];
    const resolver = new cr.AwsCustomResource(scope, `BaseImage${id}`, {
      resourceType: 'Custom::BaseImage',
      onCreate: {
        service: 'SSM',
        action: 'getParameter',
        parameters: { Name: name },
        physicalResourceId: cr.PhysicalResourceId.fromResponse('Parameter.Value'),
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: parameterArns })]),
      role,
      logGroup,
      installLatestAwsSdk: false,
    });
    const imageId = (resolver.node.findChild('Resource') as CustomResource).ref;
    return { machineImage: linux(imageId), followsEveryDeploy: false, signalsCreationPolicy: this.amazonLinux };
  }
}
