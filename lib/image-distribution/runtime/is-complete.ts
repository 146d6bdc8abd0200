import { Image } from '@aws-sdk/client-ec2';
import { checkDeadline } from '../../shared/runtime/deadline';
import { describeImage, ec2, requireImdsV2 } from '../../shared/runtime/ec2';
import { appendKeys, log } from '../../shared/runtime/log';
import { startCheck } from '../../shared/runtime/signal-check';
import { COPIED_IMAGE_IDS_ATTRIBUTE, DistributionResourceProperties } from '../shared';
import { applyDeprecation, applyLaunchPermissions, copyRegionsOf, ensureCopies, sweepCopies } from './copies';
import { isParameterCheck, isParameterCheckComplete, ParameterCheckCompleteRequest } from './parameter';
import { shareKeptImagesAlike, shareKeptLikeCurrent } from './sharing';
import type { DistributionCompleteRequest, DistributionCompleteResponse } from './types';

/**
 * Polled by the Provider framework until complete. Create and Update: the
 * copies first; once each is available, IMDSv2, the launch permissions and
 * the deprecation on the image and every copy. Nothing is shared before every
 * copy exists, so a failed copy shares nothing. Delete: the copies that are
 * not kept go, with their snapshots.
 */
export async function isDistributionComplete(event: DistributionCompleteRequest | ParameterCheckCompleteRequest): Promise<DistributionCompleteResponse> {
  if (isParameterCheck(event)) return isParameterCheckComplete(event);
  appendKeys({ requestId: event.RequestId, logicalResourceId: event.LogicalResourceId, requestType: event.RequestType });
  const props = event.ResourceProperties;
  if (event.RequestType === 'Delete') {
    const kept = new Set(event.KeptImageNames ?? []);
    const only = event.OnlyImageName;
    const keeps = only !== undefined ? (name: string) => name !== only : (name: string) => kept.has(name);
    let done = true;
    for (const region of event.SweepRegions ?? []) {
      done = (await sweepCopies(props.Owner, region, keeps)) && done;
    }
    // Once, on the poll that finds the sweep done (every poll gets the same event).
    if (done && event.CurrentImageId) await shareKeptLikeCurrent(event.CurrentImageId, props);
    const image = event.ResourceDeleted ? await describeImage(props.ImageId) : undefined;
    if (image) {
      // No distribution, no sharing: an image that outlives its distribution is private again.
      await applyLaunchPermissions(image, { ...props, ShareWithAccounts: undefined, ShareWithOrganizationArns: undefined }, props);
    }
    return { IsComplete: done };
  }

  checkDeadline(event.RequestedAt, `The distribution of ${props.ImageId}`);
  const image = await describeImage(props.ImageId);
  if (!image || image.State !== 'available') {
    throw new Error(`Image ${props.ImageId} is ${image?.State ?? 'gone'}: only an available image is distributed`);
  }
  // Sharing, regions and deprecation of the same image are changed in place; a new image starts from nothing.
  const oldProps = event.RequestType === 'Update' && event.OldResourceProperties.ImageId === props.ImageId ? event.OldResourceProperties : undefined;
  // Regions dropped are swept even when the image changed too: nothing of this resource stays in a region no longer wanted.
  const previous = event.RequestType === 'Update' ? event.OldResourceProperties : undefined;
  let copies;
  try {
    copies = await ensureCopies(image, props, previous, event.RequestId);
  } catch (e) {
    await removeThisRequestsCopies(image, props, oldProps);
    throw e;
  }
  if (props.StartOnly === 'true') {
    // Copies that may take hours: complete once each exists; the copies' wait condition follows them, and the
    // distribution proper shares and deprecates once it succeeded. (ensureCopies names a copy for every region, or throws.)
    await startCheck(props);
    return { IsComplete: true, Data: dataOf(props.ImageId, copies.copies) };
  }
  if (!copies.done) return { IsComplete: false };

  for (const target of [{ image, client: ec2 }, ...copies.available]) {
    await requireImdsV2(target.image, target.client);
    // The properties before, even for another image: an image adopted again (a revert) may still have their sharing.
    await applyLaunchPermissions(target.image, props, previous, target.client);
    await applyDeprecation(target.image, props, target.client, image.CreationDate);
  }
  if (oldProps) await shareKeptImagesAlike(image.Name!, props, oldProps);
  return { IsComplete: true, Data: dataOf(props.ImageId, copies.copies) };
}

function dataOf(imageId: string, copies: Record<string, string>): Record<string, string> {
  const data: Record<string, string> = { ImageId: imageId };
  if (Object.keys(copies).length > 0) {
    data[COPIED_IMAGE_IDS_ATTRIBUTE] = Object.entries(copies).map(([region, id]) => `${region}=${id}`).join(',');
  }
  return data;
}

/**
 * A failed copy fails the deploy with EC2's reason; the copies of this image
 * that this request started (every region for a new image, the added regions
 * otherwise) go first, so the rollback starts from what was there before.
 */
async function removeThisRequestsCopies(image: Image, props: DistributionResourceProperties, oldProps?: DistributionResourceProperties): Promise<void> {
  const before = new Set(copyRegionsOf(oldProps));
  for (const region of copyRegionsOf(props).filter((r) => !before.has(r))) {
    try {
      await sweepCopies(props.Owner, region, (name) => name !== image.Name);
    } catch (e) {
      log.error('could not remove a copy of the failed request', { region, error: String(e) });
    }
  }
}
