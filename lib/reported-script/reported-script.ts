import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArnFormat, Aws, CfnWaitCondition, CfnWaitConditionHandle, Duration, Lazy, Stack, Token, Validations, CfnElement } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';

/** The wrapper that runs the script and reports it (shell, rendered into the user data). */
export const WRAPPER = fs.readFileSync(path.join(__dirname, 'runtime', 'run.sh'), 'utf-8');

/** EC2's limit on user data, before base64. */
export const MAX_USER_DATA_BYTES = 16384;

/**
 * The largest script: it travels in the user data with the wrapper, the
 * settings, and the values CloudFormation fills in (the handle's pre-signed
 * URL, about 500 bytes, the stack name, the log group name): 3 KB are kept for
 * the settings and those values.
 */
export const MAX_SCRIPT_BYTES = MAX_USER_DATA_BYTES - Buffer.byteLength(WRAPPER) - 3072;

/** A script an instance runs: its text, and where it was read from (for messages). */
export interface ScriptText {
  /** Its text. */
  readonly content: string;
  /** Where it was read from, for messages. */
  readonly source: string;
}

/** A file placed on the instance (by cfn-init) before its script runs. */
export interface ScriptFile {
  /** Absolute path on the instance, e.g. `/etc/app.conf`. */
  readonly target: string;
  /** The file on this machine. */
  readonly source: string;
  /** Its permission bits as cfn-init takes them: six octal digits, e.g. `000755`. */
  readonly mode: string;
}

/** Which script: the bake on the source, the AMI test on the target. */
export type ScriptStep = 'bake' | 'test';

/** Properties of {@link ReportedScript}. */
export interface ReportedScriptProps {
  /** The instance that runs the script at first boot. Its user data gets the wrapper and the script. */
  readonly instance: ec2.Instance;

  /**
   * `bake` (on the source: the recipe's `bake.sh`, after its `files/`) or
   * `test` (on the target: its `test.sh`); names the log stream and the messages.
   */
  readonly step: ScriptStep;

  /** The script the instance runs (a recipe's `bake.sh` or `test.sh`). */
  readonly script: ScriptText;

  /**
   * A hash of what the script runs with (a recipe's `bakeId`, which covers
   * `files/` too, or its `testId`): part of the instance's identity, and the
   * end of the script's here-document.
   */
  readonly contentId: string;

  /**
   * Files placed on the instance before the script runs.
   *
   * @default - none
   */
  readonly files?: ScriptFile[];

  /** The log group the output goes to, one stream `<step>/<instance id>` per instance. */
  readonly logGroup: logs.ILogGroup;

  /**
   * How long CloudFormation waits for the signal.
   *
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;

  /**
   * More of what the script runs against, beyond the instance's own
   * properties (the target passes the image's content-defining properties):
   * when it changes, the instance is a new one and so is its wait condition.
   *
   * @default - only the instance's properties and the script
   */
  readonly identity?: unknown;

  /**
   * Power the instance off once it has signalled success. Its shutdown
   * behaviour must be `stop`.
   *
   * @default false
   */
  readonly powerOffOnSuccess?: boolean;

  /**
   * Also signal the instance's CreationPolicy (cfn-signal, which the image
   * must have): for an instance CloudFormation may replace under the same
   * logical id without a change visible at synth (a base image re-resolved
   * on every deploy, a replaced subnet or security group), where the wait
   * condition has long completed. The wait condition is then created beside
   * the instance, so that it exists to take a failure's reason.
   *
   * @default false
   */
  readonly creationPolicy?: boolean;
}

/**
 * Runs a recipe script at an instance's first boot and reports the result to
 * a wait condition: SUCCESS, or FAILURE with what failed, where the log is and
 * the script's last lines, which the stack events show (SignalResource, behind
 * a CreationPolicy, carries no reason). The full output goes to CloudWatch
 * Logs, so it outlives the instance.
 *
 * A wait condition and its handle cannot be updated or signalled twice: their
 * logical ids follow a hash of everything that makes the instance a new one
 * (its replacing properties, the recipe's script and files, `identity`), so a new
 * instance always gets a new pair.
 */
