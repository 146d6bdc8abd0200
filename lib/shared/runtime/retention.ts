import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { Image } from '@aws-sdk/client-ec2';
import { errorCode, newestFirst } from './ec2';
import { log } from './log';

/**
 * Which images of a resource a Delete keeps. CloudFormation sends the same
 * Delete for three different things, told apart by what it records for the
 * logical resource at that moment (DescribeStackResource):
 *
 * - the resource itself goes (stack delete, resource removed from the
 *   template): it records this very physical id, or no longer knows the
 *   resource. Every image of the resource goes.
 * - cleanup after an update a user made (`UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`):
 *   it records the image the update made or adopted. The deleted image was
 *   current until this update, so it is the most recent previous image, even
 *   when the update went back to an older one (a revert, which the README
 *   advises for going back): it and the next `keepPrevious - 1` newest
 *   previous images stay; the others go.
 * - cleanup after a rollback (`UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS`):
 *   it records the image it went back to. The deleted image is the one the
 *   failed update abandoned: made by it (newer than the current one), it goes;
 *   adopted by it (older), it stays as it was. Nothing else is removed: a
 *   rollback puts back what was, and the failed properties' `keepPrevious`
 *   decides nothing.
 *
 * DescribeStackResource answers the same during both cleanups; only the
 * stack's status (DescribeStacks) tells a rollback from a user's update
 * (CloudFormation User Guide, "Stack status codes").
 *
 * The distribution's handler applies the same rule to the copies, so an image
 * and its copies are kept or removed together.
 */

/** One client per container, retried by the SDK like the EC2 client. */
export const cloudformation = new CloudFormationClient({ retryMode: 'adaptive', maxAttempts: 8 });

/**
 * The physical id CloudFormation records for the logical resource now, or
 * undefined when the stack no longer has the resource.
 */
export async function recordedPhysicalId(stackId: string, logicalResourceId: string, client: CloudFormationClient = cloudformation): Promise<string | undefined> {
  try {
    const { StackResourceDetail } = await client.send(new DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: logicalResourceId }));
    // The API reference documents StackResourceDetail in every answer; one without it is no answer to act on.
    if (!StackResourceDetail) throw new Error(`DescribeStackResource answered without StackResourceDetail for ${logicalResourceId}: nothing is removed on a guess`);
    return StackResourceDetail.PhysicalResourceId;
  } catch (e) {
    // "Resource <id> does not exist for stack <name>"; any other error ("Stack with id … does not exist" too) is
    // thrown, so nothing is removed on a guess.
    if (errorCode(e) === 'ValidationError' && /^Resource \S+ does not exist/i.test(String((e as Error).message))) return undefined;
    throw e;
  }
}

/** The stack status of a cleanup after a rollback ("Stack status codes", CloudFormation User Guide). */
export const ROLLBACK_CLEANUP_STATUS = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';

/** True when the stack is cleaning up after a rollback: DescribeStacks' `StackStatus`. */
export async function cleaningUpAfterRollback(stackId: string, client: CloudFormationClient = cloudformation): Promise<boolean> {
  const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackId }));
  // Asked by the stack's id, DescribeStacks lists that stack (deleted ones too); no stack is no answer to act on.
  const stack = Stacks?.[0];
  if (!stack) throw new Error(`DescribeStacks listed no stack for ${stackId}: nothing is removed on a guess`);
  return stack.StackStatus === ROLLBACK_CLEANUP_STATUS;
}

/** The stack and logical resource a Delete is for. */
type DeleteEvent = { readonly StackId: string; readonly LogicalResourceId: string };

/** Which Delete of `deletedId` this is: what CloudFormation records for the resource now, and whether it rolls back. */
export interface Cleanup {
  /** The physical id CloudFormation records, or undefined when the stack no longer has the resource. */
  readonly recorded?: string;
  /** True for a rollback's cleanup of an image other than the one recorded (DescribeStacks, asked only then). */
  readonly rollback: boolean;
}

