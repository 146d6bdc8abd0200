/**
 * The emulator tier: the bundled handlers, driven through CloudFormation's
 * event sequences by a stand-in for the Provider framework, against moto_server
 * behind a bridge that makes it behave like EC2 (test/emulator/harness/bridge.ts).
 * After each scenario, no AMI or snapshot the handlers made may be left.
 * docs/lifecycle.md maps each scenario to the behaviour it proves.
 */
import {
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RegisterImageCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { imageNameFor } from '../../lib/instance-image/runtime/image-name';
import { ImageResourceProperties, IMAGE_NAME_TAG, OWNER_TAG } from '../../lib/instance-image/shared';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, Ec2Bridge } from './harness/bridge';
import { CREATE_FAILED_MARKER, CustomResource, ProviderFramework } from './harness/cloudformation';
import { BundledHandlers, loadBundledHandlers } from './harness/handlers';
import { Moto, motoAvailable, startMoto } from './harness/moto';

const available = motoAvailable();
if (!available) {
  if (process.env.CI === 'true') {
    throw new Error('moto_server is not on the PATH: CI must run the emulator tier. Install it with: pip install "moto[server]"');
  }
  console.warn('SKIPPED: the emulator tier needs moto_server on the PATH: pip install "moto[server]"');
}
const describeEmulator = available ? describe : describe.skip;

jest.setTimeout(60_000);

/** totalTimeout / queryInterval of the synthesized Provider: 45 minutes / 30 seconds. */
const MAX_POLLS = 90;

