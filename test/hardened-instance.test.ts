import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { HardenedInstance } from '../lib/hardened-instance';
import { newApp } from './helpers/synth';

function sourceLogicalId(init: ec2.CloudFormationInit): string {
  const stack = new Stack(newApp(), 'S');
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'P', subnetType: ec2.SubnetType.PUBLIC }] });
  new HardenedInstance(stack, 'Source', {
    vpc,
    instanceType: new ec2.InstanceType('t3.micro'),
    machineImage: ec2.MachineImage.latestAmazonLinux2023(),
    init,
  });
  return Object.keys(Template.fromStack(stack).findResources('AWS::EC2::Instance'))[0];
}

test('a changed recipe gives a new logical id, so CloudFormation replaces the instance', () => {
  const a = sourceLogicalId(ec2.CloudFormationInit.fromElements(ec2.InitPackage.yum('nginx')));
  const b = sourceLogicalId(ec2.CloudFormationInit.fromElements(ec2.InitPackage.yum('httpd')));
  const a2 = sourceLogicalId(ec2.CloudFormationInit.fromElements(ec2.InitPackage.yum('nginx')));
  expect(a).not.toBe(b);
  expect(a).toBe(a2);
});

test('without init the instance still gets a CreationPolicy, and its user data must signal', () => {
  const stack = new Stack(newApp(), 'S');
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'P', subnetType: ec2.SubnetType.PUBLIC }] });
  new HardenedInstance(stack, 'Target', { vpc, instanceType: new ec2.InstanceType('t3.micro'), machineImage: ec2.MachineImage.latestAmazonLinux2023() });
  Template.fromStack(stack).hasResource('AWS::EC2::Instance', { CreationPolicy: { ResourceSignal: { Timeout: 'PT15M' } } });
});
