import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { InstanceImage, InstanceImageProps } from '../../lib/instance-image/instance-image';
import { REPLACING_PROPERTIES, RESOURCE_TYPE } from '../../lib/instance-image/shared';
import { OWNER_TAG } from '../../lib/shared/names';
import { ownerOf, ownerToken, render, statementsOf } from '../helpers/policies';
import { newApp } from '../helpers/synth';

function build(props: Partial<InstanceImageProps> = {}) {
  const stack = new Stack(newApp(), 'TestStack');
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'P', subnetType: ec2.SubnetType.PUBLIC }] });
  const instance = new ec2.Instance(stack, 'Source', {
    vpc, instanceType: new ec2.InstanceType('t3.micro'), machineImage: ec2.MachineImage.latestAmazonLinux2023(),
  });
  const image = new InstanceImage(stack, 'Image', { instance, ...props });
  return { stack, vpc, image, template: () => Template.fromStack(stack) };
}

let built: ReturnType<typeof build> | undefined;
/** The defaults, built and synthesized once, for the tests that only read them (a test that adds constructs calls build()). */
const defaults = () => (built ??= build());


describe('the custom resource', () => {
  test('GIVEN defaults THEN it images the instance with reboot, destroy-on-delete and a construct-derived name', () => {
    const { template } = defaults();
    template().hasResourceProperties(RESOURCE_TYPE, {
      InstanceId: { Ref: Match.stringLikeRegexp('^Source') },
      ImageNamePrefix: Match.stringLikeRegexp('^TestStack-Image-[0-9A-F]{8}$'),
      NoReboot: 'false',
      RemovalPolicy: 'destroy',
      Owner: ownerToken('TestStack/Image'),
      Tags: Match.absent(),
      RebuildToken: Match.absent(),
    });
  });

  test('GIVEN options THEN they reach the handler', () => {
    const { template } = build({
      imageName: 'web-server', description: 'd', noReboot: true, removalPolicy: RemovalPolicy.RETAIN,
      tags: { team: 'platform' }, rebuildToken: '7',
    });
    template().hasResourceProperties(RESOURCE_TYPE, {
      ImageNamePrefix: 'web-server', Description: 'd', NoReboot: 'true', RemovalPolicy: 'retain', Tags: { team: 'platform' }, RebuildToken: '7',
    });
  });

  test('GIVEN keepPrevious THEN KeepPrevious reaches the handler as a string, and 0 (the default) is left out', () => {
    const kept = build({ keepPrevious: 2 });
    kept.template().hasResourceProperties(RESOURCE_TYPE, { KeepPrevious: '2' });
    expect(kept.image.keepPrevious).toBe(2);
    const none = defaults();
    none.template().hasResourceProperties(RESOURCE_TYPE, { KeepPrevious: Match.absent() });
    expect(none.image.keepPrevious).toBe(0);
    build({ keepPrevious: 0 }).template().hasResourceProperties(RESOURCE_TYPE, { KeepPrevious: Match.absent() });
  });

  test('keepPrevious is not content-defining: changing it keeps the image (the content properties are the same)', () => {
    const contentOf = (props: Partial<InstanceImageProps>) => {
      const { stack, image } = build(props);
      return stack.resolve(image.contentProperties);
    };
    expect(contentOf({ keepPrevious: 3 })).toEqual(contentOf({}));
    expect(REPLACING_PROPERTIES).not.toContain('KeepPrevious');
  });

  test('the image resource carries no distribution property: that is ImageDistribution\'s', () => {
    const [resource] = Object.values(build({ keepPrevious: 1 }).template().findResources(RESOURCE_TYPE));
    for (const key of ['ShareWithAccounts', 'ShareWithOrganizationArns', 'CopyToRegions', 'CopyKmsKeyArn', 'DeprecateAfterDays']) {
      expect(resource.Properties).not.toHaveProperty(key);
    }
  });

  test('the handlers are bundled NodejsFunctions on the latest Node.js runtime with log retention', () => {
    const { template } = defaults();
    template().resourcePropertiesCountIs('AWS::Lambda::Function', { Handler: Match.stringLikeRegexp('^index\\.(onEvent|isComplete)$'), Runtime: 'nodejs24.x' }, 2);
    template().resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 3);
  });

  test('the Provider timing follows totalTimeout and queryInterval', () => {
    const { template } = build({ totalTimeout: Duration.minutes(20), queryInterval: Duration.seconds(10) });
    const sm = Object.values(template().findResources('AWS::StepFunctions::StateMachine'))[0];
    const definition = JSON.stringify(sm.Properties.DefinitionString);
    expect(definition).toContain('\\"IntervalSeconds\\":10');
    expect(definition).toContain('\\"MaxAttempts\\":120');
  });
});

