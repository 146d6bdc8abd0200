/**
 * Issue #15 (part): instances that cost nothing once the image is proven, and
 * a public IPv4 address by construction.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { RESOURCE_TYPE } from '../lib/instance-image/shared';
import { synthStack } from './helpers/synth';

function userDataOf(template: Template, logicalId: string): string {
  return JSON.stringify(template.findResources('AWS::EC2::Instance')[logicalId].Properties.UserData);
}

function instancesOf(template: Template) {
  const instances = template.findResources('AWS::EC2::Instance');
  const targetId = Object.keys(instances).find((id) => instances[id].Properties.ImageId['Fn::GetAtt'])!;
  const sourceId = Object.keys(instances).find((id) => id !== targetId)!;
  return { instances, targetId, sourceId };
}

describe('GIVEN the defaults', () => {
  const { template } = synthStack();
  const { instances, targetId, sourceId } = instancesOf(template);

  test('THEN the image handler stops the source before imaging it, and only that instance', () => {
    template.hasResourceProperties(RESOURCE_TYPE, { StopInstance: 'true', InstanceId: { Ref: sourceId } });
    const stops = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string; Resource: unknown }>)
      .filter((st) => st.Action === 'ec2:StopInstances');
    expect(stops).toHaveLength(1);
    expect(JSON.stringify(stops[0].Resource)).toContain(`{"Ref":"${sourceId}"}`);
  });

  test('THEN the target powers off once it signalled a passing test (the user-data tier runs it), and a shutdown stops it', () => {
    expect(userDataOf(template, targetId)).toContain('readonly AFI_POWER_OFF=true');
    expect(instances[targetId].Properties.InstanceInitiatedShutdownBehavior).toBe('stop');
  });

  test('THEN both instances ask for a public IPv4 address themselves, once the subnets route to the internet', () => {
    const routes = Object.keys(template.findResources('AWS::EC2::Route'));
    for (const id of [sourceId, targetId]) {
      expect(instances[id].Properties.NetworkInterfaces).toEqual([expect.objectContaining({ AssociatePublicIpAddress: true, DeviceIndex: '0' })]);
      expect(instances[id].DependsOn).toEqual(expect.arrayContaining(routes));
    }
    expect(routes.length).toBeGreaterThan(0);
  });
});

describe('GIVEN -c keepInstancesRunning=true', () => {
  const { template } = synthStack({}, { keepInstancesRunning: 'true' });
  const { targetId } = instancesOf(template);

  test('THEN the source is imaged running (no StopInstance), and the target stays up after its test', () => {
    expect(JSON.stringify(template.findResources(RESOURCE_TYPE))).not.toContain('StopInstance');
    expect(userDataOf(template, targetId)).toContain('readonly AFI_POWER_OFF=false');
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).not.toContain('ec2:StopInstances');
  });
});

describe('GIVEN keepInstancesRunning switched between two deploys', () => {
  const running = synthStack({}, { keepInstancesRunning: 'true' }).template;
  const stopped = synthStack().template;
  const ids = (template: Template, type: string, prefix: string) => Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));

  test('THEN the target is a new instance (its user data changed) with a new test wait condition and handle, so the test runs again and the condition is signalled', () => {
    expect(instancesOf(running).targetId).not.toBe(instancesOf(stopped).targetId);
    for (const type of ['AWS::CloudFormation::WaitCondition', 'AWS::CloudFormation::WaitConditionHandle']) {
      const [before, after] = [ids(running, type, 'Test'), ids(stopped, type, 'Test')];
      expect(before).toHaveLength(1);
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before[0]);
    }
  });

  test('THEN the source and its bake are the same (its user data did not change); the image resource gets StopInstance, which stops it in place', () => {
    expect(instancesOf(running).sourceId).toBe(instancesOf(stopped).sourceId);
    expect(ids(running, 'AWS::CloudFormation::WaitCondition', 'Bake')).toEqual(ids(stopped, 'AWS::CloudFormation::WaitCondition', 'Bake'));
    stopped.hasResourceProperties(RESOURCE_TYPE, { StopInstance: 'true' });
  });
});
