import * as path from 'node:path';
import { CfnResource, CfnWaitCondition, CfnWaitConditionHandle, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV_HANDLE_URL, ENV_OWNER, OWNER_TAG, SIGNAL_TAG } from '../shared/names';
import { templatePath } from '../shared/paths';
import { describePolicy, ec2Finding } from '../shared/permissions';
import { handlerFunction } from '../shared/provider';
import { hashedWaitCondition, ScheduledCheck } from '../shared/scheduled-check';
import { ENV_SIGNAL_ID } from './shared';

export interface ImageAvailabilityProps {
  /** The owner tag value of the image. */
  readonly owner: string;
  /** What makes a new image (a new image needs a new wait condition and handle). */
  readonly identity: () => unknown;
  /** How long the wait condition waits for the image: at most 12 hours. */
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
}

/**
 * For waits over the hour a custom resource gets: a wait condition (up to 12
 * hours) that everything needing the image depends on, signalled by a small
 * function on EC2's `EC2 AMI State Change` events, with a scheduled check
 * (every {@link CHECK_INTERVAL}, enabled only while an image is pending) for
 * events EventBridge did not deliver. The image resource completes once its
 * image exists; no function waits.
 *
 * A wait condition and its handle cannot be updated or signalled again: their
 * logical ids follow a hash of the image's identity and the timeout, and the
 * image carries that hash in its {@link SIGNAL_TAG} tag, so the function
 * signals only the handle of the image it waits for.
 */
export class ImageAvailability extends Construct {
  public readonly handle: CfnWaitConditionHandle;
  /** Succeeds when the image is available; fails with EC2's reason. */
  public readonly condition: CfnWaitCondition;
  /** The hash in the logical ids and in the image's signal tag (a token). */
  public readonly signalId: string;
  /** The name of the scheduled check's rule (a literal, so that the function may name it). */
  public readonly checkRuleName: string;
  public readonly check: ScheduledCheck;
  public readonly signalFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: ImageAvailabilityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const seconds = props.timeout.toSeconds();
    const pair = hashedWaitCondition(this, 'Available', seconds, props.identity);
    this.handle = pair.handle;
    this.condition = pair.condition;
    this.signalId = pair.hash;

    this.signalFunction = handlerFunction(this, 'Signal', path.join(__dirname, 'runtime', 'signal.ts'), 'onImageEvent', props.logRetention);
    this.signalFunction.addEnvironment(ENV_HANDLE_URL, this.handle.ref);
    this.signalFunction.addEnvironment(ENV_SIGNAL_ID, this.signalId);
    this.signalFunction.addEnvironment(ENV_OWNER, props.owner);

    new events.Rule(this, 'StateChange', {
      description: `EC2 AMI State Change (available, failed) to ${templatePath(this)}'s signal function`,
      eventPattern: { source: ['aws.ec2'], detailType: ['EC2 AMI State Change'], detail: { State: ['available', 'failed'] } },
      targets: [new targets.LambdaFunction(this.signalFunction)],
    });
    this.check = new ScheduledCheck(this, 'Check', this.signalFunction,
      `Fallback check of ${templatePath(this)}'s pending image; enabled by the image handler, disabled by the check once nothing is pending`);
    this.checkRuleName = this.check.ruleName;

    // Read-only Describe calls on '*' (no resource-level permissions); the rest is scoped.
    describePolicy(this, 'SignalDescribePolicy', this.signalFunction, ['ec2:DescribeImages', 'ec2:DescribeSnapshots']);
    this.signalFunction.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:ModifyImageAttribute'],
      resources: [stack.formatArn({ service: 'ec2', account: '', resource: 'image', resourceName: '*' })],
      conditions: { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: props.owner } },
    }));
    Validations.of(this.signalFunction.role!.node.findChild('DefaultPolicy')).acknowledge({
      id: ec2Finding(stack, 'image'),
      reason: 'ModifyImageAttribute (ImdsSupport v2.0, set before the available image is reported) applies only to images carrying the image\'s owner tag ' +
        '(aws:ResourceTag), whose ids are not known at synth.',
    });
  }

  /**
   * The image resource starts only once the function and both rules exist (no
   * event is missed), and the condition's timer starts once the image exists.
   * `starters` are the functions that call CreateImage: they enable the check,
   * and tag an existing image anew for a new handle (a changed timeout).
   */
  public attach(resource: CfnResource, starters: lambda.Function[], owner: string): void {
    resource.node.addDependency(this.signalFunction);
    for (const child of this.node.children) {
      if (child instanceof events.Rule) resource.node.addDependency(child);
    }
    this.condition.node.addDependency(resource);
    const stack = Stack.of(this);
    for (const fn of starters) {
      this.check.grantEnable(fn);
      fn.addToRolePolicy(new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [stack.formatArn({ service: 'ec2', account: '', resource: 'image', resourceName: '*' })],
        conditions: {
          'StringEquals': { [`aws:ResourceTag/${OWNER_TAG}`]: owner },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [SIGNAL_TAG] },
        },
      }));
    }
  }
}
