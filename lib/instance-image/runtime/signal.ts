import { Image } from '@aws-sdk/client-ec2';
import { DisableRuleCommand } from '@aws-sdk/client-eventbridge';
import { ENV_CHECK_RULE, ENV_OWNER, SIGNAL_TAG } from '../../shared/names';
import { describeImage, isOwnedBy, ownedImages, requireImdsV2, tagValue } from '../../shared/runtime/ec2';
import { appendKeys, log } from '../../shared/runtime/log';
import { eventBridge, requiredEnv } from '../../shared/runtime/signal-check';
import { logProgress, signal } from '../../shared/runtime/wait-condition';
import { ENV_SIGNAL_ID } from '../shared';

/**
 * Reports an image's availability to the wait condition that gates everything
 * that needs it (waits over an hour, which no custom resource gets). Invoked
 * two ways, and never waits:
 *
 * - by EC2's `EC2 AMI State Change` event (`available`, `failed`): the image
 *   is read again (DescribeImages: the state, the reason, the tags), and if it
 *   is this resource's image of this handle, the condition gets SUCCESS with
 *   the image id, or FAILURE with EC2's state reason;
 * - by the scheduled check (EventBridge delivers events on a best-effort
 *   basis): every pending image of this handle gets a line with its
 *   snapshots' progress and an estimate of the time left; one that is no
 *   longer pending is reported as above; with none pending, the check turns
 *   itself off.
 *
 * A repeated signal with the same UniqueId (the event and the check both
 * reporting) replaces the first: CloudFormation counts it once.
 */

interface AmiStateChange { readonly 'detail-type': 'EC2 AMI State Change'; readonly detail: { readonly ImageId: string; readonly State: string } }
interface ScheduledCheck { readonly 'detail-type': 'Scheduled Event' }
export type SignalEvent = AmiStateChange | ScheduledCheck;


export async function onImageEvent(event: SignalEvent): Promise<void> {
  const signalId = requiredEnv(ENV_SIGNAL_ID);
  appendKeys({ signalId, trigger: event['detail-type'] });
  if (event['detail-type'] === 'EC2 AMI State Change') {
    const image = await describeImage(event.detail.ImageId);
    if (!image || !isOwnedBy(image, requiredEnv(ENV_OWNER)) || tagValue(image.Tags, SIGNAL_TAG) !== signalId) {
      log.info('not the image this handle waits for: ignored', { imageId: event.detail.ImageId, state: event.detail.State });
      return;
    }
    await report(image);
    return;
  }

  const images = (await ownedImages(requiredEnv(ENV_OWNER))).filter((image) => tagValue(image.Tags, SIGNAL_TAG) === signalId);
  let pending = 0;
  for (const image of images) {
    if (image.State === 'pending' || image.State === 'transient') {
      pending++;
      await logProgress(image);
    } else {
      await report(image);
    }
  }
  if (pending === 0) {
    await eventBridge.send(new DisableRuleCommand({ Name: requiredEnv(ENV_CHECK_RULE) }));
    log.info('no image of this handle is pending: scheduled check disabled', { rule: process.env[ENV_CHECK_RULE] });
  }
}

/** SUCCESS for an available image (made to require IMDSv2 first), FAILURE with EC2's reason for a failed one. */
async function report(image: Image): Promise<void> {
  if (image.State === 'available') {
    await requireImdsV2(image);
    await signal('SUCCESS', `Image ${image.ImageId} (${image.Name}) is available`, image.ImageId!);
  } else if (image.State === 'failed' || image.State === 'error' || image.State === 'invalid') {
    await signal('FAILURE', `Image ${image.ImageId} (${image.Name}) is ${image.State}: ${image.StateReason?.Message ?? 'EC2 gave no reason'}`, image.ImageId!);
  } else if (image.State === 'disabled') {
    // Disabled by someone while the deploy waits: no instance can be launched from it (EC2 User Guide, "Disable an
    // Amazon EC2 AMI"), and it will not become available by itself. Waiting would only end at the timeout.
    await signal('FAILURE', `Image ${image.ImageId} (${image.Name}) is disabled: no instance can be launched from it. ` +
      'Enable it (EnableImage) and deploy again', image.ImageId!);
  } else {
    log.info('image neither available nor failed: nothing to report', { imageId: image.ImageId, state: image.State });
  }
}
