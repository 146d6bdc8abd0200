import { Image } from '@aws-sdk/client-ec2';
import { checkDeadline } from '../../shared/runtime/deadline';
import { deleteSnapshotsOfImage, deregisterImage, describeImage, findImageByName, requireImdsV2, snapshotIdsOf } from '../../shared/runtime/ec2';
import { appendKeys, log } from '../../shared/runtime/log';
import { ENV_NOT_FOUND_GRACE_SECONDS, MAX_SNAPSHOT_IDS_ATTRIBUTE_LENGTH } from '../shared';
import { adopt, startImage, stopInstance } from './create';
import type { IsCompleteRequest, IsCompleteResponse } from './types';

const DEFAULT_NOT_FOUND_GRACE_SECONDS = 300;

/** States after which the image will never become available. */
const FAILED_STATES = new Set(['failed', 'error', 'invalid']);

/**
 * Called by the Provider framework every `queryInterval`, with the same event
 * each time, until it answers complete, throws, or `totalTimeout` passes. It
 * keeps no state between calls: each call reads what EC2 reports. Waiting for
 * an image costs one DescribeImages per call.
 */
export async function isComplete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  appendKeys({ requestId: event.RequestId, logicalResourceId: event.LogicalResourceId, requestType: event.RequestType });

  // onEvent deregistered images (Delete, previous images beyond KeepPrevious, or an abandoned replacement
  // found by a rollback Update): their snapshots go before the request completes, retried while EC2 still says they are in use.
  if ((event.DeregisteredImageName || event.PrunedImages) && !(await deleteDeregisteredSnapshots(event))) {
    return { IsComplete: false };
  }
  if (event.RequestType === 'Delete') {
    return { IsComplete: true };
  }
  checkDeadline(event.RequestedAt, `Image ${event.PendingImageName ?? event.PhysicalResourceId}`);

  // With StopInstance the image is found by its name, whose answer is the image itself: one DescribeImages a poll either way.
  const image = event.PendingImageName ? await imageOfPendingName(event) : await describeImage(event.PhysicalResourceId);
  if (!image) {
    return event.PendingImageName ? { IsComplete: false } : notFound(event.PhysicalResourceId, event.ImageRequestedAt);
  }
  const imageId = image.ImageId!;

  const state = image.State;
  log.info('image state', { imageId, state });
  if (state === 'available') {
    // Sharing, copies, deprecation and the SSM parameter are the distribution's (lib/image-distribution), after the AMI test.
    await requireImdsV2(image);
    return {
      IsComplete: true,
      Data: attributesOf(image),
      ...(event.PendingImageName ? { PhysicalResourceId: image.ImageId } : {}),
    };
  }
  if (state && FAILED_STATES.has(state)) {
    const reason = image.StateReason?.Message ?? 'EC2 gave no reason';
    await removeFailedImage(image, event.ResourceProperties.Owner);
    throw new Error(`Image ${imageId} (${image.Name}) is ${state}: ${reason}`);
  }
  if (state === 'pending' || state === 'transient') {
    // A wait over an hour: the image exists, and a wait condition follows it from here (runtime/signal.ts).
    if (event.ResourceProperties.SignalId) {
      // The target's block device mapping names the root device: wait for DescribeImages to list it, should a pending image not have it yet.
      if (!image.RootDeviceName) return { IsComplete: false };
      log.info('image started; its wait condition reports it available', { imageId, signalId: event.ResourceProperties.SignalId });
      return { IsComplete: true, Data: attributesOf(image), ...(event.PendingImageName ? { PhysicalResourceId: image.ImageId } : {}) };
    }
    return { IsComplete: false };
  }
  throw new Error(`Image ${imageId} (${image.Name}) is ${state}: it was changed outside CloudFormation`);
}

/** @returns true when no snapshot of the deregistered images is left. */
async function deleteDeregisteredSnapshots(event: IsCompleteRequest): Promise<boolean> {
  const owner = event.DeregisteredImageOwner ?? event.ResourceProperties.Owner;
  const images = [
    ...(event.DeregisteredImageName ? [{ Name: event.DeregisteredImageName, SnapshotIds: event.SnapshotIds ?? [] }] : []),
    ...(event.PrunedImages ?? []),
  ];
  let done = true;
  for (const image of images) {
    done = (await deleteSnapshotsOfImage(image.Name, owner, image.SnapshotIds)) && done;
  }
  return done;
}

/**
 * The image is found by its (content-hash) name, or made here: with
 * `StopInstance` once the source is `stopped`, else when onEvent found the
 * name taken by an image not listed yet (CreateImage again: the name may be
 * free by now, or its image listed). Every poll gets the same event;
 * CreateImage's `InvalidAMIName.Duplicate` covers a lookup that does not list
 * the image yet. @returns the image, or undefined for "not yet" (the instance
 * is still stopping, or CreateImage was just called: the next poll finds the
 * image by its name).
 */
async function imageOfPendingName(event: IsCompleteRequest): Promise<Image | undefined> {
  const name = event.PendingImageName!;
  const props = event.ResourceProperties;
  const existing = await findImageByName(name);
  if (existing) return adopt(existing, props, name);
  if (props.StopInstance !== 'true' || await stopInstance(props.InstanceId)) await startImage(props, name);
  return undefined;
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

/** The resource's attributes, well under CloudFormation's 4 KB: the id, the name, the root device (which the target's mapping names) and the snapshot ids if they fit. */
function attributesOf(image: Image): Record<string, string> {
  const data: Record<string, string> = { ImageId: image.ImageId!, ImageName: image.Name! };
  if (image.RootDeviceName) data.RootDeviceName = image.RootDeviceName;
  const snapshotIds = snapshotIdsOf(image).join(',');
  if (snapshotIds.length <= MAX_SNAPSHOT_IDS_ATTRIBUTE_LENGTH) {
    data.SnapshotIds = snapshotIds;
  }
  return data;
}

/**
 * A failed image is useless and its snapshots are billed. It goes now: after a
 * failed Update CloudFormation would not send a Delete for it. Cleanup trouble
 * is logged, not thrown, so the deploy fails with EC2's reason; a snapshot EC2
 * still calls in use is left to the rollback, whose `isComplete` polls until it
 * is deleted: the Delete of a failed Create finds the image gone and looks for
 * the snapshots tagged with its name, and the Update back from a failed
 * replacement sweeps the snapshots of the image named after the failed properties.
 */
async function removeFailedImage(image: Image, owner: string): Promise<void> {
  try {
    await deregisterImage(image.ImageId!);
    if (!(await deleteSnapshotsOfImage(image.Name!, owner, snapshotIdsOf(image)))) {
      log.warn('snapshots of the failed image are still in use: the rollback (a Delete, or the Update back) deletes them', { imageId: image.ImageId });
    }
  } catch (e) {
    log.error('could not remove the failed image; the rollback Delete will retry', { imageId: image.ImageId, error: String(e) });
  }
}
