import { CfnResource, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * Public subnets and no NAT gateway: the cheapest network in which the
 * instances reach SSM and the package repositories. Flow logs for review.
 */
export function publicVpc(scope: Construct, id: string): ec2.Vpc {
  const vpc = new ec2.Vpc(scope, id, {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
  });
  // All traffic of two small instances is a few MB a deploy: cents, for a record a security review can ask for.
  vpc.addFlowLog('FlowLog', {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(scope, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    })),
    trafficType: ec2.FlowLogTrafficType.ALL,
  });
  retainRestrictDefaultSgLogs(vpc);
  return vpc;
}

/**
 * The VPC strips the default security group's rules with a CDK-internal
 * provider function, one per stack, that takes no log settings, so Lambda
 * would create its log group on first run, kept forever. This creates that
 * group (named by Lambda's convention) with a retention, once per stack,
 * before the function first runs.
 */
function retainRestrictDefaultSgLogs(vpc: ec2.Vpc): void {
  const stack = Stack.of(vpc);
  const provider = stack.node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
  const restrict = vpc.node.tryFindChild('RestrictDefaultSecurityGroupCustomResource');
  if (!provider || !restrict) return; // the feature flag @aws-cdk/aws-ec2:restrictDefaultSecurityGroup is off
  const existing = stack.node.tryFindChild('RestrictDefaultSgLogs') as logs.LogGroup | undefined;
  const handler = provider.node.findChild('Handler') as CfnResource;
  const logGroup = existing ?? new logs.LogGroup(stack, 'RestrictDefaultSgLogs', {
    logGroupName: Fn.join('', ['/aws/lambda/', handler.ref]),
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  restrict.node.addDependency(logGroup);
}
