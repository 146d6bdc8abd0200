/**
 * What must hold after every step of every sequence. Each invariant is a
 * named function from what the emulator holds now (a {@link World}) and the
 * model to a list of violations, each a sentence a reader can act on.
 */
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { OWNER_TAG } from '../../lib/shared/names';
import type { Emulator } from '../emulator/harness/suite';
import { Model } from './model';

/** One image or copy of a deployment, as the test sees it in moto. */
export interface Seen {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly snapshots: string[];
  /** Account ids with launch permission, sorted. */
  readonly sharedWith: string[];
}

/** A deployment's images (home region), copies (the copy region) and snapshots (both), by its owner tag. */
export interface World {
  readonly images: Seen[];
  readonly copies: Seen[];
  /** Snapshots carrying the owner tag, or named by one of the images and copies. */
  readonly snapshots: string[];
}

/**
 * Each deployment's World, for `owners` (owner tag values) at once: one DescribeImages and one DescribeSnapshots per
 * region for all of them (the sequence and its twin after every step), then each image's launch permissions.
 */
export async function observe(emu: Emulator, copyRegion: EC2Client, owners: readonly string[]): Promise<World[]> {
  const ownerOf = (tags: Array<{ Key?: string; Value?: string }> | undefined) => tags?.find((t) => t.Key === OWNER_TAG)?.Value;
  const seen = async (client: EC2Client): Promise<Array<[string | undefined, Seen]>> => {
    const { Images } = await client.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [...owners] }] }));
    return Promise.all((Images ?? []).map(async (image) => {
      const { LaunchPermissions } = await client.send(new DescribeImageAttributeCommand({ ImageId: image.ImageId, Attribute: 'launchPermission' }));
      return [ownerOf(image.Tags), {
        id: image.ImageId!,
        name: image.Name ?? '',
        state: image.State ?? '',
        snapshots: (image.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId).filter((s): s is string => !!s).sort(),
        sharedWith: (LaunchPermissions ?? []).map((p) => p.UserId ?? p.Group ?? p.OrganizationArn ?? '?').sort(),
      }] as [string | undefined, Seen];
    }));
  };
  const [images, copies, homeSnapshots, copySnapshots] = await Promise.all([
    seen(emu.direct), seen(copyRegion),
    emu.direct.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] })), copyRegion.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] })),
  ]);
  const snapshots = [...(homeSnapshots.Snapshots ?? []), ...(copySnapshots.Snapshots ?? [])];
  return owners.map((owner) => {
    const of = (all: Array<[string | undefined, Seen]>) => byId(all.filter(([o]) => o === owner).map(([, i]) => i));
    const [ownImages, ownCopies] = [of(images), of(copies)];
    const ofImages = new Set([...ownImages, ...ownCopies].flatMap((i) => i.snapshots));
    return {
      images: ownImages,
      copies: ownCopies,
      snapshots: snapshots.filter((s) => ofImages.has(s.SnapshotId!) || ownerOf(s.Tags) === owner).map((s) => s.SnapshotId!).sort(),
    };
  });
}

