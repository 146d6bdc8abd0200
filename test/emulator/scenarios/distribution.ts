import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { OWNER_TAG } from '../../../lib/shared/names';
import { ProviderFramework } from '../harness/cloudformation';
import { Emulator, MAX_POLLS } from '../harness/suite';

/** Sharing, deprecation and copies to other regions: the `Custom::ImageDistribution` of an image. */
export function distributionScenarios(emu: Emulator): void {
  const permissions = async (client: EC2Client, imageId: string) =>
    (await client.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }))).LaunchPermissions;

  test('sharing, deprecation and a copy: applied by the distribution, changed in place by Update, all gone after Delete', async () => {
    const euDirect = emu.regionClient('eu-west-1', 'moto');
    const euViaBridge = emu.regionClient('eu-west-1', 'bridge');
    const euBefore = await emu.idsIn(euDirect);
    const image = emu.resource();
    const { PhysicalResourceId: imageId } = await image.create({ ...emu.props });
    expect(emu.bridge.calls.CopyImage ?? 0).toBe(0);
    expect(await permissions(emu.direct, imageId)).toEqual([]);

    const cr = emu.distribution();
    const base = { ImageId: imageId, Owner: emu.props.Owner, RemovalPolicy: 'destroy' };
    const created = await cr.create({ ...base, ShareWithAccounts: ['111122223333'], DeprecateAfterDays: '30', CopyToRegions: ['eu-west-1'] });

    expect(created).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: imageId, Data: { ImageId: imageId } });
    const copyId = /^eu-west-1=(ami-[0-9a-f]+)$/.exec(created.Data!.CopiedImageIds)![1];
    expect(emu.bridge.calls.CopyImage).toBe(1);
    const copy = (await euDirect.send(new DescribeImagesCommand({ ImageIds: [copyId] }))).Images![0];
    expect(copy.Name).toBe((await emu.image(imageId))!.Name);
    expect(copy.Tags).toEqual(expect.arrayContaining([{ Key: OWNER_TAG, Value: emu.props.Owner }]));
    for (const [client, id] of [[emu.direct, imageId], [euDirect, copyId]] as const) {
      expect(await permissions(client, id)).toEqual([{ UserId: '111122223333' }]);
    }
    expect((await euViaBridge.send(new DescribeImagesCommand({ ImageIds: [copyId] }))).Images![0].DeprecationTime).toBeDefined();
    expect((await emu.viaBridge.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0].DeprecationTime).toBeDefined();

    // The same properties again (a retried isComplete, say) make no second copy.
    const again = await new ProviderFramework(emu.handlers.distribution, MAX_POLLS).send(cr.request('Update', cr.props!, {
      PhysicalResourceId: created.PhysicalResourceId, OldResourceProperties: cr.props,
    }));
    expect(again).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: imageId });
    expect(emu.bridge.calls.CopyImage).toBe(1);

    const updated = await cr.update({ ...base });

    expect(updated).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: imageId });
    expect(await permissions(emu.direct, imageId)).toEqual([]);
    expect((await emu.viaBridge.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0].DeprecationTime).toBeUndefined();
    expect(await emu.idsIn(euDirect)).toEqual(euBefore);

    await cr.delete();
    await image.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('deleting the distribution removes the copies and their snapshots and un-shares the image it leaves', async () => {
    const euDirect = emu.regionClient('eu-west-1', 'moto');
    const euBefore = await emu.idsIn(euDirect);
    const image = emu.resource();
    const { PhysicalResourceId: imageId } = await image.create({ ...emu.props });
    const cr = emu.distribution();
    await cr.create({ ImageId: imageId, Owner: emu.props.Owner, RemovalPolicy: 'destroy', CopyToRegions: ['eu-west-1'], ShareWithAccounts: ['111122223333'] });
    expect((await emu.idsIn(euDirect)).images.length).toBe(euBefore.images.length + 1);

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    expect(await emu.idsIn(euDirect)).toEqual(euBefore);
    expect(await permissions(emu.direct, imageId)).toEqual([]);
    expect(await emu.image(imageId)).toBeDefined();
    await image.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });
}
