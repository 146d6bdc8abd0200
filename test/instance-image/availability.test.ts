import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { RESOURCE_TYPE } from '../../lib/instance-image/shared';
import { SIGNAL_TAG } from '../../lib/shared/names';
import { ownerToken } from '../helpers/policies';
import { memoize, newApp, synthStack } from '../helpers/synth';

/**
 * `cdk synth -c timeoutMinutes=…` (context values arrive as strings); the errors it reports (cdk-nag's
 * findings among them), or its template. Each distinct synthesis runs once. aws-cdk-lib's CloudFormation
 * validation of these templates is in test/app.test.ts, which builds its engine once for the suite.
 */
const synth = memoize(synthesize);

function synthesize(context: Record<string, string>) {
  const stack = buildApp(newApp(context));
  try {
    return { template: Template.fromStack(stack), errors: [] as string[] };
  } catch (e) {
    const message = String((e as Error).message);
    const annotations = [...message.matchAll(/ERROR (.*) \(Annotation\)/g)].map((m) => m[1]);
    // Anything else that stops the synth (a cdk-nag finding) is an error too.
    return { template: undefined, errors: annotations.length > 0 ? annotations : [message] };
  }
}

const long = synth({ timeoutMinutes: '600' }).template!;
/* eslint-disable @typescript-eslint/no-explicit-any -- a synthesized template is untyped JSON */
type Json = any;
/* eslint-enable @typescript-eslint/no-explicit-any */
const resources = long.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, Json>; DependsOn?: string[] }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const conditionId = ofType('AWS::CloudFormation::WaitCondition').map(([id]) => id).find((id) => id.startsWith('ImageAvailabilityAvailable'))!;
const image = ofType(RESOURCE_TYPE)[0];
const signal = ofType('AWS::Lambda::Function').find(([, r]) => r.Properties.Handler === 'index.onImageEvent')!;

