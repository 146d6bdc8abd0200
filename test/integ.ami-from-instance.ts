/**
 * Acceptance test against a real AWS account (costs a few cents; takes about
 * 15 minutes): deploys the stack, checks that the AMI is available, that the
 * target was launched from it and powered itself off after passing its test,
 * and that the source was left stopped, then destroys the stack.
 *
 *   npx integ-runner --directory test --app "npx tsx {filePath}" --update-on-failed
 *
 * (integ-runner cannot yet read the cloud assembly aws-cdk-lib 2.276 writes:
 * see the README's "CI" section.) `npm test` synthesizes this app in
 * test/integ.test.ts, so it keeps compiling and stays consistent with the stack.
 */
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Duration } from 'aws-cdk-lib';
import { AmiFromInstanceStack } from '../lib/ami-from-instance-stack';

export function buildIntegApp(app: App): IntegTest {
  const stack = new AmiFromInstanceStack(app, 'AmiFromInstanceInteg', {
    description: 'ami-from-instance acceptance test (integ-runner)',
  });
  const integ = new IntegTest(app, 'AmiFromInstance', {
    testCases: [stack],
    // The stack must also delete cleanly: integ-runner destroys it after the assertions.
    cdkCommandOptions: { destroy: { args: { force: true } } },
  });

  integ.assertions
    .awsApiCall('EC2', 'describeImages', { ImageIds: [stack.image.imageId] })
    .expect(ExpectedResult.objectLike({ Images: [{ State: 'available', ImdsSupport: 'v2.0', Public: false }] }))
    .waitForAssertions({ totalTimeout: Duration.minutes(10), interval: Duration.seconds(30) });

  // The deploy succeeded only if the target signalled a passing test; it then powers itself off.
  integ.assertions
    .awsApiCall('EC2', 'describeInstances', { InstanceIds: [stack.target.instanceId] })
    .expect(ExpectedResult.objectLike({ Reservations: [{ Instances: [{ ImageId: stack.image.imageId, State: { Name: 'stopped' } }] }] }))
    .waitForAssertions({ totalTimeout: Duration.minutes(5) });

  // The image handler stopped the source before imaging it, and left it stopped.
  integ.assertions
    .awsApiCall('EC2', 'describeInstances', { InstanceIds: [stack.source!.instanceId] })
    .expect(ExpectedResult.objectLike({ Reservations: [{ Instances: [{ State: { Name: 'stopped' } }] }] }));

  return integ;
}

if (require.main === module) {
  const app = new App();
  buildIntegApp(app);
  app.synth();
}
