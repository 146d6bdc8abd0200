import { DescribeImageAttributeCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { ENV_SIGNAL_ID } from '../../../lib/instance-image/shared';
import { ENV_CHECK_RULE, ENV_HANDLE_URL, ENV_OWNER, SIGNAL_TAG } from '../../../lib/shared/names';
import { CustomResource, ProviderFramework } from '../harness/cloudformation';
import { Emulator, MAX_POLLS } from '../harness/suite';

const stateChange = (imageId: string, state: string) => ({
  'version': '0', 'source': 'aws.ec2', 'detail-type': 'EC2 AMI State Change',
  'resources': [`arn:aws:ec2:us-east-1::image/${imageId}`], 'detail': { ImageId: imageId, State: state },
});
const scheduled = { 'version': '0', 'source': 'aws.events', 'detail-type': 'Scheduled Event', 'detail': {} };

/**
 * Waits over an hour (timeoutMinutes > 55): the resource completes once its
 * image exists, and the signal function reports `available` or `failed` to
 * the wait condition, on EC2's event or from the scheduled check.
 */
export function longWaitScenarios(emu: Emulator): void {
  /** The image's properties with the synthesized SignalId and CheckRuleName, and the signal function's environment. */
  function longWait(signalId = String(emu.handlers.templateProperties.SignalId)) {
    const rule = String(emu.handlers.templateProperties.CheckRuleName);
    Object.assign(process.env, { [ENV_HANDLE_URL]: emu.signals.handleUrl, [ENV_SIGNAL_ID]: signalId, [ENV_OWNER]: emu.props.Owner, [ENV_CHECK_RULE]: rule });
    return { props: { ...emu.props, SignalId: signalId, CheckRuleName: rule }, rule };
  }

  test('the synthesized image resource carries a signal id and the check rule\'s name', () => {
    expect(emu.handlers.templateProperties.SignalId).toMatch(/^[0-9a-f]{16}$/);
    expect(emu.handlers.templateProperties.CheckRuleName).toEqual(expect.any(String));
  });

  test('an event delivered: the resource completes while the image is pending, and the event signals SUCCESS with the image id', async () => {
    const { props, rule } = longWait();
    emu.bridge.pendingDescribes = 1;
    const cr = emu.resource();

    const created = await cr.create(props);

    expect(created).toMatchObject({ Status: 'SUCCESS', polls: 1 });
    const imageId = created.PhysicalResourceId;
    expect(emu.signals.rules.get(rule)).toBe('ENABLED');
    expect(emu.signals.received).toEqual([]);
    const tags = (await emu.image(imageId))!.Tags;
    expect(tags).toContainEqual({ Key: SIGNAL_TAG, Value: props.SignalId });

    await emu.handlers.onImageEvent(stateChange('ami-0123456789abcdef0', 'available'));
    expect(emu.signals.received).toEqual([]);
    await emu.handlers.onImageEvent(stateChange(imageId, 'available'));

    expect(emu.signals.received).toEqual([{ Status: 'SUCCESS', UniqueId: imageId, Data: imageId, Reason: expect.stringContaining('is available') }]);
    expect(emu.signals.contentTypes).toEqual(['']);
    expect(emu.bridge.imdsV2Images.has(imageId)).toBe(true);
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a failed image: FAILURE with EC2\'s reason; the rollback\'s Delete leaves nothing', async () => {
    const { props } = longWait();
    emu.bridge.pendingDescribes = 1;
    emu.bridge.failWith = { code: 'Client.InternalError', message: 'Snapshot of volume vol-0abc failed' };
    const cr = emu.resource();
    const created = await cr.create(props);
    expect(created).toMatchObject({ Status: 'SUCCESS' });

    await emu.handlers.onImageEvent(stateChange(created.PhysicalResourceId, 'failed'));

    expect(emu.signals.received).toEqual([expect.objectContaining({ Status: 'FAILURE', Reason: expect.stringContaining('Snapshot of volume vol-0abc failed') })]);
    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('the event lost: the scheduled check logs the snapshots\' progress while pending, signals once available, and turns itself off', async () => {
    const { props, rule } = longWait();
    emu.bridge.pendingDescribes = 3;
    const cr = emu.resource();
    const created = await cr.create(props);

    await emu.handlers.onImageEvent(scheduled);
    expect(emu.signals.received).toEqual([]);
    expect(emu.signals.rules.get(rule)).toBe('ENABLED');
    const progress = emu.logs.map((line) => JSON.parse(line) as { message: string; imageId?: string; snapshots?: Array<{ progress: string }> })
      .filter((line) => line.message === 'image pending');
    expect(progress).toEqual([expect.objectContaining({ imageId: created.PhysicalResourceId, snapshots: [expect.objectContaining({ progress: expect.stringMatching(/%$/) })] })]);

    await emu.handlers.onImageEvent(scheduled);
    await emu.handlers.onImageEvent(scheduled);

    expect(emu.signals.received).toEqual([expect.objectContaining({ Status: 'SUCCESS', UniqueId: created.PhysicalResourceId })]);
    expect(emu.signals.rules.get(rule)).toBe('DISABLED');
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('an image pending for over an hour of simulated time (15 checks, 5 minutes apart) still completes', async () => {
    const { props } = longWait();
    emu.bridge.pendingDescribes = 1 + 14;
    const cr = emu.resource();
    const created = await cr.create(props);
    expect(created).toMatchObject({ Status: 'SUCCESS', polls: 1 });

    for (let check = 1; check <= 15; check++) await emu.handlers.onImageEvent(scheduled);

    expect(emu.signals.received).toEqual([expect.objectContaining({ Status: 'SUCCESS', UniqueId: created.PhysicalResourceId })]);
    expect(emu.logs.filter((line) => line.includes('"message":"image pending"'))).toHaveLength(14);
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a Delete during the wait (the stack deleted, or a rollback while the image is still pending) removes the pending image and leaves nothing', async () => {
    const { props } = longWait();
    emu.bridge.pendingDescribes = 100;
    const cr = emu.resource();
    const created = await cr.create(props);
    expect(created).toMatchObject({ Status: 'SUCCESS', polls: 1 });
    expect((await emu.leftovers()).images).toEqual([created.PhysicalResourceId]);

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });

    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
    // A late check finds nothing of this handle pending, and turns itself off.
    await emu.handlers.onImageEvent(scheduled);
    expect(emu.signals.received).toEqual([]);
  });

  test('a new wait condition for the same image (its timeout changed): the image is tagged for the new handle, and the check signals it', async () => {
    const first = longWait();
    const cr = emu.resource();
    const created = await cr.create(first.props);
    await emu.handlers.onImageEvent(stateChange(created.PhysicalResourceId, 'available'));
    emu.signals.received.length = 0;

    const second = longWait('0123456789abcdef');
    const updated = await cr.update(second.props);

    expect(updated).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
    const { Images } = await emu.direct.send(new DescribeImagesCommand({ ImageIds: [created.PhysicalResourceId] }));
    expect(Images![0].Tags).toContainEqual({ Key: SIGNAL_TAG, Value: '0123456789abcdef' });
    expect(emu.signals.rules.get(second.rule)).toBe('ENABLED');
    await emu.handlers.onImageEvent(scheduled);
    expect(emu.signals.received).toEqual([expect.objectContaining({ Status: 'SUCCESS', UniqueId: created.PhysicalResourceId })]);
    expect(emu.signals.rules.get(second.rule)).toBe('DISABLED');
    await cr.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });
}

/** Copies that take hours: a starter makes them, a wait condition (signalled by the copies check) follows them. */
export function longCopiesScenarios(emu: Emulator): void {
  const RULE = 'AmiFromInstanceStack-DistributionCopies';
  async function started(imageProps = emu.props) {
    const image = emu.resource();
    const { PhysicalResourceId: imageId } = await image.create({ ...imageProps });
    const name = (await emu.image(imageId))!.Name!;
    Object.assign(process.env, {
      [ENV_HANDLE_URL]: emu.signals.handleUrl, [ENV_OWNER]: emu.props.Owner, [ENV_CHECK_RULE]: RULE,
      IMAGE_NAME: name, IMAGE_ID: imageId, COPY_REGIONS: 'eu-west-1',
    });
    const base = { ImageId: imageId, Owner: emu.props.Owner, RemovalPolicy: 'destroy', CopyToRegions: ['eu-west-1'], ShareWithAccounts: ['111122223333'] };
    const starter = new CustomResource(new ProviderFramework(emu.handlers.distribution, MAX_POLLS), 'DistributionCopiesStarted', emu.records, 'Custom::ImageDistribution');
    const start = await starter.create({ ...base, StartOnly: 'true', CheckRuleName: RULE });
    return { image, imageId, base, starter, start };
  }

  test('copies that take hours: the starter completes while the copy is pending and shares nothing; the check signals once it is available; then the distribution shares it', async () => {
    const eu = emu.regionClient('eu-west-1', 'moto');
    const euBefore = await emu.idsIn(eu);
    emu.bridge.pendingCopyDescribes = 2;
    const { image, imageId, base, starter, start } = await started();

    expect(start).toMatchObject({ Status: 'SUCCESS', polls: 1, Data: { CopiedImageIds: expect.stringMatching(/^eu-west-1=ami-/) } });
    expect(emu.signals.rules.get(RULE)).toBe('ENABLED');
    expect(emu.bridge.calls.DescribeImageAttribute ?? 0).toBe(0);
    await emu.handlers.onCopiesCheck({});
    await emu.handlers.onCopiesCheck({});
    expect(emu.signals.received).toEqual([]);
    expect(emu.logs.filter((line) => line.includes('"message":"image pending"') && line.includes('"region":"eu-west-1"'))).toHaveLength(2);
    await emu.handlers.onCopiesCheck({});
    expect(emu.signals.received).toEqual([expect.objectContaining({ Status: 'SUCCESS', UniqueId: imageId })]);
    expect(emu.signals.rules.get(RULE)).toBe('DISABLED');

    const distribution = emu.distribution();
    await expect(distribution.create(base)).resolves.toMatchObject({ Status: 'SUCCESS', polls: 1 });
    expect(emu.bridge.calls.CopyImage).toBe(1);
    const copyId = /^eu-west-1=(ami-[0-9a-f]+)$/.exec(start.Data!.CopiedImageIds)![1];
    const { LaunchPermissions } = await eu.send(new DescribeImageAttributeCommand({ ImageId: copyId, Attribute: 'launchPermission' }));
    expect(LaunchPermissions).toEqual([{ UserId: '111122223333' }]);

    await distribution.delete();
    await starter.delete();
    await image.delete();
    expect(await emu.idsIn(eu)).toEqual(euBefore);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a copy that fails hours later: FAILURE with its region and EC2\'s reason; the rollback (the starter\'s Delete) leaves nothing', async () => {
    const eu = emu.regionClient('eu-west-1', 'moto');
    const euBefore = await emu.idsIn(eu);
    emu.bridge.pendingCopyDescribes = 1;
    emu.bridge.failCopiesWith = { code: 'Client.InternalError', message: 'Copy of snapshot snap-0abc failed' };
    const { image, starter, start } = await started();
    expect(start).toMatchObject({ Status: 'SUCCESS' });

    await emu.handlers.onCopiesCheck({});
    await emu.handlers.onCopiesCheck({});

    expect(emu.signals.received).toEqual([expect.objectContaining({ Status: 'FAILURE', Reason: expect.stringMatching(/in eu-west-1 is failed: Copy of snapshot snap-0abc failed/) })]);
    await expect(starter.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    await image.delete();
    expect(await emu.idsIn(eu)).toEqual(euBefore);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });
}
