import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../lib/app';
import { CONTEXT_KEYS, readConfig } from '../lib/config';
import { DISTRIBUTION_RESOURCE_TYPE } from '../lib/image-distribution/shared';
import { RESOURCE_TYPE } from '../lib/instance-image/shared';
import { memoize, newApp } from './helpers/synth';

const VOLUME_KEY = 'arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111';

/** A recipe folder with a bake.sh and no test.sh. */
const NO_TEST = fs.mkdtempSync(path.join(os.tmpdir(), 'afi-no-test-'));
fs.writeFileSync(path.join(NO_TEST, 'bake.sh'), 'echo bake\n');

/**
 * The app as `cdk synth -c key=value …` builds it (context values arrive as strings), built once per
 * distinct context and account and region (what buildApp reads from the CLI's environment).
 */
const synth = memoize(build, (context) => JSON.stringify([context, process.env.CDK_DEFAULT_ACCOUNT, process.env.CDK_DEFAULT_REGION]));

function build(context: Record<string, string>) {
  const app = newApp(context);
  const stack = buildApp(app);
  return {
    stack,
    template: () => Template.fromStack(stack),
    /** The errors the synthesis reports, as `cdk synth` prints them (it exits non-zero on any). */
    errors: (): string[] => {
      try {
        Template.fromStack(stack);
        return [];
      } catch (e) {
        return [...String((e as Error).message).matchAll(/ERROR (.*) \(Annotation\)/g)].map((m) => m[1]);
      }
    },
  };
}

