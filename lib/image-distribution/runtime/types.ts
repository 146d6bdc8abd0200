import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { DistributionResourceProperties } from '../shared';

/** What the Provider framework passes to `onDistributionEvent`. */
export type DistributionEvent = CloudFormationCustomResourceEvent<DistributionResourceProperties>;

/** What `onDistributionEvent` returns; the fields but `PhysicalResourceId` go on to `isDistributionComplete` only. */
export interface DistributionEventResponse {
  readonly PhysicalResourceId: string;
  /** Create and Update: ISO time of onEvent's answer, after which a poll starts no copy past the hour (shared/runtime/deadline.ts). */
  readonly RequestedAt?: string;
  /** Delete: the names of the images whose copies stay (none when the resource itself is deleted). */
  readonly KeptImageNames?: string[];
  /** Delete: the resource itself goes (not a replaced one): the image it shared is shared no more. */
  readonly ResourceDeleted?: boolean;
  /** Delete: the regions whose copies are looked at. */
  readonly SweepRegions?: string[];
  /** Delete, a cleanup after an update or a rollback: the current image, whose sharing the images kept (or retained) follow. */
  readonly CurrentImageId?: string;
  /** Delete with an owner id of before it named the deployment: only the copies of this name are removed, whatever `KeptImageNames` says. */
  readonly OnlyImageName?: string;
}

export type DistributionCompleteRequest = DistributionEvent & DistributionEventResponse;

export interface DistributionCompleteResponse {
  readonly IsComplete: boolean;
  readonly Data?: Record<string, string>;
}