describe('timing', () => {
  test('the custom resource sets ServiceTimeout to the hour CloudFormation allows, longer than the longest waiter', () => {
    defaults().template().hasResourceProperties(RESOURCE_TYPE, { ServiceTimeout: '3600' });
  });

  test('55 minutes, the longest totalTimeout, is accepted', () => {
    const sm = Object.values(build({ totalTimeout: Duration.minutes(55) }).template().findResources('AWS::StepFunctions::StateMachine'))[0];
    expect(JSON.stringify(sm.Properties.DefinitionString)).toContain('\\"MaxAttempts\\":110');
  });
});

describe('validation', () => {
  test.each([
    [{ totalTimeout: Duration.minutes(721) }, /totalTimeout must be at most 12 hours \(a wait condition's limit\), got 12 hours 1 minute/],
    [{ totalTimeout: Duration.hours(13) }, /totalTimeout must be at most 12 hours .*got 13 hours/],
    [{ totalTimeout: Duration.minutes(50), queryInterval: Duration.seconds(7) }, /totalTimeout must be a whole multiple of queryInterval/],
    [{ queryInterval: Duration.millis(500) }, /queryInterval must be at least 1 second, got 500 millis/],
    [{ totalTimeout: Duration.minutes(1), queryInterval: Duration.minutes(2) }, /queryInterval must not exceed totalTimeout \(1 minute\), got 2 minutes/],
    [{ totalTimeout: Duration.seconds(100), queryInterval: Duration.seconds(30) }, /totalTimeout must be a whole multiple of queryInterval \(30 seconds\), got 1 minute 40 seconds/],
    [{ imageName: 'ab' }, /imageName must be 3-111 characters .* got "ab"/],
    [{ imageName: 'bad*name' }, /imageName must be .* got "bad\*name"/],
    [{ imageName: 'x'.repeat(112) }, /imageName must be 3-111 characters/],
    [{ removalPolicy: RemovalPolicy.SNAPSHOT }, /removalPolicy must be RemovalPolicy.DESTROY or RemovalPolicy.RETAIN, got "snapshot"/],
    [{ description: 'd'.repeat(256) }, /description must be at most 255 characters/],
    [{ tags: { 'aws:owner': 'x' } }, /tags must not use the reserved "aws:" prefix/],
    [{ keepPrevious: -1 }, /^keepPrevious must be a whole number of previous images from 0 to 50, got -1$/],
    [{ keepPrevious: 1.5 }, /^keepPrevious must be a whole number .*got 1.5$/],
    [{ keepPrevious: 51 }, /^keepPrevious must be a whole number .*from 0 to 50, got 51$/],
    [{ instance: undefined, instanceId: 'i-0123456789abcdef0', stopInstance: true },
      /^stopInstance must not be set with instanceId: the instance is not this stack's to stop .*got instanceId "i-0123456789abcdef0"$/],
  ])('%o is refused', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('the longest valid prefix and EC2\'s special characters are accepted', () => {
    expect(() => build({ imageName: 'x'.repeat(111) })).not.toThrow();
    expect(() => build({ imageName: "a (b) [c] ./-'@_" })).not.toThrow();
  });
});

describe('machineImage()', () => {
  test('launches instances from the image id attribute', () => {
    const { stack, vpc, image, template } = build();
    new ec2.Instance(stack, 'Target', { vpc, instanceType: new ec2.InstanceType('t3.micro'), machineImage: image.machineImage() });
    new ec2.LaunchTemplate(stack, 'Template', { machineImage: image.machineImage() });
    const imageId = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Image'), 'ImageId'] };
    template().hasResourceProperties('AWS::EC2::Instance', { ImageId: imageId });
    template().hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: { ImageId: imageId } });
  });

  test('osType and user data are the caller\'s', () => {
    const { stack, image } = build();
    const windows = image.machineImage({ osType: ec2.OperatingSystemType.WINDOWS }).getImage(stack);
    expect(windows.osType).toBe(ec2.OperatingSystemType.WINDOWS);
    expect(windows.userData.render()).toContain('<powershell>');
    expect(image.machineImage().getImage(stack).userData.render()).toMatch(/^#!\/bin\/bash/);
  });
});

describe('IAM', () => {
  /** Every (action, resource, condition) the stack's policies grant, one row each. */
  function grants(template: Template) {
    return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>).flatMap((st) =>
        [st.Action].flat().flatMap((action) => [st.Resource].flat().map((resource) => ({
          action, resource: JSON.stringify(resource), condition: st.Condition,
        })))));
  }

  test('image changes only on resources with this deployment\'s owner tag; deregister and snapshot deletion also with the owner value of before (an upgrade\'s image)', () => {
    const { template } = defaults();
    const rows = grants(template());
    const expected: Record<string, unknown> = {
      'ec2:ModifyImageAttribute': ownerOf('TestStack/Image'),
      'ec2:DeregisterImage': [ownerOf('TestStack/Image'), 'TestStack/Image'],
      'ec2:DeleteSnapshot': [ownerOf('TestStack/Image'), 'TestStack/Image'],
    };
    for (const [action, owners] of Object.entries(expected)) {
      const granted = rows.filter((r) => r.action === action);
      expect(granted.length).toBeGreaterThan(0);
      for (const row of granted) {
        expect(render(row.condition)).toEqual({ StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: owners } });
      }
    }
  });

  test('CreateTags only as part of CreateImage; CreateImage only on this instance and with the owner tag requested', () => {
    const rows = grants(defaults().template());
    for (const row of rows.filter((r) => r.action === 'ec2:CreateTags')) {
      expect(row.condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'CreateImage' } });
    }
    const createImage = rows.filter((r) => r.action === 'ec2:CreateImage');
    expect(createImage.filter((r) => r.resource.includes(':instance/'))).toEqual([
      expect.objectContaining({ resource: expect.stringContaining('{"Ref":"Source'), condition: undefined }),
    ]);
    for (const row of createImage.filter((r) => !r.resource.includes(':instance/'))) {
      expect(row.resource).toMatch(/::(image|snapshot)\/\*/);
      expect(render(row.condition)).toEqual({ StringEquals: { [`aws:RequestTag/${OWNER_TAG}`]: ownerOf('TestStack/Image') } });
    }
  });

  test('onEvent may read its own stack\'s resource records (which image a Delete keeps): DescribeStackResource on exactly this stack', () => {
    const statements = Object.values(defaults().template().findResources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref.startsWith('ImageOnEventRole')))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
      .filter((st) => JSON.stringify(st.Action).includes('cloudformation:'));
    expect(statements).toEqual([{ Action: ['cloudformation:DescribeStackResource', 'cloudformation:DescribeStacks'], Effect: 'Allow', Resource: { Ref: 'AWS::StackId' } }]);
  });

  test('no CopyImage, attribute reads or deprecation in the image\'s roles: distribution is ImageDistribution\'s', () => {
    const policies = JSON.stringify(defaults().template().findResources('AWS::IAM::Policy'));
    for (const action of ['ec2:CopyImage', 'ec2:DescribeImageAttribute', 'ec2:EnableImageDeprecation', 'ec2:DisableImageDeprecation', 'kms:', ':ec2:*::']) {
      expect(policies).not.toContain(action);
    }
  });

  test('no mutating EC2 action is granted on *', () => {
    const { template } = defaults();
    for (const policy of Object.values(template().findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [statement.Action].flat();
        if (statement.Resource === '*') {
          expect(actions.filter((a) => a.startsWith('ec2:') && !a.startsWith('ec2:Describe'))).toEqual([]);
        }
      }
    }
  });
});

