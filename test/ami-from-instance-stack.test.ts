import { Capture, Match } from 'aws-cdk-lib/assertions';
import { BAKE_MARKER_PATH, RECIPE_ID } from '../lib/bake-recipe';
import { RESOURCE_TYPE } from '../lib/instance-image/shared';
import { synthStack } from './helpers/synth';
import { expectTemplateToMatchSnapshot } from './helpers/template-snapshot';

// GIVEN the app as `cdk synth` builds it (cdk.json context), WHEN synthesized once for all tests
const { stack, template } = synthStack();
const instances = template.findResources('AWS::EC2::Instance');
const imageLogicalId = Object.keys(template.findResources(RESOURCE_TYPE))[0];
const targetId = Object.keys(instances).find((id) => instances[id].Properties.ImageId['Fn::GetAtt'])!;
const sourceId = Object.keys(instances).find((id) => id !== targetId)!;

test('the whole template matches the committed snapshot (asset hashes normalised; a mismatch prints the infrastructure diff)', () => {
  expectTemplateToMatchSnapshot('AmiFromInstanceStack', template.toJSON());
});

test('two instances, one image custom resource backed by a Provider with an isComplete handler', () => {
  template.resourceCountIs('AWS::EC2::Instance', 2);
  template.resourceCountIs(RESOURCE_TYPE, 1);
  const image = template.findResources(RESOURCE_TYPE)[imageLogicalId];
  const serviceToken = image.Properties.ServiceToken['Fn::GetAtt'][0] as string;
  const framework = template.findResources('AWS::Lambda::Function')[serviceToken];
  expect(framework.Properties.Environment.Variables).toEqual(expect.objectContaining({
    USER_ON_EVENT_FUNCTION_ARN: expect.anything(),
    USER_IS_COMPLETE_FUNCTION_ARN: expect.anything(),
    WAITER_STATE_MACHINE_ARN: expect.anything(),
  }));
});

test('the image is made from the source instance', () => {
  template.hasResourceProperties(RESOURCE_TYPE, { InstanceId: { Ref: sourceId } });
});

test('the target launches from the image the custom resource made', () => {
  expect(instances[targetId].Properties.ImageId).toEqual({ 'Fn::GetAtt': [imageLogicalId, 'ImageId'] });
});

test('the source runs AL2023 from the public SSM parameter, resolved at deploy time', () => {
  const parameter = (instances[sourceId].Properties.ImageId as { Ref: string }).Ref;
  expect(template.toJSON().Parameters[parameter]).toEqual({
    Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
    Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
  });
});

test.each([['source', () => sourceId], ['target', () => targetId]])('the %s instance has a CreationPolicy, IMDSv2, an encrypted gp3 volume, no key pair, t3.micro', (_, id) => {
  const instance = instances[id()];
  expect(instance.CreationPolicy.ResourceSignal.Timeout).toBe('PT15M');
  expect(instance.CreationPolicy.ResourceSignal.Count ?? 1).toBe(1);
  expect(instance.Properties.InstanceType).toBe('t3.micro');
  expect(instance.Properties.KeyName).toBeUndefined();
  expect(instance.Properties.BlockDeviceMappings).toEqual([{
    DeviceName: '/dev/xvda',
    Ebs: { Encrypted: true, VolumeSize: 8, VolumeType: 'gp3', DeleteOnTermination: true },
  }]);
  const launchTemplateName = instance.Properties.LaunchTemplate.LaunchTemplateName;
  template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
    LaunchTemplateName: launchTemplateName,
    LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } },
  });
});

test('no security group admits inbound traffic', () => {
  for (const sg of Object.values(template.findResources('AWS::EC2::SecurityGroup'))) {
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
  }
  template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
});

test('instances are reachable through SSM Session Manager', () => {
  template.resourcePropertiesCountIs('AWS::IAM::Role', {
    ManagedPolicyArns: Match.arrayWith([Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':iam::aws:policy/AmazonSSMManagedInstanceCore'])] })]),
  }, 2);
});

