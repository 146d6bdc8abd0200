import { Match, Template } from 'aws-cdk-lib/assertions';
import { DISTRIBUTION_RESOURCE_TYPE } from '../../lib/image-distribution/shared';
import { synthStack } from '../helpers/synth';

/* eslint-disable @typescript-eslint/no-explicit-any -- a synthesized template is untyped JSON */
type Json = any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const CONTEXT = {
  timeoutMinutes: '600',
  copyToRegions: 'eu-west-1',
  copyKmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/mrk-0123456789abcdef0123456789abcdef',
  shareWithAccounts: '111111111111',
  volumeKmsKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555',
};
const synthesized = synthStack({}, CONTEXT);
const { template } = synthesized;
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, Json>; DependsOn?: string[] }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const distributions = ofType(DISTRIBUTION_RESOURCE_TYPE);
const starter = distributions.find(([, r]) => r.Properties.StartOnly === 'true')!;
const main = distributions.find(([, r]) => r.Properties.StartOnly === undefined)!;
const copiesCondition = ofType('AWS::CloudFormation::WaitCondition').find(([id]) => id.startsWith('DistributionCopiesAvailable'))!;
const testCondition = ofType('AWS::CloudFormation::WaitCondition').find(([id]) => id.startsWith('TestCondition'))!;

describe('timeoutMinutes=600 with copies: a wait condition follows the copies too', () => {
  test('one resource starts the copies after the AMI test, a wait condition of 36000 s follows them, and the distribution proper waits for it', () => {
    expect(distributions).toHaveLength(2);
    expect(starter[1].DependsOn).toContain(testCondition[0]);
    expect(copiesCondition[1].Properties.Timeout).toBe('36000');
    expect(copiesCondition[1].DependsOn).toContain(starter[0]);
    expect(main[1].DependsOn).toEqual(expect.arrayContaining([testCondition[0], copiesCondition[0]]));
  });

  test('the copies\' handle is created only after the AMI test passed: its pre-signed URL is not aged by the bake, the image and the test', () => {
    const handle = ofType('AWS::CloudFormation::WaitConditionHandle').find(([id]) => id.startsWith('DistributionCopiesHandle'))!;
    expect(copiesCondition[1].Properties.Handle).toEqual({ Ref: handle[0] });
    expect(handle[1].DependsOn).toContain(testCondition[0]);
  });

  test('the starter carries the copies check\'s rule, which is a 5-minute schedule, disabled until copies are started', () => {
    const rule = ofType('AWS::Events::Rule').find(([, r]) => r.Properties.Name === starter[1].Properties.CheckRuleName)!;
    expect(rule[1].Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'DISABLED' });
    const check = ofType('AWS::Lambda::Function').find(([, r]) => r.Properties.Handler === 'index.onCopiesCheck')!;
    expect(rule[1].Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [check[0], 'Arn'] });
    expect(check[1].Properties.Timeout).toBeLessThanOrEqual(300);
    expect(check[1].Properties.Environment.Variables).toMatchObject({ COPY_REGIONS: 'eu-west-1', CHECK_RULE: rule[1].Properties.Name });
  });

  test('the waiters cover only the starts: both Providers (image, distribution) poll 90 times 30 s, not for the 10 hours', () => {
    const machines = JSON.stringify(template.findResources('AWS::StepFunctions::StateMachine'));
    expect([...machines.matchAll(/MaxAttempts\\":(\d+)/g)].map((m) => m[1])).toEqual(['90', '90']);
  });

  test('without copies, or with 55 minutes, there is one distribution and no copies check', () => {
    for (const context of [{ ...CONTEXT, copyToRegions: '', copyKmsKeyArn: '' }, { ...CONTEXT, timeoutMinutes: '45' }]) {
      const other = synthStack({}, context).template;
      other.resourceCountIs(DISTRIBUTION_RESOURCE_TYPE, 1);
      other.hasResourceProperties(DISTRIBUTION_RESOURCE_TYPE, { StartOnly: Match.absent() });
      expect(Object.values(other.findResources('AWS::Lambda::Function')).filter((f) => f.Properties.Handler === 'index.onCopiesCheck')).toHaveLength(0);
    }
  });
});

test('the template is valid for cdk-nag (every finding acknowledged)', () => {
  expect(() => Template.fromStack(synthesized.stack)).not.toThrow();
});

describe('from one deploy to the next: the starter knows the distribution proper and the copies\' condition', () => {
  test('the starter names the distribution proper\'s logical id, whose record tells its Delete to leave the copies alone', () => {
    expect(starter[1].Properties.DistributionLogicalId).toBe(main[0]);
  });

  test('a new timeout is a new copies\' condition and a new SignalId on the starter, whose Update turns the check on to signal it', () => {
    const other = synthStack({}, { ...CONTEXT, timeoutMinutes: '700' }).template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, Json> }>;
    const otherStarter = Object.values(other).find((r) => r.Type === DISTRIBUTION_RESOURCE_TYPE && r.Properties.StartOnly === 'true')!;
    const otherCondition = Object.keys(other).find((id) => id.startsWith('DistributionCopiesAvailable'))!;
    expect(starter[1].Properties.SignalId).toMatch(/^[0-9a-f]{16}$/);
    expect(copiesCondition[0]).toContain(starter[1].Properties.SignalId);
    expect(otherCondition).toContain(otherStarter.Properties.SignalId);
    expect(otherStarter.Properties.SignalId).not.toBe(starter[1].Properties.SignalId);
  });
});