describe('valid values change the template', () => {
  test('no option: no error, and the defaults', () => {
    const { errors, template } = synth({});
    expect(errors()).toEqual([]);
    template().resourcePropertiesCountIs('AWS::EC2::Instance', { InstanceType: 't3.micro' }, 2);
  });

  test('instanceType', () => {
    synth({ instanceType: 't3.small' }).template().resourcePropertiesCountIs('AWS::EC2::Instance', { InstanceType: 't3.small' }, 2);
  });

  test('architecture arm64 picks the arm64 AL2023 parameter and t4g.micro', () => {
    const template = synth({ architecture: 'arm64' }).template();
    template.resourcePropertiesCountIs('AWS::EC2::Instance', { InstanceType: 't4g.micro' }, 2);
    expect(JSON.stringify(template.findResources('Custom::BaseImage'))).toContain('al2023-ami-kernel-default-arm64');
  });

  test.each([
    [{ imageName: 'web-server' }, { ImageNamePrefix: 'web-server' }],
    [{ imageDescription: 'Web server' }, { Description: 'Web server' }],
    [{ noReboot: 'true' }, { NoReboot: 'true' }],
    [{ removalPolicy: 'retain' }, { RemovalPolicy: 'retain' }],
    [{ rebuildToken: '2026-11' }, { RebuildToken: '2026-11' }],
    [{ keepPrevious: '2' }, { KeepPrevious: '2' }],
    [{ keepPrevious: '0' }, { KeepPrevious: Match.absent() }],
    [{ tags: '{"team":"platform","cost-center":"42"}' }, { Tags: { 'team': 'platform', 'cost-center': '42' } }],
  ])('%o reaches the image resource', (context, properties) => {
    const { errors, template } = synth(context);
    expect(errors()).toEqual([]);
    template().hasResourceProperties(RESOURCE_TYPE, properties);
  });

  test.each([
    [{ shareWithAccounts: '111122223333, 444455556666', volumeKmsKeyArn: VOLUME_KEY }, { ShareWithAccounts: ['111122223333', '444455556666'] }],
    [{ shareWithOrganizationArns: 'arn:aws:organizations::123456789012:organization/o-abcdefghij', volumeKmsKeyArn: VOLUME_KEY },
      { ShareWithOrganizationArns: ['arn:aws:organizations::123456789012:organization/o-abcdefghij'] }],
    [{ copyToRegions: 'eu-west-1,ap-south-1' }, { CopyToRegions: ['eu-west-1', 'ap-south-1'] }],
    [{ copyToRegions: 'eu-west-1', copyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab' },
      { CopyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab' }],
    [{ deprecateAfterDays: '90' }, { DeprecateAfterDays: '90' }],
    [{ deprecateAfterDays: '90', keepPrevious: '3', removalPolicy: 'retain' }, { DeprecateAfterDays: '90', KeepPrevious: '3', RemovalPolicy: 'retain' }],
  ])('%o reaches the distribution resource, not the image resource', (context, properties) => {
    const { errors, template } = synth(context);
    expect(errors()).toEqual([]);
    template().hasResourceProperties(DISTRIBUTION_RESOURCE_TYPE, properties);
    const [image] = Object.values(template().findResources(RESOURCE_TYPE));
    for (const key of Object.keys(properties).filter((k) => !['KeepPrevious', 'RemovalPolicy'].includes(k))) {
      expect(image.Properties).not.toHaveProperty(key);
    }
  });

  test('keepPrevious=2 synthesizes, and the image resource keeps two previous images', () => {
    const { errors, template } = synth({ keepPrevious: '2' });
    expect(errors()).toEqual([]);
    template().hasResourceProperties(RESOURCE_TYPE, { KeepPrevious: '2' });
  });

  test('keepPrevious without any distribution option: no distribution', () => {
    const template = synth({ keepPrevious: '2' }).template();
    template.resourceCountIs(DISTRIBUTION_RESOURCE_TYPE, 0);
    template.resourceCountIs('AWS::SSM::Parameter', 0);
  });

  test('timeoutMinutes and pollSeconds set the Provider\'s waiter', () => {
    const definition = JSON.stringify(Object.values(synth({ timeoutMinutes: '20', pollSeconds: '15' }).template()
      .findResources('AWS::StepFunctions::StateMachine'))[0].Properties.DefinitionString);
    expect(definition).toContain('\\"IntervalSeconds\\":15');
    expect(definition).toContain('\\"MaxAttempts\\":80');
  });

  test('scriptTimeout sets both wait conditions, and the scripts\' own time (the wait less a fifth, at most 5 minutes less)', () => {
    const { template } = synth({ scriptTimeout: '120' });
    const conditions = Object.values(template().findResources('AWS::CloudFormation::WaitCondition'));
    expect(conditions.map((c) => c.Properties.Timeout)).toEqual(['7200', '7200']);
    const userData = JSON.stringify(template().findResources('AWS::EC2::Instance'));
    expect(userData.match(/readonly AFI_SCRIPT_SECONDS=(\d+)/g)).toEqual(['readonly AFI_SCRIPT_SECONDS=6900', 'readonly AFI_SCRIPT_SECONDS=6900']);
  });

  test('timeoutMinutes=55, the longest, is accepted', () => {
    const { errors, template } = synth({ timeoutMinutes: '55' });
    expect(errors()).toEqual([]);
    const definition = JSON.stringify(Object.values(template().findResources('AWS::StepFunctions::StateMachine'))[0].Properties.DefinitionString);
    expect(definition).toContain('\\"MaxAttempts\\":110');
  });

  test('volumeKmsKeyArn encrypts both root volumes with that key and reaches the distribution\'s permissions (to read the snapshots it copies)', () => {
    const { errors, template } = synth({ volumeKmsKeyArn: VOLUME_KEY, copyToRegions: 'eu-west-1', shareWithAccounts: '111122223333', copyRegionsDefaultKeyIsCustomerManaged: 'true' });
    expect(errors()).toEqual([]);
    template().resourcePropertiesCountIs('AWS::EC2::Instance', {
      BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true, KmsKeyId: VOLUME_KEY }) })],
    }, 2);
    template().hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:ReEncryptFrom'], Resource: VOLUME_KEY })]) },
    });
  });

  test('rootVolumeGiB sizes the source\'s root; the target names the image\'s root device and no size', () => {
    const { errors, template } = synth({ rootVolumeGiB: '30' });
    expect(errors()).toEqual([]);
    const mappings = Object.values(template().findResources('AWS::EC2::Instance')).map((i) => i.Properties.BlockDeviceMappings[0]);
    expect(mappings).toEqual(expect.arrayContaining([
      { DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 30, VolumeType: 'gp3', DeleteOnTermination: true } },
      { DeviceName: { 'Fn::GetAtt': [expect.stringMatching(/^Image/), 'RootDeviceName'] }, Ebs: { Encrypted: true, DeleteOnTermination: true } },
    ]));
  });

  test('excludeDevices (comma-separated) reaches the image resource, for CreateImage to leave those volumes out', () => {
    const { errors, template } = synth({ sourceInstanceId: 'i-0123456789abcdef0', excludeDevices: '/dev/sdg, /dev/sdf' });
    expect(errors()).toEqual([]);
    template().hasResourceProperties(RESOURCE_TYPE, { InstanceId: 'i-0123456789abcdef0', ExcludeDevices: ['/dev/sdf', '/dev/sdg'] });
  });

  test('ssmParameterName publishes the AMI id as an aws:ec2:image parameter', () => {
    const template = synth({ ssmParameterName: '/images/web/latest' }).template();
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/images/web/latest', Type: 'String', DataType: 'aws:ec2:image',
      // The distribution's attribute, not the image's: the parameter changes only once the image passed its test.
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Distribution'), 'ImageId'] },
    });
    template.hasOutput('ImageIdParameter', {});
  });

  test('copyToRegions exposes the copies as an output', () => {
    synth({ copyToRegions: 'eu-west-1' }).template().hasOutput('CopiedImageIds', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Distribution'), 'CopiedImageIds'] },
    });
  });

  test('vpcId looks the VPC up (with an env) instead of making one', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' });
    try {
      const { stack, errors, template } = synth({
        'vpcId': 'vpc-0123456789abcdef0',
        // What `cdk synth` would have looked up and cached in cdk.context.json.
        'vpc-provider:account=123456789012:filter.vpc-id=vpc-0123456789abcdef0:region=eu-west-1:returnAsymmetricSubnets=true': {
          vpcId: 'vpc-0123456789abcdef0',
          vpcCidrBlock: '10.1.0.0/16',
          ownerAccountId: '123456789012',
          availabilityZones: [],
          subnetGroups: [{
            name: 'Public', type: 'Public',
            subnets: [{ subnetId: 'subnet-0123456789abcdef0', cidr: '10.1.0.0/24', availabilityZone: 'eu-west-1a', routeTableId: 'rtb-0123456789abcdef0' }],
          }],
        } as unknown as string,
      });
      expect(errors()).toEqual([]);
      expect(stack.region).toBe('eu-west-1');
      template().resourceCountIs('AWS::EC2::VPC', 0);
      template().resourcePropertiesCountIs('AWS::EC2::Instance', {
        NetworkInterfaces: [Match.objectLike({ SubnetId: 'subnet-0123456789abcdef0', AssociatePublicIpAddress: true })],
      }, 2);
    } finally {
      process.env = saved;
    }
  });
});