test('the bake installs and enables nginx and writes the marker, then checks nginx answers', () => {
  const init = instances[sourceId].Metadata['AWS::CloudFormation::Init'];
  expect(init.configSets.default).toEqual(['install', 'verify']);
  expect(init.install.packages).toEqual({ yum: { nginx: [] } });
  expect(init.install.services.systemd.nginx).toEqual({ enabled: true, ensureRunning: true });
  expect(JSON.parse(init.install.files[BAKE_MARKER_PATH].content)).toMatchObject({ recipeId: RECIPE_ID });
  expect(Object.values(init.verify.commands)).toEqual([expect.objectContaining({ command: expect.stringContaining(`grep -q ${RECIPE_ID}`) })]);
});

test('the source signals only after cfn-init ran the whole recipe', () => {
  const userData = JSON.stringify(instances[sourceId].Properties.UserData);
  expect(userData).toMatch(/cfn-init -v .* -c default.*cfn-signal -e \$\?/);
});

test('the target tests the bake and signals failure with a reason', () => {
  const userData = new Capture();
  template.hasResource('AWS::EC2::Instance', { Properties: { ImageId: { 'Fn::GetAtt': [imageLogicalId, 'ImageId'] }, UserData: userData } });
  const script = JSON.stringify(userData.asObject());
  expect(script).toContain(`test -f ${BAKE_MARKER_PATH} || fail`);
  expect(script).toContain('systemctl is-enabled --quiet nginx || fail');
  expect(script).toContain('http://localhost/');
  expect(script).toContain('--success false --reason \\"AMI test failed: $1\\"');
  expect(script).toContain(`--resource ${targetId}`);
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'cloudformation:SignalResource', Resource: { Ref: 'AWS::StackId' } })]) },
  });
});

test('the Provider polls every 30 seconds for up to 45 minutes', () => {
  const definition = new Capture();
  template.hasResourceProperties('AWS::StepFunctions::StateMachine', { DefinitionString: definition });
  const json = JSON.stringify(definition.asObject());
  expect(json).toContain('\\"IntervalSeconds\\":30');
  expect(json).toContain('\\"MaxAttempts\\":90');
  expect(json).toContain('\\"BackoffRate\\":1');
});

test('outputs name the AMI and both instances', () => {
  template.hasOutput('ImageId', { Value: { 'Fn::GetAtt': [imageLogicalId, 'ImageId'] } });
  template.hasOutput('ImageName', { Value: { 'Fn::GetAtt': [imageLogicalId, 'ImageName'] } });
  template.hasOutput('SourceInstanceId', { Value: { Ref: sourceId } });
  template.hasOutput('TargetInstanceId', { Value: { Ref: targetId } });
});

test('the source\'s logical id carries a hash of its user data, which holds the recipe fingerprint', () => {
  expect(sourceId).toMatch(/^Source[0-9A-F]{8}[0-9a-f]{16}$/);
  expect(JSON.stringify(instances[sourceId].Properties.UserData)).toMatch(/# fingerprint: [0-9a-f]{16}/);
});

test('synthesizes without an env (region-agnostic)', () => {
  expect(stack.environment).toBe('aws://unknown-account/unknown-region');
  expect(JSON.stringify(template.toJSON())).not.toMatch(/\b(us|eu|ap|sa|ca|me|af)-[a-z]+-\d\b/);
});

describe('hardening outside the image construct', () => {
  test('the VPC logs all traffic to a log group with retention', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: Match.stringLikeRegexp('^FlowLogs') },
    });
  });

  test('the default-security-group function logs to a group with retention that exists before it runs', () => {
    const handler = Object.keys(template.findResources('AWS::Lambda::Function'))
      .find((id) => id.startsWith('CustomVpcRestrictDefaultSGCustomResourceProviderHandler'))!;
    const groups = template.findResources('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: { 'Fn::Join': ['', ['/aws/lambda/', { Ref: handler }]] }, RetentionInDays: 30 },
    });
    expect(Object.keys(groups)).toHaveLength(1);
    template.hasResource('Custom::VpcRestrictDefaultSG', { DependsOn: Match.arrayWith([Object.keys(groups)[0]]) });
  });

  test('every log group of the stack has a retention', () => {
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });
});
