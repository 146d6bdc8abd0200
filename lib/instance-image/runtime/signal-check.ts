import { EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { ImageResourceProperties } from '../shared';
import { log } from './log';

/** One client per container, retried by the SDK. */
export const eventBridge = new EventBridgeClient({ retryMode: 'adaptive', maxAttempts: 8 });

/**
 * Waits over an hour (`CheckRuleName` set): turns the scheduled check on when an
 * image is started, so a lost `EC2 AMI State Change` event is made up for. The
 * check turns itself off once no image of the resource is pending: nothing
 * runs while nothing is pending. EnableRule is idempotent.
 */
export async function startCheck(props: ImageResourceProperties): Promise<void> {
  if (!props.CheckRuleName) return;
  await eventBridge.send(new EnableRuleCommand({ Name: props.CheckRuleName }));
  log.info('scheduled check enabled while the image is pending', { rule: props.CheckRuleName });
}
