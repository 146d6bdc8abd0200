import { Duration } from 'aws-cdk-lib';

/**
 * Timing limits. CloudFormation gives a custom resource at most an hour
 * (ServiceTimeout 1-3600 s); the waiter's attempts leave out invocation time,
 * hence the 5-minute margin.
 */
export const MAX_TOTAL_TIMEOUT = Duration.minutes(55);

/** The longest wait for an image: a wait condition's limit (43,200 s). */
export const MAX_IMAGE_WAIT = Duration.hours(12);

/**
 * The image's wait: up to {@link MAX_TOTAL_TIMEOUT} the Provider framework's
 * waiter polls (`totalTimeout / queryInterval` attempts); longer, up to
 * {@link MAX_IMAGE_WAIT}, a wait condition follows the image (availability.ts).
 * @returns true for a wait condition.
 */
export function validateImageWait(totalTimeout: Duration, queryInterval: Duration): boolean {
  if (totalTimeout.toSeconds() <= MAX_TOTAL_TIMEOUT.toSeconds()) {
    validateTiming(totalTimeout, queryInterval);
    return false;
  }
  if (totalTimeout.toSeconds() > MAX_IMAGE_WAIT.toSeconds()) {
    throw new Error(`totalTimeout must be at most 12 hours (a wait condition's limit), got ${totalTimeout.toHumanString()}`);
  }
  if (queryInterval.toMilliseconds() < 1000) {
    throw new Error(`queryInterval must be at least 1 second, got ${queryInterval.toHumanString()}`);
  }
  return true;
}

const START_PHASE = Duration.minutes(45);

/**
 * The waiter's own time when a wait condition follows (waits over an hour):
 * only the start (stopping the source and CreateImage, or starting the
 * copies), 45 minutes rounded down to a whole number of `queryInterval`.
 */
export function startPhaseTimeout(queryInterval: Duration): Duration {
  const interval = queryInterval.toSeconds();
  return Duration.seconds(Math.floor(START_PHASE.toSeconds() / interval) * interval);
}

export function validateTiming(totalTimeout: Duration, queryInterval: Duration): void {
  if (queryInterval.toMilliseconds() < 1000) {
    throw new Error(`queryInterval must be at least 1 second, got ${queryInterval.toHumanString()}`);
  }
  if (totalTimeout.toSeconds() > MAX_TOTAL_TIMEOUT.toSeconds()) {
    throw new Error(`totalTimeout must be at most 55 minutes (CloudFormation waits at most an hour for a custom resource; the margin is for the invocations), got ${totalTimeout.toHumanString()}`);
  }
  if (queryInterval.toSeconds() > totalTimeout.toSeconds()) {
    throw new Error(`queryInterval must not exceed totalTimeout (${totalTimeout.toHumanString()}), got ${queryInterval.toHumanString()}`);
  }
  if (totalTimeout.toSeconds() % queryInterval.toSeconds() !== 0) {
    throw new Error(`totalTimeout must be a whole multiple of queryInterval (${queryInterval.toHumanString()}), got ${totalTimeout.toHumanString()}`);
  }
}
