import { App, Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { AmiFromInstanceStackProps } from '../lib/ami-from-instance-stack';
import { buildApp, STACK_ID } from '../lib/app';
import { newApp } from './helpers/synth';

/**
 * The app as `cdk synth` builds it (lib/app.ts), with cdk-nag's AwsSolutions
 * pack as a validation plugin. Bundling is skipped (newApp): it does not change
 * any resource the pack checks. `validation` also runs aws-cdk-lib's built-in
 * CloudFormation validation, as `cdk synth` does (cdk.json makes its findings errors).
 */
function app(validation = false): App {
  return newApp({}, { validation });
}

afterEach(() => jest.restoreAllMocks());

/** stopInstance, a previous image kept, two copy regions, sharing, deprecation, an SSM parameter and the volume key. */
const PROMOTED: AmiFromInstanceStackProps = {
  volumeKmsKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111',
  image: { stopInstance: true, keepPrevious: 2 },
  distribution: {
    copyToRegions: ['eu-west-1', 'ap-south-1'], shareWithAccounts: ['111122223333'],
    copyKmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/mrk-0123456789abcdef0123456789abcdef',
    deprecateAfterDays: 90, ssmParameterName: '/images/web/latest',
  },
};

/** The longest wait the app allows (timeoutMinutes=720): the image's and the copies' wait conditions, their rules and check functions. */
const LONGEST_WAIT = Duration.minutes(720);

// The largest configuration first: aws-cdk-lib builds its CloudFormation validation engine (a few seconds
// of CPU) for the resource types of the first template it validates, and builds it again only for a
// template with a type it has not seen; this one has every type the others have. It is the only file that
// validates, so the engine is built once in the whole suite.
test('GIVEN the longest wait with the promotion options THEN synthesis passes the cdk-nag AwsSolutions checks and aws-cdk-lib\'s CloudFormation validation, with wait conditions at their 43200 s limit', () => {
  const a = app(true);
  buildApp(a, {
    ...PROMOTED,
    image: { ...PROMOTED.image, totalTimeout: LONGEST_WAIT },
    distribution: { ...PROMOTED.distribution, totalTimeout: LONGEST_WAIT },
  });
  const template = a.synth().getStackByName(STACK_ID).template as { Resources: Record<string, { Type: string; Properties: { Timeout?: string } }> };
  const timeouts = Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudFormation::WaitCondition').map((r) => r.Properties.Timeout);
  // The image's and the copies' waits (the other two are the source's and the target's scripts).
  expect(timeouts.filter((t) => t === '43200')).toHaveLength(2);
});

test('GIVEN the promotion options with the default wait (the waiter polls) THEN synthesis passes the cdk-nag AwsSolutions checks and aws-cdk-lib\'s CloudFormation validation', () => {
  const a = app(true);
  buildApp(a, PROMOTED);
  expect(() => a.synth()).not.toThrow();
});

test('GIVEN the app as bin builds it THEN synthesis passes the cdk-nag AwsSolutions checks and aws-cdk-lib\'s CloudFormation validation', () => {
  const a = app(true);
  buildApp(a);
  expect(() => a.synth()).not.toThrow();
});

test('GIVEN a mutating EC2 action on * added to a handler role THEN cdk-nag fails the synthesis', () => {
  const a = app();
  const stack = buildApp(a);
  stack.image.onEventHandler.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DeregisterImage'], resources: ['*'] }));
  expect(() => a.synth()).toThrow(/Image\/OnEventRole\/DefaultPolicy\/Resource[\s\S]*AwsSolutions-IAM5\[Resource::\*\]/);
});

test('GIVEN a widened image ARN in the Describe-only policy THEN cdk-nag fails the synthesis', () => {
  const a = app();
  const stack = buildApp(a);
  // A Describe policy's acknowledgement is for Resource::* only: anything else in it is a new finding.
  const describe = stack.image.node.findChild('OnEventDescribePolicy') as iam.Policy;
  describe.addStatements(new iam.PolicyStatement({ actions: ['ec2:DeregisterImage'], resources: ['arn:aws:ec2:*::image/*'] }));
  expect(() => a.synth()).toThrow(/AwsSolutions-IAM5\[Resource::arn:aws:ec2:\*::image\/\*\]/);
});

describe('every acknowledgement is needed', () => {
  /**
   * Builds the app recording the AwsSolutions rule ids it acknowledges (`ids`), leaves those
   * acknowledgements out, and synthesizes it: `findings` are the ids cdk-nag then asks to acknowledge
   * ("Acknowledge with 'AwsSolutions::<id>'"). Each acknowledgement only hides its own findings, so an
   * id among the findings is one whose acknowledgement, left out alone, fails the synthesis: one
   * synthesis answers for every id instead of one synthesis per id.
   */
  function acknowledgements(props: AmiFromInstanceStackProps = {}): { ids: string[]; findings: string[] } {
    const ids = new Set<string>();
    const original = Validations.prototype.acknowledge;
    const spy = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (this: Validations, ...rules) {
      // aws-cdk-lib acknowledges some of its own CloudFormation-Validate rules: not ours, and kept.
      const ours = rules.filter((r) => r.id.startsWith('AwsSolutions-'));
      ours.forEach((r) => ids.add(r.id));
      original.apply(this, rules.filter((r) => !ours.includes(r)));
    });
    let findings: string[] = [];
    try {
      const a = app();
      buildApp(a, props);
      a.synth();
    } catch (e) {
      findings = [...new Set([...String((e as Error).message).matchAll(/Acknowledge with 'AwsSolutions::([^']+)'/g)].map((m) => m[1]))];
    } finally {
      spy.mockRestore();
    }
    return { ids: [...ids].sort(), findings };
  }

  const { ids, findings } = acknowledgements();

  test('the acknowledgements are the expected ones, each a single finding', () => {
    expect(ids).toEqual([
      'AwsSolutions-EC28',
      'AwsSolutions-EC29',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      'AwsSolutions-IAM5[Resource::*]',
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<ImageIsComplete[0-9A-F]{8}\.Arn>:\*\]$/),
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<ImageOnEvent[0-9A-F]{8}\.Arn>:\*\]$/),
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<ImageProviderframeworkisComplete[0-9A-F]{8}\.Arn>:\*\]$/),
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<ImageProviderframeworkonTimeout[0-9A-F]{8}\.Arn>:\*\]$/),
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::image/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*]',
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<InstanceLogs[0-9A-F]{8}>:\*\]$/),
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<InstanceLogs[0-9A-F]{8}>:log-stream:bake\/\*\]$/),
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<InstanceLogs[0-9A-F]{8}>:log-stream:test\/\*\]$/),
      'AwsSolutions-SF1',
      'AwsSolutions-SF2',
    ]);
  });

  test.each(ids)('GIVEN %s not acknowledged THEN cdk-nag fails the synthesis', (id) => {
    expect(findings).toContain(id);
  });

  describe('GIVEN a distribution (sharing, copies with their key, deprecation, an SSM parameter)', () => {
    const props: AmiFromInstanceStackProps = {
      volumeKmsKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111',
      distribution: {
        shareWithAccounts: ['111122223333'], copyToRegions: ['eu-west-1'], deprecateAfterDays: 90, ssmParameterName: '/images/web/latest',
        copyKmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/0123abcd-0123-4567-89ab-0123456789ab',
      },
    };
    const { ids: withDistribution, findings: distributionFindings } = acknowledgements(props);

    test('THEN the distribution adds its own: its any-region cleanup, the copy region\'s new ids, and its Provider\'s invokes', () => {
      expect(withDistribution.filter((id) => !ids.includes(id))).toEqual([
        expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<DistributionIsComplete[0-9A-F]{8}\.Arn>:\*\]$/),
        expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<DistributionOnEvent[0-9A-F]{8}\.Arn>:\*\]$/),
        expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<DistributionProviderframeworkisComplete[0-9A-F]{8}\.Arn>:\*\]$/),
        expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<DistributionProviderframeworkonTimeout[0-9A-F]{8}\.Arn>:\*\]$/),
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::image/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::snapshot/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:eu-west-1::image/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:eu-west-1::snapshot/*]',
      ]);
      expect(ids.filter((id) => !withDistribution.includes(id))).toEqual([]);
    });

    test.each(withDistribution)('GIVEN %s not acknowledged THEN cdk-nag fails the synthesis', (id) => {
      expect(distributionFindings).toContain(id);
    });
  });
});
