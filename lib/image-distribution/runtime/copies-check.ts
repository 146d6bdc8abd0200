import { DisableRuleCommand } from '@aws-sdk/client-eventbridge';
import { ENV_CHECK_RULE, ENV_OWNER } from '../../shared/names';
import { ec2In, findImageByName, isOwnedBy } from '../../shared/runtime/ec2';
import { appendKeys, log } from '../../shared/runtime/log';
import { eventBridge, requiredEnv } from '../../shared/runtime/signal-check';
import { logProgress, signal } from '../../shared/runtime/wait-condition';
import { ENV_COPY_REGIONS, ENV_IMAGE_ID, ENV_IMAGE_NAME } from '../shared';


/**
 * The scheduled check of copies that may take hours (a copy's `EC2 AMI State
 * Change` events go to the copy's region, which this stack does not reach).
 * Every copy of the image, found by name in its region: one `image pending`
 * line per pending copy (each snapshot's progress and the time left); once
 * every copy is `available`, SUCCESS to the copies' wait condition; a copy
 * `failed`, FAILURE with EC2's reason. When nothing is pending any more, the
 * check turns itself off. Never waits.
 */
export async function onCopiesCheck(): Promise<void> {
  const name = requiredEnv(ENV_IMAGE_NAME);
  const imageId = requiredEnv(ENV_IMAGE_ID);
  const owner = requiredEnv(ENV_OWNER);
  appendKeys({ imageId, trigger: 'copies check' });
  let pending = 0;
  const failures: string[] = [];
  for (const region of requiredEnv(ENV_COPY_REGIONS).split(',')) {
    const client = ec2In(region);
    const copy = await findImageByName(name, client);
    if (!copy || !isOwnedBy(copy, owner)) {
      // Not listed yet (CopyImage was just called), or not ours: not done.
      log.info('copy not listed yet', { region, imageName: name });
      pending++;
    } else if (copy.State === 'available') {
      continue;
    } else if (copy.State === 'failed' || copy.State === 'error' || copy.State === 'invalid') {
      failures.push(`copy ${copy.ImageId} in ${region} is ${copy.State}: ${copy.StateReason?.Message ?? 'EC2 gave no reason'}`);
    } else if (copy.State === 'disabled') {
      // Disabled by someone: it will not become available by itself, and counting it pending would wait out the timeout.
      failures.push(`copy ${copy.ImageId} in ${region} is disabled: enable it (EnableImage) and deploy again`);
    } else {
      pending++;
      await logProgress(copy, client, region);
    }
  }
  if (failures.length > 0) {
    await signal('FAILURE', `Copies of ${imageId} (${name}): ${failures.join('; ')}`, imageId);
  } else if (pending === 0) {
    await signal('SUCCESS', `Every copy of ${imageId} (${name}) is available`, imageId);
  }
  if (failures.length > 0 || pending === 0) {
    await eventBridge.send(new DisableRuleCommand({ Name: requiredEnv(ENV_CHECK_RULE) }));
    log.info('no copy pending: scheduled check disabled', { rule: process.env[ENV_CHECK_RULE] });
  }
}