describe('IAM policy documents, exactly', () => {
  const image = 'arn:<AWS::Partition>:ec2:<AWS::Region>::image/*';
  const snapshot = 'arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*';
  // Tag-scoped actions cover this construct's images and snapshots in this region only: copies are the distribution's.
  const owned = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: ownerOf('TestStack/Image') } };
  // Deregistration and snapshot deletion also of the image an upgrade replaces, tagged with the owner value of before.
  const removable = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: [ownerOf('TestStack/Image'), 'TestStack/Image'] } };
  const onEventDescribe = { Action: 'ec2:DescribeImages', Effect: 'Allow', Resource: '*' };
  const isCompleteDescribe = { Action: ['ec2:DescribeImages', 'ec2:DescribeSnapshots'], Effect: 'Allow', Resource: '*' };
  const instanceArn = expect.stringMatching(/^arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance\/<Source[0-9A-F]+>$/);
  const logs = (group: string) => ({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: expect.stringMatching(new RegExp(`^<${group}[0-9A-F]+\\.Arn>$`)) });
  const createImage = [
    { Action: 'ec2:CreateImage', Effect: 'Allow', Resource: instanceArn },
    {
      Action: 'ec2:CreateImage', Effect: 'Allow', Resource: [image, snapshot],
      Condition: { StringEquals: { [`aws:RequestTag/${OWNER_TAG}`]: ownerOf('TestStack/Image') } },
    },
    { Action: 'ec2:CreateTags', Effect: 'Allow', Resource: [image, snapshot], Condition: { StringEquals: { 'ec2:CreateAction': 'CreateImage' } } },
  ];
  const imdsOnOwned = { Action: 'ec2:ModifyImageAttribute', Effect: 'Allow', Resource: image, Condition: owned };
  const deregister = { Action: 'ec2:DeregisterImage', Effect: 'Allow', Resource: image, Condition: removable };
  const deleteOwnedSnapshots = { Action: 'ec2:DeleteSnapshot', Effect: 'Allow', Resource: snapshot, Condition: removable };
  // Which image CloudFormation records for the resource now, and the stack's status: a replaced image's Delete from the
  // resource's own (keepPrevious), a rollback's cleanup from a user's update.
  const readOwnStack = { Action: ['cloudformation:DescribeStackResource', 'cloudformation:DescribeStacks'], Effect: 'Allow', Resource: '<AWS::StackId>' };

  test('onEvent: logs to its own group, DescribeImages, CreateImage of this instance with the owner tag, tag-conditioned deregistration with its snapshots, its own stack\'s resource records', () => {
    expect(statementsOf(defaults().template(), 'ImageOnEventRole')).toEqual([
      logs('ImageOnEventLogs'),
      ...createImage,
      deregister,
      deleteOwnedSnapshots,
      readOwnStack,
      onEventDescribe,
    ]);
  });

  test('isComplete: logs to its own group, Describe, IMDSv2 on the image, deregister and snapshot deletion only when owned, in this region', () => {
    expect(statementsOf(defaults().template(), 'ImageIsCompleteRole')).toEqual([
      logs('ImageIsCompleteLogs'),
      imdsOnOwned,
      deregister,
      deleteOwnedSnapshots,
      isCompleteDescribe,
    ]);
  });

  test('stopInstance: StopInstances on this instance only, DescribeInstances read-only; isComplete makes the image, onEvent does not', () => {
    const { template } = build({ stopInstance: true });
    template().hasResourceProperties(RESOURCE_TYPE, { StopInstance: 'true' });
    expect(statementsOf(template(), 'ImageOnEventRole')).toEqual([
      logs('ImageOnEventLogs'),
      { Action: 'ec2:StopInstances', Effect: 'Allow', Resource: instanceArn },
      deregister,
      deleteOwnedSnapshots,
      readOwnStack,
      { Action: ['ec2:DescribeImages', 'ec2:DescribeInstances'], Effect: 'Allow', Resource: '*' },
    ]);
    expect(statementsOf(template(), 'ImageIsCompleteRole')).toEqual([
      logs('ImageIsCompleteLogs'),
      { Action: ['ec2:CreateImage', 'ec2:StopInstances'], Effect: 'Allow', Resource: instanceArn },
      ...createImage.slice(1),
      imdsOnOwned,
      deregister,
      deleteOwnedSnapshots,
      { Action: ['ec2:DescribeImages', 'ec2:DescribeInstances', 'ec2:DescribeSnapshots'], Effect: 'Allow', Resource: '*' },
    ]);
  });

  test('without stopInstance: no StopInstances, no DescribeInstances, no StopInstance property', () => {
    const { template } = build({ stopInstance: false });
    const policies = JSON.stringify(template().findResources('AWS::IAM::Policy'));
    expect(policies).not.toContain('StopInstances');
    expect(policies).not.toContain('DescribeInstances');
    template().hasResourceProperties(RESOURCE_TYPE, { StopInstance: Match.absent() });
  });

  test('the only statements on * are the read-only Describe policies, each in a policy of its own', () => {
    const template = defaults().template();
    const onStar = Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([id, p]) =>
      (p.Properties.PolicyDocument.Statement as Array<{ Resource: unknown }>)
        .filter((s) => [s.Resource].flat().includes('*'))
        .map((s) => ({ id, statement: s, count: p.Properties.PolicyDocument.Statement.length })));
    expect(onStar).toEqual([
      { id: expect.stringMatching(/^ImageOnEventDescribePolicy/), statement: onEventDescribe, count: 1 },
      { id: expect.stringMatching(/^ImageIsCompleteDescribePolicy/), statement: isCompleteDescribe, count: 1 },
    ]);
  });

  test('no role of the construct has a managed policy (no AWSLambdaBasicExecutionRole)', () => {
    const roles = defaults().template().findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: Match.objectLike({}) } });
    const imageRoles = Object.entries(roles).filter(([id]) => id.startsWith('Image'));
    expect(imageRoles.length).toBe(5); // OnEvent, IsComplete, Provider onEvent, Provider waiter functions, waiter state machine
    for (const [, role] of imageRoles) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  test('the framework functions write only to the Provider log group', () => {
    const template = defaults().template();
    for (const role of ['ImageProviderOnEventRole', 'ImageProviderWaiterRole']) {
      const logStatements = statementsOf(template, role).filter((s) => JSON.stringify(s).includes('logs:'));
      expect(logStatements).toEqual([
        { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: expect.stringMatching(/^<ImageProviderLogs[0-9A-F]+\.Arn>$/) },
      ]);
    }
  });
});
