import { createHash } from 'node:crypto';
import {
  CopyImageCommand,
  DeleteSnapshotCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageDeprecationCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  Image,
  LaunchPermission,
  CreateTagsCommand,
  ModifyImageAttributeCommand,
  Tag,
} from '@aws-sdk/client-ec2';
import { COPY_REGIONS_TAG, IMAGE_NAME_TAG, OWNER_TAG } from '../../shared/names';
import { deregisterImage, ec2, ec2In, errorCode, findImageByName, isGone, isOwnedBy, ownedImages, snapshotIdsOf, tagValue } from '../../shared/runtime/ec2';
import { log } from '../../shared/runtime/log';
import { DistributionResourceProperties } from '../shared';

type Props = DistributionResourceProperties;

/**
 * What happens to an image after it is made: launch permissions, deprecation
 * and copies to other regions. All of it is applied in place and made
 * idempotent by comparing with what EC2 reports, so a repeated call, an
 * Update, or a retried invocation converges on the properties.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** The region the handler (and the stack) runs in. */
export function homeRegion(): string | undefined {
  return process.env.AWS_REGION;
}

export function copyRegionsOf(props: Props | undefined): string[] {
  return props?.CopyToRegions ?? [];
}

/** The regions an image's {@link COPY_REGIONS_TAG} records: where copies of it may be. */
export function recordedCopyRegions(image: Image): string[] {
  return (tagValue(image.Tags, COPY_REGIONS_TAG) ?? '').split(',').filter((r) => r !== '');
}

/** Adds `regions` to the image's {@link COPY_REGIONS_TAG} (one CreateTags, only when one is missing). */
async function recordCopyRegions(image: Image, regions: string[]): Promise<void> {
  const recorded = recordedCopyRegions(image);
  if (regions.every((r) => recorded.includes(r))) return;
  const value = [...new Set([...recorded, ...regions])].sort().join(',');
  await ec2.send(new CreateTagsCommand({ Resources: [image.ImageId!], Tags: [{ Key: COPY_REGIONS_TAG, Value: value }] }));
  log.info('copy regions recorded on the image', { imageId: image.ImageId, regions: value });
}

/** Refuses a copy into the stack's own region, which synth cannot check when the stack has no env. */
export function checkCopyRegions(props: Props): void {
  const home = homeRegion();
  if (home && copyRegionsOf(props).includes(home)) {
    throw new Error(`copyToRegions must not include the stack's own region "${home}": the image is made there`);
  }
}

function permissionKey(p: LaunchPermission): string {
  return p.UserId ? `account:${p.UserId}` : p.OrganizationArn ? `org:${p.OrganizationArn}` : p.OrganizationalUnitArn ? `ou:${p.OrganizationalUnitArn}` : `group:${p.Group}`;
}

export function desiredPermissions(props: Props): LaunchPermission[] {
  return [
    ...(props.ShareWithAccounts ?? []).map((UserId) => ({ UserId })),
    ...(props.ShareWithOrganizationArns ?? []).map((arn) => (arn.includes(':ou/') ? { OrganizationalUnitArn: arn } : { OrganizationArn: arn })),
  ];
}

/**
 * Makes the image's launch permissions exactly the wanted ones: adds the
 * missing, removes the others (a `group: all` added outside CloudFormation
 * too: the image is never public). Makes no call when sharing is neither wanted
 * nor was before.
 */
export async function applyLaunchPermissions(
  image: Image,
  props: Props,
  oldProps?: Props,
  client: EC2Client = ec2,
): Promise<void> {
  const wanted = desiredPermissions(props);
  if (wanted.length === 0 && (!oldProps || desiredPermissions(oldProps).length === 0)) return;
  const { LaunchPermissions: current = [] } = await client.send(new DescribeImageAttributeCommand({ ImageId: image.ImageId, Attribute: 'launchPermission' }));
  const have = new Set(current.map(permissionKey));
  const want = new Set(wanted.map(permissionKey));
  const add = wanted.filter((p) => !have.has(permissionKey(p)));
  const remove = current.filter((p) => !want.has(permissionKey(p)));
  if (add.length === 0 && remove.length === 0) return;
  await client.send(new ModifyImageAttributeCommand({
    ImageId: image.ImageId,
    LaunchPermission: { Add: add.length > 0 ? add : undefined, Remove: remove.length > 0 ? remove : undefined },
  }));
  log.info('launch permissions set', { imageId: image.ImageId, added: add.map(permissionKey), removed: remove.map(permissionKey) });
}

