import { Image } from '@aws-sdk/client-ec2';
import { isLegacyOwner } from '../../shared/names';
import { requestedNow } from '../../shared/runtime/deadline';
import {
  deregisterImage,
  describeImage,
  findImageByName,
  isAmiId,
  isOwnedBy,
  ownedImages,
  snapshotIdsOf,
} from '../../shared/runtime/ec2';
import { appendKeys, log } from '../../shared/runtime/log';
import { keepCount, legacyRetention, readCleanup, retentionOfDelete } from '../../shared/runtime/retention';
import { ImageResourceProperties } from '../shared';
import { adopt, followHandle, startImage, stopInstance } from './create';
import { imageNameFor, needsNewImage } from './image-name';
import type { OnEventRequest, OnEventResponse } from './types';

/**
 * Starts the work for a CloudFormation event; `isComplete` finishes it.
 *
 * - Create: CreateImage (or adopt the image an earlier attempt of the same Create
 *   made); with `StopInstance`, StopInstances instead, and `isComplete` images the stopped instance.
 * - Update: a new image when a content-defining property changed, else keep the image.
 * - Delete: deregister the image, unless it is one of the `KeepPrevious` kept
 *   after a replacement, and the images of this resource no longer kept;
 *   `isComplete` deletes their snapshots.
 */
export async function onEvent(event: OnEventRequest): Promise<OnEventResponse> {
  appendKeys({ requestId: event.RequestId, logicalResourceId: event.LogicalResourceId, requestType: event.RequestType });
  // Never the ResponseURL: it is a pre-signed URL that lets anyone answer for this resource.
  log.info('event received', {
    physicalResourceId: 'PhysicalResourceId' in event ? event.PhysicalResourceId : undefined,
    resourceProperties: event.ResourceProperties,
  });

  switch (event.RequestType) {
    case 'Create':
      return { ...(await createImage(event.ResourceProperties)).response, RequestedAt: requestedNow() };
    case 'Update':
      return { ...(await updateImage(event.ResourceProperties, event.OldResourceProperties, event.PhysicalResourceId)), RequestedAt: requestedNow() };
    case 'Delete':
      return deleteImage(event);
  }
}

function started(image: { ImageId: string; Name: string }): OnEventResponse {
  return {
    PhysicalResourceId: image.ImageId,
    Data: { ImageId: image.ImageId, ImageName: image.Name },
    ImageRequestedAt: new Date().toISOString(),
  };
}

/**
 * The name is a hash of the image's content, so a retried invocation of the
 * same Create finds the image the first one made and carries on with it.
 * With `StopInstance`, the instance is only told to stop here: `isComplete`
 * makes the image once it is `stopped`, and the physical id becomes the image's then.
 */
async function createImage(
  props: ImageResourceProperties,
  currentId?: string,
): Promise<{ response: OnEventResponse; created?: string }> {
  const name = imageNameFor(props);
  const existing = await findImageByName(name);
  if (existing) {
    await adopt(existing, props, name);
    // keepInstancesRunning false: no running source is left after a deploy, also when its image exists already
    // (a revert, a new source whose content an image has): README, "keepInstancesRunning".
    if (props.StopInstance === 'true') await stopInstance(props.InstanceId, false);
    return { response: started({ ImageId: existing.ImageId!, Name: name }) };
  }
  const pending = { response: { ...(currentId ? { PhysicalResourceId: currentId } : {}), PendingImageName: name } };
  if (props.StopInstance === 'true') {
    await stopInstance(props.InstanceId);
    return pending;
  }
  const image = await startImage(props, name);
  if (!image) {
    // The name is taken, by an image DescribeImages does not list yet (an earlier attempt's): failing now would
    // leave that image to no one (a Create that fails without an id gets no Delete). isComplete looks for it.
    log.warn('the image name is taken but no image of that name is listed yet: looking for it on each poll', { imageName: name });
    return pending;
  }
  return { response: started({ ImageId: image.imageId, Name: name }), created: image.created ? image.imageId : undefined };
}

