/**
 * Issue #11: the image's content and test are the user's (a recipe folder, or
 * an existing instance), and the base image is a deliberate choice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../lib/app';
import { RESOURCE_TYPE } from '../lib/instance-image/shared';
import { recipeFolder } from './helpers/recipe';
import { bundlingApp, newApp, synthStack } from './helpers/synth';

const INSTANCE = 'i-0123456789abcdef0';


const MINE = {
  'bake.sh': '#!/bin/bash\nset -eu\necho "baking my app" > /var/log/my-bake\n',
  'files/etc/app.conf': 'listen=8080\n',
  'test.sh': '#!/bin/bash\ngrep -q listen=8080 /etc/app.conf\n',
};

/** The parts of a synthesized app that identity is about. */
function parts(template: Template) {
  const instances = template.findResources('AWS::EC2::Instance');
  const targetId = Object.keys(instances).find((id) => instances[id].Properties.ImageId['Fn::GetAtt'])!;
  const sourceId = Object.keys(instances).find((id) => id !== targetId);
  const [imageId, image] = Object.entries(template.findResources(RESOURCE_TYPE))[0];
  const conditions = Object.keys(template.findResources('AWS::CloudFormation::WaitCondition'));
  const userData = (id: string) => JSON.stringify(instances[id].Properties.UserData);
  return { instances, sourceId, targetId, imageId, image, conditions, userData };
}

/** The app with MINE as its recipe, synthesized once for the tests that read it. */
const mineDir = recipeFolder(MINE);
const mine = synthStack({}, { recipe: mineDir });

describe('GIVEN -c recipe=<a folder with bake.sh, files/etc/app.conf and test.sh>', () => {
  const { template } = mine;
  const p = parts(template);

  test('THEN the source runs that bake.sh and the target that test.sh, each in its own user data', () => {
    expect(p.userData(p.sourceId!)).toContain('echo \\"baking my app\\" > /var/log/my-bake');
    expect(p.userData(p.sourceId!)).not.toContain('grep -q listen=8080');
    expect(p.userData(p.targetId)).toContain('grep -q listen=8080 /etc/app.conf');
    expect(p.userData(p.targetId)).not.toContain('baking my app');
  });

  test('THEN cfn-init places files/etc/app.conf at /etc/app.conf, from an asset only the source may read', () => {
    const init = p.instances[p.sourceId!].Metadata['AWS::CloudFormation::Init'];
    expect(init.config.files['/etc/app.conf']).toMatchObject({ mode: '000644', owner: 'root', group: 'root', authentication: 'RecipeFiles' });
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((x) => JSON.stringify(x.Properties.Roles).includes('SourceInstanceRole'))!;
    const statements = policy.Properties.PolicyDocument.Statement as Array<{ Action: string; Resource: unknown }>;
    const get = statements.filter((st) => st.Action === 's3:GetObject');
    // That object only: its key is the asset's hash, never the bucket's "/*".
    expect(get).toHaveLength(1);
    expect(JSON.stringify(get[0].Resource)).toMatch(/\/[0-9a-f]{64}\.conf"\]\]\}$/);
    // cfn-init reads the metadata (DescribeStackResource), beside cfn-signal's SignalResource (the CreationPolicy), on this stack.
    expect(statements).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['cloudformation:DescribeStackResource']), Resource: { Ref: 'AWS::StackId' } }));
  });

  test('THEN the cloud assembly carries that bake.sh, that file and that test.sh', () => {
    const app = bundlingApp({ context: { 'recipe': mineDir, 'aws:cdk:bundling-stacks': [] } });
    buildApp(app);
    const out = app.synth().directory;
    const template = fs.readFileSync(path.join(out, 'AmiFromInstanceStack.template.json'), 'utf-8');
    expect(template).toContain('baking my app');
    expect(template).toContain('grep -q listen=8080 /etc/app.conf');
    const assets = fs.readdirSync(out).filter((f) => f.startsWith('asset.')).map((f) => path.join(out, f));
    expect(assets.some((a) => fs.statSync(a).isFile() && fs.readFileSync(a, 'utf-8') === 'listen=8080\n')).toBe(true);
  });
});

