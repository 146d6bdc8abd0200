import { CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CfnWaitCondition, CfnWaitConditionHandle } from 'aws-cdk-lib/aws-cloudformation';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { ImageDistribution, ImageDistributionProps } from '../../lib/image-distribution/image-distribution';
import { DISTRIBUTION_RESOURCE_TYPE, ENV_PARAMETER_ACCEPT_SECONDS, PARAMETER_CHECK_RESOURCE_TYPE } from '../../lib/image-distribution/shared';
import { InstanceImage, InstanceImageProps } from '../../lib/instance-image/instance-image';
import { RESOURCE_TYPE } from '../../lib/instance-image/shared';
import { COPY_REGIONS_TAG, OWNER_TAG } from '../../lib/shared/names';
import { ownerOf, ownerToken, render, statementsOf } from '../helpers/policies';
import { memoize, newApp } from '../helpers/synth';

/** An InstanceImage of an instance in a test stack, and its distribution `D`. */
function build(props: Partial<ImageDistributionProps> = {}, imageProps: Partial<InstanceImageProps> = {}, stackEnv?: { account: string; region: string }) {
  const stack = new Stack(newApp(), 'TestStack', stackEnv ? { env: stackEnv } : {});
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'P', subnetType: ec2.SubnetType.PUBLIC }] });
  const instance = new ec2.Instance(stack, 'Source', {
    vpc, instanceType: new ec2.InstanceType('t3.micro'), machineImage: ec2.MachineImage.latestAmazonLinux2023(),
  });
  const image = new InstanceImage(stack, 'Image', { instance, ...imageProps });
  const distribution = new ImageDistribution(stack, 'D', { image, ...props });
  return { stack, image, distribution, template: () => Template.fromStack(stack) };
}

/**
 * build(props), built and synthesized once per distinct `props` in this file, for the tests that only
 * read it (props of plain values only: the key is their JSON).
 */
const built = memoize((props: Pick<ImageDistributionProps, 'copyToRegions' | 'deprecateAfterDays' | 'ssmParameterName' | 'copyKmsKeyArn'>) => build(props));