async function updateImage(
  props: ImageResourceProperties,
  oldProps: ImageResourceProperties,
  physicalResourceId: string,
): Promise<OnEventResponse> {
  if (!needsNewImage(oldProps, props)) {
    log.info('no content-defining property changed: keeping the image', { imageId: physicalResourceId });
    if (props.StopInstance === 'true' && oldProps.StopInstance !== 'true') {
      // keepInstancesRunning true to false: the source the stack made stays stopped from now on, as after a new image.
      await stopInstance(props.InstanceId);
    }
    if (props.SignalId && props.SignalId !== oldProps.SignalId && isAmiId(physicalResourceId)) {
      // A new wait condition for the same image (its timeout changed, or waits over an hour were turned on).
      await followHandle(physicalResourceId, oldProps.SignalId, props);
    }
    return { PhysicalResourceId: physicalResourceId };
  }
  const { response, created } = await createImage(props, physicalResourceId);
  try {
    return { ...response, ...(await removeAbandonedReplacement(oldProps, physicalResourceId, response.PhysicalResourceId)) };
  } catch (e) {
    // CloudFormation never learns the new image's id from a failed answer: remove it before failing.
    // Its snapshots cannot be waited for here; the rollback Update sweeps those named after these properties.
    if (created) {
      log.warn('removing the image this invocation made, before failing', { imageId: created });
      await deregisterImage(created).catch((cleanupError: unknown) => log.error('could not remove it', { imageId: created, error: String(cleanupError) }));
    }
    throw e;
  }
}

/**
 * When an Update that replaced the image fails, CloudFormation rolls back with
 * an Update from the failed properties to the current ones, and may never have
 * recorded the failed image's id (a FAILED answer, or a framework timeout while
 * it was still `pending`), so it would never send a Delete for it. That image is
 * the one named after the "old" (failed) properties: it is deregistered here,
 * and `isComplete` deletes its snapshots before the
 * Update completes. It may be gone already (a failed image is deregistered when
 * it fails) while its snapshots are not: they are looked for all the same.
 * A normal replacing Update is told apart by the current image bearing the old name.
 */
async function removeAbandonedReplacement(
  oldProps: ImageResourceProperties,
  currentId: string,
  keptId: string | undefined,
): Promise<Partial<OnEventResponse>> {
  let oldName: string;
  try {
    oldName = imageNameFor(oldProps);
  } catch {
    return {}; // the failed properties could not name an image, so none was made
  }
  const current = isAmiId(currentId) ? await describeImage(currentId) : undefined;
  if (current?.Name === oldName) {
    return {};
  }
  const abandoned = await findImageByName(oldName);
  if (abandoned && (abandoned.ImageId === currentId || abandoned.ImageId === keptId || !isOwnedBy(abandoned, oldProps.Owner))) {
    return {};
  }
  if (abandoned) {
    log.warn('removing the image of a failed replacement', { imageId: abandoned.ImageId, imageName: oldName });
    await deregisterImage(abandoned.ImageId!);
  }
  return {
    DeregisteredImageName: oldName,
    DeregisteredImageOwner: oldProps.Owner,
    SnapshotIds: abandoned ? snapshotIdsOf(abandoned) : [],
  };
}

