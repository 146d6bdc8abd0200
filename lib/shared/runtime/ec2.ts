import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  Image,
  ModifyImageAttributeCommand,
  Tag,
} from '@aws-sdk/client-ec2';
import { IMAGE_NAME_TAG, OWNER_TAG } from '../names';
import { log } from './log';

/**
 * One client per container, reused by warm invocations.
 *
 * Throttling (`RequestLimitExceeded`) and 5xx answers are retried by the SDK:
 * adaptive mode adds client-side rate limiting to the standard exponential
 * backoff, and 8 attempts ride out a throttling burst well inside the
 * functions' timeout. `AWS_ENDPOINT_URL_EC2` points it at an emulator in tests.
 */
export const ec2 = new EC2Client({ retryMode: 'adaptive', maxAttempts: 8 });

const regional = new Map<string, EC2Client>();

/** The client for another region (copies), made once per container. */
export function ec2In(region: string): EC2Client {
  let client = regional.get(region);
  if (!client) {
    client = new EC2Client({ region, retryMode: 'adaptive', maxAttempts: 8 });
    regional.set(region, client);
  }
  return client;
}

const AMI_ID = /^ami-[0-9a-f]{8,17}$/;

/** True for an id EC2 could have given an AMI; CloudFormation sends other ids after a failed Create. */
export function isAmiId(id: string | undefined): id is string {
  return id !== undefined && AMI_ID.test(id);
}

/** The `Code` of an EC2 error (`error.name` in SDK v3). */
export function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object') {
    const e = error as { name?: string; Code?: string };
    return e.Code ?? e.name;
  }
  return undefined;
}

export function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

/**
 * States in which an image no longer exists for this resource. DescribeImages
 * keeps listing a just-deregistered image for a short while, as `deregistered`:
 * it is gone, its name is free, and it no longer holds its snapshots.
 */
export function isGone(image: Image | undefined): boolean {
  return !image || image.State === 'deregistered';
}

/**
 * The image with this id, or `undefined` when EC2 does not (or no longer, or not
 * yet) know it. A disabled image is included: DescribeImages hides it unless asked.
 */
export async function describeImage(imageId: string, client: EC2Client = ec2): Promise<Image | undefined> {
  try {
    const { Images } = await client.send(new DescribeImagesCommand({ ImageIds: [imageId], IncludeDisabled: true }));
    const image = Images?.[0];
    return isGone(image) ? undefined : image;
  } catch (e) {
    if (errorCode(e) === 'InvalidAMIID.NotFound' || errorCode(e) === 'InvalidAMIID.Unavailable') {
      return undefined;
    }
    throw e;
  }
}

/**
 * This account's image with this exact name, if any (names are unique per
 * account and region), disabled ones included, just-deregistered ones left out.
 */
export async function findImageByName(name: string, client: EC2Client = ec2): Promise<Image | undefined> {
  const { Images } = await client.send(new DescribeImagesCommand({
    Owners: ['self'],
    IncludeDisabled: true,
    Filters: [{ Name: 'name', Values: [name] }],
  }));
  return (Images ?? []).find((image) => !isGone(image));
}

export function isOwnedBy(image: Image, owner: string): boolean {
  return tagValue(image.Tags, OWNER_TAG) === owner;
}

export function snapshotIdsOf(image: Image): string[] {
  return (image.BlockDeviceMappings ?? [])
    .map((m) => m.Ebs?.SnapshotId)
    .filter((id): id is string => id !== undefined);
}

/**
 * Deregisters an image, disabled or not (EC2 refuses to delete a disabled
 * image's snapshots, but not to deregister it). `DeleteAssociatedSnapshots`
 * lets a current EC2 API drop the snapshots at once, but a Lambda runtime whose
 * SDK predates the parameter (< 3.819) silently omits it, and EC2 reports each
 * snapshot it could not delete (`internal-error`, `client-error`,
 * `missing-permissions`), so callers delete the snapshots themselves too:
 * see {@link deleteSnapshotsOfImage}.
 */
