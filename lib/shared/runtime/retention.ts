import { CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
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
 * - cleanup after a replacement: it records the newer image. The
 *   `keepPrevious` newest images made before it stay; older ones go.
 * - cleanup after a rollback: it records the older image it went back to, and
 *   the deleted one is newer than it: that one goes, and the same rule keeps
 *   the images before the current one.
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
    return StackResourceDetail?.PhysicalResourceId;
  } catch (e) {
    // "Resource <id> does not exist for stack <name>"; any other error ("Stack with id … does not exist" too) is
    // thrown, so nothing is removed on a guess.
    if (errorCode(e) === 'ValidationError' && /^Resource \S+ does not exist/i.test(String((e as Error).message))) return undefined;
    throw e;
  }
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
}

/**
 * What a Delete of `deletedId` keeps, given the images of the resource
 * (`owned`) and what CloudFormation records now (`recordedId`).
 */
export function retention(owned: readonly Image[], deletedId: string, recordedId: string | undefined, keep: number): Retention {
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
  const previous = images.filter((image) => image !== current && (Date.parse(image.CreationDate ?? '') || 0) <= created);
  const kept = new Set([current.ImageId!, ...previous.slice(0, keep).map((image) => image.ImageId!)]);
  log.info('retention', { current: current.ImageId, keepPrevious: keep, kept: [...kept], deleted: deletedId });
  return { resourceDeleted: false, kept };
}
