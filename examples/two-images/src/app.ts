import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TwoImagesStack } from './two-images-stack';

/** The example app: the stack, checked by cdk-nag's AwsSolutions rules (any finding fails the synth). */
export function buildApp(app: App): TwoImagesStack {
  const stack = new TwoImagesStack(app, 'TwoImages');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}

if (require.main === module) {
  const app = new App();
  buildApp(app);
  app.synth();
}
