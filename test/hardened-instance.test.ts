import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { HardenedInstance, HardenedInstanceProps } from '../lib/hardened-instance';
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

describe('the root volume', () => {
  function mappings(props: Partial<HardenedInstanceProps>) {
    const stack = new Stack(newApp(), 'S');
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'P', subnetType: ec2.SubnetType.PUBLIC }] });
    new HardenedInstance(stack, 'Target', { vpc, instanceType: new ec2.InstanceType('t3.micro'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), ...props });
    return Object.values(Template.fromStack(stack).findResources('AWS::EC2::Instance'))[0].Properties.BlockDeviceMappings;
  }

  test('of an image (imageRootDevice): only that device, encrypted, no size or type, so EC2 keeps the image\'s', () => {
    expect(mappings({ imageRootDevice: '/dev/sda1' })).toEqual([{ DeviceName: '/dev/sda1', Ebs: { Encrypted: true, DeleteOnTermination: true } }]);
  });

  test('of an image, a size and type given by the caller are kept', () => {
    expect(mappings({ imageRootDevice: '/dev/sda1', rootVolumeGiB: 200, rootVolumeType: ec2.EbsDeviceVolumeType.GP3 }))
      .toEqual([{ DeviceName: '/dev/sda1', Ebs: { Encrypted: true, DeleteOnTermination: true, VolumeSize: 200, VolumeType: 'gp3' } }]);
  });

  test('without imageRootDevice: an encrypted gp3 /dev/xvda of rootVolumeGiB (8 by default)', () => {
    expect(mappings({})).toEqual([{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 8, VolumeType: 'gp3', DeleteOnTermination: true } }]);
    expect(mappings({ rootVolumeGiB: 20 })[0].Ebs.VolumeSize).toBe(20);
  });

  test.each([[0], [16385], [2.5]])('rootVolumeGiB %p is refused, naming the option and the value', (value) => {
    expect(() => mappings({ rootVolumeGiB: value })).toThrow(/^rootVolumeGiB must be a whole number of GiB from 1 to 16384 .*got /);
  });
});