/** An imported key, as a user passes the key of the instance's volumes. */
const VOLUME_KEY = (arn = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555') =>
  kms.Key.fromKeyArn(new Stack(), 'Key', arn);

/** The logical id of the distribution's `Custom::ImageDistribution` resource. */
const logicalIdOf = (distribution: ImageDistribution) =>
  Stack.of(distribution).getLogicalId(distribution.resource.node.defaultChild as CfnElement);

const imageIdOf = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Image'), 'ImageId'] };

describe('the custom resource', () => {
  test('sharing, deprecation and copies reach the handler, with the image\'s id, owner, removal policy and keepPrevious', () => {
    const { template } = build({
      volumeKey: VOLUME_KEY(),
      shareWithAccounts: ['111122223333'],
      shareWithOrganizationArns: ['arn:aws:organizations::123456789012:organization/o-abcdefghij'],
      deprecateAfterDays: 30,
      copyToRegions: ['eu-west-1'],
      copyRegionsDefaultKeyIsCustomerManaged: true,
    }, { keepPrevious: 2, removalPolicy: RemovalPolicy.RETAIN });
    template().hasResourceProperties(DISTRIBUTION_RESOURCE_TYPE, {
      ImageId: imageIdOf,
      Owner: ownerToken('TestStack/Image'),
      RemovalPolicy: 'retain',
      KeepPrevious: '2',
      ShareWithAccounts: ['111122223333'],
      ShareWithOrganizationArns: ['arn:aws:organizations::123456789012:organization/o-abcdefghij'],
      DeprecateAfterDays: '30',
      CopyToRegions: ['eu-west-1'],
      CopyKmsKeyArn: Match.absent(),
    });
  });

  test('the image resource carries none of it', () => {
    const { template } = build({ volumeKey: VOLUME_KEY(), shareWithAccounts: ['111122223333'], copyToRegions: ['eu-west-1'], copyRegionsDefaultKeyIsCustomerManaged: true, deprecateAfterDays: 30 });
    const [image] = Object.values(template().findResources(RESOURCE_TYPE));
    for (const key of ['ShareWithAccounts', 'ShareWithOrganizationArns', 'CopyToRegions', 'CopyKmsKeyArn', 'DeprecateAfterDays']) {
      expect(image.Properties).not.toHaveProperty(key);
    }
  });

  test('defaults: destroy, no KeepPrevious, nothing asked for is left out', () => {
    build().template().hasResourceProperties(DISTRIBUTION_RESOURCE_TYPE, {
      ImageId: imageIdOf, RemovalPolicy: 'destroy', KeepPrevious: Match.absent(),
      ShareWithAccounts: Match.absent(), CopyToRegions: Match.absent(), DeprecateAfterDays: Match.absent(),
    });
  });

  test('promoteAfter: the distribution resource depends on each gate', () => {
    const stack = new Stack(newApp(), 'TestStack');
    const image = new InstanceImage(stack, 'Image', { instanceId: 'i-0123456789abcdef0' });
    const handle = new CfnWaitConditionHandle(stack, 'Handle');
    const gate = new CfnWaitCondition(stack, 'Gate', { handle: handle.ref, timeout: '900', count: 1 });
    new ImageDistribution(stack, 'D', { image, promoteAfter: [gate], deprecateAfterDays: 7 });
    const [resource] = Object.values(Template.fromStack(stack).findResources(DISTRIBUTION_RESOURCE_TYPE));
    expect(resource.DependsOn).toContain('Gate');
  });

  test('the handlers are bundled on the latest Node.js runtime with log retention, and ServiceTimeout is the hour', () => {
    const { template } = built({ copyToRegions: ['eu-west-1'] });
    template().resourcePropertiesCountIs('AWS::Lambda::Function', {
      Handler: Match.stringLikeRegexp('^index\\.(onDistributionEvent|isDistributionComplete)$'), Runtime: 'nodejs24.x',
    }, 2);
    // The image's three log groups and the distribution's three.
    template().resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 6);
    template().hasResourceProperties(DISTRIBUTION_RESOURCE_TYPE, { ServiceTimeout: '3600' });
  });

  test('the Provider timing follows totalTimeout and queryInterval', () => {
    const { template } = build({ totalTimeout: Duration.minutes(20), queryInterval: Duration.seconds(10) });
    const machines = Object.entries(template().findResources('AWS::StepFunctions::StateMachine')).filter(([id]) => id.startsWith('D'));
    expect(machines).toHaveLength(1);
    const definition = JSON.stringify(machines[0][1].Properties.DefinitionString);
    expect(definition).toContain('\\"IntervalSeconds\\":10');
    expect(definition).toContain('\\"MaxAttempts\\":120');
  });
});

