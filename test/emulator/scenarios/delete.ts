import {
  CreateImageCommand,
  DeregisterImageCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { CREATE_FAILED_MARKER, ProviderFramework } from '../harness/cloudformation';
import { Emulator, MAX_POLLS } from '../harness/suite';

/** Delete in every form: idempotent, of ids that are not images, during a Create, with shared snapshots, retained, and foreign images. */
export function deleteScenarios(emu: Emulator): void {
  test('Delete is idempotent: a second Delete of the same AMI succeeds', async () => {
    const cr = emu.resource();
    await cr.create({ ...emu.props });
    await cr.delete();

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test.each([
    ['an AMI id that never existed', 'ami-0123456789abcdef0'],
    ['the framework\'s marker after a failed Create', CREATE_FAILED_MARKER],
    ['an id that is not an AMI id', 'AmiFromInstanceStack-Image-1A2B3C4D'],
  ])('Delete of %s succeeds and touches nothing', async (_, physicalId) => {
    const cr = emu.resource();
    cr.props = { ...emu.props };
    cr.physicalId = physicalId;
    const before = await emu.idsIn(emu.direct);

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    const after = await emu.idsIn(emu.direct);
    expect(after).toEqual(before);
    expect(emu.bridge.calls.DeregisterImage ?? 0).toBe(0);
    expect(emu.bridge.calls.DeleteSnapshot ?? 0).toBe(0);
  });

  test('a Delete sent while Create is still running finds the pending image by name and removes it', async () => {
    emu.bridge.pendingDescribes = 100;
    const cr = emu.resource();
    const request = cr.request('Create', { ...emu.props, RebuildToken: `${emu.props.RebuildToken}-interrupted` });
    await emu.handlers.onEvent(request); // CreateImage started; CloudFormation gives up before any answer

    const deleted = await new ProviderFramework(emu.handlers, MAX_POLLS).send(cr.request('Delete', request.ResourceProperties as Record<string, unknown>, {
      PhysicalResourceId: 'AmiFromInstanceStack-Image-ABCDEF',
    }));

    expect(deleted.Status).toBe('SUCCESS');
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a snapshot another image uses is never deleted', async () => {
    const cr = emu.resource();
    const created = await cr.create({ ...emu.props });
    const shared = (await emu.image(created.PhysicalResourceId))!.BlockDeviceMappings![0].Ebs!.SnapshotId!;
    const { ImageId: other } = await emu.viaBridge.send(new RegisterImageCommand({
      Name: 'someone-elses-image',
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: shared } }],
    }));

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    expect(await emu.image(created.PhysicalResourceId)).toBeUndefined();
    expect((await emu.leftovers()).snapshots).toContain(shared);
    expect(await emu.image(other!)).toBeDefined();
    expect(emu.logs.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({ message: 'snapshot not deleted: another image uses it', snapshotId: shared }));
    await emu.viaBridge.send(new DeregisterImageCommand({ ImageId: other }));
  });

  test('retain: Delete leaves the AMI and its snapshots', async () => {
    const cr = emu.resource();
    const created = await cr.create({ ...emu.props, RemovalPolicy: 'retain' });
    const kept = await emu.leftovers();

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    expect(await emu.leftovers()).toEqual(kept);
    expect(kept.images).toEqual([created.PhysicalResourceId]);
    expect(kept.snapshots.length).toBeGreaterThan(0);
    await emu.direct.send(new DeregisterImageCommand({ ImageId: created.PhysicalResourceId }));
  });

  test('an AMI with this resource\'s name but not its owner tag fails the Create and is left alone', async () => {
    const foreignProps = { ...emu.props };
    const { ImageId: foreign } = await emu.direct.send(new CreateImageCommand({ InstanceId: emu.props.InstanceId, Name: imageNameFor(foreignProps) }));
    const cr = emu.resource();

    const created = await cr.create(foreignProps);

    expect(created).toMatchObject({ Status: 'FAILED', PhysicalResourceId: CREATE_FAILED_MARKER });
    expect(created.Reason).toContain(`already exists (${foreign}) and was not made by ${emu.props.Owner}`);
    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect((await emu.image(foreign!))?.State).toBe('available');
    expect(emu.bridge.calls.CreateImage ?? 0).toBe(0);
    await emu.direct.send(new DeregisterImageCommand({ ImageId: foreign }));
  });
}
