import { EC2Client, Image, ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { COPIED_IMAGE_IDS_ATTRIBUTE, ENV_NOT_FOUND_GRACE_SECONDS, MAX_SNAPSHOT_IDS_ATTRIBUTE_LENGTH } from '../shared';
import { applyDeprecation, applyLaunchPermissions, ensureCopies } from './distribution';
import { deleteSnapshotsOfImage, deregisterImage, describeImage, ec2, ec2In, snapshotIdsOf } from './ec2';
import { appendKeys, log } from './log';
import type { IsCompleteRequest, IsCompleteResponse } from './types';

const DEFAULT_NOT_FOUND_GRACE_SECONDS = 300;

/** States after which the image will never become available. */
const FAILED_STATES = new Set(['failed', 'error', 'invalid']);

/**
 * Called by the Provider framework every `queryInterval` until it answers
 * complete, throws, or `totalTimeout` passes. Each call makes one
 * DescribeImages (Create/Update), so waiting costs no Lambda time.
 */
export async function isComplete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  appendKeys({ requestId: event.RequestId, logicalResourceId: event.LogicalResourceId, requestType: event.RequestType });

  if (event.RequestType === 'Delete') {
    if (!event.DeregisteredImageName) {
      return { IsComplete: true };
    }
    const { DeregisteredImageName: name, ResourceProperties: { Owner: owner } } = event;
    let done = await deleteSnapshotsOfImage(name, owner, event.SnapshotIds);
    for (const region of event.CopyRegions ?? []) {
      done = (await deleteSnapshotsOfImage(name, owner, [], ec2In(region))) && done;
    }
    return { IsComplete: done };
  }

  const imageId = event.PhysicalResourceId;
  const image = await describeImage(imageId);
  if (!image) {
    return notFound(imageId, event.ImageRequestedAt);
  }

  const state = image.State;
  log.info('image state', { imageId, state });
  if (state === 'available') {
    const props = event.ResourceProperties;
    const oldProps = event.RequestType === 'Update' ? event.OldResourceProperties : undefined;
    const copies = await ensureCopies(image, props, oldProps);
    if (!copies.done) {
      return { IsComplete: false };
    }
    for (const target of [{ image, client: ec2 }, ...copies.available]) {
      await requireImdsV2(target.image, target.client);
      await applyLaunchPermissions(target.image, props, oldProps, target.client);
      await applyDeprecation(target.image, props, target.client);
    }
    return { IsComplete: true, Data: attributesOf(image, copies.copies) };
  }
  if (state && FAILED_STATES.has(state)) {
    const reason = image.StateReason?.Message ?? 'EC2 gave no reason';
    await removeFailedImage(image, event.ResourceProperties.Owner);
    throw new Error(`Image ${imageId} (${image.Name}) is ${state}: ${reason}`);
  }
  if (state === 'pending' || state === 'transient') {
    return { IsComplete: false };
  }
  throw new Error(`Image ${imageId} (${image.Name}) is ${state}: it was changed outside CloudFormation`);
}

/**
 * DescribeImages is eventually consistent: right after CreateImage it may not
 * know the new id yet. That is "not yet" for a bounded time, then a failure.
 */
function notFound(imageId: string, requestedAt: string | undefined): IsCompleteResponse {
  const grace = Number(process.env[ENV_NOT_FOUND_GRACE_SECONDS] ?? DEFAULT_NOT_FOUND_GRACE_SECONDS);
  const age = requestedAt ? (Date.now() - Date.parse(requestedAt)) / 1000 : Infinity;
  if (age <= grace) {
    log.info('image not visible yet (EC2 is eventually consistent)', { imageId, secondsSinceCreateImage: Math.round(age) });
    return { IsComplete: false };
  }
  throw new Error(requestedAt
    ? `Image ${imageId} was not found ${grace} seconds after CreateImage`
    : `Image ${imageId} no longer exists: it was deregistered outside CloudFormation`);
}

/** Every instance launched from the image must then use IMDSv2. Once set, EC2 does not let it be undone. */
async function requireImdsV2(image: Image, client: EC2Client): Promise<void> {
  if (image.ImdsSupport === 'v2.0') return;
  await client.send(new ModifyImageAttributeCommand({ ImageId: image.ImageId, ImdsSupport: { Value: 'v2.0' } }));
  log.info('image now requires IMDSv2', { imageId: image.ImageId });
}

function attributesOf(image: Image, copies: Record<string, string>): Record<string, string> {
  const data: Record<string, string> = { ImageId: image.ImageId!, ImageName: image.Name! };
  if (Object.keys(copies).length > 0) {
    data[COPIED_IMAGE_IDS_ATTRIBUTE] = Object.entries(copies).map(([region, id]) => `${region}=${id}`).join(',');
  }
  const snapshotIds = snapshotIdsOf(image).join(',');
  if (snapshotIds.length <= MAX_SNAPSHOT_IDS_ATTRIBUTE_LENGTH) {
    data.SnapshotIds = snapshotIds;
  }
  return data;
}

/**
 * A failed image is useless and its snapshots are billed. It goes now: after a
 * failed Update CloudFormation would not send a Delete for it. Cleanup trouble
 * is logged, not thrown, so the deploy fails with EC2's reason.
 */
async function removeFailedImage(image: Image, owner: string): Promise<void> {
  try {
    await deregisterImage(image.ImageId!);
    await deleteSnapshotsOfImage(image.Name!, owner, snapshotIdsOf(image));
  } catch (e) {
    log.error('could not remove the failed image; the rollback Delete will retry', { imageId: image.ImageId, error: String(e) });
  }
}
