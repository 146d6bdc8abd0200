import {
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { ImageResourceProperties } from '../../../lib/instance-image/shared';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, Ec2Bridge } from './bridge';
import { CustomResource, ProviderFramework, resolveIntrinsics } from './cloudformation';
import { BundledHandlers, loadBundledHandlers, LoadOptions } from './handlers';
import { Moto, motoAvailable, spawnMoto } from './moto';
import { Signals } from './signals';
import { StackRecords } from './stack-records';

/** totalTimeout / queryInterval of the synthesized Provider: 45 minutes / 30 seconds. */
export const MAX_POLLS = 90;

/**
 * The setup's own timeout: starting moto, its first EC2 call (moto loads its EC2 backend) and the
 * synth with bundling take about 10 s on a quiet 2-core host, and were seen to take over 60 s (the
 * scenarios' timeout) on a loaded one, where the whole file then failed in its hook.
 */
const SETUP_TIMEOUT_MS = 180_000;

/** `describe`, or `describe.skip` with a warning when moto_server is missing (an error in CI). */
export function describeEmulator(): jest.Describe {
  if (motoAvailable()) return describe;
  if (process.env.CI === 'true') {
    throw new Error('moto_server is not on the PATH: CI must run the emulator tier. Install it with: pip install "moto[server]"');
  }
  console.warn('SKIPPED: the emulator tier needs moto_server on the PATH: pip install "moto[server]"');
  return describe.skip;
}

/** What every scenario uses; filled in by the hooks {@link useEmulator} registers. */
export interface Emulator {
  moto: Moto;
  bridge: Ec2Bridge;
  /** What CloudFormation records per logical id, answered to DescribeStackResource. */
  records: StackRecords;
  /** The wait condition handle and EventBridge's rule switches (waits over an hour). */
  signals: Signals;
  handlers: BundledHandlers;
  /** Talks to moto directly (the test's own view, no bridge). */
  direct: EC2Client;
  /** Talks to the bridge, as someone acting outside CloudFormation would. */
  viaBridge: EC2Client;
  /** The synthesized properties (less `StopInstance`), on an instance launched in moto. */
  baseProps: ImageResourceProperties;
  /** This scenario's properties: its own RebuildToken. */
  props: ImageResourceProperties;
  /** The handlers' log lines of this scenario. */
  logs: string[];
  /** The image resource (logical id `Image`). */
  resource(maxPolls?: number): CustomResource;
  /** The distribution resource (logical id `Distribution`), on the distribution's handlers. */
  distribution(maxPolls?: number): CustomResource;
  /** Ids of this account's images and snapshots in the client's region. */
  idsIn(client: EC2Client): Promise<{ images: string[]; snapshots: string[] }>;
  /** Images and snapshots in the home region that exist now and did not before the scenario. */
  leftovers(): Promise<{ images: string[]; snapshots: string[] }>;
  image(imageId: string): Promise<import('@aws-sdk/client-ec2').Image | undefined>;
  /** A client of another region, straight to moto or through the bridge; destroyed after the scenario. */
  regionClient(region: string, via: 'moto' | 'bridge'): EC2Client;
}

/**
 * Starts moto and the bridge, loads the bundled handlers (with `options`), and
 * registers the hooks that give each scenario its own properties, a baseline
 * of what exists, and its log lines.
 */
