import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/**
 * DescribeStackResource and DescribeStacks on this stack only: which physical
 * id CloudFormation records for a resource tells a replaced resource's Delete
 * from the resource's own, and the stack's status a rollback's cleanup from a
 * user's update (runtime/retention.ts). Both actions are authorized on the
 * `stack` resource type (Service Authorization Reference, AWS CloudFormation):
 * this stack's own ARN (`AWS::StackId`), no wildcard.
 */
export function readOwnStackResource(stack: Stack): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['cloudformation:DescribeStackResource', 'cloudformation:DescribeStacks'],
    resources: [stack.stackId],
  });
}

/** A read-only policy on `*`, of one function, that the function waits for. */
export function describePolicy(scope: Construct, id: string, fn: lambda.Function, actions: string[]): void {
  const policy = new iam.Policy(scope, id, {
    statements: [new iam.PolicyStatement({ actions, resources: ['*'] })],
    roles: [fn.role!],
  });
  // A separate policy is not one the function waits for by itself.
  fn.node.addDependency(policy);
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `${actions.join(', ')}: read-only, and granted on "*" because EC2 offers no resource-level permission for them. ` +
      'This policy holds nothing else; every mutating action is in the role\'s own policy, scoped by ARN and owner tag.',
  });
}

/**
 * The cdk-nag IAM5 finding for `arn:<partition>:ec2:<region>::<resource>/*`,
 * as cdk-nag names it: tokens as `<AWS::Partition>`, values as themselves
 * (a stack with an explicit env has a concrete partition and region).
 */
export function ec2Finding(stack: Stack, resource: string, region?: string): string {
  const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
  const where = region ?? (Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region);
  return `AwsSolutions-IAM5[Resource::arn:${partition}:ec2:${where}::${resource}/*]`;
}
