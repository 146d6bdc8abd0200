import { EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { log } from './log';

/** One client per container, retried by the SDK. */
export const eventBridge = new EventBridgeClient({ retryMode: 'adaptive', maxAttempts: 8 });

/**
 * Waits over an hour (`CheckRuleName` set): turns the scheduled check on when an
 * image, or a copy, is started, so what no event reports (a lost `EC2 AMI State
 * Change`, a copy's in its own region) is made up for. The check turns itself
 * off once nothing of the resource is pending: nothing runs while nothing is
 * pending. EnableRule is idempotent.
 */
export async function startCheck(props: { readonly CheckRuleName?: string }): Promise<void> {
  if (!props.CheckRuleName) return;
  await eventBridge.send(new EnableRuleCommand({ Name: props.CheckRuleName }));
  log.info('scheduled check enabled while something is pending', { rule: props.CheckRuleName });
}

/** An environment variable the signal and check functions need: a clear error when it is missing. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}
