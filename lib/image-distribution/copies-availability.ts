import * as path from 'node:path';
import { CfnResource, Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV_HANDLE_URL, ENV_OWNER } from '../shared/names';
import { templatePath } from '../shared/paths';
import { describePolicy } from '../shared/permissions';
import { handlerFunction } from '../shared/provider';
import { hashedWaitCondition, ScheduledCheck } from '../shared/scheduled-check';
import { ENV_COPY_REGIONS, ENV_IMAGE_ID, ENV_IMAGE_NAME } from './shared';

export interface CopiesAvailabilityProps {
  readonly owner: string;
  readonly imageId: string;
  readonly imageName: string;
  readonly regions: readonly string[];
  /** What makes new copies (the image, the regions, the key). */
  readonly identity: () => unknown;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Copies that may take hours: a wait condition (up to 12 hours) for every copy
 * of the image to be available, signalled by a {@link ScheduledCheck} (every 5
 * minutes, enabled by the resource that starts the copies, disabled by the
 * check once nothing is pending). No events: EC2 publishes a copy's events in
 * the copy's region.
 */
export class CopiesAvailability extends Construct {
  public readonly condition: CfnResource;
  /**
   * The hash in the condition's logical id (a token): a new value is a new
   * condition, which the copies' starter must signal again (its Update turns
   * the check on, and the check signals the new handle once every copy is available).
   */
  public readonly signalId: string;
  public readonly checkRuleName: string;
  public readonly checkFunction: lambda.Function;
  private readonly check: ScheduledCheck;

  constructor(scope: Construct, id: string, props: CopiesAvailabilityProps) {
    super(scope, id);
    const pair = hashedWaitCondition(this, 'Available', props.timeout.toSeconds(), props.identity);
    this.condition = pair.condition;
    this.signalId = pair.hash;

    this.checkFunction = handlerFunction(this, 'Check', path.join(__dirname, 'runtime', 'copies-check.ts'), 'onCopiesCheck', props.logRetention);
    this.checkFunction.addEnvironment(ENV_HANDLE_URL, pair.handle.ref);
    this.checkFunction.addEnvironment(ENV_OWNER, props.owner);
    this.checkFunction.addEnvironment(ENV_IMAGE_ID, props.imageId);
    this.checkFunction.addEnvironment(ENV_IMAGE_NAME, props.imageName);
    this.checkFunction.addEnvironment(ENV_COPY_REGIONS, props.regions.join(','));
    this.check = new ScheduledCheck(this, 'Schedule', this.checkFunction,
      `Check of ${templatePath(this)}'s pending copies; enabled when they are started, disabled by the check once none is pending`);
    this.checkRuleName = this.check.ruleName;
    describePolicy(this, 'CheckDescribePolicy', this.checkFunction, ['ec2:DescribeImages', 'ec2:DescribeSnapshots']);
  }

  /** The copies' starter enables the check; the condition's timer starts once the copies are started. */
  public attach(starter: CfnResource, starterFunction: lambda.Function): void {
    starter.node.addDependency(this.checkFunction, this.check.rule);
    this.condition.node.addDependency(starter);
    this.check.grantEnable(starterFunction);
  }
}
