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

type RegionalClient = () => { config: { region: () => Promise<string> } };
/** DescribeImages by name, answered per region of the client that asks. */
function copies(perRegion: Record<string, Partial<Image> | undefined>) {
  ec2.on(DescribeImagesCommand).callsFake(async (_input: unknown, getClient: RegionalClient) => {
    const copy = perRegion[await getClient().config.region()];
    return { Images: copy ? [{ Name: NAME, Tags: [{ Key: OWNER_TAG, Value: OWNER }], ...copy }] : [] };
  });
}

let fetchMock: jest.SpyInstance;
let logs: Array<Record<string, unknown>>;
beforeEach(() => {
  ec2.reset();
  events.reset();
  Object.assign(process.env, { HANDLE_URL: 'https://handle.invalid/?Signature=secret', OWNER, CHECK_RULE: 'TestStack-CopiesCheck', IMAGE_NAME: NAME, IMAGE_ID: SOURCE, COPY_REGIONS: 'eu-west-1,ap-south-1' });
  fetchMock = jest.spyOn(global, 'fetch').mockResolvedValue(new Response(null, { status: 200 }));
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-1', Progress: '40%', StartTime: new Date(Date.now() - 400_000) }] });
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => { logs.push(JSON.parse(line)); });
});
afterEach(() => jest.restoreAllMocks());

const signals = () => fetchMock.mock.calls.map(([, init]) => JSON.parse(init.body));

test('a copy still pending: one progress line for it, in its region; no signal; the check stays on', async () => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'available' }, 'ap-south-1': { ImageId: 'ami-0dddddddddddddddd', State: 'pending' } });
  await onCopiesCheck();
  expect(fetchMock).not.toHaveBeenCalled();
  expect(events).not.toHaveReceivedCommand(DisableRuleCommand);
  expect(logs.filter((l) => l.message === 'image pending')).toEqual([expect.objectContaining({ region: 'ap-south-1', imageId: 'ami-0dddddddddddddddd', estimatedSecondsLeft: 600 })]);
});

test('a copy not listed yet counts as pending', async () => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'available' } });
  await onCopiesCheck();
  expect(fetchMock).not.toHaveBeenCalled();
});

test('a copy of that name without the owner tag is not ours: pending, never reported available', async () => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'available' }, 'ap-south-1': { ImageId: 'ami-0f0f0f0f0f0f0f0f0', State: 'available', Tags: [] } });
  await onCopiesCheck();
  expect(fetchMock).not.toHaveBeenCalled();
});

test('every copy available: SUCCESS with the source image id, then the check turns itself off', async () => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'available' }, 'ap-south-1': { ImageId: 'ami-0dddddddddddddddd', State: 'available' } });
  await onCopiesCheck();
  expect(signals()).toEqual([{ Status: 'SUCCESS', UniqueId: SOURCE, Data: SOURCE, Reason: `Every copy of ${SOURCE} (${NAME}) is available` }]);
  expect(events).toHaveReceivedCommandWith(DisableRuleCommand, { Name: 'TestStack-CopiesCheck' });
});

test('a failed copy: FAILURE with its region and EC2\'s reason, then the check turns itself off', async () => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'failed', StateReason: { Message: 'Copy of snapshot failed' } }, 'ap-south-1': { ImageId: 'ami-0dddddddddddddddd', State: 'pending' } });
  await onCopiesCheck();
  expect(signals()).toEqual([expect.objectContaining({ Status: 'FAILURE', Reason: expect.stringContaining('copy ami-0eeeeeeeeeeeeeeee in eu-west-1 is failed: Copy of snapshot failed') })]);
  expect(events).toHaveReceivedCommand(DisableRuleCommand);
});

test('a disabled copy is not pending forever: FAILURE naming it, then the check turns itself off', async () => {
  copies({ 'eu-west-1': { ImageId: 'ami-0eeeeeeeeeeeeeeee', State: 'disabled' }, 'ap-south-1': { ImageId: 'ami-0dddddddddddddddd', State: 'available' } });
  await onCopiesCheck();
  expect(signals()).toEqual([expect.objectContaining({ Status: 'FAILURE', Reason: expect.stringContaining('copy ami-0eeeeeeeeeeeeeeee in eu-west-1 is disabled: enable it (EnableImage) and deploy again') })]);
  expect(events).toHaveReceivedCommand(DisableRuleCommand);
});
