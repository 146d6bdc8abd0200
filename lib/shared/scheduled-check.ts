import { createHash } from 'node:crypto';
import { CfnWaitCondition, CfnWaitConditionHandle, Duration, Lazy, Names, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV_CHECK_RULE } from './names';

/**
 * A wait condition (`id`) and its handle whose logical ids end in 16 hex digits
 * of a hash of `identity` and the timeout: a wait condition cannot be updated
 * or signalled again, so whatever needs a new signal gets a new pair.
 * @returns the pair and the hash (a token, resolved at synth).
 */
export function hashedWaitCondition(scope: Construct, id: string, timeoutSeconds: number, identity: () => unknown) {
  const stack = Stack.of(scope);
  if (timeoutSeconds < 1 || timeoutSeconds > 43200) {
    throw new Error(`the wait of ${scope.node.path} must be 1 s to 12 hours (a wait condition's limit), got ${timeoutSeconds} s`);
  }
  let cached: string | undefined;
  const hash = () => cached ??= createHash('sha256')
    .update(JSON.stringify(stack.resolve({ identity: identity(), timeout: timeoutSeconds })))
    .digest('hex').slice(0, 16);
  const handle = new CfnWaitConditionHandle(scope, 'Handle');
  const condition = new CfnWaitCondition(scope, id, { handle: handle.ref, timeout: String(timeoutSeconds), count: 1 });
  for (const resource of [handle, condition]) {
    const base = stack.getLogicalId(resource);
    resource.overrideLogicalId(Lazy.uncachedString({ produce: () => `${base}${hash()}` }));
  }
  return { handle, condition, hash: Lazy.string({ produce: hash }) };
}

/** How often the fallback check runs while an image is pending. */
export const CHECK_INTERVAL = Duration.minutes(5);

/**
 * A schedule (every {@link CHECK_INTERVAL}) that invokes `fn`, disabled in the
 * template: whatever starts the wait turns it on ({@link ScheduledCheck.grantEnable}),
 * and `fn`, which gets the rule's name as `CHECK_RULE` and may disable only it,
 * turns it off once nothing is pending. The name is a literal, so that the
 * function may name the rule that targets it.
 */
export class ScheduledCheck {
  public readonly rule: events.Rule;
  public readonly ruleName: string;
  private readonly ruleArn: string;

  constructor(scope: Construct, id: string, fn: lambda.Function, description: string) {
    this.ruleName = Names.uniqueResourceName(scope, { maxLength: 64, separator: '-' });
    this.ruleArn = Stack.of(scope).formatArn({ service: 'events', resource: 'rule', resourceName: this.ruleName });
    this.rule = new events.Rule(scope, id, {
      ruleName: this.ruleName,
      description,
      schedule: events.Schedule.rate(CHECK_INTERVAL),
      enabled: false,
      targets: [new targets.LambdaFunction(fn)],
    });
    fn.addEnvironment(ENV_CHECK_RULE, this.ruleName);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:DisableRule'], resources: [this.ruleArn] }));
  }

  /** Lets `fn` turn the check on (EnableRule on this rule only). */
  public grantEnable(fn: lambda.Function): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:EnableRule'], resources: [this.ruleArn] }));
  }
}