describe('identity follows content', () => {
  const before = parts(mine.template);

  test('GIVEN only test.sh changed THEN the source and the image resource are unchanged, the target and its test condition are new', () => {
    const after = parts(synthStack({}, { recipe: recipeFolder({ ...MINE, 'test.sh': `${MINE['test.sh']}curl -fsS localhost:8080\n` }) }).template);
    expect(after.sourceId).toBe(before.sourceId);
    expect(after.instances[after.sourceId!]).toEqual(before.instances[before.sourceId!]);
    expect(after.image.Properties).toEqual(before.image.Properties);
    expect(after.targetId).not.toBe(before.targetId);
    expect(after.conditions.find((c) => c.startsWith('TestCondition'))).not.toBe(before.conditions.find((c) => c.startsWith('TestCondition')));
    expect(after.conditions.find((c) => c.startsWith('BakeCondition'))).toBe(before.conditions.find((c) => c.startsWith('BakeCondition')));
  });

  test.each([
    ['bake.sh', { ...MINE, 'bake.sh': `${MINE['bake.sh']}echo more\n` }],
    ['a file of files/', { ...MINE, 'files/etc/app.conf': 'listen=9090\n' }],
  ])('GIVEN only %s changed THEN a new source (so a new image), a new bake condition and a new target and test condition', (_, files) => {
    const after = parts(synthStack({}, { recipe: recipeFolder(files) }).template);
    expect(after.sourceId).not.toBe(before.sourceId);
    expect(after.image.Properties.InstanceId).toEqual({ Ref: after.sourceId });
    for (const prefix of ['BakeCondition', 'TestCondition']) {
      expect(after.conditions.find((c) => c.startsWith(prefix))).not.toBe(before.conditions.find((c) => c.startsWith(prefix)));
    }
  });

  test('GIVEN a change that makes a new image and nothing else (rebuildToken) THEN the target and its test condition are new too', () => {
    const after = parts(synthStack({}, { recipe: recipeFolder(MINE), rebuildToken: 'again' }).template);
    expect(after.sourceId).toBe(before.sourceId);
    expect(after.targetId).not.toBe(before.targetId);
    expect(after.conditions.find((c) => c.startsWith('TestCondition'))).not.toBe(before.conditions.find((c) => c.startsWith('TestCondition')));
  });

  test('GIVEN a change that replaces the source outside its script (its volumes\' key) THEN a new bake condition, whose handle makes the source a new resource', () => {
    const key = 'arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111';
    const after = parts(synthStack({}, { recipe: recipeFolder(MINE), volumeKmsKeyArn: key }).template);
    expect(after.sourceId).not.toBe(before.sourceId);
    expect(after.conditions.find((c) => c.startsWith('BakeCondition'))).not.toBe(before.conditions.find((c) => c.startsWith('BakeCondition')));
  });

  test('GIVEN a new instance type (a stop and start, not a replacement: the bake does not run again) THEN the same conditions', () => {
    const after = parts(synthStack({}, { recipe: recipeFolder(MINE), instanceType: 't3.small' }).template);
    expect(after.conditions).toEqual(before.conditions);
  });
});

