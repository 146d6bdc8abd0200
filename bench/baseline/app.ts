/**
 * The benchmark's baseline: what `cdk init app` plus a VPC and two plain
 * instances looks like, with the same CDK version, CLI and context as the app.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

const app = new App();
const stack = new Stack(app, 'BaselineStack');
const vpc = new ec2.Vpc(stack, 'Vpc');
for (const id of ['First', 'Second']) {
  new ec2.Instance(stack, id, {
    vpc,
    instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO),
    machineImage: ec2.MachineImage.latestAmazonLinux2023(),
  });
}
