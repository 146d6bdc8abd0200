/**
 * The wait condition's signal and the progress line of a pending image, on
 * their own: what is PUT to the handle, what a refusal says, and the estimate
 * of the time left for each snapshot and for the image.
 */
import { DescribeSnapshotsCommand, EC2Client, Snapshot } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { IMAGE_NAME_TAG } from '../../../lib/shared/names';
import { logProgress, signal } from '../../../lib/shared/runtime/wait-condition';

const ec2 = mockClient(EC2Client);
const URL = 'https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/handle?Signature=secret';
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const NOW = Date.parse('2026-12-01T12:00:00Z');

let fetchMock: jest.SpyInstance;
let logs: Array<Record<string, unknown>>;
const saved = process.env.HANDLE_URL;
beforeEach(() => {
  ec2.reset();
  process.env.HANDLE_URL = URL;
  fetchMock = jest.spyOn(global, 'fetch').mockResolvedValue(new Response(null, { status: 200 }));
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => { logs.push(JSON.parse(line)); });
});
afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
  process.env.HANDLE_URL = saved;
});

describe('signal', () => {
  test('a PUT of the status, the reason, and the image id as UniqueId and Data, with an empty content type', async () => {
    await signal('SUCCESS', 'done', AMI);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe(URL);
    expect(init).toEqual({ method: 'PUT', headers: { 'Content-Type': '' }, body: expect.any(String) });
    expect(JSON.parse(init.body)).toEqual({ Status: 'SUCCESS', Reason: 'done', UniqueId: AMI, Data: AMI });
  });

  test('a reason longer than 4000 characters is cut to 4000', async () => {
    await signal('FAILURE', 'x'.repeat(3999) + 'yz' + 'w'.repeat(100), AMI);
    expect(JSON.parse(fetchMock.mock.calls[0][1].body).Reason).toBe('x'.repeat(3999) + 'y');
  });

  test('the handle refusing: an error with the HTTP status, the signal and the image', async () => {
    fetchMock.mockResolvedValue(new Response('AccessDenied', { status: 403 }));
    await expect(signal('FAILURE', 'r', AMI)).rejects.toThrow(`the wait condition handle answered HTTP 403 to FAILURE for ${AMI}`);
  });

  test('without the handle URL: a clear error, nothing sent', async () => {
    delete process.env.HANDLE_URL;
    await expect(signal('SUCCESS', 'r', AMI)).rejects.toThrow('HANDLE_URL is not set');
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe('logProgress', () => {
  const image = { ImageId: AMI, Name: 'TestStack-Image-0123' };
  async function progress(snapshots: Snapshot[] | undefined, region?: string, client?: EC2Client) {
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate', 'setTimeout'] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: snapshots });
    await logProgress(image, client, region);
    const lines = logs.filter((l) => l.message === 'image pending');
    expect(lines).toHaveLength(1);
    return lines[0];
  }
  const started = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000);

  test('asks for this account\'s snapshots tagged with the image\'s name', async () => {
    await progress([]);
    expect(ec2).toHaveReceivedCommandWith(DescribeSnapshotsCommand, { OwnerIds: ['self'], Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [image.Name] }] });
  });

  test('the time left at each snapshot\'s pace, fractions of a percent and of a second included; the image\'s is the slowest one\'s', async () => {
    const line = await progress([
      { SnapshotId: 'snap-1', Progress: '12.5%', StartTime: started(100), VolumeSize: 8, State: 'pending' },
      { SnapshotId: 'snap-2', Progress: '75%', StartTime: started(1000), VolumeSize: 100, State: 'pending' },
      { SnapshotId: 'snap-3', Progress: '30%', StartTime: started(10), VolumeSize: 1, State: 'pending' },
    ]);
    // snap-1: 100 s for 12.5 %: 700 s left; snap-2: 1000 s for 75 %: 333.3 s, rounded; snap-3: 10 s for 30 %: 23.3 s.
    expect(line).toEqual({
      level: 'INFO',
      message: 'image pending',
      imageId: AMI,
      imageName: image.Name,
      estimatedSecondsLeft: 700,
      snapshots: [
        { snapshotId: 'snap-1', volumeSize: 8, progress: '12.5%', state: 'pending', secondsLeft: 700 },
        { snapshotId: 'snap-2', volumeSize: 100, progress: '75%', state: 'pending', secondsLeft: 333 },
        { snapshotId: 'snap-3', volumeSize: 1, progress: '30%', state: 'pending', secondsLeft: 23 },
      ],
    });
  });

  test('rounding to the nearest second, half up', async () => {
    // 1 s for 80 %: 0.25 s left, 0; 3 s for 40 %: 4.5 s left, 5.
    const line = await progress([
      { SnapshotId: 'snap-1', Progress: '80%', StartTime: started(1) },
      { SnapshotId: 'snap-2', Progress: '40%', StartTime: started(3) },
    ]);
    expect((line.snapshots as Array<{ secondsLeft: number }>).map((s) => s.secondsLeft)).toEqual([0, 5]);
  });

  test('no estimate for a snapshot at 0 % (no pace yet), at 100 % (done), or without a readable progress', async () => {
    const line = await progress([
      { SnapshotId: 'snap-0', Progress: '0%', StartTime: started(60) },
      { SnapshotId: 'snap-done', Progress: '100%', StartTime: started(60) },
      { SnapshotId: 'snap-none', StartTime: started(60) },
      { SnapshotId: 'snap-junk', Progress: 'n/a', StartTime: started(60) },
    ]);
    expect(line.snapshots).toEqual([
      { snapshotId: 'snap-0', progress: '0%' },
      { snapshotId: 'snap-done', progress: '100%' },
      { snapshotId: 'snap-none', progress: '0%' },
      { snapshotId: 'snap-junk', progress: 'n/a' },
    ]);
    expect(line).not.toHaveProperty('estimatedSecondsLeft');
  });

  test('a snapshot without a start time counts as just started', async () => {
    const line = await progress([{ SnapshotId: 'snap-1', Progress: '50%' }]);
    expect(line).toMatchObject({ estimatedSecondsLeft: 0, snapshots: [{ snapshotId: 'snap-1', secondsLeft: 0 }] });
  });

  test('no snapshots listed yet: a line with none and no estimate', async () => {
    const line = await progress(undefined);
    expect(line.snapshots).toEqual([]);
    expect(line).not.toHaveProperty('estimatedSecondsLeft');
    expect(line).not.toHaveProperty('region');
  });

  test('a copy: the line names its region, and its region\'s client is asked', async () => {
    const client = new EC2Client({ region: 'ap-south-1' });
    ec2.on(DescribeSnapshotsCommand).callsFake(async (_input, getClient) => ({
      Snapshots: [{ SnapshotId: `snap-in-${await getClient().config.region()}`, Progress: '50%', StartTime: started(10) }],
    }));
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate', 'setTimeout'] });
    await logProgress(image, client, 'ap-south-1');
    expect(logs.find((l) => l.message === 'image pending')).toMatchObject({ region: 'ap-south-1', estimatedSecondsLeft: 10, snapshots: [{ snapshotId: 'snap-in-ap-south-1' }] });
  });
});
