import { DescribeImagesCommand, DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { RESOURCE_TYPE } from '../../../lib/instance-image/shared';
import type { ImageResourceProperties } from '../../../lib/instance-image/shared';
import { synthStack } from '../../helpers/synth';
import { resolveIntrinsics } from '../harness/cloudformation';
import { Emulator } from '../harness/suite';

/** `sourceInstanceId`: an instance the stack did not make is imaged as it is, and never stopped or touched. */
export function existingInstanceScenarios(emu: Emulator): void {
  test('sourceInstanceId: the app images that moto instance (rebooted by CreateImage, never stopped); Delete removes the AMI and leaves the instance running', async () => {
    const { Images } = await emu.direct.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'root-device-type', Values: ['ebs'] }] }));
    const { Instances } = await emu.direct.send(new RunInstancesCommand({ ImageId: Images![0].ImageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
    const instanceId = Instances![0].InstanceId!;
    const state = async () => (await emu.direct.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0].Instances![0].State!.Name;

    // The image resource's properties as the app synthesizes them for that instance (no Ref: the id is the user's).
    const { template } = synthStack({}, { sourceInstanceId: instanceId });
    const props = resolveIntrinsics(Object.fromEntries(Object.entries(Object.values(template.findResources(RESOURCE_TYPE))[0].Properties as Record<string, unknown>)
      .filter(([key]) => key !== 'ServiceToken' && key !== 'ServiceTimeout'))) as Record<string, unknown>;
    expect(props.InstanceId).toBe(instanceId);
    const cr = emu.resource();

    const created = await cr.create({ ...(props as unknown as ImageResourceProperties), RebuildToken: emu.props.RebuildToken });

    expect(created).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: expect.stringMatching(/^ami-/) });
    expect(emu.bridge.createImageRequests).toEqual([expect.objectContaining({ InstanceId: instanceId, NoReboot: 'false' })]);
    expect(emu.bridge.calls.StopInstances ?? 0).toBe(0);
    expect(await state()).toBe('running');
    expect((await emu.leftovers()).images).toEqual([created.PhysicalResourceId]);

    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
    expect(await state()).toBe('running');
    await emu.direct.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  });
}
