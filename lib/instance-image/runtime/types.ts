import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { ImageResourceProperties } from '../shared';

/** What the Provider framework passes to `onEvent`. */
export type OnEventRequest = CloudFormationCustomResourceEvent<ImageResourceProperties>;

/**
 * What `onEvent` returns. The framework sends `PhysicalResourceId` and `Data`
 * to CloudFormation and passes the other fields on to `isComplete` only.
 */
export interface OnEventResponse {
  /** Left out while a stopping source has no image yet: the framework then keeps (Update) or makes up (Create) one. */
  readonly PhysicalResourceId?: string;
  readonly Data?: Record<string, string>;
  /** Create and Update: ISO time of onEvent's answer, after which a poll starts nothing past the hour (shared/runtime/deadline.ts). */
  readonly RequestedAt?: string;
  /** ISO time of the CreateImage call, to bound EC2's eventual consistency. */
  readonly ImageRequestedAt?: string;
  /** Set on Delete when an image of ours was deregistered: its snapshots are deleted by `isComplete`. */
  readonly DeregisteredImageName?: string;
  /** Owner tag of the deregistered image (the old properties' owner for an abandoned replacement). */
  readonly DeregisteredImageOwner?: string;
  /** Snapshots the deregistered image listed. */
  readonly SnapshotIds?: string[];
  /** Other images of this resource deregistered by a Delete (beyond `KeepPrevious`, or all of them): their snapshots too. */
  readonly PrunedImages?: ReadonlyArray<{ readonly Name: string; readonly SnapshotIds: string[] }>;
  /**
   * Set while the source is stopping (`StopInstance`): `isComplete` makes the image of this name once it is `stopped`.
   * Also set when CreateImage answered that the name is taken but no image of that name is listed yet: `isComplete`
   * looks for it (or makes it, should the name be free again) on each poll.
   */
  readonly PendingImageName?: string;
}

/** What the Provider framework passes to `isComplete`: the request merged with the `onEvent` response. */
export type IsCompleteRequest = OnEventRequest & OnEventResponse & { readonly PhysicalResourceId: string };

export interface IsCompleteResponse {
  readonly IsComplete: boolean;
  /** The image made by `isComplete` itself (`StopInstance`): the framework answers CloudFormation with it. */
  readonly PhysicalResourceId?: string;
  readonly Data?: Record<string, string>;
}