/**
 * Deprecates the image `DeprecateAfterDays` after `createdAt` (the source
 * image's creation, so that a copy, made later, is deprecated with it), or
 * lifts a deprecation no longer asked for.
 */
export async function applyDeprecation(image: Image, props: Props, client: EC2Client = ec2, createdAt: string | undefined = image.CreationDate): Promise<void> {
  const days = props.DeprecateAfterDays ? Number(props.DeprecateAfterDays) : undefined;
  if (days === undefined) {
    if (image.DeprecationTime) {
      await client.send(new DisableImageDeprecationCommand({ ImageId: image.ImageId }));
      log.info('deprecation lifted', { imageId: image.ImageId });
    }
    return;
  }
  const created = Date.parse(createdAt ?? '') || Date.now();
  const wanted = created + days * DAY_MS;
  // EC2 wants a time in the future and keeps minutes: an image older than the period is deprecated a minute from now.
  const at = new Date(Math.max(wanted, Date.now() + 60_000));
  at.setUTCSeconds(0, 0);
  const current = image.DeprecationTime ? Date.parse(image.DeprecationTime) : undefined;
  if (current !== undefined && Math.abs(current - wanted) < 60_000) return;
  // Older than the period and already deprecated (or by that minute): setting "a minute from now" again would move it on every call.
  if (current !== undefined && wanted <= Date.now() + 60_000 && current <= at.getTime()) return;
  await client.send(new EnableImageDeprecationCommand({ ImageId: image.ImageId, DeprecateAt: at }));
  log.info('deprecation set', { imageId: image.ImageId, deprecateAt: at.toISOString() });
}

/** The KMS key for copies into `region`: a multi-Region key's replica there has the same id. */
function kmsKeyFor(props: Props, region: string): string | undefined {
  const arn = props.CopyKmsKeyArn;
  if (!arn) return undefined;
  const parts = arn.split(':');
  return parts[5]?.startsWith('key/mrk-') ? [...parts.slice(0, 3), region, ...parts.slice(4)].join(':') : arn;
}

/**
 * CopyImage's client token: EC2 answers a repeated token with the first
 * request's result, forever, even once that copy is deregistered. So it is
 * unique per CloudFormation request (the `RequestId` stays the same across the
 * polls of one request, so a retried poll cannot make a second copy), and a
 * region removed and later added back, by a user or a rollback, gets a fresh copy.
 */
export function copyClientToken(sourceImageId: string, region: string, requestId: string): string {
  return createHash('sha256').update(`${sourceImageId}/${region}/${requestId}`).digest('hex').slice(0, 64);
}

export interface CopiesState {
  /** True when every copy is available. */
  readonly done: boolean;
  /** `region -> image id` of the copies made or found. */
  readonly copies: Record<string, string>;
  /** The copies that are available, each with the client of its region. */
  readonly available: ReadonlyArray<{ readonly image: Image; readonly client: EC2Client }>;
}

/**
 * Makes sure each wanted region has an available copy of `source`, named like
 * it and tagged like it. A copy is found by its name, as the source is (a
 * just-deregistered one counts as none), and CopyImage gets a client token
 * (see {@link copyClientToken}) so a retried call never makes a second copy. Copies in regions no longer wanted
 * are removed. A failed copy is removed and fails the operation with EC2's reason.
 */
