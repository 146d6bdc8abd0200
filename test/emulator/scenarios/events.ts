import {
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-ec2';
import { imageNameFor } from '../../../lib/instance-image/runtime/image-name';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../../../lib/shared/names';
import { ProviderFramework } from '../harness/cloudformation';
import { Emulator, MAX_POLLS } from '../harness/suite';

/** Create, Update and their faults: pending images, retries, eventual consistency, failures, replacements and their rollbacks. */
export function eventScenarios(emu: Emulator): void {
  test('Create waits through pending with one DescribeImages per poll; Delete removes the AMI and its snapshots', async () => {
    emu.bridge.pendingDescribes = 3;
    const cr = emu.resource();

    const created = await cr.create({ ...emu.props });

    expect(created).toMatchObject({ Status: 'SUCCESS', polls: 4 });
    expect(emu.bridge.describeByIdCalls).toBe(4);
    expect(emu.bridge.calls.CreateImage).toBe(1);
    const ami = await emu.image(created.PhysicalResourceId);
    expect(ami).toMatchObject({ State: 'available', Name: imageNameFor(emu.props) });
    expect(emu.bridge.imdsV2Images.has(ami!.ImageId!)).toBe(true);
    expect(created.Data).toEqual({ ImageId: ami!.ImageId, ImageName: ami!.Name, RootDeviceName: ami!.RootDeviceName, SnapshotIds: ami!.BlockDeviceMappings![0].Ebs!.SnapshotId });
    expect(ami!.Tags).toEqual(expect.arrayContaining([{ Key: OWNER_TAG, Value: emu.props.Owner }]));
    const { Snapshots } = await emu.direct.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [ami!.Name!] }] }));
    expect(Snapshots!.length).toBeGreaterThan(0);
    expect(await emu.leftovers()).toEqual({ images: [ami!.ImageId], snapshots: Snapshots!.map((s) => s.SnapshotId) });

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    // EC2 deleted the snapshots (DeleteAssociatedSnapshots) or, with an older SDK, the handler did; either way, it looked.
    expect(emu.bridge.calls.DescribeSnapshots).toBeGreaterThan(0);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
    expect(emu.logs.join('\n')).not.toContain('presigned');
  });

  test('a retried Create (same request twice) makes one AMI and ends with it', async () => {
    const cr = emu.resource();
    const request = cr.request('Create', { ...emu.props, RebuildToken: `${emu.props.RebuildToken}-retried` });
    const provider = new ProviderFramework(emu.handlers, MAX_POLLS);

    const first = await provider.send(request);
    const retry = await provider.send(request);

    expect(first.Status).toBe('SUCCESS');
    expect(retry).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: first.PhysicalResourceId });
    expect(emu.bridge.calls.CreateImage).toBe(1);
    expect((await emu.leftovers()).images).toEqual([first.PhysicalResourceId]);

    cr.physicalId = first.PhysicalResourceId;
    cr.props = request.ResourceProperties as Record<string, unknown>;
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('InvalidAMIID.NotFound right after CreateImage is "not yet" (eventual consistency)', async () => {
    emu.bridge.notFoundDescribes = 2;
    const cr = emu.resource();

    const created = await cr.create({ ...emu.props });

    expect(created).toMatchObject({ Status: 'SUCCESS', polls: 3 });
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('InvalidAMIID.NotFound beyond the grace period fails; the rollback Delete leaves nothing', async () => {
    process.env.NOT_FOUND_GRACE_SECONDS = '0';
    emu.bridge.notFoundDescribes = 1;
    const cr = emu.resource();

    const created = await cr.create({ ...emu.props });

    expect(created).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/was not found 0 seconds after CreateImage/) });
    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('throttling and 5xx answers are retried by the SDK', async () => {
    emu.bridge.injectFault('CreateImage', 'RequestLimitExceeded', 503, 2);
    emu.bridge.injectFault('DescribeImages', 'InternalError', 500, 2);
    emu.bridge.injectFault('DeregisterImage', 'RequestLimitExceeded', 503, 1);
    const cr = emu.resource();

    const created = await cr.create({ ...emu.props });

    expect(created.Status).toBe('SUCCESS');
    expect(emu.bridge.calls.CreateImage).toBe(3);
    expect((await emu.leftovers()).images).toHaveLength(1);
    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(emu.bridge.calls.DeregisterImage).toBe(2);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('an image that fails fails the deploy with EC2\'s reason and leaves nothing after the rollback', async () => {
    emu.bridge.failWith = { code: 'Client.InternalError', message: 'Snapshot of volume failed' };
    const cr = emu.resource();

    const created = await cr.create({ ...emu.props });

    expect(created.Status).toBe('FAILED');
    expect(created.Reason).toMatch(/^Image ami-[0-9a-f]+ \(.+\) is failed: Snapshot of volume failed$/);
    expect(created.PhysicalResourceId).toMatch(/^ami-/);
    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('replacement: the new AMI exists before the old is deleted, with another name; then the old one goes', async () => {
    const cr = emu.resource();
    const created = await cr.create({ ...emu.props });

    const updated = await cr.update({ ...emu.props, RebuildToken: `${emu.props.RebuildToken}-v2` });

    expect(updated.Status).toBe('SUCCESS');
    expect(updated.replaced?.physicalId).toBe(created.PhysicalResourceId);
    const [oldImage, newImage] = [await emu.image(created.PhysicalResourceId), await emu.image(updated.PhysicalResourceId)];
    expect(oldImage?.State).toBe('available');
    expect(newImage?.State).toBe('available');
    expect(newImage!.Name).not.toBe(oldImage!.Name);

    await expect(cr.cleanup(updated.replaced!)).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect((await emu.leftovers()).images).toEqual([updated.PhysicalResourceId]);
    expect(await emu.image(created.PhysicalResourceId)).toBeUndefined();

    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('an Update of the removal policy alone keeps the AMI', async () => {
    const cr = emu.resource();
    const created = await cr.create({ ...emu.props });

    const updated = await cr.update({ ...emu.props, RemovalPolicy: 'retain' });

    expect(updated).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
    expect(updated.replaced).toBeUndefined();
    expect(emu.bridge.calls.CreateImage).toBe(1);
    await cr.update({ ...emu.props, RemovalPolicy: 'destroy' });
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a replacement still pending at the timeout is removed by the rollback', async () => {
    const cr = emu.resource(5);
    const created = await cr.create({ ...emu.props });
    emu.bridge.pendingDescribes = 100;

    const updated = await cr.update({ ...emu.props, RebuildToken: 'never-ready' });
    expect(updated).toMatchObject({ Status: 'FAILED', Reason: 'Operation timed out', PhysicalResourceId: expect.stringMatching(/^ami-/) });
    expect((await emu.leftovers()).images).toHaveLength(2);

    // UPDATE_ROLLBACK_IN_PROGRESS: back from the failed properties to the current ones, on the current image
    const rollback = await new ProviderFramework(emu.handlers, MAX_POLLS).send(cr.request('Update', { ...emu.props }, {
      PhysicalResourceId: created.PhysicalResourceId,
      OldResourceProperties: { ...emu.props, RebuildToken: 'never-ready' },
    }));

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
    expect((await emu.leftovers()).images).toEqual([created.PhysicalResourceId]);
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });
}
