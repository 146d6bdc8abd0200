import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { newApp } from './helpers/synth';
import { buildIntegApp } from './integ.ami-from-instance';

test('the acceptance test synthesizes, with its DescribeImages and DescribeInstances assertions', () => {
  const app = newApp();
  buildIntegApp(app);
  const assertStack = app.node.findAll().find((c): c is Stack => Stack.isStack(c) && c.node.id.includes('DeployAssert'))!;
  const resources = Template.fromStack(assertStack).toJSON().Resources as Record<string, { Type: string }>;
  const calls = Object.values(resources).filter((r) => r.Type.startsWith('Custom::DeployAssert@SdkCallEC2'));
  expect(calls.map((c) => c.Type).sort()).toEqual([
    'Custom::DeployAssert@SdkCallEC2describeImages', 'Custom::DeployAssert@SdkCallEC2describeInstances', 'Custom::DeployAssert@SdkCallEC2describeInstances',
  ]);
  const rendered = JSON.stringify(calls);
  expect(rendered).toContain('available');
  // Both instances end stopped: the source by the image handler, the target by itself after passing.
  expect(rendered.match(/stopped/g)).toHaveLength(2);
  expect(rendered).not.toContain('running');
});