describeEmulator('image lifecycle against the EC2 emulator', () => {
  let moto: Moto;
  let bridge: Ec2Bridge;
  let handlers: BundledHandlers;
  let direct: EC2Client;
  let viaBridge: EC2Client;
  let baseProps: ImageResourceProperties;
  let props: ImageResourceProperties;
  let scenario = 0;
  let baseline: { images: Set<string>; snapshots: Set<string> };
  let logs: string[];

  /** Ids of this account's images and snapshots in the client's region. */
  async function idsIn(client: EC2Client) {
    return {
      images: ((await client.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).map((i) => i.ImageId!),
      snapshots: ((await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []).map((x) => x.SnapshotId!),
    };
  }

  async function inventory() {
    const images = (await direct.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    const snapshots = (await direct.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [];
    return { images, snapshots };
  }

  /** Images and snapshots that exist now and did not before the scenario. */
  async function leftovers() {
    const now = await inventory();
    return {
      images: now.images.filter((i) => !baseline.images.has(i.ImageId!)).map((i) => i.ImageId!),
      snapshots: now.snapshots.filter((s) => !baseline.snapshots.has(s.SnapshotId!)).map((s) => s.SnapshotId!),
    };
  }

  async function image(imageId: string) {
    return (await direct.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  }

  function resource(maxPolls = MAX_POLLS) {
    return new CustomResource(new ProviderFramework(handlers, maxPolls));
  }

  beforeAll(async () => {
    moto = await startMoto();
    bridge = new Ec2Bridge(moto.endpoint);
    await bridge.start();
    handlers = loadBundledHandlers({
      AWS_ENDPOINT_URL_EC2: bridge.endpoint,
      AWS_REGION: EMULATOR_REGION,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    });
    direct = new EC2Client({ region: EMULATOR_REGION, endpoint: moto.endpoint, credentials: EMULATOR_CREDENTIALS });
    const { Images } = await direct.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'root-device-type', Values: ['ebs'] }] }));
    const { Instances } = await direct.send(new RunInstancesCommand({ ImageId: Images![0].ImageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
    baseProps = { ...(handlers.templateProperties as unknown as ImageResourceProperties), InstanceId: Instances![0].InstanceId! };
    viaBridge = new EC2Client({ region: EMULATOR_REGION, endpoint: bridge.endpoint, credentials: EMULATOR_CREDENTIALS });
  });

  afterAll(async () => {
    handlers?.dispose();
    direct?.destroy();
    viaBridge?.destroy();
    await bridge?.stop();
    await moto?.stop();
  });

  beforeEach(async () => {
    // Each scenario images with its own token, so a scenario that fails cannot leave an image the next one adopts.
    props = { ...baseProps, RebuildToken: `scenario-${++scenario}` };
    bridge.reset();
    process.env.NOT_FOUND_GRACE_SECONDS = '300';
    const now = await inventory();
    baseline = { images: new Set(now.images.map((i) => i.ImageId!)), snapshots: new Set(now.snapshots.map((s) => s.SnapshotId!)) };
    logs = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => { logs.push(String(line)); });
  });

  afterEach(() => jest.restoreAllMocks());

  test('Create waits through pending with one DescribeImages per poll; Delete removes the AMI and its snapshots', async () => {
    bridge.pendingDescribes = 3;
    const cr = resource();

    const created = await cr.create({ ...props });

    expect(created).toMatchObject({ Status: 'SUCCESS', polls: 4 });
    expect(bridge.describeByIdCalls).toBe(4);
    expect(bridge.calls.CreateImage).toBe(1);
    const ami = await image(created.PhysicalResourceId);
    expect(ami).toMatchObject({ State: 'available', Name: imageNameFor(props) });
    expect(bridge.imdsV2Images.has(ami!.ImageId!)).toBe(true);
    expect(created.Data).toEqual({ ImageId: ami!.ImageId, ImageName: ami!.Name, SnapshotIds: ami!.BlockDeviceMappings![0].Ebs!.SnapshotId });
    expect(ami!.Tags).toEqual(expect.arrayContaining([{ Key: OWNER_TAG, Value: props.Owner }]));
    const { Snapshots } = await direct.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [ami!.Name!] }] }));
    expect(Snapshots!.length).toBeGreaterThan(0);
    expect(await leftovers()).toEqual({ images: [ami!.ImageId], snapshots: Snapshots!.map((s) => s.SnapshotId) });

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(bridge.calls.DeleteSnapshot).toBeGreaterThan(0);
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
    expect(logs.join('\n')).not.toContain('presigned');
  });

  test('a retried Create (same request twice) makes one AMI and ends with it', async () => {
    const cr = resource();
    const request = cr.request('Create', { ...props, RebuildToken: `${props.RebuildToken}-retried` });
    const provider = new ProviderFramework(handlers, MAX_POLLS);

    const first = await provider.send(request);
    const retry = await provider.send(request);

    expect(first.Status).toBe('SUCCESS');
    expect(retry).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: first.PhysicalResourceId });
    expect(bridge.calls.CreateImage).toBe(1);
    expect((await leftovers()).images).toEqual([first.PhysicalResourceId]);

    cr.physicalId = first.PhysicalResourceId;
    cr.props = request.ResourceProperties as Record<string, unknown>;
    await cr.delete();
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('InvalidAMIID.NotFound right after CreateImage is "not yet" (eventual consistency)', async () => {
    bridge.notFoundDescribes = 2;
    const cr = resource();

    const created = await cr.create({ ...props });

    expect(created).toMatchObject({ Status: 'SUCCESS', polls: 3 });
    await cr.delete();
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('InvalidAMIID.NotFound beyond the grace period fails; the rollback Delete leaves nothing', async () => {
    process.env.NOT_FOUND_GRACE_SECONDS = '0';
    bridge.notFoundDescribes = 1;
    const cr = resource();

    const created = await cr.create({ ...props });

    expect(created).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/was not found 0 seconds after CreateImage/) });
    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('throttling and 5xx answers are retried by the SDK', async () => {
    bridge.injectFault('CreateImage', 'RequestLimitExceeded', 503, 2);
    bridge.injectFault('DescribeImages', 'InternalError', 500, 2);
    bridge.injectFault('DeregisterImage', 'RequestLimitExceeded', 503, 1);
    const cr = resource();

    const created = await cr.create({ ...props });

    expect(created.Status).toBe('SUCCESS');
    expect(bridge.calls.CreateImage).toBe(3);
    expect((await leftovers()).images).toHaveLength(1);
    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(bridge.calls.DeregisterImage).toBe(2);
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('an image that fails fails the deploy with EC2\'s reason and leaves nothing after the rollback', async () => {
    bridge.failWith = { code: 'Client.InternalError', message: 'Snapshot of volume failed' };
    const cr = resource();

    const created = await cr.create({ ...props });

    expect(created.Status).toBe('FAILED');
    expect(created.Reason).toMatch(/^Image ami-[0-9a-f]+ \(.+\) is failed: Snapshot of volume failed$/);
    expect(created.PhysicalResourceId).toMatch(/^ami-/);
    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('replacement: the new AMI exists before the old is deleted, with another name; then the old one goes', async () => {
    const cr = resource();
    const created = await cr.create({ ...props });

    const updated = await cr.update({ ...props, RebuildToken: `${props.RebuildToken}-v2` });

    expect(updated.Status).toBe('SUCCESS');
    expect(updated.replaced?.physicalId).toBe(created.PhysicalResourceId);
    const [oldImage, newImage] = [await image(created.PhysicalResourceId), await image(updated.PhysicalResourceId)];
    expect(oldImage?.State).toBe('available');
    expect(newImage?.State).toBe('available');
    expect(newImage!.Name).not.toBe(oldImage!.Name);

    await expect(cr.cleanup(updated.replaced!)).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect((await leftovers()).images).toEqual([updated.PhysicalResourceId]);
    expect(await image(created.PhysicalResourceId)).toBeUndefined();

    await cr.delete();
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('an Update of the removal policy alone keeps the AMI', async () => {
    const cr = resource();
    const created = await cr.create({ ...props });

    const updated = await cr.update({ ...props, RemovalPolicy: 'retain' });

    expect(updated).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
    expect(updated.replaced).toBeUndefined();
    expect(bridge.calls.CreateImage).toBe(1);
    await cr.update({ ...props, RemovalPolicy: 'destroy' });
    await cr.delete();
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a replacement still pending at the timeout is removed by the rollback', async () => {
    const cr = resource(5);
    const created = await cr.create({ ...props });
    bridge.pendingDescribes = 100;

    const updated = await cr.update({ ...props, RebuildToken: 'never-ready' });
    expect(updated).toMatchObject({ Status: 'FAILED', Reason: 'Operation timed out', PhysicalResourceId: expect.stringMatching(/^ami-/) });
    expect((await leftovers()).images).toHaveLength(2);

    // UPDATE_ROLLBACK_IN_PROGRESS: back from the failed properties to the current ones, on the current image
    const rollback = await new ProviderFramework(handlers, MAX_POLLS).send(cr.request('Update', { ...props }, {
      PhysicalResourceId: created.PhysicalResourceId,
      OldResourceProperties: { ...props, RebuildToken: 'never-ready' },
    }));

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
    expect((await leftovers()).images).toEqual([created.PhysicalResourceId]);
    await cr.delete();
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('Delete is idempotent: a second Delete of the same AMI succeeds', async () => {
    const cr = resource();
    await cr.create({ ...props });
    await cr.delete();

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test.each([
    ['an AMI id that never existed', 'ami-0123456789abcdef0'],
    ['the framework\'s marker after a failed Create', CREATE_FAILED_MARKER],
    ['an id that is not an AMI id', 'AmiFromInstanceStack-Image-1A2B3C4D'],
  ])('Delete of %s succeeds and touches nothing', async (_, physicalId) => {
    const cr = resource();
    cr.props = { ...props };
    cr.physicalId = physicalId;
    const before = await inventory();

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    const after = await inventory();
    expect(after.images.map((i) => i.ImageId)).toEqual(before.images.map((i) => i.ImageId));
    expect(after.snapshots.map((s) => s.SnapshotId)).toEqual(before.snapshots.map((s) => s.SnapshotId));
    expect(bridge.calls.DeregisterImage ?? 0).toBe(0);
    expect(bridge.calls.DeleteSnapshot ?? 0).toBe(0);
  });

  test('a Delete sent while Create is still running finds the pending image by name and removes it', async () => {
    bridge.pendingDescribes = 100;
    const cr = resource();
    const request = cr.request('Create', { ...props, RebuildToken: `${props.RebuildToken}-interrupted` });
    await handlers.onEvent(request); // CreateImage started; CloudFormation gives up before any answer

    const deleted = await new ProviderFramework(handlers, MAX_POLLS).send(cr.request('Delete', request.ResourceProperties as Record<string, unknown>, {
      PhysicalResourceId: 'AmiFromInstanceStack-Image-ABCDEF',
    }));

    expect(deleted.Status).toBe('SUCCESS');
    expect(await leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a snapshot another image uses is never deleted', async () => {
    const cr = resource();
    const created = await cr.create({ ...props });
    const shared = (await image(created.PhysicalResourceId))!.BlockDeviceMappings![0].Ebs!.SnapshotId!;
    const { ImageId: other } = await viaBridge.send(new RegisterImageCommand({
      Name: 'someone-elses-image',
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: shared } }],
    }));

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    expect(await image(created.PhysicalResourceId)).toBeUndefined();
    expect((await leftovers()).snapshots).toContain(shared);
    expect(await image(other!)).toBeDefined();
    expect(logs.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({ message: 'snapshot not deleted: another image uses it', snapshotId: shared }));
    await viaBridge.send(new DeregisterImageCommand({ ImageId: other }));
  });

  test('retain: Delete leaves the AMI and its snapshots', async () => {
    const cr = resource();
    const created = await cr.create({ ...props, RemovalPolicy: 'retain' });
    const kept = await leftovers();

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    expect(await leftovers()).toEqual(kept);
    expect(kept.images).toEqual([created.PhysicalResourceId]);
    expect(kept.snapshots.length).toBeGreaterThan(0);
    await direct.send(new DeregisterImageCommand({ ImageId: created.PhysicalResourceId }));
  });

  test('an AMI with this resource\'s name but not its owner tag fails the Create and is left alone', async () => {
    const foreignProps = { ...props };
    const { ImageId: foreign } = await direct.send(new CreateImageCommand({ InstanceId: props.InstanceId, Name: imageNameFor(foreignProps) }));
    const cr = resource();

    const created = await cr.create(foreignProps);

    expect(created).toMatchObject({ Status: 'FAILED', PhysicalResourceId: CREATE_FAILED_MARKER });
    expect(created.Reason).toContain(`already exists (${foreign}) and was not made by ${props.Owner}`);
    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect((await image(foreign!))?.State).toBe('available');
    expect(bridge.calls.CreateImage ?? 0).toBe(0);
    await direct.send(new DeregisterImageCommand({ ImageId: foreign }));
  });

  test('sharing, deprecation and a copy: applied after Create, changed in place by Update, all gone after Delete', async () => {
    const euDirect = new EC2Client({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: EMULATOR_CREDENTIALS });
    const euViaBridge = new EC2Client({ region: 'eu-west-1', endpoint: bridge.endpoint, credentials: EMULATOR_CREDENTIALS });
    const euInventory = () => idsIn(euDirect);
    const euBefore = await euInventory();
    const permissions = async (client: EC2Client, imageId: string) =>
      (await client.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }))).LaunchPermissions;
    try {
      const cr = resource();
      const created = await cr.create({ ...props, ShareWithAccounts: ['111122223333'], DeprecateAfterDays: '30', CopyToRegions: ['eu-west-1'] });

      expect(created.Status).toBe('SUCCESS');
      const copyId = /^eu-west-1=(ami-[0-9a-f]+)$/.exec(created.Data!.CopiedImageIds)![1];
      expect(bridge.calls.CopyImage).toBe(1);
      const copy = (await euDirect.send(new DescribeImagesCommand({ ImageIds: [copyId] }))).Images![0];
      expect(copy.Name).toBe(created.Data!.ImageName);
      expect(copy.Tags).toEqual(expect.arrayContaining([{ Key: OWNER_TAG, Value: props.Owner }]));
      for (const [client, id] of [[direct, created.PhysicalResourceId], [euDirect, copyId]] as const) {
        expect(await permissions(client, id)).toEqual([{ UserId: '111122223333' }]);
      }
      expect((await euViaBridge.send(new DescribeImagesCommand({ ImageIds: [copyId] }))).Images![0].DeprecationTime).toBeDefined();
      expect((await viaBridge.send(new DescribeImagesCommand({ ImageIds: [created.PhysicalResourceId] }))).Images![0].DeprecationTime).toBeDefined();

      // The same properties again (a retried isComplete, say) make no second copy.
      const again = await new ProviderFramework(handlers, MAX_POLLS).send(cr.request('Update', cr.props!, {
        PhysicalResourceId: created.PhysicalResourceId, OldResourceProperties: cr.props,
      }));
      expect(again).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
      expect(bridge.calls.CopyImage).toBe(1);

      const updated = await cr.update({ ...props });

      expect(updated).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
      expect(await permissions(direct, created.PhysicalResourceId)).toEqual([]);
      expect((await viaBridge.send(new DescribeImagesCommand({ ImageIds: [created.PhysicalResourceId] }))).Images![0].DeprecationTime).toBeUndefined();
      expect(await euInventory()).toEqual(euBefore);

      await cr.delete();
      expect(await leftovers()).toEqual({ images: [], snapshots: [] });
    } finally {
      euDirect.destroy();
      euViaBridge.destroy();
    }
  });

  test('Delete removes the copies and their snapshots in every copy region', async () => {
    const euDirect = new EC2Client({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: EMULATOR_CREDENTIALS });
    const euInventory = () => idsIn(euDirect);
    const euBefore = await euInventory();
    try {
      const cr = resource();
      const created = await cr.create({ ...props, CopyToRegions: ['eu-west-1'] });
      expect(created.Status).toBe('SUCCESS');
      expect((await euInventory()).images.length).toBe(euBefore.images.length + 1);

      await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

      expect(await euInventory()).toEqual(euBefore);
      expect(await leftovers()).toEqual({ images: [], snapshots: [] });
    } finally {
      euDirect.destroy();
    }
  });
});