describe('copies', () => {
  test('CopyImage only from the image distributed (its ARN, in this region), into the listed regions, with the owner tag requested', () => {
    const { distribution, template } = build({ copyToRegions: ['eu-west-1', 'ap-south-1'] });
    const statements = Object.values(template().findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
      .filter((s) => JSON.stringify(s.Action).includes('CopyImage') || JSON.stringify(s.Condition ?? {}).includes('CopyImage'));
    const rendered = JSON.stringify(statements);
    expect(statements).toHaveLength(3);
    // Not every image of the account: the distribution role could otherwise copy any AMI into an owner-tagged copy and share it.
    expect(statements[0]).toEqual({
      Action: 'ec2:CopyImage', Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, '::image/', { 'Fn::GetAtt': [expect.stringMatching(/^Image/), 'ImageId'] }]] },
    });
    expect(JSON.stringify(render(statements))).toContain(`"aws:RequestTag/${OWNER_TAG}":"${ownerOf('TestStack/Image')}"`);
    expect(rendered).toContain('"ec2:CreateAction":"CopyImage"');
    expect(rendered).toContain(':ec2:eu-west-1::image/*');
    expect(rendered).toContain(':ec2:ap-south-1::snapshot/*');
    expect(distribution.copiedImageIds).toBeDefined();
    expect(Stack.of(distribution).resolve(distribution.copiedImageIds)).toEqual({ 'Fn::GetAtt': [logicalIdOf(distribution), 'CopiedImageIds'] });
  });

  test('CreateTags on existing images only to record the copy regions: that tag key, images of this deployment, this region; none without copies', () => {
    const { template } = build({ copyToRegions: ['eu-west-1'] });
    const tagging = Object.values(template().findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
      .filter((s) => s.Action === 'ec2:CreateTags' && !JSON.stringify(s.Condition).includes('CreateAction'));
    expect(tagging).toHaveLength(1);
    expect(render(tagging[0].Resource)).toBe('arn:<AWS::Partition>:ec2:<AWS::Region>::image/*');
    expect(render(tagging[0].Condition)).toEqual({
      'StringEquals': { [`aws:ResourceTag/${OWNER_TAG}`]: ownerOf('TestStack/Image') },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [COPY_REGIONS_TAG] },
    });

    const withoutCopies = Object.values(build({}).template().findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
    expect(JSON.stringify(withoutCopies)).not.toContain(COPY_REGIONS_TAG);
  });

  test('CopyImage is never conditioned on aws:ResourceTag: EC2 supports no such key on CopyImage\'s source image', () => {
    const { template } = build({
      copyToRegions: ['eu-west-1', 'ap-south-1'],
      copyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef',
    });
    const copyStatements = Object.values(template().findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
      .filter((s) => [s.Action].flat().includes('ec2:CopyImage'));
    expect(copyStatements.length).toBeGreaterThan(0);
    for (const statement of copyStatements) {
      expect(JSON.stringify(statement.Condition ?? {})).not.toContain('aws:ResourceTag');
    }
  });

  test('no copies: no CopyImage permission and no copiedImageIds', () => {
    const { distribution, template } = built({ deprecateAfterDays: 7 });
    expect(JSON.stringify(template().findResources('AWS::IAM::Policy'))).not.toContain('CopyImage');
    expect(distribution.copiedImageIds).toBeUndefined();
  });
});

describe('KMS grants', () => {
  /** The KMS statements of the stack, token-free. */
  function kmsStatements(template: Template) {
    return Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => render(p.Properties.PolicyDocument.Statement) as Array<Record<string, unknown>>)
      .filter((s) => JSON.stringify(s.Action).includes('kms:'));
  }
  const copyActions = ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'];
  const via = (region: string) => ({ 'kms:ViaService': `ec2.${region}.<AWS::URLSuffix>` });

  test('a multi-Region key is granted through its replica in each copy region, only through EC2 there, without kms:Encrypt', () => {
    const mrk = 'arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef';
    const replica = mrk.replace('eu-west-1', 'ap-south-1');
    const template = build({ copyToRegions: ['eu-west-1', 'ap-south-1'], copyKmsKeyArn: mrk }).template();
    expect(kmsStatements(template)).toEqual([
      { Action: copyActions, Effect: 'Allow', Resource: mrk, Condition: { StringEquals: via('eu-west-1') } },
      { Action: 'kms:CreateGrant', Effect: 'Allow', Resource: mrk, Condition: { 'StringEquals': via('eu-west-1'), 'Bool': { 'kms:GrantIsForAWSResource': true } } },
      { Action: copyActions, Effect: 'Allow', Resource: replica, Condition: { StringEquals: via('ap-south-1') } },
      { Action: 'kms:CreateGrant', Effect: 'Allow', Resource: replica, Condition: { 'StringEquals': via('ap-south-1'), 'Bool': { 'kms:GrantIsForAWSResource': true } } },
    ]);
    // Only the distribution's isComplete uses a key.
    expect(statementsOf(template, 'DIsCompleteRole').filter((s) => JSON.stringify(s).includes('kms:'))).toHaveLength(4);
  });

  test('the volume key: read through EC2 in this region, only when copying', () => {
    const key = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
    expect(kmsStatements(build({ volumeKey: VOLUME_KEY(key), shareWithAccounts: ['111122223333'] }).template())).toEqual([]);
    expect(kmsStatements(build({ volumeKey: VOLUME_KEY(key), copyToRegions: ['eu-west-1'] }).template())).toEqual([
      { Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:ReEncryptFrom'], Effect: 'Allow', Resource: key, Condition: { StringEquals: via('<AWS::Region>') } },
      { Action: 'kms:CreateGrant', Effect: 'Allow', Resource: key, Condition: { 'StringEquals': via('<AWS::Region>'), 'Bool': { 'kms:GrantIsForAWSResource': true } } },
    ]);
  });
});

