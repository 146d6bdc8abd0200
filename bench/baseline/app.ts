/**
 * The benchmark's baseline: what `cdk init app` plus a VPC and two plain
 * instances looks like, with the same CDK version, CLI and context as the app.
 *
 * With BENCH_SAME_CHECKS=1 it also runs the checks the app runs on every
 * synth (cdk-nag's AwsSolutions pack as a validation plugin, lib/app.ts), so
 * that "synth ratio (same checks)" compares the product's own cost alone. The
 * baseline's findings are acknowledged: it is never deployed.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';

const app = new App();
const stack = new Stack(app, 'BaselineStack');
const vpc = new ec2.Vpc(stack, 'Vpc');
const instances = ['First', 'Second'].map((id) => new ec2.Instance(stack, id, {
  vpc,
  instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO),
  machineImage: ec2.MachineImage.latestAmazonLinux2023(),
}));

if (process.env.BENCH_SAME_CHECKS === '1') {
  const reason = 'Benchmark baseline, never deployed: it exists to time a synth with the same checks.';
  Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason });
  for (const instance of instances) {
    for (const id of ['AwsSolutions-EC26', 'AwsSolutions-EC28', 'AwsSolutions-EC29']) {
      Validations.of(instance).acknowledge({ id, reason });
    }
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
