import { isLegacyOwner } from '../../shared/names';
import { requestedNow } from '../../shared/runtime/deadline';
import { describeImage, ownedImages } from '../../shared/runtime/ec2';
import { appendKeys, log } from '../../shared/runtime/log';
import { keepCount, legacyRetention, readCleanup, recordedPhysicalId, retentionOfDelete } from '../../shared/runtime/retention';
import { checkCopyRegions, copyRegionsOf, recordedCopyRegions } from './copies';
import { isParameterCheck, onParameterCheckEvent, ParameterCheckEvent } from './parameter';
import type { DistributionEvent, DistributionEventResponse } from './types';

/**
 * Starts the work for a CloudFormation event; `isDistributionComplete` makes
 * the copies and applies sharing and deprecation once they are available.
 *
 * - Create, Update: the physical id is the image id, so a new image is a new
 *   distribution and CloudFormation deletes the old one after the deploy.
 * - Delete: which copies stay follows the image's own retention
 *   (`KeepPrevious`, see instance-image/runtime/retention.ts); the others, in
 *   every copy region, are removed by `isDistributionComplete`.
 */
export async function onDistributionEvent(event: DistributionEvent | ParameterCheckEvent): Promise<DistributionEventResponse> {
  if (isParameterCheck(event)) return onParameterCheckEvent(event);
  appendKeys({ requestId: event.RequestId, logicalResourceId: event.LogicalResourceId, requestType: event.RequestType });
  log.info('event received', {
    physicalResourceId: 'PhysicalResourceId' in event ? event.PhysicalResourceId : undefined,
    resourceProperties: event.ResourceProperties,
  });
  const props = event.ResourceProperties;
  switch (event.RequestType) {
    case 'Create':
      checkCopyRegions(props);
      return { PhysicalResourceId: props.ImageId, RequestedAt: requestedNow() };
    case 'Update': {
      checkCopyRegions(props);
      const old = event.OldResourceProperties;
      const kept = copyRegionsOf(props).filter((region) => copyRegionsOf(old).includes(region));
      if (old.ImageId === props.ImageId && (old.CopyKmsKeyArn ?? '') !== (props.CopyKmsKeyArn ?? '') && kept.length > 0) {
        // A copy's key is fixed when it is made, and its name is the image's: re-encrypting means copies of a new image.
        throw new Error(`copyKmsKeyArn changed from "${old.CopyKmsKeyArn ?? 'none'}" to "${props.CopyKmsKeyArn ?? 'none'}" for the same image ${props.ImageId}: ` +
          `its copies in ${kept.join(', ')} keep the key they were made with. Set rebuildToken too, so that a new image is copied with the new key`);
      }
      return { PhysicalResourceId: props.ImageId, RequestedAt: requestedNow() };
    }
    case 'Delete': {
      if (props.RemovalPolicy === 'retain') {
        // retain does not keep the copies of the image a failed update made: a rollback's cleanup goes on below.
        const { recorded, rollback } = await readCleanup(event, event.PhysicalResourceId);
        if (!rollback) {
          log.info('removal policy is retain: leaving the copies and the launch permissions');
          // After an update, the image (and copies) retained follow the current image's sharing, as kept ones do.
          return { PhysicalResourceId: event.PhysicalResourceId, ...(recorded !== undefined && recorded !== event.PhysicalResourceId ? { CurrentImageId: recorded } : {}) };
        }
      }
      // Only the starter carries DistributionLogicalId (a starter of a template before it goes on as below).
      if (props.DistributionLogicalId && await distributionProperDecides(event, props.DistributionLogicalId)) {
        return { PhysicalResourceId: event.PhysicalResourceId, ResourceDeleted: false, SweepRegions: [] };
      }
      if (isLegacyOwner(props.Owner)) {
        return deleteLegacyDistribution(event);
      }
      // The same decision as the image's Delete: the copies of the images kept stay, the others go.
      const owned = await ownedImages(props.Owner);
      const { resourceDeleted, kept, current } = await retentionOfDelete(event, owned, event.PhysicalResourceId, keepCount(props.KeepPrevious));
      // The kept images are among those just listed: their names need no second lookup.
      // (EC2 gives every image a name: CreateImage and CopyImage require one.)
      const names = resourceDeleted ? [] : owned.filter((image) => kept.has(image.ImageId!)).map((image) => image.Name!);
      return {
        PhysicalResourceId: event.PhysicalResourceId,
        KeptImageNames: names,
        ResourceDeleted: resourceDeleted,
        // Also where the images' tags say copies were made: properties of before (a rollback's, or regions since
        // dropped) may have made copies these properties do not name.
        SweepRegions: [...new Set([...copyRegionsOf(props), ...owned.flatMap(recordedCopyRegions)])],
        ...(current ? { CurrentImageId: current } : {}),
      };
    }
  }
}

/**
 * The Delete of the copies' starter when waits over an hour are turned off (it leaves the template) while the
 * distribution proper stays: that one owns the image's copies and sharing. It still distributes this image
 * (CopiedImageIds lists its copies), or it went on to another image in the same update, and its own cleanup
 * Delete of this image decides what of it is kept, with what sharing. Removing or un-sharing here would undo that.
 * Any other Delete of the starter (a replaced starter, a rollback's, the stack's, the distribution gone first)
 * goes on as the distribution's.
 */
async function distributionProperDecides(event: Extract<DistributionEvent, { RequestType: 'Delete' }>, distributionLogicalId: string): Promise<boolean> {
  const distributed = await recordedPhysicalId(event.StackId, distributionLogicalId);
  if (distributed === undefined) return false;
  if (distributed === event.ResourceProperties.ImageId) {
    log.info('the distribution proper still distributes this image: the starter\'s Delete removes nothing', { imageId: distributed });
    return true;
  }
  // The starter's own deletion (CloudFormation still records this id for it): it left the template.
  if (await recordedPhysicalId(event.StackId, event.LogicalResourceId) !== event.PhysicalResourceId) return false;
  log.info('the starter left the template and the distribution proper went on to another image: its Delete of this one decides',
    { imageId: event.ResourceProperties.ImageId, distributed });
  return true;
}

/**
 * The Delete of a distribution whose owner id is of before it named the
 * deployment: copies of other images carrying that value may be another
 * deployment's (the same app in another region copies into this one's), so
 * only the copies named after this distribution's own image are removed, and
 * only when the image's Delete removes the image too (legacyRetention).
 */
async function deleteLegacyDistribution(event: Extract<DistributionEvent, { RequestType: 'Delete' }>): Promise<DistributionEventResponse> {
  const props = event.ResourceProperties;
  const image = await describeImage(props.ImageId);
  const { resourceDeleted, keepsImage } = await legacyRetention(event, event.PhysicalResourceId, keepCount(props.KeepPrevious));
  const sweepsNothing = { PhysicalResourceId: event.PhysicalResourceId, ResourceDeleted: resourceDeleted, SweepRegions: [] };
  if (!image?.Name) {
    log.warn('the image of this distribution is gone: its copies, if any, are left (they cannot be told from another deployment\'s)', { imageId: props.ImageId });
    return sweepsNothing;
  }
  if (keepsImage) return sweepsNothing;
  return { PhysicalResourceId: event.PhysicalResourceId, ResourceDeleted: resourceDeleted, SweepRegions: copyRegionsOf(props), OnlyImageName: image.Name };
}
