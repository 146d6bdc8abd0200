/**
 * The instances' volumes. The target keeps its image's block device mapping
 * (every volume, the root's size and type) and only has its root encrypted;
 * rootVolumeGiB sizes the baked source's root; excludeDevices reaches the image.
 */
import * as path from 'node:path';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Recipe, TestedImage, TestedImageProps } from '../../lib';
import { RESOURCE_TYPE } from '../../lib/instance-image/shared';
import { newApp } from '../helpers/synth';

const NGINX = path.join(__dirname, '..', '..', 'recipes', 'nginx');
const INSTANCE = 'i-0123456789abcdef0';
const KEY = 'arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111';

function build(props: TestedImageProps & { keyArn?: string } = {}) {
  const stack = new Stack(newApp(), 'S');
  const volumeKey = props.keyArn ? kms.Key.fromKeyArn(stack, 'Key', props.keyArn) : undefined;
  const existing = props.sourceInstanceId !== undefined;
  const pipeline = new TestedImage(stack, 'Default', { recipe: Recipe.fromDirectory(NGINX, { requireBake: !existing }), volumeKey, ...props });
  const template = Template.fromStack(stack);
  const mappings = (instance: typeof pipeline.target | undefined) =>
    template.toJSON().Resources[stack.resolve((instance!.node.defaultChild as CfnElement).logicalId)].Properties.BlockDeviceMappings;
  return { stack, pipeline, template, target: mappings(pipeline.target), source: existing ? undefined : mappings(pipeline.source) };
}

const imageRoot = { 'Fn::GetAtt': [expect.stringMatching(/^Image[0-9A-F]{8}$/), 'RootDeviceName'] };

describe('the target of an existing instance (say, an Ubuntu server with a 100 GiB /dev/sda1 root)', () => {
  test('names only the image\'s RootDeviceName, encrypted, with no VolumeSize or VolumeType: no 8 GiB /dev/xvda, the snapshot\'s size and type', () => {
    const { target } = build({ sourceInstanceId: INSTANCE });
    expect(target).toEqual([{ DeviceName: imageRoot, Ebs: { Encrypted: true, DeleteOnTermination: true } }]);
  });

  test('with a volume key, the root is encrypted with it', () => {
    const { target } = build({ sourceInstanceId: INSTANCE, keyArn: KEY });
    expect(target).toEqual([{ DeviceName: imageRoot, Ebs: { Encrypted: true, DeleteOnTermination: true, KmsKeyId: KEY } }]);
  });

  test('rootVolumeGiB has no use with it: refused, naming the option and the value', () => {
    expect(() => build({ sourceInstanceId: INSTANCE, rootVolumeGiB: 30 })).toThrow(/^rootVolumeGiB has no use with sourceInstanceId .*got rootVolumeGiB 30$/);
  });

  test('image.excludeDevices reaches the image resource', () => {
    const { template } = build({ sourceInstanceId: INSTANCE, image: { excludeDevices: ['/dev/sdf'] } });
    template.hasResourceProperties(RESOURCE_TYPE, { InstanceId: INSTANCE, ExcludeDevices: ['/dev/sdf'] });
  });
});

describe('a baked source', () => {
  test('by default an 8 GiB encrypted gp3 /dev/xvda root, as before; the target takes the image\'s', () => {
    const { source, target } = build();
    expect(source).toEqual([{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 8, VolumeType: 'gp3', DeleteOnTermination: true } }]);
    expect(target).toEqual([{ DeviceName: imageRoot, Ebs: { Encrypted: true, DeleteOnTermination: true } }]);
  });

  test('rootVolumeGiB sizes the source\'s root, and so the image\'s and the target\'s (which names no size)', () => {
    const { source, target } = build({ rootVolumeGiB: 30 });
    expect(source).toEqual([{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 30, VolumeType: 'gp3', DeleteOnTermination: true } }]);
    expect(target[0].Ebs.VolumeSize).toBeUndefined();
  });

  test.each([[0], [16385], [1.5], [-8]])('rootVolumeGiB %p is refused, naming the option and the value', (value) => {
    expect(() => build({ rootVolumeGiB: value })).toThrow(`rootVolumeGiB must be a whole number of GiB from 1 to 16384 (EBS's gp3 limit), got ${value}`);
  });

  test.each([[1], [16384]])('rootVolumeGiB %p, a bound, is accepted', (value) => {
    expect(build({ rootVolumeGiB: value }).source[0].Ebs.VolumeSize).toBe(value);
  });
});