export class ReportedScript extends Construct {
  /** The wait condition handle the instance signals. */
  public readonly handle: CfnWaitConditionHandle;

  /** The wait condition: succeeds with the script, fails with its reason. */
  public readonly condition: CfnWaitCondition;

  constructor(scope: Construct, id: string, props: ReportedScriptProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const instance = props.instance.node.defaultChild as ec2.CfnInstance;
    const timeout = props.timeout ?? Duration.minutes(15);
    if (timeout.toSeconds() < 1 || timeout.toSeconds() > 43200) {
      throw new Error(`timeout of ${this.node.path} must be 1 s to 12 hours (a wait condition's limit), got ${timeout.toSeconds()} s`);
    }
    const { script, contentId } = props;
    const files = props.files ?? [];

    // What makes CloudFormation replace the instance, resolved at synth (tokens become the references CloudFormation
    // resolves): ImageId, NetworkInterfaces (subnet) and BlockDeviceMappings require replacement; the user data's own
    // changes give the instance a new logical id. Not InstanceType: a new type is a stop and start of the same
    // instance, whose user data does not run again, so a new wait condition would never be signalled.
    // The user data this construct writes, but the handle's URL (which follows from this identity): a change to it
    // (the wrapper, powerOffOnSuccess, the script's time) gives the instance a new logical id (userDataCausesReplacement),
    // so a new instance, which must get a new wait condition, not signal the completed one.
    const settings = () => [WRAPPER, props.powerOffOnSuccess === true, props.creationPolicy === true, files.length > 0, props.logGroup.logGroupName];
    let cached: string | undefined;
    const identity = () => cached ??= createHash('sha256').update(JSON.stringify(stack.resolve({
      step: props.step,
      // A wait condition's Timeout cannot be updated: a new timeout is a new condition (and a new instance, whose
      // user data carries the script's own time).
      timeoutSeconds: timeout.toSeconds(),
      content: contentId,
      imageId: instance.imageId,
      networkInterfaces: instance.networkInterfaces,
      blockDeviceMappings: instance.blockDeviceMappings,
      more: props.identity,
      userData: createHash('sha256').update(JSON.stringify(stack.resolve(settings()))).digest('hex'),
    }))).digest('hex').slice(0, 16);

    this.handle = new CfnWaitConditionHandle(this, 'Handle');
    this.condition = new CfnWaitCondition(this, 'Condition', {
      handle: this.handle.ref,
      timeout: String(timeout.toSeconds()),
      count: 1,
    });
    for (const resource of [this.handle, this.condition]) {
      const base = stack.getLogicalId(resource);
      resource.overrideLogicalId(Lazy.uncachedString({ produce: () => `${base}${identity()}` }));
    }
    if (props.creationPolicy) {
      // The instance completes only with its own signal, so a condition created after it would not exist yet when a
      // failing script reports: the reason would be lost with the instance's failure. The condition is created beside
      // the instance instead; its timer starts a boot earlier, which the script's time bound leaves room for.
    } else {
      // The timer starts when the condition is created: after the instance is.
      this.condition.node.addDependency(instance);
    }

    if (files.length > 0) this.placeFiles(props.instance, files);
    if (props.creationPolicy) {
      instance.cfnOptions.creationPolicy = { resourceSignal: { count: 1, timeout: timeout.toIsoString() } };
      props.instance.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudformation:SignalResource'], resources: [Aws.STACK_ID] }));
    }

    const delimiter = `AFI_SCRIPT_${contentId}`;
    const text = script.content.endsWith('\n') ? script.content : `${script.content}\n`;
    if (text.split('\n').includes(delimiter)) throw new Error(`recipe script ${JSON.stringify(script.source)} holds the line ${delimiter}, which ends its here-document`);
    props.instance.userData.addCommands(
      `# ami-from-instance ${props.step}: recipe ${props.step === 'bake' ? `bake.sh and files/ ${contentId}` : `test.sh ${contentId}`}`,
      `readonly AFI_STEP=${props.step}`,
      `readonly AFI_SIGNAL_URL='${this.handle.ref}'`,
      `readonly AFI_LOG_GROUP='${props.logGroup.logGroupName}'`,
      `readonly AFI_REGION='${Aws.REGION}'`,
      `readonly AFI_STACK='${Aws.STACK_NAME}'`,
      `readonly AFI_CFN_INIT_RESOURCE='${files.length > 0 ? instance.logicalId : ''}'`,
      `readonly AFI_CFN_SIGNAL_RESOURCE='${props.creationPolicy ? instance.logicalId : ''}'`,
      `readonly AFI_POWER_OFF=${props.powerOffOnSuccess ? 'true' : 'false'}`,
      // The script's time, from its first start: the wait condition's less a fifth, at most 5 minutes, kept for the
      // boot (the condition's clock starts when the instance is created), the log and the signal; the wrapper then
      // stops it and reports the timeout with its last lines instead of a bare wait condition timeout.
      `readonly AFI_SCRIPT_SECONDS=${timeout.toSeconds() - Math.min(300, Math.floor(timeout.toSeconds() / 5))}`,
      // How often the log is shipped while the script runs.
      'readonly AFI_LOG_SECONDS=30',
      WRAPPER.trimEnd(),
      `cat >"$afi_dir/${props.step}.sh" <<'${delimiter}'`,
      `${text}${delimiter}`,
      'afi_main',
    );

    // The instance writes only its own step's streams in this log group.
    const group = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: props.logGroup.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    // CloudWatch Logs authorizes CreateLogStream on the group's ARN in its ":*" form (as DescribeLogGroups returns it);
    // only TagResource, UntagResource and ListTagsForResource take the form without it. PutLogEvents is on the stream.
    props.instance.addToRolePolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream'], resources: [`${group}:*`] }));
    props.instance.addToRolePolicy(new iam.PolicyStatement({ actions: ['logs:PutLogEvents'], resources: [`${group}:log-stream:${props.step}/*`] }));
    // cdk-nag names tokens as <AWS::Partition> and the like, and a stack with an env by its values.
    const named = (value: string, token: string) => (Token.isUnresolved(value) ? `<AWS::${token}>` : value);
    const groupFinding = `arn:${named(stack.partition, 'Partition')}:logs:${named(stack.region, 'Region')}:${named(stack.account, 'AccountId')}:log-group:` +
      `<${stack.getLogicalId(props.logGroup.node.defaultChild as CfnElement)}>`;
    const policy = Validations.of(props.instance.role.node.findChild('DefaultPolicy'));
    policy.acknowledge({
      id: `AwsSolutions-IAM5[Resource::${groupFinding}:log-stream:${props.step}/*]`,
      reason: `PutLogEvents on the ${props.step} streams of the stack's instance log group only: a stream is named after the instance id, known only once the instance runs.`,
    });
    policy.acknowledge({
      id: `AwsSolutions-IAM5[Resource::${groupFinding}:*]`,
      reason: 'CreateLogStream in the stack\'s instance log group only: CloudWatch Logs authorizes it on the group ARN in its ":*" form.',
    });
  }

