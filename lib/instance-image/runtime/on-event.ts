import { CreateImageCommand, Image } from '@aws-sdk/client-ec2';
import { ImageResourceProperties } from '../shared';
import { checkCopyRegions, copyRegionsOf, removeCopies } from './distribution';
import {
  deleteSnapshotsOfImage,
  deregisterImage,
  describeImage,
  ec2,
  ec2In,
  errorCode,
  findImageByName,
  isAmiId,
  isOwnedBy,
  snapshotIdsOf,
} from './ec2';
import { imageNameFor, needsNewImage, tagsFor } from './image-name';
import { appendKeys, log } from './log';
import type { OnEventRequest, OnEventResponse } from './types';

/**
 * Starts the work for a CloudFormation event; `isComplete` finishes it.
 *
 * - Create: CreateImage (or adopt the image an earlier attempt of the same Create made).
 * - Update: a new image when a content-defining property changed, else keep the image.
 * - Delete: deregister the image; `isComplete` deletes its snapshots.
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
      return createImage(event.ResourceProperties);
    case 'Update':
      return updateImage(event.ResourceProperties, event.OldResourceProperties, event.PhysicalResourceId);
    case 'Delete':
      return deleteImage(event.ResourceProperties, event.PhysicalResourceId);
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
 * CreateImage has no client token. The name is a hash of the image's content,
 * so a retried invocation of the same Create finds the image the first one made
 * and carries on with it instead of making a second.
 */
function adopt(image: Image, props: ImageResourceProperties, name: string): OnEventResponse {
  if (!isOwnedBy(image, props.Owner)) {
    throw new Error(
      `An image named "${name}" already exists (${image.ImageId}) and was not made by ${props.Owner}: ` +
      'deregister it, or set rebuildToken to make an image with another name',
    );
  }
  log.info('image for these properties exists already: carrying on with it', { imageId: image.ImageId, imageName: name });
  return started({ ImageId: image.ImageId!, Name: name });
}

async function createImage(props: ImageResourceProperties): Promise<OnEventResponse> {
  const name = imageNameFor(props);
  checkCopyRegions(props);
  const existing = await findImageByName(name);
  if (existing) {
    return adopt(existing, props, name);
  }

  const tags = tagsFor(props, name);
  try {
    const { ImageId } = await ec2.send(new CreateImageCommand({
      InstanceId: props.InstanceId,
      Name: name,
      Description: props.Description,
      NoReboot: props.NoReboot === 'true',
      TagSpecifications: [
        { ResourceType: 'image', Tags: tags },
        { ResourceType: 'snapshot', Tags: tags },
      ],
    }));
    log.info('CreateImage started', { imageId: ImageId, imageName: name, instanceId: props.InstanceId });
    return started({ ImageId: ImageId!, Name: name });
  } catch (e) {
    // A concurrent attempt won the race between our DescribeImages and CreateImage.
    if (errorCode(e) === 'InvalidAMIName.Duplicate') {
      const raced = await findImageByName(name);
      if (raced) {
        return adopt(raced, props, name);
      }
    }
    throw e;
  }
}

async function updateImage(
  props: ImageResourceProperties,
  oldProps: ImageResourceProperties,
  physicalResourceId: string,
): Promise<OnEventResponse> {
  if (!needsNewImage(oldProps, props)) {
    checkCopyRegions(props);
    log.info('no content-defining property changed: keeping the image', { imageId: physicalResourceId });
    return { PhysicalResourceId: physicalResourceId };
  }
  const response = await createImage(props);
  await removeAbandonedReplacement(oldProps, physicalResourceId, response.PhysicalResourceId);
  return response;
}

/**
 * When an Update that replaced the image fails, CloudFormation rolls back with
 * an Update from the failed properties to the current ones, and may never have
 * recorded the failed image's id (a FAILED answer, or a framework timeout while
 * it was still `pending`), so it would never send a Delete for it. That image is
 * the one named after the "old" (failed) properties: remove it here.
 */
async function removeAbandonedReplacement(
  oldProps: ImageResourceProperties,
  currentId: string,
  keptId: string,
): Promise<void> {
  let oldName: string;
  try {
    oldName = imageNameFor(oldProps);
  } catch {
    return; // the failed properties could not name an image, so none was made
  }
  const abandoned = await findImageByName(oldName);
  if (!abandoned || abandoned.ImageId === currentId || abandoned.ImageId === keptId || !isOwnedBy(abandoned, oldProps.Owner)) {
    return;
  }
  log.warn('removing the image of a failed replacement', { imageId: abandoned.ImageId, imageName: oldName });
  await deregisterImage(abandoned.ImageId!);
  await deleteSnapshotsOfImage(oldName, oldProps.Owner, snapshotIdsOf(abandoned));
  await removeCopies(oldName, oldProps.Owner, copyRegionsOf(oldProps));
}

async function deleteImage(props: ImageResourceProperties, physicalResourceId: string): Promise<OnEventResponse> {
  const keep: OnEventResponse = { PhysicalResourceId: physicalResourceId };
  if (props.RemovalPolicy === 'retain') {
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
  if (image) {
    await deregisterImage(image.ImageId!);
  } else {
    log.info('no image to deregister; looking for leftover snapshots', { physicalResourceId, imageName: name });
  }
  const imageName = image?.Name ?? name;
  const copyRegions = copyRegionsOf(props);
  for (const region of copyRegions) {
    const client = ec2In(region);
    const copy = await findImageByName(imageName, client);
    if (copy && isOwnedBy(copy, props.Owner)) {
      await deregisterImage(copy.ImageId!, client);
    }
  }
  return {
    ...keep,
    DeregisteredImageName: imageName,
    SnapshotIds: image ? snapshotIdsOf(image) : [],
    ...(copyRegions.length > 0 ? { CopyRegions: copyRegions } : {}),
  };
}
