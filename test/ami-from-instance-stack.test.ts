import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { DISTRIBUTION_RESOURCE_TYPE } from '../lib/image-distribution/shared';
import { RESOURCE_TYPE } from '../lib/instance-image/shared';
import { Recipe } from '../lib/recipe/recipe';
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

test('no distribution by default: no Custom::ImageDistribution, no SSM parameter, no distribution handlers, no copy outputs', () => {
  template.resourceCountIs(DISTRIBUTION_RESOURCE_TYPE, 0);
  template.resourceCountIs('AWS::SSM::Parameter', 0);
  expect(Object.keys(template.toJSON().Resources).filter((id) => id.startsWith('Distribution'))).toEqual([]);
  expect(Object.keys(template.toJSON().Outputs)).not.toEqual(expect.arrayContaining(['CopiedImageIds']));
  expect(Object.keys(template.toJSON().Outputs)).not.toContain('ImageIdParameter');
  expect(stack.distribution).toBeUndefined();
});

test('the image handler\'s onEvent may read this stack\'s resource records (keepPrevious): DescribeStackResource on exactly { Ref: AWS::StackId }', () => {
  const onEventPolicies = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref.startsWith('ImageOnEventRole')));
  const reads = onEventPolicies
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>)
    .filter((st) => [st.Action].flat().includes('cloudformation:DescribeStackResource'));
  expect(reads).toEqual([{ Action: ['cloudformation:DescribeStackResource', 'cloudformation:DescribeStacks'], Effect: 'Allow', Resource: { Ref: 'AWS::StackId' } }]);
});

test('the target launches from the image the custom resource made', () => {
  expect(instances[targetId].Properties.ImageId).toEqual({ 'Fn::GetAtt': [imageLogicalId, 'ImageId'] });
});

test('the source runs AL2023 read once from the public SSM parameter (a resolver resource), not a parameter CloudFormation re-resolves', () => {
  const ref = (instances[sourceId].Properties.ImageId as { Ref: string }).Ref;
  const resolver = template.findResources('Custom::BaseImage')[ref];
  expect(resolver).toBeDefined();
  expect(template.toJSON().Parameters?.[ref]).toBeUndefined();
  const create = JSON.parse(JSON.stringify(resolver.Properties.Create));
  expect(JSON.stringify(create)).toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64');
  expect(JSON.stringify(create)).toContain('getParameter');
  // GetParameter on that one parameter only, in the account-less form AWS's public parameters report and the account form.
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string; Resource: unknown }>);
  const reads = policies.filter((st) => st.Action === 'ssm:GetParameter');
  expect(reads).toHaveLength(1);
  const arns = (reads[0].Resource as Array<{ 'Fn::Join': [string, unknown[]] }>).map((r) => JSON.stringify(r['Fn::Join'][1]));
  expect(arns).toHaveLength(2);
  expect(arns).toEqual(expect.arrayContaining([
    expect.stringContaining('"::parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"'),
    expect.stringContaining('{"Ref":"AWS::AccountId"},":parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"'),
  ]));
  // Read on Create only: an Update keeps the physical id, which is the AMI id the source runs.
  expect(resolver.Properties.Update).toBeUndefined();
  expect(Object.values(template.toJSON().Parameters ?? {}).map((p) => (p as { Type: string }).Type))
    .not.toContain('AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>');
});

const ROOTS = {
  source: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 8, VolumeType: 'gp3', DeleteOnTermination: true } }],
  // The image's own root (its device, and the size and type of its snapshot), encrypted.
  target: [{ DeviceName: { 'Fn::GetAtt': [expect.stringMatching(/^Image/), 'RootDeviceName'] }, Ebs: { Encrypted: true, DeleteOnTermination: true } }],
};