describe('timeoutMinutes=600: a wait condition follows the image', () => {
  test('a WaitCondition with a Timeout of 36000 s, after the image resource, on its own handle', () => {
    const condition = resources[conditionId];
    expect(condition.Properties).toEqual({ Count: 1, Timeout: '36000', Handle: { Ref: expect.stringMatching(/^ImageAvailabilityHandle[0-9A-F]{8}[0-9a-f]{16}$/) } });
    expect(condition.DependsOn).toContain(image[0]);
  });

  test('it gates the target instance: its ImageId is the image id, with a reference to the condition beside it', () => {
    const target = ofType('AWS::EC2::Instance').find(([id]) => id.startsWith('Target'))!;
    expect(target[1].Properties.ImageId).toEqual({ 'Fn::Select': [0, [{ 'Fn::GetAtt': [image[0], 'ImageId'] }, { Ref: conditionId }]] });
  });

  test('the synth passes cdk-nag (no error), with copies or without', () => {
    expect(synth({ timeoutMinutes: '600', copyToRegions: 'eu-west-1' }).errors).toEqual([]);
    expect(synth({ timeoutMinutes: '600' }).errors).toEqual([]);
  });

  test('an EventBridge rule for EC2 AMI State Change (available, failed) invokes the signal function', () => {
    long.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['aws.ec2'], 'detail-type': ['EC2 AMI State Change'], 'detail': { State: ['available', 'failed'] } },
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [signal[0], 'Arn'] }, Id: 'Target0' }],
    });
  });

  test('a schedule for the fallback check, every 5 minutes, disabled until an image is pending, named for the handlers', () => {
    const check = ofType('AWS::Events::Rule').find(([, r]) => r.Properties.ScheduleExpression)!;
    expect(check[1].Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'DISABLED', Targets: [{ Arn: { 'Fn::GetAtt': [signal[0], 'Arn'] } }] });
    expect(image[1].Properties.CheckRuleName).toBe(check[1].Properties.Name);
    expect(signal[1].Properties.Environment.Variables.CHECK_RULE).toBe(check[1].Properties.Name);
  });

  test('the image resource carries the handle\'s id (its signal tag) and starts only once the function and the rules exist', () => {
    const handleId = resources[conditionId].Properties.Handle.Ref as string;
    expect(image[1].Properties.SignalId).toBe(handleId.slice(-16));
    expect(signal[1].Properties.Environment.Variables).toMatchObject({ SIGNAL_ID: handleId.slice(-16), HANDLE_URL: { Ref: handleId } });
    const rules = ofType('AWS::Events::Rule').map(([id]) => id);
    expect(image[1].DependsOn).toEqual(expect.arrayContaining([signal[0], ...rules]));
  });

  test('no function of the project\'s own code has a timeout over 5 minutes: nothing waits inside a function', () => {
    // aws-cdk-lib's own functions aside: the Provider framework's (framework.*) and AwsCustomResource's (index.handler, the base image).
    const own = ofType('AWS::Lambda::Function').filter(([, r]) => /^index\.(?!handler$)/.test(r.Properties.Handler));
    expect(own.map(([, r]) => r.Properties.Handler).sort()).toEqual(['index.isComplete', 'index.onEvent', 'index.onImageEvent']);
    for (const [, fn] of own) expect(fn.Properties.Timeout).toBeLessThanOrEqual(300);
  });

  test('least privilege: the signal function reads images and snapshots, sets only IMDSv2 on this resource\'s images, and disables only its check', () => {
    const roleOf = (fn: [string, { Properties: Record<string, Json> }]) => fn[1].Properties.Role['Fn::GetAtt'][0] as string;
    const statementsOf = (role: string) => ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<Record<string, Json>>);
    const statements = statementsOf(roleOf(signal));
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(['ec2:DescribeImages', 'ec2:DescribeSnapshots', 'ec2:ModifyImageAttribute', 'events:DisableRule', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    const modify = statements.find((s) => s.Action === 'ec2:ModifyImageAttribute')!;
    expect(modify.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/ami-from-instance:owner': ownerToken('AmiFromInstanceStack/Image') } });
    const disable = statements.find((s) => s.Action === 'events:DisableRule')!;
    expect(JSON.stringify(disable.Resource)).toContain(`rule/${image[1].Properties.CheckRuleName}`);

    const onEvent = ofType('AWS::Lambda::Function').find(([, r]) => r.Properties.Handler === 'index.onEvent')!;
    const tagging = statementsOf(roleOf(onEvent)).find((s) => s.Action === 'ec2:CreateTags' && s.Condition?.['ForAllValues:StringEquals']);
    expect(tagging!.Condition).toEqual({
      'StringEquals': { 'aws:ResourceTag/ami-from-instance:owner': ownerToken('AmiFromInstanceStack/Image') },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [SIGNAL_TAG] },
    });
    expect(statementsOf(roleOf(onEvent)).some((s) => s.Action === 'events:EnableRule')).toBe(true);
  });

  test('a new timeout is a new wait condition and handle (a wait condition cannot be updated); the same settings give the same ids', () => {
    const ids = (template: Template) => Object.keys(template.toJSON().Resources).filter((id) => id.startsWith('ImageAvailability') && /[0-9a-f]{16}$/.test(id)).sort();
    expect(ids(synth({ timeoutMinutes: '600' }).template!)).toEqual(ids(long));
    const other = ids(synth({ timeoutMinutes: '601' }).template!);
    expect(other).toHaveLength(2);
    expect(other).not.toEqual(ids(long));
    expect(ids(synth({ timeoutMinutes: '600', rebuildToken: 'b' }).template!)).not.toEqual(ids(long));
  });
});

describe('the limits', () => {
  test('timeoutMinutes=720 synthesizes, its wait a wait condition\'s longest Timeout (43200 s; test/app.test.ts validates it); 721 fails the synth naming the key', () => {
    const longest = synth({ timeoutMinutes: '720' });
    expect(longest.errors).toEqual([]);
    longest.template!.hasResourceProperties('AWS::CloudFormation::WaitCondition', { Timeout: '43200' });
    expect(synth({ timeoutMinutes: '721' }).errors).toEqual([expect.stringMatching(/^timeoutMinutes must be 1-720 .*got 721$/)]);
  });

  test('up to 55 minutes the waiter polls as before: no wait condition for the image, no rules, no signal function', () => {
    const { template } = synthStack({}, { timeoutMinutes: '55' });
    expect(Object.keys(template.findResources('AWS::CloudFormation::WaitCondition')).filter((id) => id.startsWith('ImageAvailability'))).toEqual([]);
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.hasResourceProperties(RESOURCE_TYPE, { SignalId: Match.absent(), CheckRuleName: Match.absent() });
  });
});