/** Snapshot ids that existed at some point for this deployment: the stack delete must leave none of them. */
export async function existingSnapshots(emu: Emulator, copyRegion: EC2Client, ids: Iterable<string>): Promise<string[]> {
  const wanted = new Set(ids);
  const all = async (client: EC2Client) => ((await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []).map((s) => s.SnapshotId!);
  return (await Promise.all([all(emu.direct), all(copyRegion)])).flat().filter((id) => wanted.has(id)).sort();
}

/** (1) Another deployment in the same account and regions: none of its images, copies, launch permissions or snapshots change. */
export function twinUntouched(twinBefore: World, twinNow: World): string[] {
  const violations: string[] = [];
  const compare = (what: string, before: Seen[], now: Seen[]) => {
    for (const b of before) {
      const n = now.find((x) => x.id === b.id);
      if (!n) violations.push(`twin untouched: the twin's ${what} ${b.id} (${b.name}) is gone`);
      else if (JSON.stringify(n) !== JSON.stringify(b)) violations.push(`twin untouched: the twin's ${what} ${b.id} changed from ${JSON.stringify(b)} to ${JSON.stringify(n)}`);
    }
    for (const n of now.filter((x) => !before.some((b) => b.id === x.id))) violations.push(`twin untouched: a new ${what} ${n.id} carries the twin's owner tag`);
  };
  compare('image', twinBefore.images, twinNow.images);
  compare('copy', twinBefore.copies, twinNow.copies);
  const lost = twinBefore.snapshots.filter((s) => !twinNow.snapshots.includes(s));
  if (lost.length > 0) violations.push(`twin untouched: the twin's snapshots ${lost.join(', ')} are gone`);
  return violations;
}

/** (2) The image CloudFormation records for the Image is the model's current image, and it is available. */
export function recordedImageAvailable(recorded: string | undefined, world: World, model: Model): string[] {
  if (recorded === undefined) return ['recorded image available: CloudFormation records no Image'];
  const violations: string[] = [];
  if (recorded !== model.currentId) violations.push(`recorded image available: CloudFormation records ${model.label(recorded)}, the model's current image is ${model.label(model.currentId)}`);
  const image = world.images.find((i) => i.id === recorded);
  if (!image) violations.push(`recorded image available: the recorded image ${model.label(recorded)} does not exist (or lost its owner tag)`);
  else if (image.state !== 'available') violations.push(`recorded image available: the recorded image ${model.label(recorded)} is ${image.state}`);
  return violations;
}

/**
 * (3) The deployment's images are the current one plus the `keepPrevious` most
 * recently current previous ones after a replacement; a step in place or rolled
 * back removes nothing and leaves nothing new (the model's `owned`).
 */
export function previousImagesKept(world: World, model: Model): string[] {
  const actual = world.images.map((i) => i.id);
  const missing = model.owned.filter((id) => !actual.includes(id));
  const extra = actual.filter((id) => !model.owned.includes(id));
  if (missing.length === 0 && extra.length === 0) return [];
  const labels = (ids: string[]) => `[${ids.map((id) => model.label(id)).join(', ')}]`;
  const changed = model.changed ? ` (this deploy changed ${model.changed})` : '';
  return [`previous images kept: with keepPrevious=${model.config.keepPrevious} ${model.config.removalPolicy}${changed} the images should be ${labels(model.owned)} ` +
    `(current first; current history ${labels(model.history)}), found ${labels(actual)}: missing ${labels(missing)}, unexpected ${labels(extra)}`];
}

/** (4) Every image and copy of the deployment is shared with exactly the configured accounts. */
export function sharedAsConfigured(world: World, model: Model): string[] {
  const wanted = [...model.config.shareWithAccounts].sort();
  return [...world.images.map((i) => ['image', i] as const), ...world.copies.map((c) => ['copy', c] as const)]
    .filter(([, seen]) => JSON.stringify(seen.sharedWith) !== JSON.stringify(wanted))
    .map(([what, seen]) => {
      const label = what === 'image' ? model.label(seen.id) : `${seen.id} (copy of ${seen.name})`;
      return `shared as configured: ${what} ${label} is shared with [${seen.sharedWith.join(', ')}], configured [${wanted.join(', ')}]`;
    });
}

/**
 * (7) Nothing untested is promoted: the image the Distribution records, every image shared, and every copy are of
 * images whose AMI test passed (`tested`: image id → name).
 */
export function nothingUntestedPromoted(distributed: string | undefined, world: World, tested: ReadonlyMap<string, string>, model: Model): string[] {
  const violations: string[] = [];
  if (distributed !== undefined && !tested.has(distributed)) violations.push(`nothing untested promoted: the Distribution records ${model.label(distributed)}, whose test never passed`);
  for (const image of world.images.filter((i) => i.sharedWith.length > 0 && !tested.has(i.id))) {
    violations.push(`nothing untested promoted: ${model.label(image.id)} is shared with [${image.sharedWith.join(', ')}] but its test never passed`);
  }
  const testedNames = new Set(tested.values());
  for (const copy of world.copies.filter((c) => !testedNames.has(c.name))) {
    violations.push(`nothing untested promoted: copy ${copy.id} is of ${copy.name}, whose test never passed`);
  }
  return violations;
}

/** (6) With `StopInstance` (keepInstancesRunning false) in force, the source instance is stopped, also after a switch in place. */
export function sourceStoppedAsConfigured(sourceState: string | undefined, model: Model): string[] {
  if (!model.config.stopInstance || sourceState === 'stopped') return [];
  return [`source stopped as configured: keepInstancesRunning is false (StopInstance) but the source instance is ${sourceState ?? 'gone'}`];
}

/** (5) After the stack delete with removalPolicy destroy, nothing of the deployment is left. */
export function nothingLeftAfterDelete(world: World, everSnapshots: string[], model: Model): string[] {
  if (model.config.removalPolicy === 'retain') return [];
  const violations: string[] = [];
  if (world.images.length > 0) violations.push(`nothing left after delete: images ${world.images.map((i) => model.label(i.id)).join(', ')} are left`);
  if (world.copies.length > 0) violations.push(`nothing left after delete: copies ${world.copies.map((c) => `${c.id} (of ${c.name})`).join(', ')} are left`);
  const snapshots = [...new Set([...world.snapshots, ...everSnapshots])].sort();
  if (snapshots.length > 0) violations.push(`nothing left after delete: snapshots ${snapshots.join(', ')} are left`);
  return violations;
}

function byId(seen: Seen[]): Seen[] {
  return [...seen].sort((a, b) => (a.id < b.id ? -1 : 1));
}