test.each([['source', () => sourceId], ['target', () => targetId]] as const)('the %s instance has IMDSv2, an encrypted root volume, no key pair, t3.micro, and signals a CreationPolicy (Amazon Linux 2023 has cfn-signal) besides its wait condition', (which, id) => {
  const instance = instances[id()];
  // Any replacement of the instance, visible at synth or not, waits for its own script.
  expect(instance.CreationPolicy).toEqual({ ResourceSignal: { Count: 1, Timeout: 'PT15M' } });
  expect(instance.Properties.InstanceType).toBe('t3.micro');
  expect(instance.Properties.KeyName).toBeUndefined();
  expect(instance.Properties.BlockDeviceMappings).toEqual(ROOTS[which]);
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

test('the bake and the AMI test each report to a wait condition whose handle is in the matching instance\'s user data', () => {
  const conditions = template.findResources('AWS::CloudFormation::WaitCondition');
  expect(Object.keys(conditions)).toHaveLength(2);
  for (const [instanceId, script] of [[sourceId, 'bake'], [targetId, 'test']]) {
    const [, condition] = Object.entries(conditions).find(([id]) => id.startsWith(script === 'bake' ? 'BakeCondition' : 'TestCondition'))!;
    // Created beside the instance, not after it: the instance completes only with its own signal, and a failure's
    // reason needs the condition to exist by then.
    expect(condition.DependsOn ?? []).not.toContain(instanceId);
    const handle = condition.Properties.Handle.Ref as string;
    expect(template.findResources('AWS::CloudFormation::WaitConditionHandle')[handle]).toBeDefined();
    expect(condition.Properties).toEqual({ Count: 1, Handle: { Ref: handle }, Timeout: '900' });
    const parts = instances[instanceId].Properties.UserData['Fn::Base64']['Fn::Join'][1] as unknown[];
    const at = parts.findIndex((p) => typeof p === 'string' && p.endsWith("readonly AFI_SIGNAL_URL='"));
    expect(parts[at + 1]).toEqual({ Ref: handle });
    expect(parts[0]).toContain(`readonly AFI_STEP=${script}`);
  }
});

test('the image waits for the bake\'s wait condition', () => {
  const conditions = template.findResources('AWS::CloudFormation::WaitCondition');
  const bake = Object.keys(conditions).find((id) => id.startsWith('BakeCondition'))!;
  expect(template.findResources(RESOURCE_TYPE)[imageLogicalId].DependsOn).toContain(bake);
});

test('the instances write their own step\'s log streams in the instance log group, kept after the stack', () => {
  const [groupId, group] = Object.entries(template.findResources('AWS::Logs::LogGroup')).find(([id]) => id.startsWith('InstanceLogs'))!;
  expect(group).toMatchObject({ DeletionPolicy: 'Retain', Properties: { RetentionInDays: 30 } });
  for (const [role, step] of [['SourceInstanceRole', 'bake'], ['TargetInstanceRole', 'test']]) {
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties.Roles).includes(role))!;
    const statements = policy.Properties.PolicyDocument.Statement as Array<{ Action: string; Resource: unknown }>;
    const put = statements.find((st) => st.Action === 'logs:PutLogEvents')!;
    expect(JSON.stringify(put.Resource)).toContain(`{"Ref":"${groupId}"},":log-stream:${step}/*"`);
    // CreateLogStream is authorized on the group's ARN in its ":*" form.
    expect(JSON.stringify(statements.find((st) => st.Action === 'logs:CreateLogStream')!.Resource)).toMatch(new RegExp(`\\{"Ref":"${groupId}"\\},":\\*"\\]\\]\\}$`));
    // cfn-signal for the CreationPolicy: on this stack only.
    expect(statements.filter((st) => [st.Action].flat().includes('cloudformation:SignalResource')).map((st) => st.Resource)).toEqual([{ Ref: 'AWS::StackId' }]);
  }
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

test('the source\'s logical id carries a hash of its user data, which names the recipe\'s bake.sh and files/ by their id', () => {
  expect(sourceId).toMatch(/^Source[0-9A-F]{8}[0-9a-f]{16}$/);
  const first = instances[sourceId].Properties.UserData['Fn::Base64']['Fn::Join'][1][0] as string;
  expect(first.startsWith(`#!/bin/bash\n# ami-from-instance bake: recipe bake.sh and files/ ${Recipe.nginxDemo().bakeId}\n`)).toBe(true);
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

/**
 * Every resource `logicalId` depends on, directly or transitively: its
 * DependsOn and every Ref / Fn::GetAtt (and `${X}` of Fn::Sub) anywhere in it.
 */
type TemplateJson = { Resources: Record<string, Record<string, unknown>> };

function dependenciesOf(json: TemplateJson, logicalId: string): Set<string> {
  const direct = (id: string): string[] => {
    const found = new Set<string>([json.Resources[id].DependsOn ?? []].flat() as string[]);
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(visit);
      if (!value || typeof value !== 'object') return;
      for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
        if (key === 'Ref' && typeof inner === 'string') found.add(inner);
        else if (key === 'Fn::GetAtt') found.add(Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]);
        else if (key === 'Fn::Sub') {
          const text = Array.isArray(inner) ? String(inner[0]) : String(inner);
          for (const m of text.matchAll(/\$\{([^}.!]+)[^}]*\}/g)) found.add(m[1]);
          visit(inner);
        } else visit(inner);
      }
    };
    visit({ ...json.Resources[id], DependsOn: undefined });
    return [...found].filter((d) => d in json.Resources);
  };
  const seen = new Set<string>();
  const queue = direct(logicalId);
  while (queue.length > 0) {
    const next = queue.shift()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...direct(next));
  }
  return seen;
}

