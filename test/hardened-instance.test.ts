import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { HardenedInstance } from '../lib/hardened-instance';
import { newApp } from './helpers/synth';

function instance(commands: string[]) {
  const stack = new Stack(newApp(), 'S');
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'P', subnetType: ec2.SubnetType.PUBLIC }] });
  const built = new HardenedInstance(stack, 'Source', {
    vpc,
    instanceType: new ec2.InstanceType('t3.micro'),
    machineImage: ec2.MachineImage.latestAmazonLinux2023(),
  });
  built.instance.userData.addCommands(...commands);
  const instances = Template.fromStack(stack).findResources('AWS::EC2::Instance');
  return { id: Object.keys(instances)[0], resource: Object.values(instances)[0] };
}

test('a changed script gives a new logical id, so CloudFormation replaces the instance (cloud-init runs user data once)', () => {
  const a = instance(['echo nginx']).id;
  const b = instance(['echo httpd']).id;
  expect(a).not.toBe(b);
  expect(instance(['echo nginx']).id).toBe(a);
});

test('no CreationPolicy of its own: what runs at first boot reports through its own wait condition (ReportedScript)', () => {
  expect(instance(['true']).resource.CreationPolicy).toBeUndefined();
});
