import { CreateImageCommand, CreateTagsCommand, DescribeInstancesCommand, Image, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { SIGNAL_TAG } from '../../shared/names';
import { ec2, errorCode, findImageByName, isOwnedBy, tagValue } from '../../shared/runtime/ec2';
import { log } from '../../shared/runtime/log';
import { startCheck } from '../../shared/runtime/signal-check';
import { ImageResourceProperties } from '../shared';
import { tagsFor } from './image-name';

/**
 * Waits between the name lookups after `InvalidAMIName.Duplicate`: DescribeImages
 * is eventually consistent, so the image that holds the name (often made by an
 * earlier attempt whose answer was lost) may not be listed yet. 7.5 s in all,
 * well inside the functions' 2-minute timeout.
 */
export const DUPLICATE_LOOKUP_DELAYS_MS = [500, 1000, 2000, 4000];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The image of this resource with this name; an image of that name made by someone else is an error. */
export function ours(image: Image, props: ImageResourceProperties, name: string): Image {
  if (!isOwnedBy(image, props.Owner)) {
    throw new Error(
      `An image named "${name}" already exists (${image.ImageId}) and was not made by ${props.Owner}: ` +
      'deregister it, or set rebuildToken to make an image with another name',
    );
  }
  return image;
}

/**
 * Carries on with an image of this resource that exists already (a retried
 * Create, a revert to earlier settings, a name taken by an earlier attempt).
 * With a wait condition (`SignalId`), the image gets this condition's handle
 * id and the scheduled check is turned on: EC2 publishes `EC2 AMI State
 * Change` when an image enters a state, so an image that is already
 * `available` sends no event, and without the check the condition would wait
 * until its timeout.
 */
export async function adopt(image: Image, props: ImageResourceProperties, name: string): Promise<Image> {
  ours(image, props, name);
  await followHandle(image.ImageId!, tagValue(image.Tags, SIGNAL_TAG), props);
  log.info('image for these properties exists already: carrying on with it', { imageId: image.ImageId, imageName: name });
  return image;
}

/**
 * An existing image followed by this deploy's wait condition: with `SignalId`, the image gets the handle's id in its
 * signal tag (unless `tagged` with it already), then the scheduled check is turned on, which signals the condition
 * once the image is available (an available image's event came and went). Without a wait condition, nothing.
 */
export async function followHandle(imageId: string, tagged: string | undefined, props: ImageResourceProperties): Promise<void> {
  if (props.SignalId && tagged !== props.SignalId) {
    await ec2.send(new CreateTagsCommand({ Resources: [imageId], Tags: [{ Key: SIGNAL_TAG, Value: props.SignalId }] }));
    log.info('image tagged for this wait condition', { imageId, signalId: props.SignalId });
  }
  await startCheck(props);
}

export interface Started {
  readonly imageId: string;
  /** True when this call's CreateImage made the image (not an earlier attempt's). */
  readonly created: boolean;
}

/**
 * CreateImage with the resource's tags on the image and its snapshots, leaving
 * out the volumes of `ExcludeDevices`.
 * CreateImage has no client token; the name is a hash of the image's content,
 * so `InvalidAMIName.Duplicate` means an attempt of this very request (or of a
 * concurrent one) made it already: that image is looked up by name again with
 * a short backoff, and carried on with.
 *
 * With a wait condition, the scheduled check is turned on before CreateImage:
 * nothing may fail between CreateImage's answer and CloudFormation learning the
 * image's id (a Create that fails without an id gets no Delete that would remove it).
 *
 * @returns `undefined` when the name is taken but the image is still not listed.
 */
export async function startImage(props: ImageResourceProperties, name: string): Promise<Started | undefined> {
  const tags = tagsFor(props, name);
  // The check first: once CreateImage has answered, nothing may fail before CloudFormation learns the image's id.
  await startCheck(props);
  try {
    const { ImageId } = await ec2.send(new CreateImageCommand({
      InstanceId: props.InstanceId,
      Name: name,
      Description: props.Description,
      NoReboot: props.NoReboot === 'true',
      // The volumes left out of the image: a mapping with NoDevice '' each (CreateImage's BlockDeviceMappings).
      ...(props.ExcludeDevices && props.ExcludeDevices.length > 0
        ? { BlockDeviceMappings: props.ExcludeDevices.map((DeviceName) => ({ DeviceName, NoDevice: '' })) }
        : {}),
      TagSpecifications: [
        { ResourceType: 'image', Tags: tags },
        { ResourceType: 'snapshot', Tags: tags },
      ],
    }));
    log.info('CreateImage started', { imageId: ImageId, imageName: name, instanceId: props.InstanceId, excludeDevices: props.ExcludeDevices });
    return { imageId: ImageId!, created: true };
  } catch (e) {
    if (errorCode(e) !== 'InvalidAMIName.Duplicate') throw e;
    log.info('the image name is taken: looking the image up again', { imageName: name, error: String(e) });
  }
  for (const delay of [0, ...DUPLICATE_LOOKUP_DELAYS_MS]) {
    await sleep(delay);
    const image = await findImageByName(name);
    if (image) {
      return { imageId: (await adopt(image, props, name)).ImageId!, created: false };
    }
  }
  return undefined;
}

/** Instance states from which the instance will never be `stopped`. */
const GONE_INSTANCE_STATES = new Set(['shutting-down', 'terminated']);

/**
 * Stops the source instance (StopInstances is idempotent) and reports whether
 * it is `stopped`. Called on every poll with the same event, so it keeps no state.
 * An instance gone (or going) fails the request, unless `imaging` is false: an
 * image that exists already needs no instance, only no running source left.
 */
export async function stopInstance(instanceId: string, imaging = true): Promise<boolean> {
  const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const state = Reservations?.[0]?.Instances?.[0]?.State?.Name;
  log.info('source instance state', { instanceId, state });
  if (state === 'stopped') return true;
  if (!imaging && (!state || GONE_INSTANCE_STATES.has(state))) return false;
  if (!state || GONE_INSTANCE_STATES.has(state)) {
    throw new Error(`Instance ${instanceId} is ${state ?? 'not found'}: it cannot be stopped and imaged`);
  }
  if (state === 'running') {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    log.info('StopInstances sent: the image is made once the instance is stopped', { instanceId });
  }
  return false;
}