describe('GIVEN -c shareWithAccounts=111111111111 -c copyToRegions=eu-west-1 -c ssmParameterName=/images/web/latest (and volumeKmsKeyArn and copyKmsKeyArn, which sharing needs)', () => {
  const context = {
    shareWithAccounts: '111111111111',
    copyToRegions: 'eu-west-1',
    copyKmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/22222222-2222-2222-2222-222222222222',
    ssmParameterName: '/images/web/latest',
    volumeKmsKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111',
  };
  const promoted = synthStack({}, context);
  const json = promoted.template.toJSON() as TemplateJson;
  const resources = json.Resources as unknown as Record<string, { Type: string; DependsOn?: string[]; Properties: Record<string, unknown> }>;
  const idsOf = (type: string) => Object.keys(resources).filter((id) => resources[id].Type === type);
  const instancesOf = (t: Template) => t.findResources('AWS::EC2::Instance');
  const target = Object.keys(instancesOf(promoted.template)).find((id) => instancesOf(promoted.template)[id].Properties.ImageId['Fn::GetAtt'])!;
  // The AMI test's wait condition: the one that waits for the target.
  const testCondition = idsOf('AWS::CloudFormation::WaitCondition').find((id) => id.startsWith('TestCondition'))!;
  const [distribution] = idsOf(DISTRIBUTION_RESOURCE_TYPE);
  const [parameter] = idsOf('AWS::SSM::Parameter');
  const [image] = idsOf(RESOURCE_TYPE);

  test('THEN it synthesizes without error, with one image, one distribution and one parameter', () => {
    expect(testCondition).toMatch(/^TestCondition/);
    expect(idsOf(RESOURCE_TYPE)).toHaveLength(1);
    expect(idsOf(DISTRIBUTION_RESOURCE_TYPE)).toHaveLength(1);
    expect(idsOf('AWS::SSM::Parameter')).toHaveLength(1);
    expect(promoted.stack.distribution).toBeDefined();
  });

  test('THEN the Custom::ImageDistribution depends on the AMI test\'s wait condition (directly, by DependsOn)', () => {
    expect(resources[distribution].DependsOn).toContain(testCondition);
    expect(dependenciesOf(json, distribution)).toContain(testCondition);
  });

  test('THEN the AWS::SSM::Parameter depends on the AMI test\'s wait condition (transitively: its value is the distribution\'s ImageId)', () => {
    expect(resources[parameter].Properties.Value).toEqual({ 'Fn::GetAtt': [distribution, 'ImageId'] });
    expect([...dependenciesOf(json, parameter)]).toEqual(expect.arrayContaining([distribution, testCondition, target, image]));
  });

  test('THEN without that DependsOn nothing else would make the distribution wait for the test (the gate is the promoteAfter edge)', () => {
    const ungated = JSON.parse(JSON.stringify(json));
    ungated.Resources[distribution].DependsOn = (ungated.Resources[distribution].DependsOn as string[]).filter((d) => d !== testCondition);
    expect(dependenciesOf(ungated, distribution)).not.toContain(testCondition);
    expect(dependenciesOf(ungated, parameter)).not.toContain(testCondition);
  });

  test('THEN the image itself does not wait for the test (the test runs on it): the walker tells the two apart', () => {
    expect(dependenciesOf(json, image)).not.toContain(testCondition);
    expect(dependenciesOf(json, testCondition)).toContain(image);
  });

  test('THEN the Custom::InstanceImage has no ShareWithAccounts or CopyToRegions property; the distribution has them, for the image\'s id', () => {
    const properties = resources[image].Properties;
    for (const key of ['ShareWithAccounts', 'ShareWithOrganizationArns', 'CopyToRegions', 'CopyKmsKeyArn', 'DeprecateAfterDays']) {
      expect(properties).not.toHaveProperty(key);
    }
    expect(resources[distribution].Properties).toEqual(expect.objectContaining({
      ImageId: { 'Fn::GetAtt': [image, 'ImageId'] },
      ShareWithAccounts: ['111111111111'],
      CopyToRegions: ['eu-west-1'],
    }));
  });

  test('THEN the outputs name the copies and the parameter from the distribution', () => {
    promoted.template.hasOutput('CopiedImageIds', { Value: { 'Fn::GetAtt': [distribution, 'CopiedImageIds'] } });
    promoted.template.hasOutput('ImageIdParameter', { Value: { Ref: parameter } });
    promoted.template.hasOutput('ImageId', { Value: { 'Fn::GetAtt': [image, 'ImageId'] } });
  });
});
