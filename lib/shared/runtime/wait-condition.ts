import { DescribeSnapshotsCommand, EC2Client, Image } from '@aws-sdk/client-ec2';
import { ENV_HANDLE_URL, IMAGE_NAME_TAG } from '../names';
import { ec2 } from './ec2';
import { log } from './log';
import { requiredEnv } from './signal-check';

/** The wait condition's signal: a PUT of JSON to the handle's pre-signed URL, with an empty content type. */
export async function signal(status: 'SUCCESS' | 'FAILURE', reason: string, imageId: string): Promise<void> {
  const body = JSON.stringify({ Status: status, Reason: reason.slice(0, 4000), UniqueId: imageId, Data: imageId });
  const response = await fetch(requiredEnv(ENV_HANDLE_URL), { method: 'PUT', headers: { 'Content-Type': '' }, body });
  if (!response.ok) {
    throw new Error(`the wait condition handle answered HTTP ${response.status} to ${status} for ${imageId}`);
  }
  log.info('wait condition signalled', { status, imageId, reason });
}

/** One line per pending image: each snapshot's progress, and the time left at the slowest one's pace. */
export async function logProgress(image: Image, client: EC2Client = ec2, region?: string): Promise<void> {
  const { Snapshots = [] } = await client.send(new DescribeSnapshotsCommand({
    OwnerIds: ['self'],
    Filters: [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [image.Name!] }],
  }));
  const now = Date.now();
  const snapshots = Snapshots.map((s) => {
    const percent = Number.parseFloat(s.Progress ?? '0') || 0;
    const elapsed = s.StartTime ? (now - new Date(s.StartTime).getTime()) / 1000 : 0;
    const left = percent > 0 && percent < 100 ? Math.round((elapsed * (100 - percent)) / percent) : undefined;
    return { snapshotId: s.SnapshotId, volumeSize: s.VolumeSize, progress: s.Progress ?? '0%', state: s.State, secondsLeft: left };
  });
  const known = snapshots.map((s) => s.secondsLeft).filter((s): s is number => s !== undefined);
  log.info('image pending', {
    ...(region ? { region } : {}),
    imageId: image.ImageId,
    imageName: image.Name,
    snapshots,
    estimatedSecondsLeft: known.length > 0 ? Math.max(...known) : undefined,
  });
}
