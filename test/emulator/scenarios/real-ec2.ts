import { DescribeImagesCommand, DisableImageCommand } from '@aws-sdk/client-ec2';
import { ProviderFramework } from '../harness/cloudformation';
import { Emulator, MAX_POLLS } from '../harness/suite';

/**
 * What real EC2 does and moto did not (issue #10), each through a bridge:
 * just-deregistered images still listed (BRIDGE 10), snapshots EC2 did not
 * delete (BRIDGE 12), disabled images (BRIDGE 11), client tokens answered
 * forever (BRIDGE 7), lost answers and eventual consistency (BRIDGES 3, 13).
 */
export function realEc2Scenarios(emu: Emulator): void {
  const FAILURE = { code: 'Client.InternalError', message: 'Snapshot of volume failed' };

  test('EC2 does not delete the snapshots (internal-error) and still lists the image as deregistered: the Delete deletes them', async () => {
    emu.bridge.associatedSnapshotsResult = 'internal-error';
    const cr = emu.resource();
    await cr.create({ ...emu.props });

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    const deregistered = emu.logs.map((l) => JSON.parse(l)).find((l) => l.message === 'deregistered image');
    expect(deregistered).toHaveProperty('deleteSnapshotResults');
    expect(emu.bridge.calls.DeleteSnapshot).toBeGreaterThan(0);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a failed image whose snapshot EC2 still calls in use: the rollback Delete retries it until it is deleted', async () => {
    emu.bridge.associatedSnapshotsResult = 'internal-error';
    emu.bridge.failWith = FAILURE;
    emu.bridge.injectFault('DeleteSnapshot', 'InvalidSnapshot.InUse', 400, 2);
    const cr = emu.resource();

    const created = await cr.create({ ...emu.props });
    expect(created).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining(FAILURE.message) });
    const deleted = await cr.delete();

    expect(deleted).toMatchObject({ Status: 'SUCCESS', polls: 2 });
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a replacement that fails with its snapshot still in use: the rollback Update deletes it before it completes', async () => {
    const cr = emu.resource();
    const created = await cr.create({ ...emu.props });
    const kept = await emu.leftovers();
    emu.bridge.associatedSnapshotsResult = 'internal-error';
    emu.bridge.failWith = FAILURE;
    emu.bridge.injectFault('DeleteSnapshot', 'InvalidSnapshot.InUse', 400, 2);
    const failedProps = { ...emu.props, RebuildToken: `${emu.props.RebuildToken}-fails` };

    const updated = await cr.update(failedProps);
    expect(updated).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining(FAILURE.message) });
    emu.bridge.failWith = undefined;
    const rollback = await new ProviderFramework(emu.handlers, MAX_POLLS).send(cr.request('Update', { ...emu.props }, {
      PhysicalResourceId: created.PhysicalResourceId,
      OldResourceProperties: failedProps,
    }));

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId, polls: 2 });
    expect(await emu.leftovers()).toEqual(kept);
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('an image disabled outside CloudFormation is found, deregistered and leaves nothing after Delete', async () => {
    const cr = emu.resource(10);
    const created = await cr.create({ ...emu.props });
    await emu.viaBridge.send(new DisableImageCommand({ ImageId: created.PhysicalResourceId }));
    expect((await emu.viaBridge.send(new DescribeImagesCommand({ ImageIds: [created.PhysicalResourceId] }))).Images).toEqual([]);

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS', polls: 1 });

    expect(emu.bridge.calls.DeregisterImage).toBe(1);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a copy region removed and added back gets a fresh copy (one CopyImage client token per request)', async () => {
    const eu = emu.regionClient('eu-west-1', 'moto');
    const euBefore = await emu.idsIn(eu);
    const image = emu.resource(10);
    const { PhysicalResourceId: imageId } = await image.create({ ...emu.props });
    const cr = emu.distribution(10);
    const base = { ImageId: imageId, Owner: emu.props.Owner, RemovalPolicy: 'destroy' };
    const copyOf = (data?: Record<string, string>) => /^eu-west-1=(ami-[0-9a-f]+)$/.exec(data?.CopiedImageIds ?? '')?.[1];

    const created = await cr.create({ ...base, CopyToRegions: ['eu-west-1'] });
    await expect(cr.update({ ...base })).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(await emu.idsIn(eu)).toEqual(euBefore);
    const readded = await cr.update({ ...base, CopyToRegions: ['eu-west-1'] });

    expect(readded).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
    expect(copyOf(readded.Data)).toBeDefined();
    expect(copyOf(readded.Data)).not.toBe(copyOf(created.Data));
    expect(emu.bridge.calls.CopyImage).toBe(2);
    await cr.delete();
    await image.delete();
    expect(await emu.idsIn(eu)).toEqual(euBefore);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('CreateImage\'s answer lost: the SDK\'s retry gets InvalidAMIName.Duplicate, and the image, listed a little later, is adopted', async () => {
    emu.bridge.loseCreateImageResponses = 1;
    emu.bridge.hiddenFromNameLookups = 2;
    const cr = emu.resource();

    const created = await cr.create({ ...emu.props });

    expect(created).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: expect.stringMatching(/^ami-/) });
    expect(emu.bridge.calls.CreateImage).toBe(2);
    expect((await emu.leftovers()).images).toEqual([created.PhysicalResourceId]);
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });
}
