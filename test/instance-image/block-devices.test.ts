/**
 * The image's volumes: excludeDevices (what CreateImage leaves out, a new
 * image) and the RootDeviceName attribute (what a target's mapping names).
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { InstanceImage, InstanceImageProps } from '../../lib/instance-image/instance-image';
import { ATTRIBUTES_VERSION, REPLACING_PROPERTIES, RESOURCE_TYPE } from '../../lib/instance-image/shared';
import { statementsOf } from '../helpers/policies';
import { newApp } from '../helpers/synth';

function build(props: Partial<InstanceImageProps> = {}) {
  const stack = new Stack(newApp(), 'TestStack');
  const image = new InstanceImage(stack, 'Image', { instanceId: 'i-0123456789abcdef0', ...props });
  return { stack, image, template: () => Template.fromStack(stack) };
}

describe('excludeDevices', () => {
  test('reaches the handler as ExcludeDevices, sorted and without duplicates (the same devices are the same image)', () => {
    const { template, image } = build({ excludeDevices: ['xvdg', '/dev/sdf', 'xvdg'] });
    template().hasResourceProperties(RESOURCE_TYPE, { ExcludeDevices: ['/dev/sdf', 'xvdg'] });
    expect(image.contentProperties.ExcludeDevices).toEqual(['/dev/sdf', 'xvdg']);
  });

  test('absent by default and when empty: a stack made before it keeps its image', () => {
    build().template().hasResourceProperties(RESOURCE_TYPE, { ExcludeDevices: Match.absent() });
    build({ excludeDevices: [] }).template().hasResourceProperties(RESOURCE_TYPE, { ExcludeDevices: Match.absent() });
  });

  test('is content-defining (a different image): a replacing property, in the image\'s identity', () => {
    expect(REPLACING_PROPERTIES).toContain('ExcludeDevices');
    expect(REPLACING_PROPERTIES).not.toContain('AttributesVersion');
    const content = (props: Partial<InstanceImageProps>) => JSON.stringify(build(props).stack.resolve(build(props).image.contentProperties));
    expect(content({ excludeDevices: ['/dev/sdf'] })).not.toBe(content({}));
  });

  test.each([['/dev/sd'], ['/dev/nvme1n1'], ['/dev/sdf;rm'], ['']])('%p is refused, naming the option and the value', (device) => {
    expect(() => build({ excludeDevices: ['/dev/sdg', device] })).toThrow(`excludeDevices must be device names such as /dev/sdf or xvdf, got ${JSON.stringify(device)}`);
  });

  test.each([['/dev/sdf'], ['/dev/xvdf'], ['xvdf'], ['/dev/sdba'], ['/dev/sda1']])('%p is accepted (the root is refused only by EC2, at deploy)', (device) => {
    expect(() => build({ excludeDevices: [device] })).not.toThrow();
  });

  test('the IAM policy is unchanged: CreateImage on the instance and the owner-tagged image and snapshots needs nothing more for block device mappings', () => {
    const grants = (props: Partial<InstanceImageProps>) => JSON.stringify(statementsOf(build(props).template(), 'ImageOnEventRole'));
    expect(grants({ excludeDevices: ['/dev/sdf'] })).toBe(grants({}));
    expect(grants({ excludeDevices: ['/dev/sdf'] })).toContain('ec2:CreateImage');
  });
});

describe('RootDeviceName', () => {
  test('rootDeviceName is the resource\'s RootDeviceName attribute', () => {
    const { stack, image } = build();
    expect(stack.resolve(image.rootDeviceName)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Image/), 'RootDeviceName'] });
  });

  test('AttributesVersion names the handler\'s attributes: an upgraded stack sends its image an in-place Update, whose answer carries RootDeviceName', () => {
    build().template().hasResourceProperties(RESOURCE_TYPE, { AttributesVersion: ATTRIBUTES_VERSION });
  });
});