/** Reads {@link Cleanup}: DescribeStackResource, and DescribeStacks only when another id is recorded. */
export async function readCleanup(event: DeleteEvent, deletedId: string): Promise<Cleanup> {
  const recorded = await recordedPhysicalId(event.StackId, event.LogicalResourceId);
  return { recorded, rollback: recorded !== undefined && recorded !== deletedId && await cleaningUpAfterRollback(event.StackId) };
}

/** What a Delete of `deletedId` keeps, by {@link retention}, from what CloudFormation says now. */
export async function retentionOfDelete(event: DeleteEvent, owned: readonly Image[], deletedId: string, keep: number): Promise<Retention> {
  const { recorded, rollback } = await readCleanup(event, deletedId);
  return retention(owned, deletedId, recorded, keep, rollback);
}

/** `KeepPrevious` as a number; anything but a whole number of 0 or more is 0 (synth refuses it). */
export function keepCount(value: string | undefined): number {
  const n = Number(value ?? '0');
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export interface Retention {
  /** True when the resource itself is deleted: nothing of it is kept. */
  readonly resourceDeleted: boolean;
  /** Ids of the images that stay: the current one and the previous ones kept. */
  readonly kept: ReadonlySet<string>;
  /** A cleanup (after an update or a rollback): the image CloudFormation records now, when it is one of the owned images. */
  readonly current?: string;
}

/**
 * What a Delete of `deletedId` keeps, given the images of the resource
 * (`owned`), what CloudFormation records now (`recordedId`) and whether the
 * stack is cleaning up after a rollback.
 */
export function retention(owned: readonly Image[], deletedId: string, recordedId: string | undefined, keep: number, rollback = false): Retention {
  if (recordedId === undefined || recordedId === deletedId) {
    return { resourceDeleted: true, kept: new Set() };
  }
  const images = newestFirst([...owned]);
  const current = images.find((image) => image.ImageId === recordedId);
  if (!current) {
    // The current image is not one of ours in this region (still being made, say): nothing but the deleted image is decided.
    return { resourceDeleted: false, kept: new Set(images.map((i) => i.ImageId!).filter((id) => id !== deletedId)) };
  }
  const created = Date.parse(current.CreationDate ?? '') || 0;
  const others = images.filter((image) => image !== current);
  if (rollback) {
    // A rollback puts back what was: it removes the image the failed update made (newer than the current one) and
    // nothing else; the keepPrevious of the failed properties decides nothing.
    const kept = new Set(images.filter((image) => image.ImageId !== deletedId || (Date.parse(image.CreationDate ?? '') || 0) < created).map((i) => i.ImageId!));
    log.info('retention after a rollback', { current: current.ImageId, kept: [...kept], deleted: deletedId });
    return { resourceDeleted: false, kept, current: current.ImageId };
  }
  const deleted = others.filter((image) => image.ImageId === deletedId);
  const previous = [...deleted, ...others.filter((image) => image.ImageId !== deletedId)];
  const kept = new Set([current.ImageId!, ...previous.slice(0, keep).map((image) => image.ImageId!)]);
  log.info('retention', { current: current.ImageId, keepPrevious: keep, kept: [...kept], deleted: deletedId });
  return { resourceDeleted: false, kept, current: current.ImageId };
}

/**
 * The Delete of a resource whose owner id is of before it named the
 * deployment (`isLegacyOwner`): only the one image CloudFormation recorded for
 * it is decided on, since other images carrying that value may be another
 * deployment's. It stays after a user's update when `keepPrevious` keeps
 * previous images, and goes otherwise (the resource deleted, a rollback's
 * cleanup, no `keepPrevious`).
 */
export async function legacyRetention(event: DeleteEvent, deletedId: string, keep: number): Promise<{ readonly resourceDeleted: boolean; readonly keepsImage: boolean }> {
  const { recorded, rollback } = await readCleanup(event, deletedId);
  const resourceDeleted = recorded === undefined || recorded === deletedId;
  const keepsImage = !resourceDeleted && keep > 0 && !rollback;
  log.info('owner id of before: only the image CloudFormation recorded is decided on', { deleted: deletedId, resourceDeleted, keepsImage });
  return { resourceDeleted, keepsImage };
}
