import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { ImageResourceProperties } from '../shared';

/** What the Provider framework passes to `onEvent`. */
export type OnEventRequest = CloudFormationCustomResourceEvent<ImageResourceProperties>;

/**
 * What `onEvent` returns. The framework sends `PhysicalResourceId` and `Data`
 * to CloudFormation and passes the other fields on to `isComplete` only.
 */
export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
  /** ISO time of the CreateImage call, to bound EC2's eventual consistency. */
  readonly ImageRequestedAt?: string;
  /** Set on Delete when an image of ours was deregistered: its snapshots are deleted by `isComplete`. */
  readonly DeregisteredImageName?: string;
  /** Snapshots the deregistered image listed. */
  readonly SnapshotIds?: string[];
  /** Regions whose copies were deregistered: their snapshots are deleted by `isComplete` too. */
  readonly CopyRegions?: string[];
}

/** What the Provider framework passes to `isComplete`: the request merged with the `onEvent` response. */
export type IsCompleteRequest = OnEventRequest & OnEventResponse;

export interface IsCompleteResponse {
  readonly IsComplete: boolean;
  readonly Data?: Record<string, string>;
}
