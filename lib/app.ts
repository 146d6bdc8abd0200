import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AmiFromInstanceStack, AmiFromInstanceStackProps } from './ami-from-instance-stack';
import { readConfig } from './config';

/** Id (and CloudFormation name) of the app's stack. */
export const STACK_ID = 'AmiFromInstanceStack';

/**
 * Adds the stack, configured from the app's context (lib/config.ts), and the policy checks to an App. `bin/ami-from-instance.ts`
 * and the tests both build the app here, so the tests check what `cdk synth` checks.
 *
 * cdk-nag 3 is a policy validation plugin: synthesis fails on any AwsSolutions
 * finding not acknowledged (`Validations.of(construct).acknowledge`) where the
 * resource is defined.
 */
export function buildApp(app: App, props: AmiFromInstanceStackProps = {}): AmiFromInstanceStack {
  // The account and region the CLI resolved from the credentials; only `vpcId` needs them.
  const config = readConfig(app.node, { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION });
  const stack = new AmiFromInstanceStack(app, STACK_ID, {
    description: 'ami-from-instance: a baked EC2 instance turned into an AMI, tested on a second instance',
    ...config.props,
    ...props,
  });
  // Reported by CDK: `cdk synth` prints each and exits non-zero, without a stack trace.
  for (const error of config.errors) {
    Annotations.of(stack).addError(error);
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