export function useEmulator(options: LoadOptions = {}): Emulator {
  let scenario = 0;
  let baseline: { images: Set<string>; snapshots: Set<string> };
  const extraClients: EC2Client[] = [];
  const emu = {
    resource: (maxPolls = MAX_POLLS) => new CustomResource(new ProviderFramework(emu.handlers, maxPolls), 'Image', emu.records),
    distribution: (maxPolls = MAX_POLLS) =>
      new CustomResource(new ProviderFramework(emu.handlers.distribution, maxPolls), 'Distribution', emu.records, 'Custom::ImageDistribution'),
    idsIn: async (client: EC2Client) => ({
      images: ((await client.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).map((i) => i.ImageId!),
      snapshots: ((await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []).map((x) => x.SnapshotId!),
    }),
    leftovers: async () => {
      const now = await emu.idsIn(emu.direct);
      return { images: now.images.filter((i) => !baseline.images.has(i)), snapshots: now.snapshots.filter((s) => !baseline.snapshots.has(s)) };
    },
    image: async (imageId: string) => (await emu.direct.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0],
    regionClient: (region: string, via: 'moto' | 'bridge') => {
      const client = new EC2Client({ region, endpoint: via === 'moto' ? emu.moto.endpoint : emu.bridge.endpoint, credentials: EMULATOR_CREDENTIALS });
      extraClients.push(client);
      return client;
    },
  } as Emulator;

  beforeAll(async () => {
    // moto starts while the app synthesizes; afterAll stops it whatever fails.
    const { moto, ready } = await spawnMoto();
    emu.moto = moto;
    emu.bridge = new Ec2Bridge(emu.moto.endpoint);
    await emu.bridge.start();
    emu.records = new StackRecords();
    await emu.records.start();
    emu.signals = new Signals();
    await emu.signals.start();
    emu.handlers = loadBundledHandlers({
      AWS_ENDPOINT_URL_EC2: emu.bridge.endpoint,
      AWS_ENDPOINT_URL_CLOUDFORMATION: emu.records.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: emu.signals.endpoint,
      // moto's SSM, straight: the distribution's parameter check (scenarios/parameter.ts).
      AWS_ENDPOINT_URL_SSM: emu.moto.endpoint,
      AWS_REGION: EMULATOR_REGION,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    }, options);
    await ready;
    emu.direct = new EC2Client({ region: EMULATOR_REGION, endpoint: emu.moto.endpoint, credentials: EMULATOR_CREDENTIALS });
    emu.viaBridge = new EC2Client({ region: EMULATOR_REGION, endpoint: emu.bridge.endpoint, credentials: EMULATOR_CREDENTIALS });
    const { Images } = await emu.direct.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'root-device-type', Values: ['ebs'] }] }));
    const { Instances } = await emu.direct.send(new RunInstancesCommand({ ImageId: Images![0].ImageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
    // The scenarios image a running instance directly unless they ask for StopInstance themselves, whatever the app's default.
    // Nor do they wait with a wait condition unless they ask for it (SignalId, CheckRuleName: scenarios/long-wait.ts).
    const synthesized = Object.fromEntries(Object.entries(emu.handlers.templateProperties)
      .filter(([key]) => !['ServiceToken', 'StopInstance', 'SignalId', 'CheckRuleName', 'InstanceId'].includes(key))
      .map(([key, value]) => [key, resolveIntrinsics(value)]));
    emu.baseProps = { ...(synthesized as unknown as ImageResourceProperties), InstanceId: Instances![0].InstanceId! };
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    emu.handlers?.dispose();
    emu.direct?.destroy();
    emu.viaBridge?.destroy();
    await emu.bridge?.stop();
    await emu.records?.stop();
    await emu.signals?.stop();
    await emu.moto?.stop();
  });

  beforeEach(async () => {
    // Each scenario images with its own token, so a scenario that fails cannot leave an image the next one adopts.
    emu.props = { ...emu.baseProps, RebuildToken: `scenario-${++scenario}` };
    emu.bridge.reset();
    emu.records.reset();
    emu.signals.reset();
    process.env.NOT_FOUND_GRACE_SECONDS = '300';
    const now = await emu.idsIn(emu.direct);
    baseline = { images: new Set(now.images), snapshots: new Set(now.snapshots) };
    const logs: string[] = [];
    emu.logs = logs;
    jest.spyOn(console, 'log').mockImplementation((line: string) => { logs.push(String(line)); });
  });

  afterEach(() => {
    jest.restoreAllMocks();
    for (const client of extraClients.splice(0)) client.destroy();
  });

  return emu;
}