describe('sharing', () => {
  test('sharing copies without copyKmsKeyArn is refused (copies encrypted with aws/ebs cannot be shared), unless the copy regions\' default key is stated customer managed', () => {
    const shared = { volumeKey: VOLUME_KEY(), shareWithAccounts: ['111122223333'], copyToRegions: ['eu-west-1'] };
    expect(() => build(shared)).toThrow(/^shareWithAccounts "111122223333" with copyToRegions and no copyKmsKeyArn: .*aws\/ebs cannot be shared .*Set copyKmsKeyArn, or copyRegionsDefaultKeyIsCustomerManaged=true/);
    expect(() => build({ ...shared, copyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab' })).not.toThrow();
    expect(() => build({ ...shared, copyRegionsDefaultKeyIsCustomerManaged: true })).not.toThrow();
    expect(() => build({ ...shared, copyToRegions: [] })).not.toThrow();
  });

  test.each([
    [{ shareWithAccounts: ['111122223333'] }, /^shareWithAccounts needs volumeKey, .*aws\/ebs cannot be shared with other accounts, got "111122223333" without it$/],
    [{ shareWithOrganizationArns: ['arn:aws:organizations::123456789012:organization/o-abcdefghij'] }, /^shareWithOrganizationArns needs volumeKey/],
  ])('sharing without the volume key is refused: %o', (props, message) => {
    expect(() => build(props)).toThrow(message);
    expect(() => build({ ...props, volumeKey: VOLUME_KEY() })).not.toThrow();
  });
});

describe('ssmParameterName', () => {
  test('publishes the distribution\'s image id, so the parameter changes only once the image is promoted', () => {
    const { distribution, template } = build({ ssmParameterName: '/images/web' });
    template().hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/images/web', Type: 'String', DataType: 'aws:ec2:image',
      Value: { 'Fn::GetAtt': [logicalIdOf(distribution), 'ImageId'] },
    });
    expect(distribution.parameter).toBeDefined();
  });

  test('without it, no parameter', () => {
    const { distribution, template } = built({ deprecateAfterDays: 7 });
    template().resourceCountIs('AWS::SSM::Parameter', 0);
    expect(distribution.parameter).toBeUndefined();
  });
});

describe('validation', () => {
  test.each([
    [{ shareWithAccounts: ['all'] }, /shareWithAccounts must not be "all"/],
    [{ shareWithAccounts: ['12345'] }, /shareWithAccounts must be 12-digit AWS account ids, got "12345"/],
    [{ shareWithOrganizationArns: ['o-123'] }, /shareWithOrganizationArns must be organization ARNs .*got "o-123"/],
    [{ copyToRegions: ['moon-1'] }, /copyToRegions must be AWS regions, got unknown "moon-1"/],
    [{ copyToRegions: ['eu-west-1', 'eu-west-1'] }, /copyToRegions must not repeat a region/],
    [{ copyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab' }, /copyKmsKeyArn needs copyToRegions/],
    [{ copyToRegions: ['eu-west-1', 'ap-south-1'], copyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab' },
      /copyKmsKeyArn must be in the copy region .* or a multi-Region key/],
    [{ deprecateAfterDays: 0 }, /deprecateAfterDays must be a whole number of days from 1 to 3650 \(EnableImageDeprecation takes a date at most 10 years ahead\), got 0/],
    [{ deprecateAfterDays: 1.5 }, /deprecateAfterDays must be a whole number of days from 1 to 3650 .*got 1.5/],
    [{ ssmParameterName: 'ssm-x' }, /ssmParameterName must be .*got "ssm-x"/],
    [{ totalTimeout: Duration.hours(13) }, /totalTimeout must be at most 12 hours/],
  ])('%o is refused', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('the stack\'s own region in copyToRegions is refused when the stack has a region', () => {
    expect(() => build({ copyToRegions: ['eu-west-1'] }, {}, { account: '123456789012', region: 'eu-west-1' }))
      .toThrow('copyToRegions must not include the stack\'s own region "eu-west-1": the image is made there');
  });
});

describe('IAM', () => {
  /** Every (action, resource, condition) the distribution's policies grant, one row each. */
  function grants(template: Template) {
    return Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith('D'))
      .flatMap(([, policy]) =>
        (policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>).flatMap((st) =>
          [st.Action].flat().flatMap((action) => [st.Resource].flat().map((resource) => ({
            action, resource: JSON.stringify(resource), condition: st.Condition,
          })))));
  }

  test('image changes only on resources with this deployment\'s owner tag; deregistration and snapshot deletion also with the owner value of before (an upgrade\'s copies)', () => {
    const rows = grants(built({ copyToRegions: ['eu-west-1'] }).template());
    const ownedByThis = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: ownerOf('TestStack/Image') } };
    const removable = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: [ownerOf('TestStack/Image'), 'TestStack/Image'] } };
    const regionOf = (resource: string) => (resource.includes('":ec2:",{"Ref":"AWS::Region"}') ? 'home' : /:ec2:([^:]*)::/.exec(resource)?.[1]);
    const regionsOf = (action: string) => {
      const granted = rows.filter((r) => r.action === action);
      const removal = action === 'ec2:DeregisterImage' || action === 'ec2:DeleteSnapshot';
      for (const row of granted) expect(render(row.condition)).toEqual(removal ? removable : ownedByThis);
      return granted.map((r) => regionOf(r.resource)).sort();
    };
    // Sharing and deprecation where the image and its copies are: this region and the copy regions, no other.
    for (const action of ['ec2:ModifyImageAttribute', 'ec2:DescribeImageAttribute', 'ec2:EnableImageDeprecation', 'ec2:DisableImageDeprecation']) {
      expect(regionsOf(action)).toEqual(['eu-west-1', 'home']);
    }
    // Clean-up in any region: a copy in a region since dropped from copyToRegions is removed too.
    expect(regionsOf('ec2:DeregisterImage')).toEqual(['*']);
    expect(regionsOf('ec2:DeleteSnapshot')).toEqual(['*']);
  });

  test('no mutating EC2 action is granted on *', () => {
    const { template } = build({ copyToRegions: ['eu-west-1'], volumeKey: VOLUME_KEY(), shareWithAccounts: ['111122223333'], copyRegionsDefaultKeyIsCustomerManaged: true });
    for (const policy of Object.values(template().findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [statement.Action].flat();
        if (statement.Resource === '*') {
          expect(actions.filter((a) => a.startsWith('ec2:') && !a.startsWith('ec2:Describe'))).toEqual([]);
        }
      }
    }
  });

  const anyRegionImage = 'arn:<AWS::Partition>:ec2:*::image/*';
  const anyRegionSnapshot = 'arn:<AWS::Partition>:ec2:*::snapshot/*';
  const owned = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: ownerOf('TestStack/Image') } };
  const removable = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: [ownerOf('TestStack/Image'), 'TestStack/Image'] } };
  const readOwnStack = ['cloudformation:DescribeStackResource', 'cloudformation:DescribeStacks'];
  const logs = (group: string) => ({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: expect.stringMatching(new RegExp(`^<${group}[0-9A-F]+\\.Arn>$`)) });

  test('onDistributionEvent: logs to its own group, DescribeImages, DescribeStackResource and DescribeStacks on exactly this stack', () => {
    const { template } = built({ deprecateAfterDays: 7 });
    expect(statementsOf(template(), 'DOnEventRole')).toEqual([
      logs('DOnEventLogs'),
      { Action: readOwnStack, Effect: 'Allow', Resource: '<AWS::StackId>' },
      { Action: 'ec2:DescribeImages', Effect: 'Allow', Resource: '*' },
    ]);
    const stackRead = Object.values(template().findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
      .filter((st) => JSON.stringify(st.Action).includes('cloudformation:'));
    // One for the image's onEvent, one for the distribution's, each on this stack's own id.
    expect(stackRead).toEqual([
      { Action: readOwnStack, Effect: 'Allow', Resource: { Ref: 'AWS::StackId' } },
      { Action: readOwnStack, Effect: 'Allow', Resource: { Ref: 'AWS::StackId' } },
    ]);
  });

  test('isDistributionComplete without copies: logs, Describe, owner-tagged image changes in this region, deregistration and snapshot deletion in any region; nothing else', () => {
    expect(statementsOf(built({ deprecateAfterDays: 7 }).template(), 'DIsCompleteRole')).toEqual([
      logs('DIsCompleteLogs'),
      {
        Action: ['ec2:DescribeImageAttribute', 'ec2:DisableImageDeprecation', 'ec2:EnableImageDeprecation', 'ec2:ModifyImageAttribute'],
        Effect: 'Allow', Resource: 'arn:<AWS::Partition>:ec2:<AWS::Region>::image/*', Condition: owned,
      },
      { Action: 'ec2:DeregisterImage', Effect: 'Allow', Resource: anyRegionImage, Condition: removable },
      { Action: 'ec2:DeleteSnapshot', Effect: 'Allow', Resource: anyRegionSnapshot, Condition: removable },
      { Action: ['ec2:DescribeImages', 'ec2:DescribeSnapshots'], Effect: 'Allow', Resource: '*' },
    ]);
  });

  test('the only statements of the distribution on * are its read-only Describe policies, each in a policy of its own', () => {
    const template = built({ copyToRegions: ['eu-west-1'] }).template();
    const onStar = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('D')).flatMap(([id, p]) =>
      (p.Properties.PolicyDocument.Statement as Array<{ Resource: unknown }>)
        .filter((s) => [s.Resource].flat().includes('*'))
        .map((s) => ({ id, statement: s, count: p.Properties.PolicyDocument.Statement.length })));
    expect(onStar).toEqual([
      { id: expect.stringMatching(/^DOnEventDescribePolicy/), statement: { Action: 'ec2:DescribeImages', Effect: 'Allow', Resource: '*' }, count: 1 },
      { id: expect.stringMatching(/^DIsCompleteDescribePolicy/), statement: { Action: ['ec2:DescribeImages', 'ec2:DescribeSnapshots'], Effect: 'Allow', Resource: '*' }, count: 1 },
    ]);
  });

  test('no role of the distribution has a managed policy (no AWSLambdaBasicExecutionRole)', () => {
    const roles = Object.entries(built({ deprecateAfterDays: 7 }).template().findResources('AWS::IAM::Role')).filter(([id]) => id.startsWith('D'));
    expect(roles.length).toBe(5); // OnEvent, IsComplete, Provider onEvent, Provider waiter functions, waiter state machine
    for (const [, role] of roles) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('the parameter check (ssmParameterName): SSM validates an aws:ec2:image value after PutParameter answered', () => {
  const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnElement);

  test('GIVEN ssmParameterName WHEN synthesized THEN a Custom::ImageParameterCheck of the parameter\'s name and the distribution\'s image id follows the parameter', () => {
    const { stack, distribution, template } = build({ ssmParameterName: '/images/web' });
    const parameterId = logicalId(stack, distribution.parameter!);
    template().resourceCountIs(PARAMETER_CHECK_RESOURCE_TYPE, 1);
    const checks = template().findResources(PARAMETER_CHECK_RESOURCE_TYPE);
    const [checkId, check] = Object.entries(checks)[0];
    expect(checkId).toBe(logicalId(stack, distribution.parameterCheck!));
    expect(check.Properties).toEqual({
      ServiceToken: expect.anything(),
      ServiceTimeout: '3600',
      ParameterName: '/images/web',
      ImageId: { 'Fn::GetAtt': [logicalIdOf(distribution), 'ImageId'] },
    });
    expect([check.DependsOn].flat()).toContain(parameterId);
  });

  test('it is served by the distribution\'s own Provider: no other function', () => {
    const { distribution, template } = build({ ssmParameterName: '/images/web' });
    const plain = build({ deprecateAfterDays: 7 }).template();
    const check = Object.values(template().findResources(PARAMETER_CHECK_RESOURCE_TYPE))[0];
    const distributionToken = template().findResources(DISTRIBUTION_RESOURCE_TYPE)[logicalIdOf(distribution)].Properties.ServiceToken;
    expect(check.Properties.ServiceToken).toEqual(distributionToken);
    expect(Object.keys(template().findResources('AWS::Lambda::Function')).length)
      .toBe(Object.keys(plain.findResources('AWS::Lambda::Function')).length);
  });

  test('the bound of SSM\'s acceptance ends before the waiter: five minutes, less with a short totalTimeout', () => {
    const envOf = (props: Partial<ImageDistributionProps>) => {
      const { distribution, template } = build({ ssmParameterName: '/images/web', ...props });
      const fn = template().findResources('AWS::Lambda::Function')[Stack.of(distribution).getLogicalId(distribution.isCompleteHandler.node.defaultChild as CfnElement)];
      return fn.Properties.Environment?.Variables?.[ENV_PARAMETER_ACCEPT_SECONDS];
    };
    expect(envOf({})).toBe('300');
    expect(envOf({ totalTimeout: Duration.minutes(3), queryInterval: Duration.seconds(30) })).toBe('150');
  });

  test('the isComplete function may GetParameter that parameter\'s ARN only, and nothing else of SSM', () => {
    const { distribution, template } = build({ ssmParameterName: '/images/web' });
    const ssmStatements = Object.values(template().findResources('AWS::IAM::Policy'))
      .flatMap((p) => (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>)
        .filter((st) => [st.Action].flat().some((a) => a.startsWith('ssm:')))
        .map((st) => ({ roles: render(p.Properties.Roles), statement: render(st) })));
    const role = Stack.of(distribution).getLogicalId(distribution.isCompleteHandler.role!.node.defaultChild as CfnElement);
    expect(ssmStatements).toEqual([{
      roles: [`<${role}>`],
      statement: { Action: 'ssm:GetParameter', Effect: 'Allow', Resource: 'arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/images/web' },
    }]);
  });

  test('a name without a path gets "parameter/<name>" as well', () => {
    const statements = statementsOf(build({ ssmParameterName: 'web-latest' }).template(), 'DIsCompleteRole') as Array<{ Action: string; Resource: string }>;
    expect(statements.filter((s) => s.Action === 'ssm:GetParameter').map((s) => s.Resource))
      .toEqual(['arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/web-latest']);
  });

  test('without ssmParameterName, no check, no SSM permission, no bound', () => {
    const { template } = built({ deprecateAfterDays: 7 });
    template().resourceCountIs(PARAMETER_CHECK_RESOURCE_TYPE, 0);
    expect(JSON.stringify(template().findResources('AWS::IAM::Policy'))).not.toContain('ssm:');
    expect(JSON.stringify(template().findResources('AWS::Lambda::Function'))).not.toContain(ENV_PARAMETER_ACCEPT_SECONDS);
  });
});