async function deleteImage(event: Extract<OnEventRequest, { RequestType: 'Delete' }>): Promise<OnEventResponse> {
  const props = event.ResourceProperties;
  const physicalResourceId = event.PhysicalResourceId;
  const keep: OnEventResponse = { PhysicalResourceId: physicalResourceId };
  // retain keeps what a stack delete or an update would remove, not the image a failed update made: a rollback's
  // cleanup goes on to retention(), which removes it only if it is newer than the image gone back to.
  if (props.RemovalPolicy === 'retain' && !(await readCleanup(event, physicalResourceId)).rollback) {
    log.info('removal policy is retain: leaving the image and its snapshots', { imageId: physicalResourceId });
    return keep;
  }

  let name: string;
  try {
    name = imageNameFor(props);
  } catch {
    log.info('properties name no valid image, so no image was made: nothing to delete');
    return keep;
  }

  // After a failed Create, or a Delete sent while Create is still running,
  // the physical id is not an AMI id: the image, if any, is found by its name.
  const image = isAmiId(physicalResourceId)
    ? await describeImage(physicalResourceId)
    : await findImageByName(name);

  if (image && !isOwnedBy(image, props.Owner)) {
    log.warn('image not deleted: it does not carry this resource\'s owner tag', { imageId: image.ImageId, owner: props.Owner });
    return keep;
  }

  if (isLegacyOwner(props.Owner)) {
    return deleteLegacyImage(event, image, name);
  }

  // Which images stay: only the owner tag's images are ever looked at.
  const owned = await ownedImages(props.Owner);
  const { resourceDeleted, kept } = await retentionOfDelete(event, owned, image?.ImageId ?? physicalResourceId, keepCount(props.KeepPrevious));
  const pruned = owned.filter((other) => other.ImageId !== image?.ImageId && !kept.has(other.ImageId!));
  for (const other of pruned) {
    log.info(resourceDeleted ? 'removing an image of this resource: the resource is deleted' : 'removing a previous image beyond keepPrevious',
      { imageId: other.ImageId, imageName: other.Name });
    await deregisterImage(other.ImageId!);
  }
  const prunedImages = pruned.map((other) => ({ Name: other.Name!, SnapshotIds: snapshotIdsOf(other) }));

  if (image && kept.has(image.ImageId!)) {
    log.info('image kept: one of the previous images keepPrevious keeps', { imageId: image.ImageId, keepPrevious: props.KeepPrevious });
    return { ...keep, ...(prunedImages.length > 0 ? { DeregisteredImageOwner: props.Owner, PrunedImages: prunedImages } : {}) };
  }
  if (image) {
    await deregisterImage(image.ImageId!);
  } else {
    log.info('no image to deregister; looking for leftover snapshots', { physicalResourceId, imageName: name });
  }
  return {
    ...keep,
    DeregisteredImageName: image?.Name ?? name,
    DeregisteredImageOwner: props.Owner,
    SnapshotIds: image ? snapshotIdsOf(image) : [],
    ...(prunedImages.length > 0 ? { PrunedImages: prunedImages } : {}),
  };
}

/**
 * The Delete of a resource whose properties carry an owner id of before it
 * named the deployment (an upgrade's cleanup, or the stack's deletion before
 * any deploy of this version): another deployment of the same app in this
 * region carries the same value, so only the image CloudFormation records for
 * this resource is looked at, never every image carrying the value. It stays
 * when `keepPrevious` keeps the previous image of a replacement; it is then
 * no longer counted by later deploys, which look for the new owner id only
 * (README, "Upgrading").
 */
async function deleteLegacyImage(
  event: Extract<OnEventRequest, { RequestType: 'Delete' }>,
  image: Image | undefined,
  name: string,
): Promise<OnEventResponse> {
  const props = event.ResourceProperties;
  const keep: OnEventResponse = { PhysicalResourceId: event.PhysicalResourceId };
  const { keepsImage } = await legacyRetention(event, image?.ImageId ?? event.PhysicalResourceId, keepCount(props.KeepPrevious));
  if (image && keepsImage) {
    log.warn('image of the owner id of before kept as the previous image; later deploys do not count it in keepPrevious: deregister it when no longer needed',
      { imageId: image.ImageId, owner: props.Owner });
    return keep;
  }
  if (image) {
    await deregisterImage(image.ImageId!);
  }
  return { ...keep, DeregisteredImageName: image?.Name ?? name, DeregisteredImageOwner: props.Owner, SnapshotIds: image ? snapshotIdsOf(image) : [] };
}