  /**
   * `files/` as cfn-init files: an S3 asset each, read with the instance
   * role (GetObject on those objects only, not the whole assets bucket as
   * InitFile.fromAsset grants), their modes kept. The wrapper runs cfn-init.
   */
  private placeFiles(instance: ec2.Instance, files: ScriptFile[]): void {
    const entries: Record<string, unknown> = {};
    const buckets = new Set<string>();
    files.forEach((file, i) => {
      const asset = new s3assets.Asset(this, `File${i}`, { path: file.source });
      entries[file.target] = { source: asset.httpUrl, mode: file.mode, owner: 'root', group: 'root', authentication: 'RecipeFiles' };
      buckets.add(asset.s3BucketName);
      instance.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [asset.bucket.arnForObjects(asset.s3ObjectKey)] }));
    });
    // cfn-init reads the metadata with the instance's credentials.
    instance.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudformation:DescribeStackResource'], resources: [Aws.STACK_ID] }));
    const cfn = instance.node.defaultChild as ec2.CfnInstance;
    cfn.addMetadata('AWS::CloudFormation::Init', { config: { files: entries } });
    cfn.addMetadata('AWS::CloudFormation::Authentication', { RecipeFiles: { type: 'S3', roleName: instance.role.roleName, buckets: [...buckets] } });
  }
}
