/**
 * More of the copies' scheduled check than copies-check.test.ts covers
 * (StrykerJS found the mutants it let live): every failed state, failures
 * gathered over regions, a reason EC2 did not give, what each region is asked,
 * and the environment the check needs.
 */
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client, Image } from '@aws-sdk/client-ec2';
import { DisableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { onCopiesCheck } from '../../../lib/image-distribution/runtime/copies-check';
import { OWNER_TAG } from '../../../lib/shared/names';

const ec2 = mockClient(EC2Client);
const events = mockClient(EventBridgeClient);
const OWNER = 'TestStack/Image';
const NAME = 'TestStack-Image-0123';
const SOURCE = 'ami-0aaaaaaaaaaaaaaaa';
const ENV = { HANDLE_URL: 'https://handle.invalid/?Signature=secret', OWNER, CHECK_RULE: 'TestStack-CopiesCheck', IMAGE_NAME: NAME, IMAGE_ID: SOURCE, COPY_REGIONS: 'eu-west-1,ap-south-1' };

type RegionalClient = () => { config: { region: () => Promise<string> } };
/** DescribeImages by name, answered per region of the client that asks; the regions asked, in order. */
function copies(perRegion: Record<string, Partial<Image> | undefined>): string[] {
  const asked: string[] = [];
  ec2.on(DescribeImagesCommand).callsFake(async (_input: unknown, getClient: RegionalClient) => {
    const region = await getClient().config.region();
    asked.push(region);
    const copy = perRegion[region];
    return { Images: copy ? [{ Name: NAME, Tags: [{ Key: OWNER_TAG, Value: OWNER }], ...copy }] : [] };
  });
  return asked;
}

let fetchMock: jest.SpyInstance;
let logs: Array<Record<string, unknown>>;
const saved = { ...process.env };
beforeEach(() => {
  ec2.reset();
  events.reset();
  Object.assign(process.env, ENV);
  fetchMock = jest.spyOn(global, 'fetch').mockResolvedValue(new Response(null, { status: 200 }));
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => { logs.push(JSON.parse(line)); });
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...saved };
});

const signals = () => fetchMock.mock.calls.map(([, init]) => JSON.parse(init.body));

test('each region is asked, with its own client, for this account\'s image of the name', async () => {
  const asked = copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'available' }, 'ap-south-1': { ImageId: 'ami-0dddddddddddddddd', State: 'available' } });
  await onCopiesCheck();
  expect(asked).toEqual(['eu-west-1', 'ap-south-1']);
  expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'name', Values: [NAME] }] });
});

test.each(['error', 'invalid'])('a copy %s: FAILURE with EC2\'s reason, then the check turns itself off', async (state) => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'available' }, 'ap-south-1': { ImageId: 'ami-0dddddddddddddddd', State: state as Image['State'], StateReason: { Message: 'boom' } } });
  await onCopiesCheck();
  expect(signals()).toEqual([{ Status: 'FAILURE', UniqueId: SOURCE, Data: SOURCE, Reason: `Copies of ${SOURCE} (${NAME}): copy ami-0dddddddddddddddd in ap-south-1 is ${state}: boom` }]);
  expect(events).toHaveReceivedCommandWith(DisableRuleCommand, { Name: 'TestStack-CopiesCheck' });
});

test('failures in several regions: one FAILURE naming each, EC2\'s reason or that it gave none', async () => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'failed' }, 'ap-south-1': { ImageId: 'ami-0dddddddddddddddd', State: 'failed', StateReason: { Message: 'boom' } } });
  await onCopiesCheck();
  expect(signals()).toEqual([expect.objectContaining({
    Status: 'FAILURE',
    Reason: `Copies of ${SOURCE} (${NAME}): copy ami-0eeeeeeeeeeeeeeee in eu-west-1 is failed: EC2 gave no reason; copy ami-0dddddddddddddddd in ap-south-1 is failed: boom`,
  })]);
});

test.each(['pending', 'transient'])('a copy %s counts as pending: its progress line, no signal, the check stays on', async (state) => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'available' }, 'ap-south-1': { ImageId: 'ami-0dddddddddddddddd', State: state as Image['State'] } });
  await onCopiesCheck();
  expect(fetchMock).not.toHaveBeenCalled();
  expect(events).not.toHaveReceivedCommand(DisableRuleCommand);
  expect(logs.filter((l) => l.message === 'image pending')).toEqual([expect.objectContaining({ region: 'ap-south-1', imageId: 'ami-0dddddddddddddddd' })]);
});

test('no copy listed anywhere yet: pending, no signal, the check stays on', async () => {
  copies({});
  await onCopiesCheck();
  expect(fetchMock).not.toHaveBeenCalled();
  expect(events).not.toHaveReceivedCommand(DisableRuleCommand);
  expect(ec2).not.toHaveReceivedCommand(DescribeSnapshotsCommand);
});

test('a failure while another copy is pending: FAILURE all the same', async () => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'error' } });
  await onCopiesCheck();
  expect(signals()).toEqual([expect.objectContaining({ Status: 'FAILURE' })]);
  expect(events).toHaveReceivedCommand(DisableRuleCommand);
});

test.each(['IMAGE_NAME', 'IMAGE_ID', 'OWNER', 'COPY_REGIONS'])('%s missing: a clear error, nothing asked', async (name) => {
  delete process.env[name];
  copies({});
  await expect(onCopiesCheck()).rejects.toThrow(`${name} is not set`);
  expect(ec2).not.toHaveReceivedCommand(DescribeImagesCommand);
});

test('CHECK_RULE missing when the check would turn itself off: a clear error', async () => {
  delete process.env.CHECK_RULE;
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'available' }, 'ap-south-1': { ImageId: 'ami-0dddddddddddddddd', State: 'available' } });
  await expect(onCopiesCheck()).rejects.toThrow('CHECK_RULE is not set');
});
