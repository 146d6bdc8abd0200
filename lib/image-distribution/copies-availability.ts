import * as path from 'node:path';
import { CfnResource, Duration, Names, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CHECK_INTERVAL, hashedWaitCondition } from '../instance-image/availability';
import { describePolicy } from '../instance-image/permissions';
import { handlerFunction } from '../instance-image/provider';
import { ENV_CHECK_RULE, ENV_HANDLE_URL, ENV_OWNER } from '../instance-image/shared';
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
 * of the image to be available, signalled by a scheduled check (every
 * {@link CHECK_INTERVAL}, enabled by the resource that starts the copies and
 * disabled by the check once nothing is pending). No events: EC2 publishes a
 * copy's events in the copy's region.
 */
export class CopiesAvailability extends Construct {
  public readonly condition: CfnResource;
  public readonly checkRuleName: string;
  public readonly checkFunction: lambda.Function;
  private readonly checkRule: events.Rule;

  constructor(scope: Construct, id: string, props: CopiesAvailabilityProps) {
    super(scope, id);
    const pair = hashedWaitCondition(this, 'Available', props.timeout.toSeconds(), props.identity);
    this.condition = pair.condition;

    this.checkRuleName = Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    this.checkFunction = handlerFunction(this, 'Check', path.join(__dirname, 'runtime', 'copies-check.ts'), 'onCopiesCheck', props.logRetention);
    this.checkFunction.addEnvironment(ENV_HANDLE_URL, pair.handle.ref);
    this.checkFunction.addEnvironment(ENV_OWNER, props.owner);
    this.checkFunction.addEnvironment(ENV_CHECK_RULE, this.checkRuleName);
    this.checkFunction.addEnvironment(ENV_IMAGE_ID, props.imageId);
    this.checkFunction.addEnvironment(ENV_IMAGE_NAME, props.imageName);
    this.checkFunction.addEnvironment(ENV_COPY_REGIONS, props.regions.join(','));
    this.checkRule = new events.Rule(this, 'Schedule', {
      ruleName: this.checkRuleName,
      description: `Check of ${this.node.path}'s pending copies; enabled when they are started, disabled by the check once none is pending`,
      schedule: events.Schedule.rate(CHECK_INTERVAL),
      enabled: false,
      targets: [new targets.LambdaFunction(this.checkFunction)],
    });
    describePolicy(this, 'CheckDescribePolicy', this.checkFunction, ['ec2:DescribeImages', 'ec2:DescribeSnapshots']);
    this.checkFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:DisableRule'], resources: [this.ruleArn()] }));
  }

  /** The copies' starter enables the check; the condition's timer starts once the copies are started. */
  public attach(starter: CfnResource, starterFunction: lambda.Function): void {
    starter.node.addDependency(this.checkFunction, this.checkRule);
    this.condition.node.addDependency(starter);
    starterFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:EnableRule'], resources: [this.ruleArn()] }));
  }

  private ruleArn(): string {
    return Stack.of(this).formatArn({ service: 'events', resource: 'rule', resourceName: this.checkRuleName });
  }
}