export async function ensureCopies(
  source: Image,
  props: Props,
  oldProps: Props | undefined,
  requestId: string,
): Promise<CopiesState> {
  checkCopyRegions(props);
  const name = source.Name!;
  // Before any copy exists: a Delete that no longer has these properties still finds the regions.
  if (copyRegionsOf(props).length > 0) await recordCopyRegions(source, copyRegionsOf(props));
  const copies: Record<string, string> = {};
  const available: Array<{ image: Image; client: EC2Client }> = [];
  let done = true;
  for (const region of copyRegionsOf(props)) {
    const client = ec2In(region);
    const copy = await findImageByName(name, client);
    if (copy && !isOwnedBy(copy, props.Owner)) {
      throw new Error(`An image named "${name}" already exists in ${region} (${copy.ImageId}) and was not made by ${props.Owner}`);
    }
    if (!copy) {
      const kmsKeyId = kmsKeyFor(props, region);
      // The source's tags, owner tag included: the copy is cleaned up like the image. Not the regions it was copied
      // to: the source's record, which nothing reads on a copy.
      const tags = (source.Tags ?? []).filter((t) => !t.Key?.startsWith('aws:') && t.Key !== COPY_REGIONS_TAG);
      const { ImageId } = await client.send(new CopyImageCommand({
        SourceImageId: source.ImageId,
        SourceRegion: homeRegion(),
        Name: name,
        Description: source.Description,
        ClientToken: copyClientToken(source.ImageId!, region, requestId),
        Encrypted: kmsKeyId ? true : undefined,
        KmsKeyId: kmsKeyId,
        TagSpecifications: [{ ResourceType: 'image', Tags: tags }, { ResourceType: 'snapshot', Tags: tags }],
      }));
      log.info('CopyImage started', { sourceImageId: source.ImageId, region, imageId: ImageId });
      copies[region] = ImageId!;
      done = false;
      continue;
    }
    copies[region] = copy.ImageId!;
    if (copy.State === 'available') {
      available.push({ image: copy, client });
      continue;
    }
    if (copy.State === 'pending' || copy.State === 'transient') {
      done = false;
      continue;
    }
    const reason = copy.StateReason?.Message ?? 'EC2 gave no reason';
    await sweepCopies(props.Owner, region, (n) => n !== name);
    throw new Error(`Copy ${copy.ImageId} of ${source.ImageId} to ${region} is ${copy.State}: ${reason}`);
  }

  // A region no longer wanted keeps nothing of this resource: neither this image's copy nor those of kept previous images.
  for (const region of copyRegionsOf(oldProps).filter((r) => !copyRegionsOf(props).includes(r))) {
    done = (await sweepCopies(props.Owner, region, () => false)) && done;
  }
  return { done, copies, available };
}

/** Errors meaning "the snapshot cannot be deleted yet" (the image's deregistration is still settling). */
const SNAPSHOT_NOT_YET = new Set(['InvalidSnapshot.InUse', 'IncorrectState']);

/**
 * Removes, in `region`, the copies carrying the owner tag whose name `keep`
 * does not accept, and their snapshots: a snapshot carrying the owner tag
 * whose image-name tag is not kept, and that no registered image uses. Looks
 * at tags, not at what an earlier call saw, so it converges when called again.
 *
 * @returns false when a snapshot must be retried later (its copy's deregistration is still settling).
 */
export async function sweepCopies(owner: string, region: string, keep: (name: string) => boolean): Promise<boolean> {
  const client = ec2In(region);
  for (const copy of await ownedImages(owner, client)) {
    if (keep(copy.Name!)) continue;
    log.info('removing a copy', { region, imageId: copy.ImageId, imageName: copy.Name });
    await deregisterImage(copy.ImageId!, client);
  }
  const { Snapshots = [] } = await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [owner] }] }));
  const candidates = Snapshots.filter((s) => !keep(tagValue(s.Tags as Tag[] | undefined, IMAGE_NAME_TAG) ?? ''));
  if (candidates.length === 0) return true;
  const { Images: users = [] } = await client.send(new DescribeImagesCommand({
    Owners: ['self'],
    IncludeDisabled: true,
    Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: candidates.map((s) => s.SnapshotId!) }],
  }));
  const inUse = new Set(users.filter((image) => !isGone(image)).flatMap(snapshotIdsOf));
  let done = true;
  for (const snapshot of candidates) {
    if (inUse.has(snapshot.SnapshotId!)) {
      log.warn('snapshot not deleted: an image uses it', { region, snapshotId: snapshot.SnapshotId });
      continue;
    }
    try {
      await client.send(new DeleteSnapshotCommand({ SnapshotId: snapshot.SnapshotId }));
      log.info('deleted snapshot', { region, snapshotId: snapshot.SnapshotId });
    } catch (e) {
      const code = errorCode(e);
      if (code === 'InvalidSnapshot.NotFound') continue;
      if (code && SNAPSHOT_NOT_YET.has(code)) {
        log.info('snapshot cannot be deleted yet, will retry', { region, snapshotId: snapshot.SnapshotId, code });
        done = false;
        continue;
      }
      throw e;
    }
  }
  return done;
}
