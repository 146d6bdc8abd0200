import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { OWNER_TAG } from '../../../lib/instance-image/shared';
import { EMULATOR_CREDENTIALS } from '../harness/bridge';
import { ProviderFramework } from '../harness/cloudformation';
import { Emulator, MAX_POLLS } from '../harness/suite';

/** Sharing, deprecation and copies to other regions. */
export function distributionScenarios(emu: Emulator): void {
  test('sharing, deprecation and a copy: applied after Create, changed in place by Update, all gone after Delete', async () => {
    const euDirect = new EC2Client({ region: 'eu-west-1', endpoint: emu.moto.endpoint, credentials: EMULATOR_CREDENTIALS });
    const euViaBridge = new EC2Client({ region: 'eu-west-1', endpoint: emu.bridge.endpoint, credentials: EMULATOR_CREDENTIALS });
    const euInventory = () => emu.idsIn(euDirect);
    const euBefore = await euInventory();
    const permissions = async (client: EC2Client, imageId: string) =>
      (await client.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }))).LaunchPermissions;
    try {
      const cr = emu.resource();
      const created = await cr.create({ ...emu.props, ShareWithAccounts: ['111122223333'], DeprecateAfterDays: '30', CopyToRegions: ['eu-west-1'] });

      expect(created.Status).toBe('SUCCESS');
      const copyId = /^eu-west-1=(ami-[0-9a-f]+)$/.exec(created.Data!.CopiedImageIds)![1];
      expect(emu.bridge.calls.CopyImage).toBe(1);
      const copy = (await euDirect.send(new DescribeImagesCommand({ ImageIds: [copyId] }))).Images![0];
      expect(copy.Name).toBe(created.Data!.ImageName);
      expect(copy.Tags).toEqual(expect.arrayContaining([{ Key: OWNER_TAG, Value: emu.props.Owner }]));
      for (const [client, id] of [[emu.direct, created.PhysicalResourceId], [euDirect, copyId]] as const) {
        expect(await permissions(client, id)).toEqual([{ UserId: '111122223333' }]);
      }
      expect((await euViaBridge.send(new DescribeImagesCommand({ ImageIds: [copyId] }))).Images![0].DeprecationTime).toBeDefined();
      expect((await emu.viaBridge.send(new DescribeImagesCommand({ ImageIds: [created.PhysicalResourceId] }))).Images![0].DeprecationTime).toBeDefined();

      // The same properties again (a retried isComplete, say) make no second copy.
      const again = await new ProviderFramework(emu.handlers, MAX_POLLS).send(cr.request('Update', cr.props!, {
        PhysicalResourceId: created.PhysicalResourceId, OldResourceProperties: cr.props,
      }));
      expect(again).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
      expect(emu.bridge.calls.CopyImage).toBe(1);

      const updated = await cr.update({ ...emu.props });

      expect(updated).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
      expect(await permissions(emu.direct, created.PhysicalResourceId)).toEqual([]);
      expect((await emu.viaBridge.send(new DescribeImagesCommand({ ImageIds: [created.PhysicalResourceId] }))).Images![0].DeprecationTime).toBeUndefined();
      expect(await euInventory()).toEqual(euBefore);

      await cr.delete();
      expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
    } finally {
      euDirect.destroy();
      euViaBridge.destroy();
    }
  });

  test('Delete removes the copies and their snapshots in every copy region', async () => {
    const euDirect = new EC2Client({ region: 'eu-west-1', endpoint: emu.moto.endpoint, credentials: EMULATOR_CREDENTIALS });
    const euInventory = () => emu.idsIn(euDirect);
    const euBefore = await euInventory();
    try {
      const cr = emu.resource();
      const created = await cr.create({ ...emu.props, CopyToRegions: ['eu-west-1'] });
      expect(created.Status).toBe('SUCCESS');
      expect((await euInventory()).images.length).toBe(euBefore.images.length + 1);

      await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

      expect(await euInventory()).toEqual(euBefore);
      expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
    } finally {
      euDirect.destroy();
    }
  });
}