describe('bad values fail the synth with a message naming the key and the value', () => {
  test.each([
    [{ instanceType: 't3.gigantic' }, 'instanceType must be a known EC2 instance type such as "t3.micro", got "t3.gigantic"'],
    [{ instanceType: 'x' }, 'instanceType must be a known EC2 instance type such as "t3.micro", got "x"'],
    [{ instanceType: 't4g.micro' }, 'instanceType "t4g.micro" is arm64, but architecture is "x86_64"'],
    [{ architecture: 'sparc' }, 'architecture must be one of x86_64, arm64, got "sparc"'],
    [{ vpcId: 'my-vpc' }, 'vpcId must look like vpc-0123456789abcdef0, got "my-vpc"'],
    [{ vpcId: 'vpc-0123456789abcdef0' }, /^vpcId needs the stack's account and region .* got vpcId "vpc-0123456789abcdef0" without them$/],
    [{ imageName: 'web*server' }, /^imageName must be 3-111 characters of .*, got "web\*server"$/],
    [{ imageName: 'ab' }, /^imageName must be 3-111 characters .*got "ab"$/],
    [{ imageName: 'x'.repeat(112) }, /^imageName must be 3-111 characters .*\(EC2 allows 128 for the whole name; the last 17 are the content hash\)/],
    [{ imageDescription: 'd'.repeat(256) }, 'imageDescription must be at most 255 characters (EC2\'s limit), got 256'],
    [{ noReboot: 'yes' }, 'noReboot must be one of true, false, got "yes"'],
    [{ keepInstancesRunning: 'always' }, 'keepInstancesRunning must be one of true, false, got "always"'],
    [{ removalPolicy: 'snapshot' }, 'removalPolicy must be one of destroy, retain, got "snapshot"'],
    [{ timeoutMinutes: '721' }, 'timeoutMinutes must be 1-720 (12 hours, a wait condition\'s limit), got 721'],
    [{ timeoutMinutes: '0' }, /^timeoutMinutes must be 1-720 .*got 0$/],
    [{ timeoutMinutes: 'soon' }, 'timeoutMinutes must be a whole number, got "soon"'],
    [{ scriptTimeout: '721' }, 'scriptTimeout must be 1-720 minutes (12 hours, a wait condition\'s limit), got 721'],
    [{ scriptTimeout: '0' }, /^scriptTimeout must be 1-720 minutes .*got 0$/],
    [{ scriptTimeout: 'long' }, 'scriptTimeout must be a whole number, got "long"'],
    [{ timeoutMinutes: '10', pollSeconds: '7' }, 'timeoutMinutes (10 = 600 s) must be a whole multiple of pollSeconds, got pollSeconds 7'],
    // Over 55 minutes pollSeconds only paces the start (the wait condition waits), so it need not divide the wait.
    [{ pollSeconds: '0' }, 'pollSeconds must be at least 1, got 0'],
    [{ shareWithAccounts: '1234,111122223333' }, 'shareWithAccounts must be 12-digit AWS account ids, got "1234"'],
    [{ shareWithAccounts: 'all' }, 'shareWithAccounts must not be "all": that would make the image public; list 12-digit account ids'],
    [{ shareWithOrganizationArns: 'all' }, /^shareWithOrganizationArns must not be "all"/],
    [{ shareWithOrganizationArns: 'o-abcdefghij' }, /^shareWithOrganizationArns must be organization ARNs .*got "o-abcdefghij"$/],
    [{ copyToRegions: 'eu-west-1,mars-north-1' }, 'copyToRegions must be AWS regions, got unknown "mars-north-1"'],
    [{ copyToRegions: 'eu-west-1', copyKmsKeyArn: 'alias/mine' }, /^copyKmsKeyArn must be a KMS key ARN .*got "alias\/mine"$/],
    [{ copyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab' }, /^copyKmsKeyArn needs copyToRegions/],
    [{ copyToRegions: 'eu-west-1,ap-south-1', copyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab' },
      /^copyKmsKeyArn must be in the copy region .* or a multi-Region key/],
    [{ deprecateAfterDays: '0' }, 'deprecateAfterDays must be a whole number of days from 1 to 3650 (EnableImageDeprecation takes a date at most 10 years ahead), got 0'],
    [{ deprecateAfterDays: '-3' }, 'deprecateAfterDays must be a whole number of days from 1 to 3650 (EnableImageDeprecation takes a date at most 10 years ahead), got -3'],
    [{ volumeKmsKeyArn: VOLUME_KEY, shareWithAccounts: '111122223333', copyToRegions: 'eu-west-1' },
      /^shareWithAccounts "111122223333" with copyToRegions and no copyKmsKeyArn: .*Set copyKmsKeyArn, or copyRegionsDefaultKeyIsCustomerManaged=true/],
    [{ copyRegionsDefaultKeyIsCustomerManaged: 'yes' }, 'copyRegionsDefaultKeyIsCustomerManaged must be one of true, false, got "yes"'],
    [{ deprecateAfterDays: '3651' }, 'deprecateAfterDays must be a whole number of days from 1 to 3650 (EnableImageDeprecation takes a date at most 10 years ahead), got 3651'],
    [{ shareWithAccounts: '111122223333' }, /^shareWithAccounts needs volumeKmsKeyArn, the customer managed KMS key .*aws\/ebs cannot be shared with other accounts, got "111122223333" without it$/],
    [{ shareWithOrganizationArns: 'arn:aws:organizations::123456789012:organization/o-abcdefghij' }, /^shareWithOrganizationArns needs volumeKmsKeyArn/],
    [{ volumeKmsKeyArn: 'alias/aws/ebs' }, 'volumeKmsKeyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "alias/aws/ebs"'],
    [{ volumeKmsKeyArn: 'alias/mine', shareWithAccounts: '111122223333' }, /^volumeKmsKeyArn must be a KMS key ARN/],
    [{ deprecateAfterDays: 'never' }, 'deprecateAfterDays must be a whole number of days from 1 to 3650, got "never"'],
    [{ ssmParameterName: 'aws/reserved' }, /^ssmParameterName must be .* not starting with "aws" or "ssm", got "aws\/reserved"$/],
    [{ keepPrevious: '-1' }, 'keepPrevious must be a whole number of previous images from 0 to 50, got -1'],
    [{ keepPrevious: 'two' }, 'keepPrevious must be a whole number, got "two"'],
    [{ keepPrevious: '51' }, 'keepPrevious must be a whole number of previous images from 0 to 50, got 51'],
    [{ tags: '{"team":' }, 'tags must be a JSON object of string values such as {"team":"platform"}, got "{\\"team\\":"'],
    [{ tags: '{"aws:x":"y"}' }, 'tags must not use the reserved "aws:" prefix, got "aws:x"'],
    [{ tags: '{"n":1}' }, 'tags must map keys to string values, got "n": 1'],
    [{ recipe: 'does/not/exist' }, /^recipe "does\/not\/exist" does not exist \(looked for \/.*\/does\/not\/exist\)$/],
    [{ recipe: NO_TEST }, new RegExp(`^recipe "${NO_TEST}" has no test\\.sh`)],
    [{ sourceInstanceId: 'i-123' }, 'sourceInstanceId must be i- and 8 or 17 hex digits, such as i-0123456789abcdef0, got "i-123"'],
    [{ sourceInstanceId: 'web-server' }, /^sourceInstanceId must be i- and 8 or 17 hex digits.*got "web-server"$/],
    [{ baseImage: 'al2023' }, 'baseImage must be pinned, latest, ami-<8 or 17 hex digits> or ssm:/<parameter path>, got "al2023"'],
    [{ baseImage: 'ami-123' }, /^baseImage must be .*got "ami-123"$/],
    [{ sourceInstanceId: 'i-0123456789abcdef0', baseImage: 'latest' }, /^baseImage has no use with sourceInstanceId .*got baseImage "latest"$/],
    [{ rootVolumeGiB: '0' }, 'rootVolumeGiB must be a whole number of GiB from 1 to 16384 (EBS\'s gp3 limit), got 0'],
    [{ rootVolumeGiB: '16385' }, 'rootVolumeGiB must be a whole number of GiB from 1 to 16384 (EBS\'s gp3 limit), got 16385'],
    [{ rootVolumeGiB: '30GB' }, 'rootVolumeGiB must be a whole number, got "30GB"'],
    [{ sourceInstanceId: 'i-0123456789abcdef0', rootVolumeGiB: '30' }, /^rootVolumeGiB has no use with sourceInstanceId .*got rootVolumeGiB 30$/],
    [{ excludeDevices: '/dev/sdf,data' }, 'excludeDevices must be device names such as /dev/sdf or xvdf, got "data"'],
  ])('%o', (context, message) => {
    // readConfig is what buildApp reports from; the tests below show each report fails the synth.
    const { errors } = readConfig(newApp(context as Record<string, string>).node);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
  });

  test.each([
    [{ noReboot: 'yes' }, 'noReboot must be one of true, false, got "yes"'],
    [{ copyToRegions: 'mars-north-1' }, 'copyToRegions must be AWS regions, got unknown "mars-north-1"'],
    [{ shareWithAccounts: 'all' }, 'shareWithAccounts must not be "all": that would make the image public; list 12-digit account ids'],
    [{ keepPrevious: '-1' }, 'keepPrevious must be a whole number of previous images from 0 to 50, got -1'],
    [{ keepPrevious: 'two' }, 'keepPrevious must be a whole number, got "two"'],
    [{ recipe: 'does/not/exist' }, expect.stringMatching(/^recipe "does\/not\/exist" does not exist/)],
    [{ recipe: NO_TEST }, expect.stringMatching(/^recipe ".*" has no test\.sh/)],
  ])('%o fails the synthesis itself, as `cdk synth` reports it', (context, message) => {
    expect(synth(context).errors()).toEqual([message]);
  });

  test('the stack\'s own region in copyToRegions is refused when the region is known at synth', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' });
    try {
      expect(synth({ vpcId: 'vpc-0123456789abcdef0', copyToRegions: 'eu-west-1' }).errors())
        .toEqual(['copyToRegions must not include the stack\'s own region "eu-west-1": the image is made there']);
    } finally {
      process.env = saved;
    }
  });

  test('a volume key of another region is refused when the region is known at synth', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' });
    try {
      expect(synth({ vpcId: 'vpc-0123456789abcdef0', volumeKmsKeyArn: VOLUME_KEY }).errors())
        .toEqual([`volumeKmsKeyArn must be in the stack's region "eu-west-1": EBS volumes use a key of their own region, got "${VOLUME_KEY}"`]);
    } finally {
      process.env = saved;
    }
  });

  test('every bad value is reported at once', () => {
    expect(synth({ noReboot: 'maybe', removalPolicy: 'keep', pollSeconds: '0' }).errors()).toHaveLength(3);
  });
});

test('the documented context keys are the ones the app reads', () => {
  expect([...CONTEXT_KEYS].sort()).toEqual([
    'architecture', 'baseImage', 'baseImageRefresh', 'copyKmsKeyArn', 'copyRegionsDefaultKeyIsCustomerManaged', 'copyToRegions', 'deprecateAfterDays', 'imageDescription', 'imageName', 'instanceType',
    'keepInstancesRunning', 'keepPrevious', 'noReboot', 'pollSeconds', 'rebuildToken', 'recipe', 'removalPolicy', 'scriptTimeout', 'shareWithAccounts', 'shareWithOrganizationArns',
    'sourceInstanceId', 'ssmParameterName', 'tags', 'timeoutMinutes', 'volumeKmsKeyArn', 'vpcId', 'rootVolumeGiB', 'excludeDevices',
  ].sort());
  // …and each has its row in the README's options table.
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
  expect(CONTEXT_KEYS.filter((key) => !readme.includes(`| \`${key}\` |`))).toEqual([]);
});
