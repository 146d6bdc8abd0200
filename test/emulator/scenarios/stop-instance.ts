import { DescribeImagesCommand, DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { ImageResourceProperties } from '../../../lib/instance-image/shared';
import { Emulator } from '../harness/suite';

/** `StopInstance`: the source is stopped (`stopping` for a while, BRIDGE 14) and imaged once `stopped`. */
export function stopInstanceScenarios(emu: Emulator): void {
  /** A running instance of its own: a stopped one would be imaged at once. */
  async function runningSource(): Promise<ImageResourceProperties> {
    const { Images } = await emu.direct.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'root-device-type', Values: ['ebs'] }] }));
    const { Instances } = await emu.direct.send(new RunInstancesCommand({ ImageId: Images![0].ImageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
    return { ...emu.props, InstanceId: Instances![0].InstanceId!, StopInstance: 'true' };
  }

  async function stateOf(instanceId: string) {
    const { Reservations } = await emu.direct.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return Reservations![0].Instances![0].State!.Name;
  }

  test('StopInstance: the source is stopped, imaged once stopped, and stays stopped; the image id becomes the physical id', async () => {
    emu.bridge.instances.stoppingDescribes = 3;
    emu.bridge.pendingDescribes = 2;
    const props = await runningSource();
    const cr = emu.resource();

    const created = await cr.create({ ...props });

    expect(created).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: expect.stringMatching(/^ami-/) });
    expect(created.Data!.ImageId).toBe(created.PhysicalResourceId);
    // The instance stopping, CreateImage, then the image pending for two polls as the name lookup reports it
    // (BRIDGE 3 reports the state however the image is looked up), then available: without the pending
    // image the same Create takes 5 polls.
    expect(created.polls).toBe(7);
    expect(emu.bridge.calls.StopInstances).toBe(1);
    expect(emu.bridge.calls.CreateImage).toBe(1);
    expect(await stateOf(props.InstanceId)).toBe('stopped');
    expect((await emu.leftovers()).images).toEqual([created.PhysicalResourceId]);
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('StopInstance: a Create that times out while the source is stopping, then its Delete, leave nothing', async () => {
    emu.bridge.instances.stoppingDescribes = 100;
    const props = await runningSource();
    const cr = emu.resource(3);

    const created = await cr.create({ ...props });
    expect(created).toMatchObject({ Status: 'FAILED', Reason: 'Operation timed out', PhysicalResourceId: expect.stringMatching(/^request-/) });

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(emu.bridge.calls.CreateImage ?? 0).toBe(0);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });
}