export async function deregisterImage(imageId: string, client: EC2Client = ec2): Promise<void> {
  try {
    const response = await client.send(new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true }));
    log.info('deregistered image', {
      imageId,
      deleteSnapshotResults: response?.DeleteSnapshotResults?.map((r) => ({ snapshotId: r.SnapshotId, returnCode: r.ReturnCode })) ?? 'none reported',
    });
  } catch (e) {
    if (errorCode(e) === 'InvalidAMIID.NotFound' || errorCode(e) === 'InvalidAMIID.Unavailable') {
      log.info('image already deregistered', { imageId });
      return;
    }
    throw e;
  }
}

/** Errors meaning "the snapshot cannot be deleted yet" (the image's deregistration is still settling). */
const SNAPSHOT_NOT_YET = new Set(['InvalidSnapshot.InUse', 'IncorrectState']);

/**
 * Deletes the snapshots of a deregistered image: those it listed, and those
 * tagged with its name (an image still `pending` does not list them yet).
 * Skips snapshots that are not ours or that another registered image uses.
 *
 * @returns true when none is left to delete, false when one must be retried later.
 */
export async function deleteSnapshotsOfImage(
  imageName: string,
  owner: string,
  listed: string[] = [],
  client: EC2Client = ec2,
): Promise<boolean> {
  const candidates = new Map<string, Tag[] | undefined>();
  const queries = [{ Name: `tag:${IMAGE_NAME_TAG}`, Values: [imageName] }];
  const byTag = await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: queries }));
  for (const s of byTag.Snapshots ?? []) candidates.set(s.SnapshotId!, s.Tags);
  const unseen = listed.filter((id) => !candidates.has(id));
  if (unseen.length > 0) {
    const byId = await client.send(new DescribeSnapshotsCommand({
      OwnerIds: ['self'],
      Filters: [{ Name: 'snapshot-id', Values: unseen }],
    }));
    for (const s of byId.Snapshots ?? []) candidates.set(s.SnapshotId!, s.Tags);
  }
  if (candidates.size === 0) return true;

  // A disabled image holds its snapshots too; a just-deregistered one, still listed, does not.
  const { Images: users } = await client.send(new DescribeImagesCommand({
    Owners: ['self'],
    IncludeDisabled: true,
    Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [...candidates.keys()] }],
  }));
  const inUse = new Set((users ?? []).filter((image) => !isGone(image)).flatMap(snapshotIdsOf));

  let done = true;
  for (const [snapshotId, tags] of candidates) {
    if (tagValue(tags, OWNER_TAG) !== owner) {
      log.warn('snapshot not deleted: it does not carry this resource\'s owner tag', { snapshotId, owner });
      continue;
    }
    if (inUse.has(snapshotId)) {
      log.warn('snapshot not deleted: another image uses it', { snapshotId });
      continue;
    }
    try {
      await client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      log.info('deleted snapshot', { snapshotId });
    } catch (e) {
      const code = errorCode(e);
      if (code === 'InvalidSnapshot.NotFound') {
        log.info('snapshot already deleted', { snapshotId });
      } else if (code && SNAPSHOT_NOT_YET.has(code)) {
        log.info('snapshot cannot be deleted yet, will retry', { snapshotId, code });
        done = false;
      } else {
        throw e;
      }
    }
  }
  return done;
}

/** The images in this region carrying the owner tag (disabled ones too, just-deregistered ones not), newest first. */
export async function ownedImages(owner: string, client: EC2Client = ec2): Promise<Image[]> {
  const { Images } = await client.send(new DescribeImagesCommand({
    Owners: ['self'],
    IncludeDisabled: true,
    Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [owner] }],
  }));
  return newestFirst((Images ?? []).filter((image) => !isGone(image)));
}

export function newestFirst(images: Image[]): Image[] {
  const time = (image: Image) => Date.parse(image.CreationDate ?? '') || 0;
  return [...images].sort((a, b) => time(b) - time(a) || (a.ImageId! < b.ImageId! ? 1 : -1));
}

/** Every instance launched from the image must then use IMDSv2. Once set, EC2 does not let it be undone. */
export async function requireImdsV2(image: Image, client: EC2Client = ec2): Promise<void> {
  if (image.ImdsSupport === 'v2.0') return;
  await client.send(new ModifyImageAttributeCommand({ ImageId: image.ImageId, ImdsSupport: { Value: 'v2.0' } }));
  log.info('image now requires IMDSv2', { imageId: image.ImageId });
}
