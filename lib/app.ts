import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AmiFromInstanceStack, AmiFromInstanceStackProps } from './ami-from-instance-stack';

/** Id (and CloudFormation name) of the app's stack. */
export const STACK_ID = 'AmiFromInstanceStack';

/**
 * Adds the stack and the policy checks to an App. `bin/ami-from-instance.ts`
 * and the tests both build the app here, so the tests check what `cdk synth` checks.
 *
 * cdk-nag 3 is a policy validation plugin: synthesis fails on any AwsSolutions
 * finding not acknowledged (`Validations.of(construct).acknowledge`) where the
 * resource is defined.
 */
export function buildApp(app: App, props: AmiFromInstanceStackProps = {}): AmiFromInstanceStack {
  const stack = new AmiFromInstanceStack(app, STACK_ID, {
    description: 'ami-from-instance: a baked EC2 instance turned into an AMI, tested on a second instance',
    ...props,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
