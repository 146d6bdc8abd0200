import { CreateImageCommand, DeleteSnapshotCommand, DeregisterImageCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { Emulator } from '../harness/suite';

/** keepPrevious: which images (and copies) a replacement, a rollback and a stack delete keep. */
export function retentionScenarios(emu: Emulator): void {
  const imageProps = (version: number) => ({ ...emu.props, KeepPrevious: '1', RebuildToken: `${emu.props.RebuildToken}-v${version}` });
  const distributionProps = (imageId: string) => ({ ImageId: imageId, Owner: emu.props.Owner, RemovalPolicy: 'destroy', KeepPrevious: '1', CopyToRegions: ['eu-west-1'] });
  const names = async (ids: string[]) => (await Promise.all(ids.map(async (id) => (await emu.image(id))?.Name))).sort();

  test('keepPrevious=1: three replacements leave the newest two images with their copies and nothing else; the stack delete leaves nothing; an image without the owner tag is untouched', async () => {
    const eu = emu.regionClient('eu-west-1', 'moto');
    const euBefore = await emu.idsIn(eu);
    const { ImageId: foreign } = await emu.direct.send(new CreateImageCommand({ InstanceId: emu.props.InstanceId, Name: `not-ours-${emu.props.RebuildToken}` }));
    const foreignSnapshots = (await emu.leftovers()).snapshots;
    const image = emu.resource();
    const distribution = emu.distribution();

    const made = [(await image.create(imageProps(0))).PhysicalResourceId];
    await expect(distribution.create(distributionProps(made[0]))).resolves.toMatchObject({ Status: 'SUCCESS' });
    for (const version of [1, 2, 3]) {
      const replaced = await image.update(imageProps(version));
      expect(replaced).toMatchObject({ Status: 'SUCCESS', replaced: expect.anything() });
      made.push(replaced.PhysicalResourceId);
      const promoted = await distribution.update(distributionProps(replaced.PhysicalResourceId));
      expect(promoted).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: replaced.PhysicalResourceId, replaced: expect.anything() });
      // UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: dependents first, as CloudFormation deletes them.
      await expect(distribution.cleanup(promoted.replaced!)).resolves.toMatchObject({ Status: 'SUCCESS' });
      await expect(image.cleanup(replaced.replaced!)).resolves.toMatchObject({ Status: 'SUCCESS' });
    }

    const ours = (await emu.leftovers()).images.filter((id) => id !== foreign);
    expect(ours.sort()).toEqual([made[2], made[3]].sort());
    const euNow = await emu.idsIn(eu);
    const copies = euNow.images.filter((id) => !euBefore.images.includes(id));
    const copyNames = (await Promise.all(copies.map(async (id) => (await eu.send(new DescribeImagesCommand({ ImageIds: [id] }))).Images![0].Name))).sort();
    expect(copyNames).toEqual(await names([made[2], made[3]]));
    // Each kept image and copy has its one snapshot; the removed ones' snapshots are gone.
    expect((await emu.leftovers()).snapshots.length).toBe(foreignSnapshots.length + 2);
    expect(euNow.snapshots.length).toBe(euBefore.snapshots.length + 2);

    await expect(distribution.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    await expect(image.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    expect(await emu.idsIn(eu)).toEqual(euBefore);
    expect(await emu.leftovers()).toEqual({ images: [foreign], snapshots: foreignSnapshots });
    await emu.direct.send(new DeregisterImageCommand({ ImageId: foreign }));
    for (const snapshot of foreignSnapshots) await emu.direct.send(new DeleteSnapshotCommand({ SnapshotId: snapshot }));
  });

  test('a failed test after a replacement: the rollback deletes the new image only; the current and the kept previous image stay', async () => {
    const image = emu.resource();
    const v0 = (await image.create(imageProps(0))).PhysicalResourceId;
    const first = await image.update(imageProps(1));
    await image.cleanup(first.replaced!);
    const v1 = first.PhysicalResourceId;
    expect((await emu.leftovers()).images.sort()).toEqual([v0, v1].sort());

    const second = await image.update(imageProps(2));
    expect(second.replaced).toBeDefined();
    const v2 = second.PhysicalResourceId;
    // The AMI test fails: CloudFormation goes back to v1 and deletes v2 in the rollback's cleanup.
    await expect(image.rollbackReplacement(second.replaced!)).resolves.toMatchObject({ Status: 'SUCCESS' });

    const left = (await emu.leftovers()).images;
    expect(left.sort()).toEqual([v0, v1].sort());
    expect(left).not.toContain(v2);
    expect(emu.records.calls).toContain('Image');
    await image.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });
}