describe(`GIVEN -c sourceInstanceId=${INSTANCE}`, () => {
  const { stack, template } = synthStack({}, { sourceInstanceId: INSTANCE });
  const p = parts(template);
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);

  test('THEN exactly one instance, the target, and an image resource whose InstanceId is that instance', () => {
    template.resourceCountIs('AWS::EC2::Instance', 1);
    expect(p.sourceId).toBeUndefined();
    expect(p.image.Properties.InstanceId).toBe(INSTANCE);
    expect(p.image.Properties.StopInstance).toBeUndefined();
    expect(p.conditions).toEqual([expect.stringMatching(/^TestCondition/)]);
    template.hasOutput('SourceInstanceId', { Value: INSTANCE });
  });

  test('THEN CreateImage is granted on that instance only, and nothing may stop, modify or terminate it', () => {
    const onInstances = statements.filter((st) => JSON.stringify(st.Resource).includes(':instance/'));
    expect(onInstances).toEqual([{ Action: 'ec2:CreateImage', Effect: 'Allow', Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:instance/${INSTANCE}`]] } }]);
    const actions = statements.flatMap((st) => [st.Action].flat());
    for (const action of ['ec2:StopInstances', 'ec2:TerminateInstances', 'ec2:ModifyInstanceAttribute', 'ec2:RebootInstances']) expect(actions).not.toContain(action);
  });

  test('THEN the test still runs on the target, and a synth warning names the instance that CreateImage reboots', () => {
    expect(p.userData(p.targetId)).toContain('readonly AFI_STEP=test');
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp(`CreateImage reboots ${INSTANCE} .*noReboot=true`));
  });

  test('THEN with noReboot=true there is no reboot warning', () => {
    // Annotations.fromStack synthesizes the app itself (forced): no Template first.
    const quiet = buildApp(newApp({ sourceInstanceId: INSTANCE, noReboot: 'true' }));
    expect(Annotations.fromStack(quiet).findWarning('*', Match.stringLikeRegexp('CreateImage reboots'))).toEqual([]);
  });
});

describe('the base image', () => {
  const sourceOf = (context: Record<string, string>) => {
    const { template } = synthStack({}, context);
    const p = parts(template);
    return { template, source: p.instances[p.sourceId!], target: p.instances[p.targetId], id: p.sourceId };
  };

  test('GIVEN the default THEN AL2023 read once by a resolver; baseImageRefresh makes a new resolver, so a new source', () => {
    const pinned = sourceOf({});
    const refreshed = sourceOf({ baseImageRefresh: '2026-12-01' });
    expect(pinned.source.Properties.ImageId.Ref).toMatch(/^BaseImage/);
    expect(refreshed.source.Properties.ImageId.Ref).toMatch(/^BaseImage/);
    expect(refreshed.source.Properties.ImageId).not.toEqual(pinned.source.Properties.ImageId);
    // The same user data, so the same logical id, but a new ImageId replaces the source: its bake needs a new wait condition.
    const bake = (t: Template) => Object.keys(t.findResources('AWS::CloudFormation::WaitCondition')).find((c) => c.startsWith('BakeCondition'));
    expect(bake(refreshed.template)).not.toBe(bake(pinned.template));
    expect(Object.keys(refreshed.template.findResources('Custom::BaseImage'))).toEqual([refreshed.source.Properties.ImageId.Ref]);
  });

  test('GIVEN baseImage=latest THEN the parameter CloudFormation re-resolves, and a CreationPolicy on both instances as well as the wait conditions', () => {
    const { template, source, target } = sourceOf({ baseImage: 'latest' });
    const parameter = template.toJSON().Parameters[source.Properties.ImageId.Ref];
    expect(parameter).toEqual({ Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' });
    for (const instance of [source, target]) {
      expect(instance.CreationPolicy).toEqual({ ResourceSignal: { Count: 1, Timeout: 'PT15M' } });
      expect(JSON.stringify(instance.Properties.UserData)).toMatch(/readonly AFI_CFN_SIGNAL_RESOURCE='(Source|Target)/);
    }
    template.resourceCountIs('Custom::BaseImage', 0);
  });

  test('GIVEN baseImage=ami-… THEN that AMI, written in the template; no CreationPolicy (cfn-signal may not be on it), the conditions wait for the instances', () => {
    const { template, source, target } = sourceOf({ baseImage: 'ami-0123456789abcdef0' });
    expect(source.Properties.ImageId).toBe('ami-0123456789abcdef0');
    const conditions = template.findResources('AWS::CloudFormation::WaitCondition');
    for (const [instance, prefix] of [[source, 'BakeCondition'], [target, 'TestCondition']] as const) {
      expect(instance.CreationPolicy).toBeUndefined();
      expect(JSON.stringify(instance.Properties.UserData)).toContain("readonly AFI_CFN_SIGNAL_RESOURCE=''");
      const [, condition] = Object.entries(conditions).find(([id]) => id.startsWith(prefix))!;
      expect(condition.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(prefix === 'BakeCondition' ? /^Source/ : /^Target/)]));
    }
  });

  test('GIVEN the default base (Amazon Linux 2023, pinned) THEN both instances signal a CreationPolicy too, and the promotion waits for the target itself', () => {
    const { template, source, target } = sourceOf({ shareWithAccounts: '111111111111', volumeKmsKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111' });
    for (const instance of [source, target]) expect(instance.CreationPolicy).toEqual({ ResourceSignal: { Count: 1, Timeout: 'PT15M' } });
    const targetId = Object.entries(template.findResources('AWS::EC2::Instance')).find(([, r]) => r === target)?.[0]
      ?? Object.keys(template.findResources('AWS::EC2::Instance')).find((id) => id.startsWith('Target'))!;
    const [distribution] = Object.values(template.findResources('Custom::ImageDistribution'));
    expect(distribution.DependsOn).toEqual(expect.arrayContaining([targetId, expect.stringMatching(/^TestCondition/)]));
  });

  test('GIVEN baseImage=ssm:/path THEN that parameter, read once like the default', () => {
    const { template, source } = sourceOf({ baseImage: 'ssm:/images/base' });
    const resolver = template.findResources('Custom::BaseImage')[source.Properties.ImageId.Ref];
    expect(JSON.stringify(resolver.Properties.Create)).toContain('\\"Name\\":\\"/images/base\\"');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'ssm:GetParameter', Resource: { 'Fn::Join': ['', Match.arrayWith([':parameter/images/base'])] } })] },
    });
  });

  test('GIVEN baseImage=ssm:/aws/service/… (a public parameter of AWS\'s) THEN both ARN forms IAM may match are granted, as for the default base', () => {
    const { template } = sourceOf({ baseImage: 'ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id' });
    const statement = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string; Resource: unknown }>)
      .find((st) => st.Action === 'ssm:GetParameter')!;
    const resources = [statement.Resource].flat().map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(2);
    // arn:<partition>:ssm:<region>::parameter/aws/service/… (no account, as AWS reports its public parameters) and with this account.
    expect(resources.filter((r) => r.includes('":ssm:",{"Ref":"AWS::Region"},"::parameter/aws/service/canonical'))).toHaveLength(1);
    expect(resources.filter((r) => r.includes('{"Ref":"AWS::AccountId"},":parameter/aws/service/canonical'))).toHaveLength(1);
  });
});
